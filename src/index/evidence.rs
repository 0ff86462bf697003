//! Content-addressed store of captured pages: the exact bytes a referral can prove were seen.
//!
//! Layout: `<dir>/<first 2 hex>/<sha256>.body` (the raw body) and `<sha256>.json` (url,
//! final_url, status, headers, fetched_at, depth, sha256). Files are written atomically (temp
//! file + rename; durable after [`EvidenceStore::sync`]) and never rewritten: identical bodies
//! fetched from several URLs keep the FIRST capture's metadata (the
//! item itself still records its own URL). `get` re-hashes the body, so tampering is detected.

use std::path::{Path, PathBuf};

use super::{IndexError, Result};
use crate::model::Page;
use crate::util::{sha256_hex, sync_filesystem, write_atomic_nosync};

/// A directory of captured pages keyed by the sha256 of their body.
#[derive(Debug, Clone)]
pub struct EvidenceStore {
    dir: PathBuf,
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl EvidenceStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::io(&dir, e))?;
        Ok(EvidenceStore { dir })
    }

    /// Makes every capture written so far durable (one filesystem sync). `put` itself does not
    /// fsync: call this before committing anything that refers to new captures.
    pub fn sync(&self) -> Result<()> {
        sync_filesystem(&self.dir).map_err(|e| IndexError::io(&self.dir, e))
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn paths(&self, sha: &str) -> (PathBuf, PathBuf) {
        let sub = self.dir.join(&sha[..2]);
        (
            sub.join(format!("{sha}.body")),
            sub.join(format!("{sha}.json")),
        )
    }

    /// Stores `page` (idempotent) and returns the sha256 of its body, computed from the bytes.
    pub fn put(&self, page: &Page) -> Result<String> {
        let sha = sha256_hex(&page.body);
        let (body, meta) = self.paths(&sha);
        if let Some(parent) = body.parent() {
            std::fs::create_dir_all(parent).map_err(|e| IndexError::io(parent, e))?;
        }
        if !body.exists() {
            write_atomic_nosync(&body, &page.body).map_err(|e| IndexError::io(&body, e))?;
        }
        if !meta.exists() {
            let mut m = page.clone();
            m.sha256 = sha.clone();
            m.body = Vec::new();
            let json = serde_json::to_vec_pretty(&m).map_err(|e| IndexError::BadLine {
                path: meta.clone(),
                line: 1,
                message: e.to_string(),
            })?;
            write_atomic_nosync(&meta, &json).map_err(|e| IndexError::io(&meta, e))?;
        }
        Ok(sha)
    }

    /// Whether a capture with this sha256 exists.
    pub fn contains(&self, sha: &str) -> bool {
        is_sha256(sha) && self.paths(sha).0.exists()
    }

    /// The captured page, or None when absent (or `sha` is not a lowercase sha256).
    pub fn get(&self, sha: &str) -> Result<Option<Page>> {
        if !is_sha256(sha) {
            return Ok(None);
        }
        let (body_path, meta_path) = self.paths(sha);
        let body = match std::fs::read(&body_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(IndexError::io(&body_path, e)),
        };
        let actual = sha256_hex(&body);
        if actual != sha {
            return Err(IndexError::BadLine {
                path: body_path,
                line: 1,
                message: format!("body hashes to {actual}, not {sha}: evidence was modified"),
            });
        }
        let meta = std::fs::read(&meta_path).map_err(|e| IndexError::io(&meta_path, e))?;
        let mut page: Page = serde_json::from_slice(&meta).map_err(|e| IndexError::BadLine {
            path: meta_path.clone(),
            line: e.line(),
            message: e.to_string(),
        })?;
        page.body = body;
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &[u8]) -> Page {
        Page {
            url: "http://forum1.test/topic/1/".into(),
            final_url: "http://forum1.test/topic/1/".into(),
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.to_vec(),
            fetched_at: time::macros::datetime!(2026-01-02 03:04:05 UTC),
            sha256: String::new(),
            depth: 2,
        }
    }

    #[test]
    fn put_get_round_trip_and_idempotence() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path()).unwrap();
        let p = page(b"<html>hello</html>");
        let sha = store.put(&p).unwrap();
        assert_eq!(sha, sha256_hex(b"<html>hello</html>"));
        assert_eq!(store.put(&p).unwrap(), sha);
        let got = store.get(&sha).unwrap().unwrap();
        assert_eq!(got.body, p.body);
        assert_eq!(got.url, p.url);
        assert_eq!(got.headers, p.headers);
        assert_eq!(got.fetched_at, p.fetched_at);
        assert_eq!(got.sha256, sha);
    }

    #[test]
    fn missing_malformed_and_tampered() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path()).unwrap();
        assert!(store.get(&"0".repeat(64)).unwrap().is_none());
        assert!(store.get("../../etc/passwd").unwrap().is_none());
        let sha = store.put(&page(b"original")).unwrap();
        let body = dir.path().join(&sha[..2]).join(format!("{sha}.body"));
        std::fs::write(&body, b"changed").unwrap();
        let err = store.get(&sha).unwrap_err().to_string();
        assert!(err.contains("modified"), "{err}");
    }
}
