//! The store: one data dir holding the catalog and, per collection, its BM25 and vector
//! indexes, kept in step with the catalog (see the crate docs for the recovery rules).
//!
//! Data dir layout:
//! ```text
//! lore.lock                         held by the one lore process using the dir
//! catalog.sqlite (+ -wal, -shm)     source of truth
//! indexes/<collection id>/bm25/     tantivy
//! indexes/<collection id>/ann/      ann-<seq>.usearch
//! ```

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use lore_core::{FilterSet, Hit};

use crate::ann::{AnnIndex, DEFAULT_EF_SEARCH};
use crate::bm25::Bm25Index;
use crate::catalog::{
    Catalog, ChunkRecord, CollectionInfo, DocumentInfo, NewChunk, NewCollection, NewDocument,
    WriteOutcome,
};
use crate::{IndexError, Result};

/// Tuning of the store (`[store]` in `lore.toml`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreOptions {
    /// HNSW ef_search (default 256; DESIGN.md §8).
    pub ef_search: usize,
    /// A filter matching at most this many chunks makes the dense leg scan them exactly
    /// instead of walking the HNSW graph with a predicate (default 5,000; an exact scan of
    /// 5,000 × 384-d vectors is ~2 M multiply-adds, about a millisecond).
    pub exact_scan_max: usize,
    /// Ingest persists the indexes after this many chunks written (default 20,000) and at
    /// the end: a crash loses at most this much index work (the catalog replays it).
    pub flush_every_chunks: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            ef_search: DEFAULT_EF_SEARCH,
            exact_scan_max: 5_000,
            flush_every_chunks: 20_000,
        }
    }
}

/// How the dense leg ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseStrategy {
    /// Plain HNSW search (no filter).
    Hnsw,
    /// HNSW search with a predicate (a filter matching many chunks).
    FilteredHnsw,
    /// Exact scan of the chunks a selective filter allows.
    ExactScan,
}

/// Retrieval parameters shared by both legs.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    /// Metadata filters, applied inside the leg.
    pub filters: FilterSet,
    /// Candidates to return.
    pub k: usize,
}

struct Indexes {
    bm25: Bm25Index,
    ann: AnnIndex,
    /// Last change applied to the in-memory indexes.
    applied: u64,
    /// Last change made durable in both.
    persisted: u64,
}

/// The catalog and indexes of one data dir.
pub struct Store {
    dir: PathBuf,
    catalog: Catalog,
    indexes: HashMap<i64, Indexes>,
    options: StoreOptions,
    _lock: File,
}

/// Names a new collection may not take: they are model ids of chat completions (`lore`,
/// the default collection; `memory`, the meeting memory; `auto`, routed), so a collection of that name
/// could never be reached by one.
pub const RESERVED_COLLECTION_NAMES: &[&str] = &["lore", "memory", "auto"];

/// A name for a new collection: [`validate_name`]'s characters, not starting with `-` (it
/// would read as an option on lore's command line) and not reserved
/// ([`RESERVED_COLLECTION_NAMES`]).
///
/// # Errors
/// [`IndexError::InvalidCollectionName`].
pub fn validate_new_name(name: &str) -> Result<()> {
    validate_name(name)?;
    if name.starts_with('-') || RESERVED_COLLECTION_NAMES.contains(&name) {
        return Err(IndexError::InvalidCollectionName(name.to_string()));
    }
    Ok(())
}

/// Collection names become neither paths nor SQL, but are shown everywhere: keep them
/// plain, ASCII only (`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`), so no invisible or
/// bidirectional-control character can make two names look alike.
fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(IndexError::InvalidCollectionName(name.to_string()))
    }
}

impl Store {
    /// Opens the data dir (creating it), taking its lock: a second lore process on the same
    /// dir waits until the first one finishes.
    ///
    /// # Errors
    /// I/O errors on the dir or lock, catalog errors.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| IndexError::io(format!("creating data dir {}", dir.display()), e))?;
        let lock_path = dir.join("lore.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| IndexError::io(format!("opening {}", lock_path.display()), e))?;
        if lock.try_lock().is_err() {
            tracing::info!(dir = %dir.display(), "data dir in use by another lore process; waiting for it");
            lock.lock()
                .map_err(|e| IndexError::io(format!("locking {}", lock_path.display()), e))?;
        }
        let catalog = Catalog::open(&dir.join("catalog.sqlite"))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            catalog,
            indexes: HashMap::new(),
            options,
            _lock: lock,
        })
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The catalog (read-only access).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The collection named `name`.
    ///
    /// # Errors
    /// [`IndexError::CollectionNotFound`].
    pub fn collection(&self, name: &str) -> Result<CollectionInfo> {
        self.catalog
            .collection(name)?
            .ok_or_else(|| IndexError::CollectionNotFound(name.to_string()))
    }

    /// The collection `new.name`, created (model, dimension, chunking; no defaults) if
    /// absent.
    ///
    /// # Errors
    /// [`IndexError::InvalidCollectionName`]; [`IndexError::ModelMismatch`] when it exists
    /// with another embedding model.
    pub fn ensure_collection(&mut self, new: &NewCollection<'_>) -> Result<CollectionInfo> {
        let NewCollection {
            name,
            model_id,
            dim,
            ..
        } = *new;
        validate_name(name)?;
        let info = match self.catalog.collection(name)? {
            Some(info) => info,
            None => {
                validate_new_name(name)?;
                self.catalog.create_collection(&NewCollection {
                    defaults: None,
                    ..*new
                })?
            }
        };
        // int8 and f32 exports of one model share a vector space; a different model does not.
        let family = |m: &str| m.split('/').next().unwrap_or(m).to_string();
        if family(&info.model_id) != family(model_id) || info.dim != dim {
            return Err(IndexError::ModelMismatch {
                name: name.into(),
                have: info.model_id,
                want: model_id.into(),
            });
        }
        Ok(info)
    }

    /// Creates a collection (model, dimension, chunking, metadata defaults) in one catalog
    /// transaction.
    ///
    /// # Errors
    /// [`IndexError::InvalidCollectionName`]; catalog errors (a duplicate name).
    pub fn create_collection(&mut self, new: &NewCollection<'_>) -> Result<CollectionInfo> {
        validate_name(new.name)?;
        validate_new_name(new.name)?;
        self.catalog.create_collection(new)
    }

    /// All collections.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn collections(&self) -> Result<Vec<CollectionInfo>> {
        self.catalog.collections()
    }

    /// Documents of a collection.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn documents(&self, collection: &CollectionInfo) -> Result<Vec<DocumentInfo>> {
        self.catalog.documents(collection.id)
    }

    /// The stored document with `source`, if any.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn document(
        &self,
        collection: &CollectionInfo,
        source: &str,
    ) -> Result<Option<DocumentInfo>> {
        self.catalog.document(collection.id, source)
    }

    fn index_dir(&self, collection_id: i64) -> PathBuf {
        self.dir.join("indexes").join(collection_id.to_string())
    }

    /// Opens a collection's indexes, bringing them up to the catalog: replay the change
    /// log from the sequence number each index recorded, or rebuild from the catalog when
    /// an index is unreadable, missing, or its changes were pruned.
    fn indexes(&mut self, info: &CollectionInfo) -> Result<&mut Indexes> {
        if !self.indexes.contains_key(&info.id) {
            let opened = self.open_indexes(info)?;
            self.indexes.insert(info.id, opened);
        }
        self.indexes
            .get_mut(&info.id)
            .ok_or_else(|| IndexError::CollectionNotFound(info.name.clone()))
    }

    fn open_indexes(&mut self, info: &CollectionInfo) -> Result<Indexes> {
        let dir = self.index_dir(info.id);
        let bm25_dir = dir.join("bm25");
        let (mut bm25, bm25_seq) = match Bm25Index::open(&bm25_dir) {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(collection = %info.name, error = %e, "BM25 index unreadable; rebuilding from the catalog");
                let _ = std::fs::remove_dir_all(&bm25_dir);
                Bm25Index::open(&bm25_dir)?
            }
        };
        let (mut ann, ann_seq) =
            AnnIndex::open(&dir.join("ann"), info.dim, self.options.ef_search)?;
        let last = self.catalog.last_seq(info.id)?;
        let pruned = self
            .catalog
            .collection(&info.name)?
            .map(|c| c.pruned_upto)
            .unwrap_or(0);

        let bm25_rebuild =
            bm25_seq > last || bm25_seq < pruned || (bm25_seq == 0 && !bm25.is_empty());
        let ann_rebuild = ann_seq > last || ann_seq < pruned || (ann_seq == 0 && !ann.is_empty());
        if bm25_rebuild || ann_rebuild {
            tracing::warn!(collection = %info.name, bm25_seq, ann_seq, last, "rebuilding indexes from the catalog");
            if bm25_rebuild {
                bm25.clear()?;
            }
            if ann_rebuild {
                ann.clear()?;
            }
            self.catalog.for_each_chunk(info.id, 1000, |records| {
                if bm25_rebuild {
                    bm25.add(records)?;
                }
                if ann_rebuild {
                    let items: Vec<(i64, &[f32])> = records
                        .iter()
                        .map(|r| (r.id, r.embedding.as_slice()))
                        .collect();
                    ann.add(&items)?;
                }
                Ok(())
            })?;
        }
        if !bm25_rebuild && bm25_seq < last {
            tracing::info!(collection = %info.name, from = bm25_seq, to = last, "replaying changes into the BM25 index");
            let (removed, added) = self.pending_changes(info.id, bm25_seq)?;
            bm25.remove(&removed);
            bm25.remove(&added.iter().map(|r| r.id).collect::<Vec<_>>());
            bm25.add(&added)?;
        }
        if !ann_rebuild && ann_seq < last {
            tracing::info!(collection = %info.name, from = ann_seq, to = last, "replaying changes into the vector index");
            let (removed, added) = self.pending_changes(info.id, ann_seq)?;
            ann.remove(&removed)?;
            let items: Vec<(i64, &[f32])> = added
                .iter()
                .map(|r| (r.id, r.embedding.as_slice()))
                .collect();
            ann.add(&items)?;
        }
        if bm25_seq != last || bm25_rebuild {
            bm25.commit(last)?;
        }
        if ann_seq != last || ann_rebuild {
            ann.save(last)?;
        }
        Ok(Indexes {
            bm25,
            ann,
            applied: last,
            persisted: last,
        })
    }

    /// Chunk ids removed, and records of chunks added (that still exist), after `seq`.
    fn pending_changes(
        &self,
        collection_id: i64,
        seq: u64,
    ) -> Result<(Vec<i64>, Vec<ChunkRecord>)> {
        let changes = self.catalog.changes_since(collection_id, seq)?;
        let mut removed = HashSet::new();
        let mut added = Vec::new();
        for c in changes {
            removed.extend(c.removed);
            added.extend(c.added);
        }
        added.retain(|id| !removed.contains(id));
        let records = self.catalog.chunk_records(&added)?;
        Ok((removed.into_iter().collect(), records))
    }

    /// Writes a document with its embedded chunks: the catalog transaction first (after
    /// which the write is durable), then the in-memory indexes. Call [`Store::flush`] to
    /// persist the indexes.
    ///
    /// # Errors
    /// Catalog errors (nothing written), index errors (the catalog holds the write; the
    /// indexes are repaired on the next open).
    pub fn write_document(
        &mut self,
        collection: &CollectionInfo,
        doc: &NewDocument,
        chunks: &[NewChunk],
    ) -> Result<WriteOutcome> {
        if let Some(c) = chunks.iter().find(|c| c.embedding.len() != collection.dim) {
            return Err(IndexError::Dimension {
                got: c.embedding.len(),
                want: collection.dim,
            });
        }
        self.indexes(collection)?;
        let outcome = self.catalog.upsert_document(collection.id, doc, chunks)?;
        let records: Vec<ChunkRecord> = outcome
            .added
            .iter()
            .zip(chunks)
            .map(|(id, c)| ChunkRecord {
                id: *id,
                document_id: outcome.document_id,
                index_text: c.index_text.clone(),
                embedding: c.embedding.clone(),
                source: doc.source.clone(),
                metadata: doc.metadata.clone(),
            })
            .collect();
        let idx = self.indexes(collection)?;
        idx.bm25.remove(&outcome.removed);
        idx.bm25.add(&records)?;
        idx.ann.remove(&outcome.removed)?;
        let items: Vec<(i64, &[f32])> = records
            .iter()
            .map(|r| (r.id, r.embedding.as_slice()))
            .collect();
        idx.ann.add(&items)?;
        idx.applied = outcome.seq;
        Ok(outcome)
    }

    /// Deletes a document from the catalog and both indexes. `None` if it was not stored.
    ///
    /// # Errors
    /// As [`Store::write_document`].
    pub fn delete_document(
        &mut self,
        collection: &CollectionInfo,
        source: &str,
    ) -> Result<Option<WriteOutcome>> {
        self.indexes(collection)?;
        let Some(outcome) = self.catalog.delete_document(collection.id, source)? else {
            return Ok(None);
        };
        let idx = self.indexes(collection)?;
        idx.bm25.remove(&outcome.removed);
        idx.ann.remove(&outcome.removed)?;
        idx.applied = outcome.seq;
        Ok(Some(outcome))
    }

    /// Deletes a collection: catalog rows and index files.
    ///
    /// # Errors
    /// Catalog and I/O errors.
    pub fn delete_collection(&mut self, name: &str) -> Result<()> {
        let info = self.collection(name)?;
        self.indexes.remove(&info.id);
        self.catalog.delete_collection(info.id)?;
        let dir = self.index_dir(info.id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| IndexError::io(format!("removing {}", dir.display()), e))?;
        }
        Ok(())
    }

    /// Persists every index with unsaved changes (tantivy commit, usearch atomic save) and
    /// prunes the change log they no longer need.
    ///
    /// # Errors
    /// Index and catalog errors.
    pub fn flush(&mut self) -> Result<()> {
        for (id, idx) in self.indexes.iter_mut() {
            if idx.applied == idx.persisted {
                continue;
            }
            idx.bm25.commit(idx.applied)?;
            idx.ann.save(idx.applied)?;
            idx.persisted = idx.applied;
            // Both indexes now hold every change up to `persisted` durably.
            self.catalog.prune_changes(*id, idx.persisted)?;
        }
        Ok(())
    }

    /// Opens a collection's indexes (repairing them from the catalog if they lag), so that
    /// the searches, which take `&self`, can run concurrently. A no-op when already open.
    ///
    /// # Errors
    /// Index and catalog errors.
    pub fn load(&mut self, collection: &CollectionInfo) -> Result<()> {
        self.indexes(collection).map(|_| ())
    }

    /// Whether a collection's indexes are open.
    pub fn is_loaded(&self, collection: &CollectionInfo) -> bool {
        self.indexes.contains_key(&collection.id)
    }

    fn loaded(&self, collection: &CollectionInfo) -> Result<&Indexes> {
        self.indexes
            .get(&collection.id)
            .ok_or_else(|| IndexError::NotLoaded(collection.name.clone()))
    }

    /// BM25 leg: top `params.k` chunks for `query` among those passing the filters.
    ///
    /// # Errors
    /// [`IndexError::NotLoaded`] before [`Store::load`]; index errors.
    pub fn search_bm25(
        &self,
        collection: &CollectionInfo,
        query: &str,
        params: &SearchParams,
    ) -> Result<Vec<(i64, f32)>> {
        let idx = self.loaded(collection)?;
        idx.bm25.search(query, &params.filters, params.k)
    }

    /// Dense leg: top `params.k` chunks by cosine similarity to `vector` among those passing
    /// the filters. Unfiltered: HNSW. Filtered: the planner counts the chunks the filter
    /// allows (from the BM25 index's metadata terms) and scans them exactly when there are
    /// at most [`StoreOptions::exact_scan_max`], else walks HNSW with a predicate.
    ///
    /// # Errors
    /// [`IndexError::Dimension`]; index errors.
    pub fn search_dense(
        &self,
        collection: &CollectionInfo,
        vector: &[f32],
        params: &SearchParams,
    ) -> Result<(Vec<(i64, f32)>, DenseStrategy)> {
        if vector.len() != collection.dim {
            return Err(IndexError::Dimension {
                got: vector.len(),
                want: collection.dim,
            });
        }
        let exact_max = self.options.exact_scan_max;
        let idx = self.loaded(collection)?;
        if params.filters.is_empty() {
            return Ok((idx.ann.search(vector, params.k, None)?, DenseStrategy::Hnsw));
        }
        let allowed = idx.bm25.filter_ids(&params.filters)?;
        if allowed.len() <= exact_max {
            return Ok((
                idx.ann.exact_among(vector, &allowed, params.k)?,
                DenseStrategy::ExactScan,
            ));
        }
        let set: HashSet<i64> = allowed.into_iter().collect();
        let pred = |id: i64| set.contains(&id);
        Ok((
            idx.ann.search(vector, params.k, Some(&pred))?,
            DenseStrategy::FilteredHnsw,
        ))
    }

    /// Hits for scored chunk ids, in the given order.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn hits(&self, scored: &[(i64, f32)]) -> Result<Vec<Hit>> {
        self.catalog.hits(scored)
    }

    /// Sets the metadata that documents of `collection` get when they carry none.
    ///
    /// # Errors
    /// Catalog errors.
    pub fn set_collection_defaults(
        &mut self,
        collection: &CollectionInfo,
        defaults: &lore_core::Metadata,
    ) -> Result<()> {
        self.catalog
            .set_collection_defaults(collection.id, defaults)
    }

    /// [`Store::index_counts`] for a collection already loaded (`&self`, for health checks).
    ///
    /// # Errors
    /// [`IndexError::NotLoaded`]; catalog errors.
    pub fn loaded_counts(&self, collection: &CollectionInfo) -> Result<(u64, u64, u64)> {
        let (_, chunks) = self.catalog.counts(collection.id)?;
        let idx = self.loaded(collection)?;
        Ok((chunks, idx.bm25.len(), idx.ann.len() as u64))
    }

    /// Consistency of a collection: `(catalog chunks, BM25 docs, vectors)`; all three are
    /// equal in a consistent store.
    ///
    /// # Errors
    /// Index and catalog errors.
    pub fn index_counts(&mut self, collection: &CollectionInfo) -> Result<(u64, u64, u64)> {
        self.load(collection)?;
        self.loaded_counts(collection)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "could not persist indexes on close; they will be repaired on next open");
        }
    }
}
