//! Rule packs: parse (with positions), check, compile into automata, evaluate, explain.
//! (stub: filled in by the next commit)

use std::path::PathBuf;

use crate::model::{Post, Verdict};

/// A compiled set of rule packs. `Send + Sync`; share it between workers.
#[derive(Debug)]
pub struct Classifier {}

/// Per-worker buffers.
#[derive(Debug, Default)]
pub struct Scratch {}

impl Classifier {
    /// Loads and compiles packs from files or directories of `*.toml`.
    pub fn from_paths(_paths: &[PathBuf]) -> crate::Result<Classifier> {
        Ok(Classifier {})
    }
    /// The embedded default packs.
    pub fn default_packs() -> crate::Result<Classifier> {
        Ok(Classifier {})
    }
    /// Fresh per-worker buffers.
    pub fn new_scratch(&self) -> Scratch {
        Scratch {}
    }
    /// Classifies one post.
    pub fn classify(&self, post: &Post, _s: &mut Scratch) -> Verdict {
        Verdict {
            post_id: post.post_id.clone(),
            url: post.url.clone(),
            flagged: false,
            score: 0.0,
            categories: vec![],
            fired: vec![],
            lang: crate::classify::text::detect(&post.text, post.lang_hint),
        }
    }
}
