//! The synthetic world: scenario files, text generators, site renderers, obfuscators, ground truth, and the loopback server that serves the tree (with faults). It is the world, not the tool: no other stage but `eval` (truth only) may import it.
//!
//! May use: model, util.
//!
//! - [`scenario`]: the scenario and phrase-bank formats, loading and validation;
//! - [`embedded`]: the default scenario and banks compiled into the binary;
//! - [`generate`]: the deterministic, streaming generator (`seed`);
//! - [`obfuscate`]: evasion phenomena applied to signal words;
//! - [`render`]: forum, social and news markup in three styles each;
//! - [`serve`]: the loopback server for a seeded tree (virtual hosts, faults, crawler trap,
//!   simulated hosting provider).

pub mod embedded;
mod error;
pub mod generate;
pub mod obfuscate;
pub mod render;
pub mod scenario;
pub mod serve;

pub use error::CorpusError;
pub use generate::{SeedOptions, SeedSummary, seed};
pub use scenario::Scenario;
