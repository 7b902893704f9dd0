//! Question routing, pure computation (no I/O, no HTTP): the intent classifier that reads
//! the query embedding retrieval already computed plus the question's n-grams
//! ([`classifier`]), its out-of-scope gate ([`gate`]), and the metrics `lore eval routes`
//! reports ([`metrics`]); routes as operators write them ([`routes`]) and fitted
//! ([`router`]); A/B/n experiment arms assigned by a hash of the user ([`experiment`]).
#![warn(missing_docs)]

pub mod classifier;
pub mod complexity;
pub mod experiment;
pub mod gate;
pub mod lexical;
pub mod metrics;
pub mod router;
pub mod routes;
pub mod second_stage;
pub mod softmax;
pub mod tier;

pub use classifier::{cross_val_scored, ClassifierOptions, Example, IntentClassifier, Prediction};
pub use complexity::{complexity, Complexity};
pub use experiment::{check_experiments, ArmInfo, ArmSpec, ExperimentSpec};
pub use gate::{Gate, GatePoint, GateRule, Scored};
pub use metrics::{classification_report, ClassificationReport};
pub use router::{EmbedFn, FitSummary, RouteCandidate, RouteDecision, Router, Validation};
pub use routes::{OutOfScope, RouteSet, RouteSpec, RoutingConfig, TierBy};
pub use second_stage::{Entity, LlmClassification, SecondStageConfig};
pub use softmax::FitOptions;
pub use tier::{tier_report, TierExample, TierPoint, TierReport, TierRouter};

/// Errors of routing.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// The examples cannot train a classifier (the message says why).
    #[error("cannot fit the route classifier: {0}")]
    Training(String),
    /// A route set that is not valid (the message names the route and the problem).
    #[error("invalid routes: {0}")]
    Invalid(String),
    /// Embedding the examples failed.
    #[error("embedding route examples: {0}")]
    Embed(String),
}
