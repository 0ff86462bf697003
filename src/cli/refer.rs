//! `trawl refer`: deliver bundles to providers and check whether the content came down.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use trawl::refer::send::Resolver;

/// Deliver referral bundles and track removals.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, ClapArgs)]
struct Net {
    /// Send every host's traffic to this loopback address (http://127.0.0.1:PORT).
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// Per-host address, curl-like: HOST=ADDR:PORT (`*.test` wildcards allowed). Repeatable.
    #[arg(long, value_name = "HOST=ADDR")]
    resolve: Vec<String>,
}

impl Net {
    fn resolver(&self) -> anyhow::Result<Resolver> {
        let mut r = Resolver::default();
        if let Some(to) = &self.to {
            r = r.with_to(to)?;
        }
        for rule in &self.resolve {
            r = r.with_rule(rule)?;
        }
        Ok(r)
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// POST each bundle of an export to its provider's endpoint and record the receipts.
    Send {
        /// Export directory.
        dir: PathBuf,
        #[command(flatten)]
        net: Net,
        /// Resend bundles already delivered.
        #[arg(long)]
        again: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Re-check referred URLs: offline rate per host and category, time to removal, overdue orders.
    Status {
        /// Export directory.
        dir: PathBuf,
        #[command(flatten)]
        net: Net,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Runs `trawl refer`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Cmd::Send {
            dir,
            net,
            again,
            json,
        } => {
            let resolver = net.resolver()?;
            let ds = runtime()?.block_on(trawl::refer::send::send(
                &dir,
                &resolver,
                again,
                super::review::now(),
            ))?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&ds)?);
            } else {
                if ds.is_empty() {
                    outln!("nothing to send (all bundles delivered; --again to resend)");
                }
                for d in &ds {
                    match &d.error {
                        None => outln!(
                            "{}\t{}\tHTTP {}\treceipt {}\taccepted {}\trejected {}",
                            d.host,
                            d.bundle_id,
                            d.http_status.unwrap_or(0),
                            d.receipt_id.as_deref().unwrap_or("-"),
                            d.accepted
                                .map(|x| x.to_string())
                                .unwrap_or_else(|| "-".into()),
                            d.rejected
                                .map(|x| x.to_string())
                                .unwrap_or_else(|| "-".into()),
                        ),
                        Some(e) => outln!("{}\t{}\tFAILED: {e}", d.host, d.bundle_id),
                    }
                }
            }
            let rejected: u64 = ds.iter().filter_map(|d| d.rejected).sum();
            if rejected > 0 && !json {
                outln!(
                    "{rejected} referral(s) rejected by providers (receipts in _delivery/receipts.jsonl)"
                );
            }
            Ok(if ds.iter().all(|d| d.ok()) && rejected == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Status { dir, net, json } => {
            let resolver = net.resolver()?;
            let rep = runtime()?.block_on(trawl::refer::status::check(
                &dir,
                &resolver,
                super::review::now(),
            ))?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&rep)?);
            } else {
                out!("{}", trawl::refer::status::render_markdown(&rep));
            }
            Ok(if rep.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
