//! BM25 over chunks with tantivy (BM25 with k1 = 1.2, b = 0.75, tantivy's defaults, after
//! Robertson & Zaragoza 2009). English analysis: lowercase, stop words removed, Snowball
//! (Porter 2) stemming. Metadata is indexed as raw terms so filters run inside the query.

use std::path::{Path, PathBuf};

use lore_core::{FilterField, FilterSet};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::catalog::ChunkRecord;
use crate::{IndexError, Result};

const TOKENIZER: &str = "lore_en";
/// Indexing heap for the writer (bytes); tantivy flushes a segment when it fills.
const WRITER_HEAP: usize = 64 * 1024 * 1024;

struct Fields {
    chunk_id: Field,
    text: Field,
    domain: Field,
    department: Field,
    doc_type: Field,
    tag: Field,
    source: Field,
}

/// The BM25 index of one collection.
pub struct Bm25Index {
    index: Index,
    reader: IndexReader,
    writer: IndexWriter,
    fields: Fields,
    analyzer: TextAnalyzer,
    dir: PathBuf,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        chunk_id: b.add_u64_field("chunk_id", INDEXED | FAST | STORED),
        text: b.add_text_field("text", text_opts),
        domain: b.add_text_field("domain", STRING),
        department: b.add_text_field("department", STRING),
        doc_type: b.add_text_field("doc_type", STRING),
        tag: b.add_text_field("tag", STRING),
        source: b.add_text_field("source", STRING),
    };
    (b.build(), fields)
}

fn analyzer() -> Result<TextAnalyzer> {
    let stop = StopWordFilter::new(Language::English).ok_or_else(|| {
        IndexError::Bm25(tantivy::TantivyError::InvalidArgument(
            "no English stop words".into(),
        ))
    })?;
    Ok(TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(stop)
        .filter(Stemmer::new(Language::English))
        .build())
}

impl Bm25Index {
    /// Opens the index in `dir`, creating it if absent. Returns the index and the change
    /// sequence number its last commit recorded (0 for a new index).
    ///
    /// # Errors
    /// tantivy errors (an unreadable index: the caller rebuilds).
    pub fn open(dir: &Path) -> Result<(Self, u64)> {
        std::fs::create_dir_all(dir)
            .map_err(|e| IndexError::io(format!("creating {}", dir.display()), e))?;
        let (schema, fields) = schema();
        let index = if dir.join("meta.json").exists() {
            Index::open_in_dir(dir)?
        } else {
            Index::create_in_dir(dir, schema)?
        };
        index.tokenizers().register(TOKENIZER, analyzer()?);
        let seq = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
            .and_then(|v| v.get("seq").and_then(|s| s.as_u64()))
            .unwrap_or(0);
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok((
            Bm25Index {
                index,
                reader,
                writer,
                fields,
                analyzer: analyzer()?,
                dir: dir.to_path_buf(),
            },
            seq,
        ))
    }

    /// The folder of the index.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds chunks (their index text and metadata).
    ///
    /// # Errors
    /// tantivy errors.
    pub fn add(&mut self, chunks: &[ChunkRecord]) -> Result<()> {
        let f = &self.fields;
        for c in chunks {
            let mut d: TantivyDocument = doc!(f.chunk_id => c.id as u64, f.text => c.index_text.as_str(), f.source => c.source.as_str());
            let m = &c.metadata;
            for (field, value) in [
                (f.domain, &m.domain),
                (f.department, &m.department),
                (f.doc_type, &m.doc_type),
            ] {
                if let Some(v) = value {
                    d.add_text(field, v);
                }
            }
            for t in &m.tags {
                d.add_text(f.tag, t);
            }
            self.writer.add_document(d)?;
        }
        Ok(())
    }

    /// Removes chunks by id.
    pub fn remove(&mut self, ids: &[i64]) {
        for id in ids {
            self.writer
                .delete_term(Term::from_field_u64(self.fields.chunk_id, *id as u64));
        }
    }

    /// Drops every document (before a rebuild).
    ///
    /// # Errors
    /// tantivy errors.
    pub fn clear(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Makes everything added and removed durable and visible, recording `seq` in the
    /// commit payload (tantivy swaps its meta file atomically on commit).
    ///
    /// # Errors
    /// tantivy errors.
    pub fn commit(&mut self, seq: u64) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&serde_json::json!({ "seq": seq }).to_string());
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Top `k` chunks for `query` by BM25, restricted to chunks passing `filters`.
    /// Returns `(chunk_id, bm25 score)`, best first.
    ///
    /// # Errors
    /// tantivy errors.
    pub fn search(&self, query: &str, filters: &FilterSet, k: usize) -> Result<Vec<(i64, f32)>> {
        // The query is analysed like the text and its terms ORed, so any user input (quotes,
        // colons, `C++`) is plain words, never query syntax. A term repeated in the query
        // counts once per occurrence, as in Lucene.
        let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(query);
        while let Some(token) = stream.next() {
            let term = Term::from_field_text(self.fields.text, &token.text);
            terms.push((
                Occur::Should,
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
            ));
        }
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(terms));
        let query: Box<dyn Query> = if filters.is_empty() {
            text_query
        } else {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query)];
            for (field, values) in filters.iter() {
                // Filters restrict, they do not score.
                clauses.push((
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(self.any_of(field, values), 0.0)),
                ));
            }
            Box::new(BooleanQuery::new(clauses))
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(k.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let column = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("chunk_id")?;
            if let Some(id) = column.first(addr.doc_id) {
                out.push((id as i64, score));
            }
        }
        Ok(out)
    }

    /// Number of live chunks in the committed index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the committed index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The underlying tantivy index.
    pub fn index(&self) -> &Index {
        &self.index
    }
}

impl Bm25Index {
    /// Ids of all chunks passing `filters` (used to plan the dense leg).
    ///
    /// # Errors
    /// tantivy errors.
    pub fn filter_ids(&self, filters: &FilterSet) -> Result<Vec<i64>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, values) in filters.iter() {
            clauses.push((Occur::Must, self.any_of(field, values)));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let docs = searcher.search(&query, &tantivy::collector::DocSetCollector)?;
        let mut out = Vec::with_capacity(docs.len());
        let mut columns = std::collections::HashMap::new();
        for addr in docs {
            if let std::collections::hash_map::Entry::Vacant(e) = columns.entry(addr.segment_ord) {
                e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .u64("chunk_id")?,
                );
            }
            if let Some(id) = columns
                .get(&addr.segment_ord)
                .and_then(|c| c.first(addr.doc_id))
            {
                out.push(id as i64);
            }
        }
        Ok(out)
    }

    fn any_of(&self, field: FilterField, values: &[String]) -> Box<dyn Query> {
        let f = match field {
            FilterField::Domain => self.fields.domain,
            FilterField::Department => self.fields.department,
            FilterField::DocType => self.fields.doc_type,
            FilterField::Tag => self.fields.tag,
            FilterField::Source => self.fields.source,
        };
        let any: Vec<(Occur, Box<dyn Query>)> = values
            .iter()
            .map(|v| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(f, v),
                    IndexRecordOption::Basic,
                ));
                (Occur::Should, q)
            })
            .collect();
        Box::new(BooleanQuery::new(any))
    }
}
