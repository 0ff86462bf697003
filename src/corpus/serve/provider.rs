//! The simulated hosting provider: takes referral bundles, answers with receipts, and later takes
//! the referred posts down (or, at the configured rate, refuses to).
//!
//! Contract (issue 6, "Did it come down?"):
//! - `POST /.well-known/trawl/referrals` on any host, body = a JSON object with
//!   `items: [{"referral_id": str, "content_url": str, ...}]` (other fields ignored). Malformed
//!   JSON, a missing `items` array or an item without a string `referral_id` is a 400 with a
//!   message naming the item; an oversized body is a 413. Otherwise 202 with a receipt.
//! - Items whose URL is not on the receiving host, does not name an existing file, names a post
//!   (fragment) that is no element `id` of its HTML page, or whose id is not `^[A-Za-z0-9_-]+$`
//!   (or repeats inside the bundle) are listed under `rejected` with a reason.
//! - `removal_delay_ms` after receipt, each accepted item is removed, except a `refuse_rate` share,
//!   decided by a hash of (fault seed, host, referral id), which stays up. Removal is per post, as
//!   real providers do it: a URL with a fragment (`/topic/12/page-2.html#p345`) takes down only
//!   the element whose `id` is the fragment (the post block, CONTRACTS.md), which the served page
//!   replaces by a tombstone `<div class="removed">` ([`remove_posts`]); the page keeps answering
//!   200 and the other posts, refused ones included, stay. A URL without a fragment (a status
//!   page, an article), a non-HTML file, or a page none of whose post blocks is left answers
//!   410 Gone. Status is a pure function of the clock, so no timers are needed and a restarted
//!   server (state in `ROOT/provider-state.json`) keeps its removals.
//! - `GET /.well-known/trawl/referrals/<receipt_id>` on the same host: the receipt with the status
//!   of every item (`pending`, `removed`, `refused`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use encoding_rs::Encoding;
use scraper::{Html, Node, Selector};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::faults::uniform_for;
use super::files::{percent_decode, relative_file};
use crate::corpus::CorpusError;

/// Path prefix of the provider endpoint.
pub const ENDPOINT: &str = "/.well-known/trawl/referrals";

/// Format version of `provider-state.json`.
const STATE_FORMAT: u32 = 1;

/// One accepted item of a receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcceptedItem {
    /// The sender's id.
    pub referral_id: String,
    /// The URL as sent.
    pub content_url: String,
    /// File path under the host directory that holds the content.
    pub file: String,
    /// Whether the provider refuses to remove it.
    pub refused: bool,
}

/// One rejected item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejectedItem {
    /// The sender's id (as sent).
    pub referral_id: String,
    /// Why it was rejected.
    pub reason: String,
}

/// A stored receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredReceipt {
    /// Receipt id (`rcpt-` + 16 hex digits).
    pub receipt_id: String,
    /// Host the bundle was posted to.
    pub host: String,
    /// Unix milliseconds of receipt.
    pub received_ms: u64,
    /// Unix milliseconds at which accepted items are removed (or refused).
    pub due_ms: u64,
    /// Accepted items.
    pub accepted: Vec<AcceptedItem>,
    /// Rejected items.
    pub rejected: Vec<RejectedItem>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    format: u32,
    receipts: Vec<StoredReceipt>,
}

/// The non-refused removals of one file.
#[derive(Debug, Default)]
struct FileRemovals {
    /// Earliest due time of a removal of the whole file (a URL without a fragment).
    page: Option<u64>,
    /// Post id (URL fragment) -> earliest due time of its removal.
    posts: HashMap<String, u64>,
}

#[derive(Debug, Default)]
struct Inner {
    receipts: Vec<StoredReceipt>,
    by_id: HashMap<String, usize>,
    /// (host, file) -> what is taken down there, and when.
    removals: HashMap<(String, String), FileRemovals>,
    counter: u64,
}

impl Inner {
    fn insert(&mut self, r: StoredReceipt) {
        for item in r.accepted.iter().filter(|i| !i.refused) {
            let entry = self
                .removals
                .entry((r.host.clone(), item.file.clone()))
                .or_default();
            let due = match post_fragment(&item.content_url) {
                Some(id) => entry.posts.entry(id).or_insert(r.due_ms),
                None => entry.page.get_or_insert(r.due_ms),
            };
            *due = (*due).min(r.due_ms);
        }
        self.by_id.insert(r.receipt_id.clone(), self.receipts.len());
        self.receipts.push(r);
    }
}

/// The post a referred URL names: its fragment, percent-decoded (`None` without one).
pub fn post_fragment(url: &str) -> Option<String> {
    let (_, frag) = url.split_once('#')?;
    (!frag.is_empty()).then(|| decode_fragment(frag))
}

/// Percent-decodes a fragment; the raw text if that fails or is not UTF-8.
fn decode_fragment(frag: &str) -> String {
    percent_decode(frag)
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| frag.to_string())
}

/// What the provider has taken down of one file at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Nothing: serve the file as it is.
    None,
    /// The whole file (410 Gone).
    Page,
    /// These posts (element ids); the rest of the page stays.
    Posts {
        /// Ids of the removed post blocks.
        ids: BTreeSet<String>,
        /// Unix ms of the latest of these removals (when the served body last changed).
        since_ms: u64,
    },
}

/// A page with posts taken out, as [`remove_posts`] renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// No element carries any of the ids: the original bytes stand.
    Unchanged,
    /// Every post block of the page is removed (or the file is not HTML): 410 Gone.
    Gone,
    /// The page with each removed block replaced by a tombstone, in the page's charset.
    Body(Vec<u8>),
}

/// The element that replaces a removed post block. It carries no `id`, so the post's fragment
/// no longer resolves.
pub const TOMBSTONE: &str = "<div class=\"removed\">[removed by provider]</div>";

/// Takes the post blocks with the given element ids out of an HTML page encoded in `encoding`.
///
/// Post blocks are found per the corpus contract: an element whose `id` equals the fragment of a
/// permalink (`<a href="...#ID">`) inside it. Every element whose `id` is in `ids` is replaced by
/// [`TOMBSTONE`]; if no post block of the page is left, the page is [`Rendered::Gone`]. The page
/// is parsed and serialised with html5ever (via scraper) and re-encoded in `encoding`, so it
/// keeps its declared charset; characters the charset cannot hold become numeric references.
pub fn remove_posts(body: &[u8], encoding: &'static Encoding, ids: &BTreeSet<String>) -> Rendered {
    if ids.is_empty() {
        return Rendered::Unchanged;
    }
    let (text, encoding, _) = encoding.decode(body);
    let mut html = Html::parse_document(&text);
    let mut targets = Vec::new();
    for node in html.tree.root().descendants() {
        if let Node::Element(el) = node.value() {
            if el.id().is_some_and(|id| ids.contains(id)) {
                targets.push(node.id());
            }
        }
    }
    if targets.is_empty() {
        return Rendered::Unchanged;
    }
    let posts = post_blocks(&html);
    if !posts.is_empty() && posts.iter().all(|p| ids.contains(p)) {
        return Rendered::Gone;
    }
    let tombstone = tombstone_nodes();
    for target in targets {
        if let Some(mut node) = html.tree.get_mut(target) {
            if let Some((div, label)) = &tombstone {
                node.insert_before(div.clone()).append(label.clone());
            }
            node.detach();
        }
    }
    let out = html.html();
    let (bytes, _, _) = encoding.output_encoding().encode(&out);
    Rendered::Body(bytes.into_owned())
}

/// Every element `id` of an HTML page encoded in `encoding`.
pub fn element_ids(body: &[u8], encoding: &'static Encoding) -> HashSet<String> {
    let (text, _, _) = encoding.decode(body);
    ids_in(&text)
}

/// Every element `id` of an HTML document (also what `trawl refer status` looks for).
pub fn ids_in(text: &str) -> HashSet<String> {
    let html = Html::parse_document(text);
    html.tree
        .root()
        .descendants()
        .filter_map(|n| n.value().as_element().and_then(|e| e.id()))
        .map(String::from)
        .collect()
}

/// Ids of the post blocks of a page: elements whose `id` is the fragment of a link inside them.
fn post_blocks(html: &Html) -> HashSet<String> {
    let mut out = HashSet::new();
    let Ok(links) = Selector::parse("a[href*='#']") else {
        return out;
    };
    for a in html.select(&links) {
        let Some(frag) = a.value().attr("href").and_then(|h| h.split_once('#')) else {
            continue;
        };
        let frag = decode_fragment(frag.1);
        if frag.is_empty() || out.contains(&frag) {
            continue;
        }
        let block = a.ancestors().find(|n| {
            n.value()
                .as_element()
                .and_then(|e| e.id())
                .is_some_and(|id| id == frag)
        });
        if block.is_some() {
            out.insert(frag);
        }
    }
    out
}

/// The tombstone's element and text nodes, parsed from [`TOMBSTONE`].
fn tombstone_nodes() -> Option<(Node, Node)> {
    let frag = Html::parse_fragment(TOMBSTONE);
    let div = frag
        .tree
        .root()
        .descendants()
        .find(|n| n.value().as_element().is_some_and(|e| e.name() == "div"))?;
    let label = div.first_child()?.value().clone();
    Some((div.value().clone(), label))
}

/// One cached rendering: the removed set and source file it was made from.
#[derive(Debug)]
struct CachedRender {
    ids: BTreeSet<String>,
    src_len: u64,
    src_mtime: SystemTime,
    out: Arc<Served>,
}

/// A page as served after per-post removals.
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    /// The static bytes, unchanged.
    Unchanged,
    /// 410 Gone.
    Gone,
    /// A rendered body and its strong ETag.
    Body {
        /// The page bytes.
        bytes: axum::body::Bytes,
        /// Quoted ETag of `bytes`.
        etag: String,
    },
}

/// Why a bundle was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleError(pub String);

/// The provider's state.
#[derive(Debug)]
pub struct Provider {
    inner: Mutex<Inner>,
    /// (host, file) -> the last rendering of that file with posts removed.
    renders: Mutex<HashMap<(String, String), CachedRender>>,
    state_path: Option<PathBuf>,
    /// Serialises writes of the state file so an older snapshot never overwrites a newer one.
    write_lock: tokio::sync::Mutex<()>,
    seed: u64,
    delay_ms: u64,
    refuse_rate: f64,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn rfc3339_ms(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Provider {
    /// A provider; loads `state_path` if it exists.
    pub fn new(
        state_path: Option<PathBuf>,
        seed: u64,
        delay_ms: u64,
        refuse_rate: f64,
    ) -> Result<Self, CorpusError> {
        let mut inner = Inner::default();
        if let Some(path) = state_path.as_ref().filter(|p| p.exists()) {
            let bytes = std::fs::read(path).map_err(|source| CorpusError::Io {
                path: path.clone(),
                source,
            })?;
            let file: StateFile =
                serde_json::from_slice(&bytes).map_err(|source| CorpusError::ServeState {
                    path: path.clone(),
                    source,
                })?;
            for r in file.receipts {
                inner.insert(r);
            }
            inner.counter = inner.receipts.len() as u64;
        }
        Ok(Self {
            inner: Mutex::new(inner),
            renders: Mutex::new(HashMap::new()),
            state_path,
            write_lock: tokio::sync::Mutex::new(()),
            seed,
            delay_ms,
            refuse_rate,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What of `file` on `host` has been taken down at `now` (unix ms).
    pub fn removal(&self, host: &str, file: &str, now: u64) -> Removal {
        let inner = self.lock();
        if inner.removals.is_empty() {
            return Removal::None;
        }
        let Some(r) = inner.removals.get(&(host.to_string(), file.to_string())) else {
            return Removal::None;
        };
        if r.page.is_some_and(|due| due <= now) {
            return Removal::Page;
        }
        let mut ids = BTreeSet::new();
        let mut since_ms = 0;
        for (id, due) in r.posts.iter().filter(|(_, due)| **due <= now) {
            ids.insert(id.clone());
            since_ms = since_ms.max(*due);
        }
        if ids.is_empty() {
            Removal::None
        } else {
            Removal::Posts { ids, since_ms }
        }
    }

    /// Whether `file` on `host` answers 410 Gone at `now` for the removals alone, without looking
    /// at its content (a page whose posts are all removed is only known to be gone by
    /// [`Provider::render`]).
    pub fn is_removed(&self, host: &str, file: &str, now: u64) -> bool {
        self.removal(host, file, now) == Removal::Page
    }

    /// The page `file` on `host` (bytes `body`, size `len`, modified `mtime`, charset
    /// `encoding`) with the posts `ids` removed. Cached per (host, file, ids, len, mtime), so a
    /// page is parsed once per change of its removed set.
    pub fn render(
        &self,
        host: &str,
        file: &str,
        body: &[u8],
        (len, mtime): (u64, SystemTime),
        encoding: &'static Encoding,
        ids: &BTreeSet<String>,
    ) -> Arc<Served> {
        let key = (host.to_string(), file.to_string());
        let renders = || self.renders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = renders().get(&key) {
            if c.ids == *ids && c.src_len == len && c.src_mtime == mtime {
                return Arc::clone(&c.out);
            }
        }
        let is_html = matches!(super::files::content_type(file).0, "text/html");
        let out = Arc::new(if !is_html {
            Served::Gone
        } else {
            match remove_posts(body, encoding, ids) {
                Rendered::Unchanged => Served::Unchanged,
                Rendered::Gone => Served::Gone,
                Rendered::Body(b) => Served::Body {
                    etag: format!("\"{}\"", &crate::util::sha256_hex(&b)[..32]),
                    bytes: b.into(),
                },
            }
        });
        renders().insert(
            key,
            CachedRender {
                ids: ids.clone(),
                src_len: len,
                src_mtime: mtime,
                out: Arc::clone(&out),
            },
        );
        out
    }

    /// Takes a bundle posted to `host`, whose pages are encoded in `encoding`. `read(file)` gives
    /// the bytes of a file on that host (`None`: no such file). An item whose URL names a post
    /// (a fragment) on an HTML page without an element of that `id` is rejected.
    pub fn receive(
        &self,
        host: &str,
        body: &[u8],
        encoding: &'static Encoding,
        read: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<Value, BundleError> {
        let doc: Value = serde_json::from_slice(body).map_err(|e| {
            BundleError(format!(
                "bundle is not valid JSON: {e} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let items = doc
            .as_object()
            .ok_or_else(|| {
                BundleError("bundle must be a JSON object with an `items` array".into())
            })?
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| BundleError("bundle has no `items` array".into()))?;
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        let mut seen = HashSet::new();
        // file -> its element ids (HTML) or `None` (not HTML), read once per bundle.
        let mut pages: HashMap<String, Option<HashSet<String>>> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let obj = item
                .as_object()
                .ok_or_else(|| BundleError(format!("items[{i}] is not a JSON object")))?;
            let id = obj
                .get("referral_id")
                .and_then(Value::as_str)
                .ok_or_else(|| BundleError(format!("items[{i}] has no string `referral_id`")))?;
            let reject = |reason: String| RejectedItem {
                referral_id: id.to_string(),
                reason,
            };
            if !valid_id(id) {
                rejected.push(reject("referral_id must match ^[A-Za-z0-9_-]+$".into()));
                continue;
            }
            if !seen.insert(id.to_string()) {
                rejected.push(reject("duplicate referral_id in this bundle".into()));
                continue;
            }
            let Some(raw_url) = obj.get("content_url").and_then(Value::as_str) else {
                rejected.push(reject("no string `content_url`".into()));
                continue;
            };
            let url = match url::Url::parse(raw_url) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => u,
                Ok(_) => {
                    rejected.push(reject(format!("{raw_url}: not an http(s) URL")));
                    continue;
                }
                Err(e) => {
                    rejected.push(reject(format!("{raw_url}: invalid URL: {e}")));
                    continue;
                }
            };
            let url_host = url
                .host_str()
                .unwrap_or("")
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if url_host != host {
                rejected.push(reject(format!("{raw_url}: not hosted here ({host})")));
                continue;
            }
            let file = match relative_file(url.path()) {
                Ok(f) if pages.contains_key(&f) => f,
                Ok(f) => match read(&f) {
                    Some(bytes) => {
                        let html = super::files::content_type(&f).0 == "text/html";
                        let ids = html.then(|| element_ids(&bytes, encoding));
                        pages.insert(f.clone(), ids);
                        f
                    }
                    None => {
                        rejected.push(reject(format!("{raw_url}: no such content on {host}")));
                        continue;
                    }
                },
                Err(_) => {
                    rejected.push(reject(format!("{raw_url}: no such content on {host}")));
                    continue;
                }
            };
            if let (Some(post), Some(Some(ids))) = (post_fragment(raw_url), pages.get(&file)) {
                if !ids.contains(&post) {
                    rejected.push(reject(format!(
                        "{raw_url}: no element with id \"{post}\" on that page"
                    )));
                    continue;
                }
            }
            let refused =
                uniform_for(self.seed, &format!("refuse\0{host}\0{id}")) < self.refuse_rate;
            accepted.push(AcceptedItem {
                referral_id: id.to_string(),
                content_url: raw_url.to_string(),
                file,
                refused,
            });
        }
        let received_ms = now_ms();
        let mut inner = self.lock();
        inner.counter += 1;
        let key = format!("{}\0{host}\0{received_ms}\0{}", self.seed, inner.counter);
        let mut hasher_input = key.into_bytes();
        hasher_input.extend_from_slice(body);
        let receipt_id = format!("rcpt-{}", &crate::util::sha256_hex(&hasher_input)[..16]);
        let receipt = StoredReceipt {
            receipt_id,
            host: host.to_string(),
            received_ms,
            due_ms: received_ms.saturating_add(self.delay_ms),
            accepted,
            rejected,
        };
        let json = render(&receipt, received_ms);
        inner.insert(receipt);
        Ok(json)
    }

    /// The receipt `id` as posted to `host`, with item statuses at `now`.
    pub fn receipt(&self, host: &str, id: &str, now: u64) -> Option<Value> {
        let inner = self.lock();
        let r = inner
            .by_id
            .get(id)
            .map(|i| &inner.receipts[*i])
            .filter(|r| r.host == host)?;
        Some(render(r, now))
    }

    /// Writes the state file (atomically), if persistence is on and there is anything to keep.
    pub async fn persist(&self) -> Result<(), CorpusError> {
        let Some(path) = self.state_path.clone() else {
            return Ok(());
        };
        let _guard = self.write_lock.lock().await;
        let bytes = {
            let inner = self.lock();
            if inner.receipts.is_empty() {
                return Ok(());
            }
            let file = StateFile {
                format: STATE_FORMAT,
                receipts: inner.receipts.clone(),
            };
            serde_json::to_vec_pretty(&file).unwrap_or_default()
        };
        let p = path.clone();
        tokio::task::spawn_blocking(move || crate::util::write_atomic(&p, &bytes))
            .await
            .map_err(|e| CorpusError::Io {
                path: path.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| CorpusError::Io { path, source })
    }
}

fn render(r: &StoredReceipt, now: u64) -> Value {
    let due = r.due_ms <= now;
    let items: Vec<Value> =
        r.accepted
            .iter()
            .map(|i| {
                let status = match (due, i.refused) {
                    (false, _) => "pending",
                    (true, true) => "refused",
                    (true, false) => "removed",
                };
                let scope = if post_fragment(&i.content_url).is_some() {
                    "post"
                } else {
                    "page"
                };
                let mut v = serde_json::json!({
                    "referral_id": i.referral_id,
                    "content_url": i.content_url,
                    "scope": scope,
                    "status": status,
                });
                match status {
                    "removed" => v["removed_at"] = Value::String(rfc3339_ms(r.due_ms)),
                    "refused" => v["reason"] = Value::String(
                        "the provider reviewed the content and declined to remove it (simulated)"
                            .into(),
                    ),
                    _ => {}
                }
                v
            })
            .collect();
    serde_json::json!({
        "receipt_id": r.receipt_id,
        "received_at": rfc3339_ms(r.received_ms),
        "host": r.host,
        "decision_due_at": rfc3339_ms(r.due_ms),
        "accepted": r.accepted.iter().map(|i| i.referral_id.clone()).collect::<Vec<_>>(),
        "rejected": r.rejected,
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(rate: f64) -> Provider {
        Provider::new(None, 42, 0, rate).unwrap()
    }

    #[test]
    fn bad_bundles_are_refused_with_reasons() {
        let p = provider(0.0);
        let yes = |_: &str| Some(Vec::new());
        let utf8 = encoding_rs::UTF_8;
        assert!(
            p.receive("a.test", b"{not json", utf8, yes)
                .unwrap_err()
                .0
                .contains("not valid JSON")
        );
        assert!(
            p.receive("a.test", b"[]", utf8, yes)
                .unwrap_err()
                .0
                .contains("items")
        );
        assert!(
            p.receive("a.test", b"{\"x\":1}", utf8, yes)
                .unwrap_err()
                .0
                .contains("items")
        );
        let e = p.receive("a.test", br#"{"items":[{"referral_id":"a","content_url":"http://a.test/"},{"content_url":"x"}]}"#, utf8, yes);
        assert!(e.unwrap_err().0.contains("items[1]"));
    }

    #[test]
    fn items_are_checked() {
        let p = provider(0.0);
        let body = br#"{"bundle":"b1","items":[
            {"referral_id":"ok-1","content_url":"http://a.test/t/1.html#p1","extra":true},
            {"referral_id":"ok-1","content_url":"http://a.test/t/1.html"},
            {"referral_id":"other","content_url":"http://b.test/t/1.html"},
            {"referral_id":"gone","content_url":"http://a.test/missing.html"},
            {"referral_id":"bad id","content_url":"http://a.test/t/1.html"},
            {"referral_id":"nourl"},
            {"referral_id":"nopost","content_url":"http://a.test/t/1.html#p9"},
            {"referral_id":"feed","content_url":"http://a.test/feed.json#p9"}
        ]}"#;
        let page = "<div id=\"p1\"><a href=\"#p1\">#1</a></div><div id=\"p2\"></div>";
        let files = |f: &str| match f {
            "t/1.html" => Some(page.as_bytes().to_vec()),
            "feed.json" => Some(b"{}".to_vec()),
            _ => None,
        };
        let r = p
            .receive("a.test", body, encoding_rs::UTF_8, files)
            .unwrap();
        assert_eq!(r["accepted"], serde_json::json!(["ok-1", "feed"]));
        let rejected: Vec<&str> = r["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["referral_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            rejected,
            ["ok-1", "other", "gone", "bad id", "nourl", "nopost"]
        );
        assert!(
            r["rejected"][5]["reason"]
                .as_str()
                .unwrap()
                .contains("no element with id \"p9\""),
            "{r}"
        );
        assert_eq!(r["items"][0]["scope"], "post");
        let id = r["receipt_id"].as_str().unwrap();
        assert!(p.receipt("a.test", id, now_ms()).is_some());
        assert!(p.receipt("b.test", id, now_ms()).is_none());
        // The URL names post p1: only that post is removed, not the page.
        assert!(!p.is_removed("a.test", "t/1.html", now_ms()));
        assert!(matches!(
            p.removal("a.test", "t/1.html", now_ms()),
            Removal::Posts { ids, .. } if ids == BTreeSet::from(["p1".to_string()])
        ));
        assert_eq!(p.removal("a.test", "t/2.html", now_ms()), Removal::None);
    }

    /// A forum page with three post blocks, each holding its permalink.
    fn forum_page(charset: &str, body: &str) -> String {
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"{charset}\"><title>Тема</title></head>\
             <body><div class=\"thread\">{body}</div></body></html>"
        )
    }

    fn three_posts() -> String {
        (1..=3)
            .map(|n| {
                format!(
                    "<article class=\"post\" id=\"p{n}\"><a href=\"/topic/7/#p{n}\">#{n}</a>\
                     <p>Сообщение номер {n}: привет, форум</p></article>"
                )
            })
            .collect()
    }

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// Element ids and the text of a served page, decoded in `enc`.
    fn ids_and_text(body: &[u8], enc: &'static Encoding) -> (BTreeSet<String>, String) {
        let (text, _, errors) = enc.decode(body);
        assert!(!errors, "the page decodes cleanly in {}", enc.name());
        let html = Html::parse_document(&text);
        let all = Selector::parse("[id]").unwrap();
        let found = html
            .select(&all)
            .filter_map(|e| e.value().id().map(String::from))
            .collect();
        (found, html.root_element().text().collect())
    }

    #[test]
    fn removes_one_post_block_from_a_utf8_page() {
        let page = forum_page("utf-8", &three_posts());
        let Rendered::Body(out) = remove_posts(page.as_bytes(), encoding_rs::UTF_8, &ids(&["p2"]))
        else {
            panic!("expected a body");
        };
        let (found, text) = ids_and_text(&out, encoding_rs::UTF_8);
        assert_eq!(found, ids(&["p1", "p3"]));
        assert!(
            text.contains("номер 1") && text.contains("номер 3"),
            "{text}"
        );
        assert!(!text.contains("номер 2"), "{text}");
        assert_eq!(text.matches("[removed by provider]").count(), 1);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(TOMBSTONE), "{out}");
        // The tombstone stands where the post stood.
        let (p1, tomb, p3) = (
            out.find("id=\"p1\"").unwrap(),
            out.find(TOMBSTONE).unwrap(),
            out.find("id=\"p3\"").unwrap(),
        );
        assert!(p1 < tomb && tomb < p3);
        assert!(out.starts_with("<!DOCTYPE html>"), "{out}");
    }

    #[test]
    fn removes_post_blocks_from_a_windows_1251_page_and_keeps_its_charset() {
        let enc = encoding_rs::WINDOWS_1251;
        let source = forum_page("windows-1251", &three_posts());
        let (page, _, _) = enc.encode(&source);
        assert!(
            std::str::from_utf8(&page).is_err(),
            "the fixture is not UTF-8"
        );
        let Rendered::Body(out) = remove_posts(&page, enc, &ids(&["p1", "p3", "p9"])) else {
            panic!("expected a body");
        };
        assert!(std::str::from_utf8(&out).is_err(), "re-encoded, not UTF-8");
        let (found, text) = ids_and_text(&out, enc);
        assert_eq!(found, ids(&["p2"]));
        assert!(text.contains("Сообщение номер 2: привет, форум"), "{text}");
        assert!(text.contains("Тема"), "{text}");
        assert_eq!(text.matches("[removed by provider]").count(), 2);
        let (decoded, _, _) = enc.decode(&out);
        assert!(
            decoded.contains("<meta charset=\"windows-1251\">"),
            "{decoded}"
        );
    }

    #[test]
    fn a_page_without_its_last_post_is_gone_and_unknown_ids_change_nothing() {
        let page = forum_page("utf-8", &three_posts());
        let all = ids(&["p1", "p2", "p3"]);
        assert_eq!(
            remove_posts(page.as_bytes(), encoding_rs::UTF_8, &all),
            Rendered::Gone
        );
        assert_eq!(
            remove_posts(page.as_bytes(), encoding_rs::UTF_8, &ids(&["p99"])),
            Rendered::Unchanged
        );
        assert_eq!(
            remove_posts(page.as_bytes(), encoding_rs::UTF_8, &BTreeSet::new()),
            Rendered::Unchanged
        );
        // A GBK page: characters outside the charset come back as references, never lost.
        let source = forum_page("gbk", &three_posts()).replace("форум", "论坛 🙂");
        let (gbk, _, _) = encoding_rs::GBK.encode(&source);
        let Rendered::Body(out) = remove_posts(&gbk, encoding_rs::GBK, &ids(&["p1"])) else {
            panic!("expected a body");
        };
        let (_, text) = ids_and_text(&out, encoding_rs::GBK);
        assert!(text.contains("номер 2: привет, 论坛 🙂"), "{text}");
    }

    #[test]
    fn renders_are_cached_per_removed_set() {
        let p = provider(0.0);
        let page = forum_page("utf-8", &three_posts());
        let src = (page.len() as u64, UNIX_EPOCH);
        let enc = encoding_rs::UTF_8;
        let a = p.render(
            "a.test",
            "topic/7/index.html",
            page.as_bytes(),
            src,
            enc,
            &ids(&["p1"]),
        );
        let b = p.render(
            "a.test",
            "topic/7/index.html",
            page.as_bytes(),
            src,
            enc,
            &ids(&["p1"]),
        );
        assert!(
            Arc::ptr_eq(&a, &b),
            "same removed set: the cached rendering"
        );
        let c = p.render(
            "a.test",
            "topic/7/index.html",
            page.as_bytes(),
            src,
            enc,
            &ids(&["p1", "p2"]),
        );
        let (Served::Body { etag: ea, .. }, Served::Body { etag: ec, .. }) = (&*a, &*c) else {
            panic!("expected bodies");
        };
        assert_ne!(ea, ec, "a different body has a different ETag");
        let all = ids(&["p1", "p2", "p3"]);
        assert_eq!(
            *p.render(
                "a.test",
                "topic/7/index.html",
                page.as_bytes(),
                src,
                enc,
                &all
            ),
            Served::Gone
        );
        assert_eq!(
            *p.render("a.test", "feed.json", b"{}", src, enc, &ids(&["p1"])),
            Served::Gone,
            "a post of a non-HTML file cannot be cut out: the file goes"
        );
    }

    #[test]
    fn fragments_name_posts() {
        assert_eq!(
            post_fragment("http://a.test/t/1.html#p1").as_deref(),
            Some("p1")
        );
        assert_eq!(
            post_fragment("http://a.test/t/1.html#p%20x").as_deref(),
            Some("p x")
        );
        assert_eq!(post_fragment("http://a.test/t/1.html#"), None);
        assert_eq!(post_fragment("http://a.test/@x/status/1.html"), None);
    }
}
