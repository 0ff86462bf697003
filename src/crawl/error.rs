//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CrawlError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `--resolve` rule could not be parsed or points off loopback.
    #[error("--resolve {rule:?}: {reason}")]
    Resolve {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A seed URL is not an absolute http(s) URL.
    #[error("seed {url:?}: {reason}")]
    Seed {
        /// The seed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file (manifest, journal) has a malformed line.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the whole file is at fault).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("crawl config: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Client(String),
}
