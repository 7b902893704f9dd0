//! Evaluation: BEIR-format retrieval (`lore eval beir`), answer quality on a labelled
//! question set (`lore eval answers`), grounding calibration (`lore eval grounding`) and
//! meeting memory on QMSum (`lore eval meetings`).
#![warn(missing_docs)]

pub mod answers;
pub mod beir;
pub mod meetings;
pub mod metrics;
pub mod routes;
pub mod run;
pub mod tiers;

pub use answers::{
    calibrate_grounding, evaluate_answers, read_jsonl, AnswerCase, AnswerReport, GroundingCase,
    GroundingReport,
};
pub use beir::{load_corpus, BeirDataset, BeirDoc, BeirError};
pub use metrics::{mrr_at_k, ndcg_at_k, recall_at_k, Qrels};
pub use run::{evaluate, percentiles, prepare, EvalOptions, Latency, ModeReport};
