//! HTML rendering shared by the three site kinds: escaping, page shell, dates in three styles,
//! post bodies (paragraphs, links, character references), JSON-LD and charset encoding.
//!
//! One module per kind ([`forum`], [`social`], [`news`]) builds the pages; each has three markup
//! styles (class names, nesting, date format, URL layout) chosen by the site's `style`.
//!
//! Site chrome (navigation, labels, board and section names) comes from `HostCtx::ui`, the
//! `[ui]` of the site's main-language phrase bank (English where the bank has none); pages of a
//! site whose main language is written right to left (ar, fa, ur) carry `dir="rtl"`.

pub mod forum;
pub mod news;
pub mod social;

use std::fmt::Write as _;

use super::generate::text::{Body, PieceKind};
use super::generate::{GenPost, HostCtx};
use super::obfuscate;
use super::scenario::{Site, UiBank};
use crate::model::{Lang, Timestamp};

/// Appends `s` HTML-escaped (text and attribute safe).
pub fn esc_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `s` HTML-escaped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    esc_into(&mut o, s);
    o
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends a profile's recent posts (oldest kept first in `recent`, shown newest first) as
/// `<li>` permalinks with dates in the site's style, then closes the `<ul>`.
pub fn push_recent_posts(
    b: &mut String,
    recent: &std::collections::VecDeque<super::generate::PostRef>,
    style: u8,
) {
    for r in recent.iter().rev() {
        let _ = writeln!(
            b,
            "<li><a href=\"{}\">{}</a></li>",
            esc(&r.path),
            show_date(r.published, style)
        );
    }
    b.push_str("</ul>\n");
}

/// A date as shown by markup style 1 (ISO), 2 (`14.10.2015 08:15`) or 3 (`Oct 14, 2015, 8:15 AM`).
pub fn show_date(t: Timestamp, style: u8) -> String {
    let (y, m, d, hh, mm) = (t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute());
    match style {
        2 => format!("{d:02}.{m:02}.{y} {hh:02}:{mm:02}"),
        3 => {
            let (h12, ampm) = match hh {
                0 => (12, "AM"),
                1..=11 => (hh, "AM"),
                12 => (12, "PM"),
                _ => (hh - 12, "PM"),
            };
            format!(
                "{} {d}, {y}, {h12}:{mm:02} {ampm}",
                MONTHS[(m as usize).saturating_sub(1) % 12]
            )
        }
        _ => format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}"),
    }
}

/// The date element: with `<time datetime>` when `with_time`, else a plain span.
pub fn date_html(t: Timestamp, style: u8, class: &str, with_time: bool) -> String {
    if with_time {
        format!(
            "<time class=\"{class}\" datetime=\"{}\">{}</time>",
            crate::model::rfc3339(t),
            show_date(t, style)
        )
    } else {
        format!("<span class=\"{class}\">{}</span>", show_date(t, style))
    }
}

/// A chrome template split at `{user}`: the text before and after it (escaped). A template
/// without `{user}` is all "before".
pub fn around_user(template: &str) -> (String, String) {
    let (a, b) = template.split_once("{user}").unwrap_or((template, ""));
    (esc(a), esc(b))
}

/// Absolute URL of a path on `host`.
pub fn abs(host: &str, path: &str) -> String {
    format!("http://{host}{path}")
}

/// The tag page path of a hashtag (`#LanternRising` -> `/tags/lanternrising/`); non-ASCII tags
/// get a hex slug so that URL paths stay ASCII.
pub fn tag_path(tag: &str) -> String {
    let t = tag.trim_start_matches('#');
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("/tags/{}/", t.to_ascii_lowercase())
    } else {
        format!("/tags/x{}/", hex::encode(t.as_bytes()))
    }
}

/// Renders a body as `<p>` paragraphs; returns the absolute URLs of its links.
pub fn body_html(out: &mut String, body: &Body, h: &HostCtx, link_tags: bool) -> Vec<String> {
    let mut links = Vec::new();
    for line in &body.lines {
        out.push_str("<p>");
        for p in line {
            let href = match &p.kind {
                PieceKind::Mention(a) => Some(h.profile_path(*a)),
                PieceKind::Tag if link_tags => Some(tag_path(&p.text)),
                _ => None,
            };
            if let Some(href) = &href {
                let class = if matches!(p.kind, PieceKind::Tag) {
                    "hashtag"
                } else {
                    "mention"
                };
                let _ = write!(out, "<a class=\"{class}\" href=\"{}\">", esc(href));
                let a = abs(&h.site.host, href);
                if !links.contains(&a) {
                    links.push(a);
                }
            }
            if p.ents.is_empty() {
                esc_into(out, &p.text);
            } else {
                for (i, c) in p.text.chars().enumerate() {
                    if p.ents.contains(&i) {
                        out.push_str(&obfuscate::entity(c, body.ent_style));
                    } else {
                        let mut b = [0u8; 4];
                        esc_into(out, c.encode_utf8(&mut b));
                    }
                }
            }
            if href.is_some() {
                out.push_str("</a>");
            }
        }
        out.push_str("</p>");
    }
    links
}

/// ` lang="xx"` when the post's language differs from the page's.
pub fn lang_attr(post: &GenPost, page_lang: Lang) -> String {
    if post.lang != page_lang {
        format!(" lang=\"{}\"", post.lang.code())
    } else {
        String::new()
    }
}

/// Whether a language is written right to left (Arabic script: ar, fa, ur).
pub fn is_rtl(lang: Lang) -> bool {
    matches!(lang, Lang::Ar | Lang::Fa | Lang::Ur)
}

/// A complete HTML document, `dir="rtl"` when the site's main language is written right to left.
pub fn page(site: &Site, title: &str, head_extra: &str, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 512);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\"{}>\n<head>\n<meta charset=\"{}\">\n<title>{}</title>\n{}</head>\n<body>\n{}\n</body>\n</html>\n",
        site.main_lang.code(),
        if is_rtl(site.main_lang) {
            " dir=\"rtl\""
        } else {
            ""
        },
        site.charset,
        esc(title),
        head_extra,
        body
    );
    s
}

/// Encodes a page in the site's charset; unmappable characters become numeric character
/// references (encoding_rs does this for HTML).
pub fn encode(site: &Site, html: &str) -> Vec<u8> {
    if site.charset == "utf-8" {
        return html.as_bytes().to_vec();
    }
    site.encoding.encode(html).0.into_owned()
}

/// A `<script type="application/ld+json">` block. `<`, `>` and `&` are always `\u`-escaped (so
/// the script cannot end early); on non-UTF-8 sites every non-ASCII char is too, because script
/// content is not entity-decoded.
pub fn jsonld(value: &serde_json::Value, site: &Site) -> String {
    let raw = value.to_string();
    let ascii = site.charset != "utf-8";
    let mut s = String::with_capacity(raw.len() + 64);
    s.push_str("<script type=\"application/ld+json\">");
    for c in raw.chars() {
        if matches!(c, '<' | '>' | '&') || (ascii && !c.is_ascii()) {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                let _ = write!(s, "\\u{u:04x}");
            }
        } else {
            s.push(c);
        }
    }
    s.push_str("</script>\n");
    s
}

/// A JSON-LD `Person`.
pub fn ld_person(h: &HostCtx, author: usize, with_url: bool) -> serde_json::Value {
    let a = &h.accounts[author];
    let mut v = serde_json::json!({"@type": "Person", "name": a.handle});
    if with_url {
        v["url"] = serde_json::Value::String(abs(&h.site.host, &h.profile_path(author)));
    }
    v
}

/// Pagination links `« 1 2 3 »` for `pages` pages, `path(n)` giving page `n`'s path (1-based);
/// the arrows carry the chrome's previous/next page titles.
pub fn pager(
    class: &str,
    current: usize,
    pages: usize,
    path: &dyn Fn(usize) -> String,
    ui: &UiBank,
) -> String {
    if pages <= 1 {
        return String::new();
    }
    let mut s = format!("<div class=\"{class}\">");
    if current > 1 {
        let _ = write!(
            s,
            "<a rel=\"prev\" href=\"{}\" title=\"{}\">&laquo;</a> ",
            path(current - 1),
            esc(&ui.previous)
        );
    }
    for n in 1..=pages {
        // Near pages plus first and last, like real boards.
        if n == 1 || n == pages || n.abs_diff(current) <= 3 {
            if n == current {
                let _ = write!(s, "<strong>{n}</strong> ");
            } else {
                let _ = write!(s, "<a href=\"{}\">{n}</a> ", path(n));
            }
        }
    }
    if current < pages {
        let _ = write!(
            s,
            "<a rel=\"next\" href=\"{}\" title=\"{}\">&raquo;</a>",
            path(current + 1),
            esc(&ui.next)
        );
    }
    s.push_str("</div>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_three_styles() {
        let t = crate::model::parse_rfc3339("2015-10-14T08:15:00Z").unwrap();
        assert_eq!(show_date(t, 1), "2015-10-14 08:15");
        assert_eq!(show_date(t, 2), "14.10.2015 08:15");
        assert_eq!(show_date(t, 3), "Oct 14, 2015, 8:15 AM");
        let t = crate::model::parse_rfc3339("2015-10-14T00:05:00Z").unwrap();
        assert_eq!(show_date(t, 3), "Oct 14, 2015, 12:05 AM");
    }

    #[test]
    fn jsonld_cannot_close_the_script_and_is_ascii_on_legacy_charsets() {
        let s = crate::corpus::Scenario::default_scenario().unwrap();
        let legacy = s.sites.iter().find(|x| x.charset != "utf-8").unwrap();
        let v = serde_json::json!({"text": "</script><b>Фонарь & 灯"});
        let out = jsonld(&v, legacy);
        assert!(!out[8..].contains("</script><"), "{out}");
        assert!(out.is_ascii());
        let inner = out
            .trim_start_matches("<script type=\"application/ld+json\">")
            .trim_end_matches("</script>\n");
        let back: serde_json::Value = serde_json::from_str(inner).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn escaping_and_tags() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(tag_path("#LanternRising"), "/tags/lanternrising/");
        assert!(tag_path("#Фонарь").starts_with("/tags/x"));
    }
}
