//! The crate-wide error: one `#[from]` per stage error, so `?` works across stages.
//!
//! Stage errors carry the *where* (file:line:column, URL, rule id); this enum only wraps them.

use thiserror::Error;

/// Any error trawl's library returns.
#[derive(Debug, Error)]
pub enum Error {
    /// Scenario, generator or server error.
    #[error(transparent)]
    Corpus(#[from] crate::corpus::CorpusError),
    /// Crawler error.
    #[error(transparent)]
    Crawl(#[from] crate::crawl::CrawlError),
    /// Extraction error.
    #[error(transparent)]
    Extract(#[from] crate::extract::ExtractError),
    /// Rule pack or classification error.
    #[error(transparent)]
    Classify(#[from] crate::classify::ClassifyError),
    /// Index error.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// Review error.
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
    /// Referral export error.
    #[error(transparent)]
    Refer(#[from] crate::refer::ReferError),
    /// Evaluation error.
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    /// I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
