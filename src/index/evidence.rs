//! Content-addressed store of captured pages: the exact bytes a referral can prove were seen.
//!
//! Two layouts, both read by [`EvidenceStore::get`] and [`EvidenceStore::contains`]:
//!
//! - Loose files, written by a store opened with [`EvidenceStore::open`]:
//!   `<dir>/<first 2 hex>/<sha256>.body` (the raw body) and `<sha256>.json` (url, final_url,
//!   status, headers, fetched_at, depth, sha256). Files are written atomically (temp file +
//!   rename; durable after [`EvidenceStore::sync`]). This is the layout staff can write by hand.
//! - Pack files, written by a store opened with [`EvidenceStore::open_packed`] (the scan):
//!   `<dir>/packs/<name>.pack`, append-only, one record per capture:
//!   `TRWLEV01` | sha256 (64 lowercase hex) | meta length (u32 LE) | body length (u64 LE) |
//!   meta JSON (as in `<sha256>.json`) | body. One `write` per capture instead of creating two
//!   files (and two temp files): on the scan's ext4 disk, inode allocation for evidence files took
//!   about a fifth of the scan's CPU. Each writing store appends to packs of its own (a new file
//!   per open, rotated at [`PACK_ROTATE_BYTES`]), so writers never interleave; readers index the
//!   packs by scanning record headers (lazily, again on a miss), and stop at a torn last record
//!   (a crash mid-append), which is never referenced because [`EvidenceStore::sync`] runs before
//!   the index commit that refers to a capture.
//!
//! Captures are never rewritten: identical bodies fetched from several URLs keep the FIRST
//! capture's metadata (the item itself still records its own URL). `get` re-hashes the body, so
//! tampering is detected.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{IndexError, Result};
use crate::model::Page;
use crate::util::{sha256_hex, sync_filesystem, write_atomic_nosync};

/// A writing store starts a new pack once its current one reaches this size (checked on sync).
pub const PACK_ROTATE_BYTES: u64 = 1 << 30;

const MAGIC: &[u8; 8] = b"TRWLEV01";
const HEADER_LEN: usize = 8 + 64 + 4 + 8;
/// Largest meta JSON a reader accepts (a corrupt length must not allocate gigabytes).
const MAX_META: u32 = 16 << 20;

/// A directory of captured pages keyed by the sha256 of their body. Cheap to clone; clones
/// share the pack index and the pack writer.
#[derive(Debug, Clone)]
pub struct EvidenceStore {
    dir: PathBuf,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    index: Mutex<PackIndex>,
    /// Present when opened with `open_packed`: `put` appends here.
    writer: Option<Mutex<PackWriter>>,
}

/// Where a packed capture lives.
#[derive(Debug, Clone, Copy)]
struct Loc {
    pack: usize,
    /// Offset of the meta JSON (the body follows it).
    offset: u64,
    meta_len: u32,
    body_len: u64,
}

#[derive(Debug)]
struct PackFile {
    path: PathBuf,
    /// Records up to this offset are indexed.
    scanned: u64,
}

/// The sha256 -> location map of every pack in `<dir>/packs`.
#[derive(Debug, Default)]
struct PackIndex {
    loaded: bool,
    packs: Vec<PackFile>,
    entries: HashMap<[u8; 32], Loc>,
}

#[derive(Debug)]
struct PackWriter {
    /// The pack being appended to (created on the first put, and again after a rotation).
    current: Option<(usize, File, u64)>,
    /// Files written since the last sync (the current one and any rotated away).
    unsynced: Vec<File>,
    /// A pack file was created since the last sync: its directory entry needs an fsync.
    new_file: bool,
    seq: u32,
    /// Reused record buffer.
    buf: Vec<u8>,
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn key_of(sha: &str) -> Option<[u8; 32]> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(sha, &mut k).ok()?;
    Some(k)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn bad(path: &Path, message: impl Into<String>) -> IndexError {
    IndexError::BadLine {
        path: path.to_path_buf(),
        line: 1,
        message: message.into(),
    }
}

/// The page's metadata record (everything but the body, with `sha256` set).
fn meta_json(page: &Page, sha: &str, pretty: bool, path: &Path) -> Result<Vec<u8>> {
    let m = Page {
        url: page.url.clone(),
        final_url: page.final_url.clone(),
        status: page.status,
        headers: page.headers.clone(),
        body: Vec::new(),
        fetched_at: page.fetched_at,
        sha256: sha.to_string(),
        depth: page.depth,
    };
    let json = if pretty {
        serde_json::to_vec_pretty(&m)
    } else {
        serde_json::to_vec(&m)
    };
    json.map_err(|e| bad(path, e.to_string()))
}

impl EvidenceStore {
    /// Opens (creating) the store in `dir`; `put` writes loose files.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir.as_ref(), false)
    }

    /// Opens (creating) the store in `dir`; `put` appends to pack files of this store's own
    /// (the bulk layout: one append per capture). Reads see loose files and every pack.
    pub fn open_packed(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir.as_ref(), true)
    }

    fn open_with(dir: &Path, packed: bool) -> Result<Self> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::io(&dir, e))?;
        let writer = packed.then(|| {
            Mutex::new(PackWriter {
                current: None,
                unsynced: Vec::new(),
                new_file: false,
                seq: 0,
                buf: Vec::new(),
            })
        });
        Ok(EvidenceStore {
            dir,
            shared: Arc::new(Shared {
                index: Mutex::new(PackIndex::default()),
                writer,
            }),
        })
    }

    /// Makes every capture written so far durable. A packed store fsyncs its pack files (and
    /// their directory when a pack was created); a loose store syncs the filesystem once (`put`
    /// itself does not fsync). Call this before committing anything that refers to new captures.
    pub fn sync(&self) -> Result<()> {
        let Some(writer) = &self.shared.writer else {
            return sync_filesystem(&self.dir).map_err(|e| IndexError::io(&self.dir, e));
        };
        let mut w = lock(writer);
        for f in w.unsynced.drain(..) {
            f.sync_data().map_err(|e| IndexError::io(&self.dir, e))?;
        }
        if w.new_file {
            for d in [self.packs_dir(), self.dir.clone()] {
                File::open(&d)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| IndexError::io(&d, e))?;
            }
            w.new_file = false;
        }
        if w.current.as_ref().is_some_and(|c| c.2 >= PACK_ROTATE_BYTES) {
            w.current = None;
        }
        Ok(())
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn packs_dir(&self) -> PathBuf {
        self.dir.join("packs")
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
        if let Some(writer) = &self.shared.writer {
            self.put_packed(writer, page, &sha)?;
            return Ok(sha);
        }
        let (body, meta) = self.paths(&sha);
        if let Some(parent) = body.parent() {
            std::fs::create_dir_all(parent).map_err(|e| IndexError::io(parent, e))?;
        }
        if !body.exists() {
            write_atomic_nosync(&body, &page.body).map_err(|e| IndexError::io(&body, e))?;
        }
        if !meta.exists() {
            let json = meta_json(page, &sha, true, &meta)?;
            write_atomic_nosync(&meta, &json).map_err(|e| IndexError::io(&meta, e))?;
        }
        Ok(sha)
    }

    fn put_packed(&self, writer: &Mutex<PackWriter>, page: &Page, sha: &str) -> Result<()> {
        let Some(key) = key_of(sha) else {
            return Err(bad(&self.dir, format!("not a sha256: {sha}")));
        };
        if self.paths(sha).0.exists() {
            return Ok(());
        }
        let packs = self.packs_dir();
        let meta = meta_json(page, sha, false, &packs)?;
        let meta_len = u32::try_from(meta.len())
            .ok()
            .filter(|&n| n <= MAX_META)
            .ok_or_else(|| bad(&packs, "page metadata too large"))?;
        // Writer lock first, then the index: the check and the append are one step, so two
        // workers capturing the same body write it once.
        let mut w = lock(writer);
        let mut index = lock(&self.shared.index);
        if !index.loaded {
            index.refresh(&packs)?;
        }
        if index.entries.contains_key(&key) {
            return Ok(());
        }
        if w.current.is_none() {
            std::fs::create_dir_all(&packs).map_err(|e| IndexError::io(&packs, e))?;
            let (path, file) = loop {
                w.seq += 1;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let path = packs.join(format!("{nanos:020}-{}-{}.pack", std::process::id(), w.seq));
                match std::fs::OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .open(&path)
                {
                    Ok(f) => break (path, f),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(IndexError::io(&path, e)),
                }
            };
            let n = index.packs.len();
            index.packs.push(PackFile { path, scanned: 0 });
            w.current = Some((n, file, 0));
            w.new_file = true;
        }
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(sha.as_bytes());
        buf.extend_from_slice(&meta_len.to_le_bytes());
        buf.extend_from_slice(&(page.body.len() as u64).to_le_bytes());
        buf.extend_from_slice(&meta);
        buf.extend_from_slice(&page.body);
        let written = {
            let Some((pack, file, len)) = w.current.as_mut() else {
                return Err(bad(&packs, "no pack open"));
            };
            let start = *len;
            let res = file.write_all(&buf);
            let path = &index.packs[*pack].path;
            if let Err(e) = res {
                // A partial record may be on disk: never append after it.
                let err = IndexError::io(path, e);
                w.current = None;
                return Err(err);
            }
            *len += buf.len() as u64;
            (*pack, start, *len)
        };
        w.buf = buf;
        let (pack, start, end) = written;
        if let Some((_, file, _)) = &w.current {
            if w.unsynced.is_empty() {
                let f = file
                    .try_clone()
                    .map_err(|e| IndexError::io(&index.packs[pack].path, e))?;
                w.unsynced.push(f);
            }
        }
        index.packs[pack].scanned = end;
        index.entries.insert(
            key,
            Loc {
                pack,
                offset: start + HEADER_LEN as u64,
                meta_len,
                body_len: page.body.len() as u64,
            },
        );
        Ok(())
    }

    /// Whether a capture with this sha256 exists.
    pub fn contains(&self, sha: &str) -> bool {
        is_sha256(sha) && (self.paths(sha).0.exists() || self.locate(sha).ok().flatten().is_some())
    }

    /// The location of a packed capture (re-indexing the packs on a miss).
    fn locate(&self, sha: &str) -> Result<Option<(PathBuf, Loc)>> {
        let Some(key) = key_of(sha) else {
            return Ok(None);
        };
        let mut index = lock(&self.shared.index);
        if index.loaded {
            if let Some(loc) = index.entries.get(&key).copied() {
                return Ok(Some((index.packs[loc.pack].path.clone(), loc)));
            }
        }
        index.refresh(&self.packs_dir())?;
        Ok(index
            .entries
            .get(&key)
            .map(|&loc| (index.packs[loc.pack].path.clone(), loc)))
    }

    /// The captured page, or None when absent (or `sha` is not a lowercase sha256).
    pub fn get(&self, sha: &str) -> Result<Option<Page>> {
        if !is_sha256(sha) {
            return Ok(None);
        }
        let (body_path, meta_path) = self.paths(sha);
        let (body, meta, path) = match std::fs::read(&body_path) {
            Ok(body) => {
                let meta = std::fs::read(&meta_path).map_err(|e| IndexError::io(&meta_path, e))?;
                (body, meta, body_path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some((pack, loc)) = self.locate(sha)? else {
                    return Ok(None);
                };
                let (meta, body) = read_record(&pack, loc)?;
                (body, meta, pack)
            }
            Err(e) => return Err(IndexError::io(&body_path, e)),
        };
        let actual = sha256_hex(&body);
        if actual != sha {
            return Err(bad(
                &path,
                format!("body hashes to {actual}, not {sha}: evidence was modified"),
            ));
        }
        let mut page: Page = serde_json::from_slice(&meta).map_err(|e| IndexError::BadLine {
            path: path.clone(),
            line: e.line(),
            message: e.to_string(),
        })?;
        page.body = body;
        Ok(Some(page))
    }
}

fn read_record(path: &Path, loc: Loc) -> Result<(Vec<u8>, Vec<u8>)> {
    let io = |e| IndexError::io(path, e);
    let mut f = File::open(path).map_err(io)?;
    f.seek(SeekFrom::Start(loc.offset)).map_err(io)?;
    let mut meta = vec![0u8; loc.meta_len as usize];
    f.read_exact(&mut meta).map_err(io)?;
    let body_len =
        usize::try_from(loc.body_len).map_err(|_| bad(path, "capture too large for memory"))?;
    let mut body = vec![0u8; body_len];
    f.read_exact(&mut body).map_err(io)?;
    Ok((meta, body))
}

impl PackIndex {
    /// Indexes packs created, and records appended, since the last refresh. The first record of
    /// a sha wins; scanning a pack stops at a torn or corrupt record.
    fn refresh(&mut self, packs_dir: &Path) -> Result<()> {
        self.loaded = true;
        let mut names: Vec<PathBuf> = match std::fs::read_dir(packs_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pack"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(IndexError::io(packs_dir, e)),
        };
        names.sort();
        for path in names {
            if !self.packs.iter().any(|p| p.path == path) {
                self.packs.push(PackFile { path, scanned: 0 });
            }
        }
        for i in 0..self.packs.len() {
            self.scan_pack(i)?;
        }
        Ok(())
    }

    fn scan_pack(&mut self, pack: usize) -> Result<()> {
        let path = self.packs[pack].path.clone();
        let io = |e| IndexError::io(&path, e);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().map_err(io)?.len();
        let mut pos = self.packs[pack].scanned;
        if pos >= len {
            return Ok(());
        }
        let mut r = BufReader::with_capacity(64 << 10, file);
        r.seek(SeekFrom::Start(pos)).map_err(io)?;
        let mut header = [0u8; HEADER_LEN];
        while pos + HEADER_LEN as u64 <= len {
            r.read_exact(&mut header).map_err(io)?;
            let (magic, rest) = header.split_at(8);
            let (sha, rest) = rest.split_at(64);
            let (meta_len, body_len) = rest.split_at(4);
            let meta_len = u32::from_le_bytes(meta_len.try_into().unwrap_or([0xff; 4]));
            let body_len = u64::from_le_bytes(body_len.try_into().unwrap_or([0xff; 8]));
            let key = std::str::from_utf8(sha)
                .ok()
                .filter(|s| is_sha256(s))
                .and_then(key_of);
            let end = (HEADER_LEN as u64)
                .checked_add(u64::from(meta_len))
                .and_then(|n| n.checked_add(body_len))
                .and_then(|n| n.checked_add(pos));
            let (Some(key), Some(end)) = (key, end) else {
                tracing::warn!("{}: corrupt record at {pos}; rest ignored", path.display());
                break;
            };
            if magic != MAGIC || meta_len > MAX_META {
                tracing::warn!("{}: corrupt record at {pos}; rest ignored", path.display());
                break;
            }
            if end > len {
                break; // torn (crash mid-append) or still being written
            }
            self.entries.entry(key).or_insert(Loc {
                pack,
                offset: pos + HEADER_LEN as u64,
                meta_len,
                body_len,
            });
            let skip = i64::try_from(end - pos - HEADER_LEN as u64)
                .map_err(|_| bad(&path, "record too large"))?;
            r.seek_relative(skip).map_err(io)?;
            pos = end;
        }
        self.packs[pack].scanned = pos;
        Ok(())
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

    fn pack_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("packs"))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn packed_round_trip_seen_by_a_fresh_store_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open_packed(dir.path()).unwrap();
        let a = page(b"<html>a</html>");
        let mut b = page(b"<html>b</html>");
        b.url = "http://forum1.test/topic/2/".into();
        let sa = store.put(&a).unwrap();
        let sb = store.put(&b).unwrap();
        assert_eq!(store.put(&a).unwrap(), sa);
        store.sync().unwrap();
        assert_eq!(sa, sha256_hex(b"<html>a</html>"));
        // No loose files, one pack holding two records.
        assert!(!store.paths(&sa).0.exists());
        let packs = pack_files(dir.path());
        assert_eq!(packs.len(), 1);
        let len = std::fs::metadata(&packs[0]).unwrap().len();
        let got = store.get(&sb).unwrap().unwrap();
        assert_eq!(got.body, b.body);
        assert_eq!(got.url, b.url);
        // A fresh store (another process) finds both; a second packed writer adds nothing for a
        // body already captured, and creates no pack file.
        let other = EvidenceStore::open_packed(dir.path()).unwrap();
        assert!(other.contains(&sa) && other.contains(&sb));
        assert_eq!(other.put(&a).unwrap(), sa);
        other.sync().unwrap();
        assert_eq!(pack_files(dir.path()).len(), 1);
        assert_eq!(std::fs::metadata(&packs[0]).unwrap().len(), len);
        let reader = EvidenceStore::open(dir.path()).unwrap();
        let got = reader.get(&sa).unwrap().unwrap();
        assert_eq!(got.body, a.body);
        assert_eq!(got.headers, a.headers);
        assert_eq!(got.fetched_at, a.fetched_at);
        assert_eq!(got.sha256, sa);
        assert!(!reader.contains(&"0".repeat(64)));
        assert!(reader.get(&"0".repeat(64)).unwrap().is_none());
    }

    #[test]
    fn reader_sees_captures_appended_after_it_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let writer = EvidenceStore::open_packed(dir.path()).unwrap();
        let reader = EvidenceStore::open(dir.path()).unwrap();
        let s1 = writer.put(&page(b"first")).unwrap();
        assert!(reader.contains(&s1));
        let s2 = writer.put(&page(b"second")).unwrap();
        assert_eq!(reader.get(&s2).unwrap().unwrap().body, b"second");
    }

    #[test]
    fn torn_pack_tail_is_ignored_and_tampered_pack_body_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open_packed(dir.path()).unwrap();
        let s1 = store.put(&page(b"kept capture")).unwrap();
        let s2 = store.put(&page(b"torn capture")).unwrap();
        store.sync().unwrap();
        let pack = pack_files(dir.path()).remove(0);
        let bytes = std::fs::read(&pack).unwrap();
        // Cut the second record short (a crash mid-append).
        std::fs::write(&pack, &bytes[..bytes.len() - 3]).unwrap();
        let reader = EvidenceStore::open(dir.path()).unwrap();
        assert_eq!(reader.get(&s1).unwrap().unwrap().body, b"kept capture");
        assert!(reader.get(&s2).unwrap().is_none());
        assert!(!reader.contains(&s2));
        // Garbage after a record: ignored, not a panic.
        let mut junk = bytes.clone();
        junk.extend_from_slice(&[0xff; HEADER_LEN + 7]);
        std::fs::write(&pack, &junk).unwrap();
        let reader = EvidenceStore::open(dir.path()).unwrap();
        assert!(reader.contains(&s2));
        // Flip a body byte of the first record.
        let mut changed = bytes.clone();
        let at = bytes
            .windows(b"kept capture".len())
            .position(|w| w == b"kept capture")
            .unwrap();
        changed[at] = b'K';
        std::fs::write(&pack, &changed).unwrap();
        let reader = EvidenceStore::open(dir.path()).unwrap();
        let err = reader.get(&s1).unwrap_err().to_string();
        assert!(err.contains("modified"), "{err}");
    }

    #[test]
    fn concurrent_packed_puts_write_each_body_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open_packed(dir.path()).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                let store = store.clone();
                s.spawn(move || {
                    for i in 0..50 {
                        store.put(&page(format!("body {i}").as_bytes())).unwrap();
                    }
                });
            }
        });
        store.sync().unwrap();
        let pack = pack_files(dir.path()).remove(0);
        let bytes = std::fs::read(&pack).unwrap();
        let records = bytes.windows(MAGIC.len()).filter(|w| w == MAGIC).count();
        assert_eq!(records, 50);
        let reader = EvidenceStore::open(dir.path()).unwrap();
        for i in 0..50 {
            let sha = sha256_hex(format!("body {i}").as_bytes());
            assert_eq!(reader.get(&sha).unwrap().unwrap().sha256, sha);
        }
    }
}
