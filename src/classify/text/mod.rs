//! The text pipeline shared by rules and search: normalise (with offsets back to the original),
//! decide the language, tokenise, stem.
//!
//! `analyze(text, lang)` is what the index calls, so a term stems the same in a rule pack and in
//! a search query. Must not use `classify::rules`.

pub mod chars;
pub mod hash;
pub mod lang;
pub mod normalize;
pub mod offsets;
pub mod script;
pub mod stem;
pub mod tokens;
pub mod translit;

use std::cell::RefCell;

pub use lang::{LOW_CONFIDENCE, detect, detect_by_letters, detect_mixed, script_of_lang};
pub use normalize::{NormScratch, Normalized, Normalizer, normalize};
pub use script::{Script, script_of};
pub use stem::{StemCache, Stemmer};
pub use tokens::{Tok, tokenize};

use crate::model::Lang;

/// One analysed token: normalised and stemmed text, byte range in the ORIGINAL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Normalised + stemmed text.
    pub text: String,
    /// Start byte in the original text (char boundary).
    pub start: usize,
    /// End byte in the original text (char boundary).
    pub end: usize,
}

/// The language a token is stemmed in: `lang` when the token is in `lang`'s script, otherwise
/// the main language of the token's own script (Latin: en, Cyrillic: ru, Arabic: ar,
/// Devanagari: hi), so a code-mixed post stems each part sensibly.
pub fn stem_lang(lang: Lang, script: Script) -> Option<Lang> {
    if script_of_lang(lang) == script {
        return Some(lang);
    }
    match script {
        Script::Latin => Some(Lang::En),
        Script::Cyrillic => Some(Lang::Ru),
        Script::Arabic => Some(Lang::Ar),
        Script::Devanagari => Some(Lang::Hi),
        _ => None,
    }
}

/// Reusable per-worker analysis state: normaliser buffers, tokens, stem cache.
#[derive(Debug, Default)]
pub struct Analyzer {
    normalizer: Normalizer,
    scratch: NormScratch,
    /// The last normalised text.
    pub normalized: Normalized,
    /// The last tokens (offsets into `normalized`).
    pub toks: Vec<Tok>,
    /// Stem cache.
    pub stems: StemCache,
}

impl Analyzer {
    /// A new analyser with default normaliser options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Normalises and tokenises `text` into `self.normalized` / `self.toks`.
    pub fn prepare(&mut self, text: &str) {
        self.normalizer
            .normalize_into(text, &mut self.normalized, &mut self.scratch);
        tokenize(&self.normalized, &mut self.toks);
    }

    /// The normalised text of token `i`.
    pub fn tok_str(&self, i: usize) -> &str {
        let t = self.toks[i];
        &self.normalized.as_str()[t.start as usize..t.end as usize]
    }

    /// Analyses `text` as language `lang` into `out`.
    pub fn analyze_into(&mut self, text: &str, lang: Lang, out: &mut Vec<Token>) {
        self.prepare(text);
        out.clear();
        for i in 0..self.toks.len() {
            let t = self.toks[i];
            let (s, e) = self
                .normalized
                .text
                .original(t.start as usize, t.end as usize);
            let word = &self.normalized.as_str()[t.start as usize..t.end as usize];
            let stem = match stem_lang(lang, t.script) {
                Some(l) => self.stems.stem(l, word).to_string(),
                None => word.to_string(),
            };
            out.push(Token {
                text: stem,
                start: s,
                end: e,
            });
        }
    }
}

/// Normalises, tokenises and stems `text` as language `lang` (the index's entry point).
pub fn analyze(text: &str, lang: Lang) -> Vec<Token> {
    thread_local! {
        static AN: RefCell<Analyzer> = RefCell::new(Analyzer::new());
    }
    let mut out = Vec::new();
    AN.with(|a| match a.try_borrow_mut() {
        Ok(mut a) => a.analyze_into(text, lang, &mut out),
        Err(_) => Analyzer::new().analyze_into(text, lang, &mut out),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyze_stems_and_maps_to_original() {
        let text = "Join the LANTERNS";
        let toks = analyze(text, Lang::En);
        assert_eq!(toks.len(), 3);
        assert_eq!(toks[2].text, "lantern");
        assert_eq!(&text[toks[2].start..toks[2].end], "LANTERNS");
    }

    #[test]
    fn inflected_forms_share_a_stem() {
        let a = analyze("Фонарями", Lang::Ru);
        let b = analyze("фонарь", Lang::Ru);
        assert_eq!(a[0].text, b[0].text);
    }
}
