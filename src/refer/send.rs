//! `trawl refer send`: delivers each bundle of an export to its provider's endpoint
//! (`POST http://<host>/.well-known/trawl/referrals`, the exact `bundle.json` bytes) and records
//! the receipts in `<export>/_delivery/receipts.jsonl` (outside every bundle, so the bundles'
//! manifests stay valid).
//!
//! Addressing works like the crawler's: URLs keep the provider's host name, and the connection
//! goes to `--to http://ADDR:PORT` (every host) or to per-host `--resolve HOST=ADDR:PORT` rules
//! (`*.test` wildcards allowed). Only loopback addresses are accepted.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ReferError;
use super::bundle::Bundle;
use super::manifest::ExportIndex;
use crate::model::{Timestamp, rfc3339};

/// Path of the provider endpoint.
pub const ENDPOINT_PATH: &str = "/.well-known/trawl/referrals";

/// Where each host's traffic goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolver {
    /// Address for every host without a rule.
    pub to: Option<SocketAddr>,
    /// `(pattern, addr)`; pattern is a host or `*.suffix` or `*`.
    pub rules: Vec<(String, SocketAddr)>,
}

fn loopback(addr: SocketAddr, what: &str) -> Result<SocketAddr, ReferError> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(ReferError::Config(format!(
            "{what}: {addr} is not a loopback address (trawl only talks to 127.0.0.0/8 and ::1)"
        )))
    }
}

fn parse_addr(s: &str, what: &str) -> Result<SocketAddr, ReferError> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return loopback(a, what);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return loopback(SocketAddr::new(ip, 80), what);
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| ReferError::Config(format!("{what}: bad port in {s:?}")))?,
        ),
        None => (s, 80),
    };
    if host != "localhost" {
        return Err(ReferError::Config(format!(
            "{what}: {s:?} is not a loopback address"
        )));
    }
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| ReferError::Config(format!("{what}: {s:?}: {e}")))?
        .find(|a| a.ip().is_loopback())
        .ok_or_else(|| ReferError::Config(format!("{what}: {s:?} does not resolve to loopback")))?;
    Ok(addr)
}

impl Resolver {
    /// `--to http://127.0.0.1:8080` (scheme optional). The provider's address only: bundles
    /// always go to [`ENDPOINT_PATH`] on it, so any other path is refused rather than ignored.
    pub fn with_to(mut self, to: &str) -> Result<Self, ReferError> {
        let rest = to.strip_prefix("http://").unwrap_or(to);
        if rest.contains("://") {
            return Err(ReferError::Config(format!(
                "--to {to:?}: only http:// is supported"
            )));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.trim_end_matches('/');
        if !path.is_empty() && format!("/{path}") != ENDPOINT_PATH {
            return Err(ReferError::Config(format!(
                "--to {to:?}: give the provider's address only (http://HOST:PORT); bundles are \
                 posted to {ENDPOINT_PATH} on each bundle's host"
            )));
        }
        self.to = Some(parse_addr(authority, "--to")?);
        Ok(self)
    }

    /// `--resolve HOST=ADDR[:PORT]`.
    pub fn with_rule(mut self, rule: &str) -> Result<Self, ReferError> {
        let (pat, addr) = rule.split_once('=').ok_or_else(|| {
            ReferError::Config(format!("--resolve {rule:?}: expected HOST=ADDR:PORT"))
        })?;
        let pat = pat.trim().to_ascii_lowercase();
        if pat.is_empty() {
            return Err(ReferError::Config(format!(
                "--resolve {rule:?}: empty host"
            )));
        }
        self.rules.push((pat, parse_addr(addr, "--resolve")?));
        Ok(self)
    }

    /// The address for `host`: exact rule, then the longest `*.suffix` rule, then `*`, then `to`.
    pub fn addr_for(&self, host: &str) -> Option<SocketAddr> {
        let host = host.to_ascii_lowercase();
        if let Some((_, a)) = self.rules.iter().find(|(p, _)| *p == host) {
            return Some(*a);
        }
        let mut best: Option<(usize, SocketAddr)> = None;
        for (p, a) in &self.rules {
            if let Some(suffix) = p.strip_prefix("*.")
                && host.ends_with(&format!(".{suffix}"))
                && best.is_none_or(|(l, _)| suffix.len() > l)
            {
                best = Some((suffix.len(), *a));
            }
        }
        if let Some((_, a)) = best {
            return Some(a);
        }
        self.rules
            .iter()
            .find(|(p, _)| p == "*")
            .map(|(_, a)| *a)
            .or(self.to)
    }

    /// A client whose lookups of `host` go to its address.
    pub fn client_for(&self, host: &str) -> Result<reqwest::Client, ReferError> {
        let addr = self.addr_for(host).ok_or_else(|| {
            ReferError::Config(format!("no address for host {host} (use --to http://127.0.0.1:PORT or --resolve '{host}=127.0.0.1:PORT')"))
        })?;
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .resolve(host, addr)
            .user_agent(concat!(
                "trawl/",
                env!("CARGO_PKG_VERSION"),
                " (referral delivery)"
            ))
            .build()
            .map_err(|e| ReferError::Config(format!("HTTP client: {e}")))
    }
}

/// One delivery attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Bundle id.
    pub bundle_id: String,
    /// Provider.
    pub host: String,
    /// Endpoint URL.
    pub endpoint: String,
    /// When it was sent.
    pub sent_at: String,
    /// HTTP status (absent when the connection failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Receipt id from the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// Items the provider accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<u64>,
    /// Items the provider rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<u64>,
    /// The receipt as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<serde_json::Value>,
    /// Error, when delivery failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Delivery {
    /// Delivered and acknowledged (2xx).
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.http_status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The `_delivery` directory of an export.
pub fn delivery_dir(export: &Path) -> PathBuf {
    export.join("_delivery")
}

/// Reads `export.json` and every bundle it lists.
pub fn read_export(dir: &Path) -> Result<(ExportIndex, Vec<Bundle>), ReferError> {
    let ipath = dir.join("export.json");
    let bytes = std::fs::read(&ipath).map_err(|e| ReferError::io(&ipath, e))?;
    let index: ExportIndex = serde_json::from_slice(&bytes).map_err(|e| {
        ReferError::field(
            &ipath,
            format!("line {} column {}", e.line(), e.column()),
            e.to_string(),
        )
    })?;
    let mut bundles = Vec::new();
    for b in &index.bundles {
        let rel = super::manifest::safe_rel(&b.dir)
            .map_err(|m| ReferError::field(&ipath, "bundles[].dir", m))?;
        let bpath = dir.join(rel).join("bundle.json");
        let bytes = std::fs::read(&bpath).map_err(|e| ReferError::io(&bpath, e))?;
        let bundle: Bundle = serde_json::from_slice(&bytes).map_err(|e| {
            ReferError::field(
                &bpath,
                format!("line {} column {}", e.line(), e.column()),
                e.to_string(),
            )
        })?;
        super::bundle::check_host(&bundle.host)
            .map_err(|m| ReferError::field(&bpath, "host", m))?;
        bundles.push(bundle);
    }
    Ok((index, bundles))
}

/// Every delivery recorded for an export, oldest first.
pub fn read_deliveries(export: &Path) -> Result<Vec<Delivery>, ReferError> {
    let path = delivery_dir(export).join("receipts.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(ReferError::io(&path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| ReferError::field(&path, format!("line {}", i + 1), e.to_string()))
        })
        .collect()
}

/// Appends one JSON line and syncs.
pub(crate) fn append_jsonl<T: Serialize>(path: &Path, v: &T) -> Result<(), ReferError> {
    use std::io::Write;
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| ReferError::io(p, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| ReferError::io(path, e))?;
    let mut line = serde_json::to_vec(v).unwrap_or_default();
    line.push(b'\n');
    f.write_all(&line).map_err(|e| ReferError::io(path, e))?;
    f.sync_all().map_err(|e| ReferError::io(path, e))
}

fn count(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::Array(a) => Some(a.len() as u64),
        _ => None,
    }
}

/// Sends every bundle of the export at `dir`; records and returns the deliveries. Bundles
/// already delivered with a 2xx are skipped unless `again`.
pub async fn send(
    dir: &Path,
    resolver: &Resolver,
    again: bool,
    now: Timestamp,
) -> Result<Vec<Delivery>, ReferError> {
    let (index, bundles) = read_export(dir)?;
    let previous = read_deliveries(dir)?;
    let log = delivery_dir(dir).join("receipts.jsonl");
    let mut out = Vec::new();
    for (entry, bundle) in index.bundles.iter().zip(&bundles) {
        if !again
            && previous
                .iter()
                .any(|d| d.bundle_id == bundle.bundle_id && d.ok())
        {
            tracing::info!(
                "refer: {} already delivered to {} (use --again to resend)",
                bundle.bundle_id,
                bundle.host
            );
            continue;
        }
        let endpoint = format!("http://{}{ENDPOINT_PATH}", bundle.host);
        let bpath = dir.join(&entry.dir).join("bundle.json");
        let body = std::fs::read(&bpath).map_err(|e| ReferError::io(&bpath, e))?;
        let mut d = Delivery {
            bundle_id: bundle.bundle_id.clone(),
            host: bundle.host.clone(),
            endpoint: endpoint.clone(),
            sent_at: rfc3339(now),
            http_status: None,
            receipt_id: None,
            accepted: None,
            rejected: None,
            receipt: None,
            error: None,
        };
        let client = resolver.client_for(&bundle.host)?;
        let res = client
            .post(&endpoint)
            .header("content-type", "application/json")
            .header("x-trawl-bundle-id", bundle.bundle_id.as_str())
            .header("x-trawl-manifest-sha256", entry.manifest_sha256.as_str())
            .body(body)
            .send()
            .await;
        match res {
            Ok(resp) => {
                let status = resp.status().as_u16();
                d.http_status = Some(status);
                let bytes = resp.bytes().await.unwrap_or_default();
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    d.receipt_id = v
                        .get("receipt_id")
                        .and_then(|x| x.as_str())
                        .map(String::from);
                    d.accepted = count(v.get("accepted"));
                    d.rejected = count(v.get("rejected"));
                    d.receipt = Some(v);
                }
                if !(200..300).contains(&status) {
                    d.error = Some(format!("provider answered HTTP {status}"));
                }
            }
            Err(e) => d.error = Some(format!("{e}")),
        }
        append_jsonl(&log, &d)?;
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_takes_an_address_and_refuses_other_paths() {
        for ok in [
            "http://127.0.0.1:8080",
            "127.0.0.1:8080/",
            "http://127.0.0.1:8080/.well-known/trawl/referrals",
        ] {
            let r = Resolver::default().with_to(ok).unwrap();
            assert_eq!(r.to, Some("127.0.0.1:8080".parse().unwrap()), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:8080/some/path",
            "https://127.0.0.1:8080",
            "http://10.1.2.3:80",
        ] {
            let e = Resolver::default().with_to(bad).unwrap_err().to_string();
            assert!(e.starts_with("--to"), "{bad}: {e}");
        }
    }
}
