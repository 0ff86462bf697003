//! Human-readable explanations: why a post was (not) flagged, and what a rule is for
//! (`trawl rules explain ID`, in the manner of ruff's rule docs).

use std::fmt::Write;

use super::compile::Compiled;
use crate::model::Verdict;

/// A multi-line explanation of a verdict, quoting the original text of every match.
pub fn explain_verdict(v: &Verdict, threshold: f32) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} score {:.3} (threshold {:.2}) {} | lang {} ({} {:.2}{})",
        v.post_id,
        v.score,
        threshold,
        if v.flagged { "FLAGGED" } else { "not flagged" },
        v.lang.lang,
        v.lang.method,
        v.lang.confidence,
        v.lang
            .script
            .as_deref()
            .map(|x| format!(", {x}"))
            .unwrap_or_default()
    );
    if v.fired.is_empty() {
        let _ = writeln!(s, "  no rule fired");
    }
    for f in &v.fired {
        let _ = writeln!(s, "  rule {} [{} w={:.2}]", f.rule, f.category, f.weight);
        for m in &f.matches {
            let _ = writeln!(
                s,
                "    bytes:{}..{} {:?} (lexicon {}, term {:?})",
                m.span.start, m.span.end, m.excerpt, m.lexicon, m.term
            );
        }
    }
    s
}

/// The documentation of one rule, or `None` if no rule has this id.
pub fn explain_rule(c: &Compiled, id: &str) -> Option<String> {
    let r = c.rules.iter().find(|r| r.id == id)?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}, weight {:.2}) — defined at {}",
        r.id, r.category, r.weight, r.pos
    );
    if !r.description.is_empty() {
        let _ = writeln!(s, "\n{}", r.description);
    }
    if !r.why.is_empty() {
        let _ = writeln!(s, "\nWhy: {}", r.why);
    }
    let _ = writeln!(s, "\nCondition: {}", r.when);
    let mut names: Vec<u32> = Vec::new();
    collect_lex(&r.cond, &mut names);
    names.sort_unstable();
    names.dedup();
    let _ = writeln!(s, "\nLexicons:");
    for l in names {
        let lx = &c.lexicons[l as usize];
        let _ = writeln!(
            s,
            "  {}{} ({} terms): {}{}",
            lx.name,
            if lx.exception { " [exception]" } else { "" },
            lx.terms,
            lx.sample.join(", "),
            if lx.terms > lx.sample.len() {
                ", ..."
            } else {
                ""
            }
        );
        if !lx.description.is_empty() {
            let _ = writeln!(s, "    {}", lx.description);
        }
    }
    if !r.matches.is_empty() {
        let _ = writeln!(s, "\nFires on:");
        for (m, _) in &r.matches {
            let _ = writeln!(s, "  + {m}");
        }
    }
    if !r.no_matches.is_empty() {
        let _ = writeln!(s, "\nDoes not fire on:");
        for (m, _) in &r.no_matches {
            let _ = writeln!(s, "  - {m}");
        }
    }
    if !r.false_positives.is_empty() {
        let _ = writeln!(s, "\nKnown false positives:");
        for m in &r.false_positives {
            let _ = writeln!(s, "  ! {m}");
        }
    }
    let _ = writeln!(s, "\nPack threshold: {:.2}", c.threshold);
    Some(s)
}

fn collect_lex(c: &super::pack::Cond<u32>, out: &mut Vec<u32>) {
    use super::pack::Cond;
    match c {
        Cond::Lex(l) => out.push(*l),
        Cond::Near { a, b, .. } => out.extend([*a, *b]),
        Cond::Count { lex, .. } | Cond::Quoted(lex) => out.push(*lex),
        Cond::Free { a, b, .. } => out.extend([*a, *b]),
        Cond::Not(x) => collect_lex(x, out),
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|x| collect_lex(x, out)),
        Cond::Lang(_) => {}
    }
}
