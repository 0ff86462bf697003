//! Conditions evaluated over lexicon matches, and the verdict: score = 1 - prod(1 - weight) over
//! fired rules, categories by summed weight, evidence spans on the ORIGINAL text.

use super::compile::{CRule, Compiled};
use super::matcher::{Hit, MatchScratch};
use super::pack::Cond;
use crate::classify::text::{Analyzer, LOW_CONFIDENCE, script_of_lang};
use crate::model::{Category, FiredRule, LangDecision, Match, Span};

/// Max evidence matches reported per rule.
const MAX_EVIDENCE: usize = 8;

struct Ctx<'a> {
    by_lex: &'a [Vec<Hit>],
    c: &'a Compiled,
    d: &'a LangDecision,
}

fn near(a: &[Hit], b: &[Hit], n: u32, ordered: bool, same: bool) -> bool {
    for x in a {
        for y in b {
            if same && x == y {
                continue;
            }
            let ok = if y.start >= x.end {
                y.start - x.end <= n
            } else if ordered {
                false
            } else if x.start >= y.end {
                x.start - y.end <= n
            } else {
                true // overlapping
            };
            if ok {
                return true;
            }
        }
    }
    false
}

fn eval(cond: &Cond<u32>, k: &Ctx<'_>) -> bool {
    match cond {
        Cond::Lex(l) => !k.by_lex[*l as usize].is_empty(),
        Cond::Not(x) => !eval(x, k),
        Cond::And(v) => v.iter().all(|x| eval(x, k)),
        Cond::Or(v) => v.iter().any(|x| eval(x, k)),
        Cond::Near { a, b, n, ordered } => near(
            &k.by_lex[*a as usize],
            &k.by_lex[*b as usize],
            *n,
            *ordered,
            a == b,
        ),
        Cond::Count { lex, op, k: n } => op.apply(k.by_lex[*lex as usize].len() as u32, *n),
        Cond::Lang(ls) => {
            if ls.contains(&k.d.lang) {
                return true;
            }
            // Uncertain decision: any pack language of the same script may be the real one.
            k.d.confidence < LOW_CONFIDENCE
                && ls.iter().any(|l| {
                    k.c.languages.contains(l) && script_of_lang(*l) == script_of_lang(k.d.lang)
                })
        }
    }
}

/// The rules that fire on the matched post, with evidence.
pub fn fire(
    c: &Compiled,
    an: &Analyzer,
    original: &str,
    d: &LangDecision,
    s: &MatchScratch,
    cand: &mut Vec<u32>,
) -> Vec<FiredRule> {
    cand.clear();
    for (li, hits) in s.by_lexicon.iter().enumerate() {
        if !hits.is_empty() {
            cand.extend_from_slice(&c.rules_by_lexicon[li]);
        }
    }
    cand.extend_from_slice(&c.always);
    cand.sort_unstable();
    cand.dedup();
    let k = Ctx {
        by_lex: &s.by_lexicon,
        c,
        d,
    };
    let mut fired = Vec::new();
    for &ri in cand.iter() {
        let r = &c.rules[ri as usize];
        if eval(&r.cond, &k) {
            fired.push(FiredRule {
                rule: crate::model::RuleId(r.id.clone()),
                category: r.category,
                weight: r.weight,
                matches: evidence(c, r, an, original, &s.by_lexicon),
            });
        }
    }
    fired
}

fn evidence(
    c: &Compiled,
    r: &CRule,
    an: &Analyzer,
    original: &str,
    by_lex: &[Vec<Hit>],
) -> Vec<Match> {
    let mut out = Vec::new();
    for &l in &r.evidence {
        for h in &by_lex[l as usize] {
            if out.len() >= MAX_EVIDENCE {
                return out;
            }
            let (Some(a), Some(b)) = (
                an.toks.get(h.start as usize),
                an.toks.get(h.end as usize - 1),
            ) else {
                continue;
            };
            let (s, _) = an
                .normalized
                .text
                .original(a.start as usize, a.end as usize);
            let (_, e) = an
                .normalized
                .text
                .original(b.start as usize, b.end as usize);
            let excerpt = original.get(s..e).unwrap_or("").to_string();
            out.push(Match {
                span: Span { start: s, end: e },
                excerpt,
                lexicon: c.lexicons[l as usize].name.clone(),
                term: c.terms[h.term as usize].raw.clone(),
            });
        }
    }
    out
}

/// 1 - prod(1 - w), and categories by descending summed weight.
pub fn score(fired: &[FiredRule]) -> (f32, Vec<Category>) {
    let mut keep = 1.0f32;
    let mut sums: Vec<(Category, f32)> = Vec::new();
    for f in fired {
        keep *= 1.0 - f.weight.clamp(0.0, 1.0);
        match sums.iter_mut().find(|(c, _)| *c == f.category) {
            Some((_, s)) => *s += f.weight,
            None => sums.push((f.category, f.weight)),
        }
    }
    sums.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    (
        (1.0 - keep).clamp(0.0, 1.0),
        sums.into_iter().map(|x| x.0).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RuleId;

    fn fr(w: f32, c: Category) -> FiredRule {
        FiredRule {
            rule: RuleId("r".into()),
            category: c,
            weight: w,
            matches: vec![],
        }
    }

    #[test]
    fn score_is_noisy_or() {
        let (s, cats) = score(&[
            fr(0.5, Category::Threat),
            fr(0.5, Category::Propaganda),
            fr(0.2, Category::Threat),
        ]);
        assert!((s - 0.8).abs() < 1e-6);
        assert_eq!(cats, vec![Category::Threat, Category::Propaganda]);
        assert_eq!(score(&[]).0, 0.0);
    }
}
