//! `trawl search`: query the index with tantivy syntax, filters, facets and snippets.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, ValueEnum};
use serde_json::json;
use trawl::index::facets::Facets;
use trawl::index::{Filter, IndexStore, SearchRequest, SortBy};
use trawl::model::{Category, Lang, ReviewStatus, Timestamp, rfc3339};

/// Search flagged items.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Tantivy query syntax (`join rally`, `"crimson front"`, `march OR rally`, `-sports`,
    /// `title:rally`); terms are ANDed by default. Empty or `*` lists everything.
    #[arg(default_value = "")]
    pub query: String,
    /// Index directory.
    #[arg(long, env = "TRAWL_INDEX", default_value = "trawl-data/index")]
    pub index: PathBuf,
    /// Only these languages (ISO 639-1, repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub lang: Vec<String>,
    /// Only these categories.
    #[arg(long, value_delimiter = ',')]
    pub category: Vec<String>,
    /// Only these hosts.
    #[arg(long, value_delimiter = ',')]
    pub host: Vec<String>,
    /// Only items where one of these rules fired.
    #[arg(long, value_delimiter = ',')]
    pub rule: Vec<String>,
    /// Only these review statuses (pending, confirmed, rejected, escalated, referred).
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Only near-duplicate cluster keys.
    #[arg(long, value_delimiter = ',')]
    pub cluster: Vec<String>,
    /// Minimum classifier score.
    #[arg(long)]
    pub min_score: Option<f32>,
    /// Published at or after (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub since: Option<String>,
    /// Published at or before (RFC 3339 or YYYY-MM-DD, a date means the end of that day).
    #[arg(long)]
    pub until: Option<String>,
    /// Result order.
    #[arg(long, value_enum, default_value_t = Sort::Score)]
    pub sort: Sort,
    /// Print facet counts (category, lang, host, rule, status).
    #[arg(long)]
    pub facets: bool,
    /// Page size.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Hits to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Snippet length in characters.
    #[arg(long, default_value_t = 200)]
    pub snippet_chars: usize,
    /// Machine-readable output on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Result order.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Sort {
    /// Classifier score, highest first.
    Score,
    /// Publication time, newest first.
    Published,
    /// Text relevance (BM25).
    Relevance,
}

fn parse_time(s: &str, end_of_day: bool) -> anyhow::Result<Timestamp> {
    if let Some(t) = trawl::model::parse_rfc3339(s) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt)
        .with_context(|| format!("{s:?} is neither RFC 3339 nor YYYY-MM-DD"))?;
    let t = if end_of_day {
        time::Time::from_hms(23, 59, 59)?
    } else {
        time::Time::MIDNIGHT
    };
    Ok(d.with_time(t).assume_utc())
}

fn parse_all<T>(
    vals: &[String],
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<Vec<T>> {
    vals.iter()
        .filter(|v| !v.trim().is_empty())
        .map(|v| parse(v.trim()).map_err(anyhow::Error::msg))
        .collect()
}

fn parse_status(s: &str) -> Result<ReviewStatus, String> {
    serde_json::from_value(json!(s.to_ascii_lowercase())).map_err(|_| {
        format!("unknown status {s:?} (expected pending, confirmed, rejected, escalated, referred)")
    })
}

/// Builds the library request from the flags.
pub fn request(a: &Args) -> anyhow::Result<SearchRequest> {
    let filter = Filter {
        langs: parse_all(&a.lang, |s| s.parse::<Lang>())?,
        categories: parse_all(&a.category, |s| s.to_ascii_lowercase().parse::<Category>())?,
        hosts: a
            .host
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        rules: a
            .rule
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect(),
        statuses: parse_all(&a.status, parse_status)?,
        clusters: a.cluster.clone(),
        min_score: a.min_score,
        since: a
            .since
            .as_deref()
            .map(|s| parse_time(s, false))
            .transpose()
            .context("--since")?,
        until: a
            .until
            .as_deref()
            .map(|s| parse_time(s, true))
            .transpose()
            .context("--until")?,
    };
    Ok(SearchRequest {
        query: a.query.clone(),
        filter,
        sort: match a.sort {
            Sort::Score => SortBy::Score,
            Sort::Published => SortBy::Published,
            Sort::Relevance => SortBy::Relevance,
        },
        limit: a.limit,
        offset: a.offset,
        facets: a.facets,
        snippet_chars: a.snippet_chars,
    })
}

/// Opens an existing index (never creates one for a read command).
pub fn open_existing(dir: &std::path::Path) -> anyhow::Result<IndexStore> {
    if !dir.join("meta.json").exists() {
        bail!(
            "{}: no trawl index here (run `trawl scan --index {}` first)",
            dir.display(),
            dir.display()
        );
    }
    Ok(IndexStore::open_or_create(dir)?)
}

fn facets_json(f: &Facets) -> serde_json::Value {
    serde_json::to_value(f).unwrap_or(serde_json::Value::Null)
}

/// Runs `trawl search`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let req = request(&a)?;
    let store = open_existing(&a.index)?;
    let res = store.search(&req)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let hits: Vec<_> = res
            .hits
            .iter()
            .map(|h| {
                let it = &h.item;
                let rules: Vec<&str> = it.verdict.fired.iter().map(|f| f.rule.0.as_str()).collect();
                json!({
                    "id": it.id,
                    "url": it.post.url,
                    "host": it.post.host,
                    "site_kind": it.post.site_kind,
                    "thread": it.post.thread,
                    "author": it.post.author,
                    "published": it.post.published.map(rfc3339),
                    "lang": it.verdict.lang.lang,
                    "score": it.verdict.score,
                    "categories": it.verdict.categories,
                    "rules": rules,
                    "status": it.status,
                    "cluster": it.cluster,
                    "page_sha256": it.page_sha256,
                    "relevance": h.relevance,
                    "snippet": {
                        "html": h.snippet.to_html(),
                        "text": h.snippet.fragment,
                        "highlights": h.snippet.highlights,
                    },
                })
            })
            .collect();
        let doc = json!({
            "query": req.query,
            "total": res.total,
            "offset": req.offset,
            "limit": req.limit,
            "sort": req.sort,
            "hits": hits,
            "facets": res.facets.as_ref().map(facets_json),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (open, close) = if std::io::stdout().is_terminal() {
        ("\x1b[1;33m", "\x1b[0m")
    } else {
        ("[[", "]]")
    };
    let shown_to = req.offset + res.hits.len();
    if res.hits.is_empty() {
        writeln!(out, "{} items match (none on this page)", res.total)?;
    } else {
        writeln!(
            out,
            "{} items match; {}-{} by {:?}:",
            res.total,
            req.offset + 1,
            shown_to,
            a.sort
        )?;
    }
    for (i, h) in res.hits.iter().enumerate() {
        let it = &h.item;
        let cats: Vec<&str> = it.verdict.categories.iter().map(|c| c.as_str()).collect();
        writeln!(
            out,
            "\n{:>3}. {:.2}  {}  {}  {}  {}  {}",
            req.offset + i + 1,
            it.verdict.score,
            if cats.is_empty() {
                "-".to_string()
            } else {
                cats.join(",")
            },
            it.verdict.lang.lang,
            it.post.host,
            it.status,
            it.post.published.map(rfc3339).unwrap_or_else(|| "-".into()),
        )?;
        writeln!(
            out,
            "     {}  (id {}, cluster {})",
            it.post.url, it.id, it.cluster
        )?;
        let snippet = h.snippet.marked(open, close).replace(['\n', '\r'], " ");
        writeln!(out, "     {snippet}")?;
    }
    if let Some(f) = &res.facets {
        writeln!(out, "\nFacets:")?;
        for (name, list) in [
            ("category", &f.category),
            ("lang", &f.lang),
            ("host", &f.host),
            ("rule", &f.rule),
            ("status", &f.status),
        ] {
            let parts: Vec<String> = list
                .iter()
                .map(|c| format!("{} {}", c.value, c.count))
                .collect();
            writeln!(
                out,
                "  {name:<9} {}",
                if parts.is_empty() {
                    "-".into()
                } else {
                    parts.join(", ")
                }
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
