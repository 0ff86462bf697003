//! robots.txt per host (texting_robots: Google/RFC 9309 matching, `Crawl-delay`, `Sitemap:`).
//!
//! Fetched once per host before any other request to it. RFC 9309 status handling:
//! 2xx = parse (an unparsable file is a WARN and allows everything, like an empty one);
//! 4xx = "unavailable", everything allowed; 5xx / network failure after all retries =
//! "unreachable", everything disallowed for this crawl (a WARN says so).

use std::sync::Arc;
use std::time::Duration;

use texting_robots::Robot;

/// What a host's robots.txt decided.
#[derive(Clone)]
pub enum RobotsPolicy {
    /// Rules from a parsed file.
    Rules(Arc<Robot>),
    /// No usable rules: everything allowed.
    AllowAll,
    /// robots.txt unreachable: nothing allowed.
    DisallowAll,
}

impl std::fmt::Debug for RobotsPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RobotsPolicy::Rules(r) => write!(f, "Rules(delay={:?})", r.delay),
            RobotsPolicy::AllowAll => f.write_str("AllowAll"),
            RobotsPolicy::DisallowAll => f.write_str("DisallowAll"),
        }
    }
}

impl RobotsPolicy {
    /// Parses a 2xx robots.txt body for `agent` (the product token of the user agent).
    pub fn parse(agent: &str, body: &[u8], url: &str) -> RobotsPolicy {
        match Robot::new(agent, body) {
            Ok(r) => RobotsPolicy::Rules(Arc::new(r)),
            Err(e) => {
                tracing::warn!("{url}: robots.txt unparsable ({e}); treating as empty (allow all)");
                RobotsPolicy::AllowAll
            }
        }
    }

    /// Whether `url` may be fetched.
    pub fn allowed(&self, url: &str) -> bool {
        match self {
            RobotsPolicy::Rules(r) => r.allowed(url),
            RobotsPolicy::AllowAll => true,
            RobotsPolicy::DisallowAll => false,
        }
    }

    /// `Crawl-delay`, if any.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            RobotsPolicy::Rules(r) => r
                .delay
                .filter(|d| d.is_finite() && *d >= 0.0)
                .map(|d| Duration::from_secs_f64(f64::from(d).min(86_400.0))),
            _ => None,
        }
    }

    /// `Sitemap:` URLs.
    pub fn sitemaps(&self) -> Vec<String> {
        match self {
            RobotsPolicy::Rules(r) => r.sitemaps.clone(),
            _ => Vec::new(),
        }
    }
}

/// The robots.txt product token of a user agent (`trawl/0.1` -> `trawl`).
pub fn agent_token(user_agent: &str) -> &str {
    user_agent.split(['/', ' ']).next().unwrap_or(user_agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_delay() {
        let txt =
            b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\nSitemap: http://a.test/s.xml\n";
        let p = RobotsPolicy::parse("trawl", txt, "http://a.test/robots.txt");
        assert!(p.allowed("http://a.test/x"));
        assert!(!p.allowed("http://a.test/private/1"));
        assert_eq!(p.crawl_delay(), Some(Duration::from_secs(2)));
        assert_eq!(p.sitemaps(), vec!["http://a.test/s.xml".to_string()]);
        assert!(!RobotsPolicy::DisallowAll.allowed("http://a.test/"));
        let garbage = RobotsPolicy::parse("trawl", &[0xff, 0xfe, 0, 1, 2], "u");
        assert!(garbage.allowed("http://a.test/x"));
    }
}
