//! Page -> Vec<Post>: site profiles (CSS selectors), schema.org JSON-LD fallback, readable-text fallback, charset decoding.
//!
//! May use: model, util.

mod error;

pub use error::ExtractError;
