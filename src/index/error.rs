//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IndexError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Tantivy failed on the index in `dir`.
    #[error("index {dir}: {source}")]
    Tantivy {
        /// The index directory.
        dir: PathBuf,
        /// The underlying error.
        source: tantivy::TantivyError,
    },
    /// The index directory holds an index with a different schema.
    #[error("index {dir}: not a trawl index of this version (schema differs: {detail})")]
    SchemaMismatch {
        /// The index directory.
        dir: PathBuf,
        /// What differs.
        detail: String,
    },
    /// A malformed search query.
    #[error("query error at column {column}: {message}\n  {query}\n  {caret:>width$}", caret = "^", width = column)]
    Query {
        /// The query as given.
        query: String,
        /// 1-based column (in chars) of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A stored item could not be decoded.
    #[error("index {dir}: stored item {id} is corrupt: {message}")]
    CorruptItem {
        /// The index directory.
        dir: PathBuf,
        /// Item id (or doc address when the id is unreadable).
        id: String,
        /// What is wrong.
        message: String,
    },
    /// A JSON-lines file has a bad line.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An invalid argument (limit 0, inverted date range, ...).
    #[error("invalid search request: {0}")]
    InvalidRequest(String),
}

impl IndexError {
    pub(crate) fn tantivy(dir: &std::path::Path, source: tantivy::TantivyError) -> Self {
        IndexError::Tantivy {
            dir: dir.to_path_buf(),
            source,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
