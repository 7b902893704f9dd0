//! Picking a model tier for an answer that names none: by the question's complexity
//! score or by the learned tier router (`[routing] tier_by`), between `[routing]
//! small_tier` and `large_tier`. A request's own `tier`, a route's pinned tier and an
//! experiment arm's tier come first.

use std::path::Path;
use std::sync::Arc;

use lore_route::{RouteError, RoutingConfig, TierBy, TierRouter};
use serde::{Deserialize, Serialize};

use crate::{AnswerRequest, Engine, EngineError};

/// How an answer's tier was picked (`tier_choice` of an answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TierChoice {
    /// `complexity` (the text's score), `llm` (the second stage's complexity: low 0,
    /// medium 0.5, high 1) or `learned`.
    pub by: String,
    /// The score (0-1): complexity, or the probability that only the large tier answers
    /// well.
    pub score: f32,
    /// At or above it, the large tier.
    pub threshold: f32,
    /// The tier picked.
    pub tier: String,
}

/// The learned tier router's file under the data dir (`lore routes train-tier`).
pub fn tier_router_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("routes").join("tier-router.json")
}

/// Checks `[routing] tier_by` against the tiers, and loads the learned router it needs.
pub(crate) fn open_tier_router(
    data_dir: &Path,
    routing: &RoutingConfig,
    tiers: &lore_llm::Tiers,
) -> Result<Option<Arc<TierRouter>>, EngineError> {
    if routing.tier_by == TierBy::None {
        return Ok(None);
    }
    for (key, tier) in [
        ("small_tier", &routing.small_tier),
        ("large_tier", &routing.large_tier),
    ] {
        match tier {
            Some(t) if tiers.contains_key(t) => {}
            Some(t) => {
                return Err(RouteError::Invalid(format!(
                    "[routing] {key} `{t}` is not configured ([llm.tiers.{t}])"
                ))
                .into())
            }
            None => {
                return Err(RouteError::Invalid(format!(
                    "[routing] tier_by needs {key} (a [llm.tiers] name)"
                ))
                .into())
            }
        }
    }
    if routing.tier_by == TierBy::Complexity {
        return Ok(None);
    }
    let path = tier_router_path(data_dir);
    let bytes = std::fs::read(&path).map_err(|e| {
        EngineError::Config(format!(
            "[routing] tier_by = \"learned\" reads {}: {e} (fit it with `lore routes train-tier FILE`)",
            path.display()
        ))
    })?;
    let router: TierRouter = serde_json::from_slice(&bytes)
        .map_err(|e| EngineError::Config(format!("tier router {}: {e}", path.display())))?;
    Ok(Some(Arc::new(router)))
}

impl Engine {
    /// Picks the tier of a request that has none (see the module docs) and says how; the
    /// learned router reads the query embedding retrieval uses (from the embedding cache).
    ///
    /// # Errors
    /// [`EngineError::Embed`].
    pub fn choose_tier(&self, req: &mut AnswerRequest) -> Result<Option<TierChoice>, EngineError> {
        let routing = &self.config.routing;
        if req.tier.is_some()
            || req.memory
            || req.route.as_ref().is_some_and(|r| r.refused)
            || routing.tier_by == TierBy::None
        {
            return Ok(None);
        }
        let (Some(small), Some(large)) = (&routing.small_tier, &routing.large_tier) else {
            return Ok(None);
        };
        let question = req
            .retrieval_query
            .clone()
            .unwrap_or_else(|| req.question.clone());
        // The second stage's complexity, when it was asked, outranks the text's.
        let llm =
            req.route
                .as_ref()
                .and_then(|r| r.llm.as_ref())
                .map(|c| match c.complexity.as_str() {
                    "high" => 1.0,
                    "medium" => 0.5,
                    _ => 0.0,
                });
        let (by, score, threshold) = match (&routing.tier_by, &self.tier_router) {
            (TierBy::Complexity, _) if llm.is_some() => {
                ("llm", llm.unwrap_or_default(), routing.complexity_threshold)
            }
            (TierBy::Learned, Some(router)) => {
                let embedding = self.embed_query(&question)?;
                (
                    "learned",
                    router.score(&question, &embedding),
                    router.threshold,
                )
            }
            _ => (
                "complexity",
                lore_route::complexity(&question).score,
                routing.complexity_threshold,
            ),
        };
        let tier = if score >= threshold { large } else { small };
        req.tier = Some(tier.clone());
        let choice = TierChoice {
            by: by.into(),
            score,
            threshold,
            tier: tier.clone(),
        };
        req.tier_choice = Some(choice.clone());
        Ok(Some(choice))
    }
}
