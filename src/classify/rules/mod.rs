//! Rule packs: TOML files analysts write (format: `rules/README.md`), parsed with positions
//! ([`parse`]), checked and compiled into automata ([`compile`]), matched against a post
//! ([`matcher`]), scored ([`score`]) and explained ([`explain`]).
//!
//! Several files given together form one pack (one lexicon namespace), so a pack can be split
//! into an organisation file and per-language cue files.

pub mod brief;
pub mod compile;
pub mod explain;
pub mod matcher;
pub mod pack;
pub mod parse;
pub mod score;

use std::path::{Path, PathBuf};

use crate::classify::ClassifyError;
use crate::classify::text::{Analyzer, detect_mixed};
use crate::model::{Post, Verdict};

pub use compile::Compiled;
pub use pack::{PackDef, Pos, Problem, Severity, Source};

/// The shipped packs for the default scenario, embedded.
pub const DEFAULT_PACKS: &[(&str, &str)] = &[
    (
        "<embedded>/rules/default/organisation.toml",
        include_str!("../../../rules/default/organisation.toml"),
    ),
    (
        "<embedded>/rules/default/exceptions.toml",
        include_str!("../../../rules/default/exceptions.toml"),
    ),
    (
        "<embedded>/rules/default/cues.toml",
        include_str!("../../../rules/default/cues.toml"),
    ),
    (
        "<embedded>/rules/default/rules.toml",
        include_str!("../../../rules/default/rules.toml"),
    ),
];

/// A compiled set of rule packs. `Send + Sync`: build once, share between workers.
#[derive(Debug)]
pub struct Classifier {
    compiled: Compiled,
}

/// Per-worker buffers: normaliser, tokens, stem cache, haystacks. One per rayon worker.
#[derive(Debug, Default)]
pub struct Scratch {
    an: Analyzer,
    ms: matcher::MatchScratch,
    cand: Vec<u32>,
    seg: score::Segments,
    paras: Vec<matcher::ParaLang>,
}

/// An inline example that did not behave as declared.
#[derive(Debug, Clone)]
pub struct ExampleFailure {
    /// Rule id.
    pub rule: String,
    /// Where the example is.
    pub pos: Pos,
    /// The example text.
    pub text: String,
    /// `true`: should have fired and did not; `false`: fired and should not have.
    pub expected_fire: bool,
    /// The verdict explanation.
    pub explanation: String,
}

/// Reads pack files (a directory means every `*.toml` in it, sorted).
pub fn read_sources(paths: &[PathBuf]) -> crate::Result<Vec<Source>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| io(p, e))?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| io(&f, e))?;
        out.push(Source::new(f.display().to_string(), text));
    }
    Ok(out)
}

fn io(p: &Path, e: std::io::Error) -> crate::Error {
    ClassifyError::Io {
        path: p.to_path_buf(),
        source: e,
    }
    .into()
}

/// Parses and compiles sources; returns every problem found, and the classifier if no errors.
pub fn check_sources(sources: &[Source]) -> (Option<Classifier>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut def = PackDef::default();
    for s in sources {
        parse::parse_file(s, &mut def, &mut problems);
    }
    let parse_errors = problems.iter().any(|p| p.severity == Severity::Error);
    let compiled = compile::compile(&def, &mut problems);
    problems.sort_by(|a, b| {
        (a.pos.file.as_str(), a.pos.line, a.pos.col).cmp(&(
            b.pos.file.as_str(),
            b.pos.line,
            b.pos.col,
        ))
    });
    problems.dedup();
    match compiled {
        Some(c) if !parse_errors => (Some(Classifier { compiled: c }), problems),
        _ => (None, problems),
    }
}

impl Classifier {
    /// Loads and compiles packs from files or directories of `*.toml` (one namespace).
    pub fn from_paths(paths: &[PathBuf]) -> crate::Result<Classifier> {
        let sources = read_sources(paths)?;
        Self::from_sources(&sources)
    }

    /// Compiles already read sources; errors list every problem with file:line:column.
    pub fn from_sources(sources: &[Source]) -> crate::Result<Classifier> {
        let (c, problems) = check_sources(sources);
        match c {
            Some(c) => Ok(c),
            None => Err(ClassifyError::Pack {
                problems: problems
                    .into_iter()
                    .filter(|p| p.severity == Severity::Error)
                    .collect(),
            }
            .into()),
        }
    }

    /// The embedded default packs (`rules/default/*.toml`).
    pub fn default_packs() -> crate::Result<Classifier> {
        Self::from_sources(&default_sources())
    }

    /// Fresh per-worker buffers.
    pub fn new_scratch(&self) -> Scratch {
        Scratch::default()
    }

    /// The compiled pack (rules, lexicons, threshold).
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// The pack threshold.
    pub fn threshold(&self) -> f32 {
        self.compiled.threshold
    }

    /// Classifies one post.
    pub fn classify(&self, post: &Post, s: &mut Scratch) -> Verdict {
        let c = &self.compiled;
        let (d, mixed) = detect_mixed(&post.text, post.lang_hint);
        s.paras.clear();
        if mixed {
            matcher::paragraph_langs(&post.text, post.lang_hint, &d, &mut s.paras);
        }
        s.an.prepare(&post.text);
        matcher::match_post(c, &mut s.an, &d, &s.paras, &mut s.ms);
        let fired = score::fire(c, &s.an, &post.text, &d, &s.ms, &mut s.cand, &mut s.seg);
        let (sc, categories) = score::score(&fired);
        Verdict {
            post_id: post.post_id.clone(),
            url: post.url.clone(),
            flagged: !fired.is_empty() && sc >= c.threshold,
            score: sc,
            categories,
            fired,
            lang: d,
        }
    }

    /// Classifies a bare text (examples, tests).
    pub fn classify_text(&self, text: &str, s: &mut Scratch) -> Verdict {
        let post = Post::from_text(text, None);
        self.classify(&post, s)
    }

    /// A human-readable explanation of a verdict.
    pub fn explain(&self, v: &Verdict) -> String {
        explain::explain_verdict(v, self.compiled.threshold)
    }

    /// Like [`Classifier::explain`], plus every lexicon match of the post just classified with
    /// `s` (exception lexicons included), so an analyst sees why a rule did NOT fire.
    pub fn explain_with_matches(&self, v: &Verdict, s: &Scratch, text: &str) -> String {
        let mut out = self.explain(v);
        let c = &self.compiled;
        let mut lines = Vec::new();
        for (li, hits) in s.ms.by_lexicon.iter().enumerate() {
            for h in hits {
                let (Some(a), Some(b)) = (
                    s.an.toks.get(h.start as usize),
                    s.an.toks.get(h.end as usize - 1),
                ) else {
                    continue;
                };
                let (st, _) =
                    s.an.normalized
                        .text
                        .original(a.start as usize, a.end as usize);
                let (_, en) =
                    s.an.normalized
                        .text
                        .original(b.start as usize, b.end as usize);
                lines.push(format!(
                    "    {}{}: {:?} (term {:?})",
                    c.lexicons[li].name,
                    if c.lexicons[li].exception {
                        " [exception]"
                    } else {
                        ""
                    },
                    text.get(st..en).unwrap_or(""),
                    c.terms[h.term as usize].raw
                ));
            }
        }
        if !lines.is_empty() {
            out.push_str("  lexicon matches:\n");
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out
    }

    /// The documentation of a rule.
    pub fn explain_rule(&self, id: &str) -> Option<String> {
        explain::explain_rule(&self.compiled, id)
    }

    /// Runs every inline `match` / `no_match` example; returns the failures.
    pub fn run_examples(&self) -> (usize, Vec<ExampleFailure>) {
        let mut s = self.new_scratch();
        let mut n = 0;
        let mut fails = Vec::new();
        for r in &self.compiled.rules {
            for (want, list) in [(true, &r.matches), (false, &r.no_matches)] {
                for (text, pos) in list {
                    n += 1;
                    let v = self.classify_text(text, &mut s);
                    let fired = v.fired.iter().any(|f| f.rule.0 == r.id);
                    if fired != want {
                        fails.push(ExampleFailure {
                            rule: r.id.clone(),
                            pos: pos.clone(),
                            text: text.clone(),
                            expected_fire: want,
                            explanation: self.explain_with_matches(&v, &s, text),
                        });
                    }
                }
            }
        }
        (n, fails)
    }
}

/// The embedded default pack sources.
pub fn default_sources() -> Vec<Source> {
    DEFAULT_PACKS
        .iter()
        .map(|(n, t)| Source::new(*n, *t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_pack(term: &str) -> Classifier {
        let src = format!(
            "[pack]\nname = \"t\"\nlanguages = [\"en\", \"ru\"]\n\
             [lexicons.org]\nen = [\"{term}\", \"lant*\"]\nru = [\"фонарь\"]\n\
             [[rules]]\nid = \"r\"\ndescription = \"d\"\nwhy = \"w\"\n\
             category = \"propaganda\"\nweight = 0.8\nwhen = \"org\"\n"
        );
        Classifier::from_sources(&[Source::new("t.toml", src)]).expect("pack compiles")
    }

    /// The per-worker caches (stems, keys, token hits) never leak between packs or posts: a
    /// reused scratch gives the verdict a fresh one gives.
    #[test]
    fn reused_scratch_equals_fresh_scratch_across_packs() {
        let packs = [
            small_pack("acme"),
            small_pack("front"),
            Classifier::default_packs().expect("packs"),
        ];
        let texts = [
            "Join the Acme front tonight",
            "the lanterns of acme",
            "Фонари горят, fonar",
            "Join the Acme front tonight",
            // Longer than the token caches keep.
            "acme lanterns-lanternslanternslanternslanternslanternslanternslanternslanterns",
        ];
        let mut shared = packs[0].new_scratch();
        for _ in 0..2 {
            for p in &packs {
                for t in texts {
                    let fresh = p.classify_text(t, &mut p.new_scratch());
                    let reused = p.classify_text(t, &mut shared);
                    assert_eq!(
                        serde_json::to_string(&fresh).expect("json"),
                        serde_json::to_string(&reused).expect("json"),
                        "{t:?}"
                    );
                }
            }
        }
        // The two small packs differ on the first text, so a leaked cache would show.
        let mut s = packs[0].new_scratch();
        assert!(packs[0].classify_text(texts[0], &mut s).flagged);
        assert!(packs[1].classify_text(texts[0], &mut s).flagged);
        assert!(!packs[1].classify_text("acme only", &mut s).flagged);
        assert!(packs[0].classify_text("acme only", &mut s).flagged);
    }
}
