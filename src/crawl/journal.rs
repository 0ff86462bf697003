//! The resume journal: append-only JSONL, one record per page the sink durably consumed.
//!
//! The crawler `stage`s a page's outlinks and validators before handing the page to the sink;
//! the sink calls `commit(url)` only after it has durably consumed the page (posts written and
//! synced, index committed). Records are fsync'd every `batch` commits and on `sync()`/drop.
//! A crash can lose at most the unsynced tail: those pages are fetched again on resume, so
//! sinks must de-duplicate their output (the CLI keys posts by `(host, post_id)`).
//! A torn last line (killed mid-write) is ignored and cut off on open.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::CrawlError;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// Normalised URL that was requested.
    pub url: String,
    /// HTTP status.
    pub status: u16,
    /// Crawl depth.
    pub depth: u32,
    /// `ETag` of the response, for conditional GET on re-crawl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `Last-Modified` of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// In-scope outlinks (normalised) found on the page.
    #[serde(default)]
    pub links: Vec<String>,
}

/// What a previous run left: every record, last one per URL wins.
#[derive(Debug, Default)]
pub struct JournalState {
    /// Records by URL.
    pub records: HashMap<String, JournalRecord>,
    /// The URLs in the order they first appear in the journal (the order they were crawled).
    pub order: Vec<String>,
}

impl JournalState {
    /// The records in journal order (each URL once, its last record).
    pub fn in_order(&self) -> impl Iterator<Item = &JournalRecord> {
        self.order.iter().filter_map(|u| self.records.get(u))
    }
}

struct Writer {
    w: BufWriter<File>,
    unsynced: usize,
}

/// The journal handle, shared by crawler (stage) and sink (commit).
pub struct Journal {
    path: PathBuf,
    writer: Mutex<Writer>,
    staged: Mutex<HashMap<String, JournalRecord>>,
    batch: usize,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Journal({})", self.path.display())
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CrawlError + '_ {
    move |source| CrawlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Journal {
    /// Opens `path`. With `keep` the existing records are read (and a torn tail cut off);
    /// without it the file is truncated (a fresh crawl).
    pub fn open(
        path: &Path,
        keep: bool,
        batch: usize,
    ) -> Result<(Journal, JournalState), CrawlError> {
        let mut state = JournalState::default();
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(!keep)
            .open(path)
            .map_err(io(path))?;
        if keep {
            let mut good_len: u64 = 0;
            let mut reader = BufReader::new(&mut file);
            let mut line = String::new();
            let mut lineno = 0;
            loop {
                line.clear();
                let n = reader.read_line(&mut line).map_err(io(path))?;
                if n == 0 {
                    break;
                }
                lineno += 1;
                if !line.ends_with('\n') {
                    tracing::warn!("{}:{lineno}: torn journal line dropped", path.display());
                    break;
                }
                match serde_json::from_str::<JournalRecord>(line.trim_end()) {
                    Ok(r) => {
                        if !state.records.contains_key(&r.url) {
                            state.order.push(r.url.clone());
                        }
                        state.records.insert(r.url.clone(), r);
                    }
                    Err(e) => {
                        tracing::warn!("{}:{lineno}: bad journal line skipped: {e}", path.display())
                    }
                }
                good_len += n as u64;
            }
            drop(reader);
            file.set_len(good_len).map_err(io(path))?;
            file.seek(SeekFrom::Start(good_len)).map_err(io(path))?;
        }
        let journal = Journal {
            path: path.to_path_buf(),
            writer: Mutex::new(Writer {
                w: BufWriter::with_capacity(64 << 10, file),
                unsynced: 0,
            }),
            staged: Mutex::new(HashMap::new()),
            batch: batch.max(1),
        };
        Ok((journal, state))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Crawler side: remember a page's record until the sink commits it.
    pub fn stage(&self, record: JournalRecord) {
        if let Ok(mut s) = self.staged.lock() {
            s.insert(record.url.clone(), record);
        }
    }

    /// Sink side: the page at `url` (its `Page::url`) is durably consumed. Appends its record;
    /// fsyncs every `batch` commits.
    pub fn commit(&self, url: &str) -> Result<(), CrawlError> {
        let rec = self
            .staged
            .lock()
            .ok()
            .and_then(|mut s| s.remove(url))
            .unwrap_or_else(|| JournalRecord {
                url: url.to_string(),
                status: 200,
                depth: 0,
                etag: None,
                last_modified: None,
                links: Vec::new(),
            });
        self.append(&rec)
    }

    /// Appends a record directly (the crawler uses it for sitemaps it consumes itself).
    pub fn append(&self, rec: &JournalRecord) -> Result<(), CrawlError> {
        let line = serde_json::to_string(rec).unwrap_or_default();
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.w.write_all(line.as_bytes()).map_err(io(&self.path))?;
        w.w.write_all(b"\n").map_err(io(&self.path))?;
        w.unsynced += 1;
        if w.unsynced >= self.batch {
            w.w.flush().map_err(io(&self.path))?;
            w.w.get_ref().sync_data().map_err(io(&self.path))?;
            w.unsynced = 0;
        }
        Ok(())
    }

    /// Flushes and fsyncs everything committed so far.
    pub fn sync(&self) -> Result<(), CrawlError> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        w.w.flush().map_err(io(&self.path))?;
        w.w.get_ref().sync_data().map_err(io(&self.path))?;
        w.unsynced = 0;
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        {
            let (j, st) = Journal::open(&p, true, 2).unwrap();
            assert!(st.records.is_empty());
            j.stage(JournalRecord {
                url: "http://a.test/".into(),
                status: 200,
                depth: 0,
                etag: Some("\"x\"".into()),
                last_modified: None,
                links: vec!["http://a.test/b".into()],
            });
            j.commit("http://a.test/").unwrap();
            j.commit("http://a.test/c").unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"url\":\"tor")
            .unwrap();
        let (j, st) = Journal::open(&p, true, 2).unwrap();
        assert_eq!(st.records.len(), 2);
        assert_eq!(st.order, ["http://a.test/", "http://a.test/c"]);
        assert_eq!(
            st.records["http://a.test/"].links,
            vec!["http://a.test/b".to_string()]
        );
        j.commit("http://a.test/d").unwrap();
        drop(j);
        let (_, st) = Journal::open(&p, true, 2).unwrap();
        assert_eq!(st.records.len(), 3);
        let (_, st) = Journal::open(&p, false, 2).unwrap();
        assert!(st.records.is_empty());
    }
}
