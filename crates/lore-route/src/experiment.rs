//! A/B/n experiments on answers (`[[experiments]]`): which arm (prompt version, model
//! tier) serves a request, assigned deterministically from a stable unit id (the API key's
//! id or a client-supplied user id) so one user always sees the same arm.
//!
//! Assignment hashes `experiment id + unit` with SHA-256 and reads the first 53 bits as a
//! uniform number in [0, 1), placed on the arms' cumulative weights: stable across
//! restarts, processes and versions (unlike `std`'s hasher), and independent between
//! experiments (the id is part of the hash).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::RouteError;

/// Experiments defined at once, at most.
pub const MAX_EXPERIMENTS: usize = 100;
/// Arms of one experiment, at most.
pub const MAX_ARMS: usize = 26;

/// `[[experiments]]`: one A/B/n test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Unique id (`[a-z0-9_-]`, 1-64 characters): what reports and answers name.
    pub id: String,
    /// What is being compared.
    pub description: String,
    /// Off: no answer is enrolled (its answers so far can still be reported).
    pub enabled: bool,
    /// Enrol only answers routed to these routes (empty: every answer).
    pub routes: Vec<String>,
    /// Enrol only answers from these collections (empty: every collection).
    pub collections: Vec<String>,
    /// The arms, at least two.
    pub arms: Vec<ArmSpec>,
}

impl Default for ExperimentSpec {
    fn default() -> Self {
        Self {
            id: String::new(),
            description: String::new(),
            enabled: true,
            routes: Vec::new(),
            collections: Vec::new(),
            arms: Vec::new(),
        }
    }
}

/// One arm: what it changes in the answer request (unset: the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ArmSpec {
    /// Unique within the experiment (`[a-z0-9_-]`, 1-64 characters), e.g. `control`.
    pub name: String,
    /// Relative share of the units (> 0; default 1).
    pub weight: f64,
    /// Prompt template `name` or `name@version`.
    pub prompt: Option<String>,
    /// Model tier (`[llm.tiers.<name>]`): how a model is compared, one model per tier.
    pub tier: Option<String>,
}

impl Default for ArmSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            weight: 1.0,
            prompt: None,
            tier: None,
        }
    }
}

/// The arm an answer was served by (`experiment` of an answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArmInfo {
    /// The experiment's id.
    pub experiment: String,
    /// The arm's name.
    pub arm: String,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks a list of experiments: ids and arm names, weights, sizes.
///
/// # Errors
/// [`RouteError::Invalid`] naming the experiment (and arm) and what is wrong.
pub fn check_experiments(experiments: &[ExperimentSpec]) -> Result<(), RouteError> {
    let invalid = |m: String| Err(RouteError::Invalid(m));
    if experiments.len() > MAX_EXPERIMENTS {
        return invalid(format!(
            "{} experiments; at most {MAX_EXPERIMENTS}",
            experiments.len()
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for e in experiments {
        if !valid_name(&e.id) {
            return invalid(format!(
                "experiment id `{}`: use 1-64 of a-z, 0-9, _ and -",
                e.id.chars().take(80).collect::<String>()
            ));
        }
        if !ids.insert(e.id.as_str()) {
            return invalid(format!("experiment `{}` is defined twice", e.id));
        }
        if !(2..=MAX_ARMS).contains(&e.arms.len()) {
            return invalid(format!(
                "experiment `{}` has {} arms; it needs 2 to {MAX_ARMS}",
                e.id,
                e.arms.len()
            ));
        }
        let mut names = std::collections::HashSet::new();
        for a in &e.arms {
            if !valid_name(&a.name) {
                return invalid(format!(
                    "experiment `{}`: arm name `{}`: use 1-64 of a-z, 0-9, _ and -",
                    e.id,
                    a.name.chars().take(80).collect::<String>()
                ));
            }
            if !names.insert(a.name.as_str()) {
                return invalid(format!(
                    "experiment `{}`: arm `{}` is defined twice",
                    e.id, a.name
                ));
            }
            if !(a.weight.is_finite() && a.weight > 0.0) {
                return invalid(format!(
                    "experiment `{}`: arm `{}`: weight must be a positive number, got {}",
                    e.id, a.name, a.weight
                ));
            }
        }
    }
    Ok(())
}

/// A number in [0, 1) from `experiment` and `unit`: SHA-256, first 53 bits.
pub fn unit_point(experiment: &str, unit: &str) -> f64 {
    let mut h = Sha256::new();
    h.update(experiment.as_bytes());
    h.update([0u8]);
    h.update(unit.as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

impl ExperimentSpec {
    /// The arm `unit` (a key id or user id) is assigned to: the same arm for the same unit
    /// every time, arms drawn in proportion to their weights.
    pub fn assign(&self, unit: &str) -> Option<&ArmSpec> {
        let total: f64 = self.arms.iter().map(|a| a.weight).sum();
        if self.arms.is_empty() || total <= 0.0 {
            return None;
        }
        let mut at = unit_point(&self.id, unit) * total;
        for a in &self.arms {
            if at < a.weight {
                return Some(a);
            }
            at -= a.weight;
        }
        self.arms.last()
    }

    /// Whether an answer from `collection`, routed to `route`, is enrolled.
    pub fn covers(&self, route: Option<&str>, collection: &str) -> bool {
        self.enabled
            && (self.routes.is_empty() || route.is_some_and(|r| self.routes.iter().any(|x| x == r)))
            && (self.collections.is_empty() || self.collections.iter().any(|c| c == collection))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(weights: &[f64]) -> ExperimentSpec {
        ExperimentSpec {
            id: "prompt-v2".into(),
            arms: weights
                .iter()
                .enumerate()
                .map(|(i, w)| ArmSpec {
                    name: format!("arm{i}"),
                    weight: *w,
                    ..ArmSpec::default()
                })
                .collect(),
            ..ExperimentSpec::default()
        }
    }

    #[test]
    fn assignment_is_stable_and_follows_weights() {
        let e = exp(&[1.0, 3.0]);
        let first: Vec<String> = (0..4000)
            .map(|i| e.assign(&format!("user-{i}")).unwrap().name.clone())
            .collect();
        let again: Vec<String> = (0..4000)
            .map(|i| e.assign(&format!("user-{i}")).unwrap().name.clone())
            .collect();
        assert_eq!(first, again);
        let share = first.iter().filter(|n| *n == "arm1").count() as f64 / 4000.0;
        // 3 / 4 expected; 4000 draws: sd 0.0068, so ±0.03 is over 4 sd.
        assert!((share - 0.75).abs() < 0.03, "share {share}");
    }

    #[test]
    fn experiments_are_independent() {
        let a = exp(&[1.0, 1.0]);
        let mut b = a.clone();
        b.id = "other".into();
        let same = (0..2000)
            .filter(|i| {
                let u = format!("u{i}");
                a.assign(&u).unwrap().name == b.assign(&u).unwrap().name
            })
            .count();
        assert!((900..1100).contains(&same), "{same} of 2000 agree");
    }

    #[test]
    fn the_hash_is_pinned() {
        // A change here moves every user to another arm mid-experiment.
        assert_eq!(unit_point("", ""), {
            // sha256("\0") = 6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d
            (0x6e34_0b9c_ffb3_7a98u64 >> 11) as f64 / (1u64 << 53) as f64
        });
    }

    #[test]
    fn bad_experiments_are_named() {
        let mut e = exp(&[1.0]);
        let err = check_experiments(std::slice::from_ref(&e)).unwrap_err();
        assert!(err.to_string().contains("has 1 arms"), "{err}");
        e = exp(&[1.0, -2.0]);
        let err = check_experiments(std::slice::from_ref(&e)).unwrap_err();
        assert!(err.to_string().contains("arm `arm1`: weight"), "{err}");
        e = exp(&[1.0, 1.0]);
        e.arms[1].name = "arm0".into();
        assert!(check_experiments(&[e]).is_err());
        assert!(check_experiments(&[exp(&[1.0, 1.0]), exp(&[1.0, 1.0])]).is_err());
        assert!(check_experiments(&[exp(&[1.0, 2.0])]).is_ok());
    }
}
