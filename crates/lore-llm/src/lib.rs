//! Answer generators for lore (DESIGN.md §2, `lore-llm`).
//!
//! A [`Generator`] turns a rendered chat prompt (plus, for the extractive answerer, the
//! question and the numbered passages it was built from) into text, streaming each piece
//! through a callback as it is produced. Three implementations:
//!
//! - [`EmbeddedGenerator`]: a GGUF instruct model run in process by llama.cpp;
//! - [`OpenAiGenerator`]: any OpenAI-compatible `/v1/chat/completions` endpoint (vLLM,
//!   Ollama, llama.cpp server, OpenAI), streamed over SSE, with timeouts, retries and an
//!   optional fallback provider;
//! - [`ExtractiveGenerator`]: no LLM; returns the passages' sentences most similar to the
//!   question, each cited.
//!
//! Generators know nothing of retrieval or citations: `lore-rag` builds the prompt and maps
//! the `[n]` markers back to chunks.

#![warn(missing_docs)]

mod embedded;
mod error;
mod extractive;
mod openai;
mod sentences;
mod stop;
pub mod tiers;

pub use embedded::{EmbeddedConfig, EmbeddedGenerator};
pub use error::LlmError;
pub use extractive::ExtractiveGenerator;
pub use openai::{OpenAiConfig, OpenAiGenerator};
pub use sentences::split_sentences;
pub use tiers::{EndpointStats, TierConfig, TierEndpoint, TierPool, Tiers};

use serde::{Deserialize, Serialize};

/// One message of a chat prompt (OpenAI chat format: role `system`, `user` or `assistant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system".into(),
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user".into(),
            content: content.into(),
        }
    }
}

/// A passage given to the model as context block `[n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// The block's number in the prompt, 1-based.
    pub n: usize,
    /// The passage text as given to the model.
    pub text: String,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// The rendered prompt.
    pub messages: Vec<ChatMessage>,
    /// The user's question (the extractive answerer ranks sentences against it).
    pub question: String,
    /// The context blocks that `messages` contains, in prompt order.
    pub passages: Vec<Passage>,
    /// Upper bound on generated tokens.
    pub max_tokens: usize,
    /// Sampling temperature; 0 means greedy decoding.
    pub temperature: f32,
    /// Generation ends where one of these appears (it is not part of the answer).
    pub stop: Vec<String>,
    /// Generation stops at the next token once this is set (the caller has gone).
    pub cancel: lore_core::Cancel,
    /// A JSON schema the output must match (OpenAI's `response_format` of type
    /// `json_schema`, which vLLM, llama.cpp's server and OpenAI enforce by constrained
    /// decoding). `None`: free text. The embedded and extractive generators ignore it;
    /// callers validate the output either way.
    pub json_schema: Option<serde_json::Value>,
}

/// Token counts of one call, as reported by the model (or counted locally where the server
/// does not report them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
}

/// Which generator writes answers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorKind {
    /// A GGUF model in process (llama.cpp).
    Embedded,
    /// An OpenAI-compatible server.
    #[serde(rename = "openai")]
    OpenAi,
    /// No LLM: quoted sentences.
    Extractive,
}

impl GeneratorKind {
    /// The name used on the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorKind::Embedded => "embedded",
            GeneratorKind::OpenAi => "openai",
            GeneratorKind::Extractive => "extractive",
        }
    }
}

impl std::fmt::Display for GeneratorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for GeneratorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(GeneratorKind::Embedded),
            "openai" => Ok(GeneratorKind::OpenAi),
            "extractive" => Ok(GeneratorKind::Extractive),
            other => Err(format!(
                "unknown generator `{other}`: expected embedded, openai or extractive"
            )),
        }
    }
}

/// The result of one generation.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The full generated text (the concatenation of the streamed pieces).
    pub text: String,
    /// `embedded`, `openai` or `extractive`.
    pub generator: GeneratorKind,
    /// The model that answered (GGUF file stem, the server's model name, or the embedding
    /// model for the extractive answerer).
    pub model: String,
    /// Token counts.
    pub usage: Usage,
    /// A notice for the user (the fallback provider answered, say), if any.
    pub notice: Option<String>,
    /// The endpoint that answered, when a tier chose among several.
    pub endpoint: Option<String>,
}

/// Receives each piece of generated text as soon as it is decoded.
pub type TokenSink<'a> = &'a mut dyn FnMut(&str);

/// Something that writes an answer from a prompt.
pub trait Generator: Send + Sync {
    /// `embedded`, `openai` or `extractive`.
    fn kind(&self) -> GeneratorKind;

    /// The model's name, as reported in answers.
    fn model(&self) -> String;

    /// The model's context window, tokens (prompt plus answer).
    fn context_window(&self) -> usize;

    /// Checks the generator can serve (for health checks): a remote endpoint is asked
    /// for its model list. Returns what was checked.
    ///
    /// # Errors
    /// The endpoint's failure.
    fn probe(&self) -> Result<String, LlmError> {
        Ok(format!("{} {}", self.kind(), self.model()))
    }

    /// Tokens `text` takes in this model's prompt. Embedded: exact (the GGUF's own
    /// tokenizer); openai: the configured `tokenizer.json` if any, else a conservative
    /// estimate of one token per 3 bytes; extractive: words.
    fn count_tokens(&self, text: &str) -> usize;

    /// Generates an answer, passing each decoded piece to `on_token` as it comes.
    ///
    /// # Errors
    /// [`LlmError`]: unreachable or failing endpoint, timeout, malformed stream, model error.
    fn generate(
        &self,
        request: &GenerateRequest,
        on_token: TokenSink<'_>,
    ) -> Result<Generation, LlmError>;
}
