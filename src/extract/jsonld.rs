//! schema.org JSON-LD fallback: `DiscussionForumPosting`, `SocialMediaPosting`, `NewsArticle`
//! (and `Article`, `BlogPosting`, `Comment`), found anywhere in `<script type=application/ld+json>`
//! blocks, including `@graph` arrays and nested `comment` lists.

use serde_json::Value;

use crate::model::SiteKind;

/// One posting found in JSON-LD (fields raw, resolved by the caller).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LdPost {
    /// schema.org type.
    pub kind: Option<SiteKind>,
    /// `url` or `@id`.
    pub url: Option<String>,
    /// `identifier`.
    pub id: Option<String>,
    /// `author.name` (or a string author).
    pub author: Option<String>,
    /// `author.url`.
    pub author_url: Option<String>,
    /// `datePublished` (or `dateCreated`).
    pub published: Option<String>,
    /// `articleBody` / `text`.
    pub text: Option<String>,
    /// `headline` / `name`.
    pub title: Option<String>,
    /// `inLanguage`.
    pub lang: Option<String>,
    /// `isPartOf` identifier or url, or the parent posting's id for comments.
    pub thread: Option<String>,
}

const TYPES: &[(&str, Option<SiteKind>)] = &[
    ("DiscussionForumPosting", Some(SiteKind::Forum)),
    ("SocialMediaPosting", Some(SiteKind::Social)),
    ("NewsArticle", Some(SiteKind::News)),
    ("Article", None),
    ("BlogPosting", None),
    ("Comment", None),
];

/// Every posting in one JSON-LD script body (malformed JSON gives none).
pub fn postings(script: &str) -> Vec<LdPost> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(script.trim()) {
        walk(&v, None, &mut out, 0);
    }
    out
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => s(a.first()),
        Value::Object(o) => s(o
            .get("value")
            .or(o.get("@id"))
            .or(o.get("name"))
            .or(o.get("url"))),
        _ => None,
    }
}

fn type_of(o: &serde_json::Map<String, Value>) -> Option<Option<SiteKind>> {
    let names: Vec<&str> = match o.get("@type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    TYPES
        .iter()
        .find(|(t, _)| names.iter().any(|n| n.trim_start_matches("schema:") == *t))
        .map(|(_, k)| *k)
}

fn walk(v: &Value, parent: Option<&LdPost>, out: &mut Vec<LdPost>, depth: usize) {
    if depth > 32 {
        return;
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| walk(x, parent, out, depth + 1)),
        Value::Object(o) => {
            let Some(kind) = type_of(o) else {
                for x in o.values() {
                    if x.is_array() || x.is_object() {
                        walk(x, parent, out, depth + 1);
                    }
                }
                return;
            };
            let author = o.get("author");
            let author_obj = author.and_then(|a| match a {
                Value::Array(x) => x.first(),
                x => Some(x),
            });
            let p = LdPost {
                kind: kind.or(parent.and_then(|p| p.kind)),
                url: s(o.get("url")).or_else(|| s(o.get("@id"))),
                id: s(o.get("identifier")),
                author: author_obj.and_then(|a| match a {
                    Value::Object(m) => s(m.get("name")).or_else(|| s(m.get("alternateName"))),
                    x => s(Some(x)),
                }),
                author_url: author_obj
                    .and_then(|a| a.as_object())
                    .and_then(|m| s(m.get("url"))),
                published: s(o.get("datePublished")).or_else(|| s(o.get("dateCreated"))),
                text: s(o.get("articleBody")).or_else(|| s(o.get("text"))),
                title: s(o.get("headline")).or_else(|| s(o.get("name"))),
                lang: s(o.get("inLanguage")),
                thread: o
                    .get("isPartOf")
                    .and_then(|x| {
                        x.as_object()
                            .map(|m| s(m.get("identifier")).or_else(|| s(m.get("@id"))))
                            .unwrap_or_else(|| s(Some(x)))
                    })
                    .or_else(|| parent.and_then(|p| p.thread.clone().or(p.id.clone()))),
            };
            if let Some(c) = o.get("comment") {
                walk(c, Some(&p), out, depth + 1);
            }
            out.insert(out.len(), p);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_postings() {
        let js = r#"{"@context":"https://schema.org","@graph":[
          {"@type":"DiscussionForumPosting","identifier":"12","url":"http://f.test/t/12/#p1",
           "author":{"@type":"Person","name":"ann","url":"/u/ann"},"datePublished":"2024-05-03T17:07:09Z",
           "text":"Hello","headline":"Topic","isPartOf":{"identifier":"t12"},
           "comment":[{"@type":"Comment","identifier":2,"text":"reply","author":"bob"}]},
          {"@type":"WebPage","name":"x"}]}"#;
        let p = postings(js);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].id.as_deref(), Some("2"));
        assert_eq!(p[0].thread.as_deref(), Some("t12"));
        assert_eq!(p[0].author.as_deref(), Some("bob"));
        assert_eq!(p[1].author_url.as_deref(), Some("/u/ann"));
        assert_eq!(p[1].kind, Some(SiteKind::Forum));
        assert!(postings("{not json").is_empty());
    }
}
