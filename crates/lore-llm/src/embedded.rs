//! The embedded generator: a GGUF instruct model run in process by llama.cpp.
//!
//! llama.cpp is built from source by `llama-cpp-sys-2` with AVX2/FMA/F16C (see
//! `.cargo/config.toml`; without them generation was ~100x slower, DESIGN.md §8). The chat
//! template comes from the GGUF's own metadata (`tokenizer.chat_template`), applied by
//! llama.cpp's template engine; a GGUF without one gets llama.cpp's built-in template for its
//! architecture.
//!
//! Threads: generation (one token at a time, memory-bound) uses `threads`; prompt
//! processing (batched, compute-bound) uses `batch_threads`. On 2 cores the defaults are 1
//! and 2: measured here, 2-thread generation fell from 82 to under 1 token/s when another
//! process used the cores while 1 thread held 54, so generation keeps one core free for the
//! embedder, and only the short prompt phase takes both.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use crate::stop::StopFilter;
use crate::{GenerateRequest, Generation, Generator, LlmError, TokenSink, Usage};

/// Settings of the embedded generator.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The GGUF file.
    pub model_path: PathBuf,
    /// Context window, tokens; capped at the model's training context.
    pub context_window: usize,
    /// Threads for token-by-token generation.
    pub threads: usize,
    /// Threads for prompt processing.
    pub batch_threads: usize,
    /// Sampling seed (used when temperature > 0).
    pub seed: u32,
}

impl EmbeddedConfig {
    /// Defaults for `model_path`: a 4,096-token window, threads sized for the machine as
    /// described in the module docs.
    pub fn new(model_path: PathBuf) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        EmbeddedConfig {
            model_path,
            context_window: 4096,
            threads: default_generation_threads(cores),
            batch_threads: cores,
            seed: 42,
        }
    }
}

/// Generation threads for a machine with `cores` cores: half of them (at least one), so the
/// embedder always has the other half.
pub fn default_generation_threads(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// llama.cpp's backend may be initialised once per process.
fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            // llama.cpp logs every tensor at load; lore's own tracing says what matters.
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(|e| LlmError::Inference(format!("llama.cpp backend: {e}")))
}

/// A GGUF model loaded once, with one context whose KV cache carries over between answers
/// (the prompt prefix they share is not processed again).
pub struct EmbeddedGenerator {
    config: EmbeddedConfig,
    /// Lives as long as the process: the context below borrows it.
    model: &'static LlamaModel,
    template: LlamaChatTemplate,
    name: String,
    context_window: usize,
    /// One generation at a time (the thread budget above is per generation); `None` until
    /// the first answer, or after a failed one.
    session: Mutex<Option<Session>>,
}

impl EmbeddedGenerator {
    /// Loads the GGUF file (memory-mapped).
    ///
    /// # Errors
    /// [`LlmError::MissingModel`] if the file is absent; [`LlmError::ModelLoad`] if llama.cpp
    /// rejects it or it carries no chat template.
    pub fn load(config: EmbeddedConfig) -> Result<Self, LlmError> {
        let path = config.model_path.clone();
        if !path.is_file() {
            return Err(LlmError::MissingModel { path });
        }
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, &path, &LlamaModelParams::default())
            .map_err(|e| LlmError::ModelLoad {
                path: path.clone(),
                message: e.to_string(),
            })?;
        let template = match model.chat_template(None) {
            Ok(t) => t,
            // Some GGUF exports (the packaged Gemma 3 270M among them) carry no
            // `tokenizer.chat_template`; llama.cpp's built-in template for the architecture
            // is the documented format of that model family.
            Err(_) => {
                let arch = model
                    .meta_val_str("general.architecture")
                    .unwrap_or_default();
                let name = builtin_template(&arch);
                tracing::debug!(%arch, template = name, "GGUF has no chat template; using llama.cpp's built-in one");
                LlamaChatTemplate::new(name).map_err(|e| LlmError::ModelLoad {
                    path: path.clone(),
                    message: format!("chat template: {e}"),
                })?
            }
        };
        let context_window = config
            .context_window
            .min(model.n_ctx_train() as usize)
            .max(256);
        let name = model_name(&path);
        tracing::debug!(model = %name, context_window, threads = config.threads, "embedded model loaded");
        Ok(EmbeddedGenerator {
            config,
            // Generators are made once per engine and kept for its life; a leaked model is
            // what lets the kept context borrow it.
            model: Box::leak(Box::new(model)),
            template,
            name,
            context_window,
            session: Mutex::new(None),
        })
    }

    fn render(&self, request: &GenerateRequest) -> Result<String, LlmError> {
        let messages = request
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LlmError::Inference(format!("chat message: {e}")))?;
        self.model
            .apply_chat_template(&self.template, &messages, true)
            .map_err(|e| LlmError::Inference(format!("chat template: {e}")))
    }
}

/// llama.cpp's built-in chat template for a GGUF `general.architecture` without one.
fn builtin_template(arch: &str) -> &'static str {
    if arch.starts_with("gemma") {
        "gemma"
    } else if arch.starts_with("llama") {
        "llama3"
    } else if arch.starts_with("phi3") {
        "phi3"
    } else {
        "chatml"
    }
}

/// The model's name: the GGUF file's stem.
fn model_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gguf".into())
}

impl Generator for EmbeddedGenerator {
    fn kind(&self) -> crate::GeneratorKind {
        crate::GeneratorKind::Embedded
    }

    fn model(&self) -> String {
        self.name.clone()
    }

    fn context_window(&self) -> usize {
        self.context_window
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .len()
    }

    fn generate(
        &self,
        request: &GenerateRequest,
        on_token: TokenSink<'_>,
    ) -> Result<Generation, LlmError> {
        let started = Instant::now();
        let prompt = self.render(request)?;
        let vocab = self.model.vocab();
        // The rendered template already carries BOS where the model wants it.
        let tokens = vocab.tokenize(prompt.as_bytes(), false, true);
        if tokens.len() + 1 >= self.context_window {
            return Err(LlmError::PromptTooLong {
                prompt_tokens: tokens.len(),
                context_window: self.context_window,
            });
        }
        let max_new = request.max_tokens.min(self.context_window - tokens.len());

        let mut slot = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = self.run(&mut slot, request, &tokens, max_new, started, on_token);
        if result.is_err() {
            // The KV cache may hold half a decode: start the next answer from scratch.
            *slot = None;
        }
        result
    }
}

/// A context kept between answers, and the tokens its KV cache holds (positions 0..len).
struct Session {
    ctx: LlamaContext<'static>,
    tokens: Vec<LlamaToken>,
}

impl EmbeddedGenerator {
    fn new_session(&self) -> Result<Session, LlmError> {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.context_window as u32))
            .with_n_batch(512)
            .with_n_ubatch(512)
            .with_n_threads(self.config.threads as i32)
            .with_n_threads_batch(self.config.batch_threads as i32);
        let ctx = self
            .model
            .new_context(backend()?, params)
            .map_err(|e| LlmError::Inference(e.to_string()))?;
        Ok(Session {
            ctx,
            tokens: Vec::new(),
        })
    }

    /// Decodes the prompt (reusing the KV cache for the prefix it shares with the previous
    /// prompt: the system message and the template's head), then generates.
    fn run(
        &self,
        slot: &mut Option<Session>,
        request: &GenerateRequest,
        tokens: &[LlamaToken],
        max_new: usize,
        started: Instant,
        on_token: TokenSink<'_>,
    ) -> Result<Generation, LlmError> {
        if slot.is_none() {
            *slot = Some(self.new_session()?);
        }
        let session = slot.as_mut().expect("just set");
        let vocab = self.model.vocab();
        // Keep the shared prefix, but always decode at least the last prompt token: its
        // logits start the answer.
        let mut keep = session
            .tokens
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len() - 1);
        if keep < session.tokens.len() {
            let removed = session
                .ctx
                .clear_kv_cache_seq(Some(0), Some(keep as u32), None)
                .unwrap_or(false);
            if !removed {
                // Some caches (sliding-window attention) cannot drop a suffix.
                session.ctx.clear_kv_cache();
                keep = 0;
            }
        }
        session.tokens.truncate(keep);

        // Prompt processing in batches of n_batch tokens; logits only for the last one.
        let mut batch = LlamaBatch::new(512, 1);
        for (start, piece) in tokens[keep..]
            .chunks(512)
            .enumerate()
            .map(|(i, c)| (keep + i * 512, c))
        {
            batch.clear();
            for (offset, token) in piece.iter().enumerate() {
                let pos = start + offset;
                batch
                    .add(*token, pos as i32, &[0], pos + 1 == tokens.len())
                    .map_err(|e| LlmError::Inference(e.to_string()))?;
            }
            session
                .ctx
                .decode(&mut batch)
                .map_err(|e| LlmError::Inference(format!("prompt decode: {e}")))?;
            session.tokens.extend_from_slice(piece);
        }
        tracing::debug!(
            prompt_tokens = tokens.len(),
            reused = keep,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "embedded prompt processed"
        );
        let ctx = &mut session.ctx;
        let n_vocab = self.model.n_vocab();

        let mut sampler = if request.temperature > 0.0 {
            LlamaSampler::chain_simple([
                LlamaSampler::penalties(n_vocab, 64, 1.1, 0.0, 0.0),
                LlamaSampler::temp(request.temperature),
                LlamaSampler::dist(self.config.seed),
            ])
        } else {
            LlamaSampler::chain_simple([
                LlamaSampler::penalties(n_vocab, 64, 1.1, 0.0, 0.0),
                LlamaSampler::greedy(),
            ])
        };

        let mut decoder = encoding_rs::UTF_8.new_decoder();
        let mut filter = StopFilter::new(&request.stop);
        let mut piece = Vec::new();
        let mut completion_tokens = 0;
        let mut pos = tokens.len();
        let mut logits_index = batch.n_tokens() - 1;
        while completion_tokens < max_new && !request.cancel.is_cancelled() {
            let token = sampler.sample(ctx, logits_index);
            if vocab.is_eog(token) {
                break;
            }
            completion_tokens += 1;
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            let mut decoded = String::with_capacity(piece.len() + 4);
            let _ = decoder.decode_to_string(&piece, &mut decoded, false);
            let ready = filter.push(&decoded);
            if !ready.is_empty() {
                on_token(ready);
            }
            if filter.stopped() {
                break;
            }
            batch.clear();
            batch
                .add(token, pos as i32, &[0], true)
                .map_err(|e| LlmError::Inference(e.to_string()))?;
            pos += 1;
            logits_index = 0;
            ctx.decode(&mut batch)
                .map_err(|e| LlmError::Inference(format!("decode: {e}")))?;
            session.tokens.push(token);
        }
        let rest = filter.finish();
        if !rest.is_empty() {
            on_token(rest);
        }
        let text = filter.into_text();
        Ok(Generation {
            text,
            generator: crate::GeneratorKind::Embedded,
            model: self.name.clone(),
            usage: Usage {
                prompt_tokens: tokens.len(),
                completion_tokens,
            },
            notice: None,
            endpoint: None,
        })
    }
}
