//! `trawl eval`: score a scan's index, or a directory of referral bundles (ours or an exercise
//! team's, in the documented JSON format), against a seeded corpus's truth.jsonl.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use trawl::eval::{EvalOptions, evaluate_index, report};

/// Precision, recall and F1 of a scan against the ground truth.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The corpus's truth file (`OUT/truth.jsonl`).
    #[arg(long)]
    pub truth: PathBuf,
    /// Index directory of the scan.
    #[arg(long, env = "TRAWL_INDEX", default_value = "trawl-data/index")]
    pub index: PathBuf,
    /// Score referral bundles in this directory instead of an index (see docs/referral-format.md).
    #[arg(long, value_name = "DIR")]
    pub referrals: Option<PathBuf>,
    /// Seen log of the scan (default: INDEX/seen.jsonl when present).
    #[arg(long)]
    pub seen: Option<PathBuf>,
    /// How many misses and false alarms to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Machine-readable output on stdout (stable schema, `format` 1).
    #[arg(long)]
    pub json: bool,
}

/// Runs `trawl eval`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &a.referrals {
        let score = trawl::eval::referrals::score(&a.truth, dir)?;
        let mut out = std::io::stdout().lock();
        if a.json {
            writeln!(out, "{}", trawl::eval::referrals::render_json(&score))?;
        } else {
            write!(out, "{}", trawl::eval::referrals::render_markdown(&score))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = evaluate_index(&EvalOptions {
        truth: a.truth,
        index: a.index,
        seen: a.seen,
        top: a.top,
    })?;
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        write!(out, "{}", report::markdown(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}
