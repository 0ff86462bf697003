//! One post against a compiled pack: look every token up (as its stems, its normalised text and
//! its transliteration key) in each stream's whole-token table and walk the stream's prefix
//! automaton from the token's start (a per-worker cache keeps the result per distinct token),
//! assemble term matches from per-token word hits, resolve overlaps leftmost-longest, and group
//! the surviving matches by lexicon.

use super::compile::{Compiled, Stream};
use crate::classify::text::hash::FxHashMap;
use crate::classify::text::translit::KeyCache;
use crate::classify::text::{
    Analyzer, LOW_CONFIDENCE, Script, detect_by_letters, script_of_lang, stem_lang,
};
use crate::model::{Lang, LangDecision};

/// A term match over tokens `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// First token.
    pub start: u32,
    /// One past the last token.
    pub end: u32,
    /// Term index.
    pub term: u32,
}

/// Entries of the per-worker hit cache before it starts over.
const HIT_CACHE_MAX: usize = 200_000;
/// Longer tokens are not cached (bounds the cache's memory whatever the input).
const HIT_CACHE_MAX_TOKEN: usize = 64;

/// Per-worker matching buffers.
#[derive(Debug, Default)]
pub struct MatchScratch {
    word_hits: Vec<(u32, u32)>,
    tok_index: Vec<u32>,
    term_hits: Vec<(Hit, u32)>,
    keys: KeyCache,
    /// How this post's tokens are read, per script.
    post: Reading,
    /// How the tokens of the current paragraph with its own decision ([`ParaLang`]) are read.
    para: Reading,
    /// Per token: bit set of the languages it is read in (see [`lang_bit`]).
    tok_langs: Vec<u32>,
    /// Per-worker cache of the word hits of a token: (text, script, language set) -> a range
    /// of `hit_pool`. Text is Zipfian: most tokens repeat, and one lookup replaces the stem,
    /// key, table and automaton lookups of every stream (valid for pack `cache_pack` only).
    hit_cache: FxHashMap<Box<[u8]>, (u32, u32)>,
    /// Word ids of the cached hits.
    hit_pool: Vec<u32>,
    /// [`Compiled::id`] of the pack the cache was filled with.
    cache_pack: u64,
    /// The cache key being built.
    hit_key: Vec<u8>,
    /// Matches per lexicon.
    pub by_lexicon: Vec<Vec<Hit>>,
}

/// The bit of a language in a token's language set.
#[inline]
pub fn lang_bit(l: Lang) -> u32 {
    1u32 << (Lang::ALL.iter().position(|&x| x == l).unwrap_or(31) as u32).min(31)
}

/// Languages to stem a token of `script` in, given the post's language decision.
fn stem_langs(c: &Compiled, d: &LangDecision, script: Script, out: &mut Vec<Lang>) {
    out.clear();
    let confident = d.confidence >= LOW_CONFIDENCE;
    if confident && script_of_lang(d.lang) == script {
        out.push(d.lang);
        return;
    }
    for &l in &c.languages {
        if script_of_lang(l) == script {
            out.push(l);
        }
    }
    if out.is_empty()
        && let Some(l) = stem_lang(d.lang, script)
    {
        out.push(l);
    }
}

/// The word hits of one form `w` of token `tok` in stream `k`: its whole-token pattern and every
/// prefix pattern it starts with.
#[inline]
fn emit(c: &Compiled, k: usize, tok: usize, w: &str, hits: &mut Vec<(u32, u32)>) {
    if let Some(&id) = c.full_words[k].get(w) {
        hits.push((tok as u32, id));
    }
    if let Some((pre, ids)) = &c.automata[k] {
        pre.for_each_prefix(w, |p| hits.push((tok as u32, ids[p])));
    }
}

/// Which languages a Latin or Cyrillic word is also read in through transliteration keys.
///
/// A Latin word in a post decided as a Cyrillic-script language (a transliterated paragraph in a
/// Russian post) is read as that language; a Cyrillic word in a Latin-script language's post
/// likewise (Uzbek in Cyrillic); when that decision is uncertain, or the post is a
/// transliteration of an undetermined Cyrillic-script language (see `text::lang`), every pack
/// language of the other script is tried. Only the transliteration-key streams match across
/// scripts, so this widens nothing else; it lets a pack's short stems (`нужн`) match `nuzhny`.
struct CrossScript {
    /// For Latin tokens.
    latin: u32,
    /// For Cyrillic tokens.
    cyrillic: u32,
}

impl CrossScript {
    fn new(c: &Compiled, d: &LangDecision) -> Self {
        let confident = d.confidence >= LOW_CONFIDENCE;
        let mask = |script: Script| {
            c.languages
                .iter()
                .filter(|&&l| script_of_lang(l) == script)
                .fold(0, |m, &l| m | lang_bit(l))
        };
        let decided = script_of_lang(d.lang);
        let for_token = |other: Script| {
            if decided == other {
                if confident {
                    lang_bit(d.lang)
                } else {
                    mask(other)
                }
            } else if d.method == "translit" {
                mask(other)
            } else {
                0
            }
        };
        CrossScript {
            latin: for_token(Script::Cyrillic),
            cyrillic: for_token(Script::Latin),
        }
    }

    #[inline]
    fn bits(&self, script: Script) -> u32 {
        match script {
            Script::Latin => self.latin,
            Script::Cyrillic => self.cyrillic,
            _ => 0,
        }
    }
}

/// How tokens are read under one language decision, per script (`Script as usize`): the
/// languages they are stemmed in, the bit set of those, and the other-script languages their
/// transliteration keys may also match ([`CrossScript`]). Decided once per post or paragraph.
#[derive(Debug, Default)]
struct Reading {
    langs: [Vec<Lang>; 7],
    bits: [u32; 7],
    cross: [u32; 7],
}

impl Reading {
    fn set(&mut self, c: &Compiled, d: &LangDecision) {
        let cross = CrossScript::new(c, d);
        for (k, &sc) in Script::ALL.iter().enumerate() {
            stem_langs(c, d, sc, &mut self.langs[k]);
            self.bits[k] = self.langs[k].iter().fold(0, |m, &l| m | lang_bit(l));
            self.cross[k] = cross.bits(sc);
        }
    }
}

/// A paragraph whose language differs, with confidence, from the post's: its words are read
/// in its own language. Regional forums mix languages post by post AND paragraph by paragraph
/// (a Kyrgyz call to arms under a Kazakh aside), and one decision per post would read the
/// minority paragraph in the wrong language.
#[derive(Debug, Clone)]
pub struct ParaLang {
    /// Byte range in the ORIGINAL text.
    start: usize,
    end: usize,
    decision: LangDecision,
}

/// Fills `out` with the paragraphs of `text` (split at line breaks) whose own confident language
/// decision (by script and distinctive letters; whatlang is too costly per paragraph) differs from
/// the post's `d`; empty for one-paragraph posts (the common case).
pub fn paragraph_langs(text: &str, hint: Option<Lang>, d: &LangDecision, out: &mut Vec<ParaLang>) {
    out.clear();
    if !text.contains('\n') {
        return;
    }
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        if line.trim().chars().count() >= 12 {
            let p = detect_by_letters(line, hint);
            if p.lang != d.lang && p.confidence >= LOW_CONFIDENCE {
                out.push(ParaLang {
                    start,
                    end,
                    decision: p,
                });
            }
        }
        start = end;
    }
}

/// Matches the analysed post in `an` (already prepared) against `c`; `paras` are the paragraphs
/// read in their own language (see [`paragraph_langs`]).
pub fn match_post(
    c: &Compiled,
    an: &mut Analyzer,
    d: &LangDecision,
    paras: &[ParaLang],
    s: &mut MatchScratch,
) {
    s.word_hits.clear();
    // The languages depend on the token's script only: decide them once per post, and once per
    // paragraph with its own decision (below).
    s.post.set(c, d);
    let mut p = 0;
    let mut para_loaded: Option<usize> = None;
    let ntok = an.toks.len();
    s.tok_langs.clear();
    let (stem_on, norm_on) = (
        c.has_stream[Stream::Stem as usize],
        c.has_stream[Stream::Norm as usize],
    );
    let (lat_on, cyr_on) = (
        c.has_stream[Stream::LatKey as usize],
        c.has_stream[Stream::CyrKey as usize],
    );
    if s.cache_pack != c.id || s.hit_cache.len() > HIT_CACHE_MAX {
        s.hit_cache.clear();
        s.hit_pool.clear();
        s.cache_pack = c.id;
    }
    for i in 0..ntok {
        let t = an.toks[i];
        // The paragraph decision that covers this token, if any (tokens come in text order).
        let mut own = None;
        if !paras.is_empty() {
            let (o, _) = an
                .normalized
                .text
                .original(t.start as usize, t.end as usize);
            while p < paras.len() && paras[p].end <= o {
                p += 1;
            }
            if paras.get(p).is_some_and(|pl| pl.start <= o) {
                own = Some(p);
            }
        }
        if let Some(pi) = own
            && own != para_loaded
        {
            s.para.set(c, &paras[pi].decision);
            para_loaded = own;
        }
        let r = if own.is_some() { &s.para } else { &s.post };
        let k = t.script as usize;
        let (langs, bits) = (&r.langs[k], r.bits[k]);
        // Transliteration variants of other-script languages apply through `cross`; the cache
        // key holds the stem languages only (the word hits do not depend on the rest).
        s.tok_langs.push(bits | r.cross[k]);
        let (ts, te) = (t.start as usize, t.end as usize);
        let word = &an.normalized.as_str()[ts..te];
        // 0xFF never occurs in UTF-8: the key is unambiguous.
        let cacheable = word.len() <= HIT_CACHE_MAX_TOKEN;
        s.hit_key.clear();
        s.hit_key.extend_from_slice(word.as_bytes());
        s.hit_key.push(0xFF);
        s.hit_key.push(t.script as u8);
        s.hit_key.extend_from_slice(&bits.to_le_bytes());
        if cacheable && let Some(&(a, n)) = s.hit_cache.get(s.hit_key.as_slice()) {
            let ids = &s.hit_pool[a as usize..(a + n) as usize];
            s.word_hits.extend(ids.iter().map(|&id| (i as u32, id)));
            continue;
        }
        let first = s.word_hits.len();
        let hits = &mut s.word_hits;
        // Norm stream.
        if norm_on {
            emit(c, Stream::Norm as usize, i, word, hits);
        }
        // Stem stream: one form per language (equal stems give equal hits, removed below).
        if stem_on {
            if langs.is_empty() {
                emit(c, Stream::Stem as usize, i, word, hits);
            }
            for &l in langs {
                let stem = an.stems.stem(l, word);
                emit(c, Stream::Stem as usize, i, stem, hits);
            }
        }
        // Key streams, across scripts.
        if t.script == Script::Latin && lat_on {
            let key = s.keys.key(word);
            emit(c, Stream::LatKey as usize, i, key, &mut s.word_hits);
        } else if t.script == Script::Cyrillic && cyr_on {
            let key = s.keys.key(word);
            emit(c, Stream::CyrKey as usize, i, key, &mut s.word_hits);
        }
        if cacheable {
            let a = s.hit_pool.len() as u32;
            s.hit_pool
                .extend(s.word_hits[first..].iter().map(|&(_, id)| id));
            let n = s.hit_pool.len() as u32 - a;
            s.hit_cache.insert(s.hit_key.as_slice().into(), (a, n));
        }
    }
    s.word_hits.sort_unstable();
    s.word_hits.dedup();
    // Token -> range in word_hits.
    s.tok_index.clear();
    s.tok_index.resize(ntok + 1, 0);
    for &(t, _) in &s.word_hits {
        s.tok_index[t as usize + 1] += 1;
    }
    for i in 0..ntok {
        s.tok_index[i + 1] += s.tok_index[i];
    }
    // Term matches.
    s.term_hits.clear();
    for hi in 0..s.word_hits.len() {
        let (tok, w) = s.word_hits[hi];
        for &vi in &c.first_word[w as usize] {
            let v = &c.variants[vi as usize];
            let n = v.words.len() as u32;
            if tok + n > ntok as u32 {
                continue;
            }
            if let Some(l) = v.lang
                && s.tok_langs[tok as usize] & lang_bit(l) == 0
            {
                continue;
            }
            let ok = v.words.iter().enumerate().skip(1).all(|(j, &wj)| {
                let t = (tok + j as u32) as usize;
                let r = &s.word_hits[s.tok_index[t] as usize..s.tok_index[t + 1] as usize];
                r.iter().any(|&(_, x)| x == wj)
            });
            if ok {
                s.term_hits.push((
                    Hit {
                        start: tok,
                        end: tok + n,
                        term: v.term,
                    },
                    v.lexicon,
                ));
            }
        }
    }
    if !c.regexes.is_empty() {
        for i in 0..ntok {
            let t = an.toks[i];
            let word = &an.normalized.as_str()[t.start as usize..t.end as usize];
            for (re, ti) in &c.regexes {
                if re.is_match(word) {
                    let lex = c.terms[*ti as usize].lexicon;
                    s.term_hits.push((
                        Hit {
                            start: i as u32,
                            end: i as u32 + 1,
                            term: *ti,
                        },
                        lex,
                    ));
                }
            }
        }
    }
    // Leftmost-longest: drop a match strictly inside a longer one.
    s.term_hits.sort_unstable_by(|a, b| {
        a.0.start
            .cmp(&b.0.start)
            .then(b.0.end.cmp(&a.0.end))
            .then(a.1.cmp(&b.1))
            .then(a.0.term.cmp(&b.0.term))
    });
    s.term_hits
        .dedup_by(|a, b| a.0.start == b.0.start && a.0.end == b.0.end && a.1 == b.1);
    if s.by_lexicon.len() != c.lexicons.len() {
        s.by_lexicon = vec![Vec::new(); c.lexicons.len()];
    }
    for v in &mut s.by_lexicon {
        v.clear();
    }
    let (mut best_start, mut best_end) = (0u32, 0u32);
    let mut have = false;
    for &(h, lex) in &s.term_hits {
        let contained = have && best_end >= h.end && !(best_start == h.start && best_end == h.end);
        if !contained {
            s.by_lexicon[lex as usize].push(h);
        }
        if !have || h.end > best_end {
            best_start = h.start;
            best_end = h.end;
            have = true;
        }
    }
}
