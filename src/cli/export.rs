//! `trawl export`: referral bundles per hosting provider; `trawl export verify DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};

use trawl::refer::{self, ExportOptions, Formats, Issuer, Kind};
use trawl::review;

/// Export confirmed items as referral bundles (one per hosting provider), or verify a bundle.
#[derive(Debug, ClapArgs)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    export: ExportArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Re-check an export (or one bundle) from its files alone: manifests, hashes, WARC records.
    Verify {
        /// Export directory (with export.json) or bundle directory (with manifest.json).
        dir: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Referral,
    RemovalOrder,
}

#[derive(Debug, ClapArgs)]
struct ExportArgs {
    /// The index (or item store) directory.
    #[arg(
        long,
        env = "TRAWL_INDEX",
        default_value = "trawl-data/index",
        value_name = "DIR"
    )]
    index: PathBuf,
    /// Output directory (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Referral (terms of service) or removal order (one-hour deadline).
    #[arg(long, value_enum, default_value = "referral")]
    kind: KindArg,
    /// Formats: json (always), csv, stix.
    #[arg(long, default_value = "json,csv,stix")]
    format: String,
    /// Export items already referred again.
    #[arg(long)]
    again: bool,
    /// One confirmation suffices for this export (four-eyes off).
    #[arg(long)]
    single_review: bool,
    /// Issue time (RFC 3339); default: the latest decision time of the exported items.
    #[arg(long)]
    issued_at: Option<String>,
    /// Issuing authority / exercise cell name.
    #[arg(long, default_value = "trawl exercise cell")]
    issuer: String,
    /// Issuing Member State (ISO 3166-1 alpha-2).
    #[arg(long)]
    member_state: Option<String>,
    /// Who is recorded in the audit log as having referred the items.
    #[arg(long, env = "TRAWL_REVIEWER", default_value = "export")]
    operator: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Runs `trawl export`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Some(Cmd::Verify { dir, json }) => verify(dir, json),
        None => export(args.export),
    }
}

fn verify(dir: PathBuf, json: bool) -> anyhow::Result<ExitCode> {
    let out = refer::verify(&dir)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for p in &out.problems {
            outln!("PROBLEM {p}");
        }
        for b in &out.bundles {
            for p in &b.problems {
                outln!("PROBLEM {p}");
            }
            outln!(
                "{} {}: {} file(s), {} referral(s){}",
                if b.problems.is_empty() {
                    "ok     "
                } else {
                    "BROKEN "
                },
                b.dir.display(),
                b.files,
                b.items,
                b.manifest_sha256
                    .as_deref()
                    .map(|h| format!(", manifest sha256 {h}"))
                    .unwrap_or_default()
            );
        }
        outln!(
            "{}",
            if out.ok {
                "verified: all hashes and records check out"
            } else {
                "verification FAILED"
            }
        );
    }
    Ok(if out.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let out = a.out.clone().context("--out DIR is required")?;
    let issued_at = match &a.issued_at {
        Some(s) => Some(
            trawl::model::parse_rfc3339(s)
                .with_context(|| format!("--issued-at {s:?} is not RFC 3339"))?,
        ),
        None => None,
    };
    let (mut r, replayed) =
        review::open_dir(&a.index).with_context(|| format!("opening {}", a.index.display()))?;
    if replayed > 0 {
        eprintln!(
            "trawl: repaired the index status of {replayed} audit record(s) left by an interrupted run"
        );
    }
    let store = review::DirStore::open(&a.index)?;
    let opts = ExportOptions {
        out,
        kind: match a.kind {
            KindArg::Referral => Kind::Referral,
            KindArg::RemovalOrder => Kind::RemovalOrder,
        },
        formats: Formats::parse(&a.format)?,
        again: a.again,
        four_eyes: !a.single_review,
        issued_at,
        issuer: Issuer {
            name: a.issuer,
            member_state: a.member_state,
            ..Issuer::default()
        },
        actor: a.operator,
        recorded_at: super::review::now(),
    };
    let s = refer::export(&mut r, &store, &opts)?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    if s.bundles.is_empty() {
        outln!(
            "nothing to export: no {}items{}",
            if opts.four_eyes {
                "four-eyes confirmed "
            } else {
                "confirmed "
            },
            if opts.again {
                ""
            } else {
                " that were not referred before (--again to include them)"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    for b in &s.bundles {
        outln!(
            "{}\t{}\t{} referral(s)\tmanifest sha256 {}",
            b.host,
            b.bundle_id,
            b.items,
            b.manifest_sha256
        );
    }
    outln!(
        "wrote {} bundle(s) to {} (issued {}); {} item(s) marked referred",
        s.bundles.len(),
        s.out.display(),
        s.issued_at.as_deref().unwrap_or("-"),
        s.referred.len()
    );
    Ok(ExitCode::SUCCESS)
}
