//! The simulated hosting provider: takes referral bundles, answers with receipts, and later takes
//! the referred pages down (or, at the configured rate, refuses to).
//!
//! Contract (issue 6, "Did it come down?"):
//! - `POST /.well-known/trawl/referrals` on any host, body = a JSON object with
//!   `items: [{"referral_id": str, "content_url": str, ...}]` (other fields ignored). Malformed
//!   JSON, a missing `items` array or an item without a string `referral_id` is a 400 with a
//!   message naming the item; an oversized body is a 413. Otherwise 202 with a receipt.
//! - Items whose URL is not on the receiving host, does not name an existing file, or whose id is
//!   not `^[A-Za-z0-9_-]+$` (or repeats inside the bundle) are listed under `rejected` with a reason.
//! - `removal_delay_ms` after receipt, each accepted page is removed (the server answers 410 Gone
//!   for it), except a `refuse_rate` share, decided by a hash of (fault seed, host, referral id),
//!   which stays up. Status is a pure function of the clock, so no timers are needed and a
//!   restarted server (state in `ROOT/provider-state.json`) keeps its removals.
//! - `GET /.well-known/trawl/referrals/<receipt_id>` on the same host: the receipt with the status
//!   of every item (`pending`, `removed`, `refused`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::faults::uniform_for;
use super::files::relative_file;
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
    /// File path under the host directory that is taken down.
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

#[derive(Debug, Default)]
struct Inner {
    receipts: Vec<StoredReceipt>,
    by_id: HashMap<String, usize>,
    /// (host, file) -> earliest due time of a non-refused removal.
    removals: HashMap<(String, String), u64>,
    counter: u64,
}

impl Inner {
    fn insert(&mut self, r: StoredReceipt) {
        for item in r.accepted.iter().filter(|i| !i.refused) {
            let due = self
                .removals
                .entry((r.host.clone(), item.file.clone()))
                .or_insert(r.due_ms);
            *due = (*due).min(r.due_ms);
        }
        self.by_id.insert(r.receipt_id.clone(), self.receipts.len());
        self.receipts.push(r);
    }
}

/// Why a bundle was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleError(pub String);

/// The provider's state.
#[derive(Debug)]
pub struct Provider {
    inner: Mutex<Inner>,
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

    /// Whether `file` on `host` has been taken down at `now` (unix ms).
    pub fn is_removed(&self, host: &str, file: &str, now: u64) -> bool {
        let inner = self.lock();
        if inner.removals.is_empty() {
            return false;
        }
        inner
            .removals
            .get(&(host.to_string(), file.to_string()))
            .is_some_and(|due| *due <= now)
    }

    /// Takes a bundle posted to `host`. `exists(file)` says whether a file exists on that host.
    pub fn receive(
        &self,
        host: &str,
        body: &[u8],
        exists: impl Fn(&str) -> bool,
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
                Ok(f) if exists(&f) => f,
                _ => {
                    rejected.push(reject(format!("{raw_url}: no such content on {host}")));
                    continue;
                }
            };
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
                let mut v = serde_json::json!({
                    "referral_id": i.referral_id,
                    "content_url": i.content_url,
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
        let yes = |_: &str| true;
        assert!(
            p.receive("a.test", b"{not json", yes)
                .unwrap_err()
                .0
                .contains("not valid JSON")
        );
        assert!(
            p.receive("a.test", b"[]", yes)
                .unwrap_err()
                .0
                .contains("items")
        );
        assert!(
            p.receive("a.test", b"{\"x\":1}", yes)
                .unwrap_err()
                .0
                .contains("items")
        );
        let e = p.receive("a.test", br#"{"items":[{"referral_id":"a","content_url":"http://a.test/"},{"content_url":"x"}]}"#, yes);
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
            {"referral_id":"nourl"}
        ]}"#;
        let r = p.receive("a.test", body, |f| f == "t/1.html").unwrap();
        assert_eq!(r["accepted"], serde_json::json!(["ok-1"]));
        let rejected: Vec<&str> = r["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["referral_id"].as_str().unwrap())
            .collect();
        assert_eq!(rejected, ["ok-1", "other", "gone", "bad id", "nourl"]);
        let id = r["receipt_id"].as_str().unwrap();
        assert!(p.receipt("a.test", id, now_ms()).is_some());
        assert!(p.receipt("b.test", id, now_ms()).is_none());
        assert!(p.is_removed("a.test", "t/1.html", now_ms()));
        assert!(!p.is_removed("a.test", "t/2.html", now_ms()));
    }
}
