//! `scan`: crawl -> extract -> classify -> index as one streaming run.
//!
//! ```text
//! tokio: Crawler::run --(bounded mpsc, backpressure)--> batcher thread
//! batcher: up to `batch_pages` pages -> rayon par_iter (extract + classify, one Scratch per
//!          worker via map_init, results in page order) -> evidence store + ItemWriter + seen.jsonl
//! every `commit_pages` pages: seen.jsonl fsync -> index commit -> crawl journal commit + fsync
//! ```
//!
//! Crash safety: a page is marked done in the crawl journal only after the index commit that
//! holds its posts, so after SIGKILL the index holds exactly the committed batches and `--resume`
//! re-fetches the rest; upserts by stable id make the replay idempotent, and `seen.jsonl`
//! readers keep the last record per (host, post_id).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::classify::{Classifier, Scratch};
use crate::crawl::{CrawlConfig, CrawlStats, Crawler};
use crate::extract::Extractor;
use crate::index::IndexStore;
use crate::index::evidence::EvidenceStore;
use crate::index::seen::{SeenRecord, SeenWriter};
use crate::index::writer::Upsert;
use crate::model::{Item, Page, Post, ReviewStatus, Verdict};

use super::progress::Progress;

/// Everything a scan needs.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Crawl seeds, scope, resolver and politeness.
    pub crawl: CrawlConfig,
    /// Rule packs (files or directories); empty = the embedded default packs.
    pub rules: Vec<PathBuf>,
    /// Index directory (created if missing); also holds evidence/, seen.jsonl, crawl.journal.jsonl.
    pub index: PathBuf,
    /// Worker threads for extraction + classification (0 = available cores).
    pub threads: usize,
    /// Pages per rayon hand-off.
    pub batch_pages: usize,
    /// Pages per index commit (and journal commit).
    pub commit_pages: usize,
    /// Pages buffered between the crawler and the workers (backpressure bound).
    pub channel_pages: usize,
    /// Show progress bars on stderr.
    pub progress: bool,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            crawl: CrawlConfig::default(),
            rules: Vec::new(),
            index: PathBuf::from("trawl-index"),
            threads: 0,
            batch_pages: 32,
            commit_pages: 2_000,
            channel_pages: 256,
            progress: true,
        }
    }
}

/// Busy time per stage (summed over threads), to compare the pipeline with its slowest stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageSeconds {
    /// Extraction (HTML parse + profiles), summed over workers.
    pub extract: f64,
    /// Classification, summed over workers.
    pub classify: f64,
    /// Evidence capture + index writes + commits + journal (the three below, plus bookkeeping).
    pub index: f64,
    /// Of `index`: writing captured pages to the evidence store.
    pub evidence: f64,
    /// Of `index`: `ItemWriter::add` (upsert lookups, cluster keys, tantivy documents).
    pub index_add: f64,
    /// Of `index`: seen.jsonl flush, index commit and crawl-journal commit.
    pub commit: f64,
}

/// Final summary of a scan (`--json` schema).
#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// Crawler statistics.
    pub crawl: CrawlStats,
    /// Pages processed (extracted) by this run.
    pub pages: u64,
    /// Posts extracted.
    pub posts: u64,
    /// Posts at or above the pack threshold.
    pub flagged: u64,
    /// Flagged items new to the index.
    pub added: u64,
    /// Flagged items whose post or verdict changed since the last scan.
    pub updated: u64,
    /// Flagged items already in the index unchanged (re-scan).
    pub unchanged: u64,
    /// Flagged posts by category (first category of the verdict).
    pub flagged_by_category: BTreeMap<String, u64>,
    /// Flagged posts by detected language.
    pub flagged_by_lang: BTreeMap<String, u64>,
    /// Posts by detected language.
    pub posts_by_lang: BTreeMap<String, u64>,
    /// Pages the extractor rejected (malformed, binary, ...).
    pub extract_errors: u64,
    /// Index commits.
    pub commits: u64,
    /// Wall time.
    pub seconds: f64,
    /// Pages per second (wall).
    pub pages_per_sec: f64,
    /// Posts per second (wall).
    pub posts_per_sec: f64,
    /// Busy time per stage.
    pub stage_seconds: StageSeconds,
    /// Items in the index after the scan.
    pub index_items: u64,
    /// Index directory.
    pub index: PathBuf,
    /// Evidence directory (captured pages of flagged posts).
    pub evidence: PathBuf,
    /// Per-post record of everything seen (for `trawl eval`).
    pub seen: PathBuf,
    /// Crawl journal (for `--resume`).
    pub journal: PathBuf,
}

impl ScanSummary {
    /// Total item errors (crawl errors + extraction errors): non-zero means exit code 1.
    pub fn error_count(&self) -> u64 {
        self.crawl.error_count() + self.extract_errors
    }
}

/// The work done on one page by a rayon worker.
struct PageResult {
    page: Page,
    posts: Vec<(Post, Verdict)>,
    extract_error: bool,
    extract_ns: u64,
    classify_ns: u64,
}

fn process_page(
    page: Page,
    extractor: &Extractor,
    classifier: &Classifier,
    scratch: &mut Scratch,
) -> PageResult {
    let t0 = Instant::now();
    let extracted = extractor.extract(&page);
    let t1 = Instant::now();
    let (posts, extract_error) = match extracted {
        Ok(x) => (x.posts, false),
        Err(err) => {
            tracing::debug!(url = %page.url, error = %err, "Extraction failed.");
            (Vec::new(), true)
        }
    };
    let posts: Vec<(Post, Verdict)> = posts
        .into_iter()
        .map(|p| {
            let v = classifier.classify(&p, scratch);
            (p, v)
        })
        .collect();
    let t2 = Instant::now();
    PageResult {
        page,
        posts,
        extract_error,
        extract_ns: (t1 - t0).as_nanos() as u64,
        classify_ns: (t2 - t1).as_nanos() as u64,
    }
}

/// Runs a scan to completion.
pub fn scan(mut cfg: ScanConfig) -> anyhow::Result<ScanSummary> {
    let started = Instant::now();
    let classifier = if cfg.rules.is_empty() {
        Classifier::default_packs().context("loading the embedded default rule packs")?
    } else {
        Classifier::from_paths(&cfg.rules).context("loading rule packs")?
    };
    let extractor = Extractor::new();
    std::fs::create_dir_all(&cfg.index)
        .with_context(|| format!("creating index directory {}", cfg.index.display()))?;
    let store = IndexStore::open_or_create(&cfg.index)
        .with_context(|| format!("opening index {}", cfg.index.display()))?;
    let evidence = EvidenceStore::open(store.evidence_dir())
        .with_context(|| format!("opening evidence store in {}", cfg.index.display()))?;
    let seen_path = store.seen_path();
    let mut seen =
        SeenWriter::open(&seen_path).with_context(|| format!("opening {}", seen_path.display()))?;
    let journal_path = cfg
        .crawl
        .journal
        .clone()
        .unwrap_or_else(|| cfg.index.join("crawl.journal.jsonl"));
    cfg.crawl.journal = Some(journal_path.clone());
    let mut writer = store.writer().context("opening the index writer")?;

    let crawler = Crawler::new(cfg.crawl.clone()).context("configuring the crawler")?;
    let journal = crawler.journal();
    let crawl_progress = crawler.progress();
    let threads = if cfg.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        cfg.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("trawl-scan-{i}"))
        .build()
        .context("starting the worker pool")?;

    let (tx, mut rx) = mpsc::channel::<Page>(cfg.channel_pages.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("trawl-crawl")
        .build()
        .context("starting the async runtime")?;
    let crawl_task = runtime.spawn(async move { crawler.run(tx).await });

    let counters = Arc::new(ScanCounters::default());
    let progress = Progress::scan(cfg.progress, crawl_progress.clone(), counters.clone());

    let mut summary = ScanSummary {
        crawl: CrawlStats::default(),
        pages: 0,
        posts: 0,
        flagged: 0,
        added: 0,
        updated: 0,
        unchanged: 0,
        flagged_by_category: BTreeMap::new(),
        flagged_by_lang: BTreeMap::new(),
        posts_by_lang: BTreeMap::new(),
        extract_errors: 0,
        commits: 0,
        seconds: 0.0,
        pages_per_sec: 0.0,
        posts_per_sec: 0.0,
        stage_seconds: StageSeconds::default(),
        index_items: 0,
        index: cfg.index.clone(),
        evidence: store.evidence_dir(),
        seen: seen_path.clone(),
        journal: journal_path.clone(),
    };
    let mut uncommitted: Vec<String> = Vec::new();
    let mut index_time = Duration::ZERO;
    let batch_pages = cfg.batch_pages.max(1);
    let commit_pages = cfg.commit_pages.max(1);
    let mut batch: Vec<Page> = Vec::with_capacity(batch_pages);

    let commit = |writer: &mut crate::index::writer::ItemWriter,
                  seen: &mut SeenWriter,
                  uncommitted: &mut Vec<String>,
                  summary: &mut ScanSummary|
     -> anyhow::Result<()> {
        let t_commit = Instant::now();
        seen.flush().context("flushing seen.jsonl")?;
        evidence.sync().context("syncing the evidence store")?;
        writer.commit().context("committing the index")?;
        summary.commits += 1;
        if let Some(j) = &journal {
            for url in uncommitted.drain(..) {
                j.commit(&url).context("writing the crawl journal")?;
            }
            j.sync().context("syncing the crawl journal")?;
        } else {
            uncommitted.clear();
        }
        summary.stage_seconds.commit += t_commit.elapsed().as_secs_f64();
        Ok(())
    };

    loop {
        batch.clear();
        match rx.blocking_recv() {
            Some(p) => batch.push(p),
            None => break,
        }
        while batch.len() < batch_pages {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let pages = std::mem::take(&mut batch);
        let results: Vec<PageResult> = pool.install(|| {
            pages
                .into_par_iter()
                .map_init(
                    || classifier.new_scratch(),
                    |scratch, page| process_page(page, &extractor, &classifier, scratch),
                )
                .collect()
        });
        let t_index = Instant::now();
        for r in results {
            summary.pages += 1;
            summary.stage_seconds.extract += r.extract_ns as f64 / 1e9;
            summary.stage_seconds.classify += r.classify_ns as f64 / 1e9;
            if r.extract_error {
                summary.extract_errors += 1;
            }
            let any_flagged = r.posts.iter().any(|(_, v)| v.flagged);
            let t_ev = Instant::now();
            let page_sha = if any_flagged {
                evidence
                    .put(&r.page)
                    .with_context(|| format!("capturing evidence for {}", r.page.url))?
            } else {
                r.page.sha256.clone()
            };
            summary.stage_seconds.evidence += t_ev.elapsed().as_secs_f64();
            for (post, verdict) in r.posts {
                summary.posts += 1;
                *summary
                    .posts_by_lang
                    .entry(verdict.lang.lang.code().to_string())
                    .or_default() += 1;
                seen.write(&SeenRecord::new(&post, &verdict))
                    .with_context(|| format!("writing {}", seen_path.display()))?;
                if !verdict.flagged {
                    continue;
                }
                summary.flagged += 1;
                if let Some(c) = verdict.categories.first() {
                    *summary
                        .flagged_by_category
                        .entry(c.as_str().to_string())
                        .or_default() += 1;
                }
                *summary
                    .flagged_by_lang
                    .entry(verdict.lang.lang.code().to_string())
                    .or_default() += 1;
                let item = Item {
                    id: Item::make_id(&post.host, &post.post_id),
                    post,
                    verdict,
                    page_sha256: page_sha.clone(),
                    fetched_at: r.page.fetched_at,
                    cluster: String::new(),
                    status: ReviewStatus::Pending,
                };
                let t_add = Instant::now();
                let upsert = writer
                    .add(&item)
                    .with_context(|| format!("indexing {}", item.post.url))?;
                summary.stage_seconds.index_add += t_add.elapsed().as_secs_f64();
                match upsert {
                    Upsert::Added => summary.added += 1,
                    Upsert::Updated => summary.updated += 1,
                    Upsert::Unchanged => summary.unchanged += 1,
                }
            }
            uncommitted.push(r.page.url);
            if uncommitted.len() >= commit_pages {
                commit(&mut writer, &mut seen, &mut uncommitted, &mut summary)?;
            }
        }
        index_time += t_index.elapsed();
        counters.pages.store(summary.pages, Ordering::Relaxed);
        counters.posts.store(summary.posts, Ordering::Relaxed);
        counters.flagged.store(summary.flagged, Ordering::Relaxed);
    }
    let t_index = Instant::now();
    commit(&mut writer, &mut seen, &mut uncommitted, &mut summary)?;
    writer.finish().context("finishing the index")?;
    index_time += t_index.elapsed();

    let crawl_stats = runtime
        .block_on(crawl_task)
        .context("crawler task panicked")?
        .context("crawl failed")?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    progress.finish();

    summary.crawl = crawl_stats;
    summary.stage_seconds.index = index_time.as_secs_f64();
    summary.seconds = started.elapsed().as_secs_f64();
    let secs = summary.seconds.max(1e-9);
    summary.pages_per_sec = summary.pages as f64 / secs;
    summary.posts_per_sec = summary.posts as f64 / secs;
    store.reload().context("reloading the index")?;
    summary.index_items = store.len();
    Ok(summary)
}

/// Live counters of the scan's consumer side, read by the progress bar.
#[derive(Debug, Default)]
pub struct ScanCounters {
    /// Pages processed.
    pub pages: AtomicU64,
    /// Posts extracted.
    pub posts: AtomicU64,
    /// Posts flagged.
    pub flagged: AtomicU64,
}
