//! Route classification on a labelled question set (`lore eval routes`): CLINC150's JSON
//! lines (`{"text", "intent", "domain"}`, `"oos"` for out of scope) or lore's own
//! (`{"text", "route"}`). The classifier is fitted on a training file, its out-of-scope
//! gate tuned on a validation file (or by 5-fold cross-validation on the training file),
//! and scored on the evaluation file with the metrics of [`lore_route::metrics`].

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use lore_route::{
    classification_report, cross_val_scored, gate, ClassificationReport, ClassifierOptions,
    Example, GatePoint, GateRule, IntentClassifier,
};
use serde::{Deserialize, Serialize};

use crate::meetings::EvalError;
use crate::run::{percentiles, Latency};

/// Labels that mean out of scope in a file.
pub const OOS_LABELS: [&str; 3] = ["oos", "out_of_scope", "none"];

/// One labelled question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    /// The question.
    pub text: String,
    /// Its intent or route; `None` when out of scope.
    pub label: Option<String>,
    /// Its domain, when the file gives one.
    pub domain: Option<String>,
}

#[derive(Deserialize)]
struct RawRow {
    #[serde(alias = "question", alias = "utterance")]
    text: String,
    #[serde(alias = "route", alias = "label")]
    intent: Option<String>,
    domain: Option<String>,
}

/// Reads a JSON-lines file of labelled questions (blank lines skipped).
///
/// # Errors
/// [`EvalError::Io`]; [`EvalError::Format`] naming the line that is not
/// `{"text": ..., "intent" | "route" | "label": ...}`.
pub fn read_rows(path: &Path) -> Result<Vec<RouteRow>, EvalError> {
    let mut rows = Vec::new();
    for raw in read_json_lines::<RawRow>(path)? {
        let label = raw
            .intent
            .filter(|l| !OOS_LABELS.contains(&l.to_ascii_lowercase().as_str()));
        rows.push(RouteRow {
            text: raw.text,
            label,
            domain: raw.domain.filter(|d| !OOS_LABELS.contains(&d.as_str())),
        });
    }
    Ok(rows)
}

/// The JSON objects of a JSON-lines file, blank lines skipped.
///
/// # Errors
/// [`EvalError::Io`]; [`EvalError::Format`] naming the file and line that does not parse.
pub fn read_json_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| EvalError::Format(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// `n` examples of every label, out-of-scope counted as one, drawn at random with a fixed
/// seed (the same subset every run), kept in file order: CLINC150's few-shot setting with
/// N = 10. Random rather than the first `n`: a file's first rows of a label were often
/// written together and say the same thing (the first 10 of each CLINC150 intent scored
/// 85.9% in-scope where random tens scored 88.8-90.0%, val split).
pub fn few_shot(rows: &[RouteRow], n: usize, seed: u64) -> Vec<RouteRow> {
    let mut by_label: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        by_label.entry(r.label.as_deref()).or_default().push(i);
    }
    let mut keep = vec![false; rows.len()];
    let mut labels: Vec<_> = by_label.into_iter().collect();
    labels.sort();
    let mut state = seed;
    for (_, mut idx) in labels {
        lore_route::softmax::shuffle(&mut idx, &mut state);
        for i in idx.into_iter().take(n) {
            keep[i] = true;
        }
    }
    rows.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(r, _)| r.clone())
        .collect()
}

/// The gate's choice.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// The rule.
    pub rule: GateRule,
    /// Where it was tuned: `"val"` or `"train-5-fold"`.
    pub tuned_on: String,
    /// The threshold chosen.
    pub threshold: f32,
    /// Its figures on the tuning set.
    pub at_tuning: GatePoint,
}

/// The report of `lore eval routes`.
#[derive(Debug, Clone, Serialize)]
pub struct RoutesReport {
    /// Training examples used.
    pub train_examples: usize,
    /// In-scope labels.
    pub labels: usize,
    /// Examples kept per label, when few-shot.
    pub few_shot: Option<usize>,
    /// The classifier's settings.
    pub options: ClassifierOptions,
    /// Fitting time (ms), the gate's tuning excluded.
    pub fit_ms: f64,
    /// The gate.
    pub gate: GateReport,
    /// Scores on the evaluation file.
    pub eval: ClassificationReport,
    /// In-scope questions whose predicted intent is in their gold domain (when domains
    /// are known), out-of-scope predictions counted wrong.
    pub domain_accuracy: Option<f64>,
    /// Classification time per question (ms), the embedding excluded (it is retrieval's).
    pub latency_ms: Latency,
}

/// Everything `evaluate_routes` needs: rows and their embeddings (same order).
pub struct Labelled<'a> {
    /// The rows.
    pub rows: &'a [RouteRow],
    /// One embedding per row.
    pub embeddings: &'a [Vec<f32>],
}

impl Labelled<'_> {
    fn examples(&self) -> Vec<Example<'_>> {
        self.rows
            .iter()
            .zip(self.embeddings)
            .map(|(r, e)| Example {
                text: &r.text,
                embedding: e,
                label: r.label.as_deref(),
            })
            .collect()
    }
}

/// Fits on `train`, tunes the gate by `rule` on `val` (or 5-fold cross-validation on
/// `train`), scores `eval`. `domains` maps intent → domain for the domain accuracy.
///
/// # Errors
/// [`EvalError::Format`] when the classifier cannot be fitted (fewer than two labels).
pub fn evaluate_routes(
    train: &Labelled<'_>,
    val: Option<&Labelled<'_>>,
    eval: &Labelled<'_>,
    opts: &ClassifierOptions,
    rule: GateRule,
    domains: &HashMap<String, String>,
) -> Result<RoutesReport, EvalError> {
    let err = |e: lore_route::RouteError| EvalError::Format(e.to_string());
    let train_ex = train.examples();
    let t = Instant::now();
    let mut classifier = IntentClassifier::fit(&train_ex, opts).map_err(err)?;
    let fit_ms = t.elapsed().as_secs_f64() * 1e3;
    let (scored, tuned_on) = match val {
        Some(v) => (
            v.examples().iter().map(|e| classifier.score(e)).collect(),
            "val",
        ),
        None => (
            cross_val_scored(&train_ex, 5, opts).map_err(err)?,
            "train-5-fold",
        ),
    };
    let g = gate::tune(&scored, rule);
    classifier.set_gate(g);
    let gate = GateReport {
        rule,
        tuned_on: tuned_on.to_owned(),
        threshold: g.threshold,
        at_tuning: gate::evaluate(&scored, g.threshold),
    };
    let mut lat = Vec::with_capacity(eval.rows.len());
    let mut predicted: Vec<Option<&str>> = Vec::with_capacity(eval.rows.len());
    for (r, e) in eval.rows.iter().zip(eval.embeddings) {
        let t = Instant::now();
        let p = classifier.predict(&r.text, e);
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        predicted.push(p.label.map(|i| classifier.labels()[i].as_str()));
    }
    let pairs: Vec<(Option<&str>, Option<&str>)> = eval
        .rows
        .iter()
        .zip(&predicted)
        .map(|(r, p)| (r.label.as_deref(), *p))
        .collect();
    let domain_accuracy = (!domains.is_empty()).then(|| {
        let (mut n, mut ok) = (0usize, 0usize);
        for (r, p) in eval.rows.iter().zip(&predicted) {
            let Some(gold) = r.label.as_ref() else {
                continue;
            };
            let Some(gold_domain) = r.domain.as_ref().or_else(|| domains.get(gold)) else {
                continue;
            };
            n += 1;
            ok += usize::from(p.and_then(|p| domains.get(p)) == Some(gold_domain));
        }
        if n == 0 {
            0.0
        } else {
            ok as f64 / n as f64
        }
    });
    Ok(RoutesReport {
        train_examples: train.rows.len(),
        labels: classifier.labels().len(),
        few_shot: None,
        options: *opts,
        fit_ms,
        gate,
        eval: classification_report(&pairs),
        domain_accuracy,
        latency_ms: percentiles(lat),
    })
}

/// Intent → domain from CLINC150's `domains.json` (`{"domain": ["intent", ...]}`) merged
/// with the `domain` fields of `rows`.
///
/// # Errors
/// [`EvalError::Io`] / [`EvalError::Format`] for an unreadable or malformed file.
pub fn domain_map(
    file: Option<&Path>,
    rows: &[RouteRow],
) -> Result<HashMap<String, String>, EvalError> {
    let mut map = HashMap::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let parsed: HashMap<String, Vec<String>> = serde_json::from_str(&text)
            .map_err(|e| EvalError::Format(format!("{}: {e}", path.display())))?;
        for (domain, intents) in parsed {
            for i in intents {
                map.insert(i, domain.clone());
            }
        }
    }
    for r in rows {
        if let (Some(l), Some(d)) = (&r.label, &r.domain) {
            map.entry(l.clone()).or_insert_with(|| d.clone());
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clinc_rows_and_keeps_few_shot() {
        let dir = std::env::temp_dir().join(format!("lore-routes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.jsonl");
        std::fs::write(
            &f,
            "{\"text\": \"a\", \"intent\": \"x\", \"domain\": \"d\"}\n\n{\"text\": \"b\", \"intent\": \"x\"}\n{\"text\": \"c\", \"intent\": \"oos\", \"domain\": \"oos\"}\n{\"question\": \"d\", \"route\": \"y\"}\n",
        )
        .unwrap();
        let rows = read_rows(&f).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2].label, None);
        assert_eq!(rows[3].label.as_deref(), Some("y"));
        let few = few_shot(&rows, 1, 7);
        assert_eq!(few.len(), 3);
        assert_eq!(few, few_shot(&rows, 1, 7));
        assert!(few.iter().any(|r| r.label.is_none()) && few.iter().any(|r| r.text == "d"));
        assert_eq!(few_shot(&rows, 2, 7).len(), 4);
        std::fs::write(&f, "{\"intent\": \"x\"}\n").unwrap();
        let e = read_rows(&f).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("text"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
