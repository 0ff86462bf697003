//! Precision, recall and F1 over the joined rows, overall and per language, category,
//! phenomenon and host; crawl coverage; misses and false alarms with their explanations.
//!
//! The evaluated set is every truth post a polite crawler may reach (not `robots_disallowed`)
//! plus any disallowed post that was reached anyway; flagged items that match no truth post are
//! false alarms. Per category, a flagged post counts for its PRIMARY predicted category (the
//! first of `Verdict::categories`, highest summed weight), so a detected post with the wrong
//! category is a miss of its true category and a false alarm of the predicted one; secondary
//! categories are not counted (they would make every multi-rule post a false alarm somewhere). Per phenomenon, posts with an evasion phenomenon are all violating and
//! hard-negative posts all benign, so precision is undefined there: the table gives recall for
//! the former and the false-alarm rate for the latter.

use std::collections::BTreeMap;

use serde::Serialize;

use super::join::{Joined, Row};
use crate::model::{Category, Item, Label, Phenomenon};

/// Confusion counts and the derived scores (None where the denominator is 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Violating and flagged.
    pub tp: u64,
    /// Flagged but not violating (or not in the truth).
    pub fp: u64,
    /// Violating but not flagged.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Benign and not flagged.
    pub tn: u64,
    /// tp / (tp + fp).
    pub precision: Option<f64>,
    /// tp / (tp + fn).
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
}

impl Scores {
    fn add(&mut self, violating: bool, predicted: bool) {
        match (violating, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn finish(mut self) -> Self {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                None
            } else {
                Some(a as f64 / b as f64)
            }
        };
        self.precision = ratio(self.tp, self.tp + self.fp);
        self.recall = ratio(self.tp, self.tp + self.fn_);
        self.f1 = match (self.precision, self.recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        self
    }
}

/// One row of a breakdown table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    /// The language code, category, host, ...
    pub key: String,
    /// Evaluated truth posts in this group.
    pub posts: u64,
    /// Scores.
    #[serde(flatten)]
    pub scores: Scores,
}

/// One row of the per-phenomenon table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhenomenonRow {
    /// The phenomenon (`leet`, `neg_news`, ...).
    pub phenomenon: Phenomenon,
    /// Evaluated posts carrying it.
    pub posts: u64,
    /// Of which violating.
    pub violating: u64,
    /// Of which benign.
    pub benign: u64,
    /// Scores (precision is None unless both labels occur).
    #[serde(flatten)]
    pub scores: Scores,
    /// fp / benign, for hard negatives.
    pub false_alarm_rate: Option<f64>,
}

/// How much of the reachable truth the crawl saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Whether a seen log was available (without it only indexed posts count as reached).
    pub seen_log: bool,
    /// Truth posts not disallowed by robots.txt.
    pub reachable: u64,
    /// Of those, reached.
    pub reached: u64,
    /// reached / reachable.
    pub ratio: Option<f64>,
    /// Violating reachable posts.
    pub reachable_violating: u64,
    /// Of those, reached.
    pub reached_violating: u64,
    /// Posts robots.txt disallows.
    pub disallowed: u64,
    /// Disallowed posts that were reached anyway (a politeness violation).
    pub disallowed_reached: u64,
}

/// Why a violating post was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissReason {
    /// The crawl never reached the post.
    NotReached,
    /// Reached and classified, score below the threshold.
    BelowThreshold,
}

/// A missed violating post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    /// Host.
    pub host: String,
    /// Post id.
    pub post_id: String,
    /// Permalink.
    pub url: String,
    /// Truth language.
    pub lang: String,
    /// Truth category.
    pub category: Option<Category>,
    /// Truth phenomena.
    pub phenomena: Vec<Phenomenon>,
    /// Why.
    pub reason: MissReason,
    /// Classifier score, when reached.
    pub score: Option<f32>,
    /// Rules that fired without reaching the threshold.
    pub fired: Vec<String>,
}

/// A matched excerpt that made a rule fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredExplanation {
    /// Rule id.
    pub rule: String,
    /// Category of the rule.
    pub category: Category,
    /// Original-text excerpts of its matches.
    pub excerpts: Vec<String>,
}

/// A flagged post that is not violating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseAlarm {
    /// Host.
    pub host: String,
    /// Post id.
    pub post_id: String,
    /// Permalink.
    pub url: String,
    /// Language the classifier used.
    pub lang: String,
    /// Whether the post is in the truth at all.
    pub in_truth: bool,
    /// Truth phenomena (the hard-negative kind).
    pub phenomena: Vec<Phenomenon>,
    /// Score.
    pub score: f32,
    /// Predicted categories.
    pub categories: Vec<Category>,
    /// Fired rules with their excerpts.
    pub fired: Vec<FiredExplanation>,
}

/// Totals of the inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Truth posts.
    pub truth_posts: u64,
    /// Evaluated truth posts (reachable or reached).
    pub evaluated: u64,
    /// Violating evaluated posts.
    pub violating: u64,
    /// Benign evaluated posts.
    pub benign: u64,
    /// Flagged items in the index.
    pub flagged_items: u64,
    /// Flagged items matching no truth post.
    pub unmatched_items: u64,
}

/// The whole evaluation (the `--json` schema, `format` 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Schema version of this report.
    pub format: u32,
    /// Input totals.
    pub totals: Totals,
    /// Overall scores.
    pub overall: Scores,
    /// Recall counting robots-disallowed violating posts as misses too.
    pub recall_including_disallowed: Option<f64>,
    /// Crawl coverage.
    pub coverage: Coverage,
    /// By truth language.
    pub by_lang: Vec<Breakdown>,
    /// By category (primary predicted category, see module docs).
    pub by_category: Vec<Breakdown>,
    /// By phenomenon.
    pub by_phenomenon: Vec<PhenomenonRow>,
    /// By host.
    pub by_host: Vec<Breakdown>,
    /// Misses by reason.
    pub miss_counts: BTreeMap<String, u64>,
    /// The worst misses: not reached first, then below threshold by score, highest first.
    pub misses: Vec<Miss>,
    /// The worst false alarms, by score, highest first.
    pub false_alarms: Vec<FalseAlarm>,
}

fn breakdown(groups: BTreeMap<String, (u64, Scores)>) -> Vec<Breakdown> {
    groups
        .into_iter()
        .map(|(key, (posts, s))| Breakdown {
            key,
            posts,
            scores: s.finish(),
        })
        .collect()
}

fn fired_names(row: &Row) -> Vec<String> {
    if let Some(item) = &row.item {
        return item
            .verdict
            .fired
            .iter()
            .map(|f| f.rule.0.clone())
            .collect();
    }
    row.seen
        .as_ref()
        .map(|s| s.fired.iter().map(|r| r.0.clone()).collect())
        .unwrap_or_default()
}

fn false_alarm(item: &Item, phenomena: Vec<Phenomenon>, in_truth: bool) -> FalseAlarm {
    FalseAlarm {
        host: item.post.host.clone(),
        post_id: item.post.post_id.0.clone(),
        url: item.post.url.clone(),
        lang: item.verdict.lang.lang.code().to_string(),
        in_truth,
        phenomena,
        score: item.verdict.score,
        categories: item.verdict.categories.clone(),
        fired: item
            .verdict
            .fired
            .iter()
            .map(|f| FiredExplanation {
                rule: f.rule.0.clone(),
                category: f.category,
                excerpts: f.matches.iter().map(|m| m.excerpt.clone()).collect(),
            })
            .collect(),
    }
}

/// Computes the report; `top` bounds the misses and false-alarm lists.
pub fn evaluate(joined: &Joined, seen_log: bool, flagged_items: u64, top: usize) -> EvalReport {
    let mut totals = Totals {
        truth_posts: joined.rows.len() as u64,
        flagged_items,
        unmatched_items: joined.unmatched.len() as u64,
        ..Totals::default()
    };
    let mut overall = Scores::default();
    let mut coverage = Coverage {
        seen_log,
        ..Coverage::default()
    };
    let mut by_lang: BTreeMap<String, (u64, Scores)> = BTreeMap::new();
    let mut by_host: BTreeMap<String, (u64, Scores)> = BTreeMap::new();
    let mut by_cat: BTreeMap<String, (u64, Scores)> = Category::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), (0, Scores::default())))
        .collect();
    let mut by_ph: BTreeMap<Phenomenon, PhenomenonRow> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut alarms = Vec::new();
    let mut violating_all = 0u64;
    for row in &joined.rows {
        let t = &row.truth;
        let violating = t.label == Label::Violating;
        violating_all += u64::from(violating);
        let reached = row.reached();
        if t.robots_disallowed {
            coverage.disallowed += 1;
            coverage.disallowed_reached += u64::from(reached);
            if !reached {
                continue;
            }
        } else {
            coverage.reachable += 1;
            coverage.reached += u64::from(reached);
            coverage.reachable_violating += u64::from(violating);
            coverage.reached_violating += u64::from(violating && reached);
        }
        let predicted = row.predicted();
        totals.evaluated += 1;
        totals.violating += u64::from(violating);
        totals.benign += u64::from(!violating);
        overall.add(violating, predicted);
        for (map, k) in [
            (&mut by_lang, t.lang.code().to_string()),
            (&mut by_host, t.host.clone()),
        ] {
            let e = map.entry(k).or_default();
            e.0 += 1;
            e.1.add(violating, predicted);
        }
        let primary: Option<Category> = if predicted {
            row.item
                .as_ref()
                .and_then(|i| i.verdict.categories.first().copied())
                .or_else(|| {
                    row.seen
                        .as_ref()
                        .and_then(|s| s.categories.first().copied())
                })
        } else {
            None
        };
        for c in Category::ALL {
            let truth_c = violating && t.category == Some(c);
            let pred_c = primary == Some(c);
            if truth_c || pred_c {
                let e = by_cat.entry(c.as_str().to_string()).or_default();
                e.0 += u64::from(truth_c);
                e.1.add(truth_c, pred_c);
            }
        }
        for &p in &t.phenomena {
            let r = by_ph.entry(p).or_insert_with(|| PhenomenonRow {
                phenomenon: p,
                posts: 0,
                violating: 0,
                benign: 0,
                scores: Scores::default(),
                false_alarm_rate: None,
            });
            r.posts += 1;
            r.violating += u64::from(violating);
            r.benign += u64::from(!violating);
            r.scores.add(violating, predicted);
        }
        if violating && !predicted {
            misses.push(Miss {
                host: t.host.clone(),
                post_id: t.post_id.0.clone(),
                url: t.url.clone(),
                lang: t.lang.code().to_string(),
                category: t.category,
                phenomena: t.phenomena.clone(),
                reason: if reached {
                    MissReason::BelowThreshold
                } else {
                    MissReason::NotReached
                },
                score: row.score(),
                fired: fired_names(row),
            });
        }
        if !violating && predicted {
            if let Some(item) = &row.item {
                alarms.push(false_alarm(item, t.phenomena.clone(), true));
            }
        }
    }
    for item in &joined.unmatched {
        overall.fp += 1;
        by_host
            .entry(item.post.host.clone())
            .or_default()
            .1
            .add(false, true);
        by_lang
            .entry(item.verdict.lang.lang.code().to_string())
            .or_default()
            .1
            .add(false, true);
        if let Some(c) = item.verdict.categories.first() {
            by_cat
                .entry(c.as_str().to_string())
                .or_default()
                .1
                .add(false, true);
        }
        alarms.push(false_alarm(item, Vec::new(), false));
    }
    coverage.ratio =
        (coverage.reachable > 0).then(|| coverage.reached as f64 / coverage.reachable as f64);
    let overall = overall.finish();
    let recall_including_disallowed =
        (violating_all > 0).then(|| overall.tp as f64 / violating_all as f64);
    let by_phenomenon = by_ph
        .into_values()
        .map(|mut r| {
            r.scores = r.scores.finish();
            if r.violating == 0 || r.benign == 0 {
                r.scores.precision = None;
                r.scores.f1 = None;
            }
            r.false_alarm_rate = (r.benign > 0).then(|| r.scores.fp as f64 / r.benign as f64);
            r
        })
        .collect();
    let mut miss_counts = BTreeMap::new();
    for m in &misses {
        let k = serde_json::to_value(m.reason)
            .ok()
            .and_then(|v| v.as_str().map(String::from));
        *miss_counts.entry(k.unwrap_or_default()).or_insert(0) += 1;
    }
    misses.sort_by(|a, b| {
        a.reason
            .cmp(&b.reason)
            .then(b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)))
            .then_with(|| (&a.host, &a.post_id).cmp(&(&b.host, &b.post_id)))
    });
    misses.truncate(top);
    alarms.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| (&a.host, &a.post_id).cmp(&(&b.host, &b.post_id)))
    });
    alarms.truncate(top);
    EvalReport {
        format: 1,
        totals,
        overall,
        recall_including_disallowed,
        coverage,
        by_lang: breakdown(by_lang),
        by_category: breakdown(by_cat),
        by_phenomenon,
        by_host: breakdown(by_host),
        miss_counts,
        misses,
        false_alarms: alarms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_handle_empty_denominators() {
        let s = Scores::default().finish();
        assert_eq!((s.precision, s.recall, s.f1), (None, None, None));
        let mut s = Scores::default();
        s.add(true, true);
        s.add(true, false);
        s.add(false, true);
        s.add(false, false);
        let s = s.finish();
        assert_eq!(s.precision, Some(0.5));
        assert_eq!(s.recall, Some(0.5));
        assert_eq!(s.f1, Some(0.5));
    }
}
