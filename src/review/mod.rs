//! Review decisions: queue, decide, four-eyes, append-only hash-chained audit log.
//!
//! May use: model, util, index.

mod error;

pub use error::ReviewError;
