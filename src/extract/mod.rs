//! Page -> Vec<Post>: site profiles (CSS selectors), schema.org JSON-LD fallback, readable-text
//! fallback, charset decoding.
//!
//! Order per page: decode (BOM, header, meta, sniff) and parse once; every profile is tried and
//! the one whose post-block selector finds the most blocks with a post id wins (detection by
//! content, not by host name); with no profile match, JSON-LD postings are used; with none of
//! those, an `<article>`/`<main>` with enough non-link text becomes one post. Hostile input
//! (binary bodies, malformed markup, huge pages) never panics: binary bodies are an error,
//! malformed markup is parsed as browsers do.
//!
//! May use: model, util.

pub mod charset;
pub mod dates;
mod error;
pub mod jsonld;
pub mod profile;
pub mod text;

use std::path::Path;
use std::str::FromStr;

use scraper::{ElementRef, Html, Selector};
use url::Url;

pub use error::ExtractError;
pub use profile::Profile;

use crate::model::{Lang, Page, Post, PostId};

/// Embedded site profiles (name, TOML).
pub const EMBEDDED_PROFILES: &[(&str, &str)] = &[
    (
        "profiles/forum-prosilver.toml",
        include_str!("profiles/forum-prosilver.toml"),
    ),
    (
        "profiles/forum-xenforo.toml",
        include_str!("profiles/forum-xenforo.toml"),
    ),
    (
        "profiles/forum-vbulletin.toml",
        include_str!("profiles/forum-vbulletin.toml"),
    ),
    (
        "profiles/social-mastodon.toml",
        include_str!("profiles/social-mastodon.toml"),
    ),
    (
        "profiles/social-twitter.toml",
        include_str!("profiles/social-twitter.toml"),
    ),
    (
        "profiles/social-feed.toml",
        include_str!("profiles/social-feed.toml"),
    ),
    (
        "profiles/news-article.toml",
        include_str!("profiles/news-article.toml"),
    ),
    (
        "profiles/news-story.toml",
        include_str!("profiles/news-story.toml"),
    ),
    (
        "profiles/news-item.toml",
        include_str!("profiles/news-item.toml"),
    ),
    (
        "profiles/generic-forum.toml",
        include_str!("profiles/generic-forum.toml"),
    ),
    (
        "profiles/generic-social.toml",
        include_str!("profiles/generic-social.toml"),
    ),
    (
        "profiles/generic-news.toml",
        include_str!("profiles/generic-news.toml"),
    ),
];

/// What a page yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// Posts, in document order.
    pub posts: Vec<Post>,
    /// Absolute URLs of every `<a href>` on the page (fragments dropped, de-duplicated).
    pub links: Vec<String>,
    /// How the posts were found: `profile:<name>`, `jsonld`, `readable`, or `none`.
    pub method: String,
}

/// The extractor: compiled profiles plus fixed selectors. `Send + Sync`; share it.
#[derive(Debug)]
pub struct Extractor {
    profiles: Vec<Profile>,
    sel_a: Selector,
    sel_ld: Selector,
    sel_html: Selector,
    sel_base: Selector,
    sel_main: Selector,
    sel_title: Selector,
    /// Every profile's post selector as one list: a single walk finds the candidate blocks.
    sel_any_post: Option<Selector>,
    readable_min_chars: usize,
}

impl Default for Extractor {
    fn default() -> Self {
        Extractor::new()
    }
}

fn fixed(s: &str) -> Selector {
    // Constant selectors; covered by unit tests.
    Selector::parse(s).unwrap_or_else(|_| Selector::parse("*").unwrap_or_else(|_| unreachable!()))
}

impl Extractor {
    /// The extractor with the embedded profiles.
    pub fn new() -> Extractor {
        let profiles = EMBEDDED_PROFILES
            .iter()
            .filter_map(|(f, t)| match Profile::parse(f, t) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::error!("embedded profile: {e}");
                    None
                }
            })
            .collect();
        Extractor::with_profiles(profiles)
    }

    /// An extractor with these profiles (tried in order; ties go to the first).
    pub fn with_profiles(profiles: Vec<Profile>) -> Extractor {
        Extractor {
            sel_a: fixed("a[href]"),
            sel_ld: fixed("script[type='application/ld+json']"),
            sel_html: fixed("html"),
            sel_base: fixed("base[href]"),
            sel_main: fixed("article, main, [role=main]"),
            sel_title: fixed("title"),
            sel_any_post: any_post(&profiles),
            readable_min_chars: 200,
            profiles,
        }
    }

    /// The embedded profiles plus every `*.toml` in `dir` (later files win ties).
    pub fn with_profile_dir(dir: &Path) -> Result<Extractor, ExtractError> {
        let mut ex = Extractor::new();
        let io = |source| ExtractError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        files.sort();
        for p in files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        {
            let t = std::fs::read_to_string(&p).map_err(|source| ExtractError::Io {
                path: p.clone(),
                source,
            })?;
            ex.profiles
                .insert(0, Profile::parse(&p.display().to_string(), &t)?);
        }
        ex.sel_any_post = any_post(&ex.profiles);
        Ok(ex)
    }

    /// Profile names, in trial order.
    pub fn profile_names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }

    /// Extracts posts and links from a page.
    pub fn extract(&self, page: &Page) -> Result<Extracted, ExtractError> {
        self.extract_inner(page, true)
    }

    /// Like [`Extractor::extract`] without the page's outlinks (`links` is empty; each post's
    /// own `links` are still there), for callers that find links elsewhere (the crawler scans
    /// every page for them itself): saves resolving every `<a href>` of the page.
    pub fn extract_posts(&self, page: &Page) -> Result<Extracted, ExtractError> {
        self.extract_inner(page, false)
    }

    fn extract_inner(&self, page: &Page, want_links: bool) -> Result<Extracted, ExtractError> {
        let perr = |reason: &str| ExtractError::Page {
            url: page.url.clone(),
            reason: reason.to_string(),
        };
        let ct = page.header("content-type");
        if let Some(ct) = ct {
            let l = ct.to_ascii_lowercase();
            if !(l.is_empty() || l.contains("html") || l.starts_with("text/plain")) {
                return Err(perr(&format!("not HTML (content-type {ct})")));
            }
        }
        let head = &page.body[..page.body.len().min(2048)];
        if head.iter().filter(|b| **b == 0).count() > 8
            && !head.starts_with(&[0xFF, 0xFE])
            && !head.starts_with(&[0xFE, 0xFF])
        {
            return Err(perr("binary body"));
        }
        let page_url = Url::parse(&page.final_url)
            .or_else(|_| Url::parse(&page.url))
            .map_err(|e| perr(&format!("bad URL: {e}")))?;
        let (html, _, _) = charset::decode(&page.body, ct);
        let doc = Html::parse_document(&html);
        let base = doc
            .select(&self.sel_base)
            .next()
            .and_then(|b| b.value().attr("href"))
            .and_then(|h| page_url.join(h).ok())
            .unwrap_or_else(|| page_url.clone());
        let mut links = Vec::new();
        if want_links {
            let mut seen = std::collections::HashSet::new();
            for a in doc.select(&self.sel_a) {
                if let Some(u) = a.value().attr("href").and_then(|h| abs(&base, h, false)) {
                    if seen.insert(u.clone()) {
                        links.push(u);
                    }
                }
            }
        }
        let page_lang = doc
            .select(&self.sel_html)
            .next()
            .and_then(|h| h.value().attr("lang"))
            .and_then(parse_lang);
        let host = page_url.host_str().unwrap_or("").to_ascii_lowercase();
        let ctx = PageCtx {
            doc: &doc,
            base: &base,
            page_url: page_url.as_str(),
            host: &host,
            page_lang,
        };

        // 1. Profiles, detected by content.
        // Most posts wins; among equals, the profile that fills the most fields. Profiles are
        // evaluated in order of matched blocks, and only while they could still win.
        // Each profile's blocks, in document order (what `doc.select(&p.post)` gives): one walk
        // with the union of the post selectors, then each profile's own test on the few
        // elements that matched any.
        let blocks: Vec<Vec<ElementRef<'_>>> = match &self.sel_any_post {
            Some(any) => {
                let mut blocks = vec![Vec::new(); self.profiles.len()];
                for el in doc.select(any) {
                    for (found, p) in blocks.iter_mut().zip(&self.profiles) {
                        if p.post.matches(&el) {
                            found.push(el);
                        }
                    }
                }
                blocks
            }
            None => self
                .profiles
                .iter()
                .map(|p| doc.select(&p.post).collect())
                .collect(),
        };
        let mut counts: Vec<(usize, usize)> = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.len(), i))
            .filter(|(n, _)| *n > 0)
            .collect();
        counts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut best: Option<((usize, usize), &Profile, Vec<Post>)> = None;
        for (n, i) in counts {
            if best.as_ref().is_some_and(|(s, _, _)| n < s.0) {
                break;
            }
            let p = &self.profiles[i];
            let posts: Vec<Post> = blocks[i]
                .iter()
                .filter_map(|b| self.post_from_block(p, *b, &ctx))
                .collect();
            if posts.is_empty() {
                continue;
            }
            let score = (posts.len(), posts.iter().map(filled).sum::<usize>());
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, p, posts));
            }
        }
        if let Some((_, p, posts)) = best {
            return Ok(Extracted {
                posts,
                links,
                method: format!("profile:{}", p.name),
            });
        }
        // 2. JSON-LD.
        let mut posts = Vec::new();
        for s in doc.select(&self.sel_ld) {
            let body: String = s.text().collect();
            for ld in jsonld::postings(&body) {
                if let Some(p) = ld_post(ld, &ctx) {
                    posts.push(p);
                }
            }
        }
        if !posts.is_empty() {
            return Ok(Extracted {
                posts,
                links,
                method: "jsonld".into(),
            });
        }
        // 3. Readable text of an article/main region.
        if let Some(p) = self.readable(&ctx) {
            return Ok(Extracted {
                posts: vec![p],
                links,
                method: "readable".into(),
            });
        }
        Ok(Extracted {
            posts: Vec::new(),
            links,
            method: "none".into(),
        })
    }

    fn post_from_block(&self, p: &Profile, block: ElementRef<'_>, c: &PageCtx<'_>) -> Option<Post> {
        let get = |name: &str| p.get(name, c.doc, block, c.page_url);
        let block_id = block.value().attr("id");
        let post_id = get("post_id")
            .or_else(|| block.value().attr("data-id").map(str::to_string))
            .or_else(|| block_id.map(str::to_string))?;
        let url = get("permalink")
            .and_then(|h| abs(c.base, &h, true))
            .or_else(|| block_id.and_then(|id| abs(c.base, &format!("#{id}"), true)))
            .unwrap_or_else(|| c.page_url.to_string());
        let body_el = p
            .element("body", c.doc, block)
            .filter(|_| p.has("body"))
            .unwrap_or(block);
        let text = text::element_text(body_el, &[]);
        let mut links = Vec::new();
        for a in body_el.select(&self.sel_a) {
            if let Some(u) = a.value().attr("href").and_then(|h| abs(c.base, h, false)) {
                if !links.contains(&u) {
                    links.push(u);
                }
            }
        }
        let lang_hint = block_lang(block)
            .or_else(|| get("lang").as_deref().and_then(parse_lang))
            .or(c.page_lang);
        Some(Post {
            url,
            post_id: PostId(post_id.clone()),
            host: c.host.to_string(),
            site_kind: Some(p.kind),
            thread: get("thread").or_else(|| p.thread_is_post_id.then(|| post_id.clone())),
            title: get("title"),
            author: get("author"),
            author_url: get("author_url").and_then(|h| abs(c.base, &h, false)),
            published: get("time").as_deref().and_then(dates::parse),
            lang_hint,
            text,
            links,
        })
    }

    fn readable(&self, c: &PageCtx<'_>) -> Option<Post> {
        let region = c.doc.select(&self.sel_main).next()?;
        let skip = [
            "nav", "header", "footer", "aside", "form", "button", "select",
        ];
        let text = text::element_text(region, &skip);
        let link_chars: usize = region
            .select(&self.sel_a)
            .map(|a| a.text().map(str::len).sum::<usize>())
            .sum();
        if text.chars().count() < self.readable_min_chars || link_chars * 2 > text.len() {
            return None;
        }
        let title = c
            .doc
            .select(&self.sel_title)
            .next()
            .map(|t| t.text().collect::<String>().trim().to_string())
            .filter(|t| !t.is_empty());
        let mut url = Url::parse(c.page_url).ok()?;
        url.set_fragment(None);
        let id = crate::util::sha256_hex(url.as_str().as_bytes());
        Some(Post {
            url: url.to_string(),
            post_id: PostId(format!("page-{}", &id[..16])),
            host: c.host.to_string(),
            site_kind: None,
            thread: None,
            title,
            author: None,
            author_url: None,
            published: None,
            lang_hint: block_lang(region).or(c.page_lang),
            text,
            links: Vec::new(),
        })
    }
}

/// The union of the profiles' post selectors (None without profiles, or if the list does not
/// parse, in which case each profile selects on its own).
fn any_post(profiles: &[Profile]) -> Option<Selector> {
    if profiles.is_empty() {
        return None;
    }
    let list: Vec<&str> = profiles.iter().map(|p| p.post_css.as_str()).collect();
    Selector::parse(&list.join(", ")).ok()
}

/// How many optional fields a post has (profile tie-break).
fn filled(p: &Post) -> usize {
    [
        p.thread.is_some(),
        p.title.is_some(),
        p.author.is_some(),
        p.author_url.is_some(),
        p.published.is_some(),
        !p.text.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count()
}

struct PageCtx<'a> {
    doc: &'a Html,
    base: &'a Url,
    page_url: &'a str,
    host: &'a str,
    page_lang: Option<Lang>,
}

fn ld_post(ld: jsonld::LdPost, c: &PageCtx<'_>) -> Option<Post> {
    let url = ld.url.as_deref().and_then(|u| abs(c.base, u, true));
    let post_id = ld.id.clone().or_else(|| {
        let u = Url::parse(url.as_deref()?).ok()?;
        u.fragment().map(str::to_string).or_else(|| {
            u.path_segments()?
                .rev()
                .find(|s| !s.is_empty())
                .map(|s| s.trim_end_matches(".html").to_string())
        })
    })?;
    let text = ld.text.map(|t| html_fragment_text(&t)).unwrap_or_default();
    Some(Post {
        url: url.unwrap_or_else(|| c.page_url.to_string()),
        post_id: PostId(post_id),
        host: c.host.to_string(),
        site_kind: ld.kind,
        thread: ld.thread,
        title: ld.title,
        author: ld.author,
        author_url: ld.author_url.and_then(|u| abs(c.base, &u, false)),
        published: ld.published.as_deref().and_then(dates::parse),
        lang_hint: ld.lang.as_deref().and_then(parse_lang).or(c.page_lang),
        text,
        links: Vec::new(),
    })
}

/// JSON-LD `text` is plain text (schema.org `Text`): kept as is, paragraph breaks included. Only
/// a value that clearly carries block markup (`</p>`, `<br`, `</div>`) is converted as HTML.
fn html_fragment_text(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    if !(lower.contains("</p>") || lower.contains("<br") || lower.contains("</div>")) {
        return t.trim().to_string();
    }
    let frag = Html::parse_fragment(t);
    text::element_text(frag.root_element(), &[])
}

/// Resolves `href` against `base`; http(s) only; the fragment is kept only when `keep_frag`.
fn abs(base: &Url, href: &str, keep_frag: bool) -> Option<String> {
    let mut u = base.join(href.trim()).ok()?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return None;
    }
    if !keep_frag {
        u.set_fragment(None);
    }
    Some(u.to_string())
}

fn block_lang(el: ElementRef<'_>) -> Option<Lang> {
    if let Some(l) = el.value().attr("lang") {
        return parse_lang(l);
    }
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .find_map(|a| a.value().attr("lang"))
        .and_then(parse_lang)
}

/// Parent links of social posts, `(host, post id) -> thread` (the id of the post it replies to),
/// so reply chains can be resolved to their root after a crawl. Holds ids only, never texts, so it
/// stays small for large crawls.
#[derive(Debug, Default)]
pub struct ReplyThreads {
    parent: std::collections::HashMap<(String, String), String>,
}

impl ReplyThreads {
    /// Remembers `p`'s parent link (social posts with a thread only).
    pub fn add(&mut self, p: &Post) {
        if p.site_kind == Some(crate::model::SiteKind::Social)
            && let Some(t) = &p.thread
        {
            self.parent
                .insert((p.host.clone(), p.post_id.0.clone()), t.clone());
        }
    }

    /// The root thread of `p` when it differs from `p.thread` (chains followed up to 256 hops).
    pub fn root(&self, p: &Post) -> Option<String> {
        if p.site_kind != Some(crate::model::SiteKind::Social) {
            return None;
        }
        let mut t = p.thread.clone()?;
        for _ in 0..256 {
            match self.parent.get(&(p.host.clone(), t.clone())) {
                Some(up) if *up != t => t = up.clone(),
                _ => break,
            }
        }
        (p.thread.as_deref() != Some(t.as_str())).then_some(t)
    }
}

/// Social threads are reply chains: a status's extracted `thread` is its parent's id (or its own
/// id for a root), because one status page only shows the parent. This follows the chains
/// across all posts of a host so that `thread` becomes the root's id, in place, and returns how
/// many posts changed. Posts of other kinds are untouched; a chain through a post that was not
/// crawled stops at the last known post.
pub fn resolve_reply_threads(posts: &mut [Post]) -> usize {
    let mut links = ReplyThreads::default();
    for p in posts.iter() {
        links.add(p);
    }
    let mut changed = 0;
    for p in posts.iter_mut() {
        if let Some(t) = links.root(p) {
            p.thread = Some(t);
            changed += 1;
        }
    }
    changed
}

/// `ru-RU` -> `Lang::Ru`; unknown or `und` -> None.
pub fn parse_lang(s: &str) -> Option<Lang> {
    let primary = s.trim().split(['-', '_']).next()?;
    Lang::from_str(primary).ok().filter(|l| *l != Lang::Und)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, ct: &str, body: &[u8]) -> Page {
        Page {
            url: url.into(),
            final_url: url.into(),
            status: 200,
            headers: vec![("content-type".into(), ct.into())],
            body: body.to_vec(),
            fetched_at: time::OffsetDateTime::UNIX_EPOCH,
            sha256: String::new(),
            depth: 0,
        }
    }

    #[test]
    fn reply_chains_resolve_to_the_root() {
        let mk = |id: &str, thread: &str, kind| Post {
            url: String::new(),
            post_id: PostId(id.into()),
            host: "s.test".into(),
            site_kind: Some(kind),
            thread: Some(thread.into()),
            title: None,
            author: None,
            author_url: None,
            published: None,
            lang_hint: None,
            text: String::new(),
            links: Vec::new(),
        };
        use crate::model::SiteKind::{Forum, Social};
        let mut v = vec![
            mk("1", "1", Social),
            mk("2", "1", Social),
            mk("3", "2", Social),
            mk("4", "3", Social),
            mk("9", "3", Forum),
            mk("5", "5", Social),
        ];
        assert_eq!(resolve_reply_threads(&mut v), 2);
        let threads: Vec<_> = v.iter().map(|p| p.thread.clone().unwrap()).collect();
        assert_eq!(threads, ["1", "1", "1", "1", "3", "5"]);
        let mut cyc = vec![mk("1", "2", Social), mk("2", "1", Social)];
        resolve_reply_threads(&mut cyc);
    }

    #[test]
    fn embedded_profiles_compile() {
        assert_eq!(
            Extractor::new().profile_names().len(),
            EMBEDDED_PROFILES.len()
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let ex = Extractor::new();
        assert!(
            ex.extract(&page("http://a.test/", "text/html", &[0u8; 4096]))
                .is_err()
        );
        assert!(
            ex.extract(&page("http://a.test/", "image/png", b"\x89PNG"))
                .is_err()
        );
        let junk =
            b"<div class=post id=p1><<<<a href='http://[::bad'><p>unclosed <b><i></div></table>";
        let r = ex
            .extract(&page("http://a.test/", "text/html", junk))
            .unwrap();
        assert!(r.posts.len() <= 1);
        let big = "<p>x</p>".repeat(200_000);
        assert!(
            ex.extract(&page("http://a.test/", "text/html", big.as_bytes()))
                .is_ok()
        );
    }

    #[test]
    fn jsonld_and_readable_fallbacks() {
        let ex = Extractor::new();
        let ld = r#"<html lang="de"><head><script type="application/ld+json">{"@type":"SocialMediaPosting",
            "url":"/s/9","identifier":"9","text":"Hallo & <tsch\u00fcss>","author":{"name":"eve","url":"/@eve"},
            "datePublished":"2024-01-02T03:04:05+01:00"}</script></head><body></body></html>"#;
        let r = ex
            .extract(&page("http://s.test/x", "text/html", ld.as_bytes()))
            .unwrap();
        assert_eq!(r.method, "jsonld");
        let p = &r.posts[0];
        assert_eq!(
            (p.url.as_str(), p.post_id.0.as_str(), p.text.as_str()),
            ("http://s.test/s/9", "9", "Hallo & <tschüss>")
        );
        assert_eq!(p.author_url.as_deref(), Some("http://s.test/@eve"));
        assert_eq!(p.lang_hint, Some(Lang::De));
        assert_eq!(
            p.published.map(crate::model::rfc3339).as_deref(),
            Some("2024-01-02T02:04:05Z")
        );
        let body = format!(
            "<html><body><nav>{}</nav><article><p>{}</p><p>second</p></article></body></html>",
            "menu ".repeat(50),
            "word ".repeat(60)
        );
        let r = ex
            .extract(&page("http://n.test/a#x", "text/html", body.as_bytes()))
            .unwrap();
        assert_eq!(r.method, "readable");
        assert!(r.posts[0].text.ends_with("\n\nsecond"));
        assert_eq!(r.posts[0].url, "http://n.test/a");
        let r = ex
            .extract(&page(
                "http://n.test/",
                "text/html",
                b"<html><body><a href=/a>a</a></body></html>",
            ))
            .unwrap();
        assert!(r.posts.is_empty());
        assert_eq!(r.links, vec!["http://n.test/a".to_string()]);
    }
}
