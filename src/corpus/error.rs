//! Errors of this stage. Every variant names the file, line, URL or id it is about.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of this stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// I/O on a named path failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `trawl serve`: an invalid server configuration value.
    #[error("serve config: {0}")]
    ServeConfig(String),
    /// `trawl serve`: a non-loopback address without `allow_remote`.
    #[error("refusing to bind non-loopback address {addr} (pass --allow-remote to allow it)")]
    ServeRemote {
        /// The address asked for.
        addr: std::net::SocketAddr,
    },
    /// `trawl serve`: binding the listening socket failed.
    #[error("binding {addr}: {source}")]
    ServeBind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `trawl serve`: `manifest.json` is not a valid manifest.
    #[error("{path}:{}:{}: invalid manifest: {source}", source.line(), source.column())]
    ServeManifest {
        /// The manifest file.
        path: PathBuf,
        /// The JSON error (with line and column).
        source: serde_json::Error,
    },
    /// `trawl serve`: the provider state file is corrupt.
    #[error("{path}:{}:{}: invalid provider state: {source}", source.line(), source.column())]
    ServeState {
        /// The state file.
        path: PathBuf,
        /// The JSON error (with line and column).
        source: serde_json::Error,
    },
    /// A scenario or phrase-bank file is not valid TOML or does not fit the format.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file (or `<embedded>/name` for built-in files).
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (chars).
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A scenario parsed but is semantically wrong; every problem names its key path.
    #[error("{file}: invalid scenario ({} problem(s)):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        /// The scenario file.
        file: PathBuf,
        /// One line per problem, `key.path: message`.
        problems: Vec<String>,
    },
    /// The output directory holds files and `--force` was not given.
    #[error("{path}: output directory is not empty (use --force to overwrite)")]
    OutNotEmpty {
        /// The output directory.
        path: PathBuf,
    },
    /// A JSON record could not be serialised.
    #[error("{path}: cannot serialise JSON: {source}")]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl CorpusError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CorpusError::Io {
            path: path.into(),
            source,
        }
    }
}
