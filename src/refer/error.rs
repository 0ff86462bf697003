//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReferError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file does not parse or lacks a required field (`path` is a JSON path like
    /// `items[3].content_url`).
    #[error("{file}: {path}: {message}")]
    Field {
        /// The file.
        file: PathBuf,
        /// JSON path inside it.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The output target was refused (non-empty, a file, or a path escaping `--out`).
    #[error("{path}: {message}")]
    Target {
        /// The refused path.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An item's captured page is missing or does not match its recorded hash.
    #[error("item {item}: evidence {sha256}: {message}")]
    Evidence {
        /// Item id.
        item: String,
        /// Page sha256 the item points at.
        sha256: String,
        /// What is wrong.
        message: String,
    },
    /// A referral field could not be produced (bad host name, bad id, ...).
    #[error("item {item}: {message}")]
    Item {
        /// Item id.
        item: String,
        /// What is wrong.
        message: String,
    },
    /// Delivery or status check over HTTP failed.
    #[error("{url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// Bad option (address not on loopback, bad `--resolve`, ...).
    #[error("{0}")]
    Config(String),
    /// Review (item store / audit log) error.
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
}

impl ReferError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReferError::Io {
            path: path.into(),
            source,
        }
    }

    /// A field error.
    pub fn field(
        file: impl Into<PathBuf>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ReferError::Field {
            file: file.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}
