//! Post -> Verdict: text normalisation against evasion (with offset maps back to the original),
//! language ID, tokenising, stemming, and rule packs compiled into aho-corasick automata.
//!
//! `text` is the shared pipeline (the index reuses it); `rules` parses, checks and compiles rule
//! packs and evaluates them. `text` never imports `rules`.
//!
//! May use: model, util.

mod error;
pub mod rules;
pub mod text;

pub use error::ClassifyError;
pub use rules::{Classifier, Scratch};
