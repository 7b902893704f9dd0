//! Token-aware, structure-aware chunking.
//!
//! Each [`Section`](crate::Section) (one heading path on one page) is split on its own, so a
//! chunk never spans two headings or two pages. Inside a section `text-splitter` cuts at the
//! highest semantic level that fits (paragraph, then line, sentence, word), measuring with
//! the embedding model's own tokenizer, so a chunk ends on a word boundary.
//!
//! What gets embedded and BM25-indexed is the chunk's *index text*: a header line (document
//! title and heading path) then the chunk text. The header gives a chunk its context
//! ("Installing > Linux") and costs tokens, so the split capacity is reduced by its length;
//! the result is verified against the model limit ([`ChunkerConfig::max_seq_tokens`]),
//! because truncation by the model would silently drop text.

use std::sync::Arc;

use text_splitter::{ChunkConfig, TextSplitter};
use tokenizers::Tokenizer;

use crate::{Extracted, IngestError, Result};

/// Chunking parameters, all in tokens of the embedding model's tokenizer (`[chunking]` in
/// `lore.toml`: `chunk_tokens` and `overlap_tokens`; the other two follow the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChunkerConfig {
    /// Target size of a chunk's text (default 256; reduced when the header and the model
    /// limit require it).
    pub chunk_tokens: usize,
    /// Tokens repeated between consecutive chunks of one section (default 32).
    pub overlap_tokens: usize,
    /// The model's maximum input length including `[CLS]` and `[SEP]` (256 for
    /// all-MiniLM-L6-v2, its sentence-transformers `max_seq_length`).
    #[serde(skip)]
    pub max_seq_tokens: usize,
    /// Most tokens the header may take (longer headers are cut on a word boundary).
    #[serde(skip)]
    pub max_header_tokens: usize,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        ChunkerConfig {
            chunk_tokens: 256,
            overlap_tokens: 32,
            max_seq_tokens: 256,
            max_header_tokens: 48,
        }
    }
}

/// Special tokens the model adds around every input (`[CLS]`, `[SEP]`).
const SPECIAL_TOKENS: usize = 2;

/// One chunk before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDraft {
    /// Position of the chunk in the document, from 0.
    pub ordinal: u32,
    /// The chunk text as shown to users.
    pub text: String,
    /// Header + text: what is embedded and indexed for BM25.
    pub index_text: String,
    /// 1-based page (PDF).
    pub page: Option<u32>,
    /// Heading path.
    pub heading: Option<String>,
    /// Tokens of `index_text`, special tokens included (≤ `max_seq_tokens`).
    pub token_count: u32,
}

/// Splits extracted documents into [`ChunkDraft`]s.
#[derive(Clone)]
pub struct Chunker {
    tokenizer: Arc<Tokenizer>,
    config: ChunkerConfig,
}

impl Chunker {
    /// A chunker measuring with `tokenizer` (truncation and padding must be off).
    ///
    /// # Errors
    /// [`IngestError::Tokenizer`] when the configuration cannot produce chunks: overlap not
    /// smaller than the chunk size, or a chunk size that leaves no room under the model limit.
    pub fn new(tokenizer: Arc<Tokenizer>, config: ChunkerConfig) -> Result<Self> {
        if config.chunk_tokens < 16 || config.overlap_tokens >= config.chunk_tokens {
            return Err(IngestError::Tokenizer(format!(
                "invalid chunking: chunk size {} tokens must be ≥ 16 and larger than the overlap {}",
                config.chunk_tokens, config.overlap_tokens
            )));
        }
        if config.max_seq_tokens < SPECIAL_TOKENS + config.max_header_tokens + 16 {
            return Err(IngestError::Tokenizer(format!(
                "model limit {} tokens leaves no room for chunks",
                config.max_seq_tokens
            )));
        }
        Ok(Chunker { tokenizer, config })
    }

    /// This chunker with another chunk size and overlap (a collection's recorded ones).
    ///
    /// # Errors
    /// As [`Chunker::new`].
    pub fn with_sizes(&self, chunk_tokens: usize, overlap_tokens: usize) -> Result<Chunker> {
        Chunker::new(
            self.tokenizer.clone(),
            ChunkerConfig {
                chunk_tokens,
                overlap_tokens,
                ..self.config
            },
        )
    }

    /// The configuration in use.
    pub fn config(&self) -> ChunkerConfig {
        self.config
    }

    /// Token count of `text` with the model's special tokens.
    ///
    /// # Errors
    /// [`IngestError::Tokenizer`] if the tokenizer fails.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        let enc = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(|e| IngestError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().len())
    }

    /// Splits `doc` into chunks, each within the model limit.
    ///
    /// # Errors
    /// [`IngestError::Tokenizer`] if the tokenizer fails.
    pub fn chunk(&self, doc: &Extracted) -> Result<Vec<ChunkDraft>> {
        let mut out = Vec::new();
        for section in &doc.sections {
            let header = self.header(&doc.title, section.heading.as_deref())?;
            let header_tokens = self.count_tokens(&header)? - SPECIAL_TOKENS;
            let room = self.config.max_seq_tokens - SPECIAL_TOKENS - header_tokens;
            let mut capacity = self.config.chunk_tokens.min(room);
            // Counting the text alone can differ by a token or two from counting it behind
            // the header; shrink and retry rather than ever exceeding the model limit.
            let drafts = loop {
                let drafts = self.split(&section.text, capacity, &header)?;
                let over = drafts
                    .iter()
                    .any(|(_, _, n)| *n > self.config.max_seq_tokens);
                if !over || capacity <= 16 {
                    break drafts;
                }
                capacity = capacity.saturating_sub(8).max(16);
            };
            for (text, index_text, n) in drafts {
                out.push(ChunkDraft {
                    ordinal: out.len() as u32,
                    text,
                    index_text,
                    page: section.page,
                    heading: section.heading.clone(),
                    token_count: n as u32,
                });
            }
        }
        Ok(out)
    }

    fn split(
        &self,
        text: &str,
        capacity: usize,
        header: &str,
    ) -> Result<Vec<(String, String, usize)>> {
        let overlap = self.config.overlap_tokens.min(capacity / 2);
        let config = ChunkConfig::new(capacity)
            .with_sizer(self.tokenizer.as_ref())
            .with_overlap(overlap)
            .map_err(|e| IngestError::Tokenizer(e.to_string()))?;
        let splitter = TextSplitter::new(config);
        let mut out = Vec::new();
        for piece in splitter.chunks(text) {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let index_text = if header.is_empty() {
                piece.to_string()
            } else {
                format!("{header}\n{piece}")
            };
            let n = self.count_tokens(&index_text)?;
            out.push((piece.to_string(), index_text, n));
        }
        Ok(out)
    }

    /// `title` and heading path, de-duplicated and cut to `max_header_tokens`.
    fn header(&self, title: &str, heading: Option<&str>) -> Result<String> {
        let header = match heading {
            Some(h) if h == title || h.starts_with(&format!("{title} > ")) => h.to_string(),
            Some(h) => format!("{title} > {h}"),
            None => title.to_string(),
        };
        let mut words: Vec<&str> = header
            .split_whitespace()
            .take(self.config.max_header_tokens)
            .collect();
        while !words.is_empty()
            && self.count_tokens(&words.join(" "))? - SPECIAL_TOKENS > self.config.max_header_tokens
        {
            words.pop();
        }
        Ok(words.join(" "))
    }
}
