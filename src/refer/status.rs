//! `trawl refer status`: did it come down?
//!
//! Re-fetches every referred URL (GET, fragment dropped, one request per page): 404 and 410 mean
//! offline. Providers remove single posts, so a page that answers 200 is checked for the post: when
//! the URL has a fragment (`/topic/12/page-2.html#p345`) and no element of the HTML body (decoded
//! by its charset: header, then `<meta>`) has that `id` any more, the post is offline although the
//! page is up. Each check is appended to `<export>/_delivery/status.jsonl`; the removal time of an
//! item is the provider's `removed_at` from the receipt status endpoint when it reports one,
//! else the first check that found it offline. The report gives the offline rate per host and
//! per scenario category, the time from referral (delivery, else issue) to removal, and the
//! removal orders past their one-hour deadline that are still online.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ReferError;
use super::bundle::Kind;
use super::send::{
    ENDPOINT_PATH, Resolver, append_jsonl, delivery_dir, read_deliveries, read_export,
};
use crate::corpus::serve::provider::post_fragment;
use crate::model::{Timestamp, parse_rfc3339, rfc3339};

/// Largest page body read when checking for a post; a longer one is a failed check.
pub const MAX_PAGE_BYTES: usize = 32 << 20;

/// What a check saw of a referred item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// The page answered and (for a post URL) the post is still in it.
    Online,
    /// The page answered 200 but the post's element (the URL fragment) is gone.
    PostRemoved,
    /// The page answered 404 or 410.
    PageGone,
    /// The request failed (counts as online).
    Error,
}

impl Observed {
    /// Offline: the page or the post is gone.
    pub fn offline(self) -> bool {
        matches!(self, Observed::PostRemoved | Observed::PageGone)
    }

    /// Short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            Observed::Online => "online",
            Observed::PostRemoved => "post removed",
            Observed::PageGone => "page gone",
            Observed::Error => "check failed",
        }
    }
}

/// One fetched page: its status and, for a 200 HTML page that was looked into, its element ids.
#[derive(Debug, Clone)]
struct Fetched {
    status: u16,
    ids: Option<HashSet<String>>,
}

/// Every `id` attribute of an HTML body, decoded by `content_type` / `<meta>` / sniffing.
pub fn element_ids(body: &[u8], content_type: Option<&str>) -> HashSet<String> {
    let (text, _, _) = crate::extract::charset::decode(body, content_type);
    crate::corpus::serve::provider::ids_in(&text)
}

/// GETs `url`; for a 200 HTML answer with `want_ids`, reads the body (at most
/// [`MAX_PAGE_BYTES`]) and collects its element ids.
async fn fetch(client: &reqwest::Client, url: &str, want_ids: bool) -> Result<Fetched, String> {
    let mut resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let html = content_type.as_deref().is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.starts_with("text/html") || ct.starts_with("application/xhtml")
    });
    if status != 200 || !want_ids || !html {
        return Ok(Fetched { status, ids: None });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("{url}: reading body: {e}"))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(format!("{url}: page larger than {MAX_PAGE_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let ids = element_ids(&body, content_type.as_deref());
    Ok(Fetched {
        status,
        ids: Some(ids),
    })
}

/// One observation of one referred URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Referral id.
    pub referral_id: String,
    /// When.
    pub checked_at: String,
    /// HTTP status, when the request completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// 404 or 410, or the post gone from a page that is up.
    pub offline: bool,
    /// What was seen (absent in records written before per-post checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

/// Status of one referral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStatus {
    /// Referral id.
    pub referral_id: String,
    /// Provider.
    pub host: String,
    /// Scenario category.
    pub category: String,
    /// Kind.
    pub kind: Kind,
    /// The referred URL.
    pub url: String,
    /// Delivery time, else issue time.
    pub referred_at: String,
    /// HTTP status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Error of this check, if the request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Offline now (page gone, or the post gone from the page).
    pub offline: bool,
    /// What this check saw.
    pub observed: Observed,
    /// When it went offline (provider's word, else first offline check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_at: Option<String>,
    /// Seconds from referral to removal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_to_removal: Option<i64>,
    /// Removal-order deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<String>,
    /// Removal order still online after its deadline.
    pub overdue: bool,
    /// What the provider's receipt status says about the item (`pending`, `removed`,
    /// `refused`), if anything. A `refused` item that is `online` is the expected case; a
    /// disagreement shows up as e.g. `refused` + `post_removed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<String>,
}

/// Offline count and rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rate {
    /// Referred.
    pub total: u64,
    /// Offline now.
    pub offline: u64,
    /// offline / total.
    pub rate: f64,
}

/// Distribution of removal times (seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Durations {
    /// Items removed.
    pub count: usize,
    /// Median seconds.
    pub median_s: Option<i64>,
    /// Mean seconds.
    pub mean_s: Option<f64>,
    /// Longest.
    pub max_s: Option<i64>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    /// When checked.
    pub checked_at: String,
    /// All referrals.
    pub overall: Rate,
    /// Per host.
    pub by_host: BTreeMap<String, Rate>,
    /// Per scenario category.
    pub by_category: BTreeMap<String, Rate>,
    /// Referral to removal.
    pub time_to_removal: Durations,
    /// Overdue removal orders (referral ids).
    pub overdue: Vec<String>,
    /// Requests that failed.
    pub errors: usize,
    /// Per item.
    pub items: Vec<ItemStatus>,
}

fn bump(m: &mut BTreeMap<String, Rate>, key: &str, offline: bool) {
    let r = m.entry(key.to_string()).or_default();
    r.total += 1;
    if offline {
        r.offline += 1;
    }
}

fn finish_rates(m: &mut BTreeMap<String, Rate>) {
    for r in m.values_mut() {
        r.rate = if r.total == 0 {
            0.0
        } else {
            r.offline as f64 / r.total as f64
        };
    }
}

/// Reads what the provider's receipt status endpoint says per referral id: (status, removed_at).
fn provider_items(v: &serde_json::Value) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let mut out = BTreeMap::new();
    let items = v
        .get("items")
        .and_then(|i| i.as_array())
        .cloned()
        .unwrap_or_default();
    for it in items {
        let Some(id) = it.get("referral_id").and_then(|x| x.as_str()) else {
            continue;
        };
        let status = it.get("status").and_then(|x| x.as_str()).map(String::from);
        let removed = it
            .get("removed_at")
            .and_then(|x| x.as_str())
            .map(String::from);
        out.insert(id.to_string(), (status, removed));
    }
    out
}

/// Checks every referral of the export at `dir`.
pub async fn check(
    dir: &Path,
    resolver: &Resolver,
    now: Timestamp,
) -> Result<StatusReport, ReferError> {
    let (_, bundles) = read_export(dir)?;
    let deliveries = read_deliveries(dir)?;
    let obs_path = delivery_dir(dir).join("status.jsonl");
    let mut history: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(&obs_path) {
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let o: Observation = serde_json::from_str(line).map_err(|e| {
                ReferError::field(&obs_path, format!("line {}", i + 1), e.to_string())
            })?;
            history.entry(o.referral_id.clone()).or_default().push(o);
        }
    }
    let mut report = StatusReport {
        checked_at: rfc3339(now),
        overall: Rate::default(),
        by_host: BTreeMap::new(),
        by_category: BTreeMap::new(),
        time_to_removal: Durations::default(),
        overdue: vec![],
        errors: 0,
        items: vec![],
    };
    let mut durations = Vec::new();
    for bundle in &bundles {
        let client = resolver.client_for(&bundle.host)?;
        let delivery = deliveries
            .iter()
            .rev()
            .find(|d| d.bundle_id == bundle.bundle_id && d.ok());
        let mut provider = BTreeMap::new();
        if let Some(rid) = delivery.and_then(|d| d.receipt_id.as_deref()) {
            let url = format!("http://{}{ENDPOINT_PATH}/{rid}", bundle.host);
            if let Ok(resp) = client.get(&url).send().await
                && resp.status().is_success()
                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(
                    &resp.bytes().await.unwrap_or_default(),
                )
            {
                provider = provider_items(&v);
            }
        }
        // Pages holding a referred post are read to look for it; others only need a status.
        let want_ids: HashSet<String> = bundle
            .items
            .iter()
            .filter(|r| post_fragment(&r.content_url).is_some())
            .map(|r| page_of(&r.content_url).to_string())
            .collect();
        let mut page_cache: BTreeMap<String, Result<Fetched, String>> = BTreeMap::new();
        for r in &bundle.items {
            let page_url = page_of(&r.content_url).to_string();
            let on_host = url::Url::parse(&page_url)
                .is_ok_and(|u| u.scheme() == "http" && u.host_str() == Some(bundle.host.as_str()));
            if !on_host {
                // Never follow a URL to another host: it would leave the loopback mapping.
                page_cache.insert(
                    page_url.clone(),
                    Err(format!("not an http URL on {}", bundle.host)),
                );
            }
            if !page_cache.contains_key(&page_url) {
                let res = fetch(&client, &page_url, want_ids.contains(&page_url)).await;
                page_cache.insert(page_url.clone(), res);
            }
            let res = page_cache
                .get(&page_url)
                .cloned()
                .unwrap_or(Err("not fetched".into()));
            let (observed, http_status, error) = match res {
                Ok(f) => (observe(&f, &r.content_url), Some(f.status), None),
                Err(e) => (Observed::Error, None, Some(e)),
            };
            if error.is_some() {
                report.errors += 1;
            }
            let offline = observed.offline();
            let obs = Observation {
                referral_id: r.referral_id.clone(),
                checked_at: rfc3339(now),
                http_status,
                offline,
                observed: Some(observed),
            };
            append_jsonl(&obs_path, &obs)?;
            let hist = history.entry(r.referral_id.clone()).or_default();
            hist.push(obs);
            let (provider_status, provider_removed) = provider
                .get(&r.referral_id)
                .cloned()
                .unwrap_or((None, None));
            let removed_at = if offline {
                provider_removed.or_else(|| {
                    hist.iter()
                        .find(|o| o.offline)
                        .map(|o| o.checked_at.clone())
                })
            } else {
                None
            };
            let referred_at = delivery
                .map(|d| d.sent_at.clone())
                .unwrap_or_else(|| r.issued_at.clone());
            let seconds = match (
                removed_at.as_deref().and_then(parse_rfc3339),
                parse_rfc3339(&referred_at),
            ) {
                (Some(a), Some(b)) => Some((a - b).whole_seconds().max(0)),
                _ => None,
            };
            if let Some(s) = seconds {
                durations.push(s);
            }
            let overdue = r.kind == Kind::RemovalOrder
                && !offline
                && r.deadline_at
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .is_some_and(|d| now > d);
            if overdue {
                report.overdue.push(r.referral_id.clone());
            }
            bump(&mut report.by_host, &r.host, offline);
            bump(&mut report.by_category, &r.scenario_category, offline);
            report.overall.total += 1;
            if offline {
                report.overall.offline += 1;
            }
            report.items.push(ItemStatus {
                referral_id: r.referral_id.clone(),
                host: r.host.clone(),
                category: r.scenario_category.clone(),
                kind: r.kind,
                url: r.content_url.clone(),
                referred_at,
                http_status,
                error,
                offline,
                observed,
                removed_at,
                seconds_to_removal: seconds,
                deadline_at: r.deadline_at.clone(),
                overdue,
                provider_status,
            });
        }
    }
    finish_rates(&mut report.by_host);
    finish_rates(&mut report.by_category);
    let o = &mut report.overall;
    o.rate = if o.total == 0 {
        0.0
    } else {
        o.offline as f64 / o.total as f64
    };
    durations.sort_unstable();
    report.time_to_removal = Durations {
        count: durations.len(),
        median_s: durations
            .get(durations.len() / 2)
            .copied()
            .filter(|_| !durations.is_empty()),
        mean_s: (!durations.is_empty())
            .then(|| durations.iter().sum::<i64>() as f64 / durations.len() as f64),
        max_s: durations.last().copied(),
    };
    Ok(report)
}

/// The page a referred URL is on (the fragment dropped).
fn page_of(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

/// What a fetched page says about the referred `url`.
fn observe(f: &Fetched, url: &str) -> Observed {
    if matches!(f.status, 404 | 410) {
        return Observed::PageGone;
    }
    match (&f.ids, post_fragment(url)) {
        (Some(ids), Some(post)) if !ids.contains(&post) => Observed::PostRemoved,
        _ => Observed::Online,
    }
}

/// Markdown rendering of a status report.
pub fn render_markdown(r: &StatusReport) -> String {
    let mut s = format!(
        "# Referral status ({})\n\nOffline: {}/{} ({:.1}%)\n\n| host | referred | offline | rate |\n|---|---:|---:|---:|\n",
        r.checked_at,
        r.overall.offline,
        r.overall.total,
        100.0 * r.overall.rate
    );
    for (h, x) in &r.by_host {
        s.push_str(&format!(
            "| {h} | {} | {} | {:.1}% |\n",
            x.total,
            x.offline,
            100.0 * x.rate
        ));
    }
    s.push_str("\n| category | referred | offline | rate |\n|---|---:|---:|---:|\n");
    for (c, x) in &r.by_category {
        s.push_str(&format!(
            "| {c} | {} | {} | {:.1}% |\n",
            x.total,
            x.offline,
            100.0 * x.rate
        ));
    }
    let t = &r.time_to_removal;
    s.push_str(&format!(
        "\nTime from referral to removal: {} removed, median {}, mean {}, max {}\n",
        t.count,
        t.median_s
            .map(|x| format!("{x} s"))
            .unwrap_or_else(|| "-".into()),
        t.mean_s
            .map(|x| format!("{x:.0} s"))
            .unwrap_or_else(|| "-".into()),
        t.max_s
            .map(|x| format!("{x} s"))
            .unwrap_or_else(|| "-".into()),
    ));
    if r.overdue.is_empty() {
        s.push_str("\nNo overdue removal orders.\n");
    } else {
        s.push_str(&format!(
            "\nOverdue removal orders ({}):\n",
            r.overdue.len()
        ));
        for it in r.items.iter().filter(|i| i.overdue) {
            s.push_str(&format!(
                "- {} {} (deadline {})\n",
                it.referral_id,
                it.url,
                it.deadline_at.as_deref().unwrap_or("-")
            ));
        }
    }
    if r.errors > 0 {
        s.push_str(&format!(
            "\n{} request(s) failed; those items count as online.\n",
            r.errors
        ));
    }
    if !r.items.is_empty() {
        s.push_str(
            "\n| referral | host | category | provider says | observed | HTTP |\n|---|---|---|---|---|---:|\n",
        );
        for it in &r.items {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                md_cell(&it.referral_id),
                md_cell(&it.host),
                md_cell(&it.category),
                md_cell(it.provider_status.as_deref().unwrap_or("-")),
                it.observed.label(),
                it.http_status
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| "-".into()),
            ));
        }
        let disagree: BTreeSet<&str> = r
            .items
            .iter()
            .filter(|i| match i.provider_status.as_deref() {
                Some("removed") => !i.offline && i.observed != Observed::Error,
                Some("refused") | Some("pending") => i.offline,
                _ => false,
            })
            .map(|i| i.referral_id.as_str())
            .collect();
        if !disagree.is_empty() {
            s.push_str(&format!(
                "\nProvider status and observation disagree for {} item(s): {}\n",
                disagree.len(),
                disagree.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    s
}

/// A value safe inside a Markdown table cell (one line, no `|`).
fn md_cell(v: &str) -> String {
    v.chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_is_up_is_checked_for_the_post() {
        let (cp, _, _) = encoding_rs::WINDOWS_1251.encode(
            "<html><head><meta charset=\"windows-1251\"></head><body>\
             <div id=\"p1\"><a href=\"#p1\">#1</a> Привет</div>\
             <div id=\"пост2\">Ещё</div></body></html>",
        );
        let ids = element_ids(&cp, Some("text/html"));
        assert!(ids.contains("p1") && ids.contains("пост2"), "{ids:?}");
        let page = Fetched {
            status: 200,
            ids: Some(ids),
        };
        let u = "http://f.test/t/1/";
        assert_eq!(observe(&page, &format!("{u}#p1")), Observed::Online);
        assert_eq!(observe(&page, &format!("{u}#p2")), Observed::PostRemoved);
        assert_eq!(
            observe(&page, &format!("{u}#%D0%BF%D0%BE%D1%81%D1%822")),
            Observed::Online,
            "percent-encoded fragment"
        );
        assert_eq!(observe(&page, u), Observed::Online, "no fragment: the page");
        let not_read = Fetched {
            status: 200,
            ids: None,
        };
        assert_eq!(observe(&not_read, &format!("{u}#p2")), Observed::Online);
        for status in [404, 410] {
            let gone = Fetched { status, ids: None };
            assert_eq!(observe(&gone, &format!("{u}#p1")), Observed::PageGone);
        }
        assert!(Observed::PostRemoved.offline() && !Observed::Error.offline());
    }
}
