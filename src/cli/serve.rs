//! `trawl serve DIR`: serve a seeded corpus on loopback until Ctrl-C, with optional faults.
//!
//! The first stdout line is `listening on http://ADDR` (scripts read the port from it). Ctrl-C or
//! SIGTERM shuts down gracefully; then a stats summary goes to stdout (`--json`: the whole [`ServeStats`] minus the log as JSON).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use trawl::corpus::serve::{ServeConfig, ServeStats, Server};

/// Flags of `trawl serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Corpus directory (holds manifest.json and sites/).
    pub dir: PathBuf,
    /// Address to bind (`127.0.0.1:PORT`, `[::1]:PORT`, `localhost:PORT`); port 0 picks a
    /// free port.
    #[arg(long, default_value = "127.0.0.1:0", value_parser = parse_addr)]
    pub addr: SocketAddr,
    /// Allow binding a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Share of requests answered 500/503 (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Delay every request by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub slow_ms: u64,
    /// Share of 200 responses whose body is cut short (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub truncate_rate: f64,
    /// Requests per host per second before answering 429.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Seed of the fault RNG and of the provider's refusals.
    #[arg(long, default_value_t = 0)]
    pub fault_seed: u64,
    /// Turn off the calendar crawler trap on forum hosts.
    #[arg(long)]
    pub no_trap: bool,
    /// Append every request as a JSON line to this file while serving.
    #[arg(long, value_name = "FILE.jsonl")]
    pub log_requests: Option<PathBuf>,
    /// Provider endpoint: delay between a referral and its removal, in ms.
    #[arg(long, default_value_t = 2000)]
    pub removal_delay_ms: u64,
    /// Provider endpoint: share of referred items (posts or pages) that are not removed (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub refuse_rate: f64,
    /// Keep provider state in memory only (no DIR/provider-state.json).
    #[arg(long)]
    pub no_provider_state: bool,
    /// Print the final stats as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print an nginx `http {}` body serving DIR on --addr (port 0 becomes 8080) and exit.
    #[arg(long)]
    pub print_nginx_config: bool,
}

/// Runs `trawl serve`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.print_nginx_config {
        return print_nginx_config(&args);
    }
    let config = ServeConfig {
        root: args.dir.clone(),
        addr: args.addr,
        allow_remote: args.allow_remote,
        error_rate: args.error_rate,
        slow_ms: args.slow_ms,
        truncate_rate: args.truncate_rate,
        rate_limit: args.rate_limit,
        fault_seed: args.fault_seed,
        trap: !args.no_trap,
        record_requests: false,
        request_log: args.log_requests.clone(),
        removal_delay_ms: args.removal_delay_ms,
        refuse_rate: args.refuse_rate,
        persist_provider_state: !args.no_provider_state,
        ..ServeConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let stats = rt.block_on(async {
        let server = Server::start(config)
            .await
            .with_context(|| format!("serving {}", args.dir.display()))?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{}", server.local_addr())?;
            out.flush()?;
        }
        wait_for_signal().await?;
        tracing::info!("shutting down");
        anyhow::Ok(server.shutdown().await)
    })?;
    print_summary(&stats, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(stats: &ServeStats, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut s = stats.clone();
        s.log.clear();
        serde_json::to_writer(&mut out, &s)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "requests: {}", stats.requests)?;
    let codes: Vec<String> = stats
        .by_status
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect();
    writeln!(out, "by status: {}", codes.join(" "))?;
    if !stats.faults.is_empty() {
        let f: Vec<String> = stats
            .faults
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        writeln!(out, "faults: {}", f.join(" "))?;
    }
    for (host, n) in &stats.max_in_flight {
        writeln!(out, "max concurrent {host}: {n}")?;
    }
    if stats.log_dropped > 0 {
        writeln!(out, "log records dropped (log full): {}", stats.log_dropped)?;
    }
    Ok(())
}

fn print_nginx_config(args: &Args) -> anyhow::Result<ExitCode> {
    let root = std::fs::canonicalize(&args.dir)
        .with_context(|| format!("{}: no such directory", args.dir.display()))?;
    let path = root.join("manifest.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: trawl::model::Manifest =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let mut listen = args.addr;
    if listen.port() == 0 {
        listen.set_port(8080);
    }
    let conf = trawl::corpus::serve::nginx::nginx_config(&manifest, &root, listen);
    std::io::stdout().lock().write_all(conf.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
    }
}

/// A socket address; `localhost:PORT` means `127.0.0.1:PORT` (no name lookup).
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Some(port) = s.strip_prefix("localhost:") {
        return port
            .parse::<u16>()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .map_err(|_| format!("{port:?} is not a port number"));
    }
    s.parse().map_err(|_| {
        format!("{s:?} is not an address: give IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
    })
}
