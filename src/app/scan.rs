//! `scan`: crawl -> extract -> classify -> index as one streaming run.
//!
//! ```text
//! tokio:   Crawler::run --(bounded mpsc, backpressure)--> batcher
//! batcher: up to `batch_pages` pages -> rayon par_iter (extract posts, skip posts already seen
//!          in this run, classify, append evidence of pages with flagged posts to a pack; one
//!          Scratch per worker thread for the whole run; results in page order, page bodies
//!          dropped) --(bounded channel, `sink_batches`)--> sink thread
//! sink:    ItemWriter + seen.jsonl; every `commit_pages` pages:
//!          seen.jsonl fsync -> evidence pack fsync -> index commit -> crawl journal commit + fsync
//! ```
//!
//! Where the CPU went, and what was cut (perf on a 100k-post scan): evidence as two new files
//! per capture spent about a fifth of the scan's CPU in ext4 inode allocation (now one append to
//! a pack file); `map_init` gave every rayon split a fresh Scratch, so the stemmer's word cache
//! started cold every few pages (now one Scratch per worker for the run); the sink queue held
//! whole pages and had room for 2 batches, so a commit stopped the workers (now bodies stay with
//! the workers and the queue holds `sink_batches`); the journal fsynced every 256 records on the
//! index thread between commits (now only after each index commit, which is when it matters);
//! commits synced the whole filesystem (`syncfs`), now only the files they need. The summary's
//! `wait_crawl` / `wait_index` show which side the workers waited for.
//!
//! Crash safety: a page is marked done in the crawl journal only after the index commit that
//! holds its posts, so after SIGKILL the index holds exactly the committed batches and `--resume`
//! re-fetches the rest; upserts by stable id make the replay idempotent, and `seen.jsonl`
//! readers keep the last record per (host, post_id).

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::classify::{Classifier, Scratch};
use crate::crawl::{CrawlConfig, CrawlStats, Crawler, Journal, YieldReporter};
use crate::extract::Extractor;
use crate::index::evidence::EvidenceStore;
use crate::index::seen::{SeenRecord, SeenWriter};
use crate::index::writer::Upsert;
use crate::index::{IndexStore, ItemWriter};
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
    /// Processed batches buffered between the workers and the index thread, so the workers
    /// keep going while it commits (bodies are not buffered: a few KB of posts per page).
    pub sink_batches: usize,
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
            commit_pages: 5_000,
            channel_pages: 256,
            sink_batches: 128,
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
    /// The index thread: index writes, seen log, commits and journal (`index_add` + `commit`,
    /// plus bookkeeping).
    pub index: f64,
    /// Writing captured pages to the evidence store, summed over workers.
    pub evidence: f64,
    /// Of `index`: `ItemWriter::add` (upsert lookups, cluster keys, tantivy documents).
    pub index_add: f64,
    /// Of `index`: seen.jsonl flush, index commit and crawl-journal commit.
    pub commit: f64,
    /// Wall time the workers waited for pages from the crawler (the crawl is the bottleneck).
    pub wait_crawl: f64,
    /// Wall time the workers waited for room in the index thread's queue (indexing or a commit
    /// is the bottleneck).
    pub wait_index: f64,
}

/// Final summary of a scan (`--json` schema).
#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// Crawler statistics.
    pub crawl: CrawlStats,
    /// Pages processed (extracted) by this run.
    pub pages: u64,
    /// Distinct posts extracted (a post shown on several pages counts once).
    pub posts: u64,
    /// Repeated sightings of posts already extracted in this run (timelines, hashtag pages),
    /// skipped before classification.
    pub duplicate_posts: u64,
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

/// What the sink needs of a page (its body stays with the worker: captured, then dropped).
struct PageRef {
    url: String,
    fetched_at: crate::model::Timestamp,
    sha256: String,
}

/// The work done on one page by a rayon worker.
struct PageResult {
    page: PageRef,
    /// The evidence capture (sha256 of the stored body) when any post was flagged.
    evidence: Option<anyhow::Result<String>>,
    evidence_ns: u64,
    posts: Vec<(Post, Verdict)>,
    duplicates: u64,
    extract_error: bool,
    extract_ns: u64,
    classify_ns: u64,
}

/// Fingerprints of `(host, post_id)` already extracted in this run (8 bytes per post).
type SeenPosts = Mutex<HashSet<u64>>;

fn post_key(p: &Post) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    p.host.hash(&mut h);
    p.post_id.0.hash(&mut h);
    h.finish()
}

fn process_page(
    page: Page,
    yields: &YieldReporter,
    extractor: &Extractor,
    classifier: &Classifier,
    evidence: &EvidenceStore,
    seen_posts: &SeenPosts,
    scratch: &mut Scratch,
) -> PageResult {
    let t0 = Instant::now();
    // The crawler found the page's links itself.
    let extracted = extractor.extract_posts(&page);
    let t1 = Instant::now();
    let (mut posts, extract_error) = match extracted {
        Ok(x) => (x.posts, false),
        Err(err) => {
            tracing::debug!(url = %page.url, error = %err, "Extraction failed.");
            (Vec::new(), true)
        }
    };
    let before = posts.len();
    yields.report(&page.url, before);
    if let Ok(mut seen) = seen_posts.lock() {
        posts.retain(|p| seen.insert(post_key(p)));
    }
    let duplicates = (before - posts.len()) as u64;
    let posts: Vec<(Post, Verdict)> = posts
        .into_iter()
        .map(|p| {
            let v = classifier.classify(&p, scratch);
            (p, v)
        })
        .collect();
    let t2 = Instant::now();
    // Captured here, in the workers, so the single index thread does not wait on the filesystem.
    let evidence = posts.iter().any(|(_, v)| v.flagged).then(|| {
        evidence
            .put(&page)
            .with_context(|| format!("capturing evidence for {}", page.url))
    });
    let t3 = Instant::now();
    PageResult {
        page: PageRef {
            url: page.url,
            fetched_at: page.fetched_at,
            sha256: page.sha256,
        },
        evidence,
        evidence_ns: (t3 - t2).as_nanos() as u64,
        posts,
        duplicates,
        extract_error,
        extract_ns: (t1 - t0).as_nanos() as u64,
        classify_ns: (t2 - t1).as_nanos() as u64,
    }
}

/// The single consumer of processed pages: index, seen log, journal, summary.
struct Sink {
    writer: ItemWriter,
    seen: SeenWriter,
    evidence: EvidenceStore,
    journal: Option<Arc<Journal>>,
    summary: ScanSummary,
    uncommitted: Vec<String>,
    commit_pages: usize,
    counters: Arc<ScanCounters>,
}

impl Sink {
    fn consume(&mut self, results: Vec<PageResult>) -> anyhow::Result<()> {
        let t_index = Instant::now();
        for r in results {
            self.page(r)?;
            if self.uncommitted.len() >= self.commit_pages {
                self.commit()?;
            }
        }
        self.summary.stage_seconds.index += t_index.elapsed().as_secs_f64();
        let s = &self.summary;
        self.counters.pages.store(s.pages, Ordering::Relaxed);
        self.counters.posts.store(s.posts, Ordering::Relaxed);
        self.counters.flagged.store(s.flagged, Ordering::Relaxed);
        Ok(())
    }

    fn page(&mut self, r: PageResult) -> anyhow::Result<()> {
        let s = &mut self.summary;
        s.pages += 1;
        s.duplicate_posts += r.duplicates;
        s.stage_seconds.extract += r.extract_ns as f64 / 1e9;
        s.stage_seconds.classify += r.classify_ns as f64 / 1e9;
        if r.extract_error {
            s.extract_errors += 1;
        }
        s.stage_seconds.evidence += r.evidence_ns as f64 / 1e9;
        let page_sha = match r.evidence {
            Some(captured) => captured?,
            None => r.page.sha256.clone(),
        };
        for (post, verdict) in r.posts {
            s.posts += 1;
            let lang = verdict.lang.lang.code();
            *s.posts_by_lang.entry(lang.to_string()).or_default() += 1;
            self.seen
                .write(&SeenRecord::new(&post, &verdict))
                .context("writing seen.jsonl")?;
            if !verdict.flagged {
                continue;
            }
            s.flagged += 1;
            if let Some(c) = verdict.categories.first() {
                *s.flagged_by_category
                    .entry(c.as_str().to_string())
                    .or_default() += 1;
            }
            *s.flagged_by_lang.entry(lang.to_string()).or_default() += 1;
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
            let upsert = self
                .writer
                .add(&item)
                .with_context(|| format!("indexing {}", item.post.url))?;
            s.stage_seconds.index_add += t_add.elapsed().as_secs_f64();
            match upsert {
                Upsert::Added => s.added += 1,
                Upsert::Updated => s.updated += 1,
                Upsert::Unchanged => s.unchanged += 1,
            }
        }
        self.uncommitted.push(r.page.url);
        Ok(())
    }

    /// seen.jsonl flush -> evidence sync -> index commit -> journal commit: a page is marked done
    /// only once everything it produced is durable.
    fn commit(&mut self) -> anyhow::Result<()> {
        let t_commit = Instant::now();
        self.seen.sync().context("syncing seen.jsonl")?;
        self.evidence.sync().context("syncing the evidence store")?;
        self.writer.commit().context("committing the index")?;
        self.summary.commits += 1;
        if let Some(j) = &self.journal {
            for url in self.uncommitted.drain(..) {
                j.commit(&url).context("writing the crawl journal")?;
            }
            j.sync().context("syncing the crawl journal")?;
        } else {
            self.uncommitted.clear();
        }
        self.summary.stage_seconds.commit += t_commit.elapsed().as_secs_f64();
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<ScanSummary> {
        let t = Instant::now();
        self.commit()?;
        self.writer.finish().context("finishing the index")?;
        self.summary.stage_seconds.index += t.elapsed().as_secs_f64();
        Ok(self.summary)
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
    let evidence = EvidenceStore::open_packed(store.evidence_dir())
        .with_context(|| format!("opening evidence store in {}", cfg.index.display()))?;
    let seen_path = store.seen_path();
    let seen =
        SeenWriter::open(&seen_path).with_context(|| format!("opening {}", seen_path.display()))?;
    let journal_path = cfg
        .crawl
        .journal
        .clone()
        .unwrap_or_else(|| cfg.index.join("crawl.journal.jsonl"));
    cfg.crawl.journal = Some(journal_path.clone());
    // The sink fsyncs the journal after every index commit; the journal's own periodic fsync
    // (every `journal_batch` records) would only stall the index thread in between.
    cfg.crawl.journal_batch = usize::MAX;
    let writer = store.writer().context("opening the index writer")?;

    let crawler = Crawler::new(cfg.crawl.clone()).context("configuring the crawler")?;
    let journal = crawler.journal();
    let crawl_progress = crawler.progress();
    let yields = crawler.yields();
    let threads = match cfg.threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
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

    let sink = Sink {
        writer,
        seen,
        evidence: evidence.clone(),
        journal,
        summary: ScanSummary {
            crawl: CrawlStats::default(),
            pages: 0,
            posts: 0,
            duplicate_posts: 0,
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
            seen: seen_path,
            journal: journal_path,
        },
        uncommitted: Vec::new(),
        commit_pages: cfg.commit_pages.max(1),
        counters,
    };
    // The sink runs beside the workers, so indexing overlaps extraction and classification.
    let (done_tx, done_rx) =
        std::sync::mpsc::sync_channel::<Vec<PageResult>>(cfg.sink_batches.max(1));
    let sink_thread = std::thread::Builder::new()
        .name("trawl-index".into())
        .spawn(move || -> anyhow::Result<ScanSummary> {
            let mut sink = sink;
            for results in done_rx {
                sink.consume(results)?;
            }
            sink.finish()
        })
        .context("starting the index thread")?;

    let seen_posts = SeenPosts::default();
    // One Scratch per worker thread for the whole scan, not one per rayon split (`map_init`
    // makes a new one for every split of every batch): the scratch holds the stemmer's word
    // cache, which a fresh scratch has to fill again by running the stemmer on every word.
    let scratches: Vec<Mutex<Scratch>> = (0..threads)
        .map(|_| Mutex::new(classifier.new_scratch()))
        .collect();
    let batch_pages = cfg.batch_pages.max(1);
    let mut batch: Vec<Page> = Vec::with_capacity(batch_pages);
    let (mut wait_crawl, mut wait_index) = (Duration::ZERO, Duration::ZERO);
    loop {
        let t_wait = Instant::now();
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        wait_crawl += t_wait.elapsed();
        batch.push(first);
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
                .map(|page| {
                    let i = rayon::current_thread_index().unwrap_or(0) % scratches.len();
                    let mut scratch = scratches[i].lock().unwrap_or_else(|p| p.into_inner());
                    process_page(
                        page,
                        &yields,
                        &extractor,
                        &classifier,
                        &evidence,
                        &seen_posts,
                        &mut scratch,
                    )
                })
                .collect()
        });
        let t_send = Instant::now();
        if done_tx.send(results).is_err() {
            break; // the sink failed; its error is reported below
        }
        wait_index += t_send.elapsed();
    }
    drop(done_tx);
    drop(rx);
    let sink_result = sink_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the index thread panicked"))?;
    let crawl_result = runtime.block_on(crawl_task);
    runtime.shutdown_timeout(Duration::from_secs(1));
    progress.finish();
    let mut summary = sink_result?;
    summary.stage_seconds.wait_crawl = wait_crawl.as_secs_f64();
    summary.stage_seconds.wait_index = wait_index.as_secs_f64();
    summary.crawl = crawl_result
        .context("crawler task panicked")?
        .context("crawl failed")?;
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
