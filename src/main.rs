//! The `trawl` command line: parse flags, call the library, map errors to exit codes.
//!
//! Exit codes (ripgrep's convention): 0 ok, 1 finished but some items failed (or, for checks,
//! problems were found), 2 fatal error. A broken pipe on stdout ends quietly with 0.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// trawl: seed synthetic sites, crawl, classify, index, review and refer terrorist content
/// in online counter-terrorism exercises. All traffic stays on loopback.
#[derive(Parser)]
#[command(name = "trawl", version, about, long_about = None, propagate_version = true)]
struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // Each verb's flags and handler live in src/cli/<verb>.rs.
    /// Generate a synthetic corpus (sites, truth, posts, manifest) from a scenario.
    Seed(cli::seed::Args),
    /// Serve a seeded corpus on loopback (virtual hosts, faults, crawler trap, provider endpoint).
    Serve(cli::serve::Args),
    /// Crawl sites politely (robots.txt, per-host limits, retries, resume) and extract posts.
    Crawl(cli::crawl::Args),
    /// Check, test and explain rule packs.
    Rules(cli::rules::Args),
    /// Classify posts (JSONL) into verdicts with explanations.
    Classify(cli::classify::Args),
    /// Crawl, extract, classify and index in one streaming, resumable run.
    Scan(cli::scan::Args),
    /// Search flagged items: tantivy query syntax, filters, facets, snippets.
    Search(cli::search::Args),
    /// Review flagged items: queue, decide (four-eyes), verify-log, history.
    Review(cli::review::Args),
    /// Export confirmed items as referral bundles per hosting provider; `export verify DIR`.
    Export(cli::export::Args),
    /// Deliver referral bundles to providers and track removals.
    Refer(cli::refer::Args),
    /// Score a scan's index (or referral bundles) against truth.jsonl: precision, recall, F1.
    Eval(cli::eval::Args),
    /// Run the whole loop on the built-in scenario: seed, serve, scan, index, evaluate.
    Demo(cli::demo::Args),
}

fn main() -> ExitCode {
    cli::init_tracing();
    let opts = Opts::parse();
    let result = match opts.command {
        Command::Seed(a) => cli::seed::run(a),
        Command::Serve(a) => cli::serve::run(a),
        Command::Crawl(a) => cli::crawl::run(a),
        Command::Rules(a) => cli::rules::run(a),
        Command::Classify(a) => cli::classify::run(a),
        Command::Scan(a) => cli::scan::run(a),
        Command::Search(a) => cli::search::run(a),
        Command::Review(a) => cli::review::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Refer(a) => cli::refer::run(a),
        Command::Eval(a) => cli::eval::run(a),
        Command::Demo(a) => cli::demo::run(a),
    };
    cli::finish(result)
}
