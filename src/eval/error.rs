//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EvalError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A truth file line that is not a valid `TruthRecord`.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading the index or the seen log failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
}
