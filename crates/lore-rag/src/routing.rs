//! Routes in the engine: fitted at open from `[[routes]]` (or the last set the admin API
//! stored), replaced without a restart, every set kept as a numbered version under
//! `<data dir>/routes/` so each answer can name the version that routed it.
//!
//! Classification reads the query embedding retrieval uses, through the embedding cache:
//! the question is embedded once per request (and not at all when cached).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use lore_core::Filter;
use lore_route::{
    OutOfScope, RouteDecision, RouteError, RouteSet, RouteSpec, Router, RoutingConfig,
};
use serde::{Deserialize, Serialize};

use crate::{AnswerRequest, Engine, EngineError};

/// The route an answer took (`route` of an answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteInfo {
    /// The route; null when out of scope.
    pub name: Option<String>,
    /// Probability (0..1) of the best route.
    pub confidence: f32,
    /// The route set's version.
    pub version: u64,
    /// The question was out of scope (`below_threshold` or `out_of_scope_class`).
    pub out_of_scope: Option<String>,
    /// It was refused (out of scope with `refuse`, or a route with a refusal).
    pub refused: bool,
    /// The model tier: the one the route pins when refused, else the one that answered
    /// (the route's, or the request's, an arm's, the tier choice's or a fallback).
    pub tier: Option<String>,
    /// Collections the route sent it to (empty: the request's own).
    pub collections: Vec<String>,
    /// Filters the route added, `field=value` (its own, then those the question named).
    pub filters_added: Vec<String>,
    /// The part of `filters_added` the question named (the route's `self_query`).
    #[serde(default)]
    pub filters_from_question: Vec<String>,
    /// The prompt template the route chose (when the request named none).
    pub prompt: Option<String>,
    /// The model that answered (null when refused).
    #[serde(default)]
    pub model: Option<String>,
    /// The endpoint that answered, when a model tier did.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The experiment arm that served the answer, if any.
    #[serde(default)]
    pub arm: Option<String>,
    /// What decided: `embedding` (the classifier), `llm` (the second stage) or `chosen`
    /// (the request named the route).
    #[serde(default)]
    pub stage: String,
    /// The second stage's classification (intent, entities, complexity, risk), when asked.
    #[serde(default)]
    pub llm: Option<lore_route::LlmClassification>,
    /// Why the second stage was asked but the first stage decided (timeout, bad reply).
    #[serde(default)]
    pub second_stage_error: Option<String>,
    /// The query embedding it was classified on (for drift; never serialized).
    #[serde(skip)]
    #[schema(ignore)]
    pub embedding: Option<Arc<[f32]>>,
}

/// A stored version of the route set.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteVersion {
    /// 1, 2, ...
    pub version: u64,
    /// When it was stored, unix ms.
    pub created_ms: i64,
    /// `settings` (lore.toml) or `api` (`PUT /v1/admin/routes`).
    pub source: String,
    /// The routes, examples resolved.
    pub set: RouteSet,
}

/// The engine's route state.
pub(crate) struct RouteState {
    router: RwLock<Arc<Router>>,
    dir: PathBuf,
    /// Held while a new set is fitted and stored: two replacements get two versions.
    writing: std::sync::Mutex<()>,
}

impl RouteState {
    fn current(&self) -> Arc<Router> {
        self.router
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Engine {
    /// Fits the route set at open: the last stored version, unless `[[routes]]` changed
    /// since lore.toml's last stored set (then it is stored as the next version and used):
    /// the latest change wins, whether made in lore.toml or through the admin API.
    pub(crate) fn open_routes(
        data_dir: &Path,
        config: &crate::EngineConfig,
        embed: &mut lore_route::EmbedFn<'_>,
    ) -> Result<RouteState, EngineError> {
        let dir = data_dir.join("routes");
        let base = config
            .routes_base
            .clone()
            .unwrap_or_else(|| data_dir.to_path_buf());
        let from_settings = RouteSet::resolve(&config.routes, &config.routing, &base)?;
        check_tiers(&from_settings, &config.llm.tiers)?;
        check_tier_fallbacks(&config.llm.tiers)?;
        let all = versions(&dir)?;
        let last_from_settings = all.iter().rev().find(|v| v.source == "settings");
        let unchanged = match last_from_settings {
            Some(v) => v.set == from_settings,
            None => from_settings.routes.is_empty(),
        };
        let chosen = if unchanged {
            all.last().cloned()
        } else {
            Some(store_version(
                &dir,
                all.last().map_or(1, |v| v.version + 1),
                "settings",
                from_settings,
            )?)
        };
        let router = match chosen {
            Some(v) => fit(v.version, v.set, &config.routing, &base, embed)?,
            None => Router::empty(config.routing.clone()),
        };
        Ok(RouteState {
            router: RwLock::new(Arc::new(router)),
            dir,
            writing: std::sync::Mutex::new(()),
        })
    }

    /// The route set in use.
    pub fn router(&self) -> Arc<Router> {
        self.routes.current()
    }

    /// Classifies a question on its query embedding (from the embedding cache when
    /// there); `None` when no route is defined.
    ///
    /// # Errors
    /// [`EngineError::Embed`].
    pub fn classify_route(&self, question: &str) -> Result<Option<RouteDecision>, EngineError> {
        self.classify_route_with(&self.router(), question)
    }

    /// Replaces the route set (`PUT /v1/admin/routes`): checked, fitted, stored as the
    /// next version and swapped in; requests already routed keep their version. An empty
    /// list turns routing off (also stored, as a version with no routes).
    ///
    /// # Errors
    /// [`EngineError::Routes`]: an invalid set (an `examples_file`, which only lore.toml
    /// may name, included), or one that cannot be fitted; [`EngineError::Config`] when the
    /// version cannot be written.
    pub fn set_routes(&self, routes: Vec<RouteSpec>) -> Result<Arc<Router>, EngineError> {
        if let Some(r) = routes.iter().find(|r| r.examples_file.is_some()) {
            return Err(RouteError::Invalid(format!(
                "route `{}`: examples_file is read from lore.toml only; send the examples inline",
                r.name
            ))
            .into());
        }
        let _writing = self
            .routes
            .writing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let config = self.router().config().clone();
        let set = RouteSet::resolve(&routes, &config, &self.config.data_dir)?;
        check_tiers(&set, &self.config.llm.tiers)?;
        let base = self
            .config
            .routes_base
            .clone()
            .unwrap_or_else(|| self.config.data_dir.clone());
        let next = latest_version(&self.routes.dir)?.map_or(1, |v| v.version + 1);
        let router = fit(next, set.clone(), &config, &base, &mut |t| {
            self.embed_examples(t)
        })?;
        store_version(&self.routes.dir, next, "api", set)?;
        let router = Arc::new(router);
        *self
            .routes
            .router
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = router.clone();
        Ok(router)
    }

    /// Every stored version, oldest first (without examples: see [`Engine::router`]).
    ///
    /// # Errors
    /// [`EngineError::Config`] for an unreadable routes folder.
    pub fn route_versions(&self) -> Result<Vec<RouteVersion>, EngineError> {
        versions(&self.routes.dir)
    }

    /// Routes an answer request when it asks to be routed (`req.route`): classifies the
    /// question (the self-contained retrieval query for a follow-up), then sends it to the
    /// route's collections with its filters and prompt, or marks it refused. Returns the
    /// route taken and the refusal message, if refused; `None` when the request is not
    /// routed or no route is defined.
    ///
    /// # Errors
    /// [`EngineError::Embed`]; [`EngineError::Routes`] for a route filter that is not a
    /// lore filter (`domain`, `department`, `doc_type`, `tag`, `source`).
    pub fn apply_route(
        &self,
        req: &mut AnswerRequest,
    ) -> Result<Option<(RouteInfo, Option<String>)>, EngineError> {
        if !req.routed || req.memory {
            return Ok(None);
        }
        let router = self.router();
        let question = req
            .retrieval_query
            .clone()
            .unwrap_or_else(|| req.question.clone());
        if !router.is_active() {
            if let Some(name) = &req.route_name {
                return Err(EngineError::InvalidRequest(format!(
                    "route `{name}` does not exist: no routes are defined"
                )));
            }
            return Ok(None);
        }
        let embedding = self.embed_query(&question)?;
        let d = match &req.route_name {
            // A route chosen by the caller (a route tab in the UI): no classification.
            Some(name) => {
                if router.route(name).is_none() {
                    return Err(EngineError::InvalidRequest(format!(
                        "route `{name}` does not exist"
                    )));
                }
                RouteDecision {
                    route: Some(name.clone()),
                    confidence: 1.0,
                    out_of_scope_reason: None,
                    candidates: Vec::new(),
                    version: router.version(),
                }
            }
            None => match router.classify(&question, &embedding) {
                Some(d) => d,
                None => return Ok(None),
            },
        };
        let mut d = d;
        let mut stage = if req.route_name.is_some() {
            "chosen"
        } else {
            "embedding"
        };
        let mut llm = None;
        let mut second_stage_error = None;
        let second = &router.config().second_stage;
        if req.route_name.is_none()
            && second.enabled
            && (d.route.is_none() || d.confidence < second.below_confidence)
        {
            match self.second_stage(&router, &question) {
                Ok(c) => {
                    d.route = (c.intent != lore_route::second_stage::OUT_OF_SCOPE)
                        .then(|| c.intent.clone());
                    d.out_of_scope_reason = d.route.is_none().then(|| "llm".to_string());
                    stage = "llm";
                    llm = Some(c);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "route second stage failed; the first stage decides");
                    second_stage_error = Some(e);
                }
            }
        }
        let mut info = RouteInfo {
            name: d.route.clone(),
            confidence: d.confidence,
            version: d.version,
            out_of_scope: d.out_of_scope_reason.clone(),
            refused: false,
            tier: None,
            collections: Vec::new(),
            filters_added: Vec::new(),
            filters_from_question: Vec::new(),
            prompt: None,
            model: None,
            endpoint: None,
            arm: None,
            stage: stage.into(),
            llm,
            second_stage_error,
            embedding: Some(embedding.into()),
        };
        let spec = d.route.as_deref().and_then(|n| router.route(n));
        let refusal = match spec {
            None => match router.config().out_of_scope {
                OutOfScope::Refuse => Some(router.config().refusal_message.clone()),
                OutOfScope::Default => None,
            },
            Some(spec) => {
                info.tier.clone_from(&spec.tier);
                if req.tier.is_none() {
                    req.tier.clone_from(&spec.tier);
                }
                if spec.refusal.is_none() {
                    if let Some((first, rest)) = spec.collections.split_first() {
                        req.collection.clone_from(first);
                        req.more_collections = rest.to_vec();
                        info.collections.clone_from(&spec.collections);
                    }
                    for (field, value) in &spec.filters {
                        let text = format!("{field}={value}");
                        let f: Filter = text.parse().map_err(|e| {
                            RouteError::Invalid(format!(
                                "route `{}`: filter {text}: {e}",
                                spec.name
                            ))
                        })?;
                        if !req.filters.contains(&f) {
                            req.filters.push(f);
                            info.filters_added.push(text);
                        }
                    }
                    if !spec.self_query.is_empty() {
                        self.self_query(spec, &question, req, &mut info)?;
                    }
                    if req.prompt.is_none() {
                        req.prompt.clone_from(&spec.prompt);
                        info.prompt.clone_from(&spec.prompt);
                    }
                }
                spec.refusal.clone()
            }
        };
        info.refused = refusal.is_some();
        req.route = Some(info.clone());
        Ok(Some((info, refusal)))
    }

    /// Asks the LLM second stage to classify `question` (cached per route set version and
    /// normalized question), within `[routing.second_stage] timeout`.
    ///
    /// # Errors
    /// In words: no LLM to ask, the call failed or timed out, or its reply was not the JSON
    /// asked for.
    fn second_stage(
        &self,
        router: &Router,
        question: &str,
    ) -> Result<lore_route::LlmClassification, String> {
        use lore_route::second_stage;
        let config = &router.config().second_stage;
        let layer = &self.caches.classification;
        let key = layer
            .key()
            .num(router.version())
            .text(&lore_cache::normalize_text(question))
            .finish();
        if let Some(c) = layer.get(&key) {
            return Ok(c.as_ref().clone());
        }
        let generator = match &config.tier {
            Some(t) => self.tier(t),
            None => self.generator(self.config.llm.generator),
        }
        .map_err(|e| e.to_string())?;
        if generator.kind() == lore_llm::GeneratorKind::Extractive {
            return Err(
                "the second stage needs an LLM: set [routing.second_stage] tier or [llm] generator"
                    .into(),
            );
        }
        let (system, user) =
            second_stage::messages(router.routes(), config.examples_per_route, question);
        let (cancel, _stop) = lore_core::Cancel::on_drop();
        let request = lore_llm::GenerateRequest {
            messages: vec![
                lore_llm::ChatMessage::system(system),
                lore_llm::ChatMessage::user(user),
            ],
            question: question.to_owned(),
            passages: Vec::new(),
            max_tokens: 256,
            temperature: 0.0,
            stop: Vec::new(),
            cancel: cancel.clone(),
            json_schema: Some(second_stage::schema(router.routes())),
        };
        // On its own thread, so the timeout holds whatever the generator waits on; past
        // it the call is cancelled and its result dropped.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("lore-route-llm".into())
            .spawn(move || {
                let _ = tx.send(generator.generate(&request, &mut |_| {}));
            })
            .map_err(|e| format!("starting the second stage: {e}"))?;
        let text = match rx.recv_timeout(config.timeout) {
            Ok(Ok(g)) => g.text,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                cancel.cancel();
                return Err(format!("no reply within {} ms", config.timeout.as_millis()));
            }
        };
        let c = second_stage::parse(&text, router.routes())?;
        layer.insert(&key, c.clone(), Vec::new());
        Ok(c)
    }

    /// Adds the filters the question names on the route's `self_query` fields, from the
    /// values the request's (routed) collections hold.
    fn self_query(
        &self,
        spec: &RouteSpec,
        question: &str,
        req: &mut AnswerRequest,
        info: &mut RouteInfo,
    ) -> Result<(), EngineError> {
        let fields: Vec<lore_core::FilterField> = spec
            .self_query
            .iter()
            .filter_map(|f| f.parse().ok())
            .collect();
        let mut facets = Vec::new();
        for c in std::iter::once(&req.collection).chain(&req.more_collections) {
            // A collection that does not exist is the answer's 404, not routing's.
            if let Ok(f) = self.facets(c) {
                // Only domains the caller may read: a value outside its scope is neither
                // matched nor named back in `filters_from_question`.
                facets.extend(f.iter().map(|(field, values)| {
                    let kept = values
                        .iter()
                        .filter(|v| {
                            *field != lore_core::FilterField::Domain
                                || req.access.allows_domain(Some(v.as_str()))
                        })
                        .cloned()
                        .collect();
                    (*field, kept)
                }));
            }
        }
        let taken: Vec<lore_core::FilterField> = req.filters.iter().map(|f| f.field).collect();
        for f in crate::self_query::infer_filters(question, &fields, &facets, &taken) {
            let text = format!("{}={}", f.field, f.value);
            info.filters_added.push(text.clone());
            info.filters_from_question.push(text);
            req.filters.push(f);
        }
        Ok(())
    }

    fn classify_route_with(
        &self,
        router: &Router,
        question: &str,
    ) -> Result<Option<RouteDecision>, EngineError> {
        if !router.is_active() {
            return Ok(None);
        }
        let embedding = self.embed_query(question)?;
        Ok(router.classify(question, &embedding))
    }

    /// Embeds route examples as queries are embedded (normalized, cut at the model's
    /// limit), in batches.
    pub(crate) fn embed_examples(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        embed_normalized(self.embedder.as_ref(), texts)
    }
}

/// Every tier's `fallback` names another configured tier.
pub(crate) fn check_tier_fallbacks(tiers: &lore_llm::Tiers) -> Result<(), RouteError> {
    for (name, t) in tiers {
        if let Some(f) = &t.fallback {
            if f == name || !tiers.contains_key(f) {
                return Err(RouteError::Invalid(format!(
                    "[llm.tiers.{name}] fallback `{f}` must be another configured tier"
                )));
            }
        }
    }
    Ok(())
}

/// Every tier a route pins must be configured (`[llm.tiers.<name>]`).
fn check_tiers(set: &RouteSet, tiers: &lore_llm::Tiers) -> Result<(), RouteError> {
    for r in &set.routes {
        if let Some(t) = r.tier.as_deref().filter(|t| !tiers.contains_key(*t)) {
            return Err(RouteError::Invalid(format!(
                "route `{}`: model tier `{t}` is not configured ([llm.tiers.{t}])",
                r.name
            )));
        }
    }
    Ok(())
}

/// Embeds `texts` normalized like queries ([`lore_cache::normalize_text`]).
pub(crate) fn embed_normalized(
    embedder: &dyn lore_embed::Embedder,
    texts: &[&str],
) -> Result<Vec<Vec<f32>>, String> {
    let normalized: Vec<String> = texts
        .iter()
        .map(|t| lore_cache::normalize_text(t))
        .collect();
    let mut out = Vec::with_capacity(texts.len());
    for batch in normalized.chunks(256) {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        out.extend(lore_embed::embed_truncating(embedder, &refs).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Fits a set, reading `[routing] validation_file` when given.
fn fit(
    version: u64,
    set: RouteSet,
    config: &RoutingConfig,
    base: &Path,
    embed: &mut lore_route::EmbedFn<'_>,
) -> Result<Router, EngineError> {
    let validation = match &config.validation_file {
        Some(f) if !set.routes.is_empty() => Some(read_validation(&base.join(f), embed)?),
        _ => None,
    };
    Ok(Router::fit(
        version,
        set,
        config.clone(),
        embed,
        validation.as_ref(),
    )?)
}

fn read_validation(
    path: &Path,
    embed: &mut lore_route::EmbedFn<'_>,
) -> Result<lore_route::Validation, EngineError> {
    #[derive(Deserialize)]
    struct Row {
        #[serde(alias = "question")]
        text: String,
        #[serde(alias = "intent", alias = "label")]
        route: Option<String>,
    }
    let bad = |m: String| {
        EngineError::Routes(RouteError::Invalid(format!(
            "[routing] validation_file {}: {m}",
            path.display()
        )))
    };
    let lines = lore_route::routes::read_lines(path).map_err(bad)?;
    let mut rows = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let r: Row = serde_json::from_str(line).map_err(|e| bad(format!("row {}: {e}", i + 1)))?;
        let route = r
            .route
            .filter(|l| !matches!(l.as_str(), "oos" | "out_of_scope" | "none"));
        rows.push((r.text, route));
    }
    let texts: Vec<&str> = rows.iter().map(|(t, _)| t.as_str()).collect();
    let vectors = embed(&texts).map_err(|e| EngineError::Routes(RouteError::Embed(e)))?;
    Ok(rows
        .into_iter()
        .zip(vectors)
        .map(|((t, l), v)| (t, v, l))
        .collect())
}

fn version_path(dir: &Path, version: u64) -> PathBuf {
    dir.join(format!("{version:06}.json"))
}

fn io_error(dir: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Config(format!("routes folder {}: {e}", dir.display()))
}

fn versions(dir: &Path) -> Result<Vec<RouteVersion>, EngineError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| io_error(dir, e))?;
        let v: RouteVersion = serde_json::from_slice(&bytes).map_err(|e| io_error(&path, e))?;
        out.push(v);
    }
    out.sort_by_key(|v| v.version);
    Ok(out)
}

fn latest_version(dir: &Path) -> Result<Option<RouteVersion>, EngineError> {
    Ok(versions(dir)?.pop())
}

/// Writes a version atomically (temporary file, then rename).
fn store_version(
    dir: &Path,
    version: u64,
    source: &str,
    set: RouteSet,
) -> Result<RouteVersion, EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let v = RouteVersion {
        version,
        created_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        source: source.to_owned(),
        set,
    };
    let bytes = serde_json::to_vec_pretty(&v).map_err(|e| io_error(dir, e))?;
    let tmp = dir.join(format!(".{version:06}.json.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| io_error(dir, e))?;
    std::fs::rename(&tmp, version_path(dir, version)).map_err(|e| io_error(dir, e))?;
    Ok(v)
}
