//! `trawl crawl [URL...] --out posts.jsonl`: crawl politely, extract posts, write one `Post` per
//! line; resumable with `--resume` (journal next to the output by default).
//!
//! Pipeline: crawler tasks -> bounded channel of pages -> extraction threads (one per core) ->
//! one writer thread, which de-duplicates posts by `(host, post_id)`, writes them, fsyncs the
//! output, and only then commits the pages to the crawl journal. A crash can therefore leave
//! posts whose pages are not journaled yet: on `--resume` those pages are fetched again and
//! their posts are skipped as duplicates (the existing posts.jsonl is read first; a torn last
//! line is cut off).
//!
//! `--ignore-robots` is allowed (all traffic is loopback anyway) but logs a warning and is
//! recorded in the stats; use it only for throughput measurements against `trawl serve`.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::sync::mpsc;
use trawl::crawl::{CrawlConfig, CrawlStats, Crawler, Journal};
use trawl::extract::Extractor;
use trawl::model::{Page, Post};

/// Seeds, scope, resolver and politeness: the crawl knobs shared by `trawl crawl` and `trawl scan`.
#[derive(Debug, clap::Args)]
pub struct CrawlFlags {
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
    #[arg(long, alias = "no-robots")]
    pub ignore_robots: bool,
    /// Maximum link depth from a seed.
    #[arg(long, default_value_t = 32)]
    pub max_depth: u32,
    /// Stop after this many pages.
    #[arg(long)]
    pub max_pages: Option<u64>,
    /// Maximum URLs per URL pattern (digits -> N), a trap guard.
    #[arg(long, default_value_t = 20_000)]
    pub max_per_pattern: u64,
    /// Pattern depth span, a trap guard (see CrawlConfig::pattern_span).
    #[arg(long, default_value_t = 12)]
    pub pattern_span: u32,
    /// Trap detector: stop requesting a URL pattern once this many of its pages yielded no
    /// post and (almost) no new URL of another pattern (0 = off; see CrawlConfig::trap_min_pages).
    #[arg(long, default_value_t = 30)]
    pub trap_min_pages: u32,
    /// Retries on 5xx, timeouts and truncated bodies.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// First retry backoff in ms (doubles per attempt, jittered).
    #[arg(long, default_value_t = 100)]
    pub backoff_ms: u64,
    /// Whole-request timeout in ms.
    #[arg(long, default_value_t = 20_000)]
    pub timeout_ms: u64,
    /// Body size cap in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// Do not read /sitemap.xml and robots.txt Sitemap: lines.
    #[arg(long)]
    pub no_sitemaps: bool,
}

impl CrawlFlags {
    /// The crawl configuration these flags describe (seeds from URLs and/or a manifest; scope
    /// defaults to the manifest's hosts). Journal and resume are set by the caller.
    pub fn to_config(&self) -> anyhow::Result<CrawlConfig> {
        let mut seeds = self.urls.clone();
        let mut scope = self.scope.clone();
        if let Some(m) = &self.seeds_from {
            let manifest = trawl::app::read_manifest(m)?;
            let (s, hosts) = trawl::app::seeds_from_manifest(&manifest);
            seeds.extend(s);
            if self.scope.is_empty() {
                scope.extend(hosts);
            }
        }
        if seeds.is_empty() {
            bail!("no seeds: give URLs or --seeds-from DIR/manifest.json");
        }
        Ok(CrawlConfig {
            seeds,
            scope,
            resolve: self.resolve.clone(),
            concurrency: self.concurrency,
            per_host: self.per_host,
            delay_ms: self.delay_ms,
            obey_robots: !self.ignore_robots,
            max_depth: self.max_depth,
            max_pages: self.max_pages,
            max_per_pattern: self.max_per_pattern,
            pattern_span: self.pattern_span,
            trap_min_pages: self.trap_min_pages,
            retries: self.retries,
            backoff_ms: self.backoff_ms,
            timeout_ms: self.timeout_ms,
            max_body_bytes: self.max_body_bytes,
            sitemaps: !self.no_sitemaps,
            ..CrawlConfig::default()
        })
    }
}

/// Flags of `trawl crawl`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub crawl: CrawlFlags,
    /// Output posts, one JSON object per line.
    #[arg(long, value_name = "posts.jsonl")]
    pub out: PathBuf,
    /// Continue a killed crawl from its journal (skips journaled pages, de-duplicates posts).
    #[arg(long)]
    pub resume: bool,
    /// Re-crawl the journal's pages with conditional GET (ETag / Last-Modified).
    #[arg(long, conflicts_with = "resume")]
    pub revalidate: bool,
    /// Journal file (default: OUT with extension .journal.jsonl).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Extra site profiles (*.toml) tried before the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub profiles: Option<PathBuf>,
    /// Extraction threads (default: available cores).
    #[arg(long)]
    pub extract_threads: Option<usize>,
    /// Print the final stats as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Final summary (`--json`).
#[derive(Debug, Serialize)]
struct Summary {
    crawl: CrawlStats,
    posts_written: u64,
    posts_duplicate: u64,
    posts_before_resume: u64,
    extract_errors: u64,
    pages_without_posts: u64,
    posts_per_sec: f64,
    posts_rethreaded: usize,
    robots_obeyed: bool,
    out: PathBuf,
    journal: PathBuf,
    /// Set when the crawl fetched no page at all: why, in one sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    nothing_crawled: Option<String>,
}

/// One sentence when a crawl fetched no page (none now, none done before a resume).
fn nothing_crawled(s: &CrawlStats) -> Option<String> {
    if s.pages > 0 || s.resumed_done > 0 || s.not_modified > 0 {
        return None;
    }
    Some(if s.error_count() > 0 {
        let hosts = if s.unreachable_hosts.is_empty() {
            String::new()
        } else {
            let h: Vec<String> = s
                .unreachable_hosts
                .iter()
                .map(|(o, why)| format!("{o} ({why})"))
                .collect();
            format!("; unreachable: {}", h.join(", "))
        };
        format!("no page was fetched: every seed failed (see errors){hosts}")
    } else {
        "no page was fetched: every seed was skipped (robots.txt, scope, trap caps or content type)"
            .to_string()
    })
}

/// Reads the (host, post_id) keys of an existing output, cutting a torn last line.
fn load_existing(out: &Path) -> anyhow::Result<HashSet<(String, String)>> {
    let mut keys = HashSet::new();
    let Ok(file) = File::open(out) else {
        return Ok(keys);
    };
    let mut reader = BufReader::new(file);
    let mut good: u64 = 0;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .with_context(|| format!("reading {}", out.display()))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        good += n as u64;
        if let Ok(p) = serde_json::from_str::<Post>(line.trim_end()) {
            keys.insert((p.host, p.post_id.0));
        }
    }
    let f = OpenOptions::new()
        .write(true)
        .open(out)
        .with_context(|| format!("opening {}", out.display()))?;
    f.set_len(good)
        .with_context(|| format!("truncating torn tail of {}", out.display()))?;
    Ok(keys)
}

struct Counters {
    posts: AtomicU64,
    dups: AtomicU64,
    extract_errors: AtomicU64,
    empty_pages: AtomicU64,
}

/// Runs `trawl crawl`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let journal_path = a
        .journal
        .clone()
        .unwrap_or_else(|| a.out.with_extension("journal.jsonl"));
    if a.resume && !journal_path.exists() {
        tracing::warn!(
            "--resume: no journal at {}; starting fresh",
            journal_path.display()
        );
    }
    let config = CrawlConfig {
        journal: Some(journal_path.clone()),
        resume: a.resume,
        revalidate: a.revalidate,
        ..a.crawl.to_config()?
    };
    let extractor = Arc::new(match &a.profiles {
        Some(d) => Extractor::with_profile_dir(d)?,
        None => Extractor::new(),
    });
    let crawler = Crawler::new(config)?;
    let journal = crawler.journal().context("journal not opened")?;
    let yields = crawler.yields();

    let existing = if a.resume || a.revalidate {
        load_existing(&a.out)?
    } else {
        HashSet::new()
    };
    let before = existing.len() as u64;
    if let Some(dir) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let out_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.out)
        .with_context(|| format!("opening {}", a.out.display()))?;
    if !(a.resume || a.revalidate) {
        out_file
            .set_len(0)
            .with_context(|| format!("truncating {}", a.out.display()))?;
    }

    let counters = Arc::new(Counters {
        posts: AtomicU64::new(0),
        dups: AtomicU64::new(0),
        extract_errors: AtomicU64::new(0),
        empty_pages: AtomicU64::new(0),
    });
    let (page_tx, page_rx) = mpsc::channel::<Page>(512);
    let page_rx = Arc::new(Mutex::new(page_rx));
    let (res_tx, res_rx) = std::sync::mpsc::sync_channel::<(String, Vec<Post>)>(512);
    let threads = a
        .extract_threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let mut workers = Vec::new();
    for _ in 0..threads {
        let rx = page_rx.clone();
        let tx = res_tx.clone();
        let ex = extractor.clone();
        let c = counters.clone();
        let yields = yields.clone();
        workers.push(std::thread::spawn(move || {
            loop {
                let page = match rx.lock() {
                    Ok(mut r) => r.blocking_recv(),
                    Err(_) => None,
                };
                let Some(page) = page else { break };
                let posts = match ex.extract(&page) {
                    Ok(x) => x.posts,
                    Err(e) => {
                        tracing::debug!("extract: {e}");
                        c.extract_errors.fetch_add(1, Ordering::Relaxed);
                        Vec::new()
                    }
                };
                yields.report(&page.url, posts.len());
                if tx.send((page.url, posts)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(res_tx);
    let writer = {
        let c = counters.clone();
        let journal = journal.clone();
        let out_path = a.out.clone();
        std::thread::spawn(move || write_posts(res_rx, out_file, &out_path, existing, &journal, &c))
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let progress = crawler.progress();
    let show = std::io::stderr().is_terminal() && std::env::var_os("TRAWL_NO_PROGRESS").is_none();
    let started = Instant::now();
    let stats = rt.block_on(async {
        let bar = show.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        let ticker = bar.clone().map(|b| {
            let p = progress.clone();
            let c = counters.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let pages = p.pages.load(Ordering::Relaxed);
                    let rate = pages as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    let errs = p.errors.lock().map(|e| e.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")).unwrap_or_default();
                    b.set_message(format!(
                        "pages {pages} ({rate:.0}/s)  posts {}  queue {}  in flight {}  errors [{errs}]",
                        c.posts.load(Ordering::Relaxed),
                        p.queued.load(Ordering::Relaxed),
                        p.in_flight.load(Ordering::Relaxed),
                    ));
                }
            })
        });
        let r = crawler.run(page_tx).await;
        if let Some(t) = ticker {
            t.abort();
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        r
    });
    // The crawler dropped its sender: workers drain and stop, then the writer.
    for w in workers {
        let _ = w.join();
    }
    let write_result = writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?;
    write_result?;
    journal.sync()?;
    let stats = stats?;
    let rethreaded = resolve_threads(&a.out)?;
    let elapsed = started.elapsed().as_secs_f64();
    let summary = Summary {
        posts_written: counters.posts.load(Ordering::Relaxed),
        posts_duplicate: counters.dups.load(Ordering::Relaxed),
        posts_before_resume: before,
        extract_errors: counters.extract_errors.load(Ordering::Relaxed),
        pages_without_posts: counters.empty_pages.load(Ordering::Relaxed),
        posts_per_sec: counters.posts.load(Ordering::Relaxed) as f64 / elapsed.max(1e-9),
        posts_rethreaded: rethreaded,
        robots_obeyed: !a.crawl.ignore_robots,
        out: a.out.clone(),
        journal: journal_path,
        nothing_crawled: nothing_crawled(&stats),
        crawl: stats,
    };
    let mut stdout = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut stdout, &summary)?;
        writeln!(stdout)?;
    } else {
        let s = &summary.crawl;
        writeln!(
            stdout,
            "crawled {} pages in {:.1}s ({:.0} pages/s), {} requests, {} retries, {} sitemaps",
            s.pages, s.elapsed_secs, s.pages_per_sec, s.requests, s.retries, s.sitemaps
        )?;
        writeln!(
            stdout,
            "posts: {} written ({:.0}/s), {} duplicates skipped, {} already present; {} extract errors",
            summary.posts_written,
            summary.posts_per_sec,
            summary.posts_duplicate,
            before,
            summary.extract_errors
        )?;
        writeln!(
            stdout,
            "skipped: robots {}, out of scope {}, trap caps {} (pattern) {} (depth), content type {}; resumed {}",
            s.robots_disallowed,
            s.out_of_scope,
            s.pattern_capped,
            s.depth_capped,
            s.skipped_content_type,
            s.resumed_done
        )?;
        if !s.barren_patterns.is_empty() {
            let b: Vec<String> = s
                .barren_patterns
                .iter()
                .map(|(h, p)| format!("{h} {}", p.join(" ")))
                .collect();
            writeln!(
                stdout,
                "barren URL patterns (trap detector): {}; {} URLs not admitted, {} queued dropped",
                b.join(", "),
                s.trap_skipped,
                s.trap_dropped
            )?;
        }
        if !s.unreachable_hosts.is_empty() {
            let h: Vec<String> = s
                .unreachable_hosts
                .iter()
                .map(|(o, why)| format!("{o} ({why})"))
                .collect();
            writeln!(
                stdout,
                "unreachable hosts, not crawled: {}; {} queued URLs dropped",
                h.join(", "),
                s.unreachable_skipped
            )?;
        }
        let errs: Vec<String> = s.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(
            stdout,
            "errors: {}",
            if errs.is_empty() {
                "none".to_string()
            } else {
                errs.join(" ")
            }
        )?;
        if let Some(why) = &summary.nothing_crawled {
            writeln!(stdout, "NOTHING CRAWLED: {why}")?;
        }
    }
    let failed = summary.crawl.error_count() > 0 || summary.extract_errors > 0;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Rewrites the output with social reply chains resolved to their roots: two streaming passes
/// (parent links, then a rewrite into a temp file renamed over the output, only if something
/// changed), so memory holds ids, not the crawl (a 1M-post crawl held 1.9 GB when this read the
/// whole file).
fn resolve_threads(out: &Path) -> anyhow::Result<usize> {
    let read = |f: &mut dyn FnMut(Post) -> anyhow::Result<()>| -> anyhow::Result<()> {
        let file = File::open(out).with_context(|| format!("reading {}", out.display()))?;
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", out.display()))?;
            let post = serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: not a post", out.display(), i + 1))?;
            f(post)?;
        }
        Ok(())
    };
    let mut links = trawl::extract::ReplyThreads::default();
    read(&mut |p| {
        links.add(&p);
        Ok(())
    })?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = BufWriter::new(
        tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temp file in {}", dir.display()))?,
    );
    let mut changed = 0;
    read(&mut |mut p| {
        if let Some(t) = links.root(&p) {
            p.thread = Some(t);
            changed += 1;
        }
        serde_json::to_writer(&mut tmp, &p)?;
        tmp.write_all(b"\n")?;
        Ok(())
    })?;
    if changed > 0 {
        let tmp = tmp.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(out)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(changed)
}

/// The writer: de-duplicate, write, fsync the posts, then journal the pages.
fn write_posts(
    rx: std::sync::mpsc::Receiver<(String, Vec<Post>)>,
    file: File,
    path: &Path,
    mut keys: HashSet<(String, String)>,
    journal: &Journal,
    c: &Counters,
) -> anyhow::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut pending: Vec<String> = Vec::new();
    let mut last_sync = Instant::now();
    let flush = |w: &mut BufWriter<File>, pending: &mut Vec<String>| -> anyhow::Result<()> {
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        w.get_ref()
            .sync_data()
            .with_context(|| format!("syncing {}", path.display()))?;
        for u in pending.drain(..) {
            journal.commit(&u)?;
        }
        journal.sync()?;
        Ok(())
    };
    loop {
        let msg = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => Some(m),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if let Some((url, posts)) = msg {
            if posts.is_empty() {
                c.empty_pages.fetch_add(1, Ordering::Relaxed);
            }
            for p in posts {
                if keys.insert((p.host.clone(), p.post_id.0.clone())) {
                    serde_json::to_writer(&mut w, &p)?;
                    w.write_all(b"\n")
                        .with_context(|| format!("writing {}", path.display()))?;
                    c.posts.fetch_add(1, Ordering::Relaxed);
                } else {
                    c.dups.fetch_add(1, Ordering::Relaxed);
                }
            }
            pending.push(url);
        }
        if !pending.is_empty()
            && (pending.len() >= 256 || last_sync.elapsed() >= Duration::from_millis(200))
        {
            flush(&mut w, &mut pending)?;
            last_sync = Instant::now();
        }
    }
    flush(&mut w, &mut pending)?;
    Ok(())
}
