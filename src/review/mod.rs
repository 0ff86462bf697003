//! Review decisions: queue, decide, four-eyes, append-only hash-chained audit log.
//!
//! - [`store`]: the seams to the index ([`ItemSource`]) and the evidence store
//!   ([`EvidenceSource`]), with in-memory and plain-directory implementations.
//! - [`audit`]: the hash-chained JSONL log and its verifier.
//! - [`decide`]: [`Review`], which appends decisions, derives statuses from the log (four-eyes,
//!   disagreements, overrides, referrals) and repairs the index after a crash.
//! - [`queue`]: pending items by score, near-duplicates grouped under a head item.
//!
//! May use: model, util, index.

pub mod audit;
pub mod decide;
mod error;
mod index_adapter;
pub mod queue;
pub mod store;

pub use audit::{Action, AuditLog, AuditRecord, Outcome, VerifyReport};
pub use decide::{Decided, Decision, ItemState, Review};
pub use error::ReviewError;
pub use queue::QueueEntry;
pub use store::{DirStore, EvidenceSource, ItemFilter, ItemSource, JsonlStore, MemoryStore};

/// Where a store directory keeps its audit log: `<dir>/review/`.
pub fn log_dir(store_dir: &std::path::Path) -> std::path::PathBuf {
    store_dir.join("review")
}

/// Opens the item store in `dir` and its audit log (`<dir>/review/audit.jsonl`), repairing
/// statuses a crash left behind. Returns the review and the number of records replayed.
pub fn open_dir(dir: &std::path::Path) -> Result<(Review<DirStore>, u64), ReviewError> {
    let store = DirStore::open(dir)?;
    let log = AuditLog::open(&log_dir(dir))?;
    Review::open(store, log)
}
