//! The normaliser: the evasion-resistant form rules and the index match on, with a map back to
//! the original text for every byte.
//!
//! Two stages, each writing a [`MappedText`]:
//! 1. characters: HTML entities decoded (repeatedly, so `&amp;#1092;` ends as `ф`), NFKC (skipped
//!    when the quick check says the text already is NFKC), full case folding (`ß` -> `ss`, final
//!    sigma, `İ` -> `i`; `ё` -> `е`), Arabic-script spelling variants unified (`ي ى` -> `ی`,
//!    `ك` -> `ک`, hamza-alef forms -> `ا`, harakat and tatweel removed), and format characters
//!    removed: zero-width space/joiner, word joiner, BOM, bidi controls, soft hyphen, variation
//!    selectors. The zero-width NON-joiner is normal Persian/Urdu spelling (`می‌شود`): it is
//!    removed as a word-internal joiner and never splits a word, in every script alike.
//! 2. words: letters separated by single spaces or punctuation are re-joined (`j o i n`,
//!    `j.o.i.n`, `ж-д-а-т-ь`: three or more single letters in a row); apostrophes inside words are
//!    dropped (`oʻ`, `o'`, `o’` alike); a word mixing Latin, Cyrillic and Greek letters is rewritten
//!    into the script of its unambiguous letters (UTS #39 confusables, per word only: a genuine
//!    Cyrillic word is never touched); leetspeak (`j0in`, `@ttack`, `фон4рь`) is folded inside
//!    words that are mostly letters.
//!
//! The Turkish dotless `ı` is kept here (the Turkish stemmer needs it) and folded to `i` after
//! stemming, so `KIZIL`, `kızıl` and `kizil` meet. Every stage is idempotent, so normalising
//! normalised text changes nothing (a proptest checks it).

use std::borrow::Cow;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use super::chars::{self, is_mark, is_nfkc_quick_yes};
use super::offsets::MappedText;
use super::script::{Script, script_of};

/// A word of the normalised text: byte range in [`Normalized::text`] and its script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Start byte in the normalised text.
    pub start: usize,
    /// End byte in the normalised text.
    pub end: usize,
    /// The script of most of its letters.
    pub script: Script,
}

/// The normalised text of one input, its words, and the map back to the original.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    /// Normalised text; every byte maps to an original range.
    pub text: MappedText,
    /// Words (tokens before stemming) in order.
    pub words: Vec<Word>,
}

impl Normalized {
    /// The normalised text.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The text of word `w`.
    pub fn word_str(&self, w: &Word) -> &str {
        &self.text.as_str()[w.start..w.end]
    }

    /// The original byte range of word `w`.
    pub fn original(&self, w: &Word) -> (usize, usize) {
        self.text.original(w.start, w.end)
    }
}

/// Reusable buffers for [`Normalizer::normalize_into`].
#[derive(Debug, Default)]
pub struct NormScratch {
    a: MappedText,
    a2: MappedText,
    tmp: String,
    raw: Vec<(usize, usize)>,
    groups: Vec<(usize, usize)>,
    chars: Vec<(char, usize, usize)>,
}

/// The normaliser. Stateless apart from its options; cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Normalizer {
    /// Re-join letters separated by spaces or punctuation.
    pub rejoin_spaced: bool,
    /// Rewrite mixed-script words by their confusable skeleton.
    pub homoglyphs: bool,
    /// Fold leetspeak inside words.
    pub leet: bool,
    /// Skip the per-char homoglyph/leet machinery for words that cannot need it (single
    /// script among Latin/Cyrillic/Greek, no digit, leet symbol or apostrophe). Same output
    /// either way (a test compares both); `false` only to test that.
    pub fast_paths: bool,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {
            rejoin_spaced: true,
            homoglyphs: true,
            leet: true,
            fast_paths: true,
        }
    }
}

/// Normalises `input` with default options (allocates; prefer [`Normalizer::normalize_into`]).
pub fn normalize(input: &str) -> Normalized {
    let mut out = Normalized::default();
    Normalizer::default().normalize_into(input, &mut out, &mut NormScratch::default());
    out
}

impl Normalizer {
    /// Normalises `input` into `out`, reusing `scratch`.
    pub fn normalize_into(&self, input: &str, out: &mut Normalized, s: &mut NormScratch) {
        // Stage 1, repeated while entities decode to more entities (bounded: each round shrinks).
        fold_chars(input, &mut s.a, &mut s.tmp, self.fast_paths);
        // Removing a format char or decoding an entity can form a new entity (`&#\u{202e}0;`).
        let mut rounds = 0;
        while rounds < 8 && s.a.as_str().contains('&') {
            let decoded = fold_chars_mapped(&s.a, &mut s.a2, &mut s.tmp, self.fast_paths);
            s.a.swap(&mut s.a2);
            rounds += 1;
            if !decoded {
                break;
            }
        }
        self.words(&s.a, out, &mut s.raw, &mut s.groups, &mut s.chars);
        // Fixing a word can spell a new entity (`&еe;` -> `&ee;`): decode and redo, bounded.
        let mut again = 0;
        while again < 3 && out.text.as_str().contains('&') {
            if !fold_chars_mapped(&out.text, &mut s.a, &mut s.tmp, self.fast_paths) {
                break;
            }
            self.words(&s.a, out, &mut s.raw, &mut s.groups, &mut s.chars);
            again += 1;
        }
    }

    /// Stage 2: words, spaced letters, apostrophes, homoglyphs, leet.
    fn words(
        &self,
        a: &MappedText,
        out: &mut Normalized,
        raw: &mut Vec<(usize, usize)>,
        groups: &mut Vec<(usize, usize)>,
        chars: &mut Vec<(char, usize, usize)>,
    ) {
        out.text.clear();
        out.words.clear();
        let text = a.as_str();
        raw_words(text, raw);
        // Group raw words: a run of >= 3 single-letter words joined by short separators is one word.
        groups.clear();
        let mut i = 0;
        while i < raw.len() {
            let mut j = i;
            if self.rejoin_spaced && is_single_letter(text, raw[i]) {
                // Every gap of a group is the same separator (`к б.а.г` is `к` + `баг`).
                let first_gap = raw.get(i + 1).map(|n| &text[raw[i].1..n.0]).unwrap_or("");
                while j + 1 < raw.len()
                    && is_single_letter(text, raw[j + 1])
                    && is_spacing_gap(&text[raw[j].1..raw[j + 1].0])
                    && &text[raw[j].1..raw[j + 1].0] == first_gap
                {
                    j += 1;
                }
                if j - i + 1 < 3 {
                    j = i;
                }
            }
            groups.push((i, j));
            i = j + 1;
        }
        // `a[pending..]` is still to be copied: text between words and fast-path words are
        // copied unchanged, so they are copied in one piece when a rewritten word (or the end)
        // comes, and a fast-path word's place in `out` is known before it is written.
        let mut pending = 0;
        for &(gi, gj) in groups.iter() {
            let (ws, we) = (raw[gi].0, raw[gj].1);
            if self.fast_paths
                && gi == gj
                && let Some(script) = plain_word_script(&text[ws..we])
            {
                let start = out.text.len() + (ws - pending);
                out.words.push(Word {
                    start,
                    end: start + (we - ws),
                    script,
                });
                continue;
            }
            copy_mapped(a, pending, ws, &mut out.text);
            pending = we;
            chars.clear();
            for &(rs, re) in &raw[gi..=gj] {
                for (off, c) in text[rs..re].char_indices() {
                    if is_apostrophe(c) {
                        continue;
                    }
                    let p = rs + off;
                    let (os, oe) = a.original(p, p + c.len_utf8());
                    chars.push((c, os, oe));
                }
            }
            let script = self.fix_word(chars);
            let start = out.text.len();
            for &(c, os, oe) in chars.iter() {
                if c != '\0' {
                    out.text.push_char(c, os, oe);
                }
            }
            let end = out.text.len();
            if end > start {
                out.words.push(Word { start, end, script });
            }
        }
        copy_mapped(a, pending, text.len(), &mut out.text);
    }

    /// Homoglyphs and leet inside one word; returns the word's script. Dropped chars become `\0`.
    fn fix_word(&self, chars: &mut [(char, usize, usize)]) -> Script {
        let (mut lat, mut cyr, mut grk, mut other_letters, mut digits, mut syms) =
            (0, 0, 0, 0, 0, 0);
        let (mut ulat, mut ucyr, mut ugrk) = (0, 0, 0);
        let t = tables();
        let mut counts: [usize; 7] = [0; 7];
        for &(c, _, _) in chars.iter() {
            let sc = script_of(c);
            match sc {
                Script::Latin => {
                    lat += 1;
                    if !t.lat_to_cyr.contains_key(&c) {
                        ulat += 1;
                    }
                }
                Script::Cyrillic => {
                    cyr += 1;
                    if !t.cyr_to_lat.contains_key(&c) {
                        ucyr += 1;
                    }
                }
                Script::Greek => {
                    grk += 1;
                    if !t.grk_to_lat.contains_key(&c) {
                        ugrk += 1;
                    }
                }
                _ if c.is_ascii_digit() => digits += 1,
                _ if is_leet_symbol(c) => syms += 1,
                _ if is_alnum(c) && !chars::is_numeric(c) => other_letters += 1,
                _ => {}
            }
            counts[sc as usize] += 1;
        }
        let mut target = None;
        if self.homoglyphs && (lat > 0) as u8 + (cyr > 0) as u8 + (grk > 0) as u8 >= 2 {
            let pick = if ucyr > ulat && ucyr >= ugrk {
                Script::Cyrillic
            } else if ulat >= ucyr && ulat >= ugrk && ulat > 0 {
                Script::Latin
            } else if ugrk > 0 {
                Script::Greek
            } else if cyr > lat {
                Script::Cyrillic
            } else {
                Script::Latin
            };
            target = Some(pick);
            for k in 0..chars.len() {
                let c = chars[k].0;
                let sc = script_of(c);
                // A letter carrying a combining mark keeps its script (no recomposition).
                if sc == pick || chars.get(k + 1).is_some_and(|n| is_mark(n.0)) {
                    continue;
                }
                let ch = &mut chars[k];
                let mapped = match (sc, pick) {
                    (Script::Cyrillic, Script::Latin) => t.cyr_to_lat.get(&c).copied(),
                    (Script::Greek, Script::Latin) => t.grk_to_lat.get(&c).copied(),
                    (Script::Latin, Script::Cyrillic) => t.lat_to_cyr.get(&c).copied(),
                    (Script::Greek, Script::Cyrillic) => t
                        .grk_to_lat
                        .get(&c)
                        .and_then(|l| t.lat_to_cyr.get(l))
                        .copied(),
                    (Script::Cyrillic, Script::Greek) => t
                        .cyr_to_lat
                        .get(&c)
                        .and_then(|l| t.lat_to_grk.get(l))
                        .copied(),
                    (Script::Latin, Script::Greek) => t.lat_to_grk.get(&c).copied(),
                    _ => None,
                };
                if let Some(m) = mapped {
                    ch.0 = m;
                }
            }
        }
        let letters = lat + cyr + grk + other_letters;
        let word_script = target.unwrap_or_else(|| dominant_script(&counts));
        let leet_ok = self.leet
            && (digits + syms) > 0
            && letters >= 2
            && letters >= digits + syms
            && matches!(word_script, Script::Latin | Script::Cyrillic);
        for k in 0..chars.len() {
            let c = chars[k].0;
            if !(c.is_ascii_digit() || is_leet_symbol(c)) {
                continue;
            }
            let next = chars.get(k + 1).map(|x| x.0);
            // A digit carrying a combining mark is not leet (and `0́` must not become `ó`).
            if leet_ok && !next.is_some_and(is_mark) {
                let ch = &mut chars[k];
                let m = if word_script == Script::Cyrillic {
                    // `3` and `4` stand for е/з and а/ч: before a vowel they are consonants.
                    let before_vowel = next.is_some_and(|n| "аеёиоуыэюяәөұүіӣӯ0".contains(n));
                    match c {
                        '3' if before_vowel => Some('з'),
                        '4' if before_vowel => Some('ч'),
                        _ => leet_cyr(c),
                    }
                } else {
                    leet_lat(c)
                };
                if let Some(m) = m {
                    ch.0 = m;
                }
            }
            // Not leet: a symbol stays as written (dropping it would change the next pass).
        }
        word_script
    }
}

/// The script [`Normalizer::fix_word`] would return for `w` when it would change nothing in
/// it: no apostrophe, digit or leet symbol, and at most one of Latin, Cyrillic and Greek.
/// `None`: take the slow path.
#[inline]
fn plain_word_script(w: &str) -> Option<Script> {
    let mut counts = [0usize; 7];
    if w.bytes().all(|b| b.is_ascii_lowercase()) {
        return Some(Script::Latin);
    }
    for c in w.chars() {
        let sc = script_of(c);
        // Digits, leet symbols and apostrophes are all `Other`, but for `ʻ` and `ʼ` (Latin).
        if (sc == Script::Other || matches!(c, '\u{02BB}' | '\u{02BC}'))
            && (c.is_ascii_digit() || is_leet_symbol(c) || is_apostrophe(c))
        {
            return None;
        }
        counts[sc as usize] += 1;
    }
    let confusable = [Script::Latin, Script::Cyrillic, Script::Greek]
        .iter()
        .filter(|s| counts[**s as usize] > 0)
        .count();
    if confusable > 1 {
        return None;
    }
    Some(dominant_script(&counts))
}

/// The script with the most letters in `counts` (indexed by `Script as usize`); ties go to the
/// earlier script in Latin, Cyrillic, Greek, Arabic, CJK, Devanagari order; `Other` when none.
fn dominant_script(counts: &[usize; 7]) -> Script {
    let mut best = Script::Other;
    let mut best_n = 0;
    // Every script but `Other` (the last).
    for sc in Script::ALL[..6].iter().copied() {
        if counts[sc as usize] > best_n {
            best = sc;
            best_n = counts[sc as usize];
        }
    }
    best
}

/// Latin leetspeak digits and symbols.
pub fn leet_lat(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        '8' => 'b',
        '9' => 'g',
        _ => return None,
    })
}

/// Cyrillic leetspeak: the digits that look like Cyrillic letters.
pub fn leet_cyr(c: char) -> Option<char> {
    Some(match c {
        '0' => 'о',
        '3' => 'е',
        '4' | '@' => 'а',
        '6' => 'б',
        '7' => 'т',
        '8' => 'в',
        '$' => 'с',
        '1' | '!' => 'і',
        _ => return None,
    })
}

fn is_leet_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '!')
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02BB}' | '\u{02BC}' | '\u{02B9}'
    )
}

#[inline]
fn is_word_char(c: char) -> bool {
    chars::is_alnum_or_mark(c)
}

/// `char::is_alphanumeric` with a fast path for the letter blocks of our scripts (profiling
/// the classifier showed std's table lookup for non-ASCII as its top cost, 22%).
#[inline]
pub fn is_alnum(c: char) -> bool {
    match c as u32 {
        0..=0x7F => c.is_ascii_alphanumeric(),
        0x0410..=0x044F | 0x0621..=0x063A | 0x0641..=0x064A | 0x4E00..=0x9FFF => true,
        0x0905..=0x0939 => true,
        _ => chars::is_alphanumeric(c),
    }
}

/// Maximal runs of word chars; apostrophes and leet symbols stay inside when a word char follows.
///
/// ASCII letters and digits (most bytes) take one compare; the next char is decoded only for a
/// leet symbol or an apostrophe, the only chars whose fate depends on it.
fn raw_words(text: &str, raw: &mut Vec<(usize, usize)>) {
    raw.clear();
    let bytes = text.as_bytes();
    let mut start: Option<usize> = None;
    let mut before: Option<char> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            before = Some(b as char);
            i += 1;
            continue;
        }
        let c = if b < 0x80 {
            b as char
        } else {
            match text[i..].chars().next() {
                Some(c) => c,
                None => break,
            }
        };
        let n = c.len_utf8();
        let prev = before;
        before = Some(c);
        // Every CJK range starts at or above U+3040.
        if c >= '\u{3040}' && script_of(c) == Script::Cjk {
            if let Some(s) = start.take() {
                raw.push((s, i));
            }
            raw.push((i, i + n));
            i += n;
            continue;
        }
        let next = || text[i + n..].chars().next();
        let next_is_word = || next().is_some_and(is_word_char);
        // A leet symbol opens a word only after a space or the start (so `$!a` or `'$a` never
        // re-split differently on a second pass); inside a word it always continues it.
        let inside = is_word_char(c)
            || (is_leet_symbol(c)
                && (start.is_some() || prev.is_none_or(|p| p.is_whitespace()))
                && next_is_word())
            || (is_apostrophe(c) && start.is_some() && next().is_some_and(is_alnum));
        if inside {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            raw.push((s, i));
        }
        i += n;
    }
    if let Some(s) = start {
        raw.push((s, text.len()));
    }
}

/// [`raw_words`] one char at a time with a look-ahead for every char (the reference it must
/// equal; tests only).
#[cfg(test)]
fn raw_words_slow(text: &str, raw: &mut Vec<(usize, usize)>) {
    raw.clear();
    let mut start: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let before = prev;
        prev = Some(c);
        let next_is_word = it.peek().is_some_and(|&(_, n)| is_word_char(n));
        // An apostrophe only joins letters: dropped before a combining mark, it would give the
        // mark a new base that a second pass composes differently (not idempotent).
        let next_is_alnum = it.peek().is_some_and(|&(_, n)| is_alnum(n));
        // Every CJK range starts at or above U+3040.
        let cjk = c >= '\u{3040}' && script_of(c) == Script::Cjk;
        if cjk {
            if let Some(s) = start.take() {
                raw.push((s, i));
            }
            raw.push((i, i + c.len_utf8()));
            continue;
        }
        // A leet symbol opens a word only after a space or the start (so `$!a` or `'$a` never
        // re-split differently on a second pass); inside a word it always continues it.
        let symbol_ok = is_leet_symbol(c)
            && next_is_word
            && (start.is_some() || before.is_none_or(|b| b.is_whitespace()));
        let inside =
            is_word_char(c) || symbol_ok || (is_apostrophe(c) && start.is_some() && next_is_alnum);
        if inside {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            raw.push((s, i));
        }
    }
    if let Some(s) = start {
        raw.push((s, text.len()));
    }
}

/// One grapheme of a letter: a base char plus combining marks (Devanagari matras, harakat), or a
/// virama conjunct (`क्ष`), as the spacing obfuscation separates graphemes, not chars.
fn is_single_letter(text: &str, (s, e): (usize, usize)) -> bool {
    // Two ASCII bytes: the second is neither a mark nor a letter after a virama.
    let b = text.as_bytes();
    if e > s + 1 && b[s] < 0x80 && b[s + 1] < 0x80 {
        return false;
    }
    let mut it = text[s..e].chars();
    let Some(first) = it.next() else { return false };
    if !is_alnum(first) || script_of(first) == Script::Cjk {
        return false;
    }
    let mut prev = first;
    for c in it {
        let ok = is_mark(c) || (prev == '\u{094D}' && chars::is_alphabetic(c));
        if !ok {
            return false;
        }
        prev = c;
    }
    true
}

fn is_spacing_gap(gap: &str) -> bool {
    !gap.is_empty()
        && gap.chars().count() <= 3
        && gap
            .chars()
            .all(|c| matches!(c, ' ' | '.' | '-' | '_' | '*' | '·' | '•' | '/' | '+' | '~'))
}

fn copy_mapped(a: &MappedText, from: usize, to: usize, out: &mut MappedText) {
    out.extend_from(a, from, to);
}

/// [`copy_mapped`] one char at a time (the reference it must equal; tests only).
#[cfg(test)]
fn copy_mapped_slow(a: &MappedText, from: usize, to: usize, out: &mut MappedText) {
    let text = a.as_str();
    for (off, c) in text[from..to].char_indices() {
        let p = from + off;
        let (os, oe) = a.original(p, p + c.len_utf8());
        out.push_char(c, os, oe);
    }
}

/// Where stage 1 reads from: the original text (each byte maps to itself) or a mapped text.
#[derive(Clone, Copy)]
enum Src<'a> {
    Original,
    Mapped(&'a MappedText),
}

impl Src<'_> {
    #[inline]
    fn orig(self, a: usize, b: usize) -> (usize, usize) {
        match self {
            Src::Original => (a, b),
            Src::Mapped(m) => m.original(a, b),
        }
    }

    /// Writes `text[from..to]` unchanged, every char with its own map.
    #[inline]
    fn push_same(self, text: &str, from: usize, to: usize, out: &mut MappedText) {
        match self {
            Src::Original => out.push_identity(&text[from..to], from),
            // Every byte of a char carries the char's range (see `MappedText::extend_from`).
            Src::Mapped(m) => out.extend_from(m, from, to),
        }
    }

    /// Writes ASCII `text[from..to]` lowercased, every byte with its own map.
    #[inline]
    fn push_ascii_lower(self, text: &str, from: usize, to: usize, out: &mut MappedText) {
        match self {
            Src::Original => out.push_identity_ascii_lower(&text[from..to], from),
            Src::Mapped(m) => out.extend_ascii_lower_from(m, from, to),
        }
    }
}

/// Stage 1 over the original text (identity map). Returns whether an entity was decoded.
fn fold_chars(src: &str, out: &mut MappedText, tmp: &mut String, fast: bool) -> bool {
    fold_generic(src, Src::Original, out, tmp, fast)
}

/// Stage 1 again over already mapped text (entity rounds).
fn fold_chars_mapped(src: &MappedText, out: &mut MappedText, tmp: &mut String, fast: bool) -> bool {
    fold_generic(src.as_str(), Src::Mapped(src), out, tmp, fast)
}

fn fold_generic(
    src: &str,
    from: Src<'_>,
    out: &mut MappedText,
    tmp: &mut String,
    fast: bool,
) -> bool {
    let orig = |a: usize, b: usize| from.orig(a, b);
    out.clear();
    let bytes = src.as_bytes();
    // Slow path: one quick check over the whole text decides whether clusters are composed.
    // Fast path: each cluster decides for itself, which gives the same output (a text that
    // passes the quick check has only passing clusters, and a passing cluster that folding
    // leaves unchanged is not recomposed either way) without a scan of the whole text.
    let nfkc_all = !fast && !src.is_ascii() && !is_nfkc_quick_yes(src);
    let mut decoded_any = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'&'
            && let Some((len, dec)) = decode_entity(&src[i..])
        {
            let (os, oe) = orig(i, i + len);
            decoded_any = true;
            let d: String = if dec.is_ascii() {
                dec.into_owned()
            } else {
                dec.nfkc().collect()
            };
            for c in d.chars() {
                fold_char(c, os, oe, out);
            }
            i += len;
            continue;
        }
        // A run of ASCII bytes (no `&`, which may open an entity) is lowercased in bulk; its
        // last byte stays out when a non-ASCII char follows (it may take a combining mark).
        if b < 0x80 && b != b'&' {
            let mut k = i + 1;
            while k < bytes.len() && bytes[k] < 0x80 && bytes[k] != b'&' {
                k += 1;
            }
            let end = if k < bytes.len() && bytes[k] >= 0x80 {
                k - 1
            } else {
                k
            };
            if end > i {
                from.push_ascii_lower(src, i, end, out);
                i = end;
                continue;
            }
        }
        if b < 0x80 && (i + 1 >= bytes.len() || bytes[i + 1] < 0x80) {
            let (os, oe) = orig(i, i + 1);
            out.push_char(b.to_ascii_lowercase() as char, os, oe);
            i += 1;
            continue;
        }
        // A run of lone chars that are NFKC, kept by folding, and not followed by a mark (the
        // lone-char case below, one char at a time): themselves, copied in one piece.
        if fast && b >= 0x80 {
            let mut j = i;
            let mut it = src[i..].chars();
            let mut cur = it.next();
            // Whether `cur` is known to fold to itself (then it is also a starter, not removed).
            let mut cur_self = false;
            while let Some(c) = cur {
                if c.is_ascii() || !(cur_self || chars::folds_to_itself(c)) {
                    break;
                }
                let next = it.next();
                let next_self = next.is_some_and(|x| !x.is_ascii() && chars::folds_to_itself(x));
                if !next_self && !next.is_none_or(|x| chars::ccc_is_zero(x) && !is_removed(x)) {
                    break;
                }
                j += c.len_utf8();
                cur = next;
                cur_self = next_self;
            }
            if j > i {
                from.push_same(src, i, j, out);
                i = j;
                continue;
            }
        }
        // A cluster: a char and the combining marks after it (NFKC composes within clusters).
        let Some(c) = src[i..].chars().next() else {
            break;
        };
        let mut j = i + c.len_utf8();
        // A lone char that is NFKC, kept by folding, and not followed by a mark: itself.
        if fast
            && chars::folds_to_itself(c)
            && src[j..]
                .chars()
                .next()
                .is_none_or(|n| chars::ccc_is_zero(n) && !is_removed(n))
        {
            let (os, oe) = orig(i, j);
            out.push_char(c, os, oe);
            i = j;
            continue;
        }
        while let Some(n) = src[j..].chars().next() {
            // Removed format chars stay inside the cluster, so `k\u{202e}\u{301}` composes now
            // and not only on a second pass.
            if chars::ccc_is_zero(n) && !is_removed(n) {
                break;
            }
            j += n.len_utf8();
        }
        let nfkc = if fast {
            !is_nfkc_quick_yes(&src[i..j])
        } else {
            nfkc_all
        };
        let (os, oe) = orig(i, j);
        // Fold the cluster into a scratch string first: folding can un-compose (`İ́` -> `i´`),
        // so the folded cluster is NFKC-composed again before it is written.
        let mark = out.len();
        // A cluster that passes the quick check is its own NFKC: skip the composer.
        if nfkc && (fast || !is_nfkc_quick_yes(&src[i..j])) {
            tmp.clear();
            tmp.extend(src[i..j].nfkc());
            for c in tmp.chars() {
                fold_char(c, os, oe, out);
            }
        } else {
            for c in src[i..j].chars() {
                fold_char(c, os, oe, out);
            }
        }
        let folded = &out.as_str()[mark..];
        // Re-compose only when folding changed the cluster (the common case is unchanged).
        let changed = nfkc || folded != &src[i..j];
        if changed && !folded.is_ascii() && !is_nfkc_quick_yes(folded) {
            tmp.clear();
            tmp.extend(folded.nfkc());
            out.truncate(mark);
            for c in tmp.chars() {
                fold_char(c, os, oe, out);
            }
        }
        i = j;
    }
    decoded_any
}

/// `&name;` / `&#123;` / `&#x1F;` at the start of `s`: its byte length and decoded text.
fn decode_entity(s: &str) -> Option<(usize, Cow<'_, str>)> {
    let b = s.as_bytes();
    let lim = b.len().min(40);
    let mut k = 1;
    while k < lim && (b[k].is_ascii_alphanumeric() || (k == 1 && b[k] == b'#')) {
        k += 1;
    }
    if k >= lim || b[k] != b';' || k < 2 {
        return None;
    }
    let ent = &s[..=k];
    let dec = htmlize::unescape(ent);
    if dec == ent {
        return None;
    }
    Some((k + 1, dec))
}

/// Removed outright: zero-width and bidi format controls, soft hyphen, variation selectors,
/// tags, Arabic harakat and tatweel.
#[inline]
pub fn is_removed(c: char) -> bool {
    let u = c as u32;
    // Below U+0600 (ASCII, Latin, Greek, Cyrillic: most chars) only two are removed.
    if u < 0x0600 {
        return u == 0x00AD || u == 0x034F;
    }
    matches!(u,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED | 0x0640)
}

/// What [`fold_char`] writes for `c` alone (`None`: nothing); builds the fast-path table.
pub(super) fn fold_one(c: char) -> Option<String> {
    // std's properties, not `chars::`: this runs while the `chars` table is being built.
    let mut m = MappedText::new();
    fold_char_with(c, 0, 0, &mut m, c.is_lowercase() || !c.is_alphabetic());
    (!m.is_empty()).then(|| m.as_str().to_string())
}

#[inline]
fn fold_char(c: char, os: usize, oe: usize, out: &mut MappedText) {
    let keep_case = chars::is_lowercase(c) || !chars::is_alphabetic(c);
    fold_char_with(c, os, oe, out, keep_case);
}

/// [`fold_char`] given whether `c` is lowercase or not a letter (`keep_case`).
#[inline]
fn fold_char_with(c: char, os: usize, oe: usize, out: &mut MappedText, keep_case: bool) {
    if is_removed(c) {
        return;
    }
    match c {
        'İ' => out.push_char('i', os, oe),
        'ß' | 'ẞ' => out.push_str("ss", os, oe),
        _ if keep_case => push_folded(c, os, oe, out),
        _ => {
            for l in c.to_lowercase() {
                push_folded(l, os, oe, out);
            }
        }
    }
}

#[inline]
fn push_folded(c: char, os: usize, oe: usize, out: &mut MappedText) {
    let m = match c {
        'ς' => 'σ',
        'ё' => 'е',
        'ي' | 'ى' => 'ی',
        'ك' => 'ک',
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ۀ' | 'ہ' | 'ە' => 'ه',
        'ۃ' => 'ة',
        '\u{0307}' => return,
        _ => c,
    };
    out.push_char(m, os, oe);
}

/// A char -> char map over code points below [`DENSE_END`] (all homoglyph keys are): an array
/// index instead of a SipHash per letter (hashing was 5% of classify instructions).
struct Dense(Vec<char>);

const DENSE_END: usize = 0x0530;

impl Dense {
    fn new() -> Self {
        Dense(vec!['\0'; DENSE_END])
    }

    #[inline]
    fn get(&self, c: &char) -> Option<&char> {
        self.0.get(*c as usize).filter(|m| **m != '\0')
    }

    #[inline]
    fn contains_key(&self, c: &char) -> bool {
        self.get(c).is_some()
    }

    /// Inserts unless `c` already has a value (or lies outside the map).
    fn insert_new(&mut self, c: char, m: char) {
        if let Some(slot) = self.0.get_mut(c as usize)
            && *slot == '\0'
        {
            *slot = m;
        }
    }
}

struct Tables {
    cyr_to_lat: Dense,
    lat_to_cyr: Dense,
    grk_to_lat: Dense,
    lat_to_grk: Dense,
}

/// Homoglyph pairs: a hand list of the classic look-alikes, completed from the UTS #39
/// confusables data (`unicode_security::skeleton`) for every lowercase Cyrillic and Greek letter
/// whose skeleton is a single ASCII letter.
fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tables {
            cyr_to_lat: Dense::new(),
            lat_to_cyr: Dense::new(),
            grk_to_lat: Dense::new(),
            lat_to_grk: Dense::new(),
        };
        // Reverse direction prefers these (basic Russian letters first).
        let cyr = [
            ('а', 'a'),
            ('в', 'b'),
            ('е', 'e'),
            ('к', 'k'),
            ('м', 'm'),
            ('н', 'h'),
            ('о', 'o'),
            ('р', 'p'),
            ('с', 'c'),
            ('т', 't'),
            ('у', 'y'),
            ('х', 'x'),
            ('і', 'i'),
            ('ј', 'j'),
            ('ѕ', 's'),
            ('һ', 'h'),
            ('ԁ', 'd'),
            ('ԛ', 'q'),
            ('ԝ', 'w'),
            ('ү', 'y'),
        ];
        for (c, l) in cyr {
            t.cyr_to_lat.insert_new(c, l);
            t.lat_to_cyr.insert_new(l, c);
        }
        let grk = [
            ('α', 'a'),
            ('β', 'b'),
            ('ε', 'e'),
            ('η', 'n'),
            ('ι', 'i'),
            ('κ', 'k'),
            ('ν', 'v'),
            ('ο', 'o'),
            ('ρ', 'p'),
            ('τ', 't'),
            ('υ', 'u'),
            ('χ', 'x'),
            ('γ', 'y'),
            ('μ', 'u'),
        ];
        for (c, l) in grk {
            t.grk_to_lat.insert_new(c, l);
            t.lat_to_grk.insert_new(l, c);
        }
        for u in (0x0400u32..=0x04FF).chain(0x0370..=0x03FF) {
            let Some(c) = char::from_u32(u) else { continue };
            if !c.is_lowercase() {
                continue;
            }
            let mut buf = [0u8; 4];
            let sk: String = unicode_security::skeleton(c.encode_utf8(&mut buf)).collect();
            let mut it = sk.chars();
            if let (Some(l), None) = (it.next(), it.next())
                && l.is_ascii_alphabetic()
            {
                let l = l.to_ascii_lowercase();
                if script_of(c) == Script::Cyrillic {
                    t.cyr_to_lat.insert_new(c, l);
                } else {
                    t.grk_to_lat.insert_new(c, l);
                }
            }
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).as_str().to_string()
    }

    fn words(s: &str) -> Vec<String> {
        let n = normalize(s);
        n.words.iter().map(|w| n.word_str(w).to_string()).collect()
    }

    #[test]
    fn case_folding_and_nfkc() {
        assert_eq!(norm("ＪＯＩＮ Straße"), "join strasse");
        assert_eq!(norm("ЁЛКА"), "елка");
    }

    #[test]
    fn entities_decode_and_map_back() {
        let n = normalize("ab &amp;#1092; cd");
        assert_eq!(n.as_str(), "ab ф cd");
        let w = n.words[1];
        assert_eq!(n.original(&w), (3, 14));
    }

    #[test]
    fn zero_width_and_bidi_removed() {
        assert_eq!(
            words("jo\u{200b}in th\u{202e}e or\u{00ad}der"),
            ["join", "the", "order"]
        );
    }

    #[test]
    fn persian_zwnj_is_a_word_internal_joiner() {
        assert_eq!(words("نمی\u{200c}شود"), ["نمیشود"]);
    }

    #[test]
    fn spaced_letters_rejoined() {
        assert_eq!(words("please j o i n us"), ["please", "join", "us"]);
        assert_eq!(words("j.o.i.n now"), ["join", "now"]);
        assert_eq!(words("ж-д-а-т-ь"), ["ждать"]);
        assert_eq!(words("a b"), ["a", "b"]);
    }

    #[test]
    fn leet_inside_word_is_folded() {
        assert_eq!(
            words("j0in the l4ntern @ttack 2015"),
            ["join", "the", "lantern", "attack", "2015"]
        );
        assert_eq!(words("wow!"), ["wow"]);
        assert_eq!(words("$100"), ["$100"]);
    }

    #[test]
    fn homoglyphs_fixed_per_word_only() {
        // Latin word with Cyrillic о and с.
        assert_eq!(
            words("lantern \u{043e}rder \u{0441}rimson"),
            ["lantern", "order", "crimson"]
        );
        // Cyrillic word with Latin a and o; genuine Cyrillic words untouched.
        assert_eq!(words("фoнaрь сорок"), ["фонарь", "сорок"]);
    }

    #[test]
    fn turkish_capital_dotted_i() {
        assert_eq!(norm("İSTANBUL"), "istanbul");
    }

    #[test]
    fn arabic_variants_unified() {
        assert_eq!(norm("كتاب"), norm("کتاب"));
        assert_eq!(norm("الفانوس"), norm("الفانُوس"));
    }

    #[test]
    fn apostrophes_inside_words_dropped() {
        assert_eq!(words("oʻchmaydi o'chmaydi"), ["ochmaydi", "ochmaydi"]);
    }

    /// Everything a normalisation produces: text, words, and the map of every byte.
    fn dump(n: &Normalized) -> (String, Vec<Word>, Vec<(usize, usize)>) {
        let m = (0..n.text.len())
            .map(|i| n.text.original(i, i + 1))
            .collect();
        (n.as_str().to_string(), n.words.clone(), m)
    }

    fn fast_and_slow(s: &str) -> (String, Vec<Word>, Vec<(usize, usize)>) {
        let (mut a, mut b) = (Normalized::default(), Normalized::default());
        let mut sc = NormScratch::default();
        Normalizer::default().normalize_into(s, &mut a, &mut sc);
        let slow = Normalizer {
            fast_paths: false,
            ..Normalizer::default()
        };
        slow.normalize_into(s, &mut b, &mut sc);
        let (da, db) = (dump(&a), dump(&b));
        assert_eq!(da, db, "fast path != slow path on {s:?}");
        da
    }

    /// STYLE.md 3.7: the fast paths change nothing on the bench file (12 languages, every
    /// obfuscation the corpus applies).
    #[test]
    fn fast_path_equals_slow_path_on_bench_posts() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/data/posts-mixed.jsonl"
        );
        let data = std::fs::read_to_string(path).expect("bench data");
        let mut n = 0;
        for line in data.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                fast_and_slow(t);
                n += 1;
            }
        }
        assert!(n > 1000, "{n} posts");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn fast_path_equals_slow_path_on_any_text(s in "\\PC{0,60}") {
            fast_and_slow(&s);
        }

        #[test]
        fn fast_path_equals_slow_path_on_mixed_scripts(
            s in "([a-zA-Z0-9@$!' .\u{0400}-\u{04FF}\u{0370}-\u{03FF}\u{0600}-\u{06FF}\u{0900}-\u{097F}\u{0300}-\u{0310}\u{200b}\u{200c}&;#]){0,40}"
        ) {
            fast_and_slow(&s);
        }
    }

    #[test]
    fn copy_mapped_equals_per_char_copy() {
        for s in [
            "ab &amp;#1092; cd",
            "ＪＯＩＮ Straße",
            "фoнaрь e\u{301}x",
            "j.o.i.n 灯笼",
        ] {
            let n = normalize(s);
            for (from, to) in [(0, n.text.len()), (1, n.text.len()), (0, 0)] {
                if !n.as_str().is_char_boundary(from) {
                    continue;
                }
                let (mut a, mut b) = (MappedText::new(), MappedText::new());
                copy_mapped(&n.text, from, to, &mut a);
                copy_mapped_slow(&n.text, from, to, &mut b);
                assert_eq!(a.as_str(), b.as_str());
                for i in 0..a.len() {
                    assert_eq!(a.original(i, i + 1), b.original(i, i + 1), "{s:?} {i}");
                }
            }
        }
    }

    /// The definition [`is_removed`] must equal (its fast path skips most of the ranges).
    fn is_removed_slow(c: char) -> bool {
        matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
            | 0xFEFF | 0xFFA0 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF
            | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED | 0x0640)
    }

    #[test]
    fn is_removed_equals_its_definition() {
        for u in 0..=0x10FFFF {
            if let Some(c) = char::from_u32(u) {
                assert_eq!(is_removed(c), is_removed_slow(c), "{u:#x}");
            }
        }
    }

    fn raw_of(s: &str, fast: bool) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        if fast {
            raw_words(s, &mut v);
        } else {
            raw_words_slow(s, &mut v);
        }
        v
    }

    #[test]
    fn raw_words_equals_reference_on_bench_posts() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/data/posts-mixed.jsonl"
        );
        let data = std::fs::read_to_string(path).expect("bench data");
        for line in data.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                let n = normalize(t);
                for s in [t, n.as_str()] {
                    assert_eq!(raw_of(s, true), raw_of(s, false), "{s:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn raw_words_equals_reference(
            s in "([a-zA-Z0-9@$!'` .\u{2019}\u{02BB}\u{0400}-\u{04FF}\u{0600}-\u{06FF}\u{0300}-\u{0310}\u{4E00}-\u{4E10}\u{3040}\u{200c}\n\t]){0,40}"
        ) {
            proptest::prop_assert_eq!(raw_of(&s, true), raw_of(&s, false));
        }
    }

    #[test]
    fn an_apostrophe_before_a_combining_mark_does_not_join_it_to_a_new_base() {
        // Found by the integration proptest: dropping the backtick made the two marks adjacent
        // and a second pass reordered them canonically.
        for s in ["\u{1e130}`\u{16af0}", "a`\u{301}", "don't"] {
            let n = normalize(s);
            assert_eq!(normalize(n.as_str()).as_str(), n.as_str(), "{s:?}");
        }
        assert_eq!(normalize("don't").as_str(), "dont");
    }

    #[test]
    fn spans_map_to_original_chars() {
        let src = "Ｊ0ＩＮ now";
        let n = normalize(src);
        let (s, e) = n.original(&n.words[0]);
        assert_eq!(&src[s..e], "Ｊ0ＩＮ");
    }
}
