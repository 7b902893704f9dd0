//! OpenAI-compatible endpoints: `POST /v1/chat/completions` (RAG-backed), `GET /v1/models`,
//! `POST /v1/embeddings`. Shapes follow OpenAI's API reference (chat completion object,
//! chat completion chunk object, embedding object); errors use its error object.
//!
//! `model` in a chat request picks the collection: a collection's name, or `lore` for the
//! server's default collection. The answer's `[n]` markers and a "Sources:" list are in the
//! message text (what chat UIs show); the structured citations are in an extra top-level
//! `citations` field that standard clients ignore.

use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use futures_util::StreamExt;
use lore_embed::Embedder;
use lore_rag::{Answer, Citation, GeneratorKind};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::{ApiError, OpenAiError};
use crate::extract::ApiJson;
use crate::observe::with_info;
use crate::routes::query::{
    answer_json, answer_request, answer_stream, route_request, sse, AnswerBody, Streamed,
};
use crate::state::{blocking, AppState};

/// The model id that means "the default collection".
pub const DEFAULT_MODEL: &str = "lore";
/// Inputs per embeddings request. OpenAI accepts 2,048, but here 2,048 inputs held a CPU
/// core for about two minutes; 256 take ~8 s on 2 cores. Send more in several requests.
pub const MAX_EMBED_INPUTS: usize = 256;
/// Bytes of one embeddings input. The model reads its first 256 tokens (about 1-2 KiB of
/// text); a longer input is truncated, and one past this size is refused rather than
/// tokenized whole.
pub const MAX_EMBED_INPUT_BYTES: usize = 64 * 1024;
/// Inputs embedded between two checks for a client that has gone.
const EMBED_STEP: usize = 32;
/// Names accepted for the embedding model.
const EMBED_MODEL_NAMES: [&str; 2] = ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"];

/// Message content: a string, or parts of which the `text` ones count.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content parts (`{"type": "text", "text": "..."}`; other types are ignored).
    Parts(Vec<ContentPart>),
}

/// A content part.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ContentPart {
    /// `text`, `image_url`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    pub text: Option<String>,
}

/// A chat message.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChatMessage {
    /// system, user, assistant, tool, developer.
    pub role: String,
    /// Its content (may be null for assistant tool calls).
    pub content: Option<MessageContent>,
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StreamOptions {
    /// Send a last chunk with `usage` (and empty `choices`) before `[DONE]`.
    #[serde(default)]
    pub include_usage: bool,
}

/// `stop`: one sequence or a list.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Stop {
    /// One sequence.
    One(String),
    /// Up to 4.
    Many(Vec<String>),
}

/// `POST /v1/chat/completions` body. `max_tokens` (or `max_completion_tokens`),
/// `temperature` and `stop` are honoured; `n`, `top_p`, `presence_penalty` and
/// `frequency_penalty` only at their neutral values (1, 1, 0, 0); `user` picks the arm of
/// an experiment. Any other field of OpenAI's API (tools, response_format, logprobs, seed, ...) is
/// refused, never silently dropped (README lists them).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// A collection name, or `lore` for the default collection.
    pub model: String,
    /// The conversation; the last `user` message is the question.
    pub messages: Vec<ChatMessage>,
    /// Stream chunks as Server-Sent Events ending with `data: [DONE]`.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    pub stream_options: Option<StreamOptions>,
    /// lore extension: metadata filters (`key=value`).
    #[serde(default)]
    pub filters: Vec<String>,
    /// lore extension: passages retrieved.
    pub top_k: Option<usize>,
    /// lore extension: extractive, embedded or openai.
    pub generator: Option<GeneratorKind>,
    /// Answer tokens at most.
    #[schema(minimum = 1, maximum = 8192)]
    pub max_tokens: Option<usize>,
    /// Answer tokens at most (OpenAI's newer name for `max_tokens`).
    #[schema(minimum = 1, maximum = 8192)]
    pub max_completion_tokens: Option<usize>,
    /// Sampling temperature (0: greedy).
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f32>,
    /// Stop sequences, at most 4.
    pub stop: Option<Stop>,
    /// Choices: only 1.
    #[schema(minimum = 1, maximum = 1)]
    pub n: Option<u32>,
    /// Nucleus sampling: only 1 (lore samples by temperature alone).
    #[schema(minimum = 1, maximum = 1)]
    pub top_p: Option<f32>,
    /// Presence penalty: only 0.
    #[schema(minimum = 0, maximum = 0)]
    pub presence_penalty: Option<f32>,
    /// Frequency penalty: only 0.
    #[schema(minimum = 0, maximum = 0)]
    pub frequency_penalty: Option<f32>,
    /// An end-user id: picks the arm of an experiment (default: the API key's id).
    pub user: Option<String>,
}

impl ChatRequest {
    /// Refuses values lore cannot honour rather than ignoring them.
    fn check_supported(&self) -> Result<(), ApiError> {
        let unsupported = |field: &str, neutral: &str| {
            ApiError::new(
                ErrorCode::UnsupportedParameter,
                format!("`{field}` is not supported except at {neutral}"),
            )
        };
        if self.n.is_some_and(|n| n != 1) {
            return Err(unsupported("n", "1"));
        }
        if self.top_p.is_some_and(|p| p != 1.0) {
            return Err(unsupported("top_p", "1"));
        }
        if self.presence_penalty.is_some_and(|p| p != 0.0) {
            return Err(unsupported("presence_penalty", "0"));
        }
        if self.frequency_penalty.is_some_and(|p| p != 0.0) {
            return Err(unsupported("frequency_penalty", "0"));
        }
        Ok(())
    }

    fn stop(&self) -> Vec<String> {
        match &self.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        }
    }
}

/// The text of a message.
fn text_of(c: &MessageContent) -> String {
    match c {
        MessageContent::Text(t) => t.clone(),
        MessageContent::Parts(parts) => parts
            .iter()
            .filter(|p| p.kind == "text")
            .filter_map(|p| p.text.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Token counts.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct CompletionUsage {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Sum.
    pub total_tokens: usize,
}

/// The assistant's message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: &'static str,
    /// Answer text with `[n]` markers and a Sources list.
    pub content: String,
}

/// A choice (lore returns one).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Choice {
    /// 0.
    pub index: u32,
    /// The answer.
    pub message: AssistantMessage,
    /// `stop`.
    pub finish_reason: &'static str,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub logprobs: Option<()>,
}

/// A chat completion object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-...`.
    pub id: String,
    /// `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// As requested.
    pub model: String,
    /// One choice.
    pub choices: Vec<Choice>,
    /// Token counts of the generator.
    pub usage: CompletionUsage,
    /// lore extension: the passages the answer cites.
    pub citations: Vec<Citation>,
    /// lore extension: `exact` or `semantic` when served from the answer cache, else null.
    pub cached: Option<lore_rag::CacheHit>,
    /// lore extension: the route taken when `model` is `auto`, else null.
    pub route: Option<lore_rag::RouteInfo>,
}

fn usage_of(a: &Answer) -> CompletionUsage {
    CompletionUsage {
        prompt_tokens: a.usage.prompt_tokens,
        completion_tokens: a.usage.completion_tokens,
        total_tokens: a.usage.prompt_tokens + a.usage.completion_tokens,
    }
}

/// The "Sources:" block appended to the message text.
fn sources_text(citations: &[Citation]) -> String {
    if citations.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n\nSources:");
    for c in citations {
        s.push_str(&format!("\n[{}] {}", c.n, c.label()));
    }
    s
}

/// The question (last user message) and the collection the model names.
/// The chat model that answers from the meeting memory instead of a collection.
pub const MEMORY_MODEL: &str = "memory";

/// The chat model that routes each question ([`lore_rag::Engine::apply_route`]) from the
/// default collection.
pub const AUTO_MODEL: &str = "auto";

fn resolve(state: &AppState, req: &ChatRequest) -> Result<(String, String), ApiError> {
    let question = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.as_ref())
        .map(text_of)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "`messages` holds no user message with text",
            )
        })?;
    let collection = if req.model == DEFAULT_MODEL || req.model == AUTO_MODEL {
        state.config().default_collection.clone()
    } else {
        req.model.clone()
    };
    Ok((question, collection))
}

/// RAG-backed chat completion (stream or not), OpenAI's format.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body = ChatRequest,
    responses(
        (status = 200, description = "A chat completion, or chunks as SSE when `stream` is true", body = ChatCompletion),
        (status = 400, description = "No user message, bad filter", body = Object),
        (status = 404, description = "Unknown model (collection)", body = Object),
    ))]
pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    body: Result<ApiJson<ChatRequest>, ApiError>,
) -> Result<Response, OpenAiError> {
    let ApiJson(req) = body?;
    req.check_supported()?;
    let (question, collection) = resolve(&state, &req)?;
    // Earlier user turns make a follow-up self-contained for retrieval.
    let mut history: Vec<String> = req
        .messages
        .iter()
        .filter(|m| m.role == "user")
        .filter_map(|m| m.content.as_ref().map(text_of))
        .collect();
    history.pop();
    let retrieval_query = lore_rag::followup::contextualize(&history, &question);
    // `memory` answers from the meeting memory; a collection outside the key's scope is a
    // model that does not exist, word for word.
    let from_memory = req.model == MEMORY_MODEL;
    // `auto`'s collection is the route's, checked once routed.
    let model_missing = !from_memory
        && req.model != AUTO_MODEL
        && (!principal.access.allows_collection(&collection) || {
            let c = collection.clone();
            blocking(&state, move |inner| {
                Ok(inner
                    .read()
                    .collection_info(&c, &lore_core::Access::all())
                    .is_err())
            })
            .await?
        });
    if model_missing {
        return Err(ApiError::new(ErrorCode::ModelNotFound,
            format!(
                "model `{}` does not exist: use `{DEFAULT_MODEL}` or a collection name (GET /v1/models)",
                req.model
            ),
        )
        .into());
    }
    let body = AnswerBody {
        query: question,
        collection: Some(collection.clone()),
        collections: None,
        filters: req.filters.clone(),
        top_k: req.top_k,
        mode: Default::default(),
        generator: req.generator,
        prompt: None,
        stream: req.stream,
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        temperature: req.temperature,
        stop: req.stop(),
        source: if from_memory {
            crate::routes::query::AnswerSource::Memory
        } else {
            crate::routes::query::AnswerSource::Collections
        },
        route: req.model == AUTO_MODEL,
        tier: None,
        route_name: None,
        user: req.user.clone(),
    };
    let mut areq = answer_request(collection.clone(), &body, &principal)?;
    areq.retrieval_query = retrieval_query;
    let (areq, mut refusal) = route_request(&state, areq, &body, &principal).await?;
    if let Some(a) = refusal.as_mut() {
        crate::routes::query::served_answer(&state, &principal, &body.query, &collection, a);
    }
    // The collection as routed: a route cannot take a key past its scope.
    let collection = areq.collection.clone();
    if !from_memory {
        for c in std::iter::once(&collection).chain(&areq.more_collections) {
            principal.check_collection(c)?;
        }
    }
    let id = format!("chatcmpl-{}", uuid::Uuid::new_v4().simple());
    let created = crate::auth::now_secs().max(0) as u64;
    if !req.stream {
        let answer = match refusal {
            Some(a) => a,
            None => answer_json(&state, &principal, collection, areq).await?,
        };
        let content = format!("{}{}", answer.answer, sources_text(&answer.citations));
        let info = crate::routes::query::answer_info(&answer);
        return Ok(with_info(
            Json(ChatCompletion {
                id,
                object: "chat.completion",
                created,
                model: req.model,
                choices: vec![Choice {
                    index: 0,
                    message: AssistantMessage {
                        role: "assistant",
                        content,
                    },
                    finish_reason: "stop",
                    logprobs: None,
                }],
                usage: usage_of(&answer),
                citations: answer.citations,
                cached: answer.cached,
                route: answer.route,
            }),
            info,
        ));
    }
    let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
    let model = req.model;
    let chunk = move |delta: serde_json::Value,
                      finish: Option<&str>,
                      extra: Option<(&str, serde_json::Value)>| {
        let mut v = serde_json::json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        });
        if let Some((k, x)) = extra {
            v[k] = x;
        }
        if include_usage {
            v["usage"] = serde_json::Value::Null;
        }
        v
    };
    let first = chunk(
        serde_json::json!({"role": "assistant", "content": ""}),
        None,
        None,
    );
    let data = |v: &serde_json::Value| Event::default().data(v.to_string());
    let head = futures_util::stream::iter(vec![data(&first)]);
    let events = match refusal {
        Some(a) => crate::routes::query::refused_stream(a),
        None => answer_stream(&state, principal, collection, areq).await?,
    };
    let body = events.flat_map(move |m| {
        let out: Vec<Event> = match m {
            Streamed::Token(t) => {
                vec![data(&chunk(serde_json::json!({"content": t}), None, None))]
            }
            Streamed::Retrieved(_) | Streamed::Notice(_) => Vec::new(),
            Streamed::Done(a) => {
                let mut out = Vec::new();
                let sources = sources_text(&a.citations);
                if !sources.is_empty() {
                    out.push(data(&chunk(
                        serde_json::json!({"content": sources}),
                        None,
                        None,
                    )));
                }
                let citations = serde_json::to_value(&a.citations).unwrap_or_default();
                let mut last = chunk(
                    serde_json::json!({}),
                    Some("stop"),
                    Some(("citations", citations)),
                );
                last["cached"] = serde_json::to_value(a.cached).unwrap_or_default();
                out.push(data(&last));
                if include_usage {
                    let mut last = chunk(serde_json::json!({}), None, None);
                    last["choices"] = serde_json::json!([]);
                    last["usage"] = serde_json::to_value(usage_of(&a)).unwrap_or_default();
                    out.push(data(&last));
                }
                out.push(Event::default().data("[DONE]"));
                out
            }
            Streamed::Failed(e) => {
                let e = e.openai().body();
                vec![data(&e), Event::default().data("[DONE]")]
            }
        };
        futures_util::stream::iter(out)
    });
    Ok(sse(head.chain(body)).into_response())
}

/// A model entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Model {
    /// Model id: `lore`, a collection name, or the embedding model.
    pub id: String,
    /// `model`.
    pub object: &'static str,
    /// Unix seconds (0: not tracked).
    pub created: u64,
    /// `lore`.
    pub owned_by: &'static str,
}

/// `GET /v1/models` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelList {
    /// `list`.
    pub object: &'static str,
    /// Models.
    pub data: Vec<Model>,
}

/// Models: `lore` (default collection), every collection the key may read, `memory`
/// (answers from the meeting memory), and the embedding model.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "Models", body = ModelList)))]
pub async fn models(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
) -> Result<Json<ModelList>, OpenAiError> {
    let names = blocking(&state, move |inner| {
        Ok(inner.read().collection_names(&principal.access)?)
    })
    .await?;
    let model = |id: &str| Model {
        id: id.to_string(),
        object: "model",
        created: 0,
        owned_by: "lore",
    };
    let mut data = vec![model(DEFAULT_MODEL)];
    data.extend(names.iter().map(|n| model(n)));
    data.push(model(MEMORY_MODEL));
    data.push(model(AUTO_MODEL));
    data.push(model(EMBED_MODEL_NAMES[0]));
    Ok(Json(ModelList {
        object: "list",
        data,
    }))
}

/// Embeddings input.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    One(String),
    /// Several texts.
    Many(Vec<String>),
    /// Token ids (not supported: lore embeds text).
    #[schema(value_type = Vec<Object>)]
    Tokens(Vec<serde_json::Value>),
}

/// `POST /v1/embeddings` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingRequest {
    /// Text(s) to embed, 1-2048 non-empty strings; texts over the model's 256 tokens are
    /// embedded from their start.
    pub input: EmbeddingInput,
    /// `all-MiniLM-L6-v2` (or `sentence-transformers/all-MiniLM-L6-v2`).
    pub model: String,
    /// `float` (default) or `base64` (little-endian f32, as OpenAI's SDKs request).
    pub encoding_format: Option<String>,
    /// Must be 384 if given.
    pub dimensions: Option<usize>,
}

/// One embedding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmbeddingData {
    /// `embedding`.
    pub object: &'static str,
    /// 384 floats (unit length), or a base64 string of them.
    #[schema(value_type = Object)]
    pub embedding: serde_json::Value,
    /// Position in the input.
    pub index: usize,
}

/// Embedding usage.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmbeddingUsage {
    /// Tokens read (after truncation).
    pub prompt_tokens: usize,
    /// Same.
    pub total_tokens: usize,
}

/// `POST /v1/embeddings` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmbeddingResponse {
    /// `list`.
    pub object: &'static str,
    /// One per input, in order.
    pub data: Vec<EmbeddingData>,
    /// As requested.
    pub model: String,
    /// Tokens.
    pub usage: EmbeddingUsage,
}

/// Embeddings from lore's embedding model (all-MiniLM-L6-v2, 384-d, L2-normalized).
#[utoipa::path(post, path = "/v1/embeddings", tag = "openai",
    request_body = EmbeddingRequest,
    responses(
        (status = 200, description = "Embeddings", body = EmbeddingResponse),
        (status = 400, description = "Empty or too many inputs, token input, bad format or dimensions", body = Object),
        (status = 404, description = "Unknown model", body = Object),
    ))]
pub async fn embeddings(
    State(state): State<AppState>,
    body: Result<ApiJson<EmbeddingRequest>, ApiError>,
) -> Result<Json<EmbeddingResponse>, OpenAiError> {
    let ApiJson(req) = body?;
    if !EMBED_MODEL_NAMES.contains(&req.model.as_str()) {
        return Err(ApiError::new(
            ErrorCode::ModelNotFound,
            format!(
                "embedding model `{}` does not exist: use `{}`",
                req.model, EMBED_MODEL_NAMES[0]
            ),
        )
        .into());
    }
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidEncodingFormat,
                format!("encoding_format `{other}`: use float or base64"),
            )
            .into())
        }
    };
    if let Some(d) = req.dimensions.filter(|d| *d != lore_embed::DIM) {
        return Err(ApiError::new(
            ErrorCode::InvalidDimensions,
            format!("dimensions {d}: this model gives {}", lore_embed::DIM),
        )
        .into());
    }
    let texts = match req.input {
        EmbeddingInput::One(s) => vec![s],
        EmbeddingInput::Many(v) => v,
        EmbeddingInput::Tokens(_) => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedInput,
                "token-id input is not supported: send text",
            )
            .into())
        }
    };
    if texts.is_empty() || texts.len() > MAX_EMBED_INPUTS {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("`input` must hold 1 to {MAX_EMBED_INPUTS} texts"),
        )
        .into());
    }
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(ApiError::new(ErrorCode::InvalidInput, format!("input {i} is empty")).into());
    }
    if let Some(i) = texts.iter().position(|t| t.len() > MAX_EMBED_INPUT_BYTES) {
        return Err(ApiError::new(ErrorCode::InputTooLong,
            format!("input {i} is over {MAX_EMBED_INPUT_BYTES} bytes (the model reads its first 256 tokens)"),
        )
        .into());
    }
    // Set when this future is dropped (client gone, request timed out): the blocking
    // work stops at its next step.
    let (cancel, _stop_when_gone) = lore_core::Cancel::on_drop();
    let (vectors, tokens) = blocking(&state, move |inner| {
        let engine = inner.read();
        let embedder = engine.embedder();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut vectors = Vec::with_capacity(refs.len());
        for step in refs.chunks(EMBED_STEP) {
            if cancel.is_cancelled() {
                return Err(ApiError::new(ErrorCode::ClientGone, "the client has gone"));
            }
            vectors.extend(lore_embed::embed_truncating(embedder, step)?);
        }
        let tokenizer = embedder.tokenizer();
        let tokens: usize = refs
            .iter()
            .map(|t| {
                tokenizer
                    .encode(*t, true)
                    .map(|e| e.len().min(embedder.max_tokens()))
                    .unwrap_or(0)
            })
            .sum();
        Ok((vectors, tokens))
    })
    .await?;
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, v)| EmbeddingData {
            object: "embedding",
            embedding: if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                serde_json::json!(v)
            },
            index,
        })
        .collect();
    Ok(Json(EmbeddingResponse {
        object: "list",
        data,
        model: req.model,
        usage: EmbeddingUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    }))
}
