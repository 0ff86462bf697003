//! Orchestration only: wires the stages into `scan` and `demo`, owns progress bars and summaries.
//! Nothing imports `app` except the binary.
//!
//! May use: every stage.
