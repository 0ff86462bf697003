//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a JSONL file (audit log, item store) does not parse.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The audit log's hash chain is broken (edited, removed, reordered or truncated records).
    #[error("{path}:{line}: audit log chain broken: {message}")]
    Chain {
        /// The audit log.
        path: PathBuf,
        /// 1-based line of the first bad record.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An item id is not in the item store.
    #[error("unknown item id {0:?}")]
    UnknownItem(String),
    /// A decision was refused (empty reason, empty reviewer, no items, ...).
    #[error("decision refused: {0}")]
    Refused(String),
    /// The tantivy index or its evidence store failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// The backing item store (index) failed.
    #[error("item store: {0}")]
    Store(String),
}

impl ReviewError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReviewError::Io {
            path: path.into(),
            source,
        }
    }
}
