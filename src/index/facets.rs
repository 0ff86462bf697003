//! Facet counts over a query: category, language, host, rule and review status.

use serde::Serialize;
use tantivy::collector::{FacetCollector, FacetCounts, MultiCollector};
use tantivy::query::Query;
use tantivy::schema::Facet;

use super::schema;
use super::{IndexStore, Result};

/// One facet value and the number of matching items that carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The value (`incitement`, `ru`, `forum1.test`, a rule id, `pending`).
    pub value: String,
    /// Matching items with this value.
    pub count: u64,
}

/// Facet counts of a search, each list sorted by descending count, then value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// By category.
    pub category: Vec<FacetCount>,
    /// By language.
    pub lang: Vec<FacetCount>,
    /// By host.
    pub host: Vec<FacetCount>,
    /// By fired rule.
    pub rule: Vec<FacetCount>,
    /// By review status.
    pub status: Vec<FacetCount>,
}

/// The facet fields, in output order.
pub const FACET_FIELDS: [&str; 5] = [
    schema::CATEGORY,
    schema::LANG,
    schema::HOST,
    schema::RULE,
    schema::STATUS,
];

fn counts(c: &FacetCounts) -> Vec<FacetCount> {
    let mut v: Vec<FacetCount> = c
        .get(Facet::root())
        .map(|(facet, count)| FacetCount {
            value: facet
                .to_path()
                .last()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v
}

/// Counts every facet over the items matching `query`.
pub fn collect(store: &IndexStore, query: &dyn Query) -> Result<Facets> {
    let mut multi = MultiCollector::new();
    let handles: Vec<_> = FACET_FIELDS
        .iter()
        .map(|name| {
            let mut c = FacetCollector::for_field(*name);
            c.add_facet(Facet::root());
            multi.add_collector(c)
        })
        .collect();
    let mut fruits = store
        .searcher()
        .search(query, &multi)
        .map_err(|e| store.err(e))?;
    let mut lists: Vec<Vec<FacetCount>> = handles
        .into_iter()
        .map(|h| counts(&h.extract(&mut fruits)))
        .collect();
    let status = lists.pop().unwrap_or_default();
    let rule = lists.pop().unwrap_or_default();
    let host = lists.pop().unwrap_or_default();
    let lang = lists.pop().unwrap_or_default();
    let category = lists.pop().unwrap_or_default();
    Ok(Facets {
        category,
        lang,
        host,
        rule,
        status,
    })
}
