//! `trawl scan`: crawl -> extract -> classify -> index in one streaming, resumable run.

use std::path::PathBuf;
use std::process::ExitCode;

use trawl::app::scan::{ScanConfig, ScanSummary, scan};
use trawl::crawl::CrawlConfig;

/// Flags of `trawl scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub crawl: super::crawl::CrawlFlags,
    /// Rule packs (files or directories of *.toml); default: the embedded packs.
    #[arg(long, value_name = "PACK")]
    pub rules: Vec<PathBuf>,
    /// Index directory (also holds evidence/, seen.jsonl and the crawl journal).
    #[arg(long, env = "TRAWL_INDEX", default_value = "trawl-data/index")]
    pub index: PathBuf,
    /// Continue a killed scan: journaled pages are not fetched again.
    #[arg(long)]
    pub resume: bool,
    /// Extraction + classification threads (default: available cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Pages per index commit (and crawl-journal commit).
    #[arg(long, default_value_t = 5_000)]
    pub commit_pages: usize,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The embedded pack knows the default scenario's organisation only: scanning a corpus seeded
/// from another scenario without `--rules` is almost certainly a mistake, so say how to fix it.
fn warn_if_pack_is_for_another_scenario(manifest: &std::path::Path) -> anyhow::Result<()> {
    let m = trawl::app::read_manifest(manifest)?;
    let default = trawl::corpus::scenario::Scenario::default_scenario()?;
    if m.scenario != default.file.name {
        tracing::warn!(
            "{} was seeded from scenario {:?}, but the embedded rule pack is written for {:?}'s \
             organisation; write a pack from that scenario's brief (`trawl rules brief \
             SCENARIO.toml --out PACK`) and pass --rules PACK",
            manifest.display(),
            m.scenario,
            default.file.name
        );
    }
    Ok(())
}

/// Runs `trawl scan`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.rules.is_empty()
        && let Some(m) = &a.crawl.seeds_from
    {
        warn_if_pack_is_for_another_scenario(m)?;
    }
    let crawl = CrawlConfig {
        resume: a.resume,
        ..a.crawl.to_config()?
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
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        out!("{}", render(&summary));
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
        "scanned {} pages ({} requests, {} errors) -> {} posts ({} repeat sightings skipped) \
         -> {} flagged in {:.1}s ({:.0} pages/s, {:.0} posts/s)",
        s.pages,
        s.crawl.requests,
        s.error_count(),
        s.posts,
        s.duplicate_posts,
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
        "stage busy time: extract {:.2}s, classify {:.2}s, index {:.2}s (evidence {:.2}s, add {:.2}s, commits {:.2}s); \
         workers waited {:.2}s for the crawl, {:.2}s for the index",
        s.stage_seconds.extract,
        s.stage_seconds.classify,
        s.stage_seconds.index,
        s.stage_seconds.evidence,
        s.stage_seconds.index_add,
        s.stage_seconds.commit,
        s.stage_seconds.wait_crawl,
        s.stage_seconds.wait_index
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
