//! Scope (host allowlist) and the loopback-only resolver behind `--resolve`.
//!
//! reqwest's `dns_resolver` hook receives the host; hyper-util's `HttpConnector` keeps the port
//! of a resolved address unless the URL names a port (hyper-util 0.1.21, `set_port`), so
//! `http://forum.test/` with `*.test=127.0.0.1:8080` connects to 127.0.0.1:8080 while the URL
//! and `Host` header stay `forum.test`. Every address the resolver returns is loopback: rules
//! naming other addresses are refused when parsed, and hosts without a rule resolve only if
//! they are a literal loopback IP or `localhost` (no DNS query is ever sent).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::CrawlError;

/// A host pattern: exact (`forum.test`) or suffix (`*.test` = any subdomain of `test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Matches exactly this host.
    Exact(String),
    /// Matches any host ending in `.suffix` (and not the bare suffix).
    Suffix(String),
}

impl HostPattern {
    /// Parses `host` or `*.suffix`, lowercased.
    pub fn parse(s: &str) -> HostPattern {
        let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
        match s.strip_prefix("*.") {
            Some(rest) => HostPattern::Suffix(rest.to_string()),
            None => HostPattern::Exact(s),
        }
    }

    /// Whether `host` (lowercase) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(h) => h == host,
            HostPattern::Suffix(s) => {
                host.len() > s.len() + 1
                    && host.ends_with(s.as_str())
                    && host.as_bytes()[host.len() - s.len() - 1] == b'.'
            }
        }
    }
}

/// The host allowlist.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    patterns: Vec<HostPattern>,
}

impl Scope {
    /// A scope from patterns.
    pub fn new(patterns: impl IntoIterator<Item = HostPattern>) -> Scope {
        Scope {
            patterns: patterns.into_iter().collect(),
        }
    }

    /// Whether `host` may be requested.
    pub fn allows(&self, host: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(host))
    }
}

/// Whether an address is loopback (127.0.0.0/8, ::1, or v4-mapped loopback).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
    }
}

/// One parsed `HOST=ADDR[:PORT]` rule.
#[derive(Debug, Clone)]
pub struct ResolveRule {
    /// Which hosts it covers.
    pub host: HostPattern,
    /// Where they go (port 0 = the URL's default port).
    pub addr: SocketAddr,
}

impl ResolveRule {
    /// Parses `HOST=ADDR`, `HOST=ADDR:PORT`, `HOST=[v6]:PORT` or curl's `HOST:PORT:ADDR`.
    pub fn parse(rule: &str) -> Result<ResolveRule, CrawlError> {
        let err = |reason: &str| CrawlError::Resolve {
            rule: rule.to_string(),
            reason: reason.to_string(),
        };
        let (host, addr) = if let Some((h, a)) = rule.split_once('=') {
            (h.to_string(), a.to_string())
        } else {
            // curl form: HOST:PORT:ADDR (port ignored; the address's port is the URL's).
            let mut parts = rule.splitn(3, ':');
            let h = parts.next().unwrap_or("");
            let p = parts
                .next()
                .ok_or_else(|| err("expected HOST=ADDR[:PORT] or HOST:PORT:ADDR"))?;
            let a = parts
                .next()
                .ok_or_else(|| err("expected HOST=ADDR[:PORT] or HOST:PORT:ADDR"))?;
            (h.to_string(), format!("{a}:{p}"))
        };
        if host.trim().is_empty() {
            return Err(err("empty host"));
        }
        let addr: SocketAddr = match addr.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                let ip: IpAddr = addr
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse()
                    .map_err(|_| err("address is not an IP address (ADDR or ADDR:PORT)"))?;
                SocketAddr::new(ip, 0)
            }
        };
        if !is_loopback(addr.ip()) {
            return Err(err(
                "only loopback addresses (127.0.0.0/8, ::1) are allowed",
            ));
        }
        Ok(ResolveRule {
            host: HostPattern::parse(&host),
            addr,
        })
    }
}

/// Why the resolver refused a host: it has no `--resolve` rule and is neither a literal loopback
/// address nor `localhost`, or it is a literal address off loopback. Returned (boxed) by
/// `LoopbackResolver` so a failed fetch can be told apart from a connect error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{host}: address refused: no --resolve rule maps it to loopback and it is not a loopback address (trawl never leaves loopback)"
)]
pub struct RefusedHost {
    /// The host as requested.
    pub host: String,
}

/// `Err` when `host` is a literal IP address off loopback. reqwest (hyper-util) connects to a
/// literal address without asking the resolver, so the fetcher checks literals itself.
pub fn check_literal(host: &str) -> Result<(), RefusedHost> {
    match host
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
    {
        Ok(ip) if !is_loopback(ip) => Err(RefusedHost {
            host: host.to_string(),
        }),
        _ => Ok(()),
    }
}

/// The resolver given to reqwest: rules first (exact before wildcard), else literal loopback
/// IPs and `localhost`; everything else is refused.
#[derive(Debug, Clone)]
pub struct LoopbackResolver {
    rules: Arc<Vec<ResolveRule>>,
}

impl LoopbackResolver {
    /// A resolver for these rules.
    pub fn new(mut rules: Vec<ResolveRule>) -> LoopbackResolver {
        rules.sort_by_key(|r| matches!(r.host, HostPattern::Suffix(_)));
        LoopbackResolver {
            rules: Arc::new(rules),
        }
    }

    /// The address a host maps to by rule, if any.
    pub fn lookup_rule(&self, host: &str) -> Option<SocketAddr> {
        let host = host.to_ascii_lowercase();
        self.rules
            .iter()
            .find(|r| r.host.matches(&host))
            .map(|r| r.addr)
    }
}

impl Resolve for LoopbackResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let ruled = self.lookup_rule(&host);
        Box::pin(async move {
            if let Some(addr) = ruled {
                let addrs: Addrs = Box::new(std::iter::once(addr));
                return Ok(addrs);
            }
            // No DNS at all (a query could leave loopback): literal loopback IPs and
            // `localhost` only.
            let found: Vec<SocketAddr> = match host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<IpAddr>()
            {
                Ok(ip) if is_loopback(ip) => vec![SocketAddr::new(ip, 0)],
                _ if host == "localhost" || host.ends_with(".localhost") => {
                    vec![SocketAddr::from(([127, 0, 0, 1], 0))]
                }
                _ => Vec::new(),
            };
            if found.is_empty() {
                return Err(
                    Box::new(RefusedHost { host }) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = HostPattern::parse("*.TEST");
        assert!(p.matches("forum.test"));
        assert!(!p.matches("test"));
        assert!(!p.matches("foretest"));
        assert!(HostPattern::parse("a.test").matches("a.test"));
    }

    #[test]
    fn rules_parse_and_refuse_off_loopback() {
        let r = ResolveRule::parse("*.test=127.0.0.1:8080").unwrap();
        assert_eq!(r.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            ResolveRule::parse("a.test=127.0.0.2").unwrap().addr.port(),
            0
        );
        assert!(ResolveRule::parse("a.test=[::1]:9").is_ok());
        assert!(ResolveRule::parse("a.test:80:127.0.0.1").is_ok());
        assert!(ResolveRule::parse("a.test=10.0.0.1:80").is_err());
        assert!(ResolveRule::parse("a.test=192.0.2.1").is_err());
        assert!(ResolveRule::parse("a.test=outside.example").is_err());
        let res = LoopbackResolver::new(vec![
            ResolveRule::parse("*.test=127.0.0.1:1").unwrap(),
            ResolveRule::parse("x.test=127.0.0.1:2").unwrap(),
        ]);
        assert_eq!(res.lookup_rule("x.test").unwrap().port(), 2);
        assert_eq!(res.lookup_rule("y.test").unwrap().port(), 1);
        assert!(res.lookup_rule("outside.example").is_none());
        assert!(check_literal("10.0.0.1").is_err());
        assert!(check_literal("[2001:db8::1]").is_err());
        assert!(check_literal("127.0.0.9").is_ok());
        assert!(check_literal("[::1]").is_ok());
        assert!(check_literal("outside.example").is_ok());
    }
}
