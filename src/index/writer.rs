//! [`ItemWriter`]: upserts items by id (delete_term + add_document, so re-scans are idempotent),
//! assigns near-duplicate clusters, and commits in batches.

use std::collections::HashMap;

use tantivy::schema::{Facet, Value};
use tantivy::tokenizer::PreTokenizedString;
use tantivy::{DateTime, IndexWriter, TantivyDocument, Term};

use super::cluster::{self, ClusterTable, Signature};
use super::schema::Fields;
use super::{IndexError, IndexStore, Result};
use crate::classify::text::{Token, analyze};
use crate::model::{Item, ReviewStatus, Span, Timestamp};

/// What [`ItemWriter::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// The id was not in the index.
    Added,
    /// The id was there with a different post or verdict: replaced (review status kept).
    Updated,
    /// The id was there with the same post and verdict: nothing written.
    Unchanged,
}

/// The single writer of an index (tantivy holds a lock file while it lives).
pub struct ItemWriter {
    store: IndexStore,
    writer: IndexWriter,
    clusters: ClusterTable,
    /// Items added since the last commit, by id (the committed searcher cannot see them).
    pending: HashMap<String, Item>,
}

impl std::fmt::Debug for ItemWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemWriter")
            .field("dir", &self.store.dir())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl ItemWriter {
    pub(super) fn open(store: IndexStore, threads: usize, heap_bytes: usize) -> Result<Self> {
        let heap = heap_bytes.max(threads * (15 << 20));
        let writer = store
            .index()
            .writer_with_num_threads(threads, heap)
            .map_err(|e| store.err(e))?;
        let clusters = load_clusters(&store)?;
        Ok(ItemWriter {
            store,
            writer,
            clusters,
            pending: HashMap::new(),
        })
    }

    /// Number of items added since the last commit.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Upserts `item` by id. Assigns `cluster` (the given value is ignored); keeps the review
    /// status of an item already in the index; writes nothing when post and verdict are equal to
    /// the indexed ones. Visible to searches after [`ItemWriter::commit`].
    pub fn add(&mut self, item: &Item) -> Result<Upsert> {
        let existing = self.existing(&item.id)?;
        let mut item = item.clone();
        let outcome = match &existing {
            Some(old) if old.post == item.post && old.verdict == item.verdict => {
                return Ok(Upsert::Unchanged);
            }
            Some(old) => {
                item.status = old.status;
                Upsert::Updated
            }
            None => Upsert::Added,
        };
        let tokens = analyze(&item.post.text, item.verdict.lang.lang);
        let sig = cluster::signature_of(&signal_tokens(&item, &tokens));
        let key = self.clusters.assign(sig);
        item.cluster = cluster::key_string(key);
        self.put(item, tokens, &sig, key)?;
        Ok(outcome)
    }

    /// Re-indexes the item `id` with `status`; false when there is no such item.
    pub fn set_status(&mut self, id: &str, status: ReviewStatus) -> Result<bool> {
        let Some(mut item) = self.existing(id)? else {
            return Ok(false);
        };
        item.status = status;
        let tokens = analyze(&item.post.text, item.verdict.lang.lang);
        let sig = cluster::signature_of(&signal_tokens(&item, &tokens));
        let key =
            u64::from_str_radix(&item.cluster, 16).unwrap_or_else(|_| cluster::founder_key(&sig));
        self.put(item, tokens, &sig, key)?;
        Ok(true)
    }

    /// Commits everything added so far; returns the commit's opstamp. After a crash the index
    /// holds exactly what the last successful commit held.
    pub fn commit(&mut self) -> Result<u64> {
        let opstamp = self.writer.commit().map_err(|e| self.store.err(e))?;
        self.pending.clear();
        self.store.reload()?;
        Ok(opstamp)
    }

    /// Drops everything added since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        self.writer.rollback().map_err(|e| self.store.err(e))?;
        self.pending.clear();
        self.clusters = load_clusters(&self.store)?;
        Ok(())
    }

    /// Commits, then waits for background merges to finish and releases the lock.
    pub fn finish(mut self) -> Result<u64> {
        let opstamp = self.commit()?;
        let store = self.store.clone();
        self.writer
            .wait_merging_threads()
            .map_err(|e| store.err(e))?;
        store.reload()?;
        Ok(opstamp)
    }

    fn existing(&self, id: &str) -> Result<Option<Item>> {
        if let Some(item) = self.pending.get(id) {
            return Ok(Some(item.clone()));
        }
        self.store.get(id)
    }

    fn put(&mut self, item: Item, tokens: Vec<Token>, sig: &Signature, cluster: u64) -> Result<()> {
        let fields = self.store.fields();
        let doc = item_to_doc(fields, &item, tokens, sig, cluster).map_err(|message| {
            IndexError::CorruptItem {
                dir: self.store.dir().to_path_buf(),
                id: item.id.clone(),
                message,
            }
        })?;
        self.writer
            .delete_term(Term::from_field_text(fields.id, &item.id));
        self.writer
            .add_document(doc)
            .map_err(|e| self.store.err(e))?;
        self.pending.insert(item.id.clone(), item);
        Ok(())
    }
}

/// The tokens of the paragraphs (blank-line separated) that hold the rules' matches: the
/// near-duplicate key is about the violating message, so a repost keeps its cluster when it is
/// wrapped in different chatter. Without matches, all tokens.
pub(crate) fn signal_tokens(item: &Item, tokens: &[Token]) -> Vec<Token> {
    let text = &item.post.text;
    let mut paras: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices("\n\n") {
        paras.push((start, i));
        start = i + 2;
    }
    paras.push((start, text.len()));
    let spans: Vec<(usize, usize)> = item
        .verdict
        .fired
        .iter()
        .flat_map(|f| f.matches.iter().map(|m| (m.span.start, m.span.end)))
        .collect();
    let keep: Vec<(usize, usize)> = paras
        .into_iter()
        .filter(|&(ps, pe)| spans.iter().any(|&(s, e)| s < pe.max(ps + 1) && e > ps))
        .collect();
    if keep.is_empty() {
        return tokens.to_vec();
    }
    let picked: Vec<Token> = tokens
        .iter()
        .filter(|t| keep.iter().any(|&(ps, pe)| t.start >= ps && t.start < pe))
        .cloned()
        .collect();
    if picked.is_empty() {
        tokens.to_vec()
    } else {
        picked
    }
}

fn load_clusters(store: &IndexStore) -> Result<ClusterTable> {
    let mut table = ClusterTable::new();
    let searcher = store.searcher();
    for seg in searcher.segment_readers() {
        let ff = seg.fast_fields();
        let sigs = ff.u64(super::schema::MINHASH).map_err(|e| store.err(e))?;
        let clusters = ff
            .u64(super::schema::CLUSTER_U64)
            .map_err(|e| store.err(e))?;
        let alive = seg.alive_bitset();
        for doc in 0..seg.max_doc() {
            if alive.is_some_and(|a| !a.is_alive(doc)) {
                continue;
            }
            let packed: Vec<u64> = sigs.values_for_doc(doc).collect();
            if let (Some(sig), Some(c)) = (cluster::unpack(&packed), clusters.first(doc)) {
                table.insert(sig, c);
            }
        }
    }
    Ok(table)
}

fn date(t: Timestamp) -> DateTime {
    DateTime::from_timestamp_secs(t.unix_timestamp())
}

/// A one-level facet. Tantivy separates facet levels with NUL, so a NUL inside a value (never
/// in a real host or rule id) is replaced rather than allowed to split the value.
pub(crate) fn facet(value: &str) -> Facet {
    if value.contains('\0') {
        Facet::from_path([value.replace('\0', "\u{fffd}")])
    } else {
        Facet::from_path([value])
    }
}

/// Builds the tantivy document of an item.
pub(crate) fn item_to_doc(
    f: &Fields,
    item: &Item,
    stem_tokens: Vec<Token>,
    sig: &Signature,
    cluster: u64,
) -> std::result::Result<TantivyDocument, String> {
    let post = &item.post;
    let verdict = &item.verdict;
    let lang = verdict.lang.lang;
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, &item.id);
    doc.add_text(f.url, &post.url);
    doc.add_facet(f.host, facet(&post.host));
    if let Some(kind) = post.site_kind {
        doc.add_text(f.site_kind, kind.as_str());
    }
    if let Some(t) = &post.thread {
        doc.add_text(f.thread, t);
    }
    if let Some(a) = &post.author {
        doc.add_text(f.author, a);
    }
    if let Some(a) = &post.author_url {
        doc.add_text(f.author_url, a);
    }
    if let Some(p) = post.published {
        doc.add_date(f.published, date(p));
    }
    doc.add_date(f.fetched, date(item.fetched_at));
    doc.add_facet(f.lang, facet(lang.code()));
    doc.add_text(f.text, &post.text);
    let stem = f.stem(lang);
    // The text is analysed once, in `add`: the same tokens feed the MinHash and this field.
    let tokens = stem_tokens
        .into_iter()
        .filter(|t| !t.text.is_empty())
        .enumerate()
        .map(|(position, t)| tantivy::tokenizer::Token {
            offset_from: t.start,
            offset_to: t.end,
            position,
            text: t.text,
            position_length: 1,
        })
        .collect();
    doc.add_pre_tokenized_text(
        stem,
        PreTokenizedString {
            text: post.text.clone(),
            tokens,
        },
    );
    if let Some(t) = &post.title {
        doc.add_text(f.title, t);
        doc.add_text(stem, t);
    }
    doc.add_f64(f.score, f64::from(verdict.score));
    for c in &verdict.categories {
        doc.add_facet(f.category, facet(c.as_str()));
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut rules: Vec<&str> = Vec::new();
    for fired in &verdict.fired {
        if !rules.contains(&fired.rule.0.as_str()) {
            rules.push(&fired.rule.0);
        }
        spans.extend(fired.matches.iter().map(|m| m.span));
    }
    spans.sort_unstable();
    spans.dedup();
    for r in rules {
        doc.add_facet(f.rule, facet(r));
    }
    doc.add_text(
        f.spans,
        serde_json::to_string(&spans).map_err(|e| e.to_string())?,
    );
    doc.add_text(f.page_sha256, &item.page_sha256);
    doc.add_text(f.cluster, &item.cluster);
    for v in cluster::pack(sig) {
        doc.add_u64(f.minhash, v);
    }
    doc.add_u64(f.cluster_u64, cluster);
    doc.add_facet(f.status, facet(item.status.as_str()));
    let mut stored = item.clone();
    stored.post.text = String::new();
    doc.add_text(
        f.item,
        serde_json::to_string(&stored).map_err(|e| e.to_string())?,
    );
    Ok(doc)
}

/// Rebuilds the item from its stored document; errors carry (id, message).
pub(crate) fn item_from_doc(
    f: &Fields,
    doc: &TantivyDocument,
) -> std::result::Result<Item, (String, String)> {
    let id = IndexStore::stored_id(doc, f).unwrap_or_else(|| "<no id>".to_string());
    let json = doc
        .get_first(f.item)
        .and_then(|v| v.as_str())
        .ok_or_else(|| (id.clone(), "no stored item JSON".to_string()))?;
    let mut item: Item = serde_json::from_str(json).map_err(|e| (id.clone(), e.to_string()))?;
    item.post.text = doc
        .get_first(f.text)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    Ok(item)
}
