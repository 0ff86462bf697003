//! `demo`: the whole loop on the built-in scenario, with no arguments.
//!
//! seed the embedded default scenario (or `--scenario FILE`, with a rule pack written from its
//! brief into `DATA/rules`, see [`crate::classify::rules::brief`]) into `DATA/corpus` -> serve it in this process on an
//! ephemeral loopback port -> scan (crawl, extract, classify, index into `DATA/index`) through a
//! resolver that maps every `.test` host to that port -> evaluate against the truth -> report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::corpus::generate::{SeedOptions, SeedSummary, seed};
use crate::corpus::scenario::Scenario;
use crate::corpus::serve::{ServeConfig, Server};
use crate::crawl::CrawlConfig;
use crate::eval::{EvalOptions, EvalReport, evaluate_index};
use crate::model::Manifest;

use super::scan::{ScanConfig, ScanSummary, scan};

/// Options of `trawl demo`.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Working directory (default `./trawl-data`); holds `corpus/` and `index/`.
    pub data: PathBuf,
    /// Posts to seed (default: the scenario's size).
    pub posts: Option<u64>,
    /// Show progress bars.
    pub progress: bool,
    /// A scenario file instead of the embedded default; the scan then uses a pack built from
    /// the scenario's organisations (`trawl rules brief`), written to `DATA/rules`.
    pub scenario: Option<PathBuf>,
}

/// What the demo did and where everything is.
#[derive(Debug, Serialize)]
pub struct DemoSummary {
    /// Data directory.
    pub data: PathBuf,
    /// The scenario seeded (`<embedded>/default.toml` or the given file).
    pub scenario: PathBuf,
    /// The rule pack written from the scenario's brief, when a scenario file was given
    /// (else the embedded default pack was used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<PathBuf>,
    /// Seeding summary.
    pub seed: SeedSummary,
    /// The loopback address the corpus was served on (gone when the demo ends).
    pub served_on: String,
    /// Requests the server answered.
    pub requests_served: u64,
    /// Scan summary.
    pub scan: ScanSummary,
    /// Evaluation against the truth.
    pub eval: EvalReport,
    /// Wall seconds for the whole demo.
    pub seconds: f64,
}

const MARKER: &str = ".trawl-demo";

/// Makes `data` ready: creates it, or clears the `corpus/` and `index/` of an earlier demo.
/// Refuses a non-empty directory that an earlier demo did not create.
fn prepare(data: &Path) -> anyhow::Result<()> {
    if data.exists() {
        let non_empty = crate::util::has_entries(data)
            .with_context(|| format!("reading {}", data.display()))?;
        if non_empty && !data.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `trawl demo`; choose another --data directory",
                data.display()
            );
        }
        for sub in ["corpus", "index", "rules"] {
            let p = data.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    std::fs::write(data.join(MARKER), b"made by trawl demo; safe to delete\n")
        .with_context(|| format!("writing {}", data.join(MARKER).display()))?;
    Ok(())
}

/// Runs the demo.
pub fn demo(cfg: &DemoConfig) -> anyhow::Result<DemoSummary> {
    let t0 = Instant::now();
    prepare(&cfg.data)?;
    let corpus = cfg.data.join("corpus");
    let index = cfg.data.join("index");

    let scenario = match &cfg.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::default_scenario().context("loading the embedded default scenario")?,
    };
    tracing::info!(dir = %corpus.display(), scenario = %scenario.source.display(), "Seeding.");
    let rules = match &cfg.scenario {
        Some(_) => {
            let dir = cfg.data.join("rules");
            crate::classify::rules::brief::write_pack(
                &crate::classify::rules::brief::brief_files(&scenario),
                &dir,
            )?;
            tracing::info!(dir = %dir.display(), "Wrote a rule pack from the scenario's brief.");
            Some(dir)
        }
        None => None,
    };
    let seeded = seed(
        &scenario,
        &SeedOptions {
            out: corpus.clone(),
            posts: cfg.posts,
            seed: None,
            force: true,
        },
    )
    .with_context(|| format!("seeding {}", corpus.display()))?;

    let manifest_path = corpus.join("manifest.json");
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .with_context(|| format!("reading {}", manifest_path.display()))?,
    )
    .with_context(|| format!("parsing {}", manifest_path.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("trawl-serve")
        .build()
        .context("starting the server runtime")?;
    let server = runtime
        .block_on(Server::start(ServeConfig::new(&corpus)))
        .context("starting the loopback server")?;
    let addr = server.local_addr();
    tracing::info!(%addr, "Serving the corpus on loopback.");

    let (seeds, hosts) = super::seeds_from_manifest(&manifest);
    let crawl = CrawlConfig {
        seeds,
        scope: hosts,
        resolve: vec![format!("*.test={addr}")],
        concurrency: 32,
        per_host: 4,
        delay_ms: 0,
        ..CrawlConfig::default()
    };
    let scanned = scan(ScanConfig {
        crawl,
        index: index.clone(),
        progress: cfg.progress,
        rules: rules.iter().cloned().collect(),
        ..ScanConfig::default()
    });
    let stats = runtime.block_on(server.shutdown());
    let scanned = scanned.context("scanning the served corpus")?;

    let eval = evaluate_index(&EvalOptions {
        truth: corpus.join("truth.jsonl"),
        index: index.clone(),
        seen: None,
        top: 5,
    })
    .context("evaluating the scan against the truth")?;

    Ok(DemoSummary {
        data: cfg.data.clone(),
        scenario: scenario.source.clone(),
        rules,
        seed: seeded,
        served_on: format!("http://{addr}"),
        requests_served: stats.requests,
        scan: scanned,
        eval,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
