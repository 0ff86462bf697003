//! The narrow seams review and refer need from the index and the evidence store.
//!
//! [`ItemSource`] (items by id, by filter, status updates) and [`EvidenceSource`] (captured pages
//! by sha256) are implemented by the tantivy index and its evidence store, by [`MemoryStore`]
//! (tests) and by [`JsonlStore`], a plain directory (`items.jsonl` plus `evidence/<sha>.json` +
//! `evidence/<sha>.body`) that exercise staff can write by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ReviewError;
use crate::model::{Category, Item, Lang, Page, ReviewStatus};

/// Which items to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFilter {
    /// Only these statuses (empty = any).
    pub status: Vec<ReviewStatus>,
    /// Only items whose verdict lists this category.
    pub category: Option<Category>,
    /// Only items in this language (the verdict's language decision).
    pub lang: Option<Lang>,
    /// Only items on this host.
    pub host: Option<String>,
    /// Only items scoring at least this.
    pub min_score: Option<f32>,
    /// Only items of this near-duplicate cluster.
    pub cluster: Option<String>,
}

impl ItemFilter {
    /// Whether `item` passes.
    pub fn matches(&self, item: &Item) -> bool {
        (self.status.is_empty() || self.status.contains(&item.status))
            && self
                .category
                .is_none_or(|c| item.verdict.categories.contains(&c))
            && self.lang.is_none_or(|l| item.verdict.lang.lang == l)
            && self
                .host
                .as_deref()
                .is_none_or(|h| item.post.host.eq_ignore_ascii_case(h))
            && self.min_score.is_none_or(|m| item.verdict.score >= m)
            && self.cluster.as_deref().is_none_or(|c| item.cluster == c)
    }
}

/// Items with a review status: what review and refer need from the index.
pub trait ItemSource {
    /// One item by id.
    fn get(&self, id: &str) -> Result<Option<Item>, ReviewError>;
    /// All items passing `filter`, in any order.
    fn items(&self, filter: &ItemFilter) -> Result<Vec<Item>, ReviewError>;
    /// Sets the status of these items (durably: committed when this returns).
    fn set_status(&mut self, ids: &[String], status: ReviewStatus) -> Result<(), ReviewError>;
}

/// Captured pages by the sha256 of their body.
pub trait EvidenceSource {
    /// The page whose body hashes to `sha256`, body included.
    fn page(&self, sha256: &str) -> Result<Option<Page>, ReviewError>;
}

/// Items and pages in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    /// Items by id.
    pub items: BTreeMap<String, Item>,
    /// Pages by body sha256.
    pub pages: BTreeMap<String, Page>,
    /// When set, `set_status` fails (to simulate a crash between log and index).
    pub fail_status_updates: bool,
}

impl MemoryStore {
    /// Adds (or replaces) an item.
    pub fn insert(&mut self, item: Item) {
        self.items.insert(item.id.clone(), item);
    }
    /// Adds a page under its `sha256`.
    pub fn insert_page(&mut self, page: Page) {
        self.pages.insert(page.sha256.clone(), page);
    }
}

/// The items of an in-memory map that pass `filter`, in id order.
fn matching(items: &BTreeMap<String, Item>, filter: &ItemFilter) -> Vec<Item> {
    items
        .values()
        .filter(|i| filter.matches(i))
        .cloned()
        .collect()
}

impl ItemSource for MemoryStore {
    fn get(&self, id: &str) -> Result<Option<Item>, ReviewError> {
        Ok(self.items.get(id).cloned())
    }
    fn items(&self, filter: &ItemFilter) -> Result<Vec<Item>, ReviewError> {
        Ok(matching(&self.items, filter))
    }
    fn set_status(&mut self, ids: &[String], status: ReviewStatus) -> Result<(), ReviewError> {
        if self.fail_status_updates {
            return Err(ReviewError::Store(
                "simulated crash before the status update".into(),
            ));
        }
        for id in ids {
            match self.items.get_mut(id) {
                Some(item) => item.status = status,
                None => return Err(ReviewError::UnknownItem(id.clone())),
            }
        }
        Ok(())
    }
}

impl EvidenceSource for MemoryStore {
    fn page(&self, sha256: &str) -> Result<Option<Page>, ReviewError> {
        Ok(self.pages.get(sha256).cloned())
    }
}

/// A directory store: `items.jsonl` (one [`Item`] per line) and `evidence/`.
///
/// Status updates rewrite `items.jsonl` atomically. Meant for small exercise sets and tests; the
/// tantivy index is the store for real scans.
#[derive(Debug, Clone)]
pub struct JsonlStore {
    dir: PathBuf,
    items: BTreeMap<String, Item>,
    order: Vec<String>,
}

impl JsonlStore {
    /// The file that marks a directory as a JSONL store.
    pub const ITEMS: &'static str = "items.jsonl";

    /// Whether `dir` holds a JSONL store.
    pub fn is_store(dir: &Path) -> bool {
        dir.join(Self::ITEMS).is_file()
    }

    /// Opens the store in `dir` (its `items.jsonl` must exist).
    pub fn open(dir: &Path) -> Result<Self, ReviewError> {
        let path = dir.join(Self::ITEMS);
        let text = std::fs::read_to_string(&path).map_err(|e| ReviewError::io(&path, e))?;
        let mut items = BTreeMap::new();
        let mut order = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let item: Item = serde_json::from_str(line).map_err(|e| ReviewError::Parse {
                path: path.clone(),
                line: i + 1,
                column: e.column(),
                message: e.to_string(),
            })?;
            if items.contains_key(&item.id) {
                return Err(ReviewError::Parse {
                    path: path.clone(),
                    line: i + 1,
                    column: 1,
                    message: format!("duplicate item id {:?}", item.id),
                });
            }
            order.push(item.id.clone());
            items.insert(item.id.clone(), item);
        }
        Ok(JsonlStore {
            dir: dir.to_path_buf(),
            items,
            order,
        })
    }

    /// Writes a new store (items, plus pages into `evidence/`).
    pub fn create(dir: &Path, items: &[Item], pages: &[Page]) -> Result<Self, ReviewError> {
        std::fs::create_dir_all(dir).map_err(|e| ReviewError::io(dir, e))?;
        let mut text = String::new();
        for item in items {
            text.push_str(&serde_json::to_string(item).unwrap_or_default());
            text.push('\n');
        }
        let path = dir.join(Self::ITEMS);
        crate::util::write_atomic(&path, text.as_bytes()).map_err(|e| ReviewError::io(&path, e))?;
        for page in pages {
            put_page(dir, page)?;
        }
        Self::open(dir)
    }

    fn save(&self) -> Result<(), ReviewError> {
        let mut text = String::new();
        for id in &self.order {
            if let Some(item) = self.items.get(id) {
                text.push_str(&serde_json::to_string(item).unwrap_or_default());
                text.push('\n');
            }
        }
        let path = self.dir.join(Self::ITEMS);
        crate::util::write_atomic(&path, text.as_bytes()).map_err(|e| ReviewError::io(&path, e))
    }
}

/// Stores a page in the store's evidence directory (the index's content-addressed layout).
pub fn put_page(dir: &Path, page: &Page) -> Result<(), ReviewError> {
    crate::index::EvidenceStore::open(dir.join("evidence"))?.put(page)?;
    Ok(())
}

impl ItemSource for JsonlStore {
    fn get(&self, id: &str) -> Result<Option<Item>, ReviewError> {
        Ok(self.items.get(id).cloned())
    }
    fn items(&self, filter: &ItemFilter) -> Result<Vec<Item>, ReviewError> {
        Ok(matching(&self.items, filter))
    }
    fn set_status(&mut self, ids: &[String], status: ReviewStatus) -> Result<(), ReviewError> {
        for id in ids {
            match self.items.get_mut(id) {
                Some(item) => item.status = status,
                None => return Err(ReviewError::UnknownItem(id.clone())),
            }
        }
        self.save()
    }
}

impl EvidenceSource for JsonlStore {
    fn page(&self, sha256: &str) -> Result<Option<Page>, ReviewError> {
        Ok(crate::index::EvidenceStore::open(self.dir.join("evidence"))?.get(sha256)?)
    }
}

/// The store behind a `--index DIR`: a JSONL store when `DIR/items.jsonl` exists, else the
/// tantivy index in DIR with its evidence store (`DIR/evidence`).
#[derive(Debug)]
pub enum DirStore {
    /// `items.jsonl` + `evidence/`.
    Jsonl(JsonlStore),
    /// A tantivy index + evidence store.
    Index(crate::index::IndexStore, crate::index::EvidenceStore),
}

impl DirStore {
    /// Opens the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, ReviewError> {
        if JsonlStore::is_store(dir) {
            return Ok(DirStore::Jsonl(JsonlStore::open(dir)?));
        }
        if dir.join("meta.json").is_file() {
            let index = crate::index::IndexStore::open_or_create(dir)?;
            let evidence = crate::index::EvidenceStore::open(index.evidence_dir())?;
            return Ok(DirStore::Index(index, evidence));
        }
        Err(ReviewError::Store(format!(
            "{}: no item store here (expected {} or an index)",
            dir.display(),
            JsonlStore::ITEMS
        )))
    }
}

impl ItemSource for DirStore {
    fn get(&self, id: &str) -> Result<Option<Item>, ReviewError> {
        match self {
            DirStore::Jsonl(s) => s.get(id),
            DirStore::Index(s, _) => ItemSource::get(s, id),
        }
    }
    fn items(&self, filter: &ItemFilter) -> Result<Vec<Item>, ReviewError> {
        match self {
            DirStore::Jsonl(s) => s.items(filter),
            DirStore::Index(s, _) => ItemSource::items(s, filter),
        }
    }
    fn set_status(&mut self, ids: &[String], status: ReviewStatus) -> Result<(), ReviewError> {
        match self {
            DirStore::Jsonl(s) => s.set_status(ids, status),
            DirStore::Index(s, _) => ItemSource::set_status(s, ids, status),
        }
    }
}

impl EvidenceSource for DirStore {
    fn page(&self, sha256: &str) -> Result<Option<Page>, ReviewError> {
        match self {
            DirStore::Jsonl(s) => s.page(sha256),
            DirStore::Index(_, e) => e.page(sha256),
        }
    }
}
