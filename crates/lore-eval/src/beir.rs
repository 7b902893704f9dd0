//! Loading a BEIR-format folder (Thakur et al. 2021): `corpus.jsonl` (`_id`, `title`,
//! `text`), `queries.jsonl` (`_id`, `text`), `qrels/test.tsv` (`query-id`, `corpus-id`,
//! `score`, with a header line).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Qrels;

/// Errors loading a data set.
#[derive(Debug, thiserror::Error)]
pub enum BeirError {
    /// A file is missing or unreadable.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A line does not parse.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// One corpus document.
#[derive(Debug, Clone, Deserialize)]
pub struct BeirDoc {
    /// Document id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Title (may be empty).
    #[serde(default)]
    pub title: String,
    /// Body.
    #[serde(default)]
    pub text: String,
}

impl BeirDoc {
    /// The document as lore ingests it: the title, and the body as one section.
    pub fn extracted(&self) -> lore_ingest::Extracted {
        lore_ingest::Extracted {
            title: self.title.clone(),
            sections: vec![lore_ingest::Section {
                heading: None,
                page: None,
                text: self.text.clone(),
            }],
        }
    }
}

/// Reads a BEIR `corpus.jsonl`, at most `limit` documents from its start.
///
/// # Errors
/// [`BeirError`] naming the file and line at fault.
pub fn load_corpus(corpus_path: &Path, limit: Option<usize>) -> Result<Vec<BeirDoc>, BeirError> {
    let mut corpus = Vec::new();
    for (i, line) in read(corpus_path)?.lines().enumerate() {
        if limit.is_some_and(|l| corpus.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let doc: BeirDoc = serde_json::from_str(line).map_err(|e| BeirError::Parse {
            path: corpus_path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        corpus.push(doc);
    }
    Ok(corpus)
}

#[derive(Deserialize)]
struct BeirQuery {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// A loaded data set: corpus, the queries that have judgements, and the judgements.
#[derive(Debug, Clone)]
pub struct BeirDataset {
    /// Folder name (e.g. `scifact`).
    pub name: String,
    /// Corpus.
    pub corpus: Vec<BeirDoc>,
    /// `(query id, text)` for queries present in the qrels, in file order.
    pub queries: Vec<(String, String)>,
    /// Judgements per query id.
    pub qrels: HashMap<String, Qrels>,
}

fn read(path: &Path) -> Result<String, BeirError> {
    std::fs::read_to_string(path).map_err(|source| BeirError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl BeirDataset {
    /// Loads `dir` with the `test` split of the qrels.
    ///
    /// # Errors
    /// [`BeirError`] naming the file and line at fault.
    pub fn load(dir: &Path) -> Result<Self, BeirError> {
        let corpus = load_corpus(&dir.join("corpus.jsonl"), None)?;
        let qrels_path = dir.join("qrels").join("test.tsv");
        let mut qrels: HashMap<String, Qrels> = HashMap::new();
        for (i, line) in read(&qrels_path)?.lines().enumerate() {
            let cols: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
            if i == 0 && cols.first().is_some_and(|c| c.starts_with("query")) {
                continue;
            }
            if cols.len() < 3 {
                if line.trim().is_empty() {
                    continue;
                }
                return Err(BeirError::Parse {
                    path: qrels_path,
                    line: i + 1,
                    message: "expected 3 tab-separated columns".into(),
                });
            }
            let score: i32 = cols[2].trim().parse().map_err(|_| BeirError::Parse {
                path: qrels_path.clone(),
                line: i + 1,
                message: format!("score `{}` is not an integer", cols[2]),
            })?;
            qrels
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[1].to_string(), score);
        }
        let queries_path = dir.join("queries.jsonl");
        let mut queries = Vec::new();
        for (i, line) in read(&queries_path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let q: BeirQuery = serde_json::from_str(line).map_err(|e| BeirError::Parse {
                path: queries_path.clone(),
                line: i + 1,
                message: e.to_string(),
            })?;
            if qrels.contains_key(&q.id) {
                queries.push((q.id, q.text));
            }
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "beir".into());
        Ok(BeirDataset {
            name,
            corpus,
            queries,
            qrels,
        })
    }
}
