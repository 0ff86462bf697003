//! Flagged Post + Verdict -> Item in a tantivy index: schema, writer, search with snippets and facets, near-duplicate cluster keys, review status.
//!
//! May use: model, util, classify::text (the shared stemmer/normaliser, so search stems like the rules).

mod error;

pub use error::IndexError;
