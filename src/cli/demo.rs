//! `trawl demo`: the whole loop on the embedded default scenario, no arguments needed.

use std::path::PathBuf;
use std::process::ExitCode;

use trawl::app::demo::{DemoConfig, demo};

/// Flags of `trawl demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Working directory for the corpus and the index (re-used by later demo runs).
    #[arg(long, default_value = "trawl-data")]
    pub data: PathBuf,
    /// Posts to seed (default: the scenario's size).
    #[arg(long)]
    pub posts: Option<u64>,
    /// Seed this scenario file instead of the built-in one; the scan then uses a rule pack
    /// written from the scenario's organisations (as `trawl rules brief` does) to DATA/rules.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Print the whole summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `trawl demo`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let s = demo(&DemoConfig {
        data: a.data.clone(),
        posts: a.posts,
        progress: true,
        scenario: a.scenario.clone(),
    })?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    let index = s.scan.index.display().to_string();
    outln!("# trawl demo\n");
    outln!(
        "1. seeded {} ({} posts on {} hosts) into {} ({:.1}s)",
        s.scenario.display(),
        s.seed.posts,
        s.seed.by_host.len(),
        s.seed.out.display(),
        s.seed.seconds
    );
    outln!(
        "2. served them on {} ({} requests answered)",
        s.served_on,
        s.requests_served
    );
    match &s.rules {
        Some(dir) => outln!(
            "   rule pack: written from the scenario's brief into {}",
            dir.display()
        ),
        None => outln!("   rule pack: the embedded default (rules/default)"),
    }
    outln!(
        "3. scanned: {}",
        super::scan::render(&s.scan).replace('\n', "\n   ")
    );
    outln!(
        "4. evaluation against {}/truth.jsonl:\n",
        s.seed.out.display()
    );
    outln!("{}", trawl::eval::report::markdown(&s.eval));
    outln!("Try next:");
    outln!("  cargo run --release -- search 'lantern' --index {index} --facets");
    outln!(
        "  cargo run --release -- search 'join OR recruit' --index {index} --category solicitation --sort score"
    );
    outln!("  cargo run --release -- search '*' --index {index} --lang ru --min-score 0.9 --json");
    outln!("  cargo run --release -- review queue --index {index}");
    outln!(
        "  cargo run --release -- serve {}   # browse the synthetic sites",
        s.seed.out.display()
    );
    outln!(
        "\nData: corpus {} | index {} | evidence {} | done in {:.1}s",
        s.seed.out.display(),
        index,
        s.scan.evidence.display(),
        s.seconds
    );
    Ok(ExitCode::SUCCESS)
}
