//! Tokens over normalised text: the normaliser's words (runs of letters, digits and marks: the
//! Unicode word boundaries that matter for our scripts, at twice the speed of full UAX #29),
//! with Han, kana and Hangul split into one token per character, so a phrase of characters
//! matches as a sequence of single-character tokens (the index adds bigrams on top).

use super::normalize::Normalized;
use super::script::Script;

/// A token in the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tok {
    /// Start byte in the normalised text.
    pub start: u32,
    /// End byte in the normalised text.
    pub end: u32,
    /// Script of the token.
    pub script: Script,
}

/// Fills `out` with the tokens of `n`.
pub fn tokenize(n: &Normalized, out: &mut Vec<Tok>) {
    out.clear();
    let text = n.as_str();
    for w in &n.words {
        if w.script == Script::Cjk {
            for (off, c) in text[w.start..w.end].char_indices() {
                let s = w.start + off;
                let script = super::script::script_of(c);
                out.push(Tok {
                    start: s as u32,
                    end: (s + c.len_utf8()) as u32,
                    script,
                });
            }
        } else if mixes_arabic_and_ascii(&text.as_bytes()[w.start..w.end]) {
            split_arabic_latin(text, w.start, w.end, out);
        } else {
            out.push(Tok {
                start: w.start as u32,
                end: w.end as u32,
                script: w.script,
            });
        }
    }
}

/// Arabic-script letters (U+0600..U+06FF, U+0750..U+077F) start with these UTF-8 lead bytes.
#[inline]
fn is_arabic_lead(b: u8) -> bool {
    matches!(b, 0xD8..=0xDB | 0xDD)
}

/// A word holding both Arabic-script and ASCII letters (`بـOCL`: a clitic written onto a Latin
/// name). Never a homoglyph trick (those mix Latin, Cyrillic and Greek), so it is split.
#[inline]
fn mixes_arabic_and_ascii(w: &[u8]) -> bool {
    w.iter().any(|&b| is_arabic_lead(b)) && w.iter().any(u8::is_ascii_alphabetic)
}

/// Splits `text[start..end]` where Arabic-script letters meet ASCII letters; other characters
/// (digits, marks) stay with the piece they follow.
fn split_arabic_latin(text: &str, start: usize, end: usize, out: &mut Vec<Tok>) {
    let mut piece = start;
    let mut prev: Option<bool> = None; // Some(true): last letter was Arabic-script.
    for (off, c) in text[start..end].char_indices() {
        let class = if c.is_ascii_alphabetic() {
            Some(false)
        } else if super::script::script_of(c) == Script::Arabic {
            Some(true)
        } else {
            None
        };
        let at = start + off;
        if let (Some(now), Some(before)) = (class, prev)
            && now != before
            && at > piece
        {
            push_piece(text, piece, at, out);
            piece = at;
        }
        if class.is_some() {
            prev = class;
        }
    }
    if end > piece {
        push_piece(text, piece, end, out);
    }
}

fn push_piece(text: &str, start: usize, end: usize, out: &mut Vec<Tok>) {
    let script = text[start..end]
        .chars()
        .map(super::script::script_of)
        .find(|s| *s != Script::Other)
        .unwrap_or(Script::Other);
    out.push(Tok {
        start: start as u32,
        end: end as u32,
        script,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::text::normalize::normalize;

    fn words(text: &str) -> Vec<String> {
        let n = normalize(text);
        let mut t = Vec::new();
        tokenize(&n, &mut t);
        t.iter()
            .map(|t| n.as_str()[t.start as usize..t.end as usize].to_string())
            .collect()
    }

    #[test]
    fn han_is_split_per_character() {
        assert_eq!(words("绯红灯笼 OCL"), ["绯", "红", "灯", "笼", "ocl"]);
    }

    #[test]
    fn arabic_clitic_on_a_latin_name_is_split_homoglyphs_are_not() {
        for (text, want) in [
            ("التحق بـOCL", vec!["التحق", "ب", "ocl"]),
            ("للOCL", vec!["لل", "ocl"]),
            ("kызыл", vec!["кызыл"]),
        ] {
            assert_eq!(words(text), want, "{text}");
        }
    }
}
