//! Markdown rendering of an [`EvalReport`].

use std::fmt::Write;

use super::metrics::{Breakdown, EvalReport, Scores};

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "n/a".to_string())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn scores_row(out: &mut String, key: &str, posts: u64, s: &Scores) {
    let _ = writeln!(
        out,
        "| {} | {posts} | {} | {} | {} | {} | {} | {} |",
        cell(key),
        s.tp,
        s.fp,
        s.fn_,
        pct(s.precision),
        pct(s.recall),
        pct(s.f1)
    );
}

fn table(out: &mut String, title: &str, key: &str, rows: &[Breakdown]) {
    let _ = writeln!(out, "\n## {title}\n");
    let _ = writeln!(
        out,
        "| {key} | posts | TP | FP | FN | precision | recall | F1 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        scores_row(out, &r.key, r.posts, &r.scores);
    }
}

fn excerpt(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// The report as Markdown tables.
pub fn markdown(r: &EvalReport) -> String {
    let mut out = String::new();
    let t = &r.totals;
    let _ = writeln!(out, "# Evaluation\n");
    let _ = writeln!(
        out,
        "{} truth posts, {} evaluated ({} violating, {} benign); {} flagged items in the index, {} \
         of them matching no truth post (counted as false alarms).",
        t.truth_posts, t.evaluated, t.violating, t.benign, t.flagged_items, t.unmatched_items
    );
    let _ = writeln!(out, "\n## Overall\n");
    let _ = writeln!(
        out,
        "| scope | posts | TP | FP | FN | precision | recall | F1 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    scores_row(&mut out, "all", t.evaluated, &r.overall);
    let _ = writeln!(
        out,
        "\nRecall counting robots-disallowed violating posts as misses: {}.",
        pct(r.recall_including_disallowed)
    );
    let c = &r.coverage;
    let _ = writeln!(out, "\n## Crawl coverage\n");
    if !c.seen_log {
        let _ = writeln!(out, "No seen log: only indexed posts count as reached.\n");
    }
    let _ = writeln!(out, "| | reached | reachable | coverage |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    let ratio = |a: u64, b: u64| pct((b > 0).then(|| a as f64 / b as f64));
    let _ = writeln!(
        out,
        "| all posts | {} | {} | {} |",
        c.reached,
        c.reachable,
        pct(c.ratio)
    );
    let _ = writeln!(
        out,
        "| violating posts | {} | {} | {} |",
        c.reached_violating,
        c.reachable_violating,
        ratio(c.reached_violating, c.reachable_violating)
    );
    let _ = writeln!(
        out,
        "\n{} posts are disallowed by robots.txt (excluded); {} of them were reached anyway.",
        c.disallowed, c.disallowed_reached
    );
    table(&mut out, "By language", "lang", &r.by_lang);
    table(&mut out, "By category", "category", &r.by_category);
    let _ = writeln!(
        out,
        "\nA flagged post counts for its primary (highest-weight) predicted category only."
    );
    let _ = writeln!(out, "\n## By phenomenon\n");
    let _ = writeln!(
        out,
        "| phenomenon | posts | violating | benign | TP | FN | FP | recall | false-alarm rate | precision |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.by_phenomenon {
        let name = serde_json::to_value(p.phenomenon)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.posts,
            p.violating,
            p.benign,
            p.scores.tp,
            p.scores.fn_,
            p.scores.fp,
            pct(p.scores.recall),
            pct(p.false_alarm_rate),
            pct(p.scores.precision)
        );
    }
    let _ = writeln!(
        out,
        "\nPrecision is n/a where all posts with the phenomenon share one label (evasions are all \
         violating: read recall; hard negatives are all benign: read the false-alarm rate)."
    );
    table(&mut out, "By host", "host", &r.by_host);
    let _ = writeln!(out, "\n## Misses\n");
    let counts: Vec<String> = r
        .miss_counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let _ = writeln!(
        out,
        "{} (listed: not reached first, then below threshold by score, highest first).\n",
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    );
    if !r.misses.is_empty() {
        let _ = writeln!(
            out,
            "| post | lang | category | phenomena | reason | score | fired rules |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---:|---|");
        for m in &r.misses {
            let ph: Vec<String> = m
                .phenomena
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok()?.as_str().map(String::from))
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&m.url),
                m.lang,
                m.category.map(|c| c.as_str()).unwrap_or("-"),
                ph.join(", "),
                if m.reason == super::metrics::MissReason::NotReached {
                    "not reached"
                } else {
                    "below threshold"
                },
                m.score
                    .map(|s| format!("{s:.2}"))
                    .unwrap_or_else(|| "-".into()),
                cell(&m.fired.join(", "))
            );
        }
    }
    let _ = writeln!(out, "\n## False alarms\n");
    if r.false_alarms.is_empty() {
        let _ = writeln!(out, "none");
    } else {
        let _ = writeln!(
            out,
            "| post | lang | truth | score | fired rules: excerpts |"
        );
        let _ = writeln!(out, "|---|---|---|---:|---|");
        for a in &r.false_alarms {
            let truth = if a.in_truth {
                let ph: Vec<String> = a
                    .phenomena
                    .iter()
                    .filter_map(|p| serde_json::to_value(p).ok()?.as_str().map(String::from))
                    .collect();
                if ph.is_empty() {
                    "benign".to_string()
                } else {
                    format!("benign ({})", ph.join(", "))
                }
            } else {
                "not in truth".to_string()
            };
            let fired: Vec<String> = a
                .fired
                .iter()
                .map(|f| {
                    let ex: Vec<String> = f
                        .excerpts
                        .iter()
                        .map(|e| format!("\"{}\"", excerpt(e)))
                        .collect();
                    format!("{}: {}", f.rule, ex.join(" "))
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2} | {} |",
                cell(&a.url),
                a.lang,
                truth,
                a.score,
                cell(&fired.join("; "))
            );
        }
    }
    out
}
