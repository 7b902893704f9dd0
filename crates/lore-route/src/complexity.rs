//! A question's complexity score (0-1) from what can be read off its text: length, named
//! entities and numbers, the kind of question (reasoning against lookup), and multi-part
//! cues. It picks a model tier when no learned tier router is fitted (`[routing] tier_by =
//! "complexity"`): cheap, explainable, and no training data needed.
//!
//! The weights are hand-set, not fitted: a logistic of
//! `−2 + 0.04·words + 0.25·entities + 0.9·(parts − 1) + kind`, kind +1.2 for reasoning
//! (why, how does, explain, compare, prove, calculate, …), −0.6 for lookups (what is, who,
//! when, where, define, list), 0 otherwise. `lore eval tiers` measures it against the learned
//! router and question length on RouteLLM's MMLU labels (docs/benchmarks.md).

use serde::Serialize;

/// Words that open or mark a question needing reasoning.
const REASONING: &[&str] = &[
    "why",
    "explain",
    "compare",
    "contrast",
    "prove",
    "derive",
    "calculate",
    "compute",
    "analyze",
    "analyse",
    "evaluate",
    "justify",
    "design",
    "optimize",
    "troubleshoot",
    "debug",
    "difference",
    "differences",
    "tradeoff",
    "tradeoffs",
    "implications",
];
/// Openings of a lookup.
const LOOKUP: &[&str] = &[
    "what is", "what's", "who", "when", "where", "define", "list", "name", "which",
];
/// Cues that a question has several parts.
const PARTS: &[&str] = &[
    " and then ",
    " also ",
    " as well as ",
    "; ",
    " versus ",
    " vs ",
    " step by step",
];

/// The score and what it was made of.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Complexity {
    /// 0-1; at or above `[routing] complexity_threshold` the large tier answers.
    pub score: f32,
    /// Words.
    pub words: usize,
    /// Capitalised words not opening a sentence, and numbers.
    pub entities: usize,
    /// Parts: question marks and multi-part cues, at least 1.
    pub parts: usize,
    /// `reasoning`, `lookup` or `other`.
    pub kind: &'static str,
}

/// The complexity of `question`.
pub fn complexity(question: &str) -> Complexity {
    let lower = question.to_lowercase();
    let words: Vec<&str> = question.split_whitespace().collect();
    let mut entities = 0;
    let mut sentence_start = true;
    for w in &words {
        let t = w.trim_matches(|c: char| !c.is_alphanumeric());
        let first = t.chars().next();
        let number = first.is_some_and(|c| c.is_ascii_digit());
        let name = !sentence_start && first.is_some_and(char::is_uppercase);
        if number || name {
            entities += 1;
        }
        sentence_start = w.ends_with(['.', '?', '!', ':']);
    }
    let questions = question.matches('?').count();
    let cues = PARTS
        .iter()
        .map(|c| lower.matches(c).count())
        .sum::<usize>();
    let parts = (questions + cues).max(1);
    let lower_words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let kind = if lower_words.iter().any(|w| REASONING.contains(w))
        || lower.starts_with("how does")
        || lower.starts_with("how do ")
        || lower.starts_with("how would")
    {
        "reasoning"
    } else if LOOKUP.iter().any(|p| lower.trim_start().starts_with(p)) {
        "lookup"
    } else {
        "other"
    };
    let kind_weight = match kind {
        "reasoning" => 1.2,
        "lookup" => -0.6,
        _ => 0.0,
    };
    let z = -2.0
        + 0.04 * words.len() as f32
        + 0.25 * entities as f32
        + 0.9 * (parts - 1) as f32
        + kind_weight;
    Complexity {
        score: 1.0 / (1.0 + (-z).exp()),
        words: words.len(),
        entities,
        parts,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_score_low_and_multi_part_reasoning_high() {
        let easy = complexity("What is the VPN address?");
        assert_eq!((easy.kind, easy.parts), ("lookup", 1));
        assert!(easy.score < 0.2, "{easy:?}");
        let hard = complexity(
            "Why does the Berlin cluster drop packets after the 2.4 upgrade, and how should we \
             compare rolling back versus patching? Explain the tradeoffs step by step.",
        );
        assert_eq!(hard.kind, "reasoning");
        assert!(hard.parts >= 3 && hard.entities >= 2, "{hard:?}");
        assert!(hard.score > 0.8, "{hard:?}");
        assert!(complexity("").score < 0.2);
    }
}
