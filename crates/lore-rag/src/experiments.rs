//! Experiments in the engine: enrolling an answer request in an A/B/n test
//! (`[[experiments]]`) and applying its arm's prompt and model tier.

use lore_route::{check_experiments, ArmInfo, ExperimentSpec, RouteError};

use crate::{AnswerRequest, Engine, EngineError};

/// What the caller chose itself: an arm never overrides it (the request is then not
/// enrolled, so the arm's figures are its own).
#[derive(Debug, Clone, Copy, Default)]
pub struct Chosen {
    /// The request named a prompt template.
    pub prompt: bool,
    /// The request named a model tier.
    pub tier: bool,
}

impl Engine {
    /// Checks `[[experiments]]` at open: ids, arms and weights, and that every arm's
    /// prompt template and model tier exist.
    pub(crate) fn check_experiments(&self) -> Result<(), EngineError> {
        let experiments = &self.config.experiments;
        check_experiments(experiments)?;
        for e in experiments {
            for a in &e.arms {
                if let Some(p) = &a.prompt {
                    self.prompts.get(p).map_err(|err| {
                        RouteError::Invalid(format!(
                            "experiment `{}`, arm `{}`: prompt {p}: {err}",
                            e.id, a.name
                        ))
                    })?;
                }
                if let Some(t) = a.tier.as_deref() {
                    if !self.config.llm.tiers.contains_key(t) {
                        return Err(RouteError::Invalid(format!(
                            "experiment `{}`, arm `{}`: model tier `{t}` is not configured ([llm.tiers.{t}])",
                            e.id, a.name
                        ))
                        .into());
                    }
                }
            }
        }
        Ok(())
    }

    /// The experiments (`[[experiments]]`).
    pub fn experiments(&self) -> &[ExperimentSpec] {
        &self.config.experiments
    }

    /// Enrols `req` in the first enabled experiment covering its route and collection, as
    /// `unit` (an API key id or a client's user id): the arm assigned to `unit` sets the
    /// prompt and tier, and the answer will name it. A memory answer, a refused one, a
    /// request without a unit, or one that chose what the arm would change is not enrolled.
    pub fn apply_experiment(
        &self,
        req: &mut AnswerRequest,
        unit: Option<&str>,
        chosen: Chosen,
    ) -> Option<ArmInfo> {
        let unit = unit.filter(|u| !u.is_empty())?;
        if req.memory || req.route.as_ref().is_some_and(|r| r.refused) {
            return None;
        }
        let route = req.route.as_ref().and_then(|r| r.name.as_deref());
        let e = self
            .config
            .experiments
            .iter()
            .find(|e| e.covers(route, &req.collection))?;
        let arm = e.assign(unit)?;
        if (arm.prompt.is_some() && chosen.prompt) || (arm.tier.is_some() && chosen.tier) {
            return None;
        }
        if arm.prompt.is_some() {
            req.prompt.clone_from(&arm.prompt);
        }
        if arm.tier.is_some() {
            req.tier.clone_from(&arm.tier);
        }
        let info = ArmInfo {
            experiment: e.id.clone(),
            arm: arm.name.clone(),
        };
        req.arm = Some(info.clone());
        Some(info)
    }
}
