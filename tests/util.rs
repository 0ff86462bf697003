//! Test harness: unique temp dirs and a builder for the real `trawl` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the compiled `trawl` binary under test.
pub fn trawl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trawl"))
}

/// The repository root (for shipped corpora and rule packs).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `trawl` command with a quiet log level and no progress bars.
pub fn trawl() -> Command {
    let mut c = Command::new(trawl_bin());
    c.env("RUST_LOG", "trawl=warn")
        .env("TRAWL_NO_PROGRESS", "1");
    c
}

/// Runs a command, panicking with its stderr if it did not exit 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn trawl");
    assert!(
        out.status.success(),
        "command failed: {:?}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh temp dir, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("trawl-test-")
        .tempdir()
        .expect("tempdir")
}

/// Reads a file to string, panicking with its path.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Starts the corpus server in its own runtime (the caller keeps both alive).
pub fn start_server(
    cfg: trawl::corpus::serve::ServeConfig,
) -> (tokio::runtime::Runtime, trawl::corpus::serve::RunningServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(trawl::corpus::serve::Server::start(cfg))
        .expect("server starts");
    (rt, server)
}
