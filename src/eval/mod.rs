//! Scores a scan (index) or referral bundles against truth.jsonl: precision, recall, F1 per language, category, phenomenon and host.
//!
//! May use: model, util, index (read), refer (bundle reader).

mod error;
pub mod referrals;

pub use error::EvalError;
