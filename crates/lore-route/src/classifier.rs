//! The intent classifier: a softmax regression over the query embedding (the one retrieval
//! already computed) and hashed n-grams of the question, with an out-of-scope gate on the
//! winning class's probability.

use serde::{Deserialize, Serialize};

use crate::gate::Gate;
use crate::lexical::{Featurizer, Sparse};
use crate::softmax::{FitOptions, Input, Softmax};
use crate::RouteError;

/// One labelled utterance.
#[derive(Debug, Clone, Copy)]
pub struct Example<'a> {
    /// The utterance.
    pub text: &'a str,
    /// Its embedding (unit length, the embedder's dimension: 384 for all-MiniLM-L6-v2).
    pub embedding: &'a [f32],
    /// The label (a route or intent name); `None` for an out-of-scope example, which
    /// trains an extra "none of these" class.
    pub label: Option<&'a str>,
}

/// How the classifier is built.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ClassifierOptions {
    /// Use hashed n-grams beside the embedding.
    pub lexical: bool,
    /// `2^hash_bits` n-gram buckets.
    pub hash_bits: u32,
    /// Scale of the (unit-length) embedding against the (unit-length) n-gram vector.
    pub embedding_weight: f32,
    /// The optimiser's settings.
    pub fit: FitOptions,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        Self {
            lexical: true,
            hash_bits: 15,
            embedding_weight: 1.0,
            fit: FitOptions::default(),
        }
    }
}

/// The classifier's answer for one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Prediction {
    /// Index into [`IntentClassifier::labels`]; `None` when out of scope.
    pub label: Option<usize>,
    /// Probability of the best in-scope label (0..1), what the gate compares.
    pub confidence: f32,
    /// Why it is out of scope, when it is: `"below_threshold"` or `"out_of_scope_class"`.
    pub oos_reason: Option<String>,
    /// The best in-scope labels with their probabilities, best first (at most 3).
    pub top: Vec<(usize, f32)>,
}

/// A fitted classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntentClassifier {
    labels: Vec<String>,
    /// Whether the last class of the model is the trained "out of scope" class.
    oos_class: bool,
    featurizer: Option<Featurizer>,
    embedding_weight: f32,
    model: Softmax,
    /// The out-of-scope gate (see [`IntentClassifier::set_gate`]).
    pub gate: Gate,
}

impl IntentClassifier {
    /// Fits on `examples`. Labels are the distinct in-scope labels, in order of first
    /// appearance.
    ///
    /// # Errors
    /// [`RouteError::Training`] with fewer than two in-scope labels, or embeddings of
    /// different dimensions.
    pub fn fit(examples: &[Example<'_>], opts: &ClassifierOptions) -> Result<Self, RouteError> {
        let mut labels: Vec<String> = Vec::new();
        for e in examples {
            if let Some(l) = e.label {
                if !labels.iter().any(|x| x == l) {
                    labels.push(l.to_owned());
                }
            }
        }
        if labels.len() < 2 {
            return Err(RouteError::Training(format!(
                "need examples of at least two labels, got {}",
                labels.len()
            )));
        }
        let dim = examples.first().map_or(0, |e| e.embedding.len());
        if dim == 0 || examples.iter().any(|e| e.embedding.len() != dim) {
            return Err(RouteError::Training(
                "every example needs an embedding of the same, non-zero dimension".into(),
            ));
        }
        let oos_class = examples.iter().any(|e| e.label.is_none());
        let featurizer = opts.lexical.then(|| {
            let mut f = Featurizer::new(opts.hash_bits);
            f.fit_idf(examples.iter().map(|e| e.text));
            f
        });
        let index_of = |l: Option<&str>| match l {
            Some(l) => labels.iter().position(|x| x == l).unwrap_or(0),
            None => labels.len(),
        };
        let targets: Vec<usize> = examples.iter().map(|e| index_of(e.label)).collect();
        let dense: Vec<Vec<f32>> = examples
            .iter()
            .map(|e| scaled(e.embedding, opts.embedding_weight))
            .collect();
        let sparse: Vec<Sparse> = examples
            .iter()
            .map(|e| {
                featurizer
                    .as_ref()
                    .map(|f| f.transform(e.text))
                    .unwrap_or_default()
            })
            .collect();
        let inputs: Vec<Input> = dense
            .iter()
            .zip(&sparse)
            .map(|(d, s)| Input {
                dense: d,
                sparse: s,
            })
            .collect();
        let classes = labels.len() + usize::from(oos_class);
        let sparse_dim = featurizer.as_ref().map_or(0, Featurizer::dim);
        let model = Softmax::fit(&inputs, &targets, classes, dim, sparse_dim, &opts.fit);
        Ok(Self {
            labels,
            oos_class,
            featurizer,
            embedding_weight: opts.embedding_weight,
            model,
            gate: Gate::default(),
        })
    }

    /// The in-scope labels; [`Prediction::label`] indexes this.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Dimension of the embeddings it takes.
    pub fn dim(&self) -> usize {
        self.model.dense_dim()
    }

    /// Replaces the out-of-scope gate (e.g. one tuned by [`crate::gate::tune`]).
    pub fn set_gate(&mut self, gate: Gate) {
        self.gate = gate;
    }

    /// Classifies a question from its text and its embedding (same model as the
    /// examples'; a wrong dimension reads as zeros beyond the shorter one).
    pub fn predict(&self, text: &str, embedding: &[f32]) -> Prediction {
        self.predict_with(text, embedding, self.gate.threshold)
    }

    fn predict_with(&self, text: &str, embedding: &[f32], threshold: f32) -> Prediction {
        let dense = scaled(embedding, self.embedding_weight);
        let sparse = self
            .featurizer
            .as_ref()
            .map(|f| f.transform(text))
            .unwrap_or_default();
        let p = self.model.predict(Input {
            dense: &dense,
            sparse: &sparse,
        });
        let n = self.labels.len();
        let mut top: Vec<(usize, f32)> = p[..n].iter().copied().enumerate().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        top.truncate(3);
        let (best, confidence) = top.first().copied().unwrap_or((0, 0.0));
        let oos_p = if self.oos_class { p[n] } else { 0.0 };
        let oos_reason = if oos_p > confidence {
            Some("out_of_scope_class")
        } else if confidence < threshold {
            Some("below_threshold")
        } else {
            None
        };
        Prediction {
            label: oos_reason.is_none().then_some(best),
            confidence,
            oos_reason: oos_reason.map(str::to_owned),
            top,
        }
    }
}

fn scaled(v: &[f32], w: f32) -> Vec<f32> {
    v.iter().map(|x| x * w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: [f32; 3]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn fits_predicts_and_gates() {
        let a = unit([1.0, 0.1, 0.0]);
        let b = unit([0.0, 1.0, 0.1]);
        let texts_a = [
            "reset my password",
            "forgot my password",
            "password reset please",
        ];
        let texts_b = ["book a flight", "flight to paris", "reserve a flight"];
        let mut ex: Vec<Example> = Vec::new();
        for t in texts_a {
            ex.push(Example {
                text: t,
                embedding: &a,
                label: Some("it"),
            });
        }
        for t in texts_b {
            ex.push(Example {
                text: t,
                embedding: &b,
                label: Some("travel"),
            });
        }
        let mut c = IntentClassifier::fit(&ex, &ClassifierOptions::default()).unwrap();
        assert_eq!(c.labels(), ["it", "travel"]);
        let p = c.predict("i forgot the password", &a);
        assert_eq!(p.label, Some(0));
        assert!(p.confidence > 0.5);
        c.set_gate(Gate { threshold: 0.9999 });
        let p = c.predict("what is the weather", &unit([0.5, 0.5, 0.7]));
        assert_eq!(p.label, None);
        assert_eq!(p.oos_reason.as_deref(), Some("below_threshold"));
    }

    #[test]
    fn refuses_a_single_label_and_mixed_dimensions() {
        let e = [0.0f32, 1.0];
        let one = [Example {
            text: "a",
            embedding: &e,
            label: Some("x"),
        }];
        assert!(IntentClassifier::fit(&one, &ClassifierOptions::default()).is_err());
        let f = [1.0f32];
        let mixed = [
            Example {
                text: "a",
                embedding: &e,
                label: Some("x"),
            },
            Example {
                text: "b",
                embedding: &f,
                label: Some("y"),
            },
        ];
        assert!(IntentClassifier::fit(&mixed, &ClassifierOptions::default()).is_err());
    }
}

/// Out-of-fold scores of `examples` by `folds`-fold cross-validation (each example scored
/// by a classifier fitted without its fold; folds interleaved by position), for tuning the
/// gate when there is no separate validation set. Out-of-scope examples are scored as
/// such. Labels seen in fewer than two folds still train (a fold then lacks them); a fold
/// whose remaining examples cannot train a classifier (fewer than two labels: a set of a
/// handful of examples) is left unscored, so the result may be shorter than `examples`.
///
/// # Errors
/// None today; kept for fits that can fail otherwise.
pub fn cross_val_scored(
    examples: &[Example<'_>],
    folds: usize,
    opts: &ClassifierOptions,
) -> Result<Vec<crate::gate::Scored>, RouteError> {
    let folds = folds.clamp(2, examples.len().max(2));
    let mut out = Vec::with_capacity(examples.len());
    for k in 0..folds {
        let train: Vec<Example> = examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(_, e)| *e)
            .collect();
        let c = match IntentClassifier::fit(&train, opts) {
            Ok(c) => c,
            Err(RouteError::Training(_)) => continue,
            Err(e) => return Err(e),
        };
        for e in examples.iter().skip(k).step_by(folds) {
            out.push(c.score(e));
        }
    }
    Ok(out)
}

impl IntentClassifier {
    /// How the ungated classifier sees a labelled example (for gate tuning).
    pub fn score(&self, e: &Example<'_>) -> crate::gate::Scored {
        let p = self.predict_ungated(e.text, e.embedding);
        crate::gate::Scored {
            confidence: p.confidence,
            gold_oos: e.label.is_none(),
            top_correct: match (e.label, p.top.first()) {
                (Some(l), Some(&(i, _))) => self.labels[i] == l,
                _ => false,
            },
            oos_class: p.oos_reason.as_deref() == Some("out_of_scope_class"),
        }
    }

    fn predict_ungated(&self, text: &str, embedding: &[f32]) -> Prediction {
        self.predict_with(text, embedding, 0.0)
    }
}
