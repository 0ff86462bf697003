//! `trawl rules check|test|explain|brief`: what an analyst runs while writing a pack.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use trawl::classify::Classifier;
use trawl::classify::rules::{Severity, Source, check_sources, default_sources, read_sources};

/// Check, test and document rule packs.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Report every problem as file:line:column (exit 1 on errors; warnings do not fail).
    Check {
        /// Pack files or directories (several form one pack). Default: the embedded packs.
        packs: Vec<PathBuf>,
    },
    /// Run every inline `match` / `no_match` example and print failures with explanations.
    Test {
        /// Pack files or directories. Default: the embedded packs.
        packs: Vec<PathBuf>,
    },
    /// Write a pack for a scenario's organisations: organisation.toml from the scenario's
    /// brief (names, short names, leaders, slogans, hashtags, look-alike) plus the shipped
    /// cue, exception and rule files. Use it with `--rules DIR`.
    Brief {
        /// The scenario file (only its `[[organisations]]` are read).
        scenario: PathBuf,
        /// Directory to write the pack into (must be empty or absent unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite the pack files in a non-empty --out.
        #[arg(long)]
        force: bool,
    },
    /// Print a rule's documentation: description, why, condition, lexicons, examples.
    Explain {
        /// Rule id.
        rule: String,
        /// Pack files or directories. Default: the embedded packs.
        #[arg(long = "rules", num_args = 1..)]
        rules: Vec<PathBuf>,
    },
}

fn sources(packs: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    if packs.is_empty() {
        Ok(default_sources())
    } else {
        read_sources(packs).context("reading rule packs")
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Cmd::Check { packs } => {
            let srcs = sources(&packs)?;
            let (c, problems) = check_sources(&srcs);
            let errors = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .count();
            for p in &problems {
                outln!("{p}");
            }
            let warnings = problems.len() - errors;
            match c {
                Some(c) if errors == 0 => {
                    let k = c.compiled();
                    eprintln!(
                        "ok: {} file(s), {} lexicons, {} terms, {} rules; {warnings} warning(s)",
                        srcs.len(),
                        k.lexicons.len(),
                        k.terms.len(),
                        k.rules.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                _ => {
                    eprintln!("{errors} error(s), {warnings} warning(s)");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Cmd::Test { packs } => {
            let srcs = sources(&packs)?;
            let c = Classifier::from_sources(&srcs)?;
            let (n, fails) = c.run_examples();
            for f in &fails {
                outln!(
                    "{}: FAIL rule {}: {} {:?}\n{}",
                    f.pos,
                    f.rule,
                    if f.expected_fire {
                        "should fire on"
                    } else {
                        "should not fire on"
                    },
                    f.text,
                    f.explanation
                );
            }
            eprintln!("{} example(s), {} failure(s)", n, fails.len());
            Ok(if fails.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Brief {
            scenario,
            out,
            force,
        } => brief(&scenario, &out, force),
        Cmd::Explain { rule, rules } => {
            let c = Classifier::from_sources(&sources(&rules)?)?;
            match c.explain_rule(&rule) {
                Some(s) => {
                    out!("{s}");
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("no rule with id {rule:?}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn brief(
    scenario: &std::path::Path,
    out: &std::path::Path,
    force: bool,
) -> anyhow::Result<ExitCode> {
    use trawl::classify::rules::brief;
    let s = trawl::corpus::scenario::Scenario::load(scenario)?;
    let files = brief::brief_files(&s);
    // Compile before writing anything: a brief that gives a broken pack leaves no files.
    let srcs: Vec<Source> = files
        .iter()
        .map(|(n, t)| Source::new(out.join(n).display().to_string(), t.clone()))
        .collect();
    let c = Classifier::from_sources(&srcs).context("the generated pack does not compile")?;
    let non_empty =
        trawl::util::has_entries(out).with_context(|| format!("reading {}", out.display()))?;
    anyhow::ensure!(
        !non_empty || force,
        "{}: output directory is not empty (use --force to overwrite the pack files)",
        out.display()
    );
    brief::write_pack(&files, out)?;
    let k = c.compiled();
    eprintln!(
        "wrote {} ({} lexicons, {} terms, {} rules); use it with --rules {}",
        out.display(),
        k.lexicons.len(),
        k.terms.len(),
        k.rules.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
