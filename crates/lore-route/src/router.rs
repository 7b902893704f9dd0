//! A fitted route set: classifies a question (its text and the query embedding retrieval
//! computed) into a route or out of scope.

use serde::{Deserialize, Serialize};

use crate::classifier::{cross_val_scored, ClassifierOptions, Example, IntentClassifier};
use crate::gate::{self, GateRule, Scored};
use crate::routes::{RouteSet, RouteSpec, RoutingConfig};
use crate::RouteError;

/// The classification of one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteDecision {
    /// The route taken; `None` when out of scope.
    pub route: Option<String>,
    /// Probability (0..1) of the best route.
    pub confidence: f32,
    /// Why it is out of scope: `below_threshold` or `out_of_scope_class`.
    pub out_of_scope_reason: Option<String>,
    /// The best routes with their probabilities, best first (at most 3).
    pub candidates: Vec<RouteCandidate>,
    /// The route set's version.
    pub version: u64,
}

/// A route and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteCandidate {
    /// The route.
    pub name: String,
    /// Its probability (0..1).
    pub probability: f32,
}

/// How the gate was tuned, for `GET /v1/admin/routes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FitSummary {
    /// Examples fitted on (out-of-scope ones included).
    pub examples: usize,
    /// The gate's threshold (0..1).
    pub threshold: f32,
    /// `validation_file` or `cross_validation` (5 folds on the examples).
    pub tuned_on: String,
    /// In-scope accuracy (0..1) where it was tuned.
    pub in_scope_accuracy: f64,
    /// Out-of-scope recall (0..1) where it was tuned (0 without out-of-scope examples).
    pub oos_recall: f64,
    /// Fitting time, ms (tuning included).
    pub fit_ms: f64,
}

/// A fitted route set of one version.
#[derive(Debug, Clone)]
pub struct Router {
    version: u64,
    set: RouteSet,
    config: RoutingConfig,
    /// `None` for an empty set (nothing is routed).
    classifier: Option<IntentClassifier>,
    summary: Option<FitSummary>,
}

/// Embeds texts with the retrieval model: one unit vector per text, in order, or why not.
pub type EmbedFn<'a> = dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, String> + 'a;

/// Labelled validation questions: text, its embedding, the route (`None`: out of scope).
pub type Validation = Vec<(String, Vec<f32>, Option<String>)>;

impl Router {
    /// A router with no routes (every question passes unrouted).
    pub fn empty(config: RoutingConfig) -> Self {
        Self {
            version: 0,
            set: RouteSet {
                routes: Vec::new(),
                out_of_scope_examples: Vec::new(),
            },
            config,
            classifier: None,
            summary: None,
        }
    }

    /// Fits `set` (version `version`). `embed` embeds texts with the retrieval model (the
    /// same normalisation as queries); `validation`, when given, tunes the gate, else
    /// 5-fold cross-validation on the examples does.
    ///
    /// # Errors
    /// [`RouteError::Training`] for a set that cannot be fitted; [`RouteError::Embed`]
    /// when `embed` fails or returns the wrong number of vectors.
    pub fn fit(
        version: u64,
        set: RouteSet,
        config: RoutingConfig,
        embed: &mut EmbedFn<'_>,
        validation: Option<&Validation>,
    ) -> Result<Self, RouteError> {
        if set.routes.is_empty() {
            return Ok(Self {
                version,
                ..Self::empty(config)
            });
        }
        let start = std::time::Instant::now();
        let mut texts: Vec<&str> = Vec::new();
        let mut labels: Vec<Option<&str>> = Vec::new();
        for r in &set.routes {
            for e in &r.examples {
                texts.push(e);
                labels.push(Some(&r.name));
            }
        }
        for e in &set.out_of_scope_examples {
            texts.push(e);
            labels.push(None);
        }
        let vectors = embed(&texts).map_err(RouteError::Embed)?;
        if vectors.len() != texts.len() {
            return Err(RouteError::Embed(format!(
                "{} vectors for {} examples",
                vectors.len(),
                texts.len()
            )));
        }
        let examples: Vec<Example> = texts
            .iter()
            .zip(&vectors)
            .zip(&labels)
            .map(|((t, v), l)| Example {
                text: t,
                embedding: v,
                label: *l,
            })
            .collect();
        let opts = ClassifierOptions::default();
        let mut classifier = IntentClassifier::fit(&examples, &opts)?;
        let (scored, tuned_on): (Vec<Scored>, &str) = match validation {
            Some(v) => (
                v.iter()
                    .map(|(t, e, l)| {
                        classifier.score(&Example {
                            text: t,
                            embedding: e,
                            label: l.as_deref(),
                        })
                    })
                    .collect(),
                "validation_file",
            ),
            None => (cross_val_scored(&examples, 5, &opts)?, "cross_validation"),
        };
        let g = gate::tune(
            &scored,
            GateRule::OosRecall(config.oos_recall.clamp(0.0, 1.0)),
        );
        classifier.set_gate(g);
        let at = gate::evaluate(&scored, g.threshold);
        let summary = FitSummary {
            examples: examples.len(),
            threshold: g.threshold,
            tuned_on: tuned_on.to_owned(),
            in_scope_accuracy: at.in_scope_accuracy,
            oos_recall: at.oos_recall,
            fit_ms: start.elapsed().as_secs_f64() * 1e3,
        };
        Ok(Self {
            version,
            set,
            config,
            classifier: Some(classifier),
            summary: Some(summary),
        })
    }

    /// The set's version (0 for none).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether any route is defined.
    pub fn is_active(&self) -> bool {
        self.classifier.is_some()
    }

    /// The routes, examples resolved.
    pub fn routes(&self) -> &[RouteSpec] {
        &self.set.routes
    }

    /// The resolved set.
    pub fn set(&self) -> &RouteSet {
        &self.set
    }

    /// `[routing]` as fitted.
    pub fn config(&self) -> &RoutingConfig {
        &self.config
    }

    /// How the gate was tuned (`None` without routes).
    pub fn summary(&self) -> Option<&FitSummary> {
        self.summary.as_ref()
    }

    /// The route named `name`.
    pub fn route(&self, name: &str) -> Option<&RouteSpec> {
        self.set.routes.iter().find(|r| r.name == name)
    }

    /// Classifies a question; `None` when no route is defined.
    pub fn classify(&self, text: &str, embedding: &[f32]) -> Option<RouteDecision> {
        let c = self.classifier.as_ref()?;
        let p = c.predict(text, embedding);
        let name = |i: usize| c.labels()[i].clone();
        Some(RouteDecision {
            route: p.label.map(name),
            confidence: p.confidence,
            out_of_scope_reason: p.oos_reason,
            candidates: p
                .top
                .iter()
                .map(|&(i, probability)| RouteCandidate {
                    name: name(i),
                    probability,
                })
                .collect(),
            version: self.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy embedder: bag of three topic words.
    fn embed(texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0.05f32; 3];
                for (i, w) in ["leave", "password", "weather"].iter().enumerate() {
                    if t.contains(w) {
                        v[i] += 1.0;
                    }
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }

    #[test]
    fn routes_and_refuses_with_out_of_scope_examples() {
        let spec = |name: &str, ex: &[&str]| RouteSpec {
            name: name.into(),
            examples: ex.iter().map(|s| s.to_string()).collect(),
            ..RouteSpec::default()
        };
        let set = RouteSet {
            routes: vec![
                spec(
                    "hr",
                    &[
                        "parental leave",
                        "sick leave days",
                        "leave policy",
                        "annual leave",
                        "leave request",
                    ],
                ),
                spec(
                    "it",
                    &[
                        "reset password",
                        "password expired",
                        "new password",
                        "password rules",
                        "forgot password",
                    ],
                ),
            ],
            out_of_scope_examples: vec![
                "weather today".into(),
                "weather tomorrow".into(),
                "is the weather nice".into(),
                "weather in paris".into(),
                "rain weather".into(),
            ],
        };
        let r = Router::fit(3, set, RoutingConfig::default(), &mut embed, None).unwrap();
        assert_eq!(r.version(), 3);
        let q = "how much leave do i get";
        let d = r.classify(q, &embed(&[q]).unwrap()[0]).unwrap();
        assert_eq!(d.route.as_deref(), Some("hr"), "{d:?}");
        let q = "weather on monday";
        let d = r.classify(q, &embed(&[q]).unwrap()[0]).unwrap();
        assert_eq!(d.route, None, "{d:?}");
        assert!(r.summary().unwrap().oos_recall > 0.5);
        assert!(Router::empty(RoutingConfig::default())
            .classify("x", &[1.0])
            .is_none());
    }

    #[test]
    fn two_routes_of_one_example_each_fit() {
        let set = RouteSet {
            routes: vec![
                RouteSpec {
                    name: "a".into(),
                    examples: vec!["leave".into()],
                    ..RouteSpec::default()
                },
                RouteSpec {
                    name: "b".into(),
                    examples: vec!["password".into()],
                    ..RouteSpec::default()
                },
            ],
            out_of_scope_examples: Vec::new(),
        };
        let r = Router::fit(1, set, RoutingConfig::default(), &mut embed, None).unwrap();
        let q = "password";
        assert_eq!(
            r.classify(q, &embed(&[q]).unwrap()[0])
                .unwrap()
                .route
                .as_deref(),
            Some("b")
        );
    }

    #[test]
    fn an_embedder_failure_is_an_error() {
        let set = RouteSet {
            routes: vec![
                RouteSpec {
                    name: "a".into(),
                    examples: vec!["x".into()],
                    ..RouteSpec::default()
                },
                RouteSpec {
                    name: "b".into(),
                    examples: vec!["y".into()],
                    ..RouteSpec::default()
                },
            ],
            out_of_scope_examples: Vec::new(),
        };
        let mut fails = |_: &[&str]| -> Result<Vec<Vec<f32>>, String> { Err("down".into()) };
        let e = Router::fit(1, set, RoutingConfig::default(), &mut fails, None).unwrap_err();
        assert!(e.to_string().contains("down"));
    }
}
