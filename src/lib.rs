//! trawl: a content-referral pipeline for online counter-terrorism exercises.
//!
//! The loop, one module per stage, data flowing one way:
//!
//! ```text
//! corpus  scenario.toml -> synthetic .test sites + truth.jsonl, served on loopback
//! crawl   seeds -> polite, fault-tolerant fetches -> Page
//! extract Page -> Vec<Post>                (site profiles, JSON-LD, readable text)
//! classify Post -> Verdict                 (normalise, language, stems, rule packs)
//! index   flagged Post + Verdict -> Item   (tantivy: search, facets, status)
//! review  decisions with an audit trail
//! refer   confirmed Items -> referral bundles per hosting provider
//! eval    results vs truth.jsonl -> precision / recall / F1
//! ```
//!
//! `model` holds the shared types; `app` wires the stages together and is imported by nobody but
//! the binary. All corpus content is fictional, and all traffic stays on loopback.
#![warn(missing_docs)]

pub mod app;
pub mod classify;
pub mod corpus;
pub mod crawl;
pub mod error;
pub mod eval;
pub mod extract;
pub mod index;
pub mod model;
pub mod refer;
pub mod review;
pub mod util;

pub use error::Error;

/// The crate's result type. House rule: write `crate::Result<T>`.
pub type Result<T> = std::result::Result<T, Error>;
