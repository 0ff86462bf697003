//! Tantivy tokenizers: the rule engine's analyser (so a search term stems exactly as the rules
//! stem it) and a plain lowercase word tokenizer for the stored text.
//!
//! Both report byte offsets into the ORIGINAL text, which is what lets snippets highlight the
//! characters that were actually written (`j0ining`, `ЈOIN`) even though the index holds `join`.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer, TokenizerManager};
use unicode_segmentation::UnicodeSegmentation;

use crate::classify::text::analyze;
use crate::model::Lang;

use super::schema::{WORDS_TOKENIZER, stem_tokenizer_name};

/// Wraps [`crate::classify::text::analyze`] for one language.
#[derive(Debug, Clone)]
pub struct StemTokenizer {
    lang: Lang,
}

impl StemTokenizer {
    /// A tokenizer that analyses text as `lang`.
    pub fn new(lang: Lang) -> Self {
        StemTokenizer { lang }
    }
}

/// A token stream over tokens computed up front.
#[derive(Debug)]
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
    empty: Token,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream {
            tokens,
            next: 0,
            empty: Token::default(),
        }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.tokens
            .get(self.next.wrapping_sub(1))
            .unwrap_or(&self.empty)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.tokens.get_mut(self.next.wrapping_sub(1)) {
            Some(t) => t,
            None => &mut self.empty,
        }
    }
}

impl Tokenizer for StemTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = analyze(text, self.lang)
            .into_iter()
            .filter(|t| !t.text.is_empty())
            .enumerate()
            .map(|(position, t)| Token {
                offset_from: t.start,
                offset_to: t.end,
                position,
                text: t.text,
                position_length: 1,
            })
            .collect();
        VecTokenStream::new(tokens)
    }
}

/// Lowercased Unicode words (UAX #29); ideographs come out one per token.
#[derive(Debug, Clone, Default)]
pub struct WordTokenizer;

/// The plain word tokens of `text`: (byte start, byte end, lowercased word).
pub fn words(text: &str) -> impl Iterator<Item = (usize, usize, String)> + '_ {
    text.unicode_word_indices()
        .map(|(start, w)| (start, start + w.len(), w.to_lowercase()))
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = words(text)
            .enumerate()
            .map(|(position, (offset_from, offset_to, text))| Token {
                offset_from,
                offset_to,
                position,
                text,
                position_length: 1,
            })
            .collect();
        VecTokenStream::new(tokens)
    }
}

/// Registers the word tokenizer and one stem tokenizer per language.
pub fn register(manager: &TokenizerManager) {
    manager.register(WORDS_TOKENIZER, WordTokenizer);
    for &lang in Lang::ALL {
        manager.register(&stem_tokenizer_name(lang), StemTokenizer::new(lang));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<T: Tokenizer>(mut t: T, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut out = Vec::new();
        let mut s = t.token_stream(text);
        while let Some(tok) = s.next() {
            out.push((
                tok.text.clone(),
                tok.offset_from,
                tok.offset_to,
                tok.position,
            ));
        }
        out
    }

    #[test]
    fn words_are_lowercased_with_original_offsets() {
        let toks = collect(WordTokenizer, "Привет, МИР! ok");
        assert_eq!(toks[0], ("привет".to_string(), 0, 12, 0));
        assert_eq!(toks[1], ("мир".to_string(), 14, 20, 1));
        assert_eq!(toks[2].0, "ok");
    }

    #[test]
    fn stem_tokenizer_offsets_point_into_the_original() {
        let text = "Join NOW";
        let toks = collect(StemTokenizer::new(Lang::En), text);
        assert!(!toks.is_empty());
        for (_, from, to, _) in &toks {
            assert!(text.get(*from..*to).is_some());
        }
        let positions: Vec<_> = toks.iter().map(|t| t.3).collect();
        assert_eq!(positions, (0..toks.len()).collect::<Vec<_>>());
    }

    #[test]
    fn empty_text_yields_no_tokens() {
        assert!(collect(WordTokenizer, "").is_empty());
        assert!(collect(StemTokenizer::new(Lang::Ru), "  ,, ").is_empty());
    }
}
