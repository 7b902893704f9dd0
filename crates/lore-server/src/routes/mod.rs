//! Handlers, one module per group of routes.

pub mod admin;
pub mod cache;
pub mod classify;
pub mod collections;
pub mod documents;
pub mod experiments;
pub mod health;
pub mod memory;
pub mod openai;
pub mod query;
pub mod ui;
