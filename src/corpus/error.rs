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
}
