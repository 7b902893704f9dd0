//! Answer settings: which generator, its model and endpoints, budgets, grounding.
//!
//! `[llm]` of the settings (resolved by `lore-settings`: defaults ← `lore.toml` ← `LORE_LLM_*`
//! ← flags).

use std::path::{Path, PathBuf};

use lore_llm::OpenAiConfig;
use serde::{Deserialize, Serialize};

use crate::grounding::GroundingConfig;

/// The embedded model lore ships by default (file under `<models>/llm/`).
pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The other embedded model the set-up script installs.
pub const GEMMA3: &str = "gemma-3-270m-Q4_K_M.gguf";

pub use lore_llm::GeneratorKind;

/// Answer settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// The generator used when a request names none.
    pub generator: GeneratorKind,
    /// Embedded model: a file name under `<models>/llm/` or a path to a GGUF file.
    pub embedded_model: String,
    /// Embedded model's context window, tokens.
    pub embedded_context: usize,
    /// Embedded generation threads (default: half the cores, at least 1).
    pub embedded_threads: Option<usize>,
    /// For the embedded generator, each passage is cut to its sentences closest to the
    /// question within this many tokens (0: whole chunks). See `compress.rs`.
    pub embedded_passage_tokens: usize,
    /// The OpenAI-compatible endpoint.
    pub openai: OpenAiConfig,
    /// A second endpoint tried when `openai` fails.
    pub fallback: Option<OpenAiConfig>,
    /// Answer extractively (with a notice) when the LLM is unreachable or failing.
    pub extractive_fallback: bool,
    /// Tokens reserved for the answer (and its cap).
    pub max_answer_tokens: usize,
    /// Sampling temperature (0: greedy).
    pub temperature: f32,
    /// Longest question accepted, characters.
    pub max_question_chars: usize,
    /// Passages retrieved for an answer.
    pub top_k: usize,
    /// Prompt template (`name` or `name@version`).
    pub prompt: String,
    /// Grounding check.
    pub grounding: GroundingConfig,
    /// Model tiers: name → OpenAI-compatible endpoints shared by least outstanding
    /// requests, with ejection and failover (`[llm.tiers.small]`, `[llm.tiers.large]`).
    pub tiers: lore_llm::Tiers,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            // Chosen by measurement on eval/answers.jsonl (docs/benchmarks.md): the quoted
            // answers beat both embedded models.
            generator: GeneratorKind::Extractive,
            embedded_model: SMOLLM2.into(),
            embedded_context: 4096,
            embedded_threads: None,
            embedded_passage_tokens: 96,
            openai: OpenAiConfig::default(),
            fallback: None,
            extractive_fallback: true,
            max_answer_tokens: 256,
            temperature: 0.0,
            max_question_chars: 2000,
            top_k: 5,
            prompt: "default".into(),
            grounding: GroundingConfig::default(),
            tiers: lore_llm::Tiers::new(),
        }
    }
}

impl LlmConfig {
    /// This config with API keys replaced by `"<redacted>"`, for printing.
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        for endpoint in std::iter::once(&mut c.openai).chain(c.fallback.as_mut()) {
            if endpoint.api_key.is_some() {
                endpoint.api_key = Some("<redacted>".into());
            }
        }
        for endpoint in c.tiers.values_mut().flat_map(|t| t.endpoints.iter_mut()) {
            if endpoint.api_key.is_some() {
                endpoint.api_key = Some("<redacted>".into());
            }
        }
        c
    }

    /// The embedded model's file: `embedded_model` as a path if it names an existing file or
    /// has a directory part, else under `<models_dir>/llm/`.
    pub fn embedded_model_path(&self, models_dir: &Path) -> PathBuf {
        let p = PathBuf::from(&self.embedded_model);
        if p.is_file() || p.components().count() > 1 {
            p
        } else {
            models_dir.join("llm").join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_hides_keys() {
        let mut c = LlmConfig::default();
        c.openai.api_key = Some("sk-secret".into());
        c.fallback = Some(OpenAiConfig {
            api_key: Some("sk-2".into()),
            ..Default::default()
        });
        let shown = toml::to_string(&c.redacted()).unwrap();
        assert!(
            !shown.contains("sk-") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert_eq!(c.openai.api_key.as_deref(), Some("sk-secret"));
    }
}
