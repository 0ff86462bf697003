//! Mastodon/X-like social sites: public timeline pages (one unit each, newest first, prev/next
//! links), a status page per post (its permalink), profile pages, hashtag pages, replies with
//! in-reply-to links.
//!
//! Styles: 1 Mastodon-like (`/@handle/status/ID.html`, `article.status#status-ID`, ISO dates in
//! `<time>`), 2 X-like (`/users/handle/statuses/ID.html`, `div.tweet#tweet-ID`,
//! `14.10.2015 08:15`), 3 a feed list (`/u/handle/status/ID.html`, `li.post-item#post-ID`,
//! `Oct 14, 2015, 8:15 AM` in `<time>`). The status block's `id` names the post; the permalink is
//! the status page itself (no fragment). Statuses of protected accounts live under their
//! profile path, which robots.txt disallows, and are left out of timelines and tag pages.

use std::fmt::Write as _;

use super::super::generate::{GenPost, HostCtx, HostState, UnitMeta};
use super::super::scenario::UiBank;
use super::{abs, body_html, date_html, encode, esc, jsonld, lang_attr, ld_person, page, pager};

fn st(style: u8) -> usize {
    (style.clamp(1, 3) - 1) as usize
}

/// Statuses per timeline page.
pub fn page_size(style: u8) -> u32 {
    [20, 25, 30][st(style)]
}

/// Profile path of a handle.
pub fn profile_path(style: u8, handle: &str) -> String {
    match st(style) {
        0 => format!("/@{handle}/"),
        1 => format!("/users/{handle}/"),
        _ => format!("/u/{handle}/"),
    }
}

fn status_path(style: u8, handle: &str, id: &str) -> String {
    match st(style) {
        1 => format!("{}statuses/{id}.html", profile_path(style, handle)),
        _ => format!("{}status/{id}.html", profile_path(style, handle)),
    }
}

fn timeline_path(n: usize) -> String {
    format!("/public/page-{n}.html")
}

fn block(h: &HostCtx, p: &GenPost, parent: Option<&GenPost>, out: &mut String) {
    let style = h.site.style;
    let a = &h.accounts[p.author];
    let handle = esc(&a.handle);
    let prof = h.profile_path(p.author);
    let la = lang_attr(p, h.site.main_lang);
    let reply = parent.map(|q| (q.page.clone(), esc(&h.handles[q.author])));
    match st(style) {
        0 => {
            let _ = write!(
                out,
                "<article class=\"status\" id=\"{}\" data-id=\"{}\"{la}>\n<header class=\"status__header\"><a class=\"status__display-name\" href=\"{prof}\"><bdi><strong class=\"display-name__html\">{}</strong></bdi> <span class=\"display-name__account\">@{handle}</span></a> <a class=\"status__relative-time\" href=\"{}\">{}</a></header>\n",
                p.anchor,
                p.id,
                esc(&a.display),
                p.page,
                date_html(p.published, 1, "dt-published", true)
            );
            if let Some((href, who)) = reply {
                let (before, after) = super::around_user(&h.ui.in_reply_to);
                let _ = writeln!(
                    out,
                    "<div class=\"status__reply\"><a class=\"in-reply-to\" rel=\"in-reply-to\" href=\"{href}\">{}@{who}{}</a></div>",
                    before, after
                );
            }
            out.push_str("<div class=\"status__content e-content\">");
            body_html(out, &p.body, h, true);
            out.push_str("</div>\n</article>\n");
        }
        1 => {
            let _ = write!(
                out,
                "<div class=\"tweet\" id=\"{}\" data-tweet-id=\"{}\"{la}>\n<div class=\"tweet-header\"><a class=\"fullname\" href=\"{prof}\">{}</a> <a class=\"username\" href=\"{prof}\">@{handle}</a> &middot; <a class=\"tweet-timestamp\" href=\"{}\">{}</a></div>\n",
                p.anchor,
                p.id,
                esc(&a.display),
                p.page,
                date_html(p.published, 2, "date", false)
            );
            if let Some((href, who)) = reply {
                let (before, after) = super::around_user(&h.ui.replying_to);
                let _ = writeln!(
                    out,
                    "<div class=\"replying-to\">{before}<a class=\"in-reply-to\" href=\"{href}\">@{who}</a>{after}</div>"
                );
            }
            out.push_str("<div class=\"tweet-text\">");
            body_html(out, &p.body, h, true);
            out.push_str("</div>\n</div>\n");
        }
        _ => {
            let _ = write!(
                out,
                "<li class=\"post-item\" id=\"{}\"{la}>\n<div class=\"post-meta\"><a class=\"author-link\" href=\"{prof}\">@{handle}</a> <a class=\"post-link\" href=\"{}\">{}</a></div>\n",
                p.anchor,
                p.page,
                date_html(p.published, 3, "date", true)
            );
            if let Some((href, who)) = reply {
                let _ = writeln!(
                    out,
                    "<div class=\"post-reply\"><a rel=\"in-reply-to\" href=\"{href}\">&#8617; @{who}</a></div>"
                );
            }
            out.push_str("<div class=\"post-text\">");
            body_html(out, &p.body, h, true);
            out.push_str("</div>\n</li>\n");
        }
    }
}

fn wrap(style: u8, inner: &str) -> String {
    match st(style) {
        0 => format!("<div class=\"item-list timeline\">\n{inner}</div>\n"),
        1 => format!("<div class=\"stream\" id=\"stream-items\">\n{inner}</div>\n"),
        _ => format!("<ul class=\"feed\">\n{inner}</ul>\n"),
    }
}

/// Lays out one timeline page: ids, permalinks, the status pages and the timeline page.
pub fn unit(
    h: &HostCtx,
    u: usize,
    posts: &mut [GenPost],
    pages: &mut Vec<(String, Vec<u8>)>,
) -> UnitMeta {
    let style = h.site.style;
    for k in 0..posts.len() {
        let id = (100_000 + posts[k].idx).to_string();
        let handle = h.handles[posts[k].author].clone();
        let thread = match posts[k].reply_to {
            Some(j) if j < k => posts[j].thread.clone(),
            _ => id.clone(),
        };
        let p = &mut posts[k];
        p.page = status_path(style, &handle, &id);
        p.anchor = match st(style) {
            0 => format!("status-{id}"),
            1 => format!("tweet-{id}"),
            _ => format!("post-{id}"),
        };
        p.url = abs(&h.site.host, &p.page);
        p.thread = thread;
        p.disallowed = h.accounts[p.author].protected;
        p.id = id;
    }
    let n_pages = h.units.len();
    let this = u + 1;
    // Status pages.
    for p in posts.iter() {
        let parent = p.reply_to.and_then(|j| posts.get(j));
        let mut b = format!(
            "<nav class=\"nav\"><a href=\"/\">{}</a> <a href=\"{}\">{}</a></nav>\n",
            esc(&h.ui.home),
            timeline_path(this),
            esc(&h.ui.timeline)
        );
        let mut inner = String::new();
        block(h, p, parent, &mut inner);
        b.push_str(&wrap(style, &inner));
        let head = if h.site.jsonld {
            let mut v = serde_json::json!({
                "@context": "https://schema.org",
                "@type": "SocialMediaPosting",
                "identifier": p.id,
                "url": p.url,
                "author": ld_person(h, p.author, true),
                "datePublished": crate::model::rfc3339(p.published),
                "text": p.body.text(),
                "inLanguage": p.lang.code(),
            });
            if let Some(q) = parent {
                v["sharedContent"] =
                    serde_json::json!({"@type": "SocialMediaPosting", "url": q.url});
            }
            jsonld(&v, h.site)
        } else {
            String::new()
        };
        let title = format!("@{}", h.handles[p.author]);
        pages.push((
            p.page.clone(),
            encode(h.site, &page(h.site, &title, &head, &b)),
        ));
    }
    // The timeline page: newest first, protected accounts left out.
    let mut inner = String::new();
    for p in posts.iter().rev().filter(|p| !p.disallowed) {
        let parent = p.reply_to.and_then(|j| posts.get(j));
        block(h, p, parent, &mut inner);
    }
    let tl = |n: usize| timeline_path(n);
    let pgr = pager("pagination", this, n_pages, &tl, &h.ui);
    let b = format!(
        "<nav class=\"nav\"><a href=\"/\">{}</a></nav>\n<h1>{}</h1>\n{pgr}{}{pgr}",
        esc(&h.ui.home),
        esc(&h.ui.public_timeline),
        wrap(style, &inner)
    );
    pages.push((
        timeline_path(this),
        encode(h.site, &page(h.site, &h.ui.public_timeline, "", &b)),
    ));
    let first = posts
        .first()
        .map(|p| (p.author, p.published))
        .unwrap_or((0, time::OffsetDateTime::UNIX_EPOCH));
    let last = posts
        .last()
        .map(|p| (p.author, p.published))
        .unwrap_or(first);
    UnitMeta {
        title: String::new(),
        path: timeline_path(this),
        group: 0,
        posts: posts.len() as u32,
        first,
        last,
        lang: h.site.main_lang,
        disallowed: false,
    }
}

/// Home page, profiles, hashtag pages.
pub fn host_pages(h: &HostCtx, s: &HostState, files: &mut Vec<(String, Vec<u8>)>) {
    let style = h.site.style;
    let n_pages = s.units.len();
    let ui = &h.ui;
    let mut b = format!("<h1>{}</h1>\n<ul class=\"timelines\">\n", esc(&ui.welcome));
    if n_pages > 0 {
        let _ = writeln!(
            b,
            "<li><a href=\"{}\">{}</a></li>",
            timeline_path(n_pages),
            esc(&ui.latest_posts)
        );
        let _ = writeln!(
            b,
            "<li><a href=\"{}\">{}</a></li>",
            timeline_path(1),
            esc(&ui.oldest_posts)
        );
    }
    let _ = writeln!(
        b,
        "</ul>\n<h2>{}</h2>\n<ul class=\"trends\">",
        esc(&ui.trending)
    );
    let mut trending: Vec<(&String, &String, u64)> =
        s.tags.iter().map(|(p, (t, n, _))| (p, t, *n)).collect();
    trending.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    for (p, t, n) in trending.iter().take(20) {
        let _ = writeln!(
            b,
            "<li><a class=\"hashtag\" href=\"{p}\">{}</a> <span>{n}</span></li>",
            esc(t)
        );
    }
    let _ = writeln!(
        b,
        "</ul>\n<h2>{}</h2>\n<ul class=\"accounts\">",
        esc(&ui.who_to_follow)
    );
    for (i, a) in h
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.protected)
        .take(30)
    {
        let _ = writeln!(
            b,
            "<li><a href=\"{}\">@{}</a></li>",
            h.profile_path(i),
            esc(&a.handle)
        );
    }
    b.push_str("</ul>\n");
    files.push(("/".into(), encode(h.site, &page(h.site, &ui.home, "", &b))));

    for (i, a) in h.accounts.iter().enumerate() {
        let (count, recent) = &s.profiles[i];
        let mut b = format!(
            "<nav class=\"nav\"><a href=\"/\">{}</a></nav>\n<div class=\"account-header\"><h1 class=\"display-name\">{}</h1> <span class=\"acct\">@{}</span> <span class=\"counter\">{}</span></div>\n<ul class=\"account-posts\">\n",
            esc(&ui.home),
            esc(&a.display),
            esc(&a.handle),
            esc(&UiBank::count(&ui.post_count, count))
        );
        super::push_recent_posts(&mut b, recent, style);
        files.push((
            h.profile_path(i),
            encode(h.site, &page(h.site, &format!("@{}", a.handle), "", &b)),
        ));
    }

    for (path, (t, n, recent)) in &s.tags {
        let mut b = format!(
            "<nav class=\"nav\"><a href=\"/\">{}</a></nav>\n<h1 class=\"hashtag-title\">{}</h1>\n<p>{}</p>\n<ul class=\"tag-posts\">\n",
            esc(&ui.home),
            esc(t),
            esc(&UiBank::count(&ui.post_count, n))
        );
        for r in recent.iter().rev() {
            let _ = writeln!(
                b,
                "<li><a href=\"{}\">@{}</a> {}</li>",
                esc(&r.path),
                esc(&h.handles[r.author]),
                super::show_date(r.published, style)
            );
        }
        b.push_str("</ul>\n");
        files.push((path.clone(), encode(h.site, &page(h.site, t, "", &b))));
    }
}
