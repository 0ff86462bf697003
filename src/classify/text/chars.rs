//! Fast char properties for the hot path: one byte of flags per code point below U+0A00 (Latin,
//! Greek, Cyrillic, Arabic, Devanagari), computed once from `std` and `unicode-normalization`,
//! so every answer is exactly theirs (a test compares every code point).
//!
//! Measured (callgrind, `trawl classify --threads 1` on `benches/data/posts-mixed.jsonl`): std's
//! `char::is_alphabetic` for non-ASCII (`alphabetic::lookup_slow`, a binary search) was 14% of all
//! instructions, `is_nfkc_quick` 7%; a table byte costs a load.

use std::sync::OnceLock;

use unicode_normalization::char::{canonical_combining_class, is_combining_mark};
use unicode_normalization::{IsNormalized, is_nfkc_quick};

/// Code points below this are answered from the table.
const TABLE_END: u32 = 0x0A00;

const ALPHA: u8 = 1;
const ALNUM: u8 = 2;
const NUMERIC: u8 = 4;
const LOWER: u8 = 8;
const MARK: u8 = 16;
/// NFKC quick check `Yes` and canonical combining class 0: a run of such chars is NFKC.
const NFKC_STARTER: u8 = 32;
/// Canonical combining class 0.
const CCC0: u8 = 64;
/// The normaliser's per-char fold leaves it as it is (see [`folds_to_itself`]).
const SELF_FOLD: u8 = 128;

/// The slow definition of [`folds_to_itself`].
fn self_fold(c: char) -> bool {
    let mut b = [0u8; 4];
    let s: &str = c.encode_utf8(&mut b);
    is_nfkc_quick(s.chars()) == IsNormalized::Yes
        && canonical_combining_class(c) == 0
        && super::normalize::fold_one(c).as_deref() == Some(s)
}

fn table() -> &'static [u8] {
    static T: OnceLock<Box<[u8]>> = OnceLock::new();
    T.get_or_init(|| {
        (0..TABLE_END)
            .map(|u| {
                let Some(c) = char::from_u32(u) else { return 0 };
                let mut f = 0;
                for (yes, bit) in [
                    (c.is_alphabetic(), ALPHA),
                    (c.is_alphanumeric(), ALNUM),
                    (c.is_numeric(), NUMERIC),
                    (c.is_lowercase(), LOWER),
                    (is_combining_mark(c), MARK),
                    (
                        is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
                            && canonical_combining_class(c) == 0,
                        NFKC_STARTER,
                    ),
                    (canonical_combining_class(c) == 0, CCC0),
                    (self_fold(c), SELF_FOLD),
                ] {
                    if yes {
                        f |= bit;
                    }
                }
                f
            })
            .collect()
    })
}

/// Han ideographs U+4E00..=U+9FFF: alphabetic, alphanumeric, not numeric, not lowercase, not
/// marks, NFKC starters that fold to themselves (checked for every code point by a test).
#[inline]
fn is_han(u: u32) -> bool {
    (0x4E00..=0x9FFF).contains(&u)
}

#[inline]
fn flags(c: char) -> Option<u8> {
    let u = c as u32;
    if u < TABLE_END {
        Some(table()[u as usize])
    } else if is_han(u) {
        Some(ALPHA | ALNUM | NFKC_STARTER | CCC0 | SELF_FOLD)
    } else {
        None
    }
}

/// `char::is_alphabetic`, fast for our scripts.
#[inline]
pub fn is_alphabetic(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    match flags(c) {
        Some(f) => f & ALPHA != 0,
        None => c.is_alphabetic(),
    }
}

/// `char::is_alphanumeric`, fast for our scripts.
#[inline]
pub fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    match flags(c) {
        Some(f) => f & ALNUM != 0,
        None => c.is_alphanumeric(),
    }
}

/// `char::is_numeric`, fast for our scripts.
#[inline]
pub fn is_numeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    match flags(c) {
        Some(f) => f & NUMERIC != 0,
        None => c.is_numeric(),
    }
}

/// `char::is_lowercase`, fast for our scripts.
#[inline]
pub fn is_lowercase(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_lowercase();
    }
    match flags(c) {
        Some(f) => f & LOWER != 0,
        None => c.is_lowercase(),
    }
}

/// `unicode_normalization::char::is_combining_mark`, fast for our scripts.
#[inline]
pub fn is_mark(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    match flags(c) {
        Some(f) => f & MARK != 0,
        None => is_combining_mark(c),
    }
}

/// `is_alphanumeric(c) || is_mark(c)` (a word char of the normaliser) in one lookup.
#[inline]
pub fn is_alnum_or_mark(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    match flags(c) {
        Some(f) => f & (ALNUM | MARK) != 0,
        None => c.is_alphanumeric() || is_combining_mark(c),
    }
}

/// Whether the normaliser's character stage writes a lone non-ASCII `c` unchanged: NFKC (quick
/// check `Yes`, combining class 0), not removed, not changed by case folding or spelling
/// unification. Only code points in the table say `true`; others take the full path.
#[inline]
pub fn folds_to_itself(c: char) -> bool {
    flags(c).is_some_and(|f| f & SELF_FOLD != 0)
}

/// `canonical_combining_class(c) == 0`, fast for our scripts.
#[inline]
pub fn ccc_is_zero(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    match flags(c) {
        Some(f) => f & CCC0 != 0,
        None => canonical_combining_class(c) == 0,
    }
}

/// Whether `is_nfkc_quick(s.chars())` is `Yes`: `true` at once when every char is an NFKC
/// starter from the table (the common case), else the full quick check.
pub fn is_nfkc_quick_yes(s: &str) -> bool {
    let simple = s
        .chars()
        .all(|c| c.is_ascii() || flags(c).is_some_and(|f| f & NFKC_STARTER != 0));
    simple || is_nfkc_quick(s.chars()) == IsNormalized::Yes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fast path == slow path for every code point the table or the Han range answers.
    #[test]
    fn table_agrees_with_std_everywhere() {
        for u in (0..TABLE_END).chain(0x4E00..=0x9FFF).chain(0xA000..0xA100) {
            let Some(c) = char::from_u32(u) else { continue };
            assert_eq!(is_alphabetic(c), c.is_alphabetic(), "{u:#x}");
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{u:#x}");
            assert_eq!(is_numeric(c), c.is_numeric(), "{u:#x}");
            assert_eq!(is_lowercase(c), c.is_lowercase(), "{u:#x}");
            assert_eq!(is_mark(c), is_combining_mark(c), "{u:#x}");
            assert_eq!(
                is_alnum_or_mark(c),
                c.is_alphanumeric() || is_combining_mark(c),
                "{u:#x}"
            );
            assert_eq!(ccc_is_zero(c), canonical_combining_class(c) == 0, "{u:#x}");
            if !c.is_ascii() && u < 0xA000 {
                assert_eq!(folds_to_itself(c), self_fold(c), "{u:#x}");
            }
            let mut b = [0u8; 4];
            let s = c.encode_utf8(&mut b);
            assert_eq!(
                is_nfkc_quick_yes(s),
                is_nfkc_quick(s.chars()) == IsNormalized::Yes,
                "{u:#x}"
            );
        }
    }

    #[test]
    fn quick_check_on_strings_matches() {
        for s in [
            "abc",
            "фонарь",
            "e\u{301}",
            "\u{301}e",
            "ａｂ",
            "a\u{308}\u{301}",
            "नमस्ते",
            "灯笼",
            "ﻻ",
        ] {
            assert_eq!(
                is_nfkc_quick_yes(s),
                is_nfkc_quick(s.chars()) == IsNormalized::Yes,
                "{s:?}"
            );
        }
    }
}
