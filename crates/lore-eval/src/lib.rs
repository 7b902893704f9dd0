//! Retrieval evaluation: BEIR-format data sets, standard IR metrics, and the runner behind
//! `lore eval beir`.
#![warn(missing_docs)]

pub mod beir;
pub mod metrics;
pub mod run;

pub use beir::{BeirDataset, BeirError};
pub use metrics::{mrr_at_k, ndcg_at_k, recall_at_k, Qrels};
pub use run::{evaluate, EvalOptions, ModeReport};
