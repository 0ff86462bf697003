//! Polite, fault-tolerant crawling: frontier, fetch, robots.txt, politeness, scope, resume journal. Input: seed URLs and a host->loopback map given as data; output: `Page`s. Never imports `corpus` (no peeking at the answer key).
//!
//! May use: model, util.

mod error;

pub use error::CrawlError;
