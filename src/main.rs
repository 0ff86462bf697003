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
    /// Serve a seeded corpus on loopback (virtual hosts, faults, crawler trap, provider endpoint).
    Serve(cli::serve::Args),
    /// Generate a synthetic corpus (sites, truth, posts, manifest) from a scenario.
    Seed(cli::seed::Args),
    /// Crawl sites politely (robots.txt, per-host limits, retries, resume) and extract posts.
    Crawl(cli::crawl::Args),
}

fn main() -> ExitCode {
    cli::init_tracing();
    let opts = Opts::parse();
    let result = match opts.command {
        Command::Serve(a) => cli::serve::run(a),
        Command::Seed(a) => cli::seed::run(a),
        Command::Crawl(a) => cli::crawl::run(a),
    };
    cli::finish(result)
}
