//! Answering: retrieve → pack prompt → generate (streamed) → cite → ground.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use lore_core::{location_label, Filter, Hit, SearchMode};
use lore_embed::Embedder;
use lore_llm::{
    EmbeddedConfig, EmbeddedGenerator, ExtractiveGenerator, GenerateRequest, Generation, Generator,
    OpenAiGenerator, Usage,
};
use serde::{Deserialize, Serialize};

use crate::cache::{pieces, AnswerKeys, AnswerScope};
use crate::cite::resolve;
use crate::compress::compress;
use crate::grounding::{self, Grounding};
use crate::llm_config::GeneratorKind;
use crate::prompt::pack;
use crate::{CacheHit, Engine, EngineError, SearchRequest};

/// A question to answer.
#[derive(Debug, Clone)]
pub struct AnswerRequest {
    /// The question (1..=max_question_chars characters after trimming).
    pub question: String,
    /// Collection to retrieve from.
    pub collection: String,
    /// More collections to retrieve from besides `collection`: their hits are fused with
    /// its by reciprocal rank ([`crate::fuse_collections`], the search's fusion).
    pub more_collections: Vec<String>,
    /// Passages to retrieve (default from the config, 5).
    pub top_k: Option<usize>,
    /// Retrieval legs (default hybrid).
    pub mode: SearchMode,
    /// Metadata filters, applied inside retrieval.
    pub filters: Vec<Filter>,
    /// Generator (default from the config).
    pub generator: Option<GeneratorKind>,
    /// Prompt template `name` or `name@version` (default from the config).
    pub prompt: Option<String>,
    /// What the caller may read (default: everything); see [`SearchRequest::access`].
    pub access: lore_core::Access,
    /// Set when the caller has gone (client disconnected, request timed out): generation
    /// stops at the next token.
    pub cancel: lore_core::Cancel,
    /// Answer tokens at most (1..=[`MAX_ANSWER_TOKENS`]; default `[llm]
    /// max_answer_tokens`).
    pub max_tokens: Option<usize>,
    /// Sampling temperature, 0-2 (default `[llm] temperature`; 0: greedy).
    pub temperature: Option<f32>,
    /// More stop sequences (besides the prompt template's), at most 4 as in OpenAI's API.
    pub stop: Vec<String>,
    /// What retrieval searches for when it differs from the question: a follow-up made
    /// self-contained from the conversation ([`crate::followup::contextualize`]).
    pub retrieval_query: Option<String>,
    /// Answer from the meeting memory instead of `collection` (`lore ask --memory`): the
    /// passages are the episodic memories a cognitive query returns (direct hits, then
    /// activated ones), cited by meeting, speakers and turn range.
    pub memory: bool,
    /// Route the question ([`Engine::apply_route`]): its route's collections, filters and
    /// prompt replace the request's.
    pub routed: bool,
    /// The route taken, set by [`Engine::apply_route`] and copied into the answer.
    pub route: Option<crate::RouteInfo>,
    /// With `routed`: take this route instead of classifying (a route's own entry point,
    /// e.g. a tab in the web UI).
    pub route_name: Option<String>,
    /// Answer with this model tier (`[llm.tiers.<name>]`) instead of `generator`; a route
    /// may pin one.
    pub tier: Option<String>,
    /// The experiment arm the request was enrolled in ([`Engine::apply_experiment`]),
    /// copied into the answer.
    pub arm: Option<lore_route::ArmInfo>,
    /// How `tier` was picked when the request named none ([`Engine::choose_tier`]).
    pub tier_choice: Option<crate::TierChoice>,
}

/// Largest `max_tokens` an answer may ask for.
pub const MAX_ANSWER_TOKENS: usize = 8192;

/// Passages an answer may retrieve at most: a prompt holds a handful, and each one more
/// costs retrieval, packing and grounding time (`top_k` 1000 took 4.6 s per answer).
pub const MAX_ANSWER_TOP_K: usize = 50;

impl AnswerRequest {
    /// A hybrid-retrieval question with every other setting from the config.
    pub fn new(collection: impl Into<String>, question: impl Into<String>) -> Self {
        AnswerRequest {
            question: question.into(),
            collection: collection.into(),
            more_collections: Vec::new(),
            top_k: None,
            mode: SearchMode::Hybrid,
            filters: Vec::new(),
            generator: None,
            prompt: None,
            access: lore_core::Access::all(),
            cancel: lore_core::Cancel::never(),
            max_tokens: None,
            temperature: None,
            stop: Vec::new(),
            retrieval_query: None,
            memory: false,
            routed: false,
            route: None,
            route_name: None,
            tier: None,
            arm: None,
            tier_choice: None,
        }
    }
}

/// What the answer streams while it is written.
#[derive(Debug)]
pub enum AnswerEvent<'a> {
    /// Retrieval finished: the passages that go into the prompt, numbered as cited.
    Retrieved(&'a [Citation]),
    /// A piece of the answer text.
    Token(&'a str),
    /// Something the user should know (fallback used, context trimmed).
    Notice(&'a str),
}

/// A passage of the answer's context, cited or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Citation {
    /// Its `[n]` in the prompt.
    pub n: usize,
    /// Catalog id of the document.
    pub document_id: i64,
    /// Catalog id of the chunk.
    pub chunk_id: i64,
    /// File path as ingested.
    pub source: String,
    /// PDF page (1-based), if any.
    pub page: Option<u32>,
    /// Heading path (`Install > Build`), if any.
    pub heading: Option<String>,
    /// The document's domain, if any.
    #[serde(default)]
    pub domain: Option<String>,
    /// Retrieval score of the passage (RRF score in hybrid mode; higher is better).
    pub score: f32,
    /// The chunk's text, as given to the model.
    pub text: String,
}

impl Citation {
    /// The passage `[n]` made from a retrieval hit.
    pub fn new(n: usize, hit: &Hit) -> Self {
        Citation {
            n,
            document_id: hit.document_id,
            chunk_id: hit.chunk_id,
            source: hit.source.clone(),
            page: hit.page,
            heading: hit.heading.clone(),
            domain: hit.domain.clone(),
            score: hit.score,
            text: hit.text.clone(),
        }
    }

    /// `source (page 3)` or `source (Install > Build)`.
    pub fn label(&self) -> String {
        format!(
            "{}{}",
            self.source,
            location_label(self.page, self.heading.as_deref())
        )
    }
}

/// Stage timings of one answer, ms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnswerTimings {
    /// Query embedding and hybrid search.
    pub retrieve: f64,
    /// Context compression (embedded generator), template rendering and token counting.
    pub prompt: f64,
    /// From the start of the request to the first generated token.
    pub ttft: f64,
    /// The generator's call (including a fallback's).
    pub generate: f64,
    /// From the first generated token to the end of the generator's call: the decode phase
    /// whose speed is tokens per second.
    pub decode: f64,
    /// Citation parsing and mapping.
    pub cite: f64,
    /// The grounding check.
    pub grounding: f64,
    /// Whole request.
    pub total: f64,
}

impl AnswerTimings {
    /// lore's own time around the generator: everything but `generate` and `grounding`.
    pub fn overhead(&self) -> f64 {
        self.total - self.generate - self.grounding
    }
}

impl Answer {
    /// Tokens generated after the first one and the seconds they took, for tokens-per-second
    /// figures summed over many answers; `None` when fewer than two tokens were generated.
    pub fn decode_sample(&self) -> Option<(usize, f64)> {
        let tokens = self.usage.completion_tokens.checked_sub(1)?;
        (tokens > 0 && self.timings_ms.decode > 0.0).then(|| (tokens, self.timings_ms.decode / 1e3))
    }
}

/// An answer (the JSON of `lore ask --json`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// The answer text: invented markers removed, grounding action applied.
    pub answer: String,
    /// The passages the answer cites, by `n`.
    pub citations: Vec<Citation>,
    /// Every passage the model was given (when nothing is cited, these are the sources,
    /// marked as context rather than citations).
    pub context: Vec<Citation>,
    /// `embedded`, `openai` or `extractive` (the one that answered, after any fallback).
    pub generator: String,
    /// The model that answered.
    pub model: String,
    /// Prompt template `name@version` (absent for the extractive answerer).
    pub prompt: Option<String>,
    /// Prompt and completion tokens (0 for the extractive answerer).
    pub usage: Usage,
    /// Stage timings, ms.
    pub timings_ms: AnswerTimings,
    /// The grounding check (absent when disabled).
    pub grounding: Option<Grounding>,
    /// Marker numbers the model invented (removed from `answer`).
    pub invented_citations: Vec<usize>,
    /// Fallback used, context trimmed, and the like.
    pub notices: Vec<String>,
    /// `exact` or `semantic` when the answer came from the cache (its `usage` is then 0:
    /// nothing was generated, and `timings_ms` are this request's); null when generated.
    pub cached: Option<CacheHit>,
    /// The answer cache key it is stored under (for `DELETE /v1/cache/keys/{key}`); null
    /// when it was not cached (a fallback answer, no passages, caching off).
    pub cache_key: Option<String>,
    /// The route that chose the collections, filters and prompt (routed requests only).
    #[serde(default)]
    pub route: Option<crate::RouteInfo>,
    /// The endpoint that answered, when a model tier chose among several.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The model tier that answered (`[llm.tiers.<name>]`), if one did.
    #[serde(default)]
    pub tier: Option<String>,
    /// The experiment arm that served it, if the request was enrolled in one.
    #[serde(default)]
    pub experiment: Option<lore_route::ArmInfo>,
    /// How the tier was picked, when the request named none (`[routing] tier_by`).
    #[serde(default)]
    pub tier_choice: Option<crate::TierChoice>,
    /// The server's id of this answer, for `POST /v1/answers/{id}/feedback` (null outside
    /// a server).
    #[serde(default)]
    pub id: Option<String>,
}

impl Answer {
    /// The answer to a question its route refuses (out of scope, or a route with a
    /// refusal): the message, nothing retrieved or generated, generator `route`.
    pub fn refused(message: String, route: crate::RouteInfo, total_ms: f64) -> Self {
        Answer {
            answer: message,
            citations: Vec::new(),
            context: Vec::new(),
            generator: "route".into(),
            model: String::new(),
            prompt: None,
            usage: Usage::default(),
            timings_ms: AnswerTimings {
                total: total_ms,
                ttft: total_ms,
                ..AnswerTimings::default()
            },
            grounding: None,
            invented_citations: Vec::new(),
            notices: vec![match &route.name {
                Some(n) => format!("route `{n}` does not answer this kind of question"),
                None => "out of scope: no route matches this question".to_string(),
            }],
            cached: None,
            cache_key: None,
            route: Some(route),
            endpoint: None,
            tier: None,
            experiment: None,
            tier_choice: None,
            id: None,
        }
    }
}

impl Engine {
    /// The generator of `kind`, loaded on first use.
    ///
    /// # Errors
    /// [`EngineError::Llm`]: a missing GGUF file, bad endpoint configuration.
    pub fn generator(&self, kind: GeneratorKind) -> Result<Arc<dyn Generator>, EngineError> {
        // Held while loading, so two first requests do not load a GGUF model twice.
        let mut generators = self
            .generators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(g) = generators.get(&kind) {
            return Ok(g.clone());
        }
        let llm = &self.config.llm;
        let g: Arc<dyn Generator> = match kind {
            GeneratorKind::Embedded => {
                let mut config = EmbeddedConfig::new(llm.embedded_model_path(&self.models_dir));
                config.context_window = llm.embedded_context;
                if let Some(t) = llm.embedded_threads {
                    config.threads = t.max(1);
                }
                Arc::new(EmbeddedGenerator::load(config)?)
            }
            GeneratorKind::OpenAi => Arc::new(OpenAiGenerator::new(
                llm.openai.clone(),
                llm.fallback.clone(),
            )?),
            GeneratorKind::Extractive => {
                let embedder: Arc<dyn Embedder> = self.embedder.clone();
                Arc::new(ExtractiveGenerator::new(embedder))
            }
        };
        generators.insert(kind, g.clone());
        Ok(g)
    }

    /// Probes the default generator for a health check (loading it if needed): what was
    /// checked, or why it fails.
    ///
    /// # Errors
    /// The failure as text.
    pub fn probe_generator(&self) -> Result<String, String> {
        let g = self
            .generator(self.config.llm.generator)
            .map_err(|e| e.to_string())?;
        g.probe().map_err(|e| e.to_string())
    }

    /// Answers a question from a collection, streaming events to `on_event`.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`]: empty or over-long question, unknown prompt;
    /// [`EngineError::Index`]: unknown collection; [`EngineError::Llm`]: the generator failed
    /// and the extractive fallback is off (or failed too).
    pub fn answer(
        &mut self,
        req: &AnswerRequest,
        on_event: &mut dyn FnMut(AnswerEvent<'_>),
    ) -> Result<Answer, EngineError> {
        if !req.memory {
            for c in std::iter::once(&req.collection).chain(&req.more_collections) {
                self.load(c)?;
            }
        }
        self.answer_loaded(req, on_event)
    }

    /// [`Engine::answer`] for a collection already [`Engine::load`]ed; concurrent callers
    /// share the engine (generation itself is serialized by each generator as it needs).
    ///
    /// # Errors
    /// As [`Engine::answer`].
    pub fn answer_loaded(
        &self,
        req: &AnswerRequest,
        on_event: &mut dyn FnMut(AnswerEvent<'_>),
    ) -> Result<Answer, EngineError> {
        let mut answer = self.answer_masked(req, on_event)?;
        stamp(req, &mut answer);
        Ok(answer)
    }

    fn answer_masked(
        &self,
        req: &AnswerRequest,
        on_event: &mut dyn FnMut(AnswerEvent<'_>),
    ) -> Result<Answer, EngineError> {
        if !self.guard.config.mask_answers {
            return self.answer_computed(req, on_event);
        }
        // Passages are masked at retrieval (`Engine::shown`), so the model never sees the
        // PII; the streamed text is masked again on the way out, a sentence at a time
        // (the answer's final text is masked where it is made: `Engine::shown_text`).
        let masker = &self.guard.masker;
        let mut held = crate::guard::StreamMasker::default();
        let answer = self.answer_computed(req, &mut |ev| match ev {
            AnswerEvent::Token(t) => {
                if let Some(ready) = held.push(masker, t) {
                    on_event(AnswerEvent::Token(&ready));
                }
            }
            other => on_event(other),
        })?;
        if let Some(rest) = held.finish(masker) {
            on_event(AnswerEvent::Token(&rest));
        }
        Ok(answer)
    }

    /// An answer's final text as the client gets it (and the cache keeps it): PII-masked
    /// when `[guard] mask_answers` is on.
    fn shown_text(&self, text: String) -> String {
        if !self.guard.config.mask_answers {
            return text;
        }
        match self.guard.masker.mask(&text) {
            Cow::Owned(t) => t,
            Cow::Borrowed(_) => text,
        }
    }

    /// [`Engine::answer_loaded`] before answer masking.
    fn answer_computed(
        &self,
        req: &AnswerRequest,
        on_event: &mut dyn FnMut(AnswerEvent<'_>),
    ) -> Result<Answer, EngineError> {
        let started = Instant::now();
        let setup = self.setup(req)?;
        let generator = match &req.tier {
            Some(t) => self.tier(t)?,
            None => self.requested_generator(req, setup.kind)?,
        };
        let mut timings = AnswerTimings::default();
        let hits = self.retrieve(req, &setup.search)?;
        timings.retrieve = ms(started);

        // The keys need the retrieved context: a cached answer is only ever reused for the
        // passages it was written from.
        let keys = self.answer_keys(&setup, generator.as_ref(), &hits);
        // What retrieval searched for: the question, or a follow-up made self-contained;
        // the extractive answerer quotes the sentences closest to it.
        let searched = setup.search.query.clone();
        let Setup {
            question,
            llm,
            template,
            kind,
            ..
        } = setup;
        let question: &str = &question;
        if let Some(keys) = &keys {
            if let Some(found) = self.cached_answer(keys, question, true)? {
                return Ok(replay(found, &hits, started, timings.retrieve, on_event));
            }
        }

        let t = Instant::now();
        let hits = if kind == GeneratorKind::Embedded && llm.embedded_passage_tokens > 0 {
            compress(
                self.embedder.as_ref(),
                generator.as_ref(),
                question,
                &hits,
                llm.embedded_passage_tokens,
            )?
        } else {
            hits
        };
        let packed = pack(
            &template,
            generator.as_ref(),
            question,
            &hits,
            llm.max_answer_tokens,
        )?;
        timings.prompt = ms(t);
        let mut notices = Vec::new();
        if packed.dropped > 0 {
            notices.push(format!(
                "{} of {} retrieved passages did not fit the model's {}-token context window and were left out",
                packed.dropped,
                hits.len(),
                generator.context_window()
            ));
        }
        let context: Vec<Citation> = packed
            .hits
            .iter()
            .enumerate()
            .map(|(i, h)| Citation::new(i + 1, h))
            .collect();
        on_event(AnswerEvent::Retrieved(&context));
        for n in &notices {
            on_event(AnswerEvent::Notice(n));
        }
        if packed.hits.is_empty() {
            // Nothing to ground an answer in: a model would answer from memory.
            let text = format!(
                "I don't know: no passage in {} matches the question{}.",
                if req.memory {
                    "the meeting memory".to_string()
                } else {
                    format!("collection `{}`", req.collection)
                },
                if req.filters.is_empty() {
                    ""
                } else {
                    " and its filters"
                }
            );
            on_event(AnswerEvent::Token(&text));
            timings.total = ms(started);
            timings.ttft = timings.total;
            return Ok(Answer {
                answer: self.shown_text(text),
                citations: Vec::new(),
                context: Vec::new(),
                generator: generator.kind().to_string(),
                model: generator.model(),
                prompt: None,
                usage: Usage::default(),
                timings_ms: timings,
                grounding: None,
                invented_citations: Vec::new(),
                notices,
                cached: None,
                cache_key: None,
                route: None,
                endpoint: None,
                tier: None,
                experiment: None,
                tier_choice: None,
                id: None,
            });
        }

        let request = GenerateRequest {
            messages: packed.messages.clone(),
            question: searched,
            passages: packed.passages.clone(),
            max_tokens: llm.max_answer_tokens,
            temperature: llm.temperature,
            stop: template.stop.clone(),
            cancel: req.cancel.clone(),
            json_schema: None,
        };
        let TierGeneration {
            generation: generated,
            tier: answered_tier,
        } = self.generate_stage(
            Stage {
                generator: generator.as_ref(),
                kind,
                tier: req.tier.as_deref(),
                llm: &llm,
                request: &request,
                started,
            },
            &mut timings,
            &mut notices,
            on_event,
        )?;
        let finished =
            self.finish_stage(&generated.text, &packed.hits, &context, &llm, &mut timings)?;
        timings.total = ms(started);
        let mut answer = Answer {
            answer: self.shown_text(finished.text),
            citations: finished.citations,
            context,
            generator: generated.generator.to_string(),
            model: generated.model,
            prompt: (generated.generator != GeneratorKind::Extractive).then(|| template.id()),
            usage: generated.usage,
            timings_ms: timings,
            grounding: finished.grounding,
            invented_citations: finished.invented,
            notices,
            cached: None,
            cache_key: None,
            route: None,
            endpoint: generated.endpoint.clone(),
            tier: answered_tier.clone(),
            experiment: None,
            tier_choice: None,
            id: None,
        };
        // A fallback's answer is not what the requested generator would write: not cached,
        // so the next request tries the generator again.
        let fell_back =
            generated.generator != kind || answered_tier.as_deref() != req.tier.as_deref();
        if let Some(keys) = keys.filter(|_| !fell_back) {
            self.store_answer(&keys, question, &mut answer);
        }
        Ok(answer)
    }

    /// The generate stage: the requested generator; when it is unreachable, the model
    /// tier's `fallback` tier (a tier answer), then the extractive answerer with `[llm]
    /// extractive_fallback`, each step a notice. Fills the `generate`, `ttft` and `decode`
    /// timings.
    ///
    /// # Errors
    /// [`EngineError::Llm`] when generation fails without a fallback.
    fn generate_stage(
        &self,
        stage: Stage<'_>,
        timings: &mut AnswerTimings,
        notices: &mut Vec<String>,
        on_event: &mut dyn FnMut(AnswerEvent<'_>),
    ) -> Result<TierGeneration, EngineError> {
        let Stage {
            generator,
            kind,
            tier,
            llm,
            request,
            started,
        } = stage;
        let gen_start = Instant::now();
        // Time to first token as the caller sees it, whichever generator produced it.
        let first_token: Cell<Option<Instant>> = Cell::new(None);
        let mark = || {
            if first_token.get().is_none() {
                first_token.set(Some(Instant::now()));
            }
        };
        let mut answered_by = tier.map(str::to_owned);
        let mut first = generator.generate(request, &mut |piece| {
            mark();
            on_event(AnswerEvent::Token(piece));
        });
        // A tier whose every endpoint failed hands over to its fallback tier.
        let fallback_tier = tier
            .and_then(|t| self.config.llm.tiers.get(t))
            .and_then(|c| c.fallback.clone());
        if let (Err(e), Some(next), Some(from)) = (&first, &fallback_tier, tier) {
            if e.is_unavailable() {
                let notice =
                    format!("model tier `{from}` failed ({e}); answering with tier `{next}`");
                tracing::warn!("{notice}");
                on_event(AnswerEvent::Notice(&notice));
                notices.push(notice);
                let other = self.tier(next)?;
                first = other.generate(request, &mut |piece| {
                    mark();
                    on_event(AnswerEvent::Token(piece));
                });
                answered_by = Some(next.clone());
            }
        }
        let generation = match first {
            Ok(g) => g,
            Err(e)
                if e.is_unavailable()
                    && llm.extractive_fallback
                    && kind != GeneratorKind::Extractive =>
            {
                answered_by = None;
                let notice = format!(
                    "the {kind} generator failed ({e}); answering extractively from the passages"
                );
                tracing::warn!("{notice}");
                on_event(AnswerEvent::Notice(&notice));
                notices.push(notice);
                let extractive = self.generator(GeneratorKind::Extractive)?;
                extractive.generate(request, &mut |piece| {
                    mark();
                    on_event(AnswerEvent::Token(piece));
                })?
            }
            Err(e) => return Err(e.into()),
        };
        let gen_end = Instant::now();
        timings.generate = gen_end.duration_since(gen_start).as_secs_f64() * 1e3;
        let first = first_token.get().unwrap_or(gen_end);
        timings.ttft = first.duration_since(started).as_secs_f64() * 1e3;
        timings.decode = gen_end.duration_since(first).as_secs_f64() * 1e3;
        if let Some(n) = &generation.notice {
            on_event(AnswerEvent::Notice(n));
            notices.push(n.clone());
        }
        Ok(TierGeneration {
            tier: answered_by.filter(|_| generation.generator == GeneratorKind::OpenAi),
            generation,
        })
    }

    /// The finish stage: `[n]` markers resolved against the passages given, then the
    /// grounding check and its action; fills the `cite` and `grounding` timings.
    ///
    /// # Errors
    /// [`EngineError::Embed`] from the grounding check.
    fn finish_stage(
        &self,
        text: &str,
        passages: &[Hit],
        context: &[Citation],
        llm: &crate::LlmConfig,
        timings: &mut AnswerTimings,
    ) -> Result<Finished, EngineError> {
        let t = Instant::now();
        let cited = resolve(text, passages.len());
        let citations: Vec<Citation> = cited.cited.iter().map(|n| context[n - 1].clone()).collect();
        timings.cite = ms(t);

        let t = Instant::now();
        let (text, grounding) = if llm.grounding.enabled {
            let texts: Vec<&str> = passages.iter().map(|h| h.text.as_str()).collect();
            let g = grounding::check(self.embedder.as_ref(), &cited.text, &texts, &llm.grounding)?;
            (g.apply(&cited.text, llm.grounding.action), Some(g))
        } else {
            (cited.text.clone(), None)
        };
        timings.grounding = ms(t);
        Ok(Finished {
            text,
            citations,
            grounding,
            invented: cited.invented,
        })
    }

    /// [`Engine::answer_loaded`] from the caches only: the exact cached answer for this
    /// question and its cached retrieval, or `Ok(None)` when anything would have to be
    /// computed (then `answer_loaded` does, and counts the misses). Tens of microseconds
    /// and no index needed: a server answers cache hits without a blocking thread.
    ///
    /// # Errors
    /// As [`Engine::answer`] (validation, unknown collection or prompt).
    pub fn answer_cached(
        &self,
        req: &AnswerRequest,
        on_event: &mut dyn FnMut(AnswerEvent<'_>),
    ) -> Result<Option<Answer>, EngineError> {
        let started = Instant::now();
        let s = self.setup(req)?;
        // Never load a model here (seconds, and the caller may be an async thread).
        // Never built here: a tier's HTTP clients may not be made on an async thread.
        let loaded = match &req.tier {
            Some(t) => self.loaded_tier(t),
            None => self.loaded_generator(s.kind),
        };
        let Some(generator) = loaded else {
            return Ok(None);
        };
        // Several collections, or the memory, are not probed here: their answer is computed.
        if !req.more_collections.is_empty() || req.memory {
            return Ok(None);
        }
        let Some(resp) = self.search_cached(&s.search)? else {
            return Ok(None);
        };
        let retrieve = ms(started);
        let Some(keys) = self.answer_keys(&s, generator.as_ref(), &resp.hits) else {
            return Ok(None);
        };
        Ok(self.cached_answer(&keys, &s.question, false)?.map(|found| {
            let mut a = replay(found, &resp.hits, started, retrieve, on_event);
            stamp(req, &mut a);
            a
        }))
    }

    /// Validates the request and resolves its settings (the generator is resolved apart:
    /// loaded on demand by [`Engine::answer_loaded`], only if already loaded by
    /// [`Engine::answer_cached`]).
    fn setup<'r>(&self, req: &'r AnswerRequest) -> Result<Setup<'r>, EngineError> {
        let mut llm = self.config.llm.clone();
        // Per-request generation settings go into `llm`, and so into the cache key.
        if let Some(n) = req.max_tokens {
            if n == 0 || n > MAX_ANSWER_TOKENS {
                return Err(EngineError::InvalidRequest(format!(
                    "max_tokens must be between 1 and {MAX_ANSWER_TOKENS}, got {n}"
                )));
            }
            llm.max_answer_tokens = n;
        }
        if let Some(t) = req.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err(EngineError::InvalidRequest(format!(
                    "temperature must be between 0 and 2, got {t}"
                )));
            }
            llm.temperature = t;
        }
        if req.stop.len() > 4 || req.stop.iter().any(|s| s.is_empty() || s.len() > 64) {
            return Err(EngineError::InvalidRequest(
                "stop takes at most 4 sequences of 1-64 bytes".into(),
            ));
        }
        let question = req.question.trim();
        if question.is_empty() {
            return Err(EngineError::InvalidRequest("question is empty".into()));
        }
        let chars = question.chars().count();
        if chars > llm.max_question_chars {
            return Err(EngineError::InvalidRequest(format!(
                "question is {chars} characters, over the limit of {} (max_question_chars)",
                llm.max_question_chars
            )));
        }
        let mut template = self
            .prompts
            .get(req.prompt.as_deref().unwrap_or(&llm.prompt))?
            .clone();
        template.stop.extend(req.stop.iter().cloned());
        for collection in std::iter::once(&req.collection).chain(&req.more_collections) {
            if let Some(topic) = self.guard.topics.blocked(collection, question) {
                return Err(EngineError::TopicBlocked {
                    topic,
                    collection: collection.clone(),
                });
            }
        }
        // Masked before anything sees it: caches, retrieval, the prompt, logs.
        let question = if self.guard.config.mask_questions {
            self.guard.masker.mask(question)
        } else {
            Cow::Borrowed(question)
        };
        let top_k = req.top_k.unwrap_or(llm.top_k);
        if top_k == 0 || top_k > MAX_ANSWER_TOP_K {
            return Err(EngineError::InvalidRequest(format!(
                "top_k for an answer must be between 1 and {MAX_ANSWER_TOP_K}, got {top_k}"
            )));
        }
        let query = match &req.retrieval_query {
            Some(q) if self.guard.config.mask_questions => self.guard.masker.mask(q).into_owned(),
            Some(q) => q.clone(),
            None => question.to_string(),
        };
        let mut search = SearchRequest::new(req.collection.clone(), query);
        search.top_k = top_k;
        search.mode = req.mode;
        search.filters = req.filters.clone();
        search.access = req.access.clone();
        let scope = std::iter::once(req.collection.as_str())
            .chain(req.more_collections.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Setup {
            question,
            // A tier is a set of OpenAI-compatible endpoints.
            kind: if req.tier.is_some() {
                GeneratorKind::OpenAi
            } else {
                req.generator.unwrap_or(llm.generator)
            },
            llm,
            template,
            search,
            scope,
        })
    }

    /// The retrieval stage: the request's collection, or its collections fused.
    ///
    /// # Errors
    /// As [`Engine::search_loaded`].
    fn retrieve(
        &self,
        req: &AnswerRequest,
        search: &SearchRequest,
    ) -> Result<Vec<Hit>, EngineError> {
        if req.memory {
            return self.memory_hits(&search.query, search.top_k, &req.access);
        }
        if req.more_collections.is_empty() {
            return Ok(self.search_loaded(search)?.hits);
        }
        let all: Vec<String> = std::iter::once(req.collection.clone())
            .chain(req.more_collections.iter().cloned())
            .collect();
        Ok(self
            .search_collections_loaded(&all, search)?
            .hits
            .into_iter()
            .map(|h| h.hit)
            .collect())
    }

    /// The generator of `kind`, loaded if needed.
    ///
    /// # Errors
    /// A generator the request names but this server cannot provide is the request's
    /// problem ([`EngineError::InvalidRequest`]); the default one failing is the server's.
    fn requested_generator(
        &self,
        req: &AnswerRequest,
        kind: GeneratorKind,
    ) -> Result<Arc<dyn Generator>, EngineError> {
        match self.generator(kind) {
            Err(EngineError::Llm(
                e @ (lore_llm::LlmError::Config(_) | lore_llm::LlmError::MissingModel { .. }),
            )) if req.generator.is_some() => Err(EngineError::InvalidRequest(format!(
                "generator `{kind}` is not available on this server: {e}"
            ))),
            other => other,
        }
    }

    /// The model tier `name` (`[llm.tiers.<name>]`), built on first use.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] for a tier not configured; [`EngineError::Llm`] for
    /// a tier whose endpoints are misconfigured.
    pub fn tier(&self, name: &str) -> Result<Arc<dyn Generator>, EngineError> {
        let mut tiers = self
            .tiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = tiers.get(name) {
            return Ok(t.clone());
        }
        let Some(config) = self.config.llm.tiers.get(name) else {
            return Err(EngineError::InvalidRequest(format!(
                "model tier `{name}` is not configured ([llm.tiers.{name}])"
            )));
        };
        let pool = Arc::new(lore_llm::TierPool::new(
            name,
            config,
            &self.config.llm.openai,
        )?);
        tiers.insert(name.to_owned(), pool.clone());
        Ok(pool)
    }

    /// The tier `name` if it is built and no other thread holds the registry.
    fn loaded_tier(&self, name: &str) -> Option<Arc<dyn Generator>> {
        let pool = self.tiers.try_lock().ok()?.get(name).cloned()?;
        Some(pool)
    }

    /// Per-endpoint figures of the tiers in use (built so far).
    pub fn tier_stats(&self) -> Vec<(String, Vec<lore_llm::EndpointStats>)> {
        let tiers = self
            .tiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<_> = tiers.iter().map(|(n, p)| (n.clone(), p.stats())).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The generator of `kind` if it is loaded and no other thread holds the registry.
    fn loaded_generator(&self, kind: GeneratorKind) -> Option<Arc<dyn Generator>> {
        self.generators.try_lock().ok()?.get(&kind).cloned()
    }

    /// The cache keys of an answer from `hits` (none when caching is off or nothing was
    /// retrieved: a no-passage answer is cheap and names the request's filters).
    fn answer_keys(
        &self,
        s: &Setup<'_>,
        generator: &dyn Generator,
        hits: &[Hit],
    ) -> Option<AnswerKeys> {
        (self.caches.enabled() && !hits.is_empty()).then(|| {
            let model = generator.model();
            let scope = AnswerScope {
                access: s.search.access.fingerprint(),
                masked: self.guard.config.mask_answers,
                collection: &s.scope,
                template: &s.template,
                kind: s.kind,
                model: &model,
                llm: &s.llm,
            };
            self.caches.answer_keys(&scope, &s.question, hits)
        })
    }

    /// The cached answer for `keys`: the exact entry, else (with `semantic`) a similar
    /// question's answer from the same passages. Without `semantic`, a miss is not counted
    /// (the caller's full path looks again and counts it).
    fn cached_answer(
        &self,
        keys: &AnswerKeys,
        question: &str,
        semantic: bool,
    ) -> Result<Option<Found>, EngineError> {
        let caches = &self.caches;
        if let Some(answer) = caches.answer.lookup(&keys.exact) {
            caches.answer.record(true);
            return Ok(Some(Found {
                answer,
                hit: CacheHit::Exact,
                key: keys.exact.to_string(),
                notice: None,
            }));
        }
        if !semantic {
            return Ok(None);
        }
        caches.answer.record(false);
        if !caches.semantic.enabled() {
            return Ok(None);
        }
        let Some(candidates) = caches.semantic.candidates(&keys.context) else {
            caches.semantic.record_outcome(false);
            return Ok(None);
        };
        let embedding = self.embed_query(question)?;
        let found = match caches.semantic.choose(question, &embedding, &candidates) {
            Ok(reuse) => caches.answer.lookup(&reuse.answer_key).map(|answer| Found {
                answer,
                hit: CacheHit::Semantic,
                key: reuse.answer_key.to_string(),
                notice: Some(format!(
                    "answer reused from the cached answer to \"{}\" (same passages, question similarity {:.3})",
                    reuse.question, reuse.similarity
                )),
            }),
            Err(miss) => {
                tracing::debug!(question, ?miss, "semantic cache: no reuse");
                None
            }
        };
        caches.semantic.record_outcome(found.is_some());
        Ok(found)
    }

    /// Caches a generated answer (exact layer) and its question (semantic layer). Caching
    /// never fails the answer: an embedding error only skips the semantic entry.
    fn store_answer(&self, keys: &AnswerKeys, question: &str, answer: &mut Answer) {
        answer.cache_key = Some(keys.exact.to_string());
        self.caches
            .answer
            .insert(&keys.exact, answer.clone(), keys.tags.clone());
        if self.caches.semantic.enabled() {
            match self.embed_query(question) {
                Ok(embedding) => self.caches.remember_question(keys, question, embedding),
                Err(e) => tracing::warn!(error = %e, "semantic cache: question not remembered"),
            }
        }
    }
}

/// A validated answer request with its settings resolved.
struct Setup<'r> {
    /// Trimmed, PII-masked when configured.
    question: Cow<'r, str>,
    llm: crate::LlmConfig,
    template: crate::PromptTemplate,
    kind: GeneratorKind,
    search: SearchRequest,
    /// The collections answered from, comma-joined (the answer cache's scope).
    scope: String,
}

/// What the finish stage hands back: the answer text after citations and grounding.
struct Finished {
    text: String,
    citations: Vec<Citation>,
    grounding: Option<Grounding>,
    invented: Vec<usize>,
}

/// A cached answer found for a question.
struct Found {
    answer: Arc<Answer>,
    hit: CacheHit,
    key: String,
    notice: Option<String>,
}

/// What the generate stage is given.
struct Stage<'a> {
    generator: &'a dyn Generator,
    kind: GeneratorKind,
    /// The model tier `generator` is, if one.
    tier: Option<&'a str>,
    llm: &'a crate::LlmConfig,
    request: &'a GenerateRequest,
    started: Instant,
}

/// A generation and the model tier that wrote it (null: no tier, or the extractive
/// fallback).
struct TierGeneration {
    generation: Generation,
    tier: Option<String>,
}

/// Serves a cached answer as a generated one is served: the passages, notices, then the
/// text in a few pieces. Citation scores are this retrieval's; usage is zero (nothing was
/// generated); timings are this request's.
fn replay(
    found: Found,
    hits: &[Hit],
    started: Instant,
    retrieve_ms: f64,
    on_event: &mut dyn FnMut(AnswerEvent<'_>),
) -> Answer {
    let mut a = found.answer.as_ref().clone();
    for c in a.context.iter_mut().chain(a.citations.iter_mut()) {
        if let Some(h) = hits.iter().find(|h| h.chunk_id == c.chunk_id) {
            c.score = h.score;
        }
    }
    a.notices.extend(found.notice);
    on_event(AnswerEvent::Retrieved(&a.context));
    for n in &a.notices {
        on_event(AnswerEvent::Notice(n));
    }
    let ttft = ms(started);
    for piece in pieces(&a.answer, 4) {
        on_event(AnswerEvent::Token(piece));
    }
    a.usage = Usage::default();
    a.timings_ms = AnswerTimings {
        retrieve: retrieve_ms,
        ttft,
        total: ms(started),
        ..AnswerTimings::default()
    };
    a.cached = Some(found.hit);
    a.cache_key = Some(found.key);
    a
}

/// What the request chose that the answer reports: its route (with the model, tier,
/// endpoint and arm that served it) and experiment arm. A cached answer gets this
/// request's route and arm, and keeps the tier that wrote it.
fn stamp(req: &AnswerRequest, a: &mut Answer) {
    a.experiment.clone_from(&req.arm);
    a.tier_choice.clone_from(&req.tier_choice);
    a.route.clone_from(&req.route);
    if let Some(r) = a.route.as_mut() {
        r.model = Some(a.model.clone()).filter(|m| !m.is_empty());
        r.endpoint.clone_from(&a.endpoint);
        r.arm = req.arm.as_ref().map(|x| x.arm.clone());
        r.tier.clone_from(&a.tier);
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}
