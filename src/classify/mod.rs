//! Post -> Verdict: text normalisation against evasion (with offset maps back to the original), language ID, tokenising, stemming, and rule packs compiled into aho-corasick automata.
//!
//! May use: model, util.

mod error;

pub use error::ClassifyError;
