//! Confirmed Items -> referral bundles per hosting provider with evidence (WARC), manifests of hashes, delivery and removal tracking.
//!
//! May use: model, util, index.

mod error;

pub use error::ReferError;
