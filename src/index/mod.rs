//! Flagged Post + Verdict -> Item in a tantivy index: schema, writer, search with snippets and
//! facets, near-duplicate cluster keys, review status, the evidence store and the seen log.
//!
//! Entry point: [`IndexStore::open_or_create`]. One [`ItemWriter`] at a time (tantivy's lock)
//! upserts items by id and commits in batches; after a crash the index holds exactly the last
//! committed batch. Readers ([`IndexStore::search`], [`IndexStore::get`], [`IndexStore::items`])
//! see commits of any process (the reader reloads when `meta.json` changes, and explicitly after
//! this process's own commits).
//!
//! May use: model, util, classify::text (the shared stemmer/normaliser, so search stems like the
//! rules).

pub mod analyzer;
pub mod cluster;
mod error;
pub mod evidence;
pub mod facets;
pub mod schema;
pub mod search;
pub mod seen;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

pub use error::IndexError;
pub use evidence::EvidenceStore;
pub use facets::FacetCount;
pub use search::{Filter, Hit, SearchRequest, SearchResults, Snippet, SortBy};
pub use seen::{SeenRecord, SeenWriter};
pub use writer::{ItemWriter, Upsert};

use crate::model::{Item, ReviewStatus};
use schema::Fields;

/// Result type of this module.
pub type Result<T> = std::result::Result<T, IndexError>;

/// An open index directory: cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct IndexStore {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for IndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexStore")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl IndexStore {
    /// Opens the index in `dir`, creating the directory and an empty index when absent.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::io(&dir, e))?;
        let (schema, fields) = schema::build();
        let mmap = MmapDirectory::open(&dir)
            .map_err(|e| IndexError::tantivy(&dir, tantivy::TantivyError::from(e)))?;
        let index = Index::builder()
            .schema(schema)
            .open_or_create(mmap)
            .map_err(|e| match e {
                tantivy::TantivyError::SchemaError(detail) => IndexError::SchemaMismatch {
                    dir: dir.clone(),
                    detail,
                },
                other => IndexError::tantivy(&dir, other),
            })?;
        analyzer::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(|e| IndexError::tantivy(&dir, e))?;
        Ok(IndexStore {
            inner: Arc::new(Inner {
                dir,
                index,
                reader,
                fields,
            }),
        })
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// `<index>/seen.jsonl`, where a scan logs every post it saw.
    pub fn seen_path(&self) -> PathBuf {
        self.inner.dir.join(seen::SEEN_FILE)
    }

    /// `<index>/evidence`, the default evidence store location.
    pub fn evidence_dir(&self) -> PathBuf {
        self.inner.dir.join("evidence")
    }

    /// A writer with one indexing thread and a 64 MB heap.
    pub fn writer(&self) -> Result<ItemWriter> {
        self.writer_with(1, 64 << 20)
    }

    /// A writer with `threads` indexing threads sharing `heap_bytes` (at least 15 MB/thread).
    pub fn writer_with(&self, threads: usize, heap_bytes: usize) -> Result<ItemWriter> {
        ItemWriter::open(self.clone(), threads.max(1), heap_bytes)
    }

    /// Makes this process's latest commit visible to searches now.
    pub fn reload(&self) -> Result<()> {
        self.inner.reader.reload().map_err(|e| self.err(e))
    }

    /// Number of items.
    pub fn len(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Whether the index holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The item with this id.
    pub fn get(&self, id: &str) -> Result<Option<Item>> {
        let searcher = self.searcher();
        match self.address_of(&searcher, id)? {
            Some(addr) => self.load(&searcher, addr).map(Some),
            None => Ok(None),
        }
    }

    /// Sets the review status of the given items (re-indexing each), commits, and returns how
    /// many were found. Ids not in the index are skipped. Needs the writer lock.
    pub fn set_status(&self, ids: &[String], status: ReviewStatus) -> Result<usize> {
        let mut writer = self.writer()?;
        let mut n = 0;
        for id in ids {
            if writer.set_status(id, status)? {
                n += 1;
            }
        }
        writer.commit()?;
        Ok(n)
    }

    /// Number of items matching `filter`.
    pub fn count(&self, filter: &Filter) -> Result<usize> {
        let query = search::filter_query(&self.inner.fields, filter, None)?;
        self.searcher()
            .search(&query, &Count)
            .map_err(|e| self.err(e))
    }

    /// Every item matching `filter`, in index order, loaded lazily.
    pub fn items(&self, filter: &Filter) -> Result<Items> {
        let query = search::filter_query(&self.inner.fields, filter, None)?;
        let searcher = self.searcher();
        let set = searcher
            .search(&query, &DocSetCollector)
            .map_err(|e| self.err(e))?;
        let mut addrs: Vec<DocAddress> = set.into_iter().collect();
        addrs.sort_unstable();
        Ok(Items {
            store: self.clone(),
            searcher,
            addrs: addrs.into_iter(),
        })
    }

    /// Runs a search.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        search::run(self, req)
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.inner.fields
    }

    pub(crate) fn index(&self) -> &Index {
        &self.inner.index
    }

    pub(crate) fn searcher(&self) -> Searcher {
        self.inner.reader.searcher()
    }

    pub(crate) fn err(&self, e: tantivy::TantivyError) -> IndexError {
        IndexError::tantivy(&self.inner.dir, e)
    }

    pub(crate) fn address_of(&self, searcher: &Searcher, id: &str) -> Result<Option<DocAddress>> {
        let term = Term::from_field_text(self.inner.fields.id, id);
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        let top = searcher
            .search(
                &query as &dyn Query,
                &TopDocs::with_limit(1).order_by_score(),
            )
            .map_err(|e| self.err(e))?;
        Ok(top.first().map(|(_, a)| *a))
    }

    pub(crate) fn load(&self, searcher: &Searcher, addr: DocAddress) -> Result<Item> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(|e| self.err(e))?;
        writer::item_from_doc(&self.inner.fields, &doc).map_err(|(id, message)| {
            IndexError::CorruptItem {
                dir: self.inner.dir.clone(),
                id,
                message,
            }
        })
    }

    pub(crate) fn stored_id(doc: &TantivyDocument, fields: &Fields) -> Option<String> {
        doc.get_first(fields.id)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}

/// Lazily loaded items (see [`IndexStore::items`]).
pub struct Items {
    store: IndexStore,
    searcher: Searcher,
    addrs: std::vec::IntoIter<DocAddress>,
}

impl Iterator for Items {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        let addr = self.addrs.next()?;
        Some(self.store.load(&self.searcher, addr))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.addrs.size_hint()
    }
}

impl ExactSizeIterator for Items {}
