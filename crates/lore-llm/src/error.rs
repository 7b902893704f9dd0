use std::path::PathBuf;

/// Why a generator could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The GGUF file is not in the models dir.
    #[error("model file {path} not found; run scripts/setup-models.sh (or point --llm-model at a GGUF file)")]
    MissingModel {
        /// The file looked for.
        path: PathBuf,
    },

    /// llama.cpp refused to load the model or create a context.
    #[error("embedded model {path}: {message}")]
    ModelLoad {
        /// The GGUF file.
        path: PathBuf,
        /// What llama.cpp reported.
        message: String,
    },

    /// llama.cpp failed while tokenizing, decoding or sampling.
    #[error("embedded generation failed: {0}")]
    Inference(String),

    /// The prompt does not fit the model's context window (the caller trims context first;
    /// this only fires when even the bare question does not fit).
    #[error("prompt of {prompt_tokens} tokens does not fit the context window of {context_window} tokens")]
    PromptTooLong {
        /// Tokens of the rendered prompt.
        prompt_tokens: usize,
        /// The model's window, tokens.
        context_window: usize,
    },

    /// The endpoint could not be reached (refused, DNS, TLS) or did not answer in time.
    #[error("LLM endpoint {url} unreachable: {message}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// The transport error.
        message: String,
    },

    /// The endpoint answered with an HTTP error status after all retries.
    #[error("LLM endpoint {url} answered HTTP {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },

    /// The endpoint stopped answering mid-stream, or the read timeout passed.
    #[error("LLM endpoint {url} stream failed: {message}")]
    Stream {
        /// The endpoint.
        url: String,
        /// What went wrong.
        message: String,
    },

    /// The endpoint sent something that is not an OpenAI chat completion (bad JSON, bad SSE).
    #[error("LLM endpoint {url} sent a malformed response: {message}")]
    Malformed {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        message: String,
    },

    /// Configuration is incomplete or contradictory.
    #[error("LLM configuration: {0}")]
    Config(String),

    /// The embedder used by the extractive answerer failed.
    #[error(transparent)]
    Embed(#[from] lore_embed::EmbedError),
}

impl LlmError {
    /// True for faults of the endpoint or the network (as opposed to bad configuration):
    /// the engine answers extractively instead when configured to.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            LlmError::Unreachable { .. }
                | LlmError::Status { .. }
                | LlmError::Stream { .. }
                | LlmError::Malformed { .. }
        )
    }
}
