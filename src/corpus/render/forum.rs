//! phpBB-like forums: board index (`/`, linking the boards and `/calendar/`), boards with
//! paginated topic lists, paginated topic pages with post blocks, member profiles.
//!
//! Styles: 1 prosilver-like (`div.post`, `#p123`, ISO dates in `<time>`), 2 XenForo-like
//! (`article.message`, `#post-123`, `14.10.2015 08:15`), 3 vBulletin-like tables (`#msg123`,
//! `Oct 14, 2015, 8:15 AM` in `<time>`). The last board is an archive under `/archive/`, which
//! robots.txt disallows.

use std::fmt::Write as _;

use super::super::generate::{GenPost, Group, HostCtx, HostState, UnitMeta};
use super::super::scenario::{Scenario, Site, UiBank};
use super::{abs, body_html, date_html, encode, esc, jsonld, lang_attr, ld_person, page, pager};

/// Prefix of the robots-disallowed archive board.
pub const ARCHIVE: &str = "/archive/";

fn st(style: u8) -> usize {
    (style.clamp(1, 3) - 1) as usize
}

/// Base path of member profiles.
pub fn member_base(style: u8) -> &'static str {
    ["/member", "/u", "/profile"][st(style)]
}
fn topic_base(style: u8) -> &'static str {
    ["/topic", "/t", "/thread"][st(style)]
}
fn board_base(style: u8) -> &'static str {
    ["/board", "/f", "/forum"][st(style)]
}
fn per_page(style: u8) -> usize {
    [10, 15, 20][st(style)]
}
fn anchor(style: u8, id: &str) -> String {
    match st(style) {
        0 => format!("p{id}"),
        1 => format!("post-{id}"),
        _ => format!("msg{id}"),
    }
}

/// Boards: the main language bank's chatter topics (up to 5), named by the chrome's
/// `[ui.boards]`, then the archive.
pub fn boards(s: &Scenario, site: &Site, ui: &UiBank) -> Vec<Group> {
    let mut g: Vec<Group> = s
        .banks
        .get(&site.main_lang)
        .map(|b| b.chatter.keys().take(5).cloned().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|k| Group {
            name: ui.board_name(&k),
            slug: k,
            disallowed: false,
        })
        .collect();
    if g.is_empty() {
        g.push(Group {
            name: ui.general.clone(),
            slug: "general".into(),
            disallowed: false,
        });
    }
    g.push(Group {
        name: ui.archive.clone(),
        slug: "archive".into(),
        disallowed: true,
    });
    g
}

fn topic_path(h: &HostCtx, group: u16, tid: usize, page: usize) -> String {
    let dis = h.groups.get(group as usize).is_some_and(|g| g.disallowed);
    let base = if dis {
        format!("/archive{}", topic_base(h.site.style))
    } else {
        topic_base(h.site.style).into()
    };
    if page <= 1 {
        format!("{base}/{tid}/")
    } else {
        format!("{base}/{tid}/page-{page}.html")
    }
}

fn board_path(h: &HostCtx, group: usize, page: usize) -> String {
    let dis = h.groups.get(group).is_some_and(|g| g.disallowed);
    let base = if dis {
        "/archive".to_string()
    } else {
        format!("{}/{}", board_base(h.site.style), group + 1)
    };
    if page <= 1 {
        format!("{base}/")
    } else {
        format!("{base}/page-{page}.html")
    }
}

/// Title of a thread: the first words of its first post.
pub fn title_of(p: &GenPost) -> String {
    let text = p.body.text();
    let first = text.split("\n\n").next().unwrap_or("").trim();
    let words: Vec<&str> = first.split_whitespace().collect();
    let mut t = if words.len() > 1 {
        words.iter().take(8).copied().collect::<Vec<_>>().join(" ")
    } else {
        first.chars().take(24).collect()
    };
    while t.ends_with(|c: char| c.is_ascii_punctuation() || c == '，' || c == '。') {
        t.pop();
    }
    if t.is_empty() { "…".into() } else { t }
}

fn post_block(h: &HostCtx, p: &GenPost, title: &str, n: usize, out: &mut String) {
    let style = h.site.style;
    let author = esc(&h.handles[p.author]);
    let prof = h.profile_path(p.author);
    let perma = format!("{}#{}", p.page, p.anchor);
    let la = lang_attr(p, h.site.main_lang);
    let re = if n > 0 { "Re: " } else { "" };
    match st(style) {
        0 => {
            let _ = write!(
                out,
                "<div id=\"{}\" class=\"post bg{}\"{la}><div class=\"inner\"><div class=\"postbody\">\n<h3><a href=\"{perma}\">{re}{}</a></h3>\n<p class=\"author\">{} <strong><a class=\"username\" href=\"{prof}\">{author}</a></strong> &raquo; {}</p>\n<div class=\"content\">",
                p.anchor,
                1 + n % 2,
                esc(title),
                esc(&h.ui.by),
                date_html(p.published, 1, "postdate", true)
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div>\n</div></div></div>\n");
        }
        1 => {
            let _ = write!(
                out,
                "<article class=\"message message--post\" id=\"{}\" data-author=\"{author}\"{la}>\n<div class=\"message-cell message-cell--user\"><a class=\"username\" href=\"{prof}\">{author}</a></div>\n<div class=\"message-cell message-cell--main\"><header class=\"message-attribution\">{} <a class=\"message-permalink\" href=\"{perma}\">#{}</a></header>\n<div class=\"message-body\"><div class=\"bbWrapper\">",
                p.anchor,
                date_html(p.published, 2, "date", false),
                n + 1
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div></div></div>\n</article>\n");
        }
        _ => {
            let _ = write!(
                out,
                "<table class=\"tborder\" id=\"{}\"{la}><tr>\n<td class=\"alt2 poster\"><a class=\"bigusername\" href=\"{prof}\">{author}</a></td>\n<td class=\"alt1\"><div class=\"smallfont postdate\"><a href=\"{perma}\">{}</a></div>\n<div class=\"postcontent\">",
                p.anchor,
                date_html(p.published, 3, "date", true)
            );
            body_html(out, &p.body, h, false);
            out.push_str("</div></td>\n</tr></table>\n");
        }
    }
}

/// Lays out one topic: ids, permalinks, pages. Returns the topic's listing entry.
pub fn unit(
    h: &HostCtx,
    u: usize,
    posts: &mut [GenPost],
    pages: &mut Vec<(String, Vec<u8>)>,
) -> UnitMeta {
    let style = h.site.style;
    let tid = u + 1;
    let group = h.units[u].group;
    let disallowed = h.groups.get(group as usize).is_some_and(|g| g.disallowed);
    let pp = per_page(style);
    let n_pages = posts.len().div_ceil(pp).max(1);
    let title = posts.first().map(title_of).unwrap_or_default();
    for (k, p) in posts.iter_mut().enumerate() {
        p.id = (p.idx + 1).to_string();
        p.page = topic_path(h, group, tid, k / pp + 1);
        p.anchor = anchor(style, &p.id);
        p.url = format!("{}#{}", abs(&h.site.host, &p.page), p.anchor);
        p.thread = tid.to_string();
        p.title = Some(title.clone());
        p.disallowed = disallowed;
    }
    let board = &h.groups[group as usize];
    for pg in 1..=n_pages {
        let chunk = &posts[(pg - 1) * pp..(pg * pp).min(posts.len())];
        let mut body = String::with_capacity(chunk.len() * 900);
        let _ = write!(
            body,
            "<div class=\"navbar breadcrumbs\"><a href=\"/\">{}</a> &rsaquo; <a href=\"{}\">{}</a></div>\n<h1 class=\"topic-title\"><a href=\"{}\">{}</a></h1>\n",
            esc(&h.ui.index),
            board_path(h, group as usize, 1),
            esc(&board.name),
            topic_path(h, group, tid, 1),
            esc(&title)
        );
        let pg_path = |n: usize| topic_path(h, group, tid, n);
        let pgr = pager("pagination", pg, n_pages, &pg_path, &h.ui);
        body.push_str(&pgr);
        body.push_str(
            [
                "<div id=\"page-body\">\n",
                "<div class=\"block-body\">\n",
                "<div id=\"posts\">\n",
            ][st(style)],
        );
        for (i, p) in chunk.iter().enumerate() {
            post_block(h, p, &title, (pg - 1) * pp + i, &mut body);
        }
        body.push_str("</div>\n");
        body.push_str(&pgr);
        let head = if h.site.jsonld {
            let graph: Vec<serde_json::Value> = chunk
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "@type": "DiscussionForumPosting",
                        "identifier": p.id,
                        "url": p.url,
                        "headline": title,
                        "author": ld_person(h, p.author, true),
                        "datePublished": crate::model::rfc3339(p.published),
                        "text": p.body.text(),
                        "inLanguage": p.lang.code(),
                    })
                })
                .collect();
            jsonld(
                &serde_json::json!({"@context": "https://schema.org", "@graph": graph}),
                h.site,
            )
        } else {
            String::new()
        };
        let html = page(h.site, &title, &head, &body);
        pages.push((topic_path(h, group, tid, pg), encode(h.site, &html)));
    }
    let first = posts.first().map(|p| (p.author, p.published));
    let last = posts.last().map(|p| (p.author, p.published));
    let t0 = h
        .units
        .first()
        .map(|_| time::OffsetDateTime::UNIX_EPOCH)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    UnitMeta {
        title,
        path: topic_path(h, group, tid, 1),
        group,
        posts: posts.len() as u32,
        first: first.unwrap_or((0, t0)),
        last: last.unwrap_or((0, t0)),
        lang: posts.first().map(|p| p.lang).unwrap_or(h.site.main_lang),
        disallowed,
    }
}

const TOPICS_PER_PAGE: usize = 30;

/// Board index, board pages, member profiles.
pub fn host_pages(h: &HostCtx, st_: &HostState, files: &mut Vec<(String, Vec<u8>)>) {
    let style = h.site.style;
    // Board index.
    let ui = &h.ui;
    let mut body = format!(
        "<h1 class=\"forum-title\">{}</h1>\n<ul class=\"forums topiclist\">\n",
        esc(&ui.forum_index)
    );
    for (g, grp) in h.groups.iter().enumerate() {
        let n = st_.units.iter().filter(|m| m.group as usize == g).count();
        let _ = writeln!(
            body,
            "<li class=\"row forum\"><a class=\"forumtitle\" href=\"{}\">{}</a> <span class=\"topics\">{n}</span></li>",
            board_path(h, g, 1),
            esc(&grp.name)
        );
    }
    let _ = writeln!(
        body,
        "</ul>\n<p class=\"calendar-link\"><a href=\"/calendar/\">{}</a></p>",
        esc(&ui.calendar)
    );
    files.push((
        "/".into(),
        encode(h.site, &page(h.site, &ui.forum_index, "", &body)),
    ));

    // Boards: newest topics first.
    for (g, grp) in h.groups.iter().enumerate() {
        let topics: Vec<&UnitMeta> = st_
            .units
            .iter()
            .rev()
            .filter(|m| m.group as usize == g)
            .collect();
        let n_pages = topics.len().div_ceil(TOPICS_PER_PAGE).max(1);
        for pg in 1..=n_pages {
            let mut b = format!(
                "<div class=\"navbar\"><a href=\"/\">{}</a></div>\n<h1>{}</h1>\n",
                esc(&ui.index),
                esc(&grp.name)
            );
            let pp = |n: usize| board_path(h, g, n);
            let pgr = pager("pagination", pg, n_pages, &pp, &h.ui);
            b.push_str(&pgr);
            b.push_str(
                [
                    "<ul class=\"topiclist topics\">\n",
                    "<div class=\"structItemContainer\">\n",
                    "<table class=\"threads\">\n",
                ][st(style)],
            );
            for m in topics
                .iter()
                .skip((pg - 1) * TOPICS_PER_PAGE)
                .take(TOPICS_PER_PAGE)
            {
                let (fa, _) = m.first;
                let (la, lt) = m.last;
                let row = format!(
                    "<a class=\"topictitle\" href=\"{}\">{}</a> <a class=\"username\" href=\"{}\">{}</a> <span class=\"replies\">{}</span> <a class=\"lastpost\" href=\"{}\">{}</a> {}",
                    m.path,
                    esc(&m.title),
                    h.profile_path(fa),
                    esc(&h.handles[fa]),
                    m.posts.saturating_sub(1),
                    h.profile_path(la),
                    esc(&h.handles[la]),
                    super::show_date(lt, style)
                );
                let _ = writeln!(
                    b,
                    "{}",
                    match st(style) {
                        0 => format!("<li class=\"row\">{row}</li>"),
                        1 => format!("<div class=\"structItem\">{row}</div>"),
                        _ => format!("<tr><td>{row}</td></tr>"),
                    }
                );
            }
            b.push_str(["</ul>\n", "</div>\n", "</table>\n"][st(style)]);
            b.push_str(&pgr);
            files.push((
                board_path(h, g, pg),
                encode(h.site, &page(h.site, &grp.name, "", &b)),
            ));
        }
    }

    // Member profiles.
    for (i, a) in h.accounts.iter().enumerate() {
        let (count, recent) = &st_.profiles[i];
        let mut b = format!(
            "<div class=\"navbar\"><a href=\"/\">{}</a></div>\n<h1 class=\"username\">{}</h1>\n<p class=\"realname\">{}</p>\n<p class=\"posts\">{}</p>\n<ul class=\"recent-posts\">\n",
            esc(&ui.index),
            esc(&a.handle),
            esc(&a.display),
            esc(&UiBank::count(&ui.member_posts, count))
        );
        super::push_recent_posts(&mut b, recent, style);
        files.push((
            h.profile_path(i),
            encode(h.site, &page(h.site, &a.handle, "", &b)),
        ));
    }
}
