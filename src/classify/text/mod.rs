//! TEMPORARY STAND-IN (index stream): replaced by the classify stream's real text pipeline at
//! merge. Lowercase + split on non-alphanumerics, with byte offsets into the original text.

use crate::model::Lang;

/// One token: normalised text and its byte range in the ORIGINAL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Normalised (and, in the real pipeline, stemmed) text.
    pub text: String,
    /// Start byte offset in the original text.
    pub start: usize,
    /// End byte offset in the original text.
    pub end: usize,
}

/// TEMPORARY STAND-IN: lowercase words split on non-alphanumerics.
pub fn analyze(text: &str, _lang: Lang) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push(Token {
                text: text[s..i].to_lowercase(),
                start: s,
                end: i,
            });
        }
    }
    if let Some(s) = start {
        out.push(Token {
            text: text[s..].to_lowercase(),
            start: s,
            end: text.len(),
        });
    }
    out
}
