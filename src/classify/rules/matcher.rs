//! One post against a compiled pack: build the token haystacks, run each automaton once
//! (overlapping), assemble term matches from per-token word hits, resolve overlaps
//! leftmost-longest, and group the surviving matches by lexicon.

use aho_corasick::Input;

use super::compile::{Compiled, SEP, Stream};
use crate::classify::text::{
    Analyzer, LOW_CONFIDENCE, Script, script_of_lang, stem_lang, translit,
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

/// Per-worker matching buffers.
#[derive(Debug, Default)]
pub struct MatchScratch {
    hay: [String; 4],
    seg: [Vec<(u32, u32)>; 4],
    word_hits: Vec<(u32, u32)>,
    tok_index: Vec<u32>,
    term_hits: Vec<(Hit, u32)>,
    key: String,
    key_lat: String,
    langs: Vec<Lang>,
    /// Per token: bit set of the languages it is read in (see [`lang_bit`]).
    tok_langs: Vec<u32>,
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

/// Matches the analysed post in `an` (already prepared) against `c`.
pub fn match_post(c: &Compiled, an: &mut Analyzer, d: &LangDecision, s: &mut MatchScratch) {
    for h in &mut s.hay {
        h.clear();
    }
    for g in &mut s.seg {
        g.clear();
    }
    let ntok = an.toks.len();
    s.tok_langs.clear();
    let cross = CrossScript::new(c, d);
    for i in 0..ntok {
        let t = an.toks[i];
        stem_langs(c, d, t.script, &mut s.langs);
        s.tok_langs.push(
            s.langs
                .iter()
                .fold(cross.bits(t.script), |m, &l| m | lang_bit(l)),
        );
        let (ts, te) = (t.start as usize, t.end as usize);
        // Norm stream.
        if c.has_stream[Stream::Norm as usize] {
            push_seg(
                &mut s.hay[1],
                &mut s.seg[1],
                i,
                &an.normalized.as_str()[ts..te],
            );
        }
        // Stem stream: one segment per distinct stem.
        if c.has_stream[Stream::Stem as usize] {
            let seg_before = s.seg[0].len();
            if s.langs.is_empty() {
                push_seg(
                    &mut s.hay[0],
                    &mut s.seg[0],
                    i,
                    &an.normalized.as_str()[ts..te],
                );
            }
            for li in 0..s.langs.len() {
                let l = s.langs[li];
                let word = &an.normalized.as_str()[ts..te];
                let stem = an.stems.stem(l, word);
                // Skip a stem equal to one already pushed for this token.
                let dup = s.seg[0][seg_before..].iter().any(|&(off, _)| {
                    let st = off as usize + 1;
                    s.hay[0].get(st..st + stem.len()) == Some(stem)
                        && s.hay[0].as_bytes().get(st + stem.len()) == Some(&1u8)
                });
                if !dup {
                    push_seg(&mut s.hay[0], &mut s.seg[0], i, stem);
                }
            }
        }
        // Key streams, across scripts.
        let word = &an.normalized.as_str()[ts..te];
        if t.script == Script::Latin && c.has_stream[Stream::LatKey as usize] {
            translit::key_into_with(word, &mut s.key, &mut s.key_lat);
            push_seg(&mut s.hay[2], &mut s.seg[2], i, &s.key);
        } else if t.script == Script::Cyrillic && c.has_stream[Stream::CyrKey as usize] {
            translit::key_into_with(word, &mut s.key, &mut s.key_lat);
            push_seg(&mut s.hay[3], &mut s.seg[3], i, &s.key);
        }
    }
    // Word hits.
    s.word_hits.clear();
    for k in 0..4 {
        let Some((ac, ids)) = &c.automata[k] else {
            continue;
        };
        if s.hay[k].is_empty() {
            continue;
        }
        for m in ac.find_overlapping_iter(Input::new(&s.hay[k])) {
            let off = m.start() as u32;
            let seg = &s.seg[k];
            let p = seg.partition_point(|&(o, _)| o <= off);
            if p == 0 {
                continue;
            }
            let tok = seg[p - 1].1;
            s.word_hits.push((tok, ids[m.pattern().as_usize()]));
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

#[inline]
fn push_seg(hay: &mut String, seg: &mut Vec<(u32, u32)>, tok: usize, w: &str) {
    seg.push((hay.len() as u32, tok as u32));
    hay.push(SEP);
    hay.push_str(w);
    hay.push(SEP);
}
