//! Orchestration only: wires the stages into `scan` and `demo`, owns progress bars and summaries.
//! Nothing imports `app` except the binary. Like the binary, `app` reports with `anyhow`, adding
//! the file or URL to every error.
//!
//! May use: every stage.

pub mod demo;
pub mod progress;
pub mod scan;
