//! Collections and documents as the engine's callers (the CLI, the server) see them:
//! listing, creating with the engine's model and chunking, inspecting, verifying,
//! deleting, and documents addressed by id or source, always within an [`Access`].

use lore_core::{Access, Metadata};
use lore_index::{Chunking, CollectionInfo, DocumentInfo};
use serde::Serialize;

use crate::{Engine, EngineError};

/// A collection with its counts (within the caller's domains).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CollectionSummary {
    /// Name.
    pub name: String,
    /// Embedding model its vectors were made with.
    pub model: String,
    /// Vector dimension.
    pub dim: usize,
    /// Chunk size and overlap its documents were cut with (`null`: made by a lore that did
    /// not record them; the next ingest records its own).
    pub chunking: Option<Chunking>,
    /// Bumped on every document change.
    pub version: u64,
    /// Documents the caller may see.
    pub documents: u64,
    /// Chunks of those documents.
    pub chunks: u64,
    /// Bytes of those documents as uploaded.
    pub bytes: u64,
    /// Metadata given to documents added without their own.
    pub defaults: Metadata,
}

/// A document named by its catalog id or by its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentRef {
    /// Catalog id (as listed).
    Id(i64),
    /// Source: the path given to ingest, or the uploaded file name.
    Source(String),
}

impl DocumentRef {
    /// A number is an id; anything else a source (`./123` names a source `123`).
    pub fn parse(s: &str) -> DocumentRef {
        match s.parse::<i64>() {
            Ok(id) => DocumentRef::Id(id),
            Err(_) => DocumentRef::Source(lore_ingest::normalize_source(std::path::Path::new(s))),
        }
    }
}

impl std::fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocumentRef::Id(id) => write!(f, "{id}"),
            DocumentRef::Source(s) => f.write_str(s),
        }
    }
}

/// `Engine::verify_collection`'s answer: whether the catalog and both indexes agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Catalog integrity, chunks, BM25 documents and vectors all agree.
    pub ok: bool,
    /// SQLite's `integrity_check` (`ok` when sound).
    pub catalog_integrity: String,
    /// Chunks in the catalog.
    pub chunks: u64,
    /// Documents in the BM25 index.
    pub bm25_docs: u64,
    /// Vectors in the ANN index.
    pub vectors: u64,
}

/// How one collection's open indexes compare with the catalog (`/health/detailed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexCounts {
    /// Collection.
    pub collection: String,
    /// Whether its indexes are open (counts are zero when not).
    pub loaded: bool,
    /// Chunks in the catalog.
    pub chunks: u64,
    /// Documents in the BM25 index.
    pub bm25_docs: u64,
    /// Vectors in the ANN index.
    pub vectors: u64,
}

impl Engine {
    /// Every collection's open indexes against the catalog, without opening any (cheap:
    /// counts only; [`Engine::verify_collection`] also checks the catalog's integrity).
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn index_counts(&self) -> Result<Vec<IndexCounts>, EngineError> {
        let mut out = Vec::new();
        for c in self.store.collections()? {
            let loaded = self.store.is_loaded(&c);
            let (chunks, bm25_docs, vectors) = if loaded {
                self.store.loaded_counts(&c)?
            } else {
                (0, 0, 0)
            };
            out.push(IndexCounts {
                collection: c.name,
                loaded,
                chunks,
                bm25_docs,
                vectors,
            });
        }
        Ok(out)
    }

    /// The collection `name` if `access` allows it; the same
    /// `IndexError::CollectionNotFound` as a missing one otherwise.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn collection_info(
        &self,
        name: &str,
        access: &Access,
    ) -> Result<CollectionInfo, EngineError> {
        if !access.allows_collection(name) {
            return Err(lore_index::IndexError::CollectionNotFound(name.into()).into());
        }
        Ok(self.store.collection(name)?)
    }

    fn summary(
        &self,
        info: &CollectionInfo,
        access: &Access,
    ) -> Result<CollectionSummary, EngineError> {
        let (documents, chunks, bytes) = self
            .store
            .catalog()
            .counts_in(info.id, access.domains.as_deref())?;
        Ok(CollectionSummary {
            name: info.name.clone(),
            model: info.model_id.clone(),
            dim: info.dim,
            chunking: info.chunking,
            version: info.version,
            documents,
            chunks,
            bytes,
            defaults: self.store.catalog().collection_defaults(info.id)?,
        })
    }

    /// The names of the collections `access` allows, sorted (no counts: for callers that
    /// only need names, such as loading indexes or listing chat models).
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn collection_names(&self, access: &Access) -> Result<Vec<String>, EngineError> {
        Ok(self
            .store
            .collections()?
            .into_iter()
            .map(|c| c.name)
            .filter(|n| access.allows_collection(n))
            .collect())
    }

    /// Every collection `access` allows, by name.
    ///
    /// # Errors
    /// [`EngineError::Index`].
    pub fn collections(&self, access: &Access) -> Result<Vec<CollectionSummary>, EngineError> {
        self.store
            .collections()?
            .iter()
            .filter(|c| access.allows_collection(&c.name))
            .map(|c| self.summary(c, access))
            .collect()
    }

    /// One collection.
    ///
    /// # Errors
    /// `CollectionNotFound` (also outside `access`).
    pub fn collection(
        &self,
        name: &str,
        access: &Access,
    ) -> Result<CollectionSummary, EngineError> {
        let info = self.collection_info(name, access)?;
        self.summary(&info, access)
    }

    /// Creates an empty collection for this engine's embedding model and `[chunking]`,
    /// with metadata `defaults` for documents added without their own, in one catalog
    /// transaction; its indexes are opened for searching.
    ///
    /// # Errors
    /// [`EngineError::CollectionExists`]; `InvalidCollectionName`.
    pub fn create_collection(
        &mut self,
        name: &str,
        defaults: Option<&Metadata>,
    ) -> Result<CollectionSummary, EngineError> {
        if self.store.catalog().collection(name)?.is_some() {
            return Err(EngineError::CollectionExists(name.into()));
        }
        let info = self.store.create_collection(&lore_index::NewCollection {
            name,
            model_id: &lore_embed::Embedder::model_id(&*self.embedder),
            dim: lore_embed::Embedder::dim(&*self.embedder),
            chunking: self.chunking(),
            defaults,
        })?;
        self.store.load(&info)?;
        self.summary(&info, &Access::all())
    }

    /// Deletes a collection, its documents and index files.
    ///
    /// # Errors
    /// `CollectionNotFound`.
    pub fn delete_collection(&mut self, name: &str) -> Result<(), EngineError> {
        Ok(self.store.delete_collection(name)?)
    }

    /// Checks that the catalog and both indexes of a collection agree.
    ///
    /// # Errors
    /// `CollectionNotFound`; store errors.
    pub fn verify_collection(&mut self, name: &str) -> Result<Verification, EngineError> {
        let info = self.store.collection(name)?;
        let catalog_integrity = self.store.catalog().integrity_check()?;
        let (chunks, bm25_docs, vectors) = self.store.index_counts(&info)?;
        Ok(Verification {
            ok: catalog_integrity == "ok" && chunks == bm25_docs && chunks == vectors,
            catalog_integrity,
            chunks,
            bm25_docs,
            vectors,
        })
    }

    /// The documents of a collection `access` may see, by source.
    ///
    /// # Errors
    /// `CollectionNotFound` (also outside `access`).
    pub fn documents(
        &self,
        collection: &str,
        access: &Access,
    ) -> Result<Vec<DocumentInfo>, EngineError> {
        let info = self.collection_info(collection, access)?;
        Ok(self
            .store
            .documents(&info)?
            .into_iter()
            .filter(|d| access.allows_domain(d.metadata.domain.as_deref()))
            .collect())
    }

    /// One page of a collection's documents `access` may see, by source, and how many
    /// there are.
    ///
    /// # Errors
    /// `CollectionNotFound` (also outside `access`).
    pub fn documents_page(
        &self,
        collection: &str,
        access: &Access,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DocumentInfo>, u64), EngineError> {
        let info = self.collection_info(collection, access)?;
        Ok(self.store.catalog().documents_page_in(
            info.id,
            access.domains.as_deref(),
            offset,
            limit,
        )?)
    }

    /// The metadata a collection gives documents added without their own.
    ///
    /// # Errors
    /// `CollectionNotFound`.
    pub fn collection_defaults(&self, collection: &str) -> Result<Metadata, EngineError> {
        let info = self.store.collection(collection)?;
        Ok(self.store.catalog().collection_defaults(info.id)?)
    }

    /// One document by id or source; one of a domain outside `access` reads as missing.
    ///
    /// # Errors
    /// `CollectionNotFound`; [`EngineError::DocumentNotFound`].
    pub fn document(
        &self,
        collection: &str,
        doc: &DocumentRef,
        access: &Access,
    ) -> Result<DocumentInfo, EngineError> {
        let info = self.collection_info(collection, access)?;
        let found = match doc {
            DocumentRef::Id(id) => self.store.catalog().document_by_id(info.id, *id)?,
            DocumentRef::Source(source) => self.store.document(&info, source)?,
        };
        found
            .filter(|d| access.allows_domain(d.metadata.domain.as_deref()))
            .ok_or_else(|| EngineError::DocumentNotFound {
                collection: collection.into(),
                document: doc.to_string(),
            })
    }

    /// Deletes a document (catalog and both indexes, flushed); returns what was deleted.
    ///
    /// # Errors
    /// As [`Engine::document`]; store errors.
    pub fn delete_document(
        &mut self,
        collection: &str,
        doc: &DocumentRef,
        access: &Access,
    ) -> Result<DocumentInfo, EngineError> {
        let found = self.document(collection, doc, access)?;
        let info = self.store.collection(collection)?;
        self.store.delete_document(&info, &found.source)?;
        self.store.flush()?;
        Ok(found)
    }
}
