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
        } else {
            out.push(Tok {
                start: w.start as u32,
                end: w.end as u32,
                script: w.script,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::text::normalize::normalize;

    #[test]
    fn han_is_split_per_character() {
        let n = normalize("绯红灯笼 OCL");
        let mut t = Vec::new();
        tokenize(&n, &mut t);
        let s: Vec<&str> = t
            .iter()
            .map(|t| &n.as_str()[t.start as usize..t.end as usize])
            .collect();
        assert_eq!(s, ["绯", "红", "灯", "笼", "ocl"]);
    }
}
