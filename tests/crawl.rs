//! Crawler + extraction against the real `corpus::serve::Server` on loopback (faults, trap,
//! rate limits) and a tiny axum server for hostile responses. A fixture corpus is written by
//! `Fixture::build` (manifest, robots.txt, sitemaps, forum/social/news pages in UTF-8,
//! windows-1251 and GBK) together with the posts an extractor must find.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trawl::corpus::serve::{ServeConfig, ServeStats};
use trawl::model::{Manifest, ManifestHost, Post, SiteKind, rfc3339};

use crate::util::{start_server, tempdir, trawl};

/// An expected post (the fields compared with the extractor's output).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Want {
    host: String,
    post_id: String,
    url: String,
    thread: Option<String>,
    author: Option<String>,
    published: Option<String>,
    text: String,
}

fn want_of(p: &Post) -> Want {
    Want {
        host: p.host.clone(),
        post_id: p.post_id.0.clone(),
        url: p.url.clone(),
        thread: p.thread.clone(),
        author: p.author.clone(),
        published: p.published.map(rfc3339),
        text: p.text.clone(),
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    /// Posts on allowed pages.
    allowed: Vec<Want>,
    /// Posts on robots-disallowed pages (never to be fetched).
    disallowed: Vec<Want>,
}

fn write(root: &Path, host: &str, path: &str, bytes: &[u8]) {
    let rel = if path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_string()
    };
    let p = root
        .join("sites")
        .join(host)
        .join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Fixture {
    /// `topics` forum topics of `pages` pages with 3 posts each, plus social, a Russian
    /// (windows-1251) and a Chinese (GBK) news host, and an unscoped `other.test`.
    fn build(topics: usize, pages: usize) -> Fixture {
        let dir = tempdir();
        let root = dir.path();
        let mut allowed = Vec::new();
        let mut disallowed = Vec::new();
        let mut hosts = Vec::new();
        let robots = b"User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n";
        // Forum.
        let fh = "forum.test";
        let mut sitemap = vec!["/".to_string()];
        let mut index = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Board</title></head><body><h1>Board</h1><ul>",
        );
        let mut pid = 1000;
        for t in 1..=topics + 1 {
            let private = t == topics + 1;
            let prefix = if private { "/private" } else { "" };
            index.push_str(&format!(
                "<li><a href=\"{prefix}/topic/{t}/\">Topic {t}</a></li>"
            ));
            for pg in 1..=pages {
                let path = if pg == 1 {
                    format!("{prefix}/topic/{t}/")
                } else {
                    format!("{prefix}/topic/{t}/page-{pg}.html")
                };
                sitemap.push(path.clone());
                let mut html = format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Topic {t}</title></head><body>\
                     <h1>Topic {t} &mdash; talk</h1><div id=\"topic\" data-thread-id=\"{t}\">"
                );
                for k in 0..3 {
                    pid += 1;
                    let author = format!("user{}", (pid * 7) % 13);
                    let (lang, text_html, text) = if k == 1 {
                        (
                            "ru",
                            format!(
                                "<p>Привет &amp; пока, тема {t}</p><p>вторая строка<br>третья {pid}</p>"
                            ),
                            format!("Привет & пока, тема {t}\n\nвторая строка\nтретья {pid}"),
                        )
                    } else {
                        (
                            "en",
                            format!(
                                "<p>Post {pid} says <b>hello</b>   world &lt;3</p>\n<p>Second paragraph of {pid}.</p><script>var x = '{pid}';</script>"
                            ),
                            format!("Post {pid} says hello world <3\n\nSecond paragraph of {pid}."),
                        )
                    };
                    let minute = pid % 60;
                    html.push_str(&format!(
                        "<div class=\"post\" id=\"p{pid}\" data-post-id=\"{pid}\" lang=\"{lang}\">\
                         <div class=\"post-header\"><a class=\"permalink\" href=\"{path}#p{pid}\">#{pid}</a> \
                         <a class=\"author\" href=\"/user/{author}/\">{author}</a> \
                         <time datetime=\"2024-05-03T17:{minute:02}:09Z\">3 May 2024</time></div>\
                         <div class=\"content\">{text_html}</div></div>"
                    ));
                    let w = Want {
                        host: fh.into(),
                        post_id: pid.to_string(),
                        url: format!("http://{fh}{path}#p{pid}"),
                        thread: Some(t.to_string()),
                        author: Some(author),
                        published: Some(format!("2024-05-03T17:{minute:02}:09Z")),
                        text,
                    };
                    if private {
                        disallowed.push(w)
                    } else {
                        allowed.push(w)
                    }
                }
                html.push_str("</div>");
                if pg < pages {
                    html.push_str(&format!(
                        "<a rel=\"next\" href=\"{prefix}/topic/{t}/page-{}.html\">next</a>",
                        pg + 1
                    ));
                }
                html.push_str("<a href=\"http://other.test/\">elsewhere</a><a href=\"http://outside.example/x\">out</a></body></html>");
                write(root, fh, &path, html.as_bytes());
            }
        }
        index.push_str("<li><a href=\"/calendar/\">Calendar</a></li><li><a href=\"/missing.html\">gone</a></li></ul></body></html>");
        write(root, fh, "/", index.as_bytes());
        write(root, fh, "/robots.txt", robots);
        write(
            root,
            fh,
            "/sitemap.xml",
            sitemap_xml(fh, &sitemap).as_bytes(),
        );
        hosts.push(host(fh, SiteKind::Forum, "utf-8"));
        // Social: statuses on a timeline (blocks repeat there) and on their own pages.
        let sh = "social.test";
        let mut tl = String::from(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"></head><body>",
        );
        for i in 1..=topics * 2 {
            let handle = format!("@u{}", i % 4);
            let path = format!("/{handle}/status/{i}.html");
            let block = format!(
                "<article class=\"status\" data-id=\"{i}\" data-conversation=\"c{}\"><a class=\"handle\" href=\"/{handle}/\">{handle}</a>\
                 <a class=\"status-link\" href=\"{path}\"><time datetime=\"2024-06-0{}T08:00:00+02:00\">Jun</time></a>\
                 <div class=\"status-content\"><p>Status {i} #tag {}</p></div></article>",
                i % 3,
                1 + i % 9,
                esc("a<b")
            );
            tl.push_str(&block);
            write(root, sh, &path, format!("<!doctype html><html><head><meta charset=\"utf-8\"></head><body>{block}</body></html>").as_bytes());
            allowed.push(Want {
                host: sh.into(),
                post_id: i.to_string(),
                url: format!("http://{sh}{path}"),
                thread: Some(format!("c{}", i % 3)),
                author: Some(handle.clone()),
                published: Some(format!("2024-06-0{}T06:00:00Z", 1 + i % 9)),
                text: format!("Status {i} #tag a<b"),
            });
        }
        tl.push_str("</body></html>");
        write(root, sh, "/", tl.as_bytes());
        write(root, sh, "/robots.txt", b"User-agent: *\nDisallow:\n");
        write(
            root,
            sh,
            "/sitemap.xml",
            sitemap_xml(sh, &["/".to_string()]).as_bytes(),
        );
        hosts.push(host(sh, SiteKind::Social, "utf-8"));
        // News in windows-1251 and GBK.
        for (nh, enc, label, body) in [
            (
                "novosti.test",
                encoding_rs::WINDOWS_1251,
                "windows-1251",
                "Жители города обсуждают новости",
            ),
            (
                "xinwen.test",
                encoding_rs::GBK,
                "gbk",
                "这是一个新闻报道，居民讨论天气",
            ),
        ] {
            let mut idx = format!(
                "<!doctype html><html lang=\"{}\"><head><meta charset=\"{label}\"></head><body>",
                if label == "gbk" { "zh" } else { "ru" }
            );
            for a in 1..=topics {
                let path = format!("/news/{a}.html");
                idx.push_str(&format!("<a href=\"{path}\">{a}</a> "));
                let html = format!(
                    "<!doctype html><html lang=\"{}\"><head><meta charset=\"{label}\"><link rel=\"canonical\" href=\"{path}\"></head><body>\
                     <article class=\"article\" data-article-id=\"{a}\" data-section=\"world\"><h1>{body} {a}</h1>\
                     <span class=\"byline\"><span class=\"author\">Автор {a}</span></span><time datetime=\"2023-01-0{}T10:00:00Z\">x</time>\
                     <div class=\"article-body\"><p>{body} {a}.</p><p>{body}!</p></div></article></body></html>",
                    if label == "gbk" { "zh" } else { "ru" },
                    1 + a % 9
                );
                let (bytes, _, _) = enc.encode(&html);
                write(root, nh, &path, &bytes);
                allowed.push(Want {
                    host: nh.into(),
                    post_id: a.to_string(),
                    url: format!("http://{nh}{path}"),
                    thread: Some("world".into()),
                    author: Some(format!("Автор {a}")),
                    published: Some(format!("2023-01-0{}T10:00:00Z", 1 + a % 9)),
                    text: format!("{body} {a}.\n\n{body}!"),
                });
            }
            idx.push_str("</body></html>");
            let (bytes, _, _) = enc.encode(&idx);
            write(root, nh, "/", &bytes);
            write(root, nh, "/robots.txt", b"User-agent: *\nCrawl-delay: 0\n");
            write(
                root,
                nh,
                "/sitemap.xml",
                sitemap_xml(nh, &["/".to_string()]).as_bytes(),
            );
            hosts.push(host(nh, SiteKind::News, label));
        }
        // A served host that is linked but not in the crawl's scope when tests pass --scope.
        write(root, "other.test", "/", b"<html><body>other</body></html>");
        hosts.push(host("other.test", SiteKind::News, "utf-8"));
        let manifest = Manifest {
            format: 1,
            scenario: "crawl-fixture".into(),
            scenario_sha256: String::new(),
            seed: 0,
            posts: allowed.len() as u64,
            counts: BTreeMap::new(),
            hosts,
            tree_sha256: String::new(),
            start: None,
        };
        std::fs::write(
            root.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();
        allowed.sort();
        Fixture {
            dir,
            allowed,
            disallowed,
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }
}

fn host(h: &str, kind: SiteKind, charset: &str) -> ManifestHost {
    ManifestHost {
        host: h.into(),
        kind,
        charset: charset.into(),
        entry_points: vec!["/".into(), "/sitemap.xml".into()],
        langs: vec![],
        files: 0,
        posts: 0,
    }
}

fn sitemap_xml(host: &str, paths: &[String]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for p in paths {
        s.push_str(&format!("<url><loc>http://{host}{p}</loc></url>\n"));
    }
    s.push_str("</urlset>\n");
    s
}

fn read_posts(path: &Path) -> Vec<Post> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: bad line {l:?}: {e}", path.display()))
        })
        .collect()
}

/// Compares extracted posts with the expected ones field by field; returns mismatch classes.
fn compare(got: &[Post], want: &[Want]) -> Vec<String> {
    let got: BTreeMap<(String, String), Want> = got
        .iter()
        .map(|p| ((p.host.clone(), p.post_id.0.clone()), want_of(p)))
        .collect();
    let mut problems = Vec::new();
    for w in want {
        match got.get(&(w.host.clone(), w.post_id.clone())) {
            None => problems.push(format!("missing {}/{}", w.host, w.post_id)),
            Some(g) if g != w => problems.push(format!(
                "differs {}/{}:\n got {g:?}\nwant {w:?}",
                w.host, w.post_id
            )),
            Some(_) => {}
        }
    }
    let wanted: HashSet<(String, String)> = want
        .iter()
        .map(|w| (w.host.clone(), w.post_id.clone()))
        .collect();
    for k in got.keys() {
        if !wanted.contains(k) {
            problems.push(format!("extra {}/{}", k.0, k.1));
        }
    }
    problems
}

fn stop(rt: tokio::runtime::Runtime, server: trawl::corpus::serve::RunningServer) -> ServeStats {
    rt.block_on(server.shutdown())
}

fn crawl_cmd(fx: &Fixture, port: u16, out: &Path) -> Command {
    let mut c = trawl();
    c.arg("crawl")
        .arg("--seeds-from")
        .arg(fx.root().join("manifest.json"))
        .args(["--resolve", &format!("*.test=127.0.0.1:{port}")])
        .args([
            "--scope",
            "forum.test",
            "--scope",
            "social.test",
            "--scope",
            "novosti.test",
            "--scope",
            "xinwen.test",
        ])
        .arg("--out")
        .arg(out)
        .args(["--delay-ms", "0", "--backoff-ms", "20", "--json"]);
    c
}

fn assert_no_forbidden(stats: &ServeStats) {
    for r in &stats.log {
        assert!(
            !r.path.starts_with("/private/"),
            "robots-disallowed URL requested: {r:?}"
        );
        assert_ne!(r.host, "other.test", "out-of-scope host requested: {r:?}");
    }
}

#[test]
fn crawl_under_faults_gets_every_allowed_post() {
    let fx = Fixture::build(6, 3);
    let mut cfg = ServeConfig::new(fx.root());
    cfg.error_rate = 0.10;
    cfg.truncate_rate = 0.05;
    cfg.fault_seed = 11;
    let (rt, server) = start_server(cfg);
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let res = crawl_cmd(&fx, port, &out)
        .args(["--per-host", "2", "--pattern-span", "4"])
        .output()
        .unwrap();
    let stats = stop(rt, server);
    let stdout = String::from_utf8_lossy(&res.stdout);
    let summary: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&res.stderr)));
    let got = read_posts(&out);
    let problems = compare(&got, &fx.allowed);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        stats.faults.get("error").copied().unwrap_or(0) > 0,
        "faults were injected: {:?}",
        stats.faults
    );
    assert!(
        stats.faults.get("truncate").copied().unwrap_or(0) > 0,
        "truncations were injected: {:?}",
        stats.faults
    );
    assert_no_forbidden(&stats);
    for (h, n) in &stats.max_in_flight {
        assert!(*n <= 2, "host {h} saw {n} concurrent requests");
    }
    let trap = stats
        .log
        .iter()
        .filter(|r| r.path.starts_with("/calendar/"))
        .count();
    assert!(trap > 0 && trap < 400, "trap requests {trap}");
    // Duplicated blocks (timeline + status page) are written once.
    let keys: HashSet<_> = got.iter().map(|p| (&p.host, &p.post_id)).collect();
    assert_eq!(keys.len(), got.len());
    assert!(
        summary["crawl"]["robots_disallowed"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(
        summary["crawl"]["retries"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(!fx.disallowed.is_empty());
}

/// Field-by-field oracle: a seeded corpus (the generator, in-process) served with 10% 5xx and 5%
/// truncated bodies; every post of `posts.jsonl` on a robots-allowed page must be extracted
/// exactly. Known mismatch class (asserted small): a social reply whose chain to the root runs
/// through a robots-disallowed (protected) status keeps the last visible ancestor as thread.
#[test]
fn seeded_corpus_matches_posts_jsonl_under_faults() {
    use trawl::corpus::{Scenario, SeedOptions};
    use trawl::model::TruthRecord;
    let corpus = tempdir();
    let scenario =
        Scenario::load(&crate::util::repo().join("tests/data/scenario.toml")).expect("scenario");
    trawl::corpus::seed(
        &scenario,
        &SeedOptions {
            out: corpus.path().to_path_buf(),
            posts: Some(400),
            seed: Some(5),
            force: true,
        },
    )
    .expect("seed");
    let truth: Vec<TruthRecord> = std::fs::read_to_string(corpus.path().join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let disallowed: HashSet<(String, String)> = truth
        .iter()
        .filter(|t| t.robots_disallowed)
        .map(|t| (t.host.clone(), t.post_id.0.clone()))
        .collect();
    let oracle: Vec<Post> = read_posts(&corpus.path().join("posts.jsonl"));
    let mut cfg = ServeConfig::new(corpus.path());
    cfg.error_rate = 0.10;
    cfg.truncate_rate = 0.05;
    cfg.fault_seed = 3;
    let (rt, server) = start_server(cfg);
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let res = trawl()
        .arg("crawl")
        .arg("--seeds-from")
        .arg(corpus.path().join("manifest.json"))
        .args([
            "--resolve",
            &format!("*.test=127.0.0.1:{port}"),
            "--delay-ms",
            "0",
            "--per-host",
            "4",
        ])
        .args(["--backoff-ms", "10", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stats = stop(rt, server);
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&res.stderr)));
    assert_eq!(
        summary["crawl"]["errors"],
        serde_json::json!({}),
        "{summary}"
    );
    // Robots: every request is allowed by its host's robots.txt.
    for r in &stats.log {
        let robots = std::fs::read(corpus.path().join("sites").join(&r.host).join("robots.txt"))
            .unwrap_or_default();
        let robot = texting_robots::Robot::new("trawl", &robots).unwrap();
        assert!(
            robot.allowed(&format!("http://{}{}", r.host, r.path)),
            "disallowed request {r:?}"
        );
    }
    let got_posts = read_posts(&out);
    let got: BTreeMap<(String, String), &Post> = got_posts
        .iter()
        .map(|p| ((p.host.clone(), p.post_id.0.clone()), p))
        .collect();
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed = 0;
    for want in &oracle {
        let key = (want.host.clone(), want.post_id.0.clone());
        if disallowed.contains(&key) {
            assert!(
                !got.contains_key(&key),
                "post on a disallowed page extracted: {key:?}"
            );
            continue;
        }
        allowed += 1;
        let Some(g) = got.get(&key) else {
            *classes.entry(format!("missing {}", want.host)).or_default() += 1;
            continue;
        };
        let fields = [
            ("url", g.url == want.url),
            ("thread", g.thread == want.thread),
            ("author", g.author == want.author),
            ("author_url", g.author_url == want.author_url),
            ("published", g.published == want.published),
            ("text", g.text == want.text),
            ("lang_hint", g.lang_hint == want.lang_hint),
            ("title", g.title == want.title),
            ("site_kind", g.site_kind == want.site_kind),
        ];
        for (f, ok) in fields {
            if !ok {
                *classes
                    .entry(format!(
                        "{f} {}",
                        want.site_kind.map(|k| k.as_str()).unwrap_or("?")
                    ))
                    .or_default() += 1;
                if f != "thread" {
                    eprintln!("{f} differs for {key:?}:\n got {g:?}\nwant {want:?}");
                }
            }
        }
    }
    assert_eq!(got.len(), allowed, "extra posts");
    let thread_social = classes.remove("thread social").unwrap_or(0);
    assert!(classes.is_empty(), "mismatch classes: {classes:?}");
    assert!(
        thread_social * 20 <= allowed,
        "social thread mismatches {thread_social} of {allowed}"
    );
    assert!(stats.faults.values().sum::<u64>() > 0);
}

/// A seeded corpus for the trap-detector tests: its dir, forum hosts, and the `(host,
/// post_id)` of every post on a robots-allowed page (from the seeded posts.jsonl).
struct TrapCorpus {
    dir: tempfile::TempDir,
    forums: BTreeSet<String>,
    want: BTreeSet<(String, String)>,
}

fn trap_corpus() -> TrapCorpus {
    use trawl::corpus::{Scenario, SeedOptions};
    use trawl::model::TruthRecord;
    let dir = tempdir();
    let scenario =
        Scenario::load(&crate::util::repo().join("tests/data/scenario.toml")).expect("scenario");
    trawl::corpus::seed(
        &scenario,
        &SeedOptions {
            out: dir.path().to_path_buf(),
            posts: Some(300),
            seed: Some(9),
            force: true,
        },
    )
    .expect("seed");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let forums: BTreeSet<String> = manifest
        .hosts
        .iter()
        .filter(|h| h.kind == SiteKind::Forum)
        .map(|h| h.host.clone())
        .collect();
    assert!(!forums.is_empty());
    let disallowed: HashSet<(String, String)> =
        std::fs::read_to_string(dir.path().join("truth.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<TruthRecord>(l).unwrap())
            .filter(|t| t.robots_disallowed)
            .map(|t| (t.host, t.post_id.0))
            .collect();
    let want: BTreeSet<(String, String)> = read_posts(&dir.path().join("posts.jsonl"))
        .into_iter()
        .map(|p| (p.host, p.post_id.0))
        .filter(|k| !disallowed.contains(k))
        .collect();
    TrapCorpus { dir, forums, want }
}

impl TrapCorpus {
    /// `trawl crawl` with default trap settings (politeness off) and `extra` flags.
    fn crawl(&self, port: u16, out: &Path, extra: &[&str]) -> serde_json::Value {
        let res = trawl()
            .arg("crawl")
            .arg("--seeds-from")
            .arg(self.dir.path().join("manifest.json"))
            .args(["--resolve", &format!("*.test=127.0.0.1:{port}")])
            .args(["--delay-ms", "0", "--json", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_slice(&res.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&res.stderr)))
    }

    /// Every allowed post extracted, nothing else, each once.
    fn assert_all_posts(&self, out: &Path) {
        let posts = read_posts(out);
        let got: BTreeSet<(String, String)> = posts
            .iter()
            .map(|p| (p.host.clone(), p.post_id.0.clone()))
            .collect();
        assert_eq!(got.len(), posts.len(), "duplicates in {}", out.display());
        let missing: Vec<_> = self.want.difference(&got).collect();
        assert!(
            missing.is_empty(),
            "{} posts lost: {missing:?}",
            missing.len()
        );
        assert_eq!(got, self.want, "extra posts");
    }

    /// Calendar requests per forum host (every forum listed, 0 if none).
    fn calendar(&self, stats: &ServeStats) -> BTreeMap<String, usize> {
        let mut n: BTreeMap<String, usize> = self.forums.iter().map(|f| (f.clone(), 0)).collect();
        for r in &stats.log {
            if r.path.starts_with("/calendar/") {
                *n.entry(r.host.clone()).or_default() += 1;
            }
        }
        n
    }

    fn assert_barren_listed(&self, summary: &serde_json::Value) {
        let barren = &summary["crawl"]["barren_patterns"];
        for f in &self.forums {
            let pats: Vec<&str> = barren[f]
                .as_array()
                .unwrap_or_else(|| panic!("{f} has no barren pattern: {summary}"))
                .iter()
                .filter_map(|p| p.as_str())
                .collect();
            assert!(pats.contains(&"/calendar/N/N/N/"), "{f}: {pats:?}");
        }
    }
}

/// Default `--trap-min-pages` (30).
const TRAP_K: usize = 30;
/// Pages past K: requests in flight when the verdict lands (the crawler holds a yieldless
/// pattern's URLs while the reports that would complete its evidence are in the pipeline).
const TRAP_SLACK: usize = 12;

/// The barren-pattern trap detector, default settings, on a seeded corpus: each forum's
/// endless calendar costs at most K + a little slack requests, the calendar patterns are listed
/// as barren, and every post on an allowed page is still extracted (compared with the seeded
/// posts.jsonl). Without the detector the same crawl spends hundreds of requests per forum in
/// the calendar (bounded only by the pattern span and cap).
#[test]
fn barren_calendar_is_cut_and_every_post_is_kept() {
    let tc = trap_corpus();
    let (rt, server) = start_server(ServeConfig::new(tc.dir.path()));
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let summary = tc.crawl(port, &out, &[]);
    let stats = stop(rt, server);
    tc.assert_all_posts(&out);
    for (f, n) in tc.calendar(&stats) {
        assert!(
            n >= TRAP_K,
            "{f}: the detector needs its evidence first ({n})"
        );
        assert!(
            n <= TRAP_K + TRAP_SLACK,
            "{f}: {n} calendar requests\n{summary}"
        );
    }
    tc.assert_barren_listed(&summary);
    assert!(summary["crawl"]["trap_dropped"].as_u64().unwrap() > 0);
}

/// A crawl stopped part-way and continued with `--resume`: the barren state is rebuilt from
/// scratch (a calendar pays its evidence again, once per run at most), no page is fetched
/// twice, and every allowed post is extracted exactly once.
#[test]
fn barren_detection_survives_a_resume() {
    let tc = trap_corpus();
    let (rt, server) = start_server(ServeConfig::new(tc.dir.path()));
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let first = tc.crawl(port, &out, &["--max-pages", "150"]);
    assert_eq!(first["crawl"]["pages"], 150, "{first}");
    let second = tc.crawl(port, &out, &["--resume"]);
    let stats = stop(rt, server);
    assert!(
        second["crawl"]["resumed_done"].as_u64().unwrap() >= 150,
        "{second}"
    );
    tc.assert_all_posts(&out);
    tc.assert_barren_listed(&second);
    let mut fetched: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &stats.log {
        *fetched
            .entry((r.host.as_str(), r.path.as_str()))
            .or_default() += 1;
    }
    let twice: Vec<_> = fetched
        .iter()
        .filter(|((_, p), n)| **n > 1 && *p != "/robots.txt" && !p.ends_with(".xml"))
        .collect();
    assert!(twice.is_empty(), "fetched twice: {twice:?}");
    for (f, n) in tc.calendar(&stats) {
        assert!(n <= 2 * (TRAP_K + TRAP_SLACK), "{f}: {n} calendar requests");
    }
}

/// The JSON-LD fallback alone (no profiles) on a seeded corpus's pages: every posting it finds
/// is a real post with the right permalink, author, time and text.
#[test]
fn jsonld_fallback_matches_seeded_posts() {
    use trawl::corpus::{Scenario, SeedOptions};
    use trawl::extract::Extractor;
    let corpus = tempdir();
    let scenario =
        Scenario::load(&crate::util::repo().join("tests/data/scenario.toml")).expect("scenario");
    let opts = SeedOptions {
        out: corpus.path().to_path_buf(),
        posts: Some(150),
        seed: Some(9),
        force: true,
    };
    trawl::corpus::seed(&scenario, &opts).expect("seed");
    let oracle: BTreeMap<(String, String), Post> = read_posts(&corpus.path().join("posts.jsonl"))
        .into_iter()
        .map(|p| ((p.host.clone(), p.post_id.0.clone()), p))
        .collect();
    let ex = Extractor::with_profiles(Vec::new());
    let mut checked = 0;
    for page in seeded_pages(corpus.path()) {
        let x = ex.extract(&page).unwrap();
        if x.method != "jsonld" {
            continue;
        }
        for p in x.posts {
            let want = oracle
                .get(&(p.host.clone(), p.post_id.0.clone()))
                .unwrap_or_else(|| panic!("unknown post {p:?}"));
            assert_eq!(
                (&p.url, &p.author, p.published, &p.text),
                (&want.url, &want.author, want.published, &want.text),
                "{}",
                page.url
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "the corpus has JSON-LD sites");
}

/// Every HTML page of a seeded corpus as the crawler would fetch it.
fn seeded_pages(corpus: &Path) -> Vec<trawl::model::Page> {
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(corpus.join("manifest.json")).unwrap()).unwrap();
    let mut pages = Vec::new();
    for h in &manifest.hosts {
        let root = corpus.join("sites").join(&h.host);
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|x| x != "html") {
                    continue;
                }
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace("index.html", "");
                let url = format!("http://{}/{rel}", h.host);
                pages.push(trawl::model::Page {
                    url: url.clone(),
                    final_url: url,
                    status: 200,
                    headers: vec![(
                        "content-type".into(),
                        format!("text/html; charset={}", h.charset),
                    )],
                    body: std::fs::read(&path).unwrap(),
                    fetched_at: time::OffsetDateTime::UNIX_EPOCH,
                    sha256: String::new(),
                    depth: 0,
                });
            }
        }
    }
    pages
}

/// `extract_posts` (what `scan` uses) finds exactly the posts `extract` finds, on every page of
/// the default scenario, and only leaves out the page's outlinks.
#[test]
fn extract_posts_matches_extract_on_the_default_scenario() {
    use trawl::corpus::{Scenario, SeedOptions};
    use trawl::extract::Extractor;
    let corpus = tempdir();
    let opts = SeedOptions {
        out: corpus.path().to_path_buf(),
        posts: Some(600),
        seed: Some(5),
        force: true,
    };
    let scenario = Scenario::default_scenario().expect("default scenario");
    trawl::corpus::seed(&scenario, &opts).expect("seed");
    let ex = Extractor::new();
    let (mut posts, mut links) = (0, 0);
    for page in seeded_pages(corpus.path()) {
        let full = ex.extract(&page).unwrap();
        let lean = ex.extract_posts(&page).unwrap();
        assert_eq!(lean.posts, full.posts, "{}", page.url);
        assert_eq!(lean.method, full.method, "{}", page.url);
        assert!(lean.links.is_empty());
        posts += full.posts.len();
        links += full.links.len();
    }
    assert!(posts > 600 && links > 0, "{posts} posts, {links} links");
}

#[test]
fn rate_limit_retry_after_is_honoured() {
    let fx = Fixture::build(4, 2);
    let mut cfg = ServeConfig::new(fx.root());
    cfg.rate_limit = Some(8);
    cfg.trap = false;
    let (rt, server) = start_server(cfg);
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let res = crawl_cmd(&fx, port, &out)
        .args(["--per-host", "1"])
        .output()
        .unwrap();
    let stats = stop(rt, server);
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let errors = summary["crawl"]["errors"].as_object().unwrap();
    assert!(
        errors.keys().all(|k| k == "http_404"),
        "only the dead link fails: {summary}"
    );
    let limited: Vec<_> = stats.log.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "the rate limit was hit");
    for r in &limited {
        // per-host 1: after a 429 (Retry-After: 1) the host is quiet for about a second.
        let next = stats
            .log
            .iter()
            .filter(|x| x.host == r.host && x.at_ms > r.at_ms)
            .map(|x| x.at_ms)
            .min();
        if let Some(n) = next {
            assert!(
                n - r.at_ms >= 900,
                "{} requested {}ms after a 429",
                r.host,
                n - r.at_ms
            );
        }
    }
    assert!(compare(&read_posts(&out), &fx.allowed).is_empty());
}

#[test]
fn sigkill_then_resume_loses_nothing_and_duplicates_nothing() {
    let fx = Fixture::build(12, 3);
    let mut cfg = ServeConfig::new(fx.root());
    cfg.slow_ms = 15;
    let (rt, server) = start_server(cfg);
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let journal = dir.path().join("posts.journal.jsonl");
    let mut child = crawl_cmd(&fx, port, &out)
        .args(["--per-host", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    // Kill once some pages are journaled and posts written (the crawl is mid-way).
    while (read_posts_lenient(&out) < 12 || read_posts_lenient(&journal) < 8)
        && t0.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first_log_len = rt.block_on(async { server.stats().log.len() });
    let journaled: BTreeSet<String> = std::fs::read_to_string(&journal)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["url"].as_str().map(str::to_string))
        .collect();
    assert!(
        !journaled.is_empty(),
        "something was journaled before the kill ({} posts, {:?} elapsed)",
        read_posts_lenient(&out),
        t0.elapsed()
    );
    let res = crawl_cmd(&fx, port, &out)
        .args(["--per-host", "2", "--resume"])
        .output()
        .unwrap();
    let stats = stop(rt, server);
    assert!(
        res.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let got = read_posts(&out);
    let keys: HashSet<_> = got.iter().map(|p| (&p.host, &p.post_id)).collect();
    assert_eq!(keys.len(), got.len(), "duplicate posts after resume");
    let problems = compare(&got, &fx.allowed);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for r in &stats.log[first_log_len..] {
        let url = format!("http://{}{}", r.host, r.path);
        assert!(
            !journaled.contains(&url) || url.ends_with("robots.txt"),
            "journaled page fetched again: {url}"
        );
    }
}

#[test]
fn revalidate_uses_conditional_get() {
    let fx = Fixture::build(3, 2);
    let mut cfg = ServeConfig::new(fx.root());
    cfg.trap = false;
    let (rt, server) = start_server(cfg);
    let port = server.local_addr().port();
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let first = crawl_cmd(&fx, port, &out).output().unwrap();
    let s1: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let pages = s1["crawl"]["pages"].as_u64().unwrap();
    let again = crawl_cmd(&fx, port, &out)
        .arg("--revalidate")
        .output()
        .unwrap();
    let stats = stop(rt, server);
    let s2: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(s2["crawl"]["not_modified"].as_u64().unwrap(), pages, "{s2}");
    assert_eq!(s2["crawl"]["pages"], 0, "{s2}");
    assert_eq!(stats.by_status.get(&304).copied().unwrap_or(0), pages);
    let got = read_posts(&out);
    assert!(
        compare(&got, &fx.allowed).is_empty(),
        "posts survive a re-crawl unchanged"
    );
}

fn read_posts_lenient(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// A hostile server: redirect loop, binary body, huge page, malformed HTML, off-scope redirect.
fn hostile_server(rt: &tokio::runtime::Runtime) -> u16 {
    use axum::http::header;
    use axum::response::IntoResponse;
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/robots.txt", get(|| async { "User-agent: *\nAllow: /\n" }))
        .route(
            "/",
            get(|| async {
                axum::response::Html(
                    "<html><body><a href=/loop1>l</a><a href=/bin>b</a><a href=/huge>h</a><a href=/bad>m</a>\
                     <a href=/away>a</a><a href=/png>p</a></body></html>",
                )
            }),
        )
        .route("/loop1", get(|| async { (axum::http::StatusCode::FOUND, [(header::LOCATION, "/loop2")]).into_response() }))
        .route("/loop2", get(|| async { (axum::http::StatusCode::FOUND, [(header::LOCATION, "/loop1")]).into_response() }))
        .route("/away", get(|| async { (axum::http::StatusCode::FOUND, [(header::LOCATION, "http://elsewhere.test/")]).into_response() }))
        .route("/bin", get(|| async { ([(header::CONTENT_TYPE, "text/html")], vec![0u8, 159, 146, 150, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]).into_response() }))
        .route("/png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0x89u8, b'P', b'N', b'G']).into_response() }))
        .route("/huge", get(|| async { axum::response::Html("<p>x</p>".repeat(100_000)) }))
        .route(
            "/bad",
            get(|| async {
                axum::response::Html(
                    "<html><div class=post id=p1 data-post-id=1><a class=permalink href='#p1'>#</a><div class=content><p>unclosed <b><i>text</table></html>",
                )
            }),
        );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move { axum::serve(listener, app).await });
    port
}

#[test]
fn hostile_responses_are_counted_errors_not_panics() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let port = hostile_server(&rt);
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let res = trawl()
        .args([
            "crawl",
            "http://bad.test/",
            "--resolve",
            &format!("bad.test=127.0.0.1:{port}"),
        ])
        .arg("--out")
        .arg(&out)
        .args([
            "--delay-ms",
            "0",
            "--max-body-bytes",
            "200000",
            "--json",
            "--retries",
            "1",
            "--backoff-ms",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    let s: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&res.stderr)));
    assert_eq!(res.status.code(), Some(1), "errors give exit 1: {s}");
    let errors = &s["crawl"]["errors"];
    assert_eq!(errors["redirect_loop"], 1, "{s}");
    assert_eq!(errors["too_large"], 1, "{s}");
    assert_eq!(errors["redirect_out_of_scope"], 1, "{s}");
    assert_eq!(s["crawl"]["skipped_content_type"], 1, "{s}");
    assert_eq!(s["extract_errors"], 1, "binary body: {s}");
    let posts = read_posts(&out);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].url, "http://bad.test/bad#p1");
    assert_eq!(posts[0].text, "unclosed text");
}

#[test]
fn refuses_off_loopback_resolve_and_unmapped_hosts() {
    let dir = tempdir();
    let out = dir.path().join("p.jsonl");
    let res = trawl()
        .args([
            "crawl",
            "http://a.test/",
            "--resolve",
            "a.test=10.1.2.3:80",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&res.stderr).contains("only loopback"));
    // No rule for the host: nothing is resolved, the robots fetch fails, nothing leaves loopback.
    let res = trawl()
        .args([
            "crawl",
            "http://unmapped.test/",
            "--retries",
            "0",
            "--json",
            "--no-sitemaps",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(s["crawl"]["pages"], 0, "{s}");
    // ... and that is a counted, named failure, not a quiet success.
    assert_eq!(res.status.code(), Some(1), "{s}");
    assert_eq!(s["crawl"]["errors"]["refused_address"], 1, "{s}");
    assert_eq!(
        s["crawl"]["unreachable_hosts"]["http://unmapped.test"], "refused_address",
        "{s}"
    );
    assert!(
        s["nothing_crawled"]
            .as_str()
            .is_some_and(|w| w.contains("every seed failed")),
        "{s}"
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(
        stderr.contains("unmapped.test") && stderr.contains("address refused"),
        "{stderr}"
    );
    // A literal address off loopback is refused before any connection (reqwest would connect
    // to a literal without asking the resolver).
    let res = trawl()
        .args([
            "crawl",
            "http://10.1.2.3/",
            "--ignore-robots",
            "--json",
            "--no-sitemaps",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(res.status.code(), Some(1), "{s}");
    assert_eq!(s["crawl"]["requests"], 0, "{s}");
    assert_eq!(s["crawl"]["errors"]["refused_address"], 1, "{s}");
}

/// Writes a large fixture corpus for throughput runs to `$TRAWL_BENCH_CORPUS` (topics from
/// `$TRAWL_BENCH_TOPICS`, default 3000 -> ~9,000 forum pages + 6,000 statuses + 6,000 articles):
/// `TRAWL_BENCH_CORPUS=/tmp/bench cargo test --test integration crawl::write_bench_corpus -- --ignored`
#[test]
#[ignore]
fn write_bench_corpus() {
    let Some(dest) = std::env::var_os("TRAWL_BENCH_CORPUS") else {
        return;
    };
    let topics = std::env::var("TRAWL_BENCH_TOPICS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(3000);
    let fx = Fixture::build(topics, 3);
    let dest = Path::new(&dest);
    let _ = std::fs::remove_dir_all(dest);
    let status = Command::new("cp")
        .arg("-r")
        .arg(fx.root())
        .arg(dest)
        .status()
        .unwrap();
    assert!(status.success());
    println!(
        "{} posts on allowed pages written to {}",
        fx.allowed.len(),
        dest.display()
    );
}

/// Peak RSS with 1,000,000 queued URLs. Run alone:
/// `cargo test --release --test integration crawl::frontier_million_rss -- --ignored --nocapture`
#[test]
#[ignore]
fn frontier_million_rss() {
    use trawl::crawl::frontier::{EntryKind, Frontier};
    let mut f = Frontier::new(100, u64::MAX, 16);
    let t = Instant::now();
    for i in 0..1_000_000u64 {
        let url = format!(
            "http://host{}.test/topic/{}/page-{}.html?sort=date",
            i % 50,
            i / 7,
            i % 7
        );
        f.push(&url, 1, EntryKind::Page, None).unwrap();
    }
    assert_eq!(f.queued(), 1_000_000);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    println!("1,000,000 URLs queued in {:?}; peak RSS {hwm}", t.elapsed());
    let kb: u64 = hwm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(kb < 300 * 1024, "{hwm}");
}

/// Requests per path seen by a `raw_server`.
type Hits = std::sync::Arc<std::sync::Mutex<BTreeMap<String, usize>>>;

/// A raw HTTP/1.1 server on loopback (one thread per connection, `Connection: close`) whose
/// `respond(path)` returns the whole response bytes, so framing (Content-Length, chunked, or
/// none: the body ends when the connection closes) is exactly what the test writes.
fn raw_server(respond: fn(&str) -> Vec<u8>) -> (u16, Hits) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits: Hits = Default::default();
    let h = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let h = h.clone();
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req).into_owned();
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                *h.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                let _ = conn.write_all(&respond(&path));
                let _ = conn.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (port, hits)
}

fn with_length(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A forum-like page with one post and no `</body></html>` (valid HTML: both end tags may be
/// omitted).
fn unended_post(id: u32, text: &str) -> String {
    format!(
        "<!doctype html><html><head><title>t</title></head><body><div class=post id=p{id} data-post-id={id}>\
         <a class=permalink href='#p{id}'>#</a><div class=content><p>{text}</p></div></div>"
    )
}

fn unended_routes(path: &str) -> Vec<u8> {
    match path {
        "/" => with_length(
            "200 OK",
            "<html><body><a href=/cl>a</a><a href=/chunked>b</a><a href=/close>c</a></body></html>",
        ),
        "/cl" => with_length("200 OK", &unended_post(1, "framed by content length")),
        "/chunked" => {
            let body = unended_post(2, "framed by chunks");
            let (a, b) = body.split_at(body.len() / 2);
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            )
            .into_bytes()
        }
        "/close" => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n{}",
            unended_post(3, "ended by the connection closing")
        )
        .into_bytes(),
        _ => with_length("404 Not Found", ""),
    }
}

/// `trawl crawl http://HOST/` against a raw loopback server on `port` (no politeness, no
/// sitemaps, `retries` retries 1 ms apart): the process output and its `--json` summary.
fn crawl_raw(
    host: &str,
    port: u16,
    retries: u32,
    out: &Path,
) -> (std::process::Output, serde_json::Value) {
    let res = trawl()
        .args(["crawl", &format!("http://{host}/"), "--resolve"])
        .arg(format!("{host}=127.0.0.1:{port}"))
        .args(["--delay-ms", "0", "--backoff-ms", "1", "--retries"])
        .arg(retries.to_string())
        .args(["--no-sitemaps", "--json", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let s: serde_json::Value = serde_json::from_slice(&res.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&res.stderr)));
    (res, s)
}

/// Valid HTML without `</html>` is not refetched when Content-Length or chunked framing says
/// the body is complete; a body ended only by the connection closing is fetched a second time
/// and accepted when both attempts agree. Every post is extracted.
#[test]
fn html_without_end_tag_is_not_refetched() {
    let (port, hits) = raw_server(unended_routes);
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let (res, s) = crawl_raw("plain.test", port, 5, &out);
    let hits = hits.lock().unwrap().clone();
    assert_eq!(
        hits.get("/cl"),
        Some(&1),
        "Content-Length page: {hits:?} {s}"
    );
    assert_eq!(hits.get("/chunked"), Some(&1), "chunked page: {hits:?} {s}");
    assert_eq!(
        hits.get("/close"),
        Some(&2),
        "close-delimited page: {hits:?} {s}"
    );
    assert_eq!(res.status.code(), Some(0), "{s}");
    assert_eq!(s["crawl"]["pages"], 4, "{s}");
    let mut texts: Vec<String> = read_posts(&out).into_iter().map(|p| p.text).collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "ended by the connection closing",
            "framed by chunks",
            "framed by content length"
        ]
    );
}

/// A close-delimited page that really is cut off differently on each attempt is retried until
/// two attempts agree (here never: it is accepted on the last attempt, as before).
fn ragged_routes(path: &str) -> Vec<u8> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    match path {
        "/" => {
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let full = unended_post(1, &"word ".repeat(50));
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n{}",
                &full[..full.len() - 10 - n]
            )
            .into_bytes()
        }
        _ => with_length("404 Not Found", ""),
    }
}

#[test]
fn close_delimited_bodies_that_differ_are_retried() {
    let (port, hits) = raw_server(ragged_routes);
    let dir = tempdir();
    let (_, s) = crawl_raw("ragged.test", port, 3, &dir.path().join("posts.jsonl"));
    assert_eq!(hits.lock().unwrap().get("/"), Some(&4), "{s}");
    assert_eq!(s["crawl"]["retries"], 3, "{s}");
}

/// robots.txt that stays unreachable (nothing listens on the mapped port) is a counted error:
/// exit 1, `robots_unreachable`, the host listed, and the summary says nothing was crawled.
#[test]
fn unreachable_robots_is_a_counted_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // dropped: nothing listens there now
    let dir = tempdir();
    let out = dir.path().join("p.jsonl");
    let run = |json: bool| {
        let mut c = trawl();
        c.args(["crawl", "http://down.test/", "--resolve"])
            .arg(format!("down.test=127.0.0.1:{port}"))
            .args(["--retries", "2", "--backoff-ms", "1", "--out"])
            .arg(&out);
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let res = run(true);
    let s: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(res.status.code(), Some(1), "{s}");
    assert_eq!(s["crawl"]["errors"]["robots_unreachable"], 1, "{s}");
    assert_eq!(
        s["crawl"]["requests"], 3,
        "robots.txt tried 1 + 2 times: {s}"
    );
    assert_eq!(
        s["crawl"]["unreachable_hosts"]["http://down.test"], "robots_unreachable (connect)",
        "{s}"
    );
    assert!(
        s["nothing_crawled"]
            .as_str()
            .unwrap()
            .contains("every seed failed"),
        "{s}"
    );
    let text = String::from_utf8_lossy(&run(false).stdout).into_owned();
    assert!(text.contains("errors: robots_unreachable=1"), "{text}");
    assert!(text.contains("NOTHING CRAWLED"), "{text}");
}

fn trap_routes(path: &str) -> Vec<u8> {
    let links: String = (1..=40)
        .map(|m| format!("<a href=/cal/{m}/>{m}</a>"))
        .collect();
    match path {
        "/" => with_length("200 OK", &format!("<html><body>{links}</body></html>")),
        p if p.starts_with("/cal/") => with_length(
            "200 OK",
            &format!("<html><body><p>month {p}</p>{links}</body></html>"),
        ),
        _ => with_length("404 Not Found", ""),
    }
}

/// The per-pattern cap holds across `--resume`: a crawl stopped after some calendar pages and
/// resumed requests no more calendar URLs in total than the cap (done pages count).
#[test]
fn resume_keeps_the_pattern_cap() {
    let (port, hits) = raw_server(trap_routes);
    let dir = tempdir();
    let out = dir.path().join("posts.jsonl");
    let crawl = |extra: &[&str]| {
        let res = trawl()
            .args(["crawl", "http://cal.test/", "--resolve"])
            .arg(format!("cal.test=127.0.0.1:{port}"))
            .args([
                "--delay-ms",
                "0",
                "--max-per-pattern",
                "10",
                "--no-sitemaps",
            ])
            .args(["--per-host", "1", "--json", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&res.stdout).unwrap()
    };
    let first = crawl(&["--max-pages", "6"]);
    assert_eq!(first["crawl"]["pages"], 6, "{first}");
    let second = crawl(&["--resume"]);
    assert_eq!(second["crawl"]["resumed_done"], 6, "{second}");
    let hits = hits.lock().unwrap().clone();
    let cal: Vec<_> = hits.keys().filter(|p| p.starts_with("/cal/")).collect();
    assert!(
        hits.iter().all(|(p, n)| *n == 1 || p == "/robots.txt"),
        "nothing fetched twice: {hits:?}"
    );
    assert_eq!(cal.len(), 10, "cap 10 across the resume: {cal:?} {second}");
}
