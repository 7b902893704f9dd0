//! Embeddings: the [`Embedder`] trait and the in-process all-MiniLM-L6-v2 model.
//!
//! The model runs on ONNX Runtime (`ort`, library loaded at run time from the models dir).
//! Vectors are 384-d, mean-pooled over non-padding tokens and L2-normalised, exactly as
//! sentence-transformers computes them (see `tests/reference.rs`).
#![warn(missing_docs)]

pub mod model_files;
pub mod onnx;
pub mod pooling;

pub mod batch;

pub use batch::Batcher;
pub use model_files::{ModelFiles, Precision, SETUP_COMMAND};
pub use onnx::{OnnxEmbedder, OnnxOptions, DIM};
pub use pooling::cosine_unit;

/// Errors of embedding.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing: the message names the set-up command.
    #[error("model file {path} not found (models dir {dir}, chosen by {how}); run `{setup}` to install the models")]
    MissingModel {
        /// The file looked for.
        path: String,
        /// The models dir in use.
        dir: String,
        /// Which rule chose the dir (flag, LORE_MODELS_DIR, default).
        how: String,
        /// The command that installs the models.
        setup: &'static str,
    },
    /// ONNX Runtime failed to load or run.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// An input longer than the model accepts; lore never truncates silently.
    #[error("input of {tokens} tokens exceeds the model limit of {max} tokens")]
    TooLong {
        /// Tokens in the input, special tokens included.
        tokens: usize,
        /// The model's limit.
        max: usize,
    },
}

/// Result of embedding functions.
pub type Result<T, E = EmbedError> = std::result::Result<T, E>;

/// Turns texts into unit-length vectors.
pub trait Embedder: Send + Sync {
    /// Embeds `texts` (any number; batched internally), returning one vector of
    /// [`Embedder::dim`] f32s per text, L2-normalised, in input order.
    ///
    /// # Errors
    /// [`EmbedError::TooLong`] for a text over [`Embedder::max_tokens`]; runtime errors.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Vector dimension (384 for all-MiniLM-L6-v2).
    fn dim(&self) -> usize;
    /// Identifier of the model and precision, stored with each collection, e.g.
    /// `all-MiniLM-L6-v2/int8`.
    fn model_id(&self) -> String;
    /// Maximum input length in tokens, special tokens included.
    fn max_tokens(&self) -> usize;
}

/// Embeds `texts` like [`Embedder::embed`], but a text over the model's token limit is cut
/// (at a char boundary, in proportion to its excess, until it fits) instead of failing. For
/// scoring sentences (extractive answers, grounding, context compression), where the start
/// of an over-long sentence stands for it well enough; chunks are never embedded this way.
///
/// # Errors
/// Runtime and tokenizer errors of the embedder.
pub fn embed_truncating(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    match embedder.embed(texts) {
        Err(EmbedError::TooLong { .. }) => texts
            .iter()
            .map(|text| {
                let mut text = *text;
                loop {
                    match embedder.embed(&[text]) {
                        Ok(mut v) => return Ok(v.pop().unwrap_or_default()),
                        Err(EmbedError::TooLong { tokens, max }) => {
                            let mut end = text.len() * max / tokens.max(1) * 9 / 10;
                            while !text.is_char_boundary(end) {
                                end -= 1;
                            }
                            text = &text[..end];
                        }
                        Err(e) => return Err(e),
                    }
                }
            })
            .collect(),
        other => other,
    }
}
