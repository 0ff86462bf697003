//! `CrawlConfig`: every knob of a crawl, with documented defaults (serde, unknown fields denied).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Configuration of one crawl. `Default` gives a polite crawl; see each field for its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlConfig {
    /// Seed URLs (pages or sitemaps; a URL ending in `.xml` is read as a sitemap).
    pub seeds: Vec<String>,
    /// Host allowlist. Empty = the seeds' hosts. `*.test` allows every subdomain of `test`.
    pub scope: Vec<String>,
    /// curl-like resolve rules `HOST=ADDR[:PORT]` (`*.test=127.0.0.1:8080` allowed). Every
    /// address must be loopback; hosts without a rule are only reachable if DNS gives loopback.
    pub resolve: Vec<String>,
    /// Global concurrent requests (default 32).
    pub concurrency: usize,
    /// Concurrent requests per host (default 2).
    pub per_host: usize,
    /// Minimum delay between request starts on one host, ms (default 100). robots.txt
    /// `Crawl-delay` raises it (capped at `max_crawl_delay_ms`).
    pub delay_ms: u64,
    /// Cap on a robots.txt `Crawl-delay`, ms (default 10 000).
    pub max_crawl_delay_ms: u64,
    /// Obey robots.txt (default true). Turning it off logs a warning.
    pub obey_robots: bool,
    /// User agent sent and matched against robots.txt groups.
    pub user_agent: String,
    /// Maximum link depth from a seed (default 32).
    pub max_depth: u32,
    /// Stop after this many pages were handed to the sink (default: no limit).
    pub max_pages: Option<u64>,
    /// Maximum URLs admitted per URL pattern (digits -> N; see `url::pattern`), default 20 000.
    pub max_per_pattern: u64,
    /// Pattern depth span (trap guard): a URL whose pattern was first admitted at depth `d`
    /// is refused beyond depth `d + span` (default 12).
    pub pattern_span: u32,
    /// Barren-pattern trap detector (see `crawl::trap`): a URL pattern stops being admitted
    /// once this many of its pages (plus the pages of barren patterns it led to) were judged
    /// with no post extracted and fewer than one new URL of another pattern per this many of
    /// its pages (default 30, 0 = off). Needs the sink to report yields (`Crawler::yields`).
    pub trap_min_pages: u32,
    /// Maximum path segments in a URL (default 16).
    pub max_path_segments: usize,
    /// Connect timeout, ms (default 5 000).
    pub connect_timeout_ms: u64,
    /// Whole-request timeout, ms (default 20 000).
    pub timeout_ms: u64,
    /// Retries after the first attempt on 5xx, timeouts, truncated bodies (default 5).
    pub retries: u32,
    /// First backoff, ms; doubled per attempt, with +-50% jitter (default 100).
    pub backoff_ms: u64,
    /// Longest backoff or Retry-After honoured, ms (default 60 000).
    pub max_backoff_ms: u64,
    /// Body size cap in bytes (default 8 MiB); bigger bodies are an error `too_large`.
    pub max_body_bytes: usize,
    /// Redirect hops followed per request (default 5).
    pub max_redirects: u32,
    /// Content types handed to the sink (prefix match, default `text/html`,
    /// `application/xhtml+xml`). Sitemaps (XML) are read by the crawler itself.
    pub content_types: Vec<String>,
    /// Resume journal (JSONL). None = no journal.
    pub journal: Option<PathBuf>,
    /// Continue from the journal: skip pages it lists as done, re-enter their outlinks.
    pub resume: bool,
    /// Re-crawl: fetch the journal's pages again with conditional GET (ETag/Last-Modified).
    pub revalidate: bool,
    /// Fetch `/sitemap.xml` and robots.txt `Sitemap:` lines of every seed host (default true).
    pub sitemaps: bool,
    /// Journal fsync batch size (records), default 256.
    pub journal_batch: usize,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig {
            seeds: Vec::new(),
            scope: Vec::new(),
            resolve: Vec::new(),
            concurrency: 32,
            per_host: 2,
            delay_ms: 100,
            max_crawl_delay_ms: 10_000,
            obey_robots: true,
            user_agent: concat!("trawl/", env!("CARGO_PKG_VERSION")).to_string(),
            max_depth: 32,
            max_pages: None,
            max_per_pattern: 20_000,
            max_path_segments: 16,
            pattern_span: 12,
            trap_min_pages: 30,
            connect_timeout_ms: 5_000,
            timeout_ms: 20_000,
            retries: 5,
            backoff_ms: 100,
            max_backoff_ms: 60_000,
            max_body_bytes: 8 << 20,
            max_redirects: 5,
            content_types: vec!["text/html".into(), "application/xhtml+xml".into()],
            journal: None,
            resume: false,
            revalidate: false,
            sitemaps: true,
            journal_batch: 256,
        }
    }
}
