//! The synthetic world: scenario files, text generators, site renderers, obfuscators, ground truth, and the loopback server that serves the tree (with faults). It is the world, not the tool: no other stage but `eval` (truth only) may import it.
//!
//! May use: model, util.

mod error;

pub use error::CorpusError;
pub mod serve;
