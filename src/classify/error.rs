//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

use super::rules::Problem;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClassifyError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A rule pack has errors (each with file:line:column).
    #[error("rule pack has {} error(s):\n{}", problems.len(), problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Pack {
        /// The errors.
        problems: Vec<Problem>,
    },
}
