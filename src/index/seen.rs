//! `<index>/seen.jsonl`: one compact record per post a scan saw, flagged or not.
//!
//! The index only holds flagged items; evaluation also needs to know which truth posts the crawl
//! reached and why a reached violating post was not flagged (its score and the rules that did
//! fire). The scan appends one line per post; a resumed scan may append a post twice, so readers
//! keep the LAST record per (host, post_id).

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{IndexError, Result};
use crate::model::{Category, Lang, Post, RuleId, Verdict};

/// File name of the seen log inside an index directory.
pub const SEEN_FILE: &str = "seen.jsonl";

/// One post a scan saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenRecord {
    /// Host.
    pub host: String,
    /// The site's post id.
    pub post_id: String,
    /// Permalink.
    pub url: String,
    /// Language the post was classified in.
    pub lang: Lang,
    /// Classifier score.
    pub score: f32,
    /// Whether the score reached the threshold.
    pub flagged: bool,
    /// Rules that fired (flagged or not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<RuleId>,
    /// Categories of the fired rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
}

impl SeenRecord {
    /// The record of a classified post.
    pub fn new(post: &Post, verdict: &Verdict) -> Self {
        SeenRecord {
            host: post.host.clone(),
            post_id: post.post_id.0.clone(),
            url: post.url.clone(),
            lang: verdict.lang.lang,
            score: verdict.score,
            flagged: verdict.flagged,
            fired: verdict.fired.iter().map(|f| f.rule.clone()).collect(),
            categories: verdict.categories.clone(),
        }
    }
}

/// Appends records to a seen log (buffered; `flush` before committing the matching batch).
#[derive(Debug)]
pub struct SeenWriter {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
}

impl SeenWriter {
    /// Opens `path` for appending, creating it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| IndexError::io(&path, e))?;
        Ok(SeenWriter {
            path,
            out: BufWriter::new(file),
        })
    }

    /// Appends one record.
    pub fn write(&mut self, rec: &SeenRecord) -> Result<()> {
        let line = serde_json::to_string(rec).map_err(|e| IndexError::BadLine {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        self.out
            .write_all(line.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
            .map_err(|e| IndexError::io(&self.path, e))
    }

    /// Flushes buffered records to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| IndexError::io(&self.path, e))
    }

    /// Flushes buffered records and makes them durable (fdatasync).
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| IndexError::io(&self.path, e))
    }
}

/// Reads a seen log; the last record per (host, post_id) wins. A line that does not parse is an
/// error naming file:line, except a truncated LAST line (a crash mid-write), which is skipped.
pub fn read(path: &Path) -> Result<HashMap<(String, String), SeenRecord>> {
    let file = std::fs::File::open(path).map_err(|e| IndexError::io(path, e))?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| IndexError::io(path, e))?;
    let mut out = HashMap::new();
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<SeenRecord>(line) {
            Ok(r) => {
                out.insert((r.host.clone(), r.post_id.clone()), r);
            }
            Err(e) if i + 1 == last && e.is_eof() => {}
            Err(e) => {
                return Err(IndexError::BadLine {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, score: f32) -> SeenRecord {
        SeenRecord {
            host: "forum1.test".into(),
            post_id: id.into(),
            url: format!("http://forum1.test/t/1/#p{id}"),
            lang: Lang::En,
            score,
            flagged: score >= 0.5,
            fired: vec![RuleId("en.join".into())],
            categories: vec![Category::Solicitation],
        }
    }

    #[test]
    fn write_read_last_wins_and_truncated_tail_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SEEN_FILE);
        let mut w = SeenWriter::open(&path).unwrap();
        w.write(&rec("1", 0.2)).unwrap();
        w.write(&rec("2", 0.9)).unwrap();
        w.write(&rec("1", 0.7)).unwrap();
        w.flush().unwrap();
        drop(w);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"host":"forum1.test","post_"#).unwrap();
        let m = read(&path).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[&("forum1.test".to_string(), "1".to_string())].score, 0.7);
    }

    #[test]
    fn bad_middle_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SEEN_FILE);
        let good = serde_json::to_string(&rec("1", 0.1)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("seen.jsonl:2:"), "{err}");
    }
}
