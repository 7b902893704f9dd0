//! Dense vector search with usearch (HNSW, Malkov & Yashunin 2018; cosine metric, f16
//! storage), plus exact scan for selective filters.
//!
//! Persistence: usearch's `save()` rewrites its file in place and a kill during it lost the
//! previous save too (DESIGN.md §3), so each save goes to a temporary file, is fsynced, and
//! is renamed to `ann-<seq>.usearch`, `seq` being the last catalog change it holds. Older
//! files are removed after the rename; on open the newest readable file wins.

use std::fs;
use std::path::{Path, PathBuf};

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::{IndexError, Result};

/// HNSW graph degree M (usearch's "connectivity"); 16 is the common default (hnswlib, Qdrant).
const CONNECTIVITY: usize = 16;
/// ef_construction.
const EXPANSION_ADD: usize = 128;
/// Default ef_search; DESIGN.md §8 measured recall@10 0.993 at 256 with f16 on 100K vectors.
pub const DEFAULT_EF_SEARCH: usize = 256;

/// The vector index of one collection.
pub struct AnnIndex {
    index: Index,
    dim: usize,
    dir: PathBuf,
    slots: Slots,
}

/// Searches one index runs at once. usearch keeps a search context per concurrent caller
/// and fails a search when all are taken ("Reserve capacity ahead of searches!"); it
/// reserves as many as the machine has cores unless told otherwise.
pub const SEARCH_SLOTS: usize = 64;

/// A counting semaphore over usearch's search contexts: a caller beyond
/// [`SEARCH_SLOTS`] waits instead of failing.
struct Slots {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Slots {
    fn new() -> Self {
        Slots {
            free: std::sync::Mutex::new(SEARCH_SLOTS),
            freed: std::sync::Condvar::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        let unpoison = std::sync::PoisonError::into_inner;
        {
            let mut free = self.free.lock().unwrap_or_else(unpoison);
            while *free == 0 {
                free = self.freed.wait(free).unwrap_or_else(unpoison);
            }
            *free -= 1;
        }
        let out = f();
        *self.free.lock().unwrap_or_else(unpoison) += 1;
        self.freed.notify_one();
        out
    }
}

/// Grows `index` to hold `capacity` vectors with [`SEARCH_SLOTS`] search contexts.
fn reserve(index: &Index, capacity: usize) -> Result<()> {
    index
        .reserve_capacity_and_threads(capacity, SEARCH_SLOTS)
        .map_err(ann_err)
}

fn ann_err(e: impl std::fmt::Display) -> IndexError {
    IndexError::Ann(e.to_string())
}

fn options(dim: usize, ef_search: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::Cos,
        quantization: ScalarKind::F16,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: ef_search,
        multi: false,
    }
}

/// `ann-<seq>.usearch` files in `dir`, newest first.
fn saved_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut files: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let seq = name
                .strip_prefix("ann-")?
                .strip_suffix(".usearch")?
                .parse()
                .ok()?;
            Some((seq, e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
}

impl AnnIndex {
    /// Opens the newest saved index in `dir` (or an empty one). Returns the index and the
    /// change sequence number it holds (0 when empty or nothing readable was found).
    ///
    /// # Errors
    /// [`IndexError::Ann`] if usearch cannot create an index; I/O errors for `dir`.
    pub fn open(dir: &Path, dim: usize, ef_search: usize) -> Result<(Self, u64)> {
        fs::create_dir_all(dir)
            .map_err(|e| IndexError::io(format!("creating {}", dir.display()), e))?;
        for (seq, path) in saved_files(dir) {
            let index = Index::new(&options(dim, ef_search)).map_err(ann_err)?;
            let Some(p) = path.to_str() else { continue };
            match index.load(p) {
                Ok(()) if index.dimensions() == dim => {
                    index.change_expansion_search(ef_search);
                    reserve(&index, index.size().max(1024))?;
                    return Ok((
                        AnnIndex {
                            index,
                            dim,
                            dir: dir.to_path_buf(),
                            slots: Slots::new(),
                        },
                        seq,
                    ));
                }
                Ok(()) => {
                    tracing::warn!(file = %path.display(), "vector index has the wrong dimension; ignoring it")
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "unreadable vector index; ignoring it")
                }
            }
        }
        let index = Index::new(&options(dim, ef_search)).map_err(ann_err)?;
        reserve(&index, 1024)?;
        Ok((
            AnnIndex {
                index,
                dim,
                dir: dir.to_path_buf(),
                slots: Slots::new(),
            },
            0,
        ))
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Vectors held.
    pub fn len(&self) -> usize {
        self.index.size()
    }

    /// Whether no vector is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds (or replaces) vectors by chunk id.
    ///
    /// # Errors
    /// [`IndexError::Dimension`] for a wrong-sized vector; usearch errors.
    pub fn add(&mut self, items: &[(i64, &[f32])]) -> Result<()> {
        let needed = self.index.size() + items.len();
        if needed > self.index.capacity() {
            reserve(&self.index, needed.max(self.index.capacity() * 2).max(1024))?;
        }
        for (id, v) in items {
            if v.len() != self.dim {
                return Err(IndexError::Dimension {
                    got: v.len(),
                    want: self.dim,
                });
            }
            let key = *id as u64;
            if self.index.contains(key) {
                self.index.remove(key).map_err(ann_err)?;
            }
            self.index.add(key, v).map_err(ann_err)?;
        }
        Ok(())
    }

    /// Removes vectors by chunk id (absent ids are ignored).
    ///
    /// # Errors
    /// usearch errors.
    pub fn remove(&mut self, ids: &[i64]) -> Result<()> {
        for id in ids {
            if self.index.contains(*id as u64) {
                self.index.remove(*id as u64).map_err(ann_err)?;
            }
        }
        Ok(())
    }

    /// Drops every vector (before a rebuild).
    ///
    /// # Errors
    /// usearch errors.
    pub fn clear(&mut self) -> Result<()> {
        self.index.reset().map_err(ann_err)
    }

    /// Approximate top `k` by cosine similarity: `(chunk_id, similarity)`, best first.
    /// With `allow`, only ids it accepts are returned (usearch's predicate search).
    ///
    /// # Errors
    /// usearch errors.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&dyn Fn(i64) -> bool>,
    ) -> Result<Vec<(i64, f32)>> {
        if self.index.size() == 0 || k == 0 {
            return Ok(Vec::new());
        }
        let matches = self
            .slots
            .with(|| match allow {
                None => self.index.search(query, k),
                Some(pred) => self.index.filtered_search(query, k, |key| pred(key as i64)),
            })
            .map_err(ann_err)?;
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .map(|(k, d)| (*k as i64, 1.0 - d))
            .collect())
    }

    /// Exact top `k` among `ids` by cosine similarity, reading the stored vectors (f16
    /// widened to f32). Used when a filter leaves few candidates, where an HNSW walk would
    /// visit many rejected nodes.
    ///
    /// # Errors
    /// usearch errors.
    pub fn exact_among(&self, query: &[f32], ids: &[i64], k: usize) -> Result<Vec<(i64, f32)>> {
        let qn = query.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        let mut buf = vec![0f32; self.dim];
        let mut scored = Vec::with_capacity(ids.len());
        for id in ids {
            if self.index.get(*id as u64, &mut buf).map_err(ann_err)? == 0 {
                continue;
            }
            let dot: f32 = buf.iter().zip(query).map(|(a, b)| a * b).sum();
            let n = buf.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            scored.push((*id, dot / (n * qn)));
        }
        let k = k.min(scored.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(scored)
    }

    /// Saves atomically as `ann-<seq>.usearch` (temp file, fsync, rename, fsync dir) and
    /// removes older saves.
    ///
    /// # Errors
    /// I/O and usearch errors; the previous save is intact on error.
    pub fn save(&self, seq: u64) -> Result<()> {
        let tmp = self.dir.join(format!("ann-{seq}.usearch.tmp"));
        let dst = self.dir.join(format!("ann-{seq}.usearch"));
        let tmp_str = tmp
            .to_str()
            .ok_or_else(|| ann_err("non-UTF-8 data dir path"))?;
        self.index.save(tmp_str).map_err(ann_err)?;
        let io = |what: &str, e| IndexError::io(format!("{what} {}", tmp.display()), e);
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("fsync", e))?;
        fs::rename(&tmp, &dst).map_err(|e| io("rename", e))?;
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("fsync dir of", e))?;
        for (old, path) in saved_files(&self.dir) {
            if old != seq {
                let _ = fs::remove_file(path);
            }
        }
        Ok(())
    }

    /// Removes every saved file (before a rebuild).
    pub fn remove_files(&self) {
        for (_, path) in saved_files(&self.dir) {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_reload_and_exact_scan() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ann, seq) = AnnIndex::open(dir.path(), 3, 64).unwrap();
        assert_eq!(seq, 0);
        let a = [1.0f32, 0.0, 0.0];
        let b = [0.0f32, 1.0, 0.0];
        let c = [0.7f32, 0.7, 0.0];
        ann.add(&[(1, &a), (2, &b), (3, &c)]).unwrap();
        assert_eq!(ann.search(&a, 1, None).unwrap()[0].0, 1);
        let only_even = |id: i64| id % 2 == 0;
        assert_eq!(ann.search(&a, 1, Some(&only_even)).unwrap()[0].0, 2);
        let exact = ann.exact_among(&a, &[2, 3], 2).unwrap();
        assert_eq!(exact.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3, 2]);
        ann.save(7).unwrap();
        ann.remove(&[1]).unwrap();
        ann.save(9).unwrap();
        assert_eq!(saved_files(dir.path()).len(), 1);
        let (ann, seq) = AnnIndex::open(dir.path(), 3, 64).unwrap();
        assert_eq!((seq, ann.len()), (9, 2));
    }
}
