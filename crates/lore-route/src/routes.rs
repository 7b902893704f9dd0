//! Routes as operators write them (`[[routes]]` in lore.toml, `PUT /v1/admin/routes`) and
//! the `[routing]` section, checked before anything is fitted.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::RouteError;

/// Routes in one set, at most.
pub const MAX_ROUTES: usize = 1000;
/// Examples in one set (inline and from files, out-of-scope ones included), at most.
pub const MAX_EXAMPLES: usize = 100_000;
/// Characters of one example or refusal message, at most.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Bytes of one examples file, at most (16 MiB).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// One route: where questions like its examples go.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSpec {
    /// Unique name (`[a-z0-9_-]`, 1-64 characters), e.g. `hr`.
    pub name: String,
    /// What the route is for (shown in the UI and to the LLM second stage).
    pub description: String,
    /// Example questions.
    pub examples: Vec<String>,
    /// A file of more example questions, one a line (blank lines and `#` comments
    /// skipped); relative to the settings file's folder.
    #[schema(value_type = Option<String>)]
    pub examples_file: Option<PathBuf>,
    /// Collections to answer from (the first is the main one; empty: the default one).
    pub collections: Vec<String>,
    /// Metadata filters added to retrieval, `field = value` (e.g. `domain = "hr"`).
    pub filters: BTreeMap<String, String>,
    /// Prompt template `name` or `name@version`.
    pub prompt: Option<String>,
    /// Model tier to answer with (a `[llm.tiers]` name).
    pub tier: Option<String>,
    /// When set, questions of this route are not answered: this message is returned.
    pub refusal: Option<String>,
    /// Metadata fields a question may filter on by naming a value (self-query): `domain`,
    /// `department`, `doc_type`, `tag`. A value the route's collections hold, named in the
    /// question, becomes a filter (the answer's `route.filters_added` lists it).
    pub self_query: Vec<String>,
}

/// What happens to an out-of-scope question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutOfScope {
    /// Answer with `[routing] refusal_message`, nothing retrieved or generated.
    #[default]
    Refuse,
    /// Answer from the default collection as if unrouted.
    Default,
}

/// `[routing]`: how questions are classified and what out-of-scope does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Out-of-scope questions: `refuse` or answer from the `default` collection.
    pub out_of_scope: OutOfScope,
    /// The answer to an out-of-scope question when refusing.
    pub refusal_message: String,
    /// Questions that no route should take (they train a "none of these" class and let
    /// the gate be tuned for out-of-scope recall).
    pub out_of_scope_examples: Vec<String>,
    /// A file of such questions, one a line.
    pub out_of_scope_file: Option<PathBuf>,
    /// Labelled questions to tune the gate on (JSON lines `{"text", "route"}`, `"oos"`
    /// for out of scope) [default: 5-fold cross-validation on the examples].
    pub validation_file: Option<PathBuf>,
    /// Out-of-scope recall (0..1) the gate is tuned for, at the best in-scope accuracy.
    /// 0.8 on CLINC150's validation split kept 95.5-96.0% in-scope accuracy.
    pub oos_recall: f32,
    /// How an answer that names no tier (and whose route pins none) gets one: `none` (the
    /// default generator), `complexity` (the question's complexity score) or `learned`
    /// (the tier router `lore routes train-tier` stored in `<data dir>/routes/`).
    pub tier_by: TierBy,
    /// The cheap tier (`[llm.tiers.<name>]`) for `tier_by`.
    pub small_tier: Option<String>,
    /// The strong tier for `tier_by`.
    pub large_tier: Option<String>,
    /// Complexity score (0-1) at or above which `tier_by = "complexity"` picks the large
    /// tier.
    pub complexity_threshold: f32,
    /// `[routing.second_stage]`: an LLM call when the first stage is unsure.
    pub second_stage: crate::SecondStageConfig,
}

/// How a tier is picked for an answer that names none (`[routing] tier_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TierBy {
    /// No tier: the default generator answers.
    #[default]
    None,
    /// The complexity score ([`crate::complexity`]).
    Complexity,
    /// The learned tier router ([`crate::TierRouter`]) at its fitted threshold.
    Learned,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            out_of_scope: OutOfScope::Refuse,
            refusal_message: "I can only answer questions about the topics this assistant covers."
                .into(),
            out_of_scope_examples: Vec::new(),
            out_of_scope_file: None,
            validation_file: None,
            oos_recall: 0.8,
            tier_by: TierBy::None,
            small_tier: None,
            large_tier: None,
            complexity_threshold: 0.5,
            second_stage: crate::SecondStageConfig::default(),
        }
    }
}

/// A route set with every example resolved (files read), ready to fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteSet {
    /// The routes; `examples_file` already read into `examples`.
    pub routes: Vec<RouteSpec>,
    /// Out-of-scope examples (inline and from the file).
    pub out_of_scope_examples: Vec<String>,
}

impl RouteSet {
    /// Checks `routes` and reads their example files relative to `base` (the settings
    /// file's folder).
    ///
    /// # Errors
    /// [`RouteError::Invalid`] naming the route and what is wrong: a bad or repeated name,
    /// no examples, an unreadable or oversized file, an empty or over-long example, a
    /// filter field that is not `[A-Za-z0-9_.-]`, too many routes or examples, fewer than
    /// two routes that answer.
    pub fn resolve(
        routes: &[RouteSpec],
        config: &RoutingConfig,
        base: &Path,
    ) -> Result<Self, RouteError> {
        let invalid = |m: String| RouteError::Invalid(m);
        if routes.len() > MAX_ROUTES {
            return Err(invalid(format!(
                "{} routes; at most {MAX_ROUTES}",
                routes.len()
            )));
        }
        let mut names = HashSet::new();
        let mut total = 0usize;
        let mut out = Vec::with_capacity(routes.len());
        for r in routes {
            let ok_name = !r.name.is_empty()
                && r.name.len() <= 64
                && r.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !ok_name {
                return Err(invalid(format!(
                    "route name `{}`: use 1-64 of a-z, 0-9, _ and -",
                    r.name.chars().take(80).collect::<String>()
                )));
            }
            if !names.insert(r.name.as_str()) {
                return Err(invalid(format!("route `{}` is defined twice", r.name)));
            }
            let mut examples = r.examples.clone();
            if let Some(f) = &r.examples_file {
                examples.extend(read_lines(&base.join(f)).map_err(|e| {
                    invalid(format!(
                        "route `{}`: examples_file {}: {e}",
                        r.name,
                        f.display()
                    ))
                })?);
            }
            if examples.is_empty() {
                return Err(invalid(format!("route `{}` has no examples", r.name)));
            }
            for e in &examples {
                check_text(e).map_err(|m| invalid(format!("route `{}`: example {m}", r.name)))?;
            }
            if let Some(m) = &r.refusal {
                check_text(m).map_err(|m| invalid(format!("route `{}`: refusal {m}", r.name)))?;
            }
            for field in r.filters.keys() {
                let ok = !field.is_empty()
                    && field.len() <= 64
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                if !ok {
                    return Err(invalid(format!(
                        "route `{}`: filter field `{}` must be 1-64 of A-Z, a-z, 0-9, _ . -",
                        r.name,
                        field.chars().take(80).collect::<String>()
                    )));
                }
            }
            for field in &r.self_query {
                if !["domain", "department", "doc_type", "tag"].contains(&field.as_str()) {
                    return Err(invalid(format!(
                        "route `{}`: self_query field `{}` must be domain, department, doc_type or tag",
                        r.name,
                        field.chars().take(80).collect::<String>()
                    )));
                }
            }
            total += examples.len();
            if total > MAX_EXAMPLES {
                return Err(invalid(format!("more than {MAX_EXAMPLES} examples")));
            }
            out.push(RouteSpec {
                examples,
                examples_file: None,
                ..r.clone()
            });
        }
        let mut oos = config.out_of_scope_examples.clone();
        if let Some(f) = &config.out_of_scope_file {
            oos.extend(read_lines(&base.join(f)).map_err(|e| {
                invalid(format!("[routing] out_of_scope_file {}: {e}", f.display()))
            })?);
        }
        for e in &oos {
            check_text(e).map_err(|m| invalid(format!("out-of-scope example {m}")))?;
        }
        if total + oos.len() > MAX_EXAMPLES {
            return Err(invalid(format!("more than {MAX_EXAMPLES} examples")));
        }
        if !out.is_empty() && out.len() < 2 {
            return Err(invalid(
                "one route cannot be classified against nothing: define at least two".into(),
            ));
        }
        Ok(Self {
            routes: out,
            out_of_scope_examples: oos,
        })
    }
}

fn check_text(t: &str) -> Result<(), String> {
    let n = t.chars().count();
    if t.trim().is_empty() {
        return Err("is empty".into());
    }
    if n > MAX_TEXT_CHARS {
        return Err(format!("of {n} characters; at most {MAX_TEXT_CHARS}"));
    }
    Ok(())
}

/// The utterances of a file: one a line, trimmed; blank lines and `#` comments skipped.
///
/// # Errors
/// The I/O error, or a message for a file over [`MAX_FILE_BYTES`] or not UTF-8.
pub fn read_lines(path: &Path) -> Result<Vec<String>, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > MAX_FILE_BYTES {
        return Err(format!("{len} bytes; at most {MAX_FILE_BYTES}"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, examples: &[&str]) -> RouteSpec {
        RouteSpec {
            name: name.into(),
            examples: examples.iter().map(|s| s.to_string()).collect(),
            ..RouteSpec::default()
        }
    }

    #[test]
    fn resolves_files_and_refuses_bad_sets() {
        let dir = std::env::temp_dir().join(format!("lore-route-set-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("hr.txt"),
            "# hr\nhow many vacation days\n\nparental leave\n",
        )
        .unwrap();
        let mut hr = route("hr", &[]);
        hr.examples_file = Some("hr.txt".into());
        let set = RouteSet::resolve(
            &[hr, route("it", &["reset password"])],
            &RoutingConfig::default(),
            &dir,
        )
        .unwrap();
        assert_eq!(
            set.routes[0].examples,
            ["how many vacation days", "parental leave"]
        );
        let cfg = RoutingConfig::default();
        let err = |routes: &[RouteSpec]| {
            RouteSet::resolve(routes, &cfg, &dir)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[route("HR", &["x"]), route("it", &["y"])]).contains("route name `HR`"));
        assert!(err(&[route("a", &["x"]), route("a", &["y"])]).contains("defined twice"));
        assert!(err(&[route("a", &[]), route("b", &["y"])]).contains("no examples"));
        assert!(err(&[route("a", &["x"])]).contains("at least two"));
        assert!(err(&[route("a", &["  "]), route("b", &["y"])]).contains("empty"));
        let mut bad = route("a", &["x"]);
        bad.filters.insert("dom ain".into(), "hr".into());
        assert!(err(&[bad, route("b", &["y"])]).contains("filter field"));
        let mut missing = route("a", &[]);
        missing.examples_file = Some("nope.txt".into());
        assert!(err(&[missing, route("b", &["y"])]).contains("nope.txt"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
