//! The semantic answer layer: a question may reuse the cached answer of another question
//! when (1) retrieval for it yields the same context (the caller keys the lookup by the
//! context fingerprint, so only questions answered from exactly these passages are
//! candidates), (2) their embeddings' cosine similarity reaches `min_similarity`, and (3)
//! the lexical guard finds no difference in negation, numbers, dates, names or polarity.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{hit_rate, lexical, Key, Layer, LayerStats, SemanticConfig, Shared};

/// A question answered from a context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The question as asked (the guard reads its capitals).
    pub question: String,
    /// Its embedding (unit length, the query embedding model's dims).
    pub embedding: Vec<f32>,
    /// The exact answer cache key its answer is under.
    pub answer_key: String,
}

/// A cached answer that may be reused.
#[derive(Debug, Clone, PartialEq)]
pub struct Reuse {
    /// Where the answer is (exact answer cache key).
    pub answer_key: Key,
    /// Cosine similarity of the two questions.
    pub similarity: f32,
    /// The question it answered.
    pub question: String,
}

/// Why no cached answer was reused.
#[derive(Debug, Clone, PartialEq)]
pub enum Miss {
    /// No question was answered from this context yet.
    NoCandidate,
    /// The closest question was below `min_similarity` (its similarity).
    Dissimilar(f32),
    /// Similar enough, vetoed by the lexical guard.
    Lexical {
        /// What differs.
        difference: lexical::Difference,
        /// The cached question it was compared with.
        cached: String,
        /// Their cosine similarity.
        similarity: f32,
    },
}

/// The semantic layer's figures.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SemanticStats {
    /// Storage figures of the per-context question lists (`hits`/`misses` there count
    /// list lookups; the answer reuse figures follow).
    pub lists: LayerStats,
    /// Answers reused for a similar question.
    pub hits: u64,
    /// Lookups that reused nothing.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_rate: f64,
    /// Misses because the closest question was below `min_similarity`.
    pub rejected_similarity: u64,
    /// Misses because the lexical guard vetoed the closest similar question.
    pub rejected_lexical: u64,
    /// The reuse threshold (cosine).
    pub min_similarity: f32,
}

/// The semantic layer.
pub struct SemanticIndex {
    lists: Layer<Vec<Candidate>>,
    min_similarity: f32,
    max_per_context: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    rejected_similarity: AtomicU64,
    rejected_lexical: AtomicU64,
}

impl SemanticIndex {
    /// A semantic layer named `semantic` with `config`'s bounds and threshold.
    pub fn new(config: &SemanticConfig, shared: Option<Arc<Shared>>) -> Self {
        SemanticIndex {
            lists: Layer::new("semantic", &config.layer(), shared),
            min_similarity: config.min_similarity,
            max_per_context: config.max_questions_per_context.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            rejected_similarity: AtomicU64::new(0),
            rejected_lexical: AtomicU64::new(0),
        }
    }

    /// Whether the layer reuses answers.
    pub fn enabled(&self) -> bool {
        self.lists.enabled()
    }

    /// The list layer (its key builder, invalidation).
    pub fn lists(&self) -> &Layer<Vec<Candidate>> {
        &self.lists
    }

    /// The questions answered from the context `key` names.
    pub fn candidates(&self, key: &Key) -> Option<Arc<Vec<Candidate>>> {
        self.lists.get(key)
    }

    /// The cached question `question` (embedded as `embedding`) may reuse the answer of:
    /// the most similar candidate at or above the threshold that the lexical guard passes,
    /// Counts a rejection when there is none.
    ///
    /// # Errors
    /// The [`Miss`] of the closest candidate.
    pub fn choose(
        &self,
        question: &str,
        embedding: &[f32],
        candidates: &[Candidate],
    ) -> Result<Reuse, Miss> {
        let mut scored: Vec<(f32, &Candidate)> = candidates
            .iter()
            .filter(|c| c.embedding.len() == embedding.len())
            .map(|c| (dot(&c.embedding, embedding), c))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut miss = Miss::NoCandidate;
        for (similarity, c) in scored {
            if similarity < self.min_similarity {
                if miss == Miss::NoCandidate {
                    miss = Miss::Dissimilar(similarity);
                }
                break;
            }
            match lexical::compare(question, &c.question) {
                Ok(()) => match Key::parse(&c.answer_key) {
                    Ok(answer_key) => {
                        return Ok(Reuse {
                            answer_key,
                            similarity,
                            question: c.question.clone(),
                        })
                    }
                    Err(_) => continue,
                },
                Err(difference) => {
                    miss = Miss::Lexical {
                        difference,
                        cached: c.question.clone(),
                        similarity,
                    }
                }
            }
        }
        match &miss {
            Miss::Dissimilar(_) => self.rejected_similarity.fetch_add(1, Ordering::Relaxed),
            Miss::Lexical { .. } => self.rejected_lexical.fetch_add(1, Ordering::Relaxed),
            Miss::NoCandidate => 0,
        };
        Err(miss)
    }

    /// Counts the outcome of one semantic lookup: an answer reused or not.
    pub fn record_outcome(&self, reused: bool) {
        let c = if reused { &self.hits } else { &self.misses };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `candidate` to the context `key`'s list (replacing an entry for the same answer
    /// key; the oldest goes past `max_questions_per_context`). Concurrent adds to one list
    /// may lose one: that costs a future hit, never a wrong one.
    pub fn remember(&self, key: &Key, candidate: Candidate, tags: Vec<String>) {
        let mut list: Vec<Candidate> = self
            .lists
            .lookup(key)
            .map(|l| l.as_ref().clone())
            .unwrap_or_default();
        list.retain(|c| c.answer_key != candidate.answer_key);
        list.push(candidate);
        if list.len() > self.max_per_context {
            let excess = list.len() - self.max_per_context;
            list.drain(..excess);
        }
        self.lists.insert(key, list, tags);
    }

    /// The layer's figures.
    pub fn stats(&self) -> SemanticStats {
        let hits = self.hits.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        SemanticStats {
            lists: self.lists.stats(),
            hits,
            misses,
            hit_rate: hit_rate(hits, misses),
            rejected_similarity: self.rejected_similarity.load(Ordering::Relaxed),
            rejected_lexical: self.rejected_lexical.load(Ordering::Relaxed),
            min_similarity: self.min_similarity,
        }
    }
}

/// Cosine similarity of unit vectors.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn candidate(q: &str, e: &[f32], answer: &str) -> Candidate {
        Candidate {
            question: q.into(),
            embedding: unit(e),
            answer_key: Key::builder("answer").text(answer).finish().to_string(),
        }
    }

    #[test]
    fn threshold_and_guard_decide() {
        let idx = SemanticIndex::new(&SemanticConfig::default(), None);
        let cands = vec![
            candidate("How do I enable SSO?", &[1.0, 0.0, 0.0], "enable"),
            candidate("Where are the logs?", &[0.0, 1.0, 0.0], "logs"),
        ];
        // Close in embedding space, same words: reused.
        let reuse = idx
            .choose("How can I enable SSO?", &unit(&[1.0, 0.05, 0.0]), &cands)
            .unwrap();
        assert_eq!(reuse.answer_key.as_str(), cands[0].answer_key);
        assert_eq!(reuse.question, "How do I enable SSO?");
        assert!(reuse.similarity > 0.99);
        // As close, but the opposite: vetoed.
        assert!(matches!(
            idx.choose("How do I disable SSO?", &unit(&[1.0, 0.05, 0.0]), &cands),
            Err(Miss::Lexical { .. })
        ));
        // Far: below the threshold.
        assert!(matches!(
            idx.choose("How do I enable SSO?", &unit(&[1.0, 1.0, 0.0]), &cands),
            Err(Miss::Dissimilar(s)) if s < 0.95
        ));
        assert_eq!(
            idx.choose("x", &unit(&[1.0, 0.0, 0.0]), &[]),
            Err(Miss::NoCandidate)
        );
        let st = idx.stats();
        assert_eq!((st.rejected_lexical, st.rejected_similarity), (1, 1));
    }

    #[test]
    fn lists_are_capped() {
        let config = SemanticConfig {
            max_questions_per_context: 3,
            ..SemanticConfig::default()
        };
        let idx = SemanticIndex::new(&config, None);
        let key = idx.lists().key().text("ctx").finish();
        for i in 0..5 {
            idx.remember(
                &key,
                candidate(&format!("q{i}"), &[1.0, i as f32], &i.to_string()),
                Vec::new(),
            );
        }
        let list = idx.candidates(&key).unwrap();
        let qs: Vec<&str> = list.iter().map(|c| c.question.as_str()).collect();
        assert_eq!(qs, ["q2", "q3", "q4"]);
    }
}
