//! `trawl serve`: the loopback web server for a seeded corpus, with fault injection, a crawler
//! trap and a simulated hosting provider.
//!
//! One axum fallback handler does all routing, because the server must see every request as it
//! came (absolute-form URIs, odd paths, any method) and decide on virtual host, faults, trap,
//! provider endpoint and files in a fixed order:
//!
//! 1. virtual host from the absolute-form URI or the `Host` header (port stripped, lowercased);
//!    a missing or malformed host is 400, a host not in `ROOT/manifest.json` 404;
//! 2. the provider endpoint `/.well-known/trawl/referrals[/<receipt>]` ([`provider`]), which no
//!    fault touches;
//! 3. faults, each off by default and decided by a seeded RNG ([`faults`]): the per-host rate
//!    limit (429 + `Retry-After`), the delay, the 500/503 errors;
//! 4. the calendar trap on forum hosts ([`trap`]);
//! 5. removed pages (410 Gone), then static files from `ROOT/sites/<host>/` ([`files`]) with
//!    `Content-Type` + host charset, `ETag`, `Last-Modified` and conditional GET; a page with
//!    removed posts is served without them (tombstones, re-rendered in the host charset, cached;
//!    its own `ETag`, `Last-Modified` = the latest removal), or 410 once no post is left;
//! 6. truncation: a 200 response keeps its full `Content-Length` but sends only part of the body,
//!    and hyper then closes the connection, so the client sees an incomplete message.
//!
//! [`Server::start`] binds (loopback only unless `allow_remote`), spawns the server on the current
//! tokio runtime and returns a [`RunningServer`] whose [`RunningServer::stats`] holds the request
//! log, the counts by status and the maximum number of concurrent requests seen per host (what a
//! politeness test needs).

pub mod faults;
pub mod files;
pub mod nginx;
pub mod provider;
pub mod trap;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::corpus::CorpusError;
use crate::model::{Manifest, SiteKind};
use faults::{Draw, FaultRng, RateLimiter};
use files::{EtagCache, PathRefusal};
use provider::{Provider, Removal, Served};

/// Name of the provider state file under the corpus root.
pub const PROVIDER_STATE_FILE: &str = "provider-state.json";

/// Server configuration. Every fault is off by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Corpus root: holds `manifest.json` and `sites/<host>/`. Default `.`.
    pub root: PathBuf,
    /// Address to bind. Default `127.0.0.1:0` (an ephemeral loopback port).
    pub addr: SocketAddr,
    /// Allow binding a non-loopback address. Default false.
    pub allow_remote: bool,
    /// Share of requests answered with 500 or 503 (half each). Default 0.
    pub error_rate: f64,
    /// Delay added to every request, in milliseconds. Default 0.
    pub slow_ms: u64,
    /// Share of 200 responses whose body is cut short (full `Content-Length`, then the connection
    /// closes). Default 0.
    pub truncate_rate: f64,
    /// Requests per host per second; more are answered 429 with `Retry-After`. Default none.
    pub rate_limit: Option<u32>,
    /// Seed of the fault RNG (and of the provider's refusals). Default 0.
    pub fault_seed: u64,
    /// The calendar trap on forum hosts. Default on.
    pub trap: bool,
    /// Keep a log of every request in [`ServeStats::log`]. Default on.
    pub record_requests: bool,
    /// At most this many log records are kept (the rest are counted). Default 1,000,000.
    pub max_log_records: usize,
    /// Also append every request as a JSON line ([`RequestRecord`]) to this file, as it is
    /// served (created or truncated at start, flushed whenever the server is idle). Default none.
    pub request_log: Option<PathBuf>,
    /// Delay between a referral's receipt and the removal decision, in ms. Default 2000.
    pub removal_delay_ms: u64,
    /// Share of referred items (posts or pages) the provider refuses to remove. Default 0.
    pub refuse_rate: f64,
    /// Keep provider state in `ROOT/provider-state.json` across restarts. Default on.
    pub persist_provider_state: bool,
    /// Largest referral bundle accepted, in bytes. Default 8 MiB.
    pub max_bundle_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("."),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_remote: false,
            error_rate: 0.0,
            slow_ms: 0,
            truncate_rate: 0.0,
            rate_limit: None,
            fault_seed: 0,
            trap: true,
            record_requests: true,
            max_log_records: 1_000_000,
            request_log: None,
            removal_delay_ms: 2000,
            refuse_rate: 0.0,
            persist_provider_state: true,
            max_bundle_bytes: 8 << 20,
        }
    }
}

impl ServeConfig {
    /// A default configuration serving `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), CorpusError> {
        for (name, v) in [
            ("error_rate", self.error_rate),
            ("truncate_rate", self.truncate_rate),
            ("refuse_rate", self.refuse_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(CorpusError::ServeConfig(format!(
                    "{name} must be in [0, 1], got {v}"
                )));
            }
        }
        if self.rate_limit == Some(0) {
            return Err(CorpusError::ServeConfig(
                "rate_limit must be at least 1".into(),
            ));
        }
        if !self.allow_remote && !self.addr.ip().is_loopback() {
            return Err(CorpusError::ServeRemote { addr: self.addr });
        }
        Ok(())
    }
}

/// One served request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Unix milliseconds when the request arrived.
    pub at_ms: u64,
    /// Milliseconds until the response head was ready.
    pub duration_ms: u64,
    /// Virtual host (empty if the request had none).
    pub host: String,
    /// Method.
    pub method: String,
    /// Raw request path (at most 512 bytes kept).
    pub path: String,
    /// Status code sent.
    pub status: u16,
    /// Injected fault, if any: `rate_limit`, `error`, `truncate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// What the server saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServeStats {
    /// Requests answered.
    pub requests: u64,
    /// Responses per status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Injected faults per kind.
    pub faults: BTreeMap<String, u64>,
    /// Largest number of requests in flight at once, per known host.
    pub max_in_flight: BTreeMap<String, u64>,
    /// Request log (if `record_requests`), in completion order.
    pub log: Vec<RequestRecord>,
    /// Records not kept because the log was full.
    pub log_dropped: u64,
}

#[derive(Debug, Default)]
struct StatsInner {
    stats: ServeStats,
    in_flight: HashMap<String, u64>,
}

#[derive(Debug)]
struct HostInfo {
    kind: SiteKind,
    /// `None` if the manifest's charset is unusable in a header.
    charset: Option<String>,
    /// Canonical `ROOT/sites/<host>` (or the plain path if it does not exist).
    dir: PathBuf,
}

#[derive(Debug)]
struct Shared {
    config: ServeConfig,
    hosts: HashMap<String, HostInfo>,
    /// The month `/calendar/` opens on (the scenario's start month).
    calendar_opening: (i64, u32),
    stats: Mutex<StatsInner>,
    rng: FaultRng,
    limiter: Option<RateLimiter>,
    etags: EtagCache,
    provider: Provider,
    /// Sender to the request-log writer; taken (closing the channel) at shutdown.
    log_tx: Mutex<Option<tokio::sync::mpsc::UnboundedSender<RequestRecord>>>,
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, StatsInner> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Entry point: `Server::start(config).await`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Loads the manifest, binds and starts serving on the current tokio runtime.
    pub async fn start(config: ServeConfig) -> crate::Result<RunningServer> {
        config.validate()?;
        let manifest_path = config.root.join("manifest.json");
        let bytes = tokio::fs::read(&manifest_path)
            .await
            .map_err(|source| CorpusError::Io {
                path: manifest_path.clone(),
                source,
            })?;
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| CorpusError::ServeManifest {
                path: manifest_path.clone(),
                source,
            })?;
        let mut hosts = HashMap::new();
        for h in &manifest.hosts {
            let dir = config.root.join("sites").join(&h.host);
            let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
            let charset = Some(h.charset.trim().to_ascii_lowercase()).filter(|c| {
                !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            });
            hosts.insert(
                h.host.to_ascii_lowercase(),
                HostInfo {
                    kind: h.kind,
                    charset,
                    dir,
                },
            );
        }
        let state_path = config
            .persist_provider_state
            .then(|| config.root.join(PROVIDER_STATE_FILE));
        let provider = Provider::new(
            state_path,
            config.fault_seed,
            config.removal_delay_ms,
            config.refuse_rate,
        )?;
        let (log_tx, log_task) = match &config.request_log {
            Some(path) => {
                let file =
                    tokio::fs::File::create(path)
                        .await
                        .map_err(|source| CorpusError::Io {
                            path: path.clone(),
                            source,
                        })?;
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                (
                    Some(tx),
                    Some(tokio::spawn(write_request_log(file, path.clone(), rx))),
                )
            }
            None => (None, None),
        };
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| CorpusError::ServeBind {
                addr: config.addr,
                source,
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| CorpusError::ServeBind {
                addr: config.addr,
                source,
            })?;
        let shared = Arc::new(Shared {
            rng: FaultRng::new(config.fault_seed),
            limiter: config.rate_limit.map(RateLimiter::new),
            etags: EtagCache::default(),
            provider,
            hosts,
            calendar_opening: trap::opening_month(manifest.start),
            stats: Mutex::new(StatsInner::default()),
            log_tx: Mutex::new(log_tx),
            config,
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!("server on {local_addr} stopped: {e}");
            }
        });
        tracing::info!(
            "serving {} hosts on http://{local_addr}",
            shared.hosts.len()
        );
        Ok(RunningServer {
            addr: local_addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
            log_task,
        })
    }
}

/// A server running on the tokio runtime it was started on.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    log_task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// The bound address (with the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the statistics so far.
    pub fn stats(&self) -> ServeStats {
        self.shared.stats().stats.clone()
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), saves provider state, and
    /// returns the final statistics.
    pub async fn shutdown(mut self) -> ServeStats {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                tracing::warn!("connections still open after 5 s; closing them");
                task.abort();
            }
        }
        if let Err(e) = self.shared.provider.persist().await {
            tracing::warn!("saving provider state: {e}");
        }
        // Closing the channel lets the writer drain, flush and end.
        self.shared
            .log_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(log_task) = self.log_task.take() {
            let _ = log_task.await;
        }
        self.stats()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Decrements the per-host in-flight counter when the request is done.
struct InFlight<'a> {
    shared: &'a Shared,
    host: String,
}

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared, host: &str) -> Self {
        let mut s = shared.stats();
        let n = s.in_flight.entry(host.to_string()).or_insert(0);
        *n += 1;
        let now = *n;
        let max = s.stats.max_in_flight.entry(host.to_string()).or_insert(0);
        *max = (*max).max(now);
        InFlight {
            shared,
            host: host.to_string(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut s = self.shared.stats();
        if let Some(n) = s.in_flight.get_mut(&self.host) {
            *n = n.saturating_sub(1);
        }
    }
}

/// The one handler.
async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let started = Instant::now();
    let at_ms = provider::now_ms();
    let method = req.method().as_str().to_string();
    let path = truncate_str(req.uri().path(), 512).to_string();
    let host = request_host(&req);
    let known = host
        .as_deref()
        .filter(|h| shared.hosts.contains_key(*h))
        .map(str::to_string);
    let guard = known.as_deref().map(|h| InFlight::enter(&shared, h));
    let (resp, fault) = respond(&shared, host.as_deref(), req).await;
    drop(guard);
    let status = resp.status().as_u16();
    let mut s = shared.stats();
    s.stats.requests += 1;
    *s.stats.by_status.entry(status).or_insert(0) += 1;
    if let Some(f) = fault {
        *s.stats.faults.entry(f.to_string()).or_insert(0) += 1;
    }
    let keep = shared.config.record_requests;
    let stream = shared.config.request_log.is_some();
    if keep || stream {
        let record = RequestRecord {
            at_ms,
            duration_ms: started.elapsed().as_millis() as u64,
            host: host
                .map(|h| truncate_str(&h, 255).to_string())
                .unwrap_or_default(),
            method,
            path,
            status,
            fault: fault.map(str::to_string),
        };
        if stream {
            if let Some(tx) = shared
                .log_tx
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                let _ = tx.send(record.clone());
            }
        }
        if keep && s.stats.log.len() < shared.config.max_log_records {
            s.stats.log.push(record);
        } else if keep {
            s.stats.log_dropped += 1;
        }
    }
    resp
}

/// Appends records as JSON lines; flushes whenever no record is waiting.
async fn write_request_log(
    file: tokio::fs::File,
    path: PathBuf,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<RequestRecord>,
) {
    use tokio::io::AsyncWriteExt;
    let mut w = tokio::io::BufWriter::new(file);
    while let Some(record) = rx.recv().await {
        let mut line = serde_json::to_vec(&record).unwrap_or_default();
        line.push(b'\n');
        let mut result = w.write_all(&line).await;
        if result.is_ok() && rx.is_empty() {
            result = w.flush().await;
        }
        if let Err(e) = result {
            tracing::warn!(
                "{}: writing the request log: {e}; no longer logging",
                path.display()
            );
            return;
        }
    }
    if let Err(e) = w.flush().await {
        tracing::warn!("{}: writing the request log: {e}", path.display());
    }
}

fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The virtual host: absolute-form URI first, then the `Host` header; port stripped, lowercased,
/// trailing dot removed. `None` if missing or not a plausible host name.
fn request_host(req: &Request) -> Option<String> {
    let raw = match req.uri().host() {
        Some(h) => h.to_string(),
        None => {
            let value = req.headers().get(header::HOST)?.to_str().ok()?;
            let value = value.trim();
            let auth: axum::http::uri::Authority = value.parse().ok()?;
            // `host` or `host:digits` only (no userinfo, no non-numeric port).
            let rest = value.get(auth.host().len()..)?;
            let port_ok = rest.strip_prefix(':').map_or(rest.is_empty(), |p| {
                p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
            });
            if !value.starts_with(auth.host()) || !port_ok {
                return None;
            }
            auth.host().to_string()
        }
    };
    let host = raw.trim_end_matches('.').to_ascii_lowercase();
    let plausible = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b));
    plausible.then_some(host)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut resp = Response::new(Body::from(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut resp = Response::new(Body::from(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn redirect(location: &str) -> Response {
    let mut resp = text(
        StatusCode::MOVED_PERMANENTLY,
        format!("moved to {location}\n"),
    );
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

type Outcome = (Response, Option<&'static str>);

async fn respond(shared: &Shared, host: Option<&str>, req: Request) -> Outcome {
    let Some(host) = host else {
        return (
            text(StatusCode::BAD_REQUEST, "missing or malformed Host\n"),
            None,
        );
    };
    let Some(info) = shared.hosts.get(host) else {
        return (
            text(StatusCode::NOT_FOUND, format!("unknown host {host}\n")),
            None,
        );
    };
    let raw_path = req.uri().path().to_string();
    if raw_path == provider::ENDPOINT || raw_path.starts_with(&format!("{}/", provider::ENDPOINT)) {
        return (provider_endpoint(shared, host, info, req).await, None);
    }
    let cfg = &shared.config;
    if let Some(limiter) = &shared.limiter {
        if let Some(secs) = limiter.check(host) {
            let resp = text(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded\n");
            return (with_retry_after(resp, secs), Some("rate_limit"));
        }
    }
    let n = shared.rng.next_request();
    if cfg.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(cfg.slow_ms)).await;
    }
    if cfg.error_rate > 0.0 && shared.rng.uniform(n, Draw::Error) < cfg.error_rate {
        let resp = if shared.rng.uniform(n, Draw::ErrorKind) < 0.5 {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error (injected)\n",
            )
        } else {
            let resp = text(
                StatusCode::SERVICE_UNAVAILABLE,
                "service unavailable (injected)\n",
            );
            with_retry_after(resp, 1)
        };
        return (resp, Some("error"));
    }
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD {
        let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return (resp, None);
    }
    let resp = match static_or_trap(shared, host, info, &raw_path, req.headers()).await {
        Ok(r) => r,
        Err(r) => return (r, None),
    };
    if method == Method::GET
        && cfg.truncate_rate > 0.0
        && resp.status() == StatusCode::OK
        && shared.rng.uniform(n, Draw::Truncate) < cfg.truncate_rate
    {
        return match truncate(resp, shared.rng.uniform(n, Draw::TruncateAt)).await {
            Ok(cut) => (cut, Some("truncate")),
            Err(whole) => (whole, None),
        };
    }
    (resp, None)
}

/// Rebuilds a 200 response so it promises its full length but delivers only part of it.
/// `None` if the body is too short to cut (fewer than 2 bytes).
async fn truncate(resp: Response, u: f64) -> Result<Response, Response> {
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return Err(text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))),
    };
    let len = bytes.len();
    if len < 2 {
        return Err(Response::from_parts(parts, Body::from(bytes)));
    }
    let keep = ((len as f64 * u) as usize).clamp(1, len - 1);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len as u64));
    Ok(Response::from_parts(
        parts,
        Body::new(ShortBody(Some(bytes.slice(..keep)))),
    ))
}

/// A body that sends one chunk and says it is finished, without an exact size hint.
///
/// With no exact size hint hyper frames the message by our `Content-Length` header; when the
/// last chunk arrives short of it, hyper writes it, marks the connection as not reusable,
/// flushes and closes: the client gets the head and part of the body, then EOF. (A body that
/// simply ends, or errors, makes hyper drop the connection before flushing; a `Full` body with
/// a mismatching header trips a debug assertion in hyper.)
struct ShortBody(Option<Bytes>);

impl http_body::Body for ShortBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// The trap or a file. `Err` carries a final non-200 response (no truncation applies).
async fn static_or_trap(
    shared: &Shared,
    host: &str,
    info: &HostInfo,
    raw_path: &str,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    let charset = info.charset.as_deref();
    if shared.config.trap && info.kind == SiteKind::Forum {
        if raw_path == "/calendar" {
            return Err(redirect("/calendar/"));
        }
        if let Some(page) = trap::parse(raw_path, shared.calendar_opening) {
            let html = trap::render(page, charset.unwrap_or("utf-8"));
            let mut resp = Response::new(Body::from(html));
            set_content_type(resp.headers_mut(), "text/html", charset);
            return Ok(resp);
        }
    }
    let rel = match files::relative_file(raw_path) {
        Ok(rel) => rel,
        Err(PathRefusal::BadRequest) => return Err(text(StatusCode::BAD_REQUEST, "bad path\n")),
        Err(PathRefusal::TooLong) => return Err(text(StatusCode::URI_TOO_LONG, "path too long\n")),
    };
    let gone = || {
        text(
            StatusCode::GONE,
            "this content has been removed by the hosting provider\n",
        )
    };
    let removal = shared.provider.removal(host, &rel, provider::now_ms());
    if removal == Removal::Page {
        return Err(gone());
    }
    let not_found = || text(StatusCode::NOT_FOUND, "not found\n");
    let path = info.dir.join(&rel);
    let meta = match tokio::fs::metadata(&path).await {
        Ok(m) => m,
        Err(_) => return Err(not_found()),
    };
    if meta.is_dir() {
        return Err(if raw_path.ends_with('/') {
            not_found()
        } else {
            redirect(&format!("{raw_path}/"))
        });
    }
    match tokio::fs::canonicalize(&path).await {
        Ok(real) if real.starts_with(&info.dir) => {}
        _ => return Err(not_found()),
    }
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(_) => return Err(not_found()),
    };
    let mut mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    // Fast path: no post of this file removed -> the static bytes and their cached ETag.
    let (bytes, etag) = match removal {
        Removal::Posts { ids, since_ms } => {
            let encoding = host_encoding(charset);
            let served =
                shared
                    .provider
                    .render(host, &rel, &bytes, (meta.len(), mtime), encoding, &ids);
            match &*served {
                Served::Gone => return Err(gone()),
                Served::Body { bytes, etag } => {
                    // The body changed when the latest of these posts came down.
                    mtime = mtime.max(std::time::UNIX_EPOCH + Duration::from_millis(since_ms));
                    (bytes.clone(), etag.clone())
                }
                Served::Unchanged => {
                    let etag = shared.etags.etag(&path, meta.len(), mtime, &bytes);
                    (Bytes::from(bytes), etag)
                }
            }
        }
        _ => {
            let etag = shared.etags.etag(&path, meta.len(), mtime, &bytes);
            (Bytes::from(bytes), etag)
        }
    };
    let last_modified = files::http_date(mtime);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => files::if_none_match(inm, &etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(files::parse_http_date)
            .is_some_and(|ims| files::unix_secs(mtime) <= ims),
    };
    let (mime, is_text) = files::content_type(&rel);
    let mut resp = if not_modified {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let declared = if mime == "text/xml" {
            files::xml_declared_encoding(&bytes)
        } else {
            None
        };
        let mut r = Response::new(Body::from(bytes));
        let cs = if is_text {
            declared.as_deref().or(charset)
        } else {
            None
        };
        set_content_type(r.headers_mut(), mime, cs);
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if not_modified { Err(resp) } else { Ok(resp) }
}

fn set_content_type(h: &mut HeaderMap, mime: &str, charset: Option<&str>) {
    let value = match charset {
        Some(cs) => format!("{mime}; charset={cs}"),
        None => mime.to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(header::CONTENT_TYPE, v);
    }
}

async fn provider_endpoint(shared: &Shared, host: &str, info: &HostInfo, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if path == provider::ENDPOINT {
        if method != Method::POST {
            let mut resp = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "POST a referral bundle here\n",
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return resp;
        }
        let limit = shared.config.max_bundle_bytes;
        let body = match axum::body::to_bytes(req.into_body(), limit).await {
            Ok(b) => b,
            Err(e) => {
                let too_big = std::error::Error::source(&e)
                    .is_some_and(|s| s.to_string().contains("length limit"));
                return if too_big {
                    text(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("bundle larger than {limit} bytes\n"),
                    )
                } else {
                    text(StatusCode::BAD_REQUEST, format!("reading bundle: {e}\n"))
                };
            }
        };
        let dir = info.dir.clone();
        let read = |rel: &str| {
            file_inside(&dir, rel)
                .then(|| std::fs::read(dir.join(rel)).ok())
                .flatten()
        };
        let encoding = host_encoding(info.charset.as_deref());
        return match shared.provider.receive(host, &body, encoding, read) {
            Ok(receipt) => {
                if let Err(e) = shared.provider.persist().await {
                    tracing::warn!("saving provider state: {e}");
                }
                json(StatusCode::ACCEPTED, &receipt)
            }
            Err(e) => json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({ "error": e.0 }),
            ),
        };
    }
    let id = &path[provider::ENDPOINT.len() + 1..];
    if method != Method::GET && method != Method::HEAD {
        let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "GET a receipt here\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    match shared.provider.receipt(host, id, provider::now_ms()) {
        Some(r) => json(StatusCode::OK, &r),
        None => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": "no such receipt" }),
        ),
    }
}

/// The encoding of a host's pages (its manifest charset; UTF-8 if unknown).
fn host_encoding(charset: Option<&str>) -> &'static encoding_rs::Encoding {
    charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8)
}

/// Whether `rel` names a regular file inside `dir` (symlinks must stay inside).
fn file_inside(dir: &Path, rel: &str) -> bool {
    let path = dir.join(rel);
    path.is_file() && std::fs::canonicalize(&path).is_ok_and(|real| real.starts_with(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_are_documented_and_strict() {
        let c: ServeConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ServeConfig::default());
        assert_eq!(c.addr.to_string(), "127.0.0.1:0");
        assert!(c.trap && !c.allow_remote && c.rate_limit.is_none());
        assert_eq!(
            (c.error_rate, c.truncate_rate, c.slow_ms, c.refuse_rate),
            (0.0, 0.0, 0, 0.0)
        );
        let e = serde_json::from_str::<ServeConfig>("{\"error_rte\": 0.1}").unwrap_err();
        assert!(e.to_string().contains("error_rte"));
        let c: ServeConfig = serde_json::from_str("{\"rate_limit\": 3, \"trap\": false}").unwrap();
        assert_eq!(c.rate_limit, Some(3));
        assert!(c.validate().is_ok());
        let bad = ServeConfig {
            truncate_rate: f64::NAN,
            ..ServeConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn host_header_parsing() {
        let req = |host: &[u8], uri: &str| {
            let mut r = Request::new(Body::empty());
            *r.uri_mut() = uri.parse().unwrap();
            if !host.is_empty() {
                r.headers_mut()
                    .insert(header::HOST, HeaderValue::from_bytes(host).unwrap());
            }
            request_host(&r)
        };
        assert_eq!(req(b"Forum.Test:8080", "/").as_deref(), Some("forum.test"));
        assert_eq!(req(b"forum.test.", "/").as_deref(), Some("forum.test"));
        assert_eq!(
            req(b"x.test", "http://Other.test:81/a").as_deref(),
            Some("other.test")
        );
        assert_eq!(req(b"", "/"), None);
        assert_eq!(req(b"a b", "/"), None);
        assert_eq!(req(b"x.test:port", "/"), None);
        assert_eq!(req(b"user@x.test", "/"), None);
        assert_eq!(req(b"x.test:", "/").as_deref(), Some("x.test"));
        assert_eq!(req(b"[::1]:80", "/").as_deref(), Some("[::1]"));
    }
}
