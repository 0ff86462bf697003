//! The tantivy index and its evidence store behind review's seams.
//!
//! [`IndexStore`] implements [`ItemSource`] (filters map onto the index's exact filters, then
//! [`ItemFilter::matches`] re-checks each item so every store agrees on semantics);
//! [`EvidenceStore`] implements [`EvidenceSource`] (it re-hashes bodies on read).

use super::ReviewError;
use super::store::{EvidenceSource, ItemFilter, ItemSource};
use crate::index::{EvidenceStore, Filter, IndexStore};
use crate::model::{Item, Page, ReviewStatus};

fn to_filter(f: &ItemFilter) -> Filter {
    Filter {
        statuses: f.status.clone(),
        categories: f.category.into_iter().collect(),
        langs: f.lang.into_iter().collect(),
        hosts: f.host.iter().map(|h| h.to_ascii_lowercase()).collect(),
        clusters: f.cluster.iter().cloned().collect(),
        min_score: f.min_score,
        ..Filter::default()
    }
}

impl ItemSource for IndexStore {
    fn get(&self, id: &str) -> Result<Option<Item>, ReviewError> {
        Ok(IndexStore::get(self, id)?)
    }

    fn items(&self, filter: &ItemFilter) -> Result<Vec<Item>, ReviewError> {
        let mut out = Vec::new();
        for item in IndexStore::items(self, &to_filter(filter))? {
            let item = item?;
            if filter.matches(&item) {
                out.push(item);
            }
        }
        Ok(out)
    }

    fn set_status(&mut self, ids: &[String], status: ReviewStatus) -> Result<(), ReviewError> {
        let found = IndexStore::set_status(self, ids, status)?;
        if found < ids.len() {
            tracing::warn!(
                "review: {} of {} item(s) not in the index",
                ids.len() - found,
                ids.len()
            );
        }
        IndexStore::reload(self)?;
        Ok(())
    }
}

impl EvidenceSource for EvidenceStore {
    fn page(&self, sha256: &str) -> Result<Option<Page>, ReviewError> {
        Ok(EvidenceStore::get(self, sha256)?)
    }
}
