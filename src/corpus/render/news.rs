//! News sites: front page, paginated section lists, article pages where the article is a post
//! and reader comments are posts; reader profile pages.
//!
//! Styles: 1 (`/section/ID.html`, `article.article#article-ID`, ISO `<time>`), 2
//! (`/section/YYYY/MM/DD/ID.html`, `div.story#story-ID`, `14.10.2015 08:15`), 3
//! (`/section/story-ID.html`, `section.news-item#a-ID`, `Oct 14, 2015, 8:15 AM` in `<time>`).
//! The `archive` section lives under `/archive/`, which robots.txt disallows.

use std::fmt::Write as _;

use super::super::generate::{GenPost, Group, HostCtx, HostState, UnitMeta};
use super::super::scenario::UiBank;
use super::forum::title_of;
use super::{abs, body_html, date_html, encode, esc, jsonld, lang_attr, ld_person, page, pager};

/// Prefix of the robots-disallowed archive section.
pub const ARCHIVE: &str = "/archive/";

fn st(style: u8) -> usize {
    (style.clamp(1, 3) - 1) as usize
}

/// Section slugs; the last is the disallowed archive.
pub const SECTIONS: [&str; 6] = ["world", "region", "economy", "sport", "culture", "archive"];

/// Sections named by the chrome's `[ui.sections]`; the last is the disallowed archive.
pub fn sections(ui: &UiBank) -> Vec<Group> {
    SECTIONS
        .iter()
        .map(|s| Group {
            name: ui.section_name(s),
            slug: s.to_string(),
            disallowed: *s == "archive",
        })
        .collect()
}

/// Profile page of a reader / staff account.
pub fn reader_path(_style: u8, handle: &str) -> String {
    format!("/readers/{handle}/")
}

fn section_path(h: &HostCtx, g: usize, page: usize) -> String {
    let slug = h.groups.get(g).map(|g| g.slug.as_str()).unwrap_or("news");
    if page <= 1 {
        format!("/{slug}/")
    } else {
        format!("/{slug}/page-{page}.html")
    }
}

fn article_path(h: &HostCtx, g: usize, first: &GenPost, id: &str) -> String {
    let slug = h.groups.get(g).map(|g| g.slug.as_str()).unwrap_or("news");
    let t = first.published;
    match st(h.site.style) {
        0 => format!("/{slug}/{id}.html"),
        1 => format!(
            "/{slug}/{}/{:02}/{:02}/{id}.html",
            t.year(),
            u8::from(t.month()),
            t.day()
        ),
        _ => format!("/{slug}/story-{id}.html"),
    }
}

fn block(h: &HostCtx, p: &GenPost, article: bool, title: &str, out: &mut String) {
    let style = h.site.style;
    let handle = esc(&h.handles[p.author]);
    let prof = h.profile_path(p.author);
    let perma = format!("{}#{}", p.page, p.anchor);
    let la = lang_attr(p, h.site.main_lang);
    let date = date_html(p.published, style, "date", st(style) != 1);
    match (st(style), article) {
        (0, true) => {
            let _ = write!(
                out,
                "<article class=\"article\" id=\"{}\"{la}>\n<h1 class=\"headline\"><a href=\"{perma}\">{}</a></h1>\n<div class=\"byline\">{} <a class=\"author\" rel=\"author\" href=\"{prof}\">{handle}</a> &middot; {date}</div>\n<div class=\"article-body\">",
                p.anchor,
                esc(title),
                esc(&h.ui.byline)
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div>\n</article>\n");
        }
        (1, true) => {
            let _ = write!(
                out,
                "<div class=\"story\" id=\"{}\"{la}>\n<h1 class=\"story-title\">{}</h1>\n<p class=\"story-meta\"><span class=\"by\"><a href=\"{prof}\">{handle}</a></span> {date} <a class=\"permalink\" href=\"{perma}\">{}</a></p>\n<div class=\"story-text\">",
                p.anchor,
                esc(title),
                esc(&h.ui.link)
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div>\n</div>\n");
        }
        (_, true) => {
            let _ = write!(
                out,
                "<section class=\"news-item\" id=\"{}\"{la}>\n<header><h1><a class=\"permalink\" href=\"{perma}\">{}</a></h1><div class=\"meta\"><a class=\"writer\" href=\"{prof}\">{handle}</a> {date}</div></header>\n<div class=\"news-text\">",
                p.anchor,
                esc(title)
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div>\n</section>\n");
        }
        (0, false) => {
            let _ = write!(
                out,
                "<div class=\"comment\" id=\"{}\"{la}>\n<div class=\"comment-meta\"><a class=\"comment-author\" href=\"{prof}\">{handle}</a> <a class=\"comment-permalink\" href=\"{perma}\">{date}</a></div>\n<div class=\"comment-body\">",
                p.anchor
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div>\n</div>\n");
        }
        (1, false) => {
            let _ = write!(
                out,
                "<li class=\"c-item\" id=\"{}\"{la}><div class=\"c-head\"><b><a href=\"{prof}\">{handle}</a></b> {date} <a class=\"c-link\" href=\"{perma}\">#</a></div>\n<div class=\"c-text\">",
                p.anchor
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div></li>\n");
        }
        _ => {
            let _ = write!(
                out,
                "<article class=\"reader-comment\" id=\"{}\"{la}><footer><a class=\"who\" href=\"{prof}\">{handle}</a> <a href=\"{perma}\">{date}</a></footer>\n<div class=\"reader-comment-text\">",
                p.anchor
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div></article>\n");
        }
    }
}

/// Lays out one article page (article + comments).
pub fn unit(
    h: &HostCtx,
    u: usize,
    posts: &mut [GenPost],
    pages: &mut Vec<(String, Vec<u8>)>,
) -> UnitMeta {
    let style = h.site.style;
    let g = h.units[u].group as usize;
    let disallowed = h.groups.get(g).is_some_and(|g| g.disallowed);
    let Some(first) = posts.first() else {
        return UnitMeta {
            title: String::new(),
            path: "/".into(),
            group: g as u16,
            posts: 0,
            first: (0, time::OffsetDateTime::UNIX_EPOCH),
            last: (0, time::OffsetDateTime::UNIX_EPOCH),
            lang: h.site.main_lang,
            disallowed,
        };
    };
    let aid = (first.idx + 1).to_string();
    let path = article_path(h, g, first, &aid);
    let title = title_of(first);
    for (k, p) in posts.iter_mut().enumerate() {
        p.id = (p.idx + 1).to_string();
        p.page = path.clone();
        p.anchor = match (st(style), k == 0) {
            (0, true) => format!("article-{}", p.id),
            (1, true) => format!("story-{}", p.id),
            (_, true) => format!("a-{}", p.id),
            (0, false) => format!("comment-{}", p.id),
            (1, false) => format!("c{}", p.id),
            (_, false) => format!("reply-{}", p.id),
        };
        p.url = format!("{}#{}", abs(&h.site.host, &p.page), p.anchor);
        p.thread = aid.clone();
        p.title = Some(title.clone());
        p.disallowed = disallowed;
    }
    let sec = &h.groups[g];
    let mut b = format!(
        "<nav class=\"sections\"><a href=\"/\">{}</a> &rsaquo; <a href=\"{}\">{}</a></nav>\n",
        esc(&h.ui.front_page),
        section_path(h, g, 1),
        esc(&sec.name)
    );
    block(h, &posts[0], true, &title, &mut b);
    let n_comments = posts.len() - 1;
    let _ = writeln!(
        b,
        "<section class=\"comments\" id=\"comments\"><h2>{}</h2>",
        esc(&UiBank::count(&h.ui.comments, n_comments))
    );
    b.push_str(
        [
            "<div class=\"comment-list\">\n",
            "<ol class=\"c-list\">\n",
            "<div class=\"reader-comments\">\n",
        ][st(style)],
    );
    for p in posts.iter().skip(1) {
        block(h, p, false, &title, &mut b);
    }
    b.push_str(["</div>\n", "</ol>\n", "</div>\n"][st(style)]);
    b.push_str("</section>\n");
    let head = if h.site.jsonld {
        let a = &posts[0];
        let comments: Vec<serde_json::Value> = posts
            .iter()
            .skip(1)
            .map(|p| {
                serde_json::json!({
                    "@type": "Comment",
                    "identifier": p.id,
                    "url": p.url,
                    "author": ld_person(h, p.author, true),
                    "datePublished": crate::model::rfc3339(p.published),
                    "text": p.body.text(),
                    "inLanguage": p.lang.code(),
                })
            })
            .collect();
        jsonld(
            &serde_json::json!({
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "identifier": a.id,
                "url": a.url,
                "headline": title,
                "author": ld_person(h, a.author, true),
                "datePublished": crate::model::rfc3339(a.published),
                "articleBody": a.body.text(),
                "inLanguage": a.lang.code(),
                "commentCount": n_comments,
                "comment": comments,
            }),
            h.site,
        )
    } else {
        String::new()
    };
    pages.push((
        path.clone(),
        encode(h.site, &page(h.site, &title, &head, &b)),
    ));
    UnitMeta {
        title,
        path,
        group: g as u16,
        posts: posts.len() as u32,
        first: (posts[0].author, posts[0].published),
        last: posts
            .last()
            .map(|p| (p.author, p.published))
            .unwrap_or((0, posts[0].published)),
        lang: posts[0].lang,
        disallowed,
    }
}

const PER_PAGE: usize = 30;

fn headline_list(h: &HostCtx, items: &[&UnitMeta], out: &mut String) {
    out.push_str(
        [
            "<ul class=\"headlines\">\n",
            "<div class=\"story-list\">\n",
            "<ol class=\"news-list\">\n",
        ][st(h.site.style)],
    );
    for m in items {
        let line = format!(
            "<a class=\"headline\" href=\"{}\">{}</a> {}",
            m.path,
            esc(&m.title),
            date_html(m.first.1, h.site.style, "date", st(h.site.style) != 1)
        );
        let _ = writeln!(
            out,
            "{}",
            if st(h.site.style) == 1 {
                format!("<div class=\"story-link\">{line}</div>")
            } else {
                format!("<li>{line}</li>")
            }
        );
    }
    out.push_str(["</ul>\n", "</div>\n", "</ol>\n"][st(h.site.style)]);
}

/// Front page, section pages, reader profiles.
pub fn host_pages(h: &HostCtx, s: &HostState, files: &mut Vec<(String, Vec<u8>)>) {
    let mut nav = String::from("<nav class=\"sections\">");
    for (g, grp) in h.groups.iter().enumerate() {
        let _ = write!(
            nav,
            "<a href=\"{}\">{}</a> ",
            section_path(h, g, 1),
            esc(&grp.name)
        );
    }
    nav.push_str("</nav>\n");
    // Front page: the latest articles outside the archive.
    let mut latest: Vec<&UnitMeta> = s
        .units
        .iter()
        .filter(|m| !m.disallowed && m.posts > 0)
        .collect();
    latest.sort_by(|a, b| b.first.1.cmp(&a.first.1).then(b.path.cmp(&a.path)));
    let mut b = format!("{nav}<h1>{}</h1>\n", esc(&h.ui.front_page));
    headline_list(h, &latest[..latest.len().min(PER_PAGE)], &mut b);
    files.push((
        "/".into(),
        encode(h.site, &page(h.site, &h.ui.front_page, "", &b)),
    ));
    for (g, grp) in h.groups.iter().enumerate() {
        let mut items: Vec<&UnitMeta> = s
            .units
            .iter()
            .filter(|m| m.group as usize == g && m.posts > 0)
            .collect();
        items.sort_by(|a, b| b.first.1.cmp(&a.first.1).then(b.path.cmp(&a.path)));
        let n_pages = items.len().div_ceil(PER_PAGE).max(1);
        for pg in 1..=n_pages {
            let mut b = format!("{nav}<h1>{}</h1>\n", esc(&grp.name));
            let pp = |n: usize| section_path(h, g, n);
            let pgr = pager("pager", pg, n_pages, &pp, &h.ui);
            b.push_str(&pgr);
            let chunk: Vec<&UnitMeta> = items
                .iter()
                .skip((pg - 1) * PER_PAGE)
                .take(PER_PAGE)
                .copied()
                .collect();
            headline_list(h, &chunk, &mut b);
            b.push_str(&pgr);
            files.push((
                section_path(h, g, pg),
                encode(h.site, &page(h.site, &grp.name, "", &b)),
            ));
        }
    }
    for (i, a) in h.accounts.iter().enumerate() {
        let (count, recent) = &s.profiles[i];
        let mut b = format!(
            "{nav}<h1 class=\"reader\">{}</h1>\n<p>{}</p>\n<ul class=\"reader-posts\">\n",
            esc(&a.handle),
            esc(&UiBank::count(&h.ui.post_count, count))
        );
        super::push_recent_posts(&mut b, recent, h.site.style);
        files.push((
            h.profile_path(i),
            encode(h.site, &page(h.site, &a.handle, "", &b)),
        ));
    }
}
