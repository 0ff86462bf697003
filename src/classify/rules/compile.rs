//! [`PackDef`] -> [`Compiled`]: every term of every lexicon normalised and stemmed exactly as
//! post text is, split into single-token word patterns, and all of them built, per stream
//! (stems, normalised words, and two transliteration-key streams), into one table of whole-token
//! patterns and at most one aho-corasick automaton of prefix patterns, so a token costs one
//! table lookup and one short anchored automaton walk per stream, however many terms there are.
//!
//! A term is a sequence of word patterns; a word pattern matches a whole token or a token prefix
//! (`\x01w`, walked over `\x01token`). Whole-token patterns are looked up by the token's text:
//! the automaton over a haystack of `\x01token\x01` segments that this replaces did exactly that
//! equality test, at ~40 instructions a byte (12% of classify instructions).
//! Identical word patterns are shared between terms.

use std::collections::{HashMap, HashSet};

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, BuildError, MatchKind, StartKind, dfa, nfa};
use regex::Regex;

use super::pack::{Cond, PackDef, Pos, Problem, Severity};
use crate::classify::text::hash::FxHashMap;
use crate::classify::text::{Script, Stemmer, normalize, script_of_lang, translit};
use crate::model::{Category, Lang};

/// Byte that wraps tokens in the haystacks; never produced by the normaliser's words.
pub const SEP: char = '\x01';
/// Max compiled size of one `/regex/` term.
pub const REGEX_SIZE_LIMIT: usize = 1 << 17;
/// Translit keys shorter than this only match whole tokens.
const KEY_PREFIX_MIN: usize = 6;
/// Single-word translit keys shorter than this only match in posts read in the term's language
/// (a transliterated post; see `matcher::CrossScript`): elsewhere they are too ambiguous.
const KEY_MIN: usize = 5;
/// Single-word translit keys shorter than this are not used at all; at this length they match
/// whole tokens only, longer ones (in the term's language) also as prefixes.
const KEY_SCOPED_MIN: usize = 3;
/// A prefix automaton with at most this many pattern bytes is built as a DFA (one table load
/// per byte; a few MB at most), larger ones as a contiguous NFA (compact).
const DFA_MAX_PATTERN_BYTES: usize = 16 * 1024;

/// The four haystacks a post is matched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Stems of every token (one or more per token).
    Stem = 0,
    /// Normalised, unstemmed tokens (`=exact`, `prefix*`, joined hashtags).
    Norm = 1,
    /// Transliteration keys of Latin tokens (patterns from Cyrillic terms).
    LatKey = 2,
    /// Transliteration keys of Cyrillic tokens (patterns from Latin terms).
    CyrKey = 3,
}

/// One term as written, for explanations.
#[derive(Debug, Clone)]
pub struct TermInfo {
    /// Lexicon index.
    pub lexicon: u32,
    /// As written in the pack.
    pub raw: String,
}

/// A compiled form of a term: a sequence of word-pattern ids over consecutive tokens.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Term index.
    pub term: u32,
    /// Lexicon index.
    pub lexicon: u32,
    /// Word pattern ids.
    pub words: Vec<u32>,
    /// The language the variant belongs to: it only matches tokens read in that language
    /// (`None`: `any` terms and cross-script transliteration keys match everywhere).
    pub lang: Option<Lang>,
}

/// Lexicon metadata.
#[derive(Debug, Clone)]
pub struct LexInfo {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Exception lexicon.
    pub exception: bool,
    /// Some terms, for `rules explain`.
    pub sample: Vec<String>,
    /// Number of terms.
    pub terms: usize,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct CRule {
    /// Id.
    pub id: String,
    /// Where it is defined.
    pub pos: Pos,
    /// Description.
    pub description: String,
    /// Why.
    pub why: String,
    /// Category.
    pub category: Category,
    /// Weight.
    pub weight: f32,
    /// The condition as written.
    pub when: String,
    /// Compiled condition.
    pub cond: Cond<u32>,
    /// Lexicons referenced outside `not` (their matches are the evidence).
    pub evidence: Vec<u32>,
    /// Examples that must fire.
    pub matches: Vec<(String, Pos)>,
    /// Examples that must not fire.
    pub no_matches: Vec<(String, Pos)>,
    /// Known false positives.
    pub false_positives: Vec<String>,
}

/// A pack set compiled for matching.
#[derive(Debug)]
pub struct Compiled {
    /// Unique per compilation in this process (per-worker caches of match results are keyed
    /// by it, so a scratch used with another pack never reuses them).
    pub id: u64,
    /// Pack name.
    pub name: String,
    /// Flag threshold.
    pub threshold: f32,
    /// Pack languages (the fallback set for uncertain posts).
    pub languages: Vec<Lang>,
    /// Lexicons.
    pub lexicons: Vec<LexInfo>,
    /// Terms.
    pub terms: Vec<TermInfo>,
    /// Term variants.
    pub variants: Vec<Variant>,
    /// Word pattern id -> variants whose first word it is.
    pub first_word: Vec<Vec<u32>>,
    /// Per stream: whole-token word patterns, token text -> word id.
    pub full_words: Vec<FxHashMap<Box<str>, u32>>,
    /// Per stream: automaton of the prefix word patterns (`\x01w`) and pattern index -> word
    /// id; `None` when the stream has no prefix patterns.
    pub automata: Vec<Option<(Prefixes, Vec<u32>)>>,
    /// `/regex/` terms: (regex, term index).
    pub regexes: Vec<(Regex, u32)>,
    /// Rules.
    pub rules: Vec<CRule>,
    /// Lexicon -> rules that may fire when it hits.
    pub rules_by_lexicon: Vec<Vec<u32>>,
    /// Rules that can fire without any lexicon hit (always evaluated).
    pub always: Vec<u32>,
    /// Per stream: whether it has any word pattern (a stream without one is skipped).
    pub has_stream: [bool; 4],
}

/// The prefix word patterns of one stream (`\x01w`): an aho-corasick automaton walked anchored
/// from the start of each token (`\x01token`), so a token costs the bytes it shares with some
/// pattern (usually one or two) instead of a scan of every byte of every token.
#[derive(Debug)]
pub enum Prefixes {
    /// Small pattern sets: a DFA (one table load per byte).
    Dfa(dfa::DFA),
    /// Large pattern sets: a contiguous NFA (compact).
    Nfa(nfa::contiguous::NFA),
}

impl Prefixes {
    fn build(pats: &[String]) -> Result<Prefixes, BuildError> {
        let bytes: usize = pats.iter().map(|p| p.len()).sum();
        Ok(if bytes <= DFA_MAX_PATTERN_BYTES {
            Prefixes::Dfa(
                dfa::DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .start_kind(StartKind::Anchored)
                    .prefilter(false)
                    .build(pats)?,
            )
        } else {
            Prefixes::Nfa(
                nfa::contiguous::NFA::builder()
                    .match_kind(MatchKind::Standard)
                    .prefilter(false)
                    .build(pats)?,
            )
        })
    }

    /// Calls `f` with the index of every pattern `\x01w` such that `token` starts with `w`.
    #[inline]
    pub fn for_each_prefix(&self, token: &str, f: impl FnMut(usize)) {
        match self {
            Prefixes::Dfa(a) => walk(a, token, f),
            Prefixes::Nfa(a) => walk(a, token, f),
        }
    }
}

/// Walks `\x01token` through `a` anchored at its start and reports every pattern that ends on
/// the way. Every pattern starts with the separator and a token never contains one, so a
/// pattern can only match from the token's start: these are exactly the prefix patterns of it.
#[inline]
fn walk<A: Automaton>(a: &A, token: &str, mut f: impl FnMut(usize)) {
    let Ok(mut sid) = a.start_state(Anchored::Yes) else {
        return;
    };
    for &b in std::iter::once(&(SEP as u8)).chain(token.as_bytes()) {
        sid = a.next_state(Anchored::Yes, sid, b);
        if a.is_special(sid) {
            if a.is_dead(sid) {
                return;
            }
            if a.is_match(sid) {
                for i in 0..a.match_len(sid) {
                    f(a.match_pattern(sid, i).as_usize());
                }
            }
        }
    }
}

struct Builder {
    words: HashMap<(Stream, bool, String), u32>,
    word_list: Vec<(Stream, bool, String)>,
}

impl Builder {
    fn word(&mut self, stream: Stream, full: bool, s: &str) -> u32 {
        let key = (stream, full, s.to_string());
        if let Some(&id) = self.words.get(&key) {
            return id;
        }
        let id = self.word_list.len() as u32;
        self.word_list.push(key.clone());
        self.words.insert(key, id);
        id
    }
}

fn err(p: &mut Vec<Problem>, pos: &Pos, m: impl Into<String>) {
    p.push(Problem {
        severity: Severity::Error,
        pos: pos.clone(),
        message: m.into(),
    });
}

fn warn(p: &mut Vec<Problem>, pos: &Pos, m: impl Into<String>) {
    p.push(Problem {
        severity: Severity::Warning,
        pos: pos.clone(),
        message: m.into(),
    });
}

enum Kind {
    Stem,
    Exact,
    Prefix,
}

/// The normalised words of a term string.
fn norm_words(s: &str) -> Vec<(String, Script)> {
    let n = normalize(s);
    let mut toks = Vec::new();
    crate::classify::text::tokenize(&n, &mut toks);
    toks.iter()
        .map(|t| {
            (
                n.as_str()[t.start as usize..t.end as usize].to_string(),
                t.script,
            )
        })
        .collect()
}

/// Compiles a parsed pack set, adding problems; `None` when there were errors.
pub fn compile(def: &PackDef, problems: &mut Vec<Problem>) -> Option<Compiled> {
    let errors_before = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let mut languages = def.languages.clone();
    if languages.is_empty() {
        for l in &def.lexicons {
            for t in &l.terms {
                if let Some(lang) = t.lang
                    && !languages.contains(&lang)
                {
                    languages.push(lang);
                }
            }
        }
    }
    let stemmers: HashMap<Lang, Stemmer> =
        Lang::ALL.iter().map(|&l| (l, Stemmer::new(l))).collect();
    let mut b = Builder {
        words: HashMap::new(),
        word_list: Vec::new(),
    };
    let mut terms = Vec::new();
    let mut variants: Vec<Variant> = Vec::new();
    let mut regexes = Vec::new();
    let mut lexicons = Vec::new();
    for (li, lex) in def.lexicons.iter().enumerate() {
        let li = li as u32;
        let mut seen: HashSet<(Option<Lang>, String)> = HashSet::new();
        for t in &lex.terms {
            let raw = t.raw.trim();
            let ti = terms.len() as u32;
            // Regex terms.
            if raw.len() >= 2 && raw.starts_with('/') && raw.ends_with('/') {
                let pat = &raw[1..raw.len() - 1];
                match regex::RegexBuilder::new(&format!("^(?:{pat})$"))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                {
                    Ok(re) => {
                        regexes.push((re, ti));
                        terms.push(TermInfo {
                            lexicon: li,
                            raw: t.raw.clone(),
                        });
                    }
                    Err(regex::Error::CompiledTooBig(n)) => err(
                        problems,
                        &t.pos,
                        format!(
                            "regex too large (limit {n} bytes compiled); simplify it or use terms"
                        ),
                    ),
                    Err(e) => err(
                        problems,
                        &t.pos,
                        format!(
                            "bad regex: {}",
                            e.to_string().lines().last().unwrap_or("invalid")
                        ),
                    ),
                }
                continue;
            }
            let (kind, body) = if let Some(x) = raw.strip_prefix('=') {
                (Kind::Exact, x)
            } else if let Some(x) = raw.strip_suffix('*') {
                (Kind::Prefix, x)
            } else {
                (Kind::Stem, raw)
            };
            let words = norm_words(body);
            if words.is_empty() {
                err(
                    problems,
                    &t.pos,
                    format!("term `{}` is empty after normalisation", t.raw),
                );
                continue;
            }
            let key_str: String = words
                .iter()
                .map(|w| w.0.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let tag = match kind {
                Kind::Stem => "",
                Kind::Exact => "=",
                Kind::Prefix => "*",
            };
            if !seen.insert((t.lang, format!("{tag}{key_str}"))) {
                warn(
                    problems,
                    &t.pos,
                    format!("duplicate term `{}` in lexicon `{}`", t.raw, lex.name),
                );
                continue;
            }
            terms.push(TermInfo {
                lexicon: li,
                raw: t.raw.clone(),
            });
            let add = |ws: Vec<u32>, lang: Option<Lang>, variants: &mut Vec<Variant>| {
                if !variants
                    .iter()
                    .rev()
                    .take(16)
                    .any(|v| v.term == ti && v.words == ws && v.lang == lang)
                {
                    variants.push(Variant {
                        term: ti,
                        lexicon: li,
                        words: ws,
                        lang,
                    });
                }
            };
            let last = words.len() - 1;
            match kind {
                Kind::Exact | Kind::Prefix => {
                    let ws = words
                        .iter()
                        .enumerate()
                        .map(|(i, (w, _))| {
                            let full = !(matches!(kind, Kind::Prefix) && i == last);
                            b.word(Stream::Norm, full, w)
                        })
                        .collect();
                    add(ws, t.lang, &mut variants);
                }
                Kind::Stem => {
                    // Stem in the lexicon's language, or (for `any`) every pack language
                    // written in the word's script.
                    let main_script = words[0].1;
                    let langs: Vec<Lang> = match t.lang {
                        Some(l) => vec![l],
                        None => {
                            let mut v: Vec<Lang> = languages
                                .iter()
                                .copied()
                                .filter(|l| script_of_lang(*l) == main_script)
                                .collect();
                            if v.is_empty() {
                                v.push(Lang::Und);
                            }
                            v
                        }
                    };
                    for l in &langs {
                        let st = &stemmers[l];
                        let ws = words
                            .iter()
                            .map(|(w, sc)| {
                                if script_of_lang(*l) == *sc || *l == Lang::Und {
                                    b.word(Stream::Stem, true, &st.stem(w))
                                } else {
                                    let sl = crate::classify::text::stem_lang(*l, *sc);
                                    let s = sl.map(|x| stemmers[&x].stem(w).into_owned());
                                    b.word(Stream::Stem, true, s.as_deref().unwrap_or(w))
                                }
                            })
                            .collect();
                        add(ws, t.lang.map(|_| *l), &mut variants);
                    }
                    // The unstemmed normalised form too (stemmers disagree on short words).
                    let ws = words
                        .iter()
                        .map(|(w, _)| b.word(Stream::Norm, true, w))
                        .collect();
                    add(ws, t.lang, &mut variants);
                    // A phrase also matches as one joined token (hashtags: #CrimsonLantern).
                    if words.len() > 1 {
                        let joined: String = words.iter().map(|w| w.0.as_str()).collect();
                        let w = b.word(Stream::Norm, true, &joined);
                        add(vec![w], t.lang, &mut variants);
                    }
                    // Transliteration keys, across scripts.
                    let all_cyr = words.iter().all(|w| w.1 == Script::Cyrillic);
                    let all_lat = words.iter().all(|w| w.1 == Script::Latin);
                    if all_cyr || all_lat {
                        let stream = if all_cyr {
                            Stream::LatKey
                        } else {
                            Stream::CyrKey
                        };
                        for l in &langs {
                            let st = &stemmers[l];
                            // Keys of the words' stems, with their lengths in chars.
                            let keys: Vec<(String, usize)> = words
                                .iter()
                                .map(|(w, _)| {
                                    let k = translit::key(&st.stem(w));
                                    let kl = k.chars().count();
                                    (k, kl)
                                })
                                .collect();
                            if keys.iter().any(|(k, _)| k.is_empty()) {
                                continue;
                            }
                            if let [(k, kl)] = keys.as_slice() {
                                // One word: a stem is a prefix of its inflected forms.
                                if *kl < KEY_SCOPED_MIN {
                                    continue;
                                }
                                if *kl >= KEY_MIN {
                                    let w = b.word(stream, *kl < KEY_PREFIX_MIN, k);
                                    add(vec![w], None, &mut variants);
                                }
                                if *kl < KEY_PREFIX_MIN {
                                    // Read as the term's own language (a transliterated post
                                    // of that language), a short stem is a usable prefix.
                                    let w = b.word(stream, *kl <= KEY_SCOPED_MIN, k);
                                    add(vec![w], Some(*l), &mut variants);
                                }
                            } else {
                                // Inside a phrase the neighbours keep short prefixes specific.
                                let ws = keys
                                    .iter()
                                    .map(|(k, kl)| b.word(stream, *kl < 3, k))
                                    .collect();
                                add(ws, None, &mut variants);
                            }
                        }
                    }
                }
            }
        }
        lexicons.push(LexInfo {
            name: lex.name.clone(),
            description: lex.description.clone(),
            exception: lex.exception,
            sample: lex.terms.iter().take(8).map(|t| t.raw.clone()).collect(),
            terms: lex.terms.len(),
        });
    }
    // Rules.
    let lex_index: HashMap<&str, u32> = def
        .lexicons
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i as u32))
        .collect();
    let mut used = vec![false; def.lexicons.len()];
    let mut rules = Vec::new();
    let mut ids: HashMap<&str, &Pos> = HashMap::new();
    for r in &def.rules {
        if let Some(prev) = ids.insert(r.id.as_str(), &r.pos)
            && !r.id.is_empty()
        {
            err(
                problems,
                &r.pos,
                format!("duplicate rule id `{}` (first at {prev})", r.id),
            );
        }
        let Some(c) = &r.cond else { continue };
        let mut bad = false;
        let cond = resolve(c, &lex_index, &mut used, &mut bad, problems);
        if bad {
            continue;
        }
        let mut evidence = Vec::new();
        positive_lexicons(&cond, false, &mut evidence);
        evidence.sort_unstable();
        evidence.dedup();
        rules.push(CRule {
            id: r.id.clone(),
            pos: r.pos.clone(),
            description: r.description.clone(),
            why: r.why.clone(),
            category: r.category,
            weight: r.weight,
            when: r.when.clone(),
            cond,
            evidence,
            matches: r.matches.clone(),
            no_matches: r.no_matches.clone(),
            false_positives: r.false_positives.clone(),
        });
    }
    for (i, l) in def.lexicons.iter().enumerate() {
        if !used[i] {
            warn(
                problems,
                &l.pos,
                format!("lexicon `{}` is not used by any rule", l.name),
            );
        }
    }
    let errors_after = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    if errors_after > errors_before {
        return None;
    }
    let mut rules_by_lexicon = vec![Vec::new(); lexicons.len()];
    let mut always = Vec::new();
    for (ri, r) in rules.iter().enumerate() {
        match trigger(&r.cond) {
            Some(lexs) => {
                for l in lexs {
                    if !rules_by_lexicon[l as usize].contains(&(ri as u32)) {
                        rules_by_lexicon[l as usize].push(ri as u32);
                    }
                }
            }
            None => always.push(ri as u32),
        }
    }
    // Automata, one per stream.
    let mut first_word = vec![Vec::new(); b.word_list.len()];
    for (vi, v) in variants.iter().enumerate() {
        if let Some(&w) = v.words.first() {
            first_word[w as usize].push(vi as u32);
        }
    }
    let mut automata = Vec::new();
    let mut full_words = Vec::new();
    let mut has_stream = [false; 4];
    for stream in [Stream::Stem, Stream::Norm, Stream::LatKey, Stream::CyrKey] {
        let mut pats = Vec::new();
        let mut ids = Vec::new();
        let mut full_map = FxHashMap::default();
        for (id, (s, full, w)) in b.word_list.iter().enumerate() {
            if *s != stream {
                continue;
            }
            has_stream[stream as usize] = true;
            if *full {
                full_map.insert(w.as_str().into(), id as u32);
            } else {
                let mut p = String::with_capacity(w.len() + 1);
                p.push(SEP);
                p.push_str(w);
                pats.push(p);
                ids.push(id as u32);
            }
        }
        full_words.push(full_map);
        if pats.is_empty() {
            automata.push(None);
            continue;
        }
        // Standard semantics: every prefix pattern of a token is reported (a token can match
        // several); leftmost-longest is then applied at the term level, so phrases beat their
        // first word.
        match Prefixes::build(&pats) {
            Ok(ac) => automata.push(Some((ac, ids))),
            Err(e) => {
                err(
                    problems,
                    &Pos {
                        file: def.name.clone(),
                        line: 0,
                        col: 0,
                    },
                    format!("automaton: {e}"),
                );
                return None;
            }
        }
    }
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    Some(Compiled {
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        name: def.name.clone(),
        threshold: def.threshold.unwrap_or(0.5),
        languages,
        lexicons,
        terms,
        variants,
        first_word,
        full_words,
        automata,
        regexes,
        rules,
        rules_by_lexicon,
        always,
        has_stream,
    })
}

fn resolve(
    c: &Cond<(String, Pos)>,
    idx: &HashMap<&str, u32>,
    used: &mut [bool],
    bad: &mut bool,
    problems: &mut Vec<Problem>,
) -> Cond<u32> {
    let mut look = |(name, pos): &(String, Pos), problems: &mut Vec<Problem>| -> u32 {
        match idx.get(name.as_str()) {
            Some(&i) => {
                used[i as usize] = true;
                i
            }
            None => {
                *bad = true;
                err(problems, pos, format!("unknown lexicon `{name}`"));
                0
            }
        }
    };
    match c {
        Cond::Lex(l) => Cond::Lex(look(l, problems)),
        Cond::Near { a, b, n, ordered } => {
            let a = look(a, problems);
            let b = look(b, problems);
            Cond::Near {
                a,
                b,
                n: *n,
                ordered: *ordered,
            }
        }
        Cond::Count { lex, op, k } => Cond::Count {
            lex: look(lex, problems),
            op: *op,
            k: *k,
        },
        Cond::Lang(l) => Cond::Lang(l.clone()),
        Cond::Quoted(l) => Cond::Quoted(look(l, problems)),
        Cond::Free { a, b, n } => {
            let a = look(a, problems);
            let b = look(b, problems);
            Cond::Free { a, b, n: *n }
        }
        Cond::Not(x) => Cond::Not(Box::new(resolve(x, idx, used, bad, problems))),
        Cond::And(v) => Cond::And(
            v.iter()
                .map(|x| resolve(x, idx, used, bad, problems))
                .collect(),
        ),
        Cond::Or(v) => Cond::Or(
            v.iter()
                .map(|x| resolve(x, idx, used, bad, problems))
                .collect(),
        ),
    }
}

fn positive_lexicons(c: &Cond<u32>, negated: bool, out: &mut Vec<u32>) {
    match c {
        Cond::Lex(l) if !negated => out.push(*l),
        Cond::Near { a, b, .. } if !negated => out.extend([*a, *b]),
        Cond::Count { lex, .. } | Cond::Quoted(lex) | Cond::Free { a: lex, .. } if !negated => {
            out.push(*lex)
        }
        Cond::Not(x) => positive_lexicons(x, !negated, out),
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|x| positive_lexicons(x, negated, out)),
        _ => {}
    }
}

/// Lexicons at least one of which must hit for the condition to be true (`None`: no such set,
/// evaluate always).
fn trigger(c: &Cond<u32>) -> Option<Vec<u32>> {
    match c {
        Cond::Lex(l) => Some(vec![*l]),
        Cond::Near { a, .. } | Cond::Quoted(a) | Cond::Free { a, .. } => Some(vec![*a]),
        Cond::Count { lex, op, k } => {
            if op.apply(0, *k) {
                None
            } else {
                Some(vec![*lex])
            }
        }
        Cond::Lang(_) | Cond::Not(_) => None,
        Cond::And(v) => v.iter().filter_map(trigger).min_by_key(|x| x.len()),
        Cond::Or(v) => {
            let mut all = Vec::new();
            for x in v {
                all.extend(trigger(x)?);
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
    }
}
