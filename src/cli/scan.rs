//! `trawl scan`: crawl -> extract -> classify -> index in one streaming, resumable run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use trawl::app::scan::{ScanConfig, ScanSummary, scan};
use trawl::crawl::CrawlConfig;

/// Flags of `trawl scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seed URLs (pages or sitemaps ending in .xml).
    pub urls: Vec<String>,
    /// Seeds from a seeded corpus: its manifest's hosts and entry points (never its truth).
    #[arg(long, value_name = "DIR/manifest.json")]
    pub seeds_from: Option<PathBuf>,
    /// Map hosts to loopback like curl: 'HOST=ADDR[:PORT]', '*.test=127.0.0.1:8080'.
    #[arg(long, value_name = "HOST=ADDR")]
    pub resolve: Vec<String>,
    /// Allowed hosts (default: the seeds' hosts). '*.test' allows all subdomains.
    #[arg(long, value_name = "HOST")]
    pub scope: Vec<String>,
    /// Rule packs (files or directories of *.toml); default: the embedded packs.
    #[arg(long, value_name = "PACK")]
    pub rules: Vec<PathBuf>,
    /// Index directory (also holds evidence/, seen.jsonl and the crawl journal).
    #[arg(long, default_value = "trawl-index")]
    pub index: PathBuf,
    /// Continue a killed scan: journaled pages are not fetched again.
    #[arg(long)]
    pub resume: bool,
    /// Global concurrent requests.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Concurrent requests per host.
    #[arg(long, default_value_t = 2)]
    pub per_host: usize,
    /// Minimum delay between requests to one host (robots.txt Crawl-delay may raise it).
    #[arg(long, default_value_t = 100)]
    pub delay_ms: u64,
    /// Do not fetch or obey robots.txt (logs a warning; for loopback benchmarks only).
    #[arg(long)]
    pub ignore_robots: bool,
    /// Maximum link depth from a seed.
    #[arg(long, default_value_t = 32)]
    pub max_depth: u32,
    /// Stop after this many pages.
    #[arg(long)]
    pub max_pages: Option<u64>,
    /// Retries on 5xx, timeouts and truncated bodies.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// Whole-request timeout in ms.
    #[arg(long, default_value_t = 20_000)]
    pub timeout_ms: u64,
    /// Extraction + classification threads (default: available cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Pages per index commit (and crawl-journal commit).
    #[arg(long, default_value_t = 2_000)]
    pub commit_pages: usize,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `trawl scan`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let mut seeds = a.urls.clone();
    let mut scope = a.scope.clone();
    if let Some(m) = &a.seeds_from {
        let manifest = trawl::app::read_manifest(m)?;
        let (s, hosts) = trawl::app::seeds_from_manifest(&manifest);
        seeds.extend(s);
        if a.scope.is_empty() {
            scope.extend(hosts);
        }
    }
    if seeds.is_empty() {
        bail!("no seeds: give URLs or --seeds-from DIR/manifest.json");
    }
    let crawl = CrawlConfig {
        seeds,
        scope,
        resolve: a.resolve.clone(),
        concurrency: a.concurrency,
        per_host: a.per_host,
        delay_ms: a.delay_ms,
        obey_robots: !a.ignore_robots,
        max_depth: a.max_depth,
        max_pages: a.max_pages,
        retries: a.retries,
        timeout_ms: a.timeout_ms,
        resume: a.resume,
        ..CrawlConfig::default()
    };
    let summary = scan(ScanConfig {
        crawl,
        rules: a.rules.clone(),
        index: a.index.clone(),
        threads: a.threads,
        commit_pages: a.commit_pages,
        progress: true,
        ..ScanConfig::default()
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(if summary.error_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The human summary of a scan.
pub fn render(s: &ScanSummary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scanned {} pages ({} requests, {} errors) -> {} posts -> {} flagged in {:.1}s \
         ({:.0} pages/s, {:.0} posts/s)",
        s.pages,
        s.crawl.requests,
        s.error_count(),
        s.posts,
        s.flagged,
        s.seconds,
        s.pages_per_sec,
        s.posts_per_sec
    );
    let _ = writeln!(
        o,
        "index: {} items ({} new, {} updated, {} unchanged), {} commits",
        s.index_items, s.added, s.updated, s.unchanged, s.commits
    );
    let cats: Vec<String> = s
        .flagged_by_category
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(o, "flagged by category: {}", cats.join(", "));
    let langs: Vec<String> = s
        .flagged_by_lang
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(o, "flagged by language: {}", langs.join(", "));
    let _ = writeln!(
        o,
        "stage busy time: extract {:.2}s, classify {:.2}s, index {:.2}s (evidence {:.2}s, add {:.2}s, commits {:.2}s)",
        s.stage_seconds.extract,
        s.stage_seconds.classify,
        s.stage_seconds.index,
        s.stage_seconds.evidence,
        s.stage_seconds.index_add,
        s.stage_seconds.commit
    );
    let _ = writeln!(o, "index:    {}", s.index.display());
    let _ = writeln!(o, "evidence: {}", s.evidence.display());
    let _ = writeln!(
        o,
        "journal:  {} (re-run with --resume after a crash)",
        s.journal.display()
    );
    o
}
