//! Scores referral bundles against `truth.jsonl`: precision, recall and F1 overall and per
//! category, language and host, each near-duplicate cluster counted once, plus the time from a
//! post's publication to its referral.
//!
//! Input: every file named `bundle.json` or `*.bundle.json` under the directory (or the file
//! itself), in the format of `docs/referral-format.md`: a JSON object with `items`, each item
//! carrying at least `referral_id` (`^[a-zA-Z0-9_-]+$`, unique) and `content_url`. Unknown fields
//! are ignored; missing or malformed required fields fail with `file: items[i].field: ...`.
//! Optional fields used when present: `scenario_category`, `content_language`,
//! `content_locator.post_id`, `issued_at` (item, else bundle).
//!
//! Counting: a truth post's unit is its cluster (`cluster`) or the post itself. A referral
//! matches a truth post by `content_url`, else by host + `content_locator.post_id`. A unit is a
//! true positive when any referral hits a violating post of it, a false positive when a referral
//! hits a benign post or no post at all; per-dimension rows count (unit, value) pairs, so a
//! cluster spread over two hosts counts once per host. Violating posts behind robots.txt
//! disallow rules are positives only when someone referred them (a polite crawler cannot see
//! them). Per category, false positives are attributed to the category the referral claims.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{Category, Label, Timestamp, TruthRecord, parse_rfc3339};
use crate::refer::ReferError;

/// Precision, recall, F1 with their counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prf {
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// tp / (tp + fp) (0 when nothing was referred).
    pub precision: f64,
    /// tp / (tp + fn) (0 when there was nothing to find).
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
}

impl Prf {
    fn from_sets(pred: &BTreeSet<String>, pos: &BTreeSet<String>) -> Prf {
        let tp = pred.intersection(pos).count() as u64;
        let fp = pred.len() as u64 - tp;
        let fn_ = pos.len() as u64 - tp;
        let precision = if tp + fp == 0 {
            0.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let recall = if tp + fn_ == 0 {
            0.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Prf {
            tp,
            fp,
            fn_,
            precision,
            recall,
            f1,
        }
    }
}

/// Time from publication to referral, over true-positive units (first referral of each).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Units with a known referral time.
    pub count: usize,
    /// Median hours.
    pub median_hours: Option<f64>,
    /// Mean hours.
    pub mean_hours: Option<f64>,
    /// Longest.
    pub max_hours: Option<f64>,
}

/// The score.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReferralScore {
    /// Bundle files read.
    pub bundles: Vec<PathBuf>,
    /// Referrals read.
    pub referrals: usize,
    /// Referrals that matched a truth post.
    pub matched: usize,
    /// Referrals of URLs not in the truth.
    pub unmatched: usize,
    /// Referrals whose unit was already referred (reposts of the same cluster, double entries).
    pub duplicate_referrals: usize,
    /// All units.
    pub overall: Prf,
    /// Per scenario category.
    pub by_category: BTreeMap<String, Prf>,
    /// Per language.
    pub by_lang: BTreeMap<String, Prf>,
    /// Per host.
    pub by_host: BTreeMap<String, Prf>,
    /// Share of true-positive referrals whose claimed category equals the truth category.
    pub category_agreement: Option<f64>,
    /// Publication to referral.
    pub time_to_referral: Latency,
}

/// One referral as read for scoring.
#[derive(Debug, Clone)]
struct Ref {
    url: String,
    post_id: Option<String>,
    category: Option<Category>,
    lang: Option<String>,
    issued_at: Option<Timestamp>,
}

fn find_bundles(path: &Path) -> Result<Vec<PathBuf>, ReferError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| ReferError::io(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| ReferError::io(&dir, e))?;
            let p = entry.path();
            let ft = entry.file_type().map_err(|e| ReferError::io(&p, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if ft.is_dir() && !name.starts_with('_') && !name.starts_with('.') {
                stack.push(p);
            } else if ft.is_file() && (name == "bundle.json" || name.ends_with(".bundle.json")) {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(ReferError::Target {
            path: path.to_path_buf(),
            message: "no bundle.json or *.bundle.json files found".into(),
        });
    }
    Ok(out)
}

fn opt_str<'a>(
    v: &'a serde_json::Value,
    key: &str,
    file: &Path,
    at: &str,
) -> Result<Option<&'a str>, ReferError> {
    match v.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ReferError::field(
            file,
            format!("{at}.{key}"),
            "must be a string",
        )),
    }
}

fn read_bundle(file: &Path, seen: &mut BTreeMap<String, String>) -> Result<Vec<Ref>, ReferError> {
    let bytes = std::fs::read(file).map_err(|e| ReferError::io(file, e))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ReferError::field(
            file,
            format!("line {} column {}", e.line(), e.column()),
            e.to_string(),
        )
    })?;
    let items = v
        .get("items")
        .and_then(|i| i.as_array())
        .ok_or_else(|| ReferError::field(file, "items", "missing or not an array"))?;
    let bundle_issued = match opt_str(&v, "issued_at", file, "")? {
        Some(s) => Some(parse_rfc3339(s).ok_or_else(|| {
            ReferError::field(file, "issued_at", format!("{s:?} is not RFC 3339"))
        })?),
        None => None,
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let at = format!("items[{i}]");
        if !it.is_object() {
            return Err(ReferError::field(file, at, "not an object"));
        }
        let rid = opt_str(it, "referral_id", file, &at)?
            .ok_or_else(|| ReferError::field(file, format!("{at}.referral_id"), "missing"))?;
        if !crate::refer::ids::is_valid_referral_id(rid) {
            return Err(ReferError::field(
                file,
                format!("{at}.referral_id"),
                format!("{rid:?} does not match ^[a-zA-Z0-9_-]+$"),
            ));
        }
        let here = format!("{}: {at}", file.display());
        if let Some(prev) = seen.insert(rid.to_string(), here) {
            return Err(ReferError::field(
                file,
                format!("{at}.referral_id"),
                format!("{rid:?} already used at {prev}"),
            ));
        }
        let url_s = opt_str(it, "content_url", file, &at)?
            .ok_or_else(|| ReferError::field(file, format!("{at}.content_url"), "missing"))?;
        let url = url::Url::parse(url_s).map_err(|e| {
            ReferError::field(file, format!("{at}.content_url"), format!("{url_s:?}: {e}"))
        })?;
        if url.host_str().is_none() {
            return Err(ReferError::field(
                file,
                format!("{at}.content_url"),
                format!("{url_s:?} has no host"),
            ));
        }
        let category = match opt_str(it, "scenario_category", file, &at)? {
            Some(c) => Some(
                c.parse::<Category>()
                    .map_err(|m| ReferError::field(file, format!("{at}.scenario_category"), m))?,
            ),
            None => None,
        };
        let issued_at = match opt_str(it, "issued_at", file, &at)? {
            Some(s) => Some(parse_rfc3339(s).ok_or_else(|| {
                ReferError::field(
                    file,
                    format!("{at}.issued_at"),
                    format!("{s:?} is not RFC 3339"),
                )
            })?),
            None => bundle_issued,
        };
        let post_id = match it.get("content_locator") {
            Some(loc) if loc.is_object() => {
                opt_str(loc, "post_id", file, &format!("{at}.content_locator"))?.map(String::from)
            }
            _ => None,
        };
        out.push(Ref {
            url: url.to_string(),
            post_id,
            category,
            lang: opt_str(it, "content_language", file, &at)?.map(|s| s.to_ascii_lowercase()),
            issued_at,
        });
    }
    Ok(out)
}

/// Reads `truth.jsonl`.
pub fn read_truth(path: &Path) -> Result<Vec<TruthRecord>, ReferError> {
    let text = std::fs::read_to_string(path).map_err(|e| ReferError::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: TruthRecord = serde_json::from_str(line).map_err(|e| {
            ReferError::field(
                path,
                format!("line {} column {}", i + 1, e.column()),
                e.to_string(),
            )
        })?;
        out.push(r);
    }
    Ok(out)
}

fn norm_url(s: &str) -> String {
    url::Url::parse(s)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// Scores the bundles under `bundle_dir` against the truth at `truth_path`.
pub fn score(truth_path: &Path, bundle_dir: &Path) -> crate::Result<ReferralScore> {
    let truth = read_truth(truth_path)?;
    let files = find_bundles(bundle_dir)?;
    let mut seen = BTreeMap::new();
    let mut refs = Vec::new();
    for f in &files {
        refs.extend(read_bundle(f, &mut seen)?);
    }
    Ok(score_refs(&truth, refs, files))
}

fn score_refs(truth: &[TruthRecord], refs: Vec<Ref>, files: Vec<PathBuf>) -> ReferralScore {
    let mut by_url: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_post: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, t) in truth.iter().enumerate() {
        by_url.insert(norm_url(&t.url), i);
        by_post.insert((t.host.to_ascii_lowercase(), t.post_id.0.clone()), i);
    }
    let unit = |t: &TruthRecord| match &t.cluster {
        Some(c) if !c.is_empty() => format!("cluster:{c}"),
        _ => format!("post:{}/{}", t.host, t.post_id),
    };
    let cat_of = |t: &TruthRecord| {
        t.category
            .map(|c| c.as_str().to_string())
            .unwrap_or_else(|| "none".into())
    };

    let mut s = ReferralScore {
        bundles: files,
        referrals: refs.len(),
        ..Default::default()
    };
    // Predicted keys per dimension.
    let mut pred: [BTreeSet<String>; 4] = Default::default();
    let mut pos: [BTreeSet<String>; 4] = Default::default();
    let mut hit_units = BTreeSet::new();
    let mut first_ref: BTreeMap<String, (Timestamp, Timestamp)> = BTreeMap::new(); // unit -> (referral, published)
    let (mut agree, mut claimed) = (0usize, 0usize);
    let mut referred_truth = BTreeSet::new();
    for r in &refs {
        let host = url::Url::parse(&r.url)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_default();
        let idx = by_url.get(&r.url).copied().or_else(|| {
            r.post_id
                .as_ref()
                .and_then(|p| by_post.get(&(host.clone(), p.clone())).copied())
        });
        match idx {
            Some(i) => {
                s.matched += 1;
                let t = &truth[i];
                referred_truth.insert(i);
                let u = unit(t);
                if !hit_units.insert(u.clone()) {
                    s.duplicate_referrals += 1;
                }
                let violating = t.label == Label::Violating;
                let cat = if violating {
                    cat_of(t)
                } else {
                    r.category
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_else(|| "none".into())
                };
                pred[0].insert(u.clone());
                pred[1].insert(format!("{u}\0{cat}"));
                pred[2].insert(format!("{u}\0{}", t.lang.code()));
                pred[3].insert(format!("{u}\0{}", t.host));
                if violating {
                    if let Some(c) = r.category {
                        claimed += 1;
                        if Some(c) == t.category {
                            agree += 1;
                        }
                    }
                    if let Some(at) = r.issued_at {
                        let e = first_ref.entry(u.clone()).or_insert((at, t.published));
                        if at < e.0 {
                            *e = (at, t.published);
                        }
                    }
                }
            }
            None => {
                s.unmatched += 1;
                let u = format!("url:{}", r.url);
                if !hit_units.insert(u.clone()) {
                    s.duplicate_referrals += 1;
                }
                let cat = r
                    .category
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "none".into());
                pred[0].insert(u.clone());
                pred[1].insert(format!("{u}\0{cat}"));
                pred[2].insert(format!(
                    "{u}\0{}",
                    r.lang.clone().unwrap_or_else(|| "und".into())
                ));
                pred[3].insert(format!("{u}\0{host}"));
            }
        }
    }
    for (i, t) in truth.iter().enumerate() {
        if t.label != Label::Violating || (t.robots_disallowed && !referred_truth.contains(&i)) {
            continue;
        }
        let u = unit(t);
        pos[0].insert(u.clone());
        pos[1].insert(format!("{u}\0{}", cat_of(t)));
        pos[2].insert(format!("{u}\0{}", t.lang.code()));
        pos[3].insert(format!("{u}\0{}", t.host));
    }
    s.overall = Prf::from_sets(&pred[0], &pos[0]);
    let split = |p: &BTreeSet<String>, q: &BTreeSet<String>| -> BTreeMap<String, Prf> {
        let mut values: BTreeSet<String> = BTreeSet::new();
        for k in p.iter().chain(q) {
            if let Some((_, v)) = k.split_once('\0') {
                values.insert(v.to_string());
            }
        }
        values
            .into_iter()
            .map(|v| {
                let suffix = format!("\0{v}");
                let pp: BTreeSet<String> =
                    p.iter().filter(|k| k.ends_with(&suffix)).cloned().collect();
                let qq: BTreeSet<String> =
                    q.iter().filter(|k| k.ends_with(&suffix)).cloned().collect();
                (v, Prf::from_sets(&pp, &qq))
            })
            .collect()
    };
    s.by_category = split(&pred[1], &pos[1]);
    s.by_lang = split(&pred[2], &pos[2]);
    s.by_host = split(&pred[3], &pos[3]);
    s.category_agreement = (claimed > 0).then(|| agree as f64 / claimed as f64);
    let mut hours: Vec<f64> = first_ref
        .iter()
        .filter(|(u, _)| pos[0].contains(*u))
        .map(|(_, (r, p))| ((*r - *p).whole_seconds() as f64 / 3600.0).max(0.0))
        .collect();
    hours.sort_by(f64::total_cmp);
    s.time_to_referral = Latency {
        count: hours.len(),
        median_hours: hours.get(hours.len() / 2).copied(),
        mean_hours: (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64),
        max_hours: hours.last().copied(),
    };
    s
}

fn row(name: &str, p: &Prf) -> String {
    format!(
        "| {name} | {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
        p.tp, p.fp, p.fn_, p.precision, p.recall, p.f1
    )
}

/// Markdown rendering.
pub fn render_markdown(s: &ReferralScore) -> String {
    let head =
        "| | tp | fp | fn | precision | recall | F1 |\n|---|---:|---:|---:|---:|---:|---:|\n";
    let mut out = format!(
        "# Referral score\n\n{} bundle file(s), {} referrals ({} matched the truth, {} unknown URLs, {} duplicates of an already referred cluster/post).\n\n{head}{}",
        s.bundles.len(),
        s.referrals,
        s.matched,
        s.unmatched,
        s.duplicate_referrals,
        row("**all**", &s.overall)
    );
    for (title, m) in [
        ("category", &s.by_category),
        ("language", &s.by_lang),
        ("host", &s.by_host),
    ] {
        out.push_str(&format!("\n## By {title}\n\n{head}"));
        for (k, p) in m {
            out.push_str(&row(k, p));
        }
    }
    if let Some(a) = s.category_agreement {
        out.push_str(&format!(
            "\nClaimed category equals the truth category for {:.1}% of true positives.\n",
            100.0 * a
        ));
    }
    let t = &s.time_to_referral;
    let f = |x: Option<f64>| x.map(|v| format!("{v:.2} h")).unwrap_or_else(|| "-".into());
    out.push_str(&format!(
        "\nPublication to referral ({} clusters/posts): median {}, mean {}, max {}.\n",
        t.count,
        f(t.median_hours),
        f(t.mean_hours),
        f(t.max_hours)
    ));
    out
}

/// JSON rendering (pretty).
pub fn render_json(s: &ReferralScore) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prf_counts_and_edge_cases() {
        let p = Prf::from_sets(&set(&["a", "b", "x"]), &set(&["a", "b", "c", "d"]));
        assert_eq!((p.tp, p.fp, p.fn_), (2, 1, 2));
        assert!((p.precision - 2.0 / 3.0).abs() < 1e-12 && (p.recall - 0.5).abs() < 1e-12);
        assert!((p.f1 - 4.0 / 7.0).abs() < 1e-12);
        let empty = Prf::from_sets(&set(&[]), &set(&[]));
        assert_eq!((empty.precision, empty.recall, empty.f1), (0.0, 0.0, 0.0));
    }
}
