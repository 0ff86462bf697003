//! `trawl seed [SCENARIO] --out DIR [--posts N] [--seed S] [--force] [--json]`: generate a
//! synthetic corpus (site tree, truth, posts, manifest) from a scenario (default: the embedded
//! one) and print a summary.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;

use trawl::corpus::generate::{SeedOptions, seed_with_progress};
use trawl::corpus::scenario::Scenario;

/// Generate a synthetic corpus from a scenario.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Scenario file (TOML); phrase banks come from `lang/` beside it, else the embedded ones.
    /// Without it, the embedded default scenario is used.
    pub scenario: Option<PathBuf>,
    /// Output directory (must be empty unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of posts (default: the scenario's sizes.posts).
    #[arg(long)]
    pub posts: Option<u64>,
    /// RNG seed (default: the scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overwrite what a previous run wrote in a non-empty output directory.
    #[arg(long)]
    pub force: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `trawl seed`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let scenario = match &a.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default_scenario()?,
    };
    let opts = SeedOptions {
        out: a.out.clone(),
        posts: a.posts,
        seed: a.seed,
        force: a.force,
    };
    let total = a.posts.unwrap_or(scenario.file.sizes.posts);
    let show = std::io::stderr().is_terminal() && std::env::var_os("TRAWL_NO_PROGRESS").is_none();
    let bar = if show {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} seeding [{bar:40}] {pos}/{len} posts ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let summary = seed_with_progress(&scenario, &opts, &|done, _| bar.set_position(done))
        .with_context(|| format!("seeding {}", a.out.display()))?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "seeded {} posts ({} scenario, seed {}) into {}",
            summary.posts,
            scenario.file.name,
            summary.seed,
            summary.out.display()
        )?;
        let line = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(out, "  by category: {}", line(&summary.by_category))?;
        writeln!(out, "  by language: {}", line(&summary.by_lang))?;
        writeln!(out, "  by host:     {}", line(&summary.by_host))?;
        writeln!(
            out,
            "  {} files, {:.1} MB, {:.2} s, {:.0} posts/s",
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.seconds,
            summary.posts_per_sec
        )?;
        writeln!(out, "  tree sha256 {}", summary.tree_sha256)?;
    }
    Ok(ExitCode::SUCCESS)
}
