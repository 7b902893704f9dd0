//! Guardrails (DESIGN.md §1, "guard"): PII masking of questions before they reach caches,
//! retrieval and the LLM, of answers and passages before they reach the client, and of
//! every log line; blocked topics per collection; input limits.

pub mod pii;
pub mod stream;
pub mod topics;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use pii::{CustomPattern, Masker, PiiKind};
pub use stream::StreamMasker;
pub use topics::BlockedTopics;

/// `[guard]` in `lore.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Mask PII in questions before anything else sees them (caches, retrieval, the LLM,
    /// the query log). Default on.
    pub mask_questions: bool,
    /// Mask PII in answers and the passages sent with them (and in search hits). Default
    /// off: the documents are the organisation's own and readers may need a contact
    /// address; turn on for chatbots open to a wider audience. Streamed answers are then
    /// sent a sentence at a time, so a number split over two tokens is still masked.
    pub mask_answers: bool,
    /// Built-in kinds to detect (default: all). Logs always mask every kind.
    pub kinds: Vec<PiiKind>,
    /// Extra patterns, masked wherever the built-ins are (logs included).
    pub patterns: Vec<CustomPattern>,
    /// Blocked topics: collection name (or `*` for all) → words or phrases; a question
    /// containing one is refused with `topic_blocked`.
    pub blocked_topics: BTreeMap<String, Vec<String>>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            mask_questions: true,
            mask_answers: false,
            kinds: PiiKind::ALL.to_vec(),
            patterns: Vec::new(),
            blocked_topics: BTreeMap::new(),
        }
    }
}

/// The compiled guard of an engine.
pub struct Guard {
    /// The settings.
    pub config: GuardConfig,
    /// Masks the configured kinds and patterns.
    pub masker: Masker,
    /// Blocked topics.
    pub topics: BlockedTopics,
}

impl Guard {
    /// Compiles `config`.
    ///
    /// # Errors
    /// [`pii::PatternError`] for a custom pattern that does not compile.
    pub fn new(config: GuardConfig) -> Result<Self, pii::PatternError> {
        let masker = Masker::new(&config.kinds, &config.patterns)?;
        let topics = BlockedTopics::new(&config.blocked_topics);
        Ok(Guard {
            config,
            masker,
            topics,
        })
    }
}
