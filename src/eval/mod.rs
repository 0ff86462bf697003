//! Scores a scan (index + seen log) against truth.jsonl: precision, recall, F1 overall and per
//! language, category, phenomenon and host; crawl coverage; the worst misses and false alarms
//! with their explanations.
//!
//! Entry point: [`evaluate_index`]. Joins on (host, post_id); see [`metrics`] for definitions.
//!
//! May use: model, util, index (read), refer (bundle reader).

mod error;
pub mod join;
pub mod metrics;
pub mod referrals;
pub mod report;

use std::path::{Path, PathBuf};

pub use error::EvalError;
pub use metrics::EvalReport;

use crate::index::{Filter, IndexStore, seen};

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// `truth.jsonl` of the seeded corpus.
    pub truth: PathBuf,
    /// The scan's index directory.
    pub index: PathBuf,
    /// The seen log; None = `<index>/seen.jsonl` when it exists.
    pub seen: Option<PathBuf>,
    /// Length of the misses and false-alarm lists.
    pub top: usize,
}

/// Evaluates the index in `opts.index` against `opts.truth`.
pub fn evaluate_index(opts: &EvalOptions) -> Result<EvalReport, EvalError> {
    let truth = join::read_truth(&opts.truth)?;
    if !opts.index.join("meta.json").exists() {
        return Err(EvalError::Io {
            path: opts.index.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no trawl index here"),
        });
    }
    let store = IndexStore::open_or_create(&opts.index)?;
    let items: Vec<_> = store.items(&Filter::default())?.collect::<Result<_, _>>()?;
    let flagged = items.iter().filter(|i| i.verdict.flagged).count() as u64;
    let seen_path: Option<PathBuf> = match &opts.seen {
        Some(p) => Some(p.clone()),
        None => Some(store.seen_path()).filter(|p| p.exists()),
    };
    let seen = match &seen_path {
        Some(p) => read_seen(p)?,
        None => Default::default(),
    };
    let joined = join::join(truth, items, &seen);
    Ok(metrics::evaluate(
        &joined,
        seen_path.is_some(),
        flagged,
        opts.top,
    ))
}

fn read_seen(
    path: &Path,
) -> Result<std::collections::HashMap<join::Key, crate::index::SeenRecord>, EvalError> {
    Ok(seen::read(path)?)
}
