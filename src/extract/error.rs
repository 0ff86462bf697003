//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A site profile is malformed.
    #[error("{file}:{line}:{col}: {reason}")]
    Profile {
        /// Profile file name.
        file: String,
        /// 1-based line (0 if unknown).
        line: usize,
        /// 1-based column (0 if unknown).
        col: usize,
        /// What is wrong.
        reason: String,
    },
    /// The page cannot be extracted (not HTML, bad URL).
    #[error("{url}: {reason}")]
    Page {
        /// The page URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
}
