//! Reads the truth file and joins it with the index and the seen log on (host, post_id).

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use super::EvalError;
use crate::index::SeenRecord;
use crate::model::{Item, TruthRecord};

/// The join key: lowercase host and the site's post id.
pub type Key = (String, String);

/// One truth post with what the scan did with it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The answer key.
    pub truth: TruthRecord,
    /// The indexed item, when the post was indexed.
    pub item: Option<Item>,
    /// The seen-log record, when the scan logged the post.
    pub seen: Option<SeenRecord>,
}

impl Row {
    /// Whether the scan flagged the post.
    pub fn predicted(&self) -> bool {
        self.item.as_ref().is_some_and(|i| i.verdict.flagged)
            || self.seen.as_ref().is_some_and(|s| s.flagged)
    }

    /// Whether the crawl reached the post (in the seen log or in the index).
    pub fn reached(&self) -> bool {
        self.item.is_some() || self.seen.is_some()
    }

    /// The classifier score, from the item or the seen log.
    pub fn score(&self) -> Option<f32> {
        self.item
            .as_ref()
            .map(|i| i.verdict.score)
            .or(self.seen.as_ref().map(|s| s.score))
    }
}

/// Truth joined with the scan's output.
#[derive(Debug, Clone, Default)]
pub struct Joined {
    /// One row per truth post, in truth-file order.
    pub rows: Vec<Row>,
    /// Flagged items whose (host, post_id) is not in the truth (count as false alarms).
    pub unmatched: Vec<Item>,
}

/// The join key of a truth record.
pub fn key(host: &str, post_id: &str) -> Key {
    (host.to_ascii_lowercase(), post_id.to_string())
}

/// Reads `truth.jsonl`; a bad line is an error naming file:line; duplicate keys too.
pub fn read_truth(path: &Path) -> Result<Vec<TruthRecord>, EvalError> {
    let io = |e| EvalError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    let mut keys = HashSet::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| EvalError::BadLine {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        let rec: TruthRecord = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if !keys.insert(key(&rec.host, &rec.post_id.0)) {
            return Err(bad(format!("duplicate post {}/{}", rec.host, rec.post_id)));
        }
        out.push(rec);
    }
    Ok(out)
}

/// Joins truth with indexed items and seen records.
pub fn join(
    truth: Vec<TruthRecord>,
    items: impl IntoIterator<Item = Item>,
    seen: &HashMap<Key, SeenRecord>,
) -> Joined {
    let mut by_key: HashMap<Key, Item> = items
        .into_iter()
        .map(|i| (key(&i.post.host, &i.post.post_id.0), i))
        .collect();
    let seen_lc: HashMap<Key, &SeenRecord> = seen
        .values()
        .map(|s| (key(&s.host, &s.post_id), s))
        .collect();
    let rows = truth
        .into_iter()
        .map(|t| {
            let k = key(&t.host, &t.post_id.0);
            Row {
                item: by_key.remove(&k),
                seen: seen_lc.get(&k).map(|s| (*s).clone()),
                truth: t,
            }
        })
        .collect();
    let mut unmatched: Vec<Item> = by_key.into_values().filter(|i| i.verdict.flagged).collect();
    unmatched.sort_by(|a, b| (&a.post.host, &a.post.post_id).cmp(&(&b.post.host, &b.post.post_id)));
    Joined { rows, unmatched }
}
