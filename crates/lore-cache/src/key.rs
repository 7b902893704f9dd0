//! Cache keys: a layer name and the sha256 of the key's parts, `answer:3f2a…` (64 hex
//! digits). Hashing keeps keys short whatever the question's length, and the parts are
//! length-prefixed so `("ab", "c")` and `("a", "bc")` never collide.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::CacheError;

/// A cache key, `<layer>:<64 hex digits>`. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key(Arc<str>);

impl Key {
    /// Starts a key for `layer`.
    pub fn builder(layer: &str) -> KeyBuilder {
        let mut hasher = Sha256::new();
        hasher.update(layer.as_bytes());
        KeyBuilder {
            layer: layer.to_string(),
            hasher,
        }
    }

    /// Parses a key as printed (`answer:…`), for invalidation by key.
    ///
    /// # Errors
    /// [`CacheError::BadKey`] when it is not `<layer>:<64 lowercase hex digits>`.
    pub fn parse(s: &str) -> Result<Key, CacheError> {
        let bad = || CacheError::BadKey(s.chars().take(100).collect());
        let (layer, hash) = s.split_once(':').ok_or_else(bad)?;
        let valid_layer =
            !layer.is_empty() && layer.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let valid_hash = hash.len() == 64
            && hash
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if valid_layer && valid_hash {
            Ok(Key(s.into()))
        } else {
            Err(bad())
        }
    }

    /// The layer the key belongs to.
    pub fn layer(&self) -> &str {
        self.0.split_once(':').map_or("", |(l, _)| l)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.0)
    }
}

/// Accumulates a key's parts.
pub struct KeyBuilder {
    layer: String,
    hasher: Sha256,
}

impl KeyBuilder {
    /// Adds a text part.
    pub fn text(mut self, part: &str) -> Self {
        self.hasher.update((part.len() as u64).to_le_bytes());
        self.hasher.update(part.as_bytes());
        self
    }

    /// Adds a number part.
    pub fn num(mut self, part: u64) -> Self {
        self.hasher.update(8u64.to_le_bytes());
        self.hasher.update(part.to_le_bytes());
        self
    }

    /// The key.
    pub fn finish(self) -> Key {
        Key(format!("{}:{}", self.layer, hex::encode(self.hasher.finalize())).into())
    }
}

/// A query or question as cache keys see it: trimmed, runs of whitespace made one space,
/// lowercased. Lowercasing is exact for lore's retrieval: the BM25 analyzer lowercases and
/// all-MiniLM-L6-v2 is an uncased model (its tokenizer lowercases), so both legs score the
/// normalized text exactly as the original.
pub fn normalize_text(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_unambiguous_and_keys_parse() {
        let a = Key::builder("answer").text("ab").text("c").finish();
        let b = Key::builder("answer").text("a").text("bc").finish();
        assert_ne!(a, b);
        assert_eq!(a.layer(), "answer");
        assert_eq!(Key::parse(a.as_str()).unwrap(), a);
        assert_ne!(Key::builder("retrieval").text("ab").text("c").finish(), a);
        for bad in [
            "",
            "answer",
            "answer:xyz",
            "ANSWER:00",
            "a:b:c",
            &"0".repeat(64),
        ] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalization() {
        assert_eq!(
            normalize_text("  How do I\n rotate   KEYS? "),
            "how do i rotate keys?"
        );
    }
}
