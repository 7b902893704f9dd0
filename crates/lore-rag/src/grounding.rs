//! The grounding check: is each sentence of a generated answer supported by the passages the
//! model was given?
//!
//! A sentence is supported when (a) its embedding's cosine similarity to the most similar
//! context sentence reaches `min_similarity`, (b) every number in it occurs in the context,
//! and (c) every name-like word in it (capitalised inside the sentence, or code-like:
//! `mod_cache`, `HashMap`, `vec!`) occurs in the context. (b) and (c) catch what similarity
//! cannot: "keep a DVD for 10 days" is close in meaning to "keep a DVD for 7 days". A
//! sentence that declines to answer ("I don't know") is supported: it asserts nothing.
//! The answer's score is the fraction of its sentences that are supported.
//!
//! `min_similarity` was calibrated on the labelled sentences of `eval/grounding.jsonl` with
//! `lore eval grounding` (docs/benchmarks.md gives the sweep and the chosen point).

use std::collections::HashSet;
use std::sync::LazyLock;

use lore_embed::{cosine_unit, Embedder};
use lore_llm::split_sentences;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::cite::strip_markers;
use crate::EngineError;

/// What to do with unsupported sentences beyond flagging them in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroundingAction {
    /// Only report them (in `grounding.sentences`).
    #[default]
    Flag,
    /// Append ` [unsupported]` to each in the answer text.
    Mark,
    /// Remove them from the answer text.
    Remove,
}

impl std::str::FromStr for GroundingAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "flag" => Ok(GroundingAction::Flag),
            "mark" => Ok(GroundingAction::Mark),
            "remove" => Ok(GroundingAction::Remove),
            other => Err(format!(
                "unknown grounding action `{other}`: expected flag, mark or remove"
            )),
        }
    }
}

/// Grounding settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroundingConfig {
    /// Run the check at all.
    pub enabled: bool,
    /// Least cosine similarity (all-MiniLM-L6-v2) to a context sentence.
    pub min_similarity: f32,
    /// What to do with unsupported sentences.
    pub action: GroundingAction,
}

/// Calibrated on `eval/grounding.jsonl` (see the module docs).
pub const DEFAULT_MIN_SIMILARITY: f32 = 0.40;

impl Default for GroundingConfig {
    fn default() -> Self {
        GroundingConfig {
            enabled: true,
            min_similarity: DEFAULT_MIN_SIMILARITY,
            action: GroundingAction::Flag,
        }
    }
}

/// The check of one sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentenceCheck {
    /// The sentence as generated (with its markers).
    pub text: String,
    /// Passed every test.
    pub supported: bool,
    /// Cosine similarity to the closest context sentence.
    pub similarity: f32,
    /// The passage `[n]` holding that closest sentence (evidence, not a citation the model
    /// made).
    pub evidence: Option<usize>,
    /// Numbers and names in the sentence that the context does not contain.
    pub missing: Vec<String>,
    /// The sentence declines to answer.
    pub abstains: bool,
}

/// The check of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grounding {
    /// Supported sentences / all sentences (1.0 for an empty answer).
    pub score: f32,
    /// Each sentence, in answer order.
    pub sentences: Vec<SentenceCheck>,
}

impl Grounding {
    /// The answer text after `action`: unchanged, with unsupported sentences marked, or
    /// without them.
    pub fn apply(&self, text: &str, action: GroundingAction) -> String {
        if action == GroundingAction::Flag || self.sentences.iter().all(|s| s.supported) {
            return text.to_string();
        }
        let mut out = Vec::new();
        for s in &self.sentences {
            match (s.supported, action) {
                (true, _) => out.push(s.text.clone()),
                (false, GroundingAction::Mark) => out.push(format!("{} [unsupported]", s.text)),
                (false, _) => {}
            }
        }
        if out.is_empty() {
            return "I don't know: the generated answer was not supported by the retrieved passages.".into();
        }
        out.join(" ")
    }
}

static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+(?:[.,]\d+)*").expect("valid regex"));
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_']*!?").expect("valid regex"));
static ABSTAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(i don't know|i do not know|don't have (enough )?information|not (mentioned|contained|provided|found|stated) in|do(es)? not (contain|mention|say|provide)|cannot answer|can't answer|no information)\b")
        .expect("valid regex")
});

/// Capitalised words that start clauses or are generic, not names.
const COMMON: &[&str] = &[
    "i",
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "in",
    "on",
    "to",
    "for",
    "of",
    "and",
    "or",
    "but",
    "if",
    "when",
    "yes",
    "no",
    "you",
    "your",
    "we",
    "they",
    "he",
    "she",
    "there",
    "here",
    "however",
    "also",
    "note",
    "passage",
    "passages",
    "context",
    "answer",
    "according",
    "based",
];

fn is_name_like(word: &str, first: bool) -> bool {
    let lower = word.to_lowercase();
    if COMMON.contains(&lower.trim_end_matches('!')) || word.len() < 2 {
        return false;
    }
    let code_like =
        word.contains('_') || word.ends_with('!') || word.chars().skip(1).any(char::is_uppercase);
    let capitalised = word.chars().next().is_some_and(char::is_uppercase);
    code_like || (capitalised && !first)
}

/// Numbers and name-like words of `sentence` that `context` (lowercased) lacks.
fn missing_facts(
    sentence: &str,
    context_lower: &str,
    context_numbers: &HashSet<String>,
) -> Vec<String> {
    let mut missing = Vec::new();
    for m in NUMBER.find_iter(sentence) {
        let n = m.as_str().replace(',', "");
        if !context_numbers.contains(&n) && !missing.contains(&n) {
            missing.push(n);
        }
    }
    for (i, m) in WORD.find_iter(sentence).enumerate() {
        let w = m.as_str();
        if is_name_like(w, i == 0)
            && !context_lower.contains(&w.to_lowercase())
            && !missing.iter().any(|x| x == w)
        {
            missing.push(w.to_string());
        }
    }
    missing
}

/// Checks `answer` (with citation markers) against the `context` passages.
///
/// # Errors
/// [`EngineError::Embed`] if embedding fails.
pub fn check(
    embedder: &dyn Embedder,
    answer: &str,
    context: &[&str],
    config: &GroundingConfig,
) -> Result<Grounding, EngineError> {
    // A marker written after the period ("... 7 days. [1]") belongs to the sentence before.
    let mut sentences: Vec<String> = Vec::new();
    for s in split_sentences(answer) {
        match sentences.last_mut() {
            Some(last) if strip_markers(&s).is_empty() => {
                last.push(' ');
                last.push_str(&s);
            }
            _ => sentences.push(s),
        }
    }
    sentences.retain(|s| !strip_markers(s).is_empty());
    if sentences.is_empty() {
        return Ok(Grounding {
            score: 1.0,
            sentences: Vec::new(),
        });
    }
    let joined = context.join("\n");
    let context_lower = joined.to_lowercase();
    let context_numbers: HashSet<String> = NUMBER
        .find_iter(&joined)
        .map(|m| m.as_str().replace(',', ""))
        .collect();
    // (passage number, sentence) for every sentence of the context.
    let context_sentences: Vec<(usize, String)> = context
        .iter()
        .enumerate()
        .flat_map(|(i, c)| split_sentences(c).into_iter().map(move |s| (i + 1, s)))
        .collect();

    let plain: Vec<String> = sentences.iter().map(|s| strip_markers(s)).collect();
    let mut texts: Vec<&str> = plain.iter().map(|s| s.as_str()).collect();
    texts.extend(context_sentences.iter().map(|(_, s)| s.as_str()));
    let vectors = lore_embed::embed_truncating(embedder, &texts)?;
    let (answer_vecs, context_vecs) = vectors.split_at(plain.len());

    let mut checks = Vec::with_capacity(sentences.len());
    for ((sentence, plain), v) in sentences.iter().zip(&plain).zip(answer_vecs) {
        let (similarity, closest) = context_vecs
            .iter()
            .enumerate()
            .map(|(i, c)| (cosine_unit(c, v), i))
            .fold((0.0f32, None), |best, (sim, i)| {
                if sim > best.0 {
                    (sim, Some(i))
                } else {
                    best
                }
            });
        let evidence = closest.map(|i| context_sentences[i].0);
        let abstains = ABSTAIN.is_match(plain);
        let missing = if abstains {
            Vec::new()
        } else {
            missing_facts(plain, &context_lower, &context_numbers)
        };
        let supported = abstains || (similarity >= config.min_similarity && missing.is_empty());
        checks.push(SentenceCheck {
            text: sentence.clone(),
            supported,
            similarity,
            evidence,
            missing,
            abstains,
        });
    }
    let supported = checks.iter().filter(|c| c.supported).count();
    Ok(Grounding {
        score: supported as f32 / checks.len() as f32,
        sentences: checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_must_be_in_the_context() {
        let ctx = "You may keep a DVD for 7 days. The late fee is $5 per day. Ask Mrs. Smith at the desk.".to_lowercase();
        let nums: HashSet<String> = ["7", "5"].into_iter().map(String::from).collect();
        assert!(missing_facts("Keep it for 7 days and pay $5.", &ctx, &nums).is_empty());
        assert_eq!(
            missing_facts("Keep it for 10 days and pay $2.", &ctx, &nums),
            ["10", "2"]
        );
        assert_eq!(
            missing_facts("Ask Mr. Jones or Smith.", &ctx, &nums),
            ["Jones"]
        );
        assert_eq!(missing_facts("Use mod_cache.", &ctx, &nums), ["mod_cache"]);
    }

    #[test]
    fn apply_marks_or_removes_unsupported_sentences() {
        let g = Grounding {
            score: 0.5,
            sentences: vec![
                SentenceCheck {
                    text: "A [1].".into(),
                    supported: true,
                    similarity: 0.9,
                    evidence: Some(1),
                    missing: vec![],
                    abstains: false,
                },
                SentenceCheck {
                    text: "B.".into(),
                    supported: false,
                    similarity: 0.2,
                    evidence: None,
                    missing: vec![],
                    abstains: false,
                },
            ],
        };
        assert_eq!(g.apply("A [1]. B.", GroundingAction::Flag), "A [1]. B.");
        assert_eq!(
            g.apply("A [1]. B.", GroundingAction::Mark),
            "A [1]. B. [unsupported]"
        );
        assert_eq!(g.apply("A [1]. B.", GroundingAction::Remove), "A [1].");
    }

    #[test]
    fn abstentions_are_recognised() {
        assert!(ABSTAIN.is_match("I don't know."));
        assert!(ABSTAIN.is_match("The passages do not mention the port."));
        assert!(!ABSTAIN.is_match("Rust knows the size at compile time."));
    }
}
