//! The append-only, hash-chained audit log of review decisions.
//!
//! One JSON object per line (`audit.jsonl`). Each record carries `prev_hash`, the `hash` of the
//! record before it (64 zeros for the first), and its own `hash`: the lowercase hex sha256 of the
//! record serialised as compact JSON with sorted keys and the `hash` field left out. Editing any
//! field of any line changes that line's hash; removing or reordering lines breaks the
//! `prev_hash`/`seq` links of the next line. A small side file `audit.head.json` remembers the
//! last appended `(seq, hash)` and the last sequence number whose effect reached the item store
//! (`applied`): a log cut short behind the head's back is detected, and a crash between the log
//! append and the status update is repaired at the next start (see [`crate::review::Review`]).
//!
//! Writers take `audit.lock` (created exclusively, removed after the append and status update; a lock older than
//! 30 s is taken to be left by a crashed process) so two reviewers deciding at the same moment
//! cannot both claim the same `seq`. Appends are a single `write_all` + `fsync`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ReviewError;
use crate::model::Timestamp;

/// `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The reviewer confirms the items violate (one of the two four-eyes confirmations).
    Confirm,
    /// The reviewer rejects the items as not violating.
    Reject,
    /// The reviewer hands the items to a supervisor.
    Escalate,
    /// A supervisor settles the items regardless of earlier decisions (`outcome` says how).
    Override,
    /// The items went out in a referral bundle (`bundle` names it).
    Referred,
}

impl Action {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Confirm => "confirm",
            Action::Reject => "reject",
            Action::Escalate => "escalate",
            Action::Override => "override",
            Action::Referred => "referred",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result an override imposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Referable without a second confirmation.
    Confirm,
    /// Not violating.
    Reject,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// 1-based sequence number, one more than the previous record's.
    pub seq: u64,
    /// When the decision was made (RFC 3339 UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub time: Timestamp,
    /// Who made it.
    pub reviewer: String,
    /// What was decided.
    pub action: Action,
    /// The item ids it applies to (a `--cluster` decision lists the whole cluster).
    pub items: Vec<String>,
    /// Why (required, never empty).
    pub reason: String,
    /// Whether the decision was taken for a whole near-duplicate cluster.
    pub cluster: bool,
    /// For `override`: the imposed result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Sequence numbers of earlier decisions by other reviewers this one contradicts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disagrees_with: Vec<u64>,
    /// For `referred`: the bundle id(s) the items went out in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    /// `hash` of the previous record ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// sha256 of this record without the `hash` field (compact JSON, sorted keys).
    pub hash: String,
}

impl AuditRecord {
    /// Computes the hash this record should carry.
    pub fn compute_hash(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.remove("hash");
        }
        // serde_json's Map is a BTreeMap (no preserve_order feature): keys come out sorted.
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        crate::util::sha256_hex(&bytes)
    }
}

/// A decision before it gets its place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// When.
    pub time: Timestamp,
    /// Who.
    pub reviewer: String,
    /// What.
    pub action: Action,
    /// Item ids.
    pub items: Vec<String>,
    /// Why.
    pub reason: String,
    /// Cluster-wide decision.
    pub cluster: bool,
    /// Override outcome.
    pub outcome: Option<Outcome>,
    /// Contradicted earlier decisions.
    pub disagrees_with: Vec<u64>,
    /// Bundle id for `referred`.
    pub bundle: Option<String>,
}

/// `audit.head.json`: the last appended record and how far the item store has caught up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// seq of the last appended record (0 = none).
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// seq of the last record whose status effect reached the item store.
    pub applied: u64,
}

/// The result of checking a log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The log file.
    pub path: PathBuf,
    /// Records that checked out before the first problem (all of them when `ok`).
    pub records: u64,
    /// Whether the whole chain (and the head) is intact.
    pub ok: bool,
    /// 1-based line of the first broken record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_line: Option<usize>,
    /// What is wrong there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// An audit log on disk.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    head_path: PathBuf,
    lock_path: PathBuf,
    /// The longest verified prefix of the file (complete lines) and its records: a later read
    /// whose bytes start with exactly that prefix only verifies what was appended.
    cache: std::sync::Arc<std::sync::Mutex<Option<Verified>>>,
}

#[derive(Debug)]
struct Verified {
    text: String,
    records: Vec<AuditRecord>,
}

/// Holds `audit.lock` until dropped.
#[derive(Debug)]
pub struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(30);

/// On Linux: the lock names a process id that no longer exists (a crashed writer).
fn holder_is_gone(lock: &Path) -> bool {
    if !Path::new("/proc/self").exists() {
        return false;
    }
    match std::fs::read_to_string(lock)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
        None => false,
    }
}

impl AuditLog {
    /// The log `audit.jsonl` in `dir` (created if missing).
    pub fn open(dir: &Path) -> Result<Self, ReviewError> {
        std::fs::create_dir_all(dir).map_err(|e| ReviewError::io(dir, e))?;
        Ok(AuditLog {
            path: dir.join("audit.jsonl"),
            head_path: dir.join("audit.head.json"),
            lock_path: dir.join("audit.lock"),
            cache: Default::default(),
        })
    }

    /// A log at an explicit path (head file beside it as `<name>.head.json`).
    pub fn at(path: &Path) -> Self {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("audit");
        let head_path = path.with_file_name(format!("{stem}.head.json"));
        let lock_path = path.with_file_name(format!("{stem}.lock"));
        AuditLog {
            path: path.to_path_buf(),
            head_path,
            lock_path,
            cache: Default::default(),
        }
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the head file (default when absent).
    pub fn head(&self) -> Result<Head, ReviewError> {
        match std::fs::read(&self.head_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ReviewError::Parse {
                path: self.head_path.clone(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Head::default()),
            Err(e) => Err(ReviewError::io(&self.head_path, e)),
        }
    }

    /// Writes the head file atomically.
    pub fn write_head(&self, head: &Head) -> Result<(), ReviewError> {
        let bytes = serde_json::to_vec_pretty(head).unwrap_or_default();
        crate::util::write_atomic(&self.head_path, &bytes)
            .map_err(|e| ReviewError::io(&self.head_path, e))
    }

    fn read_text(&self) -> Result<String, ReviewError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let (line, column) = crate::util::line_col(&text, e.utf8_error().valid_up_to());
                ReviewError::Parse {
                    path: self.path.clone(),
                    line,
                    column,
                    message: "not UTF-8".into(),
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(ReviewError::io(&self.path, e)),
        }
    }

    /// Checks the chain and the head; never fails on a broken chain (that is the report).
    pub fn verify(&self) -> Result<VerifyReport, ReviewError> {
        let text = match self.read_text() {
            Ok(t) => t,
            Err(ReviewError::Parse { line, message, .. }) => {
                // Check the lines before the damage first: the first broken line is reported.
                let bytes =
                    std::fs::read(&self.path).map_err(|e| ReviewError::io(&self.path, e))?;
                let prefix: Vec<u8> = bytes
                    .split_inclusive(|b| *b == b'\n')
                    .take(line - 1)
                    .flatten()
                    .copied()
                    .collect();
                let prefix = String::from_utf8_lossy(&prefix);
                let (broken_line, records, problem) = match check_chain(&prefix, &Head::default()) {
                    Ok(r) => (line, r.len() as u64, message),
                    Err((l, good, p)) => (l, good, p),
                };
                return Ok(VerifyReport {
                    path: self.path.clone(),
                    records,
                    ok: false,
                    broken_line: Some(broken_line),
                    problem: Some(problem),
                });
            }
            Err(e) => return Err(e),
        };
        let head = self.head()?;
        let mut report = VerifyReport {
            path: self.path.clone(),
            records: 0,
            ok: true,
            broken_line: None,
            problem: None,
        };
        match check_chain(&text, &head) {
            Ok(records) => report.records = records.len() as u64,
            Err((line, good, problem)) => {
                report.ok = false;
                report.records = good;
                report.broken_line = Some(line);
                report.problem = Some(problem);
            }
        }
        Ok(report)
    }

    /// All records, failing with [`ReviewError::Chain`] at the first broken one.
    pub fn records(&self) -> Result<Vec<AuditRecord>, ReviewError> {
        let text = self.read_text()?;
        let head = self.head()?;
        let (known, skip) = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match cache.as_ref() {
                Some(c) if text.as_bytes().starts_with(c.text.as_bytes()) => {
                    (c.records.clone(), c.text.len())
                }
                _ => (Vec::new(), 0),
            }
        };
        let records =
            check_chain_from(&text, &head, known, skip).map_err(|(line, _, message)| {
                ReviewError::Chain {
                    path: self.path.clone(),
                    line,
                    message,
                }
            })?;
        if text.ends_with('\n') || text.is_empty() {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            *cache = Some(Verified {
                text,
                records: records.clone(),
            });
        }
        Ok(records)
    }

    /// Drops a final line that was torn by a crash mid-append (no newline, does not parse, and
    /// never acknowledged in the head). Returns whether anything was cut.
    pub fn repair_torn_tail(&self) -> Result<bool, ReviewError> {
        let text = self.read_text()?;
        if text.is_empty() || text.ends_with('\n') {
            return Ok(false);
        }
        let cut = text.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let tail = &text[cut..];
        if serde_json::from_str::<AuditRecord>(tail).is_ok() {
            // A complete record without its newline: just finish the line.
            let mut f = OpenOptions::new()
                .append(true)
                .open(&self.path)
                .map_err(|e| ReviewError::io(&self.path, e))?;
            f.write_all(b"\n")
                .map_err(|e| ReviewError::io(&self.path, e))?;
            f.sync_all().map_err(|e| ReviewError::io(&self.path, e))?;
            return Ok(true);
        }
        let complete = text[..cut].lines().count() as u64;
        if self.head()?.seq > complete {
            return Ok(false); // the head saw that record: this is damage, not a torn append
        }
        let f = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| ReviewError::io(&self.path, e))?;
        f.set_len(cut as u64)
            .map_err(|e| ReviewError::io(&self.path, e))?;
        f.sync_all().map_err(|e| ReviewError::io(&self.path, e))?;
        Ok(true)
    }

    /// Takes the writer lock (waits up to 10 s). Hold it across an append and the status update
    /// that follows, so `applied` in the head never runs ahead of the item store.
    pub fn lock(&self) -> Result<LockGuard, ReviewError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.lock_path)
            {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(LockGuard(self.lock_path.clone()));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let old = std::fs::metadata(&self.lock_path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    let stale = old || holder_is_gone(&self.lock_path);
                    if stale {
                        tracing::warn!("review: removing stale lock {}", self.lock_path.display());
                        let _ = std::fs::remove_file(&self.lock_path);
                        continue;
                    }
                    if std::time::Instant::now() > deadline {
                        return Err(ReviewError::io(
                            &self.lock_path,
                            std::io::Error::new(
                                std::io::ErrorKind::WouldBlock,
                                "another process is appending to the audit log",
                            ),
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(ReviewError::io(&self.lock_path, e)),
            }
        }
    }

    /// Appends a decision after checking the whole chain; returns the record as written.
    /// Callers that may run concurrently hold [`AuditLog::lock`].
    pub fn append(&self, draft: Draft) -> Result<AuditRecord, ReviewError> {
        let records = self.records()?;
        let (seq, prev_hash) = match records.last() {
            Some(r) => (r.seq + 1, r.hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        let mut rec = AuditRecord {
            seq,
            time: draft.time,
            reviewer: draft.reviewer,
            action: draft.action,
            items: draft.items,
            reason: draft.reason,
            cluster: draft.cluster,
            outcome: draft.outcome,
            disagrees_with: draft.disagrees_with,
            bundle: draft.bundle,
            prev_hash,
            hash: String::new(),
        };
        rec.hash = rec.compute_hash();
        let mut line = serde_json::to_vec(&rec).unwrap_or_default();
        line.push(b'\n');
        let mut f: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| ReviewError::io(&self.path, e))?;
        f.write_all(&line)
            .map_err(|e| ReviewError::io(&self.path, e))?;
        f.sync_all().map_err(|e| ReviewError::io(&self.path, e))?;
        let applied = self.head()?.applied;
        self.write_head(&Head {
            seq: rec.seq,
            hash: rec.hash.clone(),
            applied,
        })?;
        Ok(rec)
    }
}

/// Walks the chain. On error: (1-based line, records good before it, problem).
fn check_chain(text: &str, head: &Head) -> Result<Vec<AuditRecord>, (usize, u64, String)> {
    check_chain_from(text, head, Vec::new(), 0)
}

/// Like [`check_chain`], with the first `skip` bytes of `text` already verified as `known`.
fn check_chain_from(
    text: &str,
    head: &Head,
    known: Vec<AuditRecord>,
    skip: usize,
) -> Result<Vec<AuditRecord>, (usize, u64, String)> {
    let mut out = known;
    let mut prev = out
        .last()
        .map(|r| r.hash.clone())
        .unwrap_or_else(|| GENESIS.to_string());
    let mut line_no = out.len();
    let first = out.len();
    for (i, line) in text
        .get(skip..)
        .unwrap_or_default()
        .split_inclusive('\n')
        .enumerate()
    {
        line_no = first + i + 1;
        let body = line.strip_suffix('\n').unwrap_or(line);
        let body = body.strip_suffix('\r').unwrap_or(body);
        let good = out.len() as u64;
        if body.trim().is_empty() {
            return Err((
                line_no,
                good,
                "empty line (records are never removed)".into(),
            ));
        }
        let rec: AuditRecord = serde_json::from_str(body).map_err(|e| {
            (
                line_no,
                good,
                format!("column {}: not an audit record: {e}", e.column()),
            )
        })?;
        let expected_seq = good + 1;
        if rec.seq != expected_seq {
            return Err((
                line_no,
                good,
                format!(
                    "seq {} where {expected_seq} was expected (record removed or reordered)",
                    rec.seq
                ),
            ));
        }
        if rec.prev_hash != prev {
            return Err((
                line_no,
                good,
                format!(
                    "prev_hash {} does not match the previous record's hash {} (record removed, \
                     reordered or edited before this line)",
                    short(&rec.prev_hash),
                    short(&prev)
                ),
            ));
        }
        let computed = rec.compute_hash();
        if rec.hash != computed {
            return Err((
                line_no,
                good,
                format!(
                    "hash {} but the content hashes to {} (record edited)",
                    short(&rec.hash),
                    short(&computed)
                ),
            ));
        }
        // The hash covers the parsed record; a lenient parser could accept an edited line that
        // parses to the same record (e.g. `T` flipped to `U` in a timestamp), so the line must
        // also be byte-identical to the record's own serialisation, as `append` wrote it.
        if serde_json::to_string(&rec).ok().as_deref() != Some(body) {
            return Err((
                line_no,
                good,
                "line is not the record's canonical form (record edited)".into(),
            ));
        }
        if rec.reason.trim().is_empty() {
            return Err((line_no, good, "empty reason".into()));
        }
        prev = rec.hash.clone();
        out.push(rec);
    }
    if head.seq > out.len() as u64 {
        return Err((
            line_no + 1,
            out.len() as u64,
            format!(
                "log ends after seq {} but the head recorded seq {} (records removed from the end)",
                out.len(),
                head.seq
            ),
        ));
    }
    if head.seq > 0 {
        let at = &out[(head.seq - 1) as usize];
        if at.hash != head.hash {
            return Err((
                head.seq as usize,
                head.seq - 1,
                format!(
                    "record seq {} does not carry the hash the head recorded (log rewritten)",
                    head.seq
                ),
            ));
        }
    }
    Ok(out)
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(n: u64) -> Draft {
        Draft {
            time: time::macros::datetime!(2026-01-01 00:00 UTC) + time::Duration::minutes(n as i64),
            reviewer: format!("r{n}"),
            action: Action::Confirm,
            items: vec![format!("item{n}")],
            reason: "matches incitement".into(),
            cluster: false,
            outcome: None,
            disagrees_with: vec![],
            bundle: None,
        }
    }

    fn log_with(n: u64) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        for i in 0..n {
            log.append(draft(i)).unwrap();
        }
        (dir, log)
    }

    fn lines(log: &AuditLog) -> Vec<String> {
        std::fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    fn write_lines(log: &AuditLog, lines: &[String]) {
        let mut s = lines.join("\n");
        s.push('\n');
        std::fs::write(log.path(), s).unwrap();
    }

    #[test]
    fn intact_chain_verifies() {
        let (_d, log) = log_with(5);
        let r = log.verify().unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.records, 5);
        let recs = log.records().unwrap();
        assert_eq!(recs[0].prev_hash, GENESIS);
        assert_eq!(recs[1].prev_hash, recs[0].hash);
    }

    #[test]
    fn every_edited_line_is_detected_at_that_line() {
        for target in 0..5 {
            let (_d, log) = log_with(5);
            let mut ls = lines(&log);
            ls[target] = ls[target].replace("matches incitement", "matches incitemenT");
            write_lines(&log, &ls);
            let r = log.verify().unwrap();
            assert!(!r.ok);
            assert_eq!(r.broken_line, Some(target + 1), "{r:?}");
        }
    }

    #[test]
    fn edit_with_recomputed_hash_breaks_the_next_link() {
        let (_d, log) = log_with(4);
        let mut recs = log.records().unwrap();
        recs[1].reviewer = "mallory".into();
        recs[1].hash = recs[1].compute_hash();
        let ls: Vec<String> = recs
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        write_lines(&log, &ls);
        let r = log.verify().unwrap();
        assert_eq!(r.broken_line, Some(3), "{r:?}");
    }

    #[test]
    fn removed_and_reordered_lines_are_detected() {
        for target in 0..5 {
            let (_d, log) = log_with(5);
            let mut ls = lines(&log);
            ls.remove(target);
            write_lines(&log, &ls);
            let r = log.verify().unwrap();
            assert!(!r.ok, "removing line {target} went unnoticed");
            let expect = if target == 4 { 5 } else { target + 1 };
            assert_eq!(r.broken_line, Some(expect), "{r:?}");
        }
        for target in 0..4 {
            let (_d, log) = log_with(5);
            let mut ls = lines(&log);
            ls.swap(target, target + 1);
            write_lines(&log, &ls);
            let r = log.verify().unwrap();
            assert_eq!(r.broken_line, Some(target + 1), "{r:?}");
        }
    }

    #[test]
    fn cached_prefix_is_rechecked_when_the_file_changes() {
        let (_d, log) = log_with(3);
        assert_eq!(log.records().unwrap().len(), 3);
        let mut ls = lines(&log);
        ls[1] = ls[1].replace("\"r1\"", "\"rY\"");
        write_lines(&log, &ls);
        assert!(matches!(
            log.records(),
            Err(ReviewError::Chain { line: 2, .. })
        ));
        assert!(matches!(
            log.append(draft(7)),
            Err(ReviewError::Chain { line: 2, .. })
        ));
    }

    #[test]
    fn broken_log_refuses_appends() {
        let (_d, log) = log_with(3);
        let mut ls = lines(&log);
        ls[0] = ls[0].replace("\"r0\"", "\"rX\"");
        write_lines(&log, &ls);
        assert!(matches!(
            log.append(draft(9)),
            Err(ReviewError::Chain { line: 1, .. })
        ));
    }

    #[test]
    fn torn_tail_is_cut_but_acknowledged_damage_is_not() {
        let (_d, log) = log_with(2);
        let mut text = std::fs::read_to_string(log.path()).unwrap();
        text.push_str("{\"seq\":3,\"ti");
        std::fs::write(log.path(), &text).unwrap();
        assert!(!log.verify().unwrap().ok);
        assert!(log.repair_torn_tail().unwrap());
        assert!(log.verify().unwrap().ok);
        assert_eq!(log.append(draft(5)).unwrap().seq, 3);
    }

    #[test]
    fn concurrent_appends_keep_the_chain() {
        let (_d, log) = log_with(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let log = log.clone();
                s.spawn(move || {
                    for i in 0..10 {
                        let _g = log.lock().unwrap();
                        log.append(draft(t * 100 + i)).unwrap();
                    }
                });
            }
        });
        let r = log.verify().unwrap();
        assert!(r.ok, "{r:?}");
        assert_eq!(r.records, 40);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        #[test]
        fn any_flipped_bit_is_detected_at_or_before_its_line(
            line in 0usize..4,
            pos in proptest::prelude::any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let (_d, log) = log_with(4);
            let mut bytes = std::fs::read(log.path()).unwrap();
            let starts: Vec<usize> = std::iter::once(0)
                .chain(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1))
                .collect();
            let (a, b) = (starts[line], starts[line + 1] - 1); // exclude the newline
            let at = a + pos.index(b - a);
            bytes[at] ^= 1 << bit;
            std::fs::write(log.path(), &bytes).unwrap();
            let r = log.verify().unwrap();
            proptest::prop_assert!(!r.ok, "flip at byte {} of line {} went unnoticed", at, line + 1);
            proptest::prop_assert_eq!(r.broken_line, Some(line + 1), "{:?}", r);
        }
    }

    /// Regression (found by the proptest below): `T` -> `U` in a timestamp parses to the same
    /// record, so the hash alone did not notice the edit.
    #[test]
    fn lenient_parse_does_not_hide_an_edit() {
        let (_d, log) = log_with(2);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let edited = text.replacen("T", "U", 1);
        assert_ne!(edited, text);
        std::fs::write(log.path(), edited).unwrap();
        let r = log.verify().unwrap();
        assert!(!r.ok, "{r:?}");
        assert_eq!(r.broken_line, Some(1), "{r:?}");
    }

    #[test]
    fn lock_of_a_dead_process_is_broken() {
        if !Path::new("/proc/self").exists() {
            return; // liveness check is Linux-only; elsewhere the 30 s age rule applies
        }
        let (d, log) = log_with(1);
        // A pid far above pid_max: no such process.
        std::fs::write(d.path().join("audit.lock"), "4294967295\n").unwrap();
        let t = std::time::Instant::now();
        let _g = log.lock().unwrap();
        log.append(draft(2)).unwrap();
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn hostile_lines_do_not_panic() {
        let (_d, log) = log_with(1);
        for junk in [
            "[]",
            "null",
            "{\"seq\":-1}",
            "\u{0}\u{1}",
            "{\"seq\":1,\"extra\":true}",
        ] {
            write_lines(&log, &[junk.to_string()]);
            let r = log.verify().unwrap();
            assert_eq!(r.broken_line, Some(1));
        }
    }
}
