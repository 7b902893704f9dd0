//! Answer settings: which generator, its model and endpoints, budgets, grounding.
//!
//! Layers, later wins: defaults ← `[llm]` of `lore.toml` ← `LORE_LLM_*` environment
//! variables ← CLI flags (the binary applies the last two).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lore_llm::OpenAiConfig;
use serde::{Deserialize, Serialize};

use crate::grounding::GroundingConfig;
use crate::EngineError;

/// The embedded model lore ships by default (file under `<models>/llm/`).
pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The other embedded model the set-up script installs.
pub const GEMMA3: &str = "gemma-3-270m-Q4_K_M.gguf";

/// Which generator writes answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorKind {
    /// A GGUF model in process (llama.cpp).
    Embedded,
    /// An OpenAI-compatible server.
    #[serde(rename = "openai")]
    OpenAi,
    /// No LLM: quoted sentences.
    Extractive,
}

impl GeneratorKind {
    /// The name used on the CLI and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorKind::Embedded => "embedded",
            GeneratorKind::OpenAi => "openai",
            GeneratorKind::Extractive => "extractive",
        }
    }
}

impl fmt::Display for GeneratorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GeneratorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(GeneratorKind::Embedded),
            "openai" => Ok(GeneratorKind::OpenAi),
            "extractive" => Ok(GeneratorKind::Extractive),
            other => Err(format!(
                "unknown generator `{other}`: expected embedded, openai or extractive"
            )),
        }
    }
}

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
        }
    }
}

/// The parts of `lore.toml` the engine reads: `[llm]`, `[cache]` and `[guard]` (the server
/// reads its own sections from the same file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    /// Answer settings.
    pub llm: LlmConfig,
    /// Cache settings.
    pub cache: lore_cache::CacheConfig,
    /// Guardrails.
    pub guard: crate::GuardConfig,
    /// Per-file ingest limits (`[ingest]`: depth, decompression, extracted text).
    pub ingest: lore_ingest::Limits,
}

impl ConfigFile {
    /// Reads a `lore.toml`; defaults when the file does not exist and `required` is false.
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] naming the file and the bad key or value.
    pub fn read(path: &Path, required: bool) -> Result<Self, EngineError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(ConfigFile::default())
            }
            Err(e) => {
                return Err(EngineError::InvalidRequest(format!(
                    "config {}: {e}",
                    path.display()
                )))
            }
        };
        toml::from_str(&text)
            .map_err(|e| EngineError::InvalidRequest(format!("config {}: {e}", path.display())))
    }
}

impl LlmConfig {
    /// Reads `[llm]` from a `lore.toml` ([`ConfigFile::read`]).
    ///
    /// # Errors
    /// As [`ConfigFile::read`].
    pub fn from_file(path: &Path, required: bool) -> Result<Self, EngineError> {
        Ok(ConfigFile::read(path, required)?.llm)
    }

    /// Applies `LORE_LLM_GENERATOR`, `LORE_LLM_BASE_URL`, `LORE_LLM_MODEL`,
    /// `LORE_LLM_API_KEY` and `LORE_LLM_EMBEDDED_MODEL` from `get` (the process environment in
    /// the binary).
    ///
    /// # Errors
    /// [`EngineError::InvalidRequest`] for an unknown generator name.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), EngineError> {
        if let Some(g) = get("LORE_LLM_GENERATOR") {
            self.generator = g
                .parse()
                .map_err(|e| EngineError::InvalidRequest(format!("LORE_LLM_GENERATOR: {e}")))?;
        }
        if let Some(v) = get("LORE_LLM_BASE_URL") {
            self.openai.base_url = v;
        }
        if let Some(v) = get("LORE_LLM_MODEL") {
            self.openai.model = v;
        }
        if let Some(v) = get("LORE_LLM_API_KEY") {
            self.openai.api_key = Some(v);
        }
        if let Some(v) = get("LORE_LLM_EMBEDDED_MODEL") {
            self.embedded_model = v;
        }
        Ok(())
    }

    /// This config with API keys replaced by `"<redacted>"`, for printing.
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        for endpoint in std::iter::once(&mut c.openai).chain(c.fallback.as_mut()) {
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
    fn file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lore.toml");
        std::fs::write(
            &path,
            "[llm]\ngenerator = 'openai'\ntop_k = 3\n[llm.openai]\nbase_url = 'http://a/v1'\nmodel = 'm'\n[llm.grounding]\naction = 'remove'\n",
        )
        .unwrap();
        let mut c = LlmConfig::from_file(&path, true).unwrap();
        assert_eq!(c.generator, GeneratorKind::OpenAi);
        assert_eq!(c.top_k, 3);
        assert_eq!(
            c.openai.read_timeout_ms,
            OpenAiConfig::default().read_timeout_ms
        );
        c.apply_env(|k| (k == "LORE_LLM_MODEL").then(|| "n".to_string()))
            .unwrap();
        assert_eq!(c.openai.model, "n");
        assert_eq!(c.openai.base_url, "http://a/v1");
    }

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

    #[test]
    fn bad_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lore.toml");
        std::fs::write(&path, "[llm]\ntop_kk = 3\n").unwrap();
        let err = LlmConfig::from_file(&path, true).unwrap_err().to_string();
        assert!(err.contains("top_kk"), "{err}");
        assert!(LlmConfig::from_file(&dir.path().join("none.toml"), false).is_ok());
        assert!(LlmConfig::from_file(&dir.path().join("none.toml"), true).is_err());
    }
}
