//! `POST /v1/search` and `POST /v1/answer` (JSON, or Server-Sent Events with `stream`).

use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::stream::Stream;
use futures_util::StreamExt;
use lore_core::{Access, Filter, SearchMode};
use lore_rag::{
    Answer, AnswerEvent, AnswerRequest, Citation, GeneratorKind, SearchRequest, Timings,
};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::Principal;
use crate::codes::ErrorCode;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::observe::{with_info, RequestInfo, Served};
use crate::state::{blocking, AppState};

/// Filters at most per request.
pub const MAX_FILTERS: usize = 32;
/// Collections one search may span.
pub const MAX_COLLECTIONS: usize = 16;

/// `POST /v1/search` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// Query text.
    pub query: String,
    /// Collection to search (default: the server's default collection).
    pub collection: Option<String>,
    /// Several collections, fused by reciprocal rank (instead of `collection`).
    pub collections: Option<Vec<String>>,
    /// Metadata filters, `key=value` with key domain, department, doc_type, tag or
    /// source; different keys AND, repeated keys OR.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Results wanted, 1-1000 (default 10).
    pub top_k: Option<usize>,
    /// bm25, dense or hybrid (default).
    #[serde(default)]
    pub mode: SearchMode,
}

/// A search hit and its collection (the engine's type).
pub type SearchHit = lore_rag::CollectionHit;

/// `POST /v1/search` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// Hits, best first.
    pub hits: Vec<SearchHit>,
    /// Stage timings of the (first) collection's search, ms.
    pub timings_ms: Timings,
    /// `exact` when every collection's hits came from the retrieval cache; null when
    /// computed (the same field as an answer's and a chat completion's).
    pub cached: Option<lore_rag::CacheHit>,
}

pub(crate) fn parse_filters(filters: &[String]) -> Result<Vec<Filter>, ApiError> {
    if filters.len() > MAX_FILTERS {
        return Err(ApiError::new(
            ErrorCode::TooManyFilters,
            format!("at most {MAX_FILTERS} filters, got {}", filters.len()),
        ));
    }
    Ok(filters
        .iter()
        .map(|f| Filter::from_str(f))
        .collect::<Result<_, _>>()?)
}

fn collections_of(
    state: &AppState,
    one: Option<String>,
    many: Option<Vec<String>>,
) -> Result<Vec<String>, ApiError> {
    match (one, many) {
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "give `collection` or `collections`, not both",
        )),
        (Some(c), None) => Ok(vec![c]),
        (None, Some(v)) if v.is_empty() || v.len() > MAX_COLLECTIONS => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("`collections` must name 1 to {MAX_COLLECTIONS} collections"),
        )),
        (None, Some(v)) => {
            // The same collection twice would fuse each hit with itself.
            if let Some(dup) = v
                .iter()
                .enumerate()
                .find_map(|(i, c)| v[..i].contains(c).then_some(c))
            {
                return Err(ApiError::new(
                    ErrorCode::DuplicateCollection,
                    format!("collection `{dup}` is listed twice in `collections`"),
                ));
            }
            Ok(v)
        }
        (None, None) => Ok(vec![state.config().default_collection.clone()]),
    }
}

/// Hybrid (BM25 + dense, RRF), BM25 or dense search with metadata filters.
#[utoipa::path(post, path = "/v1/search", tag = "query",
    request_body = SearchBody,
    responses(
        (status = 200, description = "Hits", body = SearchResult),
        (status = 400, description = "Empty query, top_k out of range, bad filter", body = crate::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::error::ErrorBody),
    ))]
pub async fn search(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let filters = parse_filters(&body.filters)?;
    let collections = collections_of(&state, body.collection, body.collections)?;
    let top_k = body.top_k.unwrap_or(lore_rag::DEFAULT_TOP_K);
    let requests: Vec<SearchRequest> = collections
        .iter()
        .map(|c| {
            let mut req = SearchRequest::new(c.clone(), body.query.clone());
            req.top_k = top_k;
            req.mode = body.mode;
            req.filters = filters.clone();
            req.access = principal.access.clone();
            req
        })
        .collect();
    let served = |out: SearchResult| {
        if out.cached.is_none() {
            crate::metrics::search(&out.timings_ms);
        }
        state.log_query(
            &principal,
            Served {
                kind: "search",
                collection: &collections.join(","),
                query: &body.query,
                latency_ms: started.elapsed().as_secs_f64() * 1e3,
                cached: out.cached.is_some(),
                answered: !out.hits.is_empty(),
                tokens_in: 0,
                tokens_out: 0,
                domain: out.hits.first().and_then(|h| h.hit.domain.clone()),
                answer_id: None,
                served: Default::default(),
            },
        );
        let info = RequestInfo {
            cached: Some(out.cached.is_some()),
            ..RequestInfo::default()
        };
        with_info(Json(out), info)
    };
    if let [req] = requests.as_slice() {
        if let Some(resp) = state.0.try_now(|e| e.search_cached(req))? {
            return Ok(served(SearchResult {
                hits: lore_rag::fuse_collections(vec![(req.collection.clone(), resp.hits)], top_k),
                timings_ms: resp.timings_ms,
                cached: resp.cached,
            }));
        }
    }
    let request = requests[0].clone();
    let names = collections.clone();
    let out = blocking(&state, move |inner| {
        let resp = inner.with_loaded(|e| e.search_collections_loaded(&names, &request))?;
        Ok(SearchResult {
            hits: resp.hits,
            timings_ms: resp.timings_ms,
            cached: resp.cached,
        })
    })
    .await?;
    Ok(served(out))
}

/// `POST /v1/answer` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The question.
    #[serde(alias = "question")]
    pub query: String,
    /// Collection to answer from (default: the server's default collection).
    pub collection: Option<String>,
    /// Passages retrieved, 1-1000 (default from `[llm] top_k`, 5).
    pub top_k: Option<usize>,
    /// Retrieval mode (default hybrid).
    #[serde(default)]
    pub mode: SearchMode,
    /// Metadata filters, as in search.
    #[serde(default)]
    pub filters: Vec<String>,
    /// extractive, embedded or openai (default from config).
    pub generator: Option<GeneratorKind>,
    /// Prompt template `name` or `name@version` (default from config).
    pub prompt: Option<String>,
    /// Server-Sent Events instead of one JSON body: `retrieval`, `token`, `notice`,
    /// `citations`, `done`, `error`.
    #[serde(default)]
    pub stream: bool,
    /// Answer tokens at most, 1-8192 (default `[llm] max_answer_tokens`).
    pub max_tokens: Option<usize>,
    /// Sampling temperature, 0-2 (default `[llm] temperature`).
    pub temperature: Option<f32>,
    /// Up to 4 more stop sequences.
    #[serde(default)]
    pub stop: Vec<String>,
    /// Several collections to answer from, their passages fused by reciprocal rank as in
    /// search (instead of `collection`).
    pub collections: Option<Vec<String>>,
    /// `collections` (default) or `memory`: the meeting memory's episodic memories, cited
    /// by meeting, turns and speakers (then `collection(s)` and `filters` are not taken).
    #[serde(default)]
    pub source: AnswerSource,
    /// Answer with this model tier (`[llm.tiers.<name>]`): its endpoints share the load,
    /// with failover; the answer's `endpoint` names the one that answered.
    pub tier: Option<String>,
    /// Route the question: the route set classifies it and its route's collections,
    /// filters and prompt replace these (out-of-scope and refusing routes answer with their
    /// message); the answer's `route` says what was chosen.
    #[serde(default)]
    pub route: bool,
    /// Take this route instead of classifying the question (implies `route: true`): a
    /// route's own entry point, as the web UI's route tabs.
    pub route_name: Option<String>,
    /// A stable id of the end user (1-128 characters), for experiments: it picks the arm
    /// (default: the API key's id). Never logged.
    pub user: Option<String>,
}

/// Where an answer's passages come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// Documents of the collection(s).
    #[default]
    Collections,
    /// The meeting memory.
    Memory,
}

/// What the query log and metrics name as the "collection" of a memory answer.
const MEMORY: &str = "memory";

pub(crate) fn answer_request(
    collection: String,
    body: &AnswerBody,
    principal: &Principal,
) -> Result<AnswerRequest, ApiError> {
    let mut req = AnswerRequest::new(collection, body.query.clone());
    req.access = principal.access.clone();
    req.filters = parse_filters(&body.filters)?;
    req.top_k = body.top_k;
    req.mode = body.mode;
    req.generator = body.generator;
    req.prompt = body.prompt.clone();
    req.max_tokens = body.max_tokens;
    req.temperature = body.temperature;
    req.stop = body.stop.clone();
    req.memory = body.source == AnswerSource::Memory;
    req.routed = body.route || body.route_name.is_some();
    req.route_name = body.route_name.clone();
    req.tier = body.tier.clone();
    Ok(req)
}

/// Routes a request that asks for it ([`lore_rag::Engine::apply_route`]) and enrols it in
/// an experiment ([`lore_rag::Engine::apply_experiment`], the unit being the body's
/// `user` or else the key's id): the request as routed, and the refusal to send instead of
/// an answer when its route refuses.
pub(crate) async fn route_request(
    state: &AppState,
    mut req: AnswerRequest,
    body: &AnswerBody,
    principal: &Principal,
) -> Result<(AnswerRequest, Option<Answer>), ApiError> {
    if let Some(u) = &body.user {
        if u.is_empty() || u.chars().count() > 128 {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "`user` must be 1-128 characters",
            ));
        }
    }
    let unit = body.user.clone().or_else(|| principal.key_id.clone());
    let chosen = lore_rag::Chosen {
        prompt: body.prompt.is_some(),
        tier: body.tier.is_some(),
    };
    let no_experiments = state.0.security.experiments.is_empty();
    let no_tier_choice = state.0.security.routing.tier_by == lore_route::TierBy::None;
    if !req.routed && (no_experiments || unit.is_none()) && no_tier_choice {
        return Ok((req, None));
    }
    let start = std::time::Instant::now();
    blocking(state, move |inner| {
        let engine = inner.read();
        let applied = engine.apply_route(&mut req)?;
        let refusal = applied.and_then(|(info, message)| {
            message.map(|m| Answer::refused(m, info, start.elapsed().as_secs_f64() * 1e3))
        });
        if refusal.is_none() {
            engine.apply_experiment(&mut req, unit.as_deref(), chosen);
            engine.choose_tier(&mut req)?;
        }
        Ok((req, refusal))
    })
    .await
}

/// A refusal as an answer stream: the notice, the message as one token, `done`.
pub(crate) fn refused_stream(answer: Answer) -> ReceiverStream<Streamed> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for n in &answer.notices {
        let _ = tx.try_send(Streamed::Notice(n.clone()));
    }
    let _ = tx.try_send(Streamed::Token(answer.answer.clone()));
    let _ = tx.try_send(Streamed::Done(Box::new(answer)));
    ReceiverStream::new(rx)
}

/// `retrieval` event data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetrievalEvent {
    /// The passages given to the generator, numbered as cited.
    pub passages: Vec<Citation>,
}

/// `token` event data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenEvent {
    /// A piece of the answer text.
    pub text: String,
}

/// `citations` event data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CitationsEvent {
    /// The passages the answer cites.
    pub citations: Vec<Citation>,
    /// `[n]` markers the generator invented (removed from the answer).
    pub invented_citations: Vec<usize>,
}

/// Answer a question with numbered citations: retrieve, prompt, generate, cite, check
/// grounding. With `stream: true` the response is `text/event-stream`: `retrieval`
/// (`RetrievalEvent`), `token` (`TokenEvent`, text deltas), `notice`, `citations`
/// (`CitationsEvent`), then `done` (the whole `Answer`: text after the grounding action,
/// usage, timings) or `error` (`ErrorBody`).
#[utoipa::path(post, path = "/v1/answer", tag = "query",
    request_body = AnswerBody,
    responses(
        (status = 200, description = "The answer (or an SSE stream when `stream` is true)", body = Answer),
        (status = 400, description = "Empty or over-long question, bad filter, unknown prompt", body = crate::error::ErrorBody),
        (status = 404, description = "No such collection", body = crate::error::ErrorBody),
        (status = 503, description = "The LLM is unavailable and the extractive fallback is off", body = crate::error::ErrorBody),
    ))]
pub async fn answer(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Response, ApiError> {
    if body.source == AnswerSource::Memory {
        if body.collection.is_some() || body.collections.is_some() || !body.filters.is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "`source: memory` answers from the meeting memory: drop `collection`, `collections` and `filters`",
            ));
        }
        let req = answer_request(MEMORY.into(), &body, &principal)?;
        if !body.stream {
            let answer = answer_json(&state, &principal, MEMORY.into(), req).await?;
            let info = answer_info(&answer);
            return Ok(with_info(Json(answer), info));
        }
        let events = answer_stream(&state, principal, MEMORY.into(), req).await?;
        return Ok(sse(answer_events(events)).into_response());
    }
    let collections = collections_of(&state, body.collection.clone(), body.collections.clone())?;
    let mut req = answer_request(collections[0].clone(), &body, &principal)?;
    req.more_collections = collections[1..].to_vec();
    let (req, refusal) = route_request(&state, req, &body, &principal).await?;
    if let Some(mut answer) = refusal {
        served_answer(
            &state,
            &principal,
            &body.query,
            &req.collection,
            &mut answer,
        );
        if body.stream {
            return Ok(sse(answer_events(refused_stream(answer))).into_response());
        }
        let info = answer_info(&answer);
        return Ok(with_info(Json(answer), info));
    }
    // The collections as routed: a route cannot take a key past its scope.
    let collections: Vec<String> = std::iter::once(req.collection.clone())
        .chain(req.more_collections.iter().cloned())
        .collect();
    for c in &collections {
        principal.check_collection(c)?;
    }
    let collection = collections[0].clone();
    // The question as sent: the log writer masks PII in it like in every line.
    tracing::debug!(target: "lore::query", question = %body.query, %collection, "answer requested");
    if !body.stream {
        let answer = answer_json(&state, &principal, collection, req).await?;
        let info = answer_info(&answer);
        return Ok(with_info(Json(answer), info));
    }
    // Validation errors before the first event still get a plain 4xx.
    principal.check_collection(&collection)?;
    blocking(&state, move |inner| {
        for c in &collections {
            inner.with_loaded(|e| e.collection_info(c, &Access::all()).map(|_| ()))?;
        }
        Ok(())
    })
    .await?;
    let events = answer_stream(&state, principal, collection, req).await?;
    Ok(sse(answer_events(events)).into_response())
}

/// The access-log fields of an answer.
pub(crate) fn answer_info(a: &Answer) -> RequestInfo {
    RequestInfo {
        cached: Some(a.cached.is_some()),
        tokens_in: a.usage.prompt_tokens as u64,
        tokens_out: a.usage.completion_tokens as u64,
    }
}

/// Gives an answer served (JSON or streamed, REST or chat) its id, and records its
/// metrics and query-log row.
pub(crate) fn served_answer(
    state: &AppState,
    principal: &Principal,
    question: &str,
    collection: &str,
    a: &mut Answer,
) {
    let id = format!("ans_{}", uuid::Uuid::new_v4().simple());
    a.id = Some(id.clone());
    let settings = &state.0.security;
    let (cost_usd, cost_largest_usd) = crate::cost::answer_cost(settings, a);
    crate::metrics::answer(a, settings.prices.get(&a.model), cost_usd, cost_largest_usd);
    let route = a.route.as_ref();
    let served = lore_index::ServedBy {
        routed: route.is_some(),
        route: route.and_then(|r| r.name.clone()),
        out_of_scope: route.is_some_and(|r| r.name.is_none()),
        tier: a.tier.clone(),
        model: Some(a.model.clone()).filter(|m| !m.is_empty()),
        endpoint: a.endpoint.clone(),
        arm: a
            .experiment
            .as_ref()
            .map(|x| (x.experiment.clone(), x.arm.clone())),
        grounding: a.grounding.as_ref().map(|g| f64::from(g.score)),
        cost_usd,
        cost_largest_usd,
        embedding: route.and_then(|r| r.embedding.clone()),
    };
    state.log_query(
        principal,
        Served {
            kind: "answer",
            collection,
            query: question,
            latency_ms: a.timings_ms.total,
            cached: a.cached.is_some(),
            answered: !a.citations.is_empty(),
            tokens_in: a.usage.prompt_tokens as u64,
            tokens_out: a.usage.completion_tokens as u64,
            domain: a.context.first().and_then(|c| c.domain.clone()),
            answer_id: Some(id),
            served,
        },
    );
}

/// An answer as one value: from the caches at once when they have it, else computed on a
/// blocking thread once a generation slot is free.
pub(crate) async fn answer_json(
    state: &AppState,
    principal: &Principal,
    collection: String,
    mut req: AnswerRequest,
) -> Result<Answer, ApiError> {
    // Dropped with this future when the client disconnects or the request times out:
    // generation then stops at the next token instead of running to the end.
    let (cancel, _stop_when_gone) = lore_core::Cancel::on_drop();
    req.cancel = cancel;
    let question = req.question.clone();
    let mut answer = match state.0.try_now(|e| e.answer_cached(&req, &mut |_| {}))? {
        Some(answer) => answer,
        None => {
            let permit = state.0.generations.acquire().await?;
            blocking(state, move |inner| {
                let _slot = permit;
                inner.with_loaded(|e| e.answer_loaded(&req, &mut |_| {}))
            })
            .await?
        }
    };
    served_answer(state, principal, &question, &collection, &mut answer);
    Ok(answer)
}

/// What a streamed answer produces, in order.
pub(crate) enum Streamed {
    Retrieved(Vec<Citation>),
    Token(String),
    Notice(String),
    Done(Box<Answer>),
    Failed(ApiError),
}

/// Runs the answer on a blocking thread once a generation slot is free, sending its
/// events through a bounded channel (a slow client slows generation instead of growing a
/// buffer).
///
/// # Errors
/// 429 `too_many_generations` when the generation queue is full.
pub(crate) async fn answer_stream(
    state: &AppState,
    principal: Arc<Principal>,
    collection: String,
    mut req: AnswerRequest,
) -> Result<ReceiverStream<Streamed>, ApiError> {
    let cancel = lore_core::Cancel::on_drop().0;
    req.cancel = cancel.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Streamed>(256);
    let streamed = |ev: AnswerEvent<'_>| match ev {
        AnswerEvent::Retrieved(passages) => Streamed::Retrieved(passages.to_vec()),
        AnswerEvent::Token(t) => Streamed::Token(t.to_string()),
        AnswerEvent::Notice(n) => Streamed::Notice(n.to_string()),
    };
    // A cached answer's few events fit the channel: sent at once, no blocking thread.
    let mut events = Vec::new();
    match state
        .0
        .try_now(|e| e.answer_cached(&req, &mut |ev| events.push(streamed(ev))))
    {
        Ok(Some(mut answer)) => {
            served_answer(state, &principal, &req.question, &collection, &mut answer);
            for m in events
                .into_iter()
                .chain(std::iter::once(Streamed::Done(Box::new(answer))))
            {
                let _ = tx.try_send(m);
            }
            return Ok(ReceiverStream::new(rx));
        }
        Ok(None) => {}
        Err(e) => return Err(e),
    }
    let permit = state.0.generations.acquire().await?;
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = permit;
        let result = state.0.with_loaded(|e| {
            e.answer_loaded(&req, &mut |ev| {
                // A gone client (the stream was dropped): stop generating at the next
                // token; what was made is still timed and logged.
                if tx.blocking_send(streamed(ev)).is_err() {
                    cancel.cancel();
                }
            })
        });
        let last = match result {
            Ok(mut a) => {
                served_answer(&state, &principal, &req.question, &collection, &mut a);
                tracing::info!(
                    target: "lore::access",
                    cached = a.cached.is_some(),
                    tokens_in = a.usage.prompt_tokens,
                    tokens_out = a.usage.completion_tokens,
                    latency_ms = a.timings_ms.total,
                    "stream finished"
                );
                Streamed::Done(Box::new(a))
            }
            Err(e) => Streamed::Failed(e),
        };
        let _ = tx.blocking_send(last);
    });
    Ok(ReceiverStream::new(rx))
}

fn answer_events(events: ReceiverStream<Streamed>) -> impl Stream<Item = Event> {
    events.flat_map(|m| {
        let events: Vec<Event> = match m {
            Streamed::Retrieved(passages) => vec![event("retrieval", &RetrievalEvent { passages })],
            Streamed::Token(text) => vec![event("token", &TokenEvent { text })],
            Streamed::Notice(message) => {
                vec![event("notice", &serde_json::json!({ "message": message }))]
            }
            Streamed::Done(answer) => vec![
                event(
                    "citations",
                    &CitationsEvent {
                        citations: answer.citations.clone(),
                        invented_citations: answer.invented_citations.clone(),
                    },
                ),
                event("done", &answer),
            ],
            Streamed::Failed(e) => vec![event("error", &e.body())],
        };
        futures_util::stream::iter(events)
    })
}

fn event<T: Serialize>(name: &str, data: &T) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "{}".into()))
}

/// An SSE response with keep-alive comments (proxies drop idle connections).
pub(crate) fn sse<S>(events: S) -> Sse<impl Stream<Item = Result<Event, Infallible>>>
where
    S: Stream<Item = Event> + Send + 'static,
{
    Sse::new(events.map(Ok::<_, Infallible>)).keep_alive(KeepAlive::default())
}
