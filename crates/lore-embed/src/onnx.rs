//! all-MiniLM-L6-v2 on ONNX Runtime.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::pooling::mean_pool_normalize;
use crate::{EmbedError, Embedder, ModelFiles, Result};

/// Hidden size of all-MiniLM-L6-v2.
/// Embedding dimension of all-MiniLM-L6-v2.
pub const DIM: usize = 384;
/// sentence-transformers' `max_seq_length` for the model (its `sentence_bert_config.json`).
const MAX_TOKENS: usize = 256;

/// Run-time options of the embedder.
#[derive(Debug, Clone, Copy)]
pub struct OnnxOptions {
    /// ONNX Runtime intra-op threads (default: all cores).
    pub threads: usize,
    /// Texts per inference call (default 32). Texts are sorted by length first so a batch
    /// pads little.
    pub batch_size: usize,
}

impl Default for OnnxOptions {
    fn default() -> Self {
        OnnxOptions {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            batch_size: 32,
        }
    }
}

/// The embedding model in process.
pub struct OnnxEmbedder {
    // `Session::run` takes `&mut self`; one inference at a time uses all intra-op threads.
    session: Mutex<Session>,
    tokenizer: Arc<Tokenizer>,
    files: ModelFiles,
    options: OnnxOptions,
}

/// ONNX Runtime allows one environment per process; it is created on first use from the
/// library in the models dir.
static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

fn environment(runtime: &Path) -> Result<&'static Environment> {
    ENVIRONMENT
        .get_or_init(|| {
            ort::init_from(runtime)
                .map_err(|e| format!("cannot load {}: {e}", runtime.display()))?
                .with_name("lore")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EmbedError::Runtime(e.clone()))
}

/// Loads `tokenizer.json` with truncation and padding off: lore pads per batch itself and
/// must see the full length of every input.
///
/// # Errors
/// [`EmbedError::Tokenizer`] if the file cannot be parsed.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_file(path)
        .map_err(|e| EmbedError::Tokenizer(format!("{}: {e}", path.display())))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
    Ok(tokenizer)
}

impl OnnxEmbedder {
    /// Loads the model and its tokenizer.
    ///
    /// # Errors
    /// [`EmbedError::Runtime`] if ONNX Runtime or the graph fails to load,
    /// [`EmbedError::Tokenizer`] if the tokenizer does.
    pub fn load(files: ModelFiles, options: OnnxOptions) -> Result<Self> {
        let env = environment(&files.runtime)?;
        let rt = |e: ort::Error<_>| EmbedError::Runtime(e.to_string());
        let session = Session::builder(env)
            .map_err(|e| EmbedError::Runtime(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(rt)?
            .with_intra_threads(options.threads.max(1))
            .map_err(rt)?
            .with_inter_threads(1)
            .map_err(rt)?
            .commit_from_file(&files.onnx)
            .map_err(|e| EmbedError::Runtime(format!("{}: {e}", files.onnx.display())))?;
        let tokenizer = Arc::new(load_tokenizer(&files.tokenizer)?);
        Ok(OnnxEmbedder {
            session: Mutex::new(session),
            tokenizer,
            files,
            options,
        })
    }

    /// The tokenizer the model uses (shared with the chunker so chunk sizes are exact).
    pub fn tokenizer(&self) -> Arc<Tokenizer> {
        self.tokenizer.clone()
    }

    fn run_batch(&self, encodings: &[&tokenizers::Encoding]) -> Result<Vec<Vec<f32>>> {
        let batch = encodings.len();
        let seq = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0);
        let mut ids = vec![0i64; batch * seq];
        let mut mask = vec![0i64; batch * seq];
        for (b, enc) in encodings.iter().enumerate() {
            for (t, (&id, &m)) in enc
                .get_ids()
                .iter()
                .zip(enc.get_attention_mask())
                .enumerate()
            {
                ids[b * seq + t] = i64::from(id);
                mask[b * seq + t] = i64::from(m);
            }
        }
        let types = vec![0i64; batch * seq];
        let shape = [batch as i64, seq as i64];
        let tensor = |v: Vec<i64>| {
            Tensor::from_array((shape, v)).map_err(|e| EmbedError::Runtime(e.to_string()))
        };
        let inputs = ort::inputs![
            "input_ids" => tensor(ids)?,
            "attention_mask" => tensor(mask.clone())?,
            "token_type_ids" => tensor(types)?,
        ];
        let mut session = self
            .session
            .lock()
            .map_err(|_| EmbedError::Runtime("embedding session poisoned".into()))?;
        let outputs = session
            .run(inputs)
            .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        let (out_shape, hidden) = outputs["last_hidden_state"]
            .try_extract_tensor::<f32>()
            .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        if out_shape.len() != 3 || out_shape[2] as usize != DIM {
            return Err(EmbedError::Runtime(format!(
                "unexpected output shape {out_shape:?}"
            )));
        }
        let per = seq * DIM;
        Ok((0..batch)
            .map(|b| {
                mean_pool_normalize(
                    &hidden[b * per..(b + 1) * per],
                    &mask[b * seq..(b + 1) * seq],
                    DIM,
                )
            })
            .collect())
    }
}

impl Embedder for OnnxEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        if let Some(e) = encodings.iter().find(|e| e.get_ids().len() > MAX_TOKENS) {
            return Err(EmbedError::TooLong {
                tokens: e.get_ids().len(),
                max: MAX_TOKENS,
            });
        }
        // Sort by length so each batch pads to a similar length (as sentence-transformers does).
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let mut out = vec![Vec::new(); texts.len()];
        for group in order.chunks(self.options.batch_size.max(1)) {
            let batch: Vec<&tokenizers::Encoding> = group.iter().map(|&i| &encodings[i]).collect();
            for (&i, v) in group.iter().zip(self.run_batch(&batch)?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn dim(&self) -> usize {
        DIM
    }

    fn model_id(&self) -> String {
        format!("all-MiniLM-L6-v2/{}", self.files.precision.as_str())
    }

    fn max_tokens(&self) -> usize {
        MAX_TOKENS
    }
}
