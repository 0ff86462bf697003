//! One fetch: GET with manual redirects (scope and robots checked on every hop), status
//! classification (retryable or not, Retry-After), content-type filter, capped body read,
//! link discovery, and hand-off of HTML pages to the sink.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::{
    ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER, TRANSFER_ENCODING,
};
use tokio::sync::mpsc;
use url::Url;

use super::Ctx;
use super::frontier::{Entry, EntryKind};
use super::journal::JournalRecord;
use super::resolve::{RefusedHost, check_literal};
use super::robots::RobotsPolicy;
use super::url::{host_of, resolve, scan_links};
use crate::model::Page;

/// What a fetch ended with.
#[derive(Debug)]
pub enum Outcome {
    /// An HTML page was handed to the sink; these are its in-scope outlinks.
    Page {
        /// Outlinks (normalised, in scope, de-duplicated).
        links: Vec<String>,
    },
    /// A sitemap was read; these are its in-scope `<loc>`s.
    Sitemap {
        /// `(url, is_sitemap)`.
        links: Vec<(String, bool)>,
    },
    /// robots.txt decided.
    Robots(RobotsPolicy),
    /// 304 on a conditional GET.
    NotModified,
    /// A redirect to another in-scope host: queue the target.
    Redirect(String),
    /// Worth another attempt.
    Retry {
        /// Error kind for stats.
        kind: &'static str,
        /// Server-requested delay (Retry-After).
        after: Option<Duration>,
        /// Pause the whole host (429/503).
        host_wide: bool,
        /// sha256 of a body that looked cut off but had no length framing (`truncated_html`):
        /// the next attempt accepts the body if it is the same.
        body: Option<String>,
    },
    /// Final failure, counted by kind.
    Fail(String),
    /// Skipped on purpose (counted, not an error).
    Skip(&'static str),
    /// The sink is gone: stop.
    SinkClosed,
}

struct Fetched {
    final_url: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body's end was delimited by Content-Length or chunked framing (so a complete read
    /// is the whole body), not by the connection closing.
    framed: bool,
}

/// Error kind of a request refused by the loopback-only resolver (or a literal address off
/// loopback). Final, never retried: the host cannot be reached at all.
pub const REFUSED_ADDRESS: &str = "refused_address";

/// The resolver's refusal behind a request error, if that is why the request failed.
fn refused(e: &reqwest::Error) -> Option<&RefusedHost> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<RefusedHost>() {
            return Some(r);
        }
        src = s.source();
    }
    None
}

fn classify(e: &reqwest::Error) -> &'static str {
    if refused(e).is_some() {
        REFUSED_ADDRESS
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "truncated"
    } else {
        "http"
    }
}

/// Parses `Retry-After`: delta-seconds or an IMF-fixdate.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(v, &fmt).ok()?.assume_utc();
    let d = t - time::OffsetDateTime::now_utc();
    Some(Duration::from_secs_f64(d.as_seconds_f64().max(0.0)))
}

fn content_type(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default()
}

/// GET with manual redirects. `Err` is the outcome to report.
async fn get(
    ctx: &Ctx,
    url: &str,
    entry: &Entry,
    robots: Option<&RobotsPolicy>,
    want_body: impl Fn(u16, &str) -> Result<(), Outcome>,
) -> Result<Fetched, Outcome> {
    let origin_host = host_of(url).unwrap_or("").to_string();
    let mut current = url.to_string();
    let mut visited: Vec<String> = Vec::new();
    for hop in 0..=ctx.config.max_redirects {
        if let Err(r) = check_literal(host_of(&current).unwrap_or("")) {
            tracing::debug!("{current}: {r}");
            return Err(Outcome::Fail(REFUSED_ADDRESS.into()));
        }
        let mut req = ctx.client.get(&current);
        if hop == 0 {
            if let Some(v) = &entry.validators {
                if let Some(e) = &v.etag {
                    req = req.header(IF_NONE_MATCH, e.as_str());
                }
                if let Some(lm) = &v.last_modified {
                    req = req.header(IF_MODIFIED_SINCE, lm.as_str());
                }
            }
        }
        ctx.requests.fetch_add(1, Ordering::Relaxed);
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                if let Some(r) = refused(&e) {
                    tracing::debug!("{current}: {r}");
                    return Err(Outcome::Fail(REFUSED_ADDRESS.into()));
                }
                return Err(Outcome::Retry {
                    kind: classify(&e),
                    after: None,
                    host_wide: false,
                    body: None,
                });
            }
        };
        let status = resp.status().as_u16();
        if (300..400).contains(&status) && status != 304 {
            let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return Err(Outcome::Fail("redirect_without_location".into()));
            };
            let base = Url::parse(&current).map_err(|_| Outcome::Fail("bad_url".into()))?;
            let Some(target) = resolve(&base, loc) else {
                return Err(Outcome::Fail("bad_redirect".into()));
            };
            visited.push(std::mem::replace(&mut current, target));
            if visited.contains(&current) {
                return Err(Outcome::Fail("redirect_loop".into()));
            }
            let host = host_of(&current).unwrap_or("");
            if !ctx.scope.allows(host) {
                ctx.out_of_scope.fetch_add(1, Ordering::Relaxed);
                return Err(Outcome::Fail("redirect_out_of_scope".into()));
            }
            if host != origin_host {
                return Err(Outcome::Redirect(current));
            }
            if robots.is_some_and(|r| !r.allowed(&current)) {
                return Err(Outcome::Skip("robots_disallowed"));
            }
            continue;
        }
        if status == 304 {
            return Err(Outcome::NotModified);
        }
        if status == 429 || status == 503 {
            let after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let kind = if status == 429 {
                "http_429"
            } else {
                "http_503"
            };
            return Err(Outcome::Retry {
                kind,
                after,
                host_wide: true,
                body: None,
            });
        }
        if status >= 500 {
            return Err(Outcome::Retry {
                kind: "http_5xx",
                after: None,
                host_wide: false,
                body: None,
            });
        }
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        want_body(status, &content_type(&headers))?;
        let chunked = resp
            .headers()
            .get(TRANSFER_ENCODING)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        let framed = chunked
            || resp.content_length().is_some()
            || resp.version() >= reqwest::Version::HTTP_2;
        let cap = ctx.config.max_body_bytes;
        if resp.content_length().is_some_and(|l| l > cap as u64) {
            return Err(Outcome::Fail("too_large".into()));
        }
        let mut body =
            Vec::with_capacity(resp.content_length().unwrap_or(16 << 10).min(cap as u64) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > cap {
                        return Err(Outcome::Fail("too_large".into()));
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "timeout"
                    } else {
                        "truncated"
                    };
                    return Err(Outcome::Retry {
                        kind,
                        after: None,
                        host_wide: false,
                        body: None,
                    });
                }
            }
        }
        ctx.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        return Ok(Fetched {
            final_url: current,
            status,
            headers,
            body,
            framed,
        });
    }
    Err(Outcome::Fail("too_many_redirects".into()))
}

/// Fetches robots.txt of a host (RFC 9309 status handling; see `robots`).
pub async fn fetch_robots(ctx: Arc<Ctx>, url: String, entry: Entry) -> Outcome {
    let res = get(&ctx, &url, &entry, None, |status, _| {
        if (400..500).contains(&status) {
            Err(Outcome::Robots(RobotsPolicy::AllowAll))
        } else {
            Ok(())
        }
    })
    .await;
    match res {
        Ok(f) => Outcome::Robots(RobotsPolicy::parse(&ctx.agent, &f.body, &url)),
        Err(Outcome::Fail(k)) if k == "too_large" => Outcome::Robots(RobotsPolicy::AllowAll),
        Err(Outcome::Redirect(_)) | Err(Outcome::Skip(_)) => {
            Outcome::Robots(RobotsPolicy::AllowAll)
        }
        Err(o) => o,
    }
}

fn has_html_end(body: &[u8]) -> bool {
    let tail = &body[body.len().saturating_sub(4096)..];
    tail.windows(6).any(|w| w.eq_ignore_ascii_case(b"</html"))
}

/// Whether an HTML body may have been cut off although it was read without error: only a body
/// delimited by the connection closing (no Content-Length, not chunked) can be, and only if it
/// lacks `</html>` (valid HTML may omit it, so the caller accepts it once two attempts agree).
fn suspect_cut(f: &Fetched, may_retry: bool) -> bool {
    may_retry && !f.framed && !f.body.is_empty() && !has_html_end(&f.body)
}

/// Fetches a page or sitemap; HTML pages go to the sink, sitemaps are read here.
/// `prev_body` is the sha256 an earlier attempt reported in `Outcome::Retry::body`.
pub async fn fetch_page(
    ctx: Arc<Ctx>,
    url: String,
    entry: Entry,
    robots: RobotsPolicy,
    sink: mpsc::Sender<Page>,
    prev_body: Option<String>,
) -> Outcome {
    let is_sitemap = entry.kind == EntryKind::Sitemap;
    let types = &ctx.config.content_types;
    let res = get(&ctx, &url, &entry, Some(&robots), |status, ct| {
        if !(200..300).contains(&status) {
            return Err(Outcome::Fail(format!("http_{status}")));
        }
        let xml = ct.contains("xml");
        let ok = if is_sitemap {
            xml || ct.starts_with("text/plain") || ct.is_empty()
        } else {
            ct.is_empty() || types.iter().any(|t| ct.starts_with(t.as_str()))
        };
        if ok {
            Ok(())
        } else {
            Err(Outcome::Skip("content_type"))
        }
    })
    .await;
    let f = match res {
        Ok(f) => f,
        Err(o) => return o,
    };
    let Ok(base) = Url::parse(&f.final_url) else {
        return Outcome::Fail("bad_url".into());
    };
    let (raw, base_href) = scan_links(&f.body);
    let base = base_href.and_then(|b| base.join(&b).ok()).unwrap_or(base);
    let mut seen = std::collections::HashSet::new();
    if is_sitemap {
        let links = raw
            .iter()
            .filter_map(|h| resolve(&base, h))
            .filter(|u| in_scope(&ctx, u) && seen.insert(u.clone()))
            .map(|u| {
                let sm = u.split('?').next().unwrap_or("").ends_with(".xml");
                (u, sm)
            })
            .collect::<Vec<_>>();
        if let Some(j) = &ctx.journal {
            let rec = JournalRecord {
                url: url.clone(),
                status: f.status,
                depth: entry.depth,
                etag: None,
                last_modified: None,
                links: links.iter().map(|(u, _)| u.clone()).collect(),
            };
            if let Err(e) = j.append(&rec) {
                tracing::warn!("journal: {e}");
            }
        }
        return Outcome::Sitemap { links };
    }
    let ct = content_type(&f.headers);
    let html = ct.is_empty() || ct.contains("html");
    let sha256 = crate::util::sha256_hex(&f.body);
    if html
        && suspect_cut(&f, u32::from(entry.attempt) < ctx.config.retries)
        && prev_body.as_deref() != Some(sha256.as_str())
    {
        return Outcome::Retry {
            kind: "truncated_html",
            after: None,
            host_wide: false,
            body: Some(sha256),
        };
    }
    let links: Vec<String> = raw
        .iter()
        .filter_map(|h| resolve(&base, h))
        .filter(|u| in_scope(&ctx, u) && seen.insert(u.clone()))
        .collect();
    let header = |n: &str| {
        f.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    if let Some(j) = &ctx.journal {
        j.stage(JournalRecord {
            url: url.clone(),
            status: f.status,
            depth: entry.depth,
            etag: header(ETAG.as_str()),
            last_modified: header(LAST_MODIFIED.as_str()),
            links: links.clone(),
        });
    }
    let page = Page {
        url,
        final_url: f.final_url,
        status: f.status,
        headers: f.headers,
        sha256,
        body: f.body,
        fetched_at: time::OffsetDateTime::now_utc(),
        depth: entry.depth,
    };
    if sink.send(page).await.is_err() {
        return Outcome::SinkClosed;
    }
    Outcome::Page { links }
}

fn in_scope(ctx: &Ctx, url: &str) -> bool {
    let ok = host_of(url).is_some_and(|h| ctx.scope.allows(h));
    if !ok {
        ctx.out_of_scope.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
