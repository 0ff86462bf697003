//! Site profiles: TOML files of CSS selectors, compiled once.
//!
//! ```toml
//! name = "forum-board"          # unique
//! kind = "forum"                # forum | social | news
//! post = "div.post[id]"         # post block (detection: the profile whose blocks yield ids wins)
//! [fields]                      # each: sel (relative to the block; omitted = the block),
//! post_id   = { attr = "id", re = "^p(\\d+)$" }   #   attr (omitted = text), re (group 1),
//! permalink = { sel = "a.permalink", attr = "href" } # page = true (select in the document),
//! thread    = { url = "/topic/(\\d+)/" }          #   url = regex on the page URL (group 1)
//! ```
//! Fields: `post_id`, `permalink`, `author`, `author_url`, `time`, `body`, `thread`, `title`,
//! `next_page`, `lang`. Unknown keys are errors with file:line:column. A top-level
//! `thread_fallback = "post_id"` makes a post without a thread value its own thread.

use std::collections::BTreeMap;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;

use super::ExtractError;
use crate::model::SiteKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    kind: SiteKind,
    post: String,
    #[serde(default)]
    thread_fallback: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    sel: Option<String>,
    attr: Option<String>,
    re: Option<String>,
    #[serde(default)]
    page: bool,
    url: Option<String>,
}

/// One compiled field rule.
#[derive(Debug)]
pub struct Field {
    sel: Option<Selector>,
    attr: Option<String>,
    re: Option<Regex>,
    page: bool,
    url_re: Option<Regex>,
}

/// A compiled profile.
#[derive(Debug)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// Site kind it renders.
    pub kind: SiteKind,
    /// Post block selector.
    pub post: Selector,
    /// Its source text (the extractor joins all profiles' into one selector list).
    pub(crate) post_css: String,
    /// `post_id`: a post without a thread field value is its own thread (social roots).
    pub thread_is_post_id: bool,
    fields: BTreeMap<String, Field>,
}

const KNOWN: &[&str] = &[
    "post_id",
    "permalink",
    "author",
    "author_url",
    "time",
    "body",
    "thread",
    "title",
    "next_page",
    "lang",
];

fn perr(file: &str, text: &str, span: Option<std::ops::Range<usize>>, msg: String) -> ExtractError {
    let (line, col) = span
        .map(|s| crate::util::line_col(text, s.start))
        .unwrap_or((0, 0));
    ExtractError::Profile {
        file: file.to_string(),
        line,
        col,
        reason: msg,
    }
}

impl Profile {
    /// Parses and compiles a profile; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Profile, ExtractError> {
        let raw: RawProfile = toml::from_str(text)
            .map_err(|e| perr(file, text, e.span(), e.message().to_string()))?;
        let sel = |s: &str| {
            Selector::parse(s).map_err(|e| {
                perr(
                    file,
                    text,
                    text.find(s).map(|i| i..i),
                    format!("bad selector {s:?}: {e}"),
                )
            })
        };
        let post = sel(&raw.post)?;
        let thread_is_post_id = match raw.thread_fallback.as_deref() {
            None => false,
            Some("post_id") => true,
            Some(other) => {
                return Err(perr(
                    file,
                    text,
                    text.find(other).map(|i| i..i),
                    format!("thread_fallback {other:?}: only \"post_id\" is supported"),
                ));
            }
        };
        let mut fields = BTreeMap::new();
        for (k, f) in raw.fields {
            if !KNOWN.contains(&k.as_str()) {
                return Err(perr(
                    file,
                    text,
                    text.find(&k).map(|i| i..i),
                    format!("unknown field {k:?} (known: {})", KNOWN.join(", ")),
                ));
            }
            let re = |r: &Option<String>| -> Result<Option<Regex>, ExtractError> {
                r.as_deref()
                    .map(|r| {
                        Regex::new(r).map_err(|e| {
                            perr(
                                file,
                                text,
                                text.find(r).map(|i| i..i),
                                format!("bad regex: {e}"),
                            )
                        })
                    })
                    .transpose()
            };
            fields.insert(
                k,
                Field {
                    sel: f.sel.as_deref().map(sel).transpose()?,
                    attr: f.attr,
                    re: re(&f.re)?,
                    page: f.page,
                    url_re: re(&f.url)?,
                },
            );
        }
        Ok(Profile {
            name: raw.name,
            kind: raw.kind,
            post,
            post_css: raw.post,
            thread_is_post_id,
            fields,
        })
    }

    /// Evaluates field `name` for a block (or the page when the field says `page = true`).
    pub fn get(
        &self,
        name: &str,
        doc: &Html,
        block: ElementRef<'_>,
        page_url: &str,
    ) -> Option<String> {
        let f = self.fields.get(name)?;
        if let Some(re) = &f.url_re {
            return re
                .captures(page_url)
                .and_then(|c| c.get(1).or(c.get(0)))
                .map(|m| m.as_str().to_string());
        }
        let el = self.element(name, doc, block)?;
        let raw = match &f.attr {
            Some(a) => el.value().attr(a)?.to_string(),
            None => el.text().collect::<String>(),
        };
        let raw = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match &f.re {
            Some(re) => re
                .captures(&raw)
                .and_then(|c| c.get(1).or(c.get(0)))
                .map(|m| m.as_str().to_string()),
            None => Some(raw),
        }
        .filter(|s| !s.is_empty())
    }

    /// The element a field selects (the block itself without `sel`).
    pub fn element<'a>(
        &self,
        name: &str,
        doc: &'a Html,
        block: ElementRef<'a>,
    ) -> Option<ElementRef<'a>> {
        let f = self.fields.get(name)?;
        match (&f.sel, f.page) {
            (Some(s), true) => doc.select(s).next(),
            (Some(s), false) => block.select(s).next(),
            (None, true) => Some(doc.root_element()),
            (None, false) => Some(block),
        }
    }

    /// Whether the profile defines a field.
    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_line_and_column() {
        let e = Profile::parse(
            "x.toml",
            "name = \"a\"\nkind = \"forum\"\npost = \"div\"\n[fields]\nbogus = {}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("x.toml:5:1"), "{e}");
        let e = Profile::parse("y.toml", "name = \"a\"\nkind = \"blog\"\npost = \"div\"\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("y.toml:2:"), "{e}");
        let e = Profile::parse(
            "z.toml",
            "name = \"a\"\nkind = \"forum\"\npost = \"div[[\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("bad selector"), "{e}");
    }
}
