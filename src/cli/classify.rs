//! `trawl classify`: posts (JSONL) in, verdicts (JSONL) out, streaming, in input order, on a
//! rayon pool with one scratch per worker.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use rayon::prelude::*;

use trawl::classify::Classifier;
use trawl::classify::rules::Scratch;
use trawl::model::Post;

/// Lines classified per batch: big enough to keep every worker busy, small enough to stream.
const BATCH: usize = 2048;

/// Classify posts with rule packs.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Rule pack files or directories (one pack). Default: the embedded default packs.
    #[arg(long = "rules", num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Posts as JSON lines (`model::Post`); `-` or nothing for stdin.
    input: Option<PathBuf>,
    /// Add a human-readable `explanation` field to every verdict.
    #[arg(long)]
    explain: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print only flagged verdicts.
    #[arg(long)]
    only_flagged: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let clf = if args.rules.is_empty() {
        Classifier::default_packs()?
    } else {
        Classifier::from_paths(&args.rules)?
    };
    let reader: Box<dyn Read + Send> = match &args.input {
        None => Box::new(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin()),
        Some(p) => {
            Box::new(std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?)
        }
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        builder = builder.num_threads(n.max(1));
    }
    let pool = builder.build().context("building the thread pool")?;
    // One scratch per worker for the whole run (not `map_init`, which makes a fresh one per
    // rayon split and so threw away the stem cache several times per batch: measured with
    // callgrind, stemming cache misses were 12% of classify instructions).
    let scratches: Vec<Mutex<Scratch>> = (0..pool.current_num_threads())
        .map(|_| Mutex::new(clf.new_scratch()))
        .collect();
    // A reader thread reads the next batches and a writer thread writes the verdicts of the
    // last one while the pool classifies this one: neither is on the serial path.
    let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<(usize, String)>>>(2);
    let (wtx, wrx) = std::sync::mpsc::sync_channel::<Vec<Result<Option<String>, String>>>(2);
    let (total, flagged, bad) =
        std::thread::scope(|sc| -> anyhow::Result<(usize, usize, usize)> {
            sc.spawn(move || read_batches(reader, &tx));
            let writer = sc.spawn(move || write_verdicts(wrx));
            for batch in rx {
                let batch = batch?;
                let results: Vec<Result<Option<String>, String>> = pool.install(|| {
                    batch
                        .par_iter()
                        .map(|(n, line)| {
                            let slot = rayon::current_thread_index().unwrap_or(0) % scratches.len();
                            let mut guard = match scratches[slot].lock() {
                                Ok(g) => g,
                                Err(p) => p.into_inner(),
                            };
                            let scratch = &mut *guard;
                            let post: Post = serde_json::from_str(line)
                                .map_err(|e| format!("line {n}: not a post: {e}"))?;
                            let v = clf.classify(&post, scratch);
                            if args.only_flagged && !v.flagged {
                                return Ok(None);
                            }
                            let s = if args.explain {
                                let mut val =
                                    serde_json::to_value(&v).map_err(|e| e.to_string())?;
                                if let Some(o) = val.as_object_mut() {
                                    o.insert(
                                        "explanation".into(),
                                        clf.explain_with_matches(&v, scratch, &post.text).into(),
                                    );
                                }
                                val.to_string()
                            } else {
                                serde_json::to_string(&v).map_err(|e| e.to_string())?
                            };
                            Ok(Some(if v.flagged {
                                format!("F{s}")
                            } else {
                                format!("N{s}")
                            }))
                        })
                        .collect()
                });
                if wtx.send(results).is_err() {
                    break; // the writer failed; its error is returned below
                }
            }
            drop(wtx);
            match writer.join() {
                Ok(r) => r,
                Err(_) => anyhow::bail!("the verdict writer panicked"),
            }
        })?;
    tracing::info!(posts = total - bad, flagged, bad_lines = bad, "Classified.");
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes each batch of verdicts in input order to stdout; returns (lines, flagged, bad lines).
fn write_verdicts(
    rx: std::sync::mpsc::Receiver<Vec<Result<Option<String>, String>>>,
) -> anyhow::Result<(usize, usize, usize)> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut total, mut flagged, mut bad) = (0usize, 0usize, 0usize);
    for results in rx {
        for r in results {
            total += 1;
            match r {
                Ok(Some(s)) => {
                    if s.starts_with('F') {
                        flagged += 1;
                    }
                    out.write_all(&s.as_bytes()[1..])?;
                    out.write_all(b"\n")?;
                }
                Ok(None) => {}
                Err(e) => {
                    bad += 1;
                    tracing::warn!("{e}");
                }
            }
        }
    }
    out.flush()?;
    Ok((total, flagged, bad))
}

/// Reads non-empty lines in batches of [`BATCH`] with their line numbers and sends them; stops
/// at the end, at the first read error (sent on), or when the receiver is gone.
fn read_batches(
    reader: Box<dyn Read + Send>,
    tx: &std::sync::mpsc::SyncSender<anyhow::Result<Vec<(usize, String)>>>,
) {
    let mut lines = BufReader::with_capacity(1 << 20, reader).lines();
    let mut lineno = 0usize;
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        for line in lines.by_ref() {
            lineno += 1;
            match line {
                Ok(line) if line.trim().is_empty() => {}
                Ok(line) => {
                    batch.push((lineno, line));
                    if batch.len() >= BATCH {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(
                        anyhow::Error::new(e).context(format!("reading line {lineno}"))
                    ));
                    return;
                }
            }
        }
        if batch.is_empty() || tx.send(Ok(batch)).is_err() {
            return;
        }
    }
}
