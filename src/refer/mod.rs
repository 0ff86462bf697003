//! Confirmed Items -> referral bundles per hosting provider with evidence (WARC), manifests of
//! hashes, delivery and removal tracking.
//!
//! - [`bundle`]: the versioned bundle format and how one referral is built (legal reasons,
//!   statement of reasons, DSA fields).
//! - [`export`]: atomic, deterministic export of every referable item, one bundle per host.
//! - [`warc`], [`csv`], [`stix`]: the evidence and interchange formats.
//! - [`manifest`]: manifests of sha256 hashes and `export verify`.
//! - [`send`] / [`status`]: delivery to the provider endpoint and removal tracking.
//!
//! May use: model, util, index, review.

pub mod bundle;
pub mod csv;
mod error;
pub mod export;
pub mod ids;
pub mod manifest;
pub mod send;
pub mod status;
pub mod stix;
pub mod warc;

pub use bundle::{Bundle, Issuer, Kind, Referral};
pub use error::ReferError;
pub use export::{ExportOptions, ExportSummary, Formats, export};
pub use manifest::{VerifyOutcome, verify};
