//! Meeting-memory evaluation on QMSum-format files (specific queries only).
//!
//! Gold = the union of a query's `relevant_text_span` turn ranges (end inclusive). The
//! memories a query returns are taken in the order the API lists them, each expanded to
//! its turns (L1 and L0 memories have no turns of their own and add nothing).
//!
//! - **cov@B**: the share of gold turns among the distinct turns that fit in a budget of B
//!   whitespace tokens of raw turn content. Turns from other meetings use budget and add
//!   nothing; the list stops before the memory that would exceed B, but the first memory
//!   is always kept.
//! - **succ@B**: 1 when at least one gold turn is inside the budget.
//! - **nDCG@10**: binary relevance, a memory relevant when it overlaps the gold turns of
//!   the query's meeting; the ideal ranking has every relevant memory of the index first.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

/// A QMSum file that cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Unreadable file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not QMSum JSON, or a malformed span.
    #[error("{0}")]
    Format(String),
}

/// One specific query of a meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingQuery {
    /// Meeting id (the file stem).
    pub meeting: String,
    /// The question.
    pub query: String,
    /// Gold turns (0-based).
    pub gold: HashSet<u32>,
}

#[derive(Deserialize)]
struct QmSum {
    meeting_transcripts: Vec<QmTurn>,
    #[serde(default)]
    specific_query_list: Vec<QmQuery>,
}

#[derive(Deserialize)]
struct QmTurn {
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct QmQuery {
    query: String,
    #[serde(default)]
    relevant_text_span: Vec<Vec<String>>,
}

/// A QMSum file's queries and each turn's whitespace-token count.
///
/// # Errors
/// [`EvalError`] when the file cannot be read or parsed, or a span is not two turn
/// numbers.
pub fn load(path: &Path) -> Result<(Vec<MeetingQuery>, Vec<usize>), EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: QmSum = serde_json::from_str(&text)
        .map_err(|e| EvalError::Format(format!("{}: {e}", path.display())))?;
    let meeting = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tokens = file
        .meeting_transcripts
        .iter()
        .map(|t| t.content.split_whitespace().count())
        .collect();
    let mut out = Vec::new();
    for q in file.specific_query_list {
        let mut gold = HashSet::new();
        for span in &q.relevant_text_span {
            let bounds: Vec<u32> = span.iter().filter_map(|s| s.trim().parse().ok()).collect();
            let [a, b] = bounds[..] else {
                return Err(EvalError::Format(format!(
                    "{}: span {span:?} is not [start, end]",
                    path.display()
                )));
            };
            gold.extend(a.min(b)..=a.max(b));
        }
        if !gold.is_empty() {
            out.push(MeetingQuery {
                meeting: meeting.clone(),
                query: q.query,
                gold,
            });
        }
    }
    Ok((out, tokens))
}

/// A returned memory as the metrics see it: its meeting and turn range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    /// Meeting (`None` for cross-meeting memories).
    pub meeting: Option<String>,
    /// Turns, end inclusive (`None` for L1 and L0).
    pub turns: Option<(u32, u32)>,
}

/// (cov@B, succ@B) for one query.
pub fn coverage(
    returned: &[Returned],
    q: &MeetingQuery,
    tokens: &HashMap<String, Vec<usize>>,
    budget: usize,
) -> (f64, f64) {
    let mut used = 0usize;
    let mut seen: HashSet<(&str, u32)> = HashSet::new();
    let mut gold_hit = 0usize;
    let mut first = true;
    for r in returned {
        let (Some(m), Some((a, b))) = (r.meeting.as_deref(), r.turns) else {
            continue;
        };
        let counts = tokens.get(m);
        let new: Vec<u32> = (a..=b).filter(|t| !seen.contains(&(m, *t))).collect();
        let cost: usize = new
            .iter()
            .map(|&t| counts.and_then(|c| c.get(t as usize)).copied().unwrap_or(0))
            .sum();
        if !first && used + cost > budget {
            break;
        }
        first = false;
        used += cost;
        for t in new {
            seen.insert((m, t));
            if m == q.meeting && q.gold.contains(&t) {
                gold_hit += 1;
            }
        }
    }
    let cov = gold_hit as f64 / q.gold.len().max(1) as f64;
    (cov, if gold_hit > 0 { 1.0 } else { 0.0 })
}

/// nDCG@10 with binary relevance; `relevant_total` is how many memories of the index
/// overlap the gold turns (the ideal list's length).
pub fn ndcg10(returned: &[Returned], q: &MeetingQuery, relevant_total: usize) -> f64 {
    let rel = |r: &Returned| {
        r.meeting.as_deref() == Some(q.meeting.as_str())
            && r.turns
                .is_some_and(|(a, b)| (a..=b).any(|t| q.gold.contains(&t)))
    };
    let dcg: f64 = returned
        .iter()
        .take(10)
        .enumerate()
        .filter(|(_, r)| rel(r))
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let idcg: f64 = (0..relevant_total.min(10))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> MeetingQuery {
        MeetingQuery {
            meeting: "A".into(),
            query: "q".into(),
            gold: (10..=19).collect(),
        }
    }

    fn r(m: &str, a: u32, b: u32) -> Returned {
        Returned {
            meeting: Some(m.into()),
            turns: Some((a, b)),
        }
    }

    #[test]
    fn coverage_counts_distinct_turns_within_the_budget() {
        let tokens: HashMap<String, Vec<usize>> = [
            ("A".to_string(), vec![10; 40]),
            ("B".to_string(), vec![10; 40]),
        ]
        .into();
        // 10..=14 (50 tokens, 5 gold), B 0..=4 (50, none), 12..=16 (overlap: 2 new, 20).
        let list = [r("A", 10, 14), r("B", 0, 4), r("A", 12, 16)];
        assert_eq!(coverage(&list, &q(), &tokens, 120), (0.7, 1.0));
        // Budget 100: the third memory (20 more) would exceed it: stop.
        assert_eq!(coverage(&list, &q(), &tokens, 100), (0.5, 1.0));
        // The first is always kept, even over budget.
        assert_eq!(coverage(&[r("A", 0, 39)], &q(), &tokens, 10), (1.0, 1.0));
        // Nothing of the gold meeting.
        assert_eq!(coverage(&[r("B", 10, 19)], &q(), &tokens, 1000), (0.0, 0.0));
        // Memories without turns cost nothing.
        let none = Returned {
            meeting: None,
            turns: None,
        };
        assert_eq!(
            coverage(&[none, r("A", 10, 19)], &q(), &tokens, 100),
            (1.0, 1.0)
        );
    }

    #[test]
    fn ndcg_rewards_relevant_memories_first() {
        let good = [r("A", 10, 12), r("B", 0, 1)];
        let bad = [r("B", 0, 1), r("A", 10, 12)];
        assert_eq!(ndcg10(&good, &q(), 1), 1.0);
        assert!((ndcg10(&bad, &q(), 1) - 1.0 / 3f64.log2()).abs() < 1e-12);
        assert_eq!(ndcg10(&good, &q(), 0), 0.0);
    }
}
