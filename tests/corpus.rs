//! `trawl seed`: determinism, positioned errors, truth vs. the written tree, charsets, rates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use trawl::model::{Label, Manifest, Post, TruthRecord};

use crate::util::{read, repo, run_ok, tempdir, trawl};

fn scenario() -> PathBuf {
    repo().join("tests/data/scenario.toml")
}

fn seed_into(out: &Path, posts: u64, seed: u64) {
    run_ok(
        trawl()
            .arg("seed")
            .arg(scenario())
            .arg("--out")
            .arg(out)
            .args([
                "--posts",
                &posts.to_string(),
                "--seed",
                &seed.to_string(),
                "--json",
            ]),
    );
}

fn jsonl<T: serde::de::DeserializeOwned>(p: &Path) -> Vec<T> {
    read(p)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn manifest(out: &Path) -> Manifest {
    serde_json::from_str(&read(&out.join("manifest.json"))).expect("manifest")
}

/// The file that serves `url` (a path ending in `/` maps to `index.html`).
fn file_of(out: &Path, url: &str) -> PathBuf {
    let rest = url.strip_prefix("http://").expect("http url");
    let rest = rest.split('#').next().unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut p = out.join("sites").join(host).join(path);
    if path.is_empty() || path.ends_with('/') {
        p = p.join("index.html");
    }
    p
}

/// Visible text of a page: scripts dropped, tags stripped, entities decoded.
fn visible_text(html: &str) -> String {
    let mut s = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("<script") {
        s.push_str(&rest[..i]);
        rest = rest[i..]
            .find("</script>")
            .map(|j| &rest[i + j + 9..])
            .unwrap_or("");
    }
    s.push_str(rest);
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    htmlize::unescape(out.as_str()).into_owned()
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    seed_into(a.path(), 400, 11);
    seed_into(b.path(), 400, 11);
    seed_into(c.path(), 400, 12);
    let (ma, mb, mc) = (manifest(a.path()), manifest(b.path()), manifest(c.path()));
    assert_eq!(ma.tree_sha256, mb.tree_sha256);
    assert_ne!(ma.tree_sha256, mc.tree_sha256);
    for f in ["truth.jsonl", "posts.jsonl", "manifest.json"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    // Every file byte-identical, not only the hash.
    let page = a.path().join("sites/cp-forum.test/index.html");
    assert_eq!(
        std::fs::read(&page).unwrap(),
        std::fs::read(b.path().join("sites/cp-forum.test/index.html")).unwrap()
    );
}

#[test]
fn syntax_error_is_positioned_and_nothing_is_written() {
    let dir = tempdir();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\nseed = 1\nstart = 2015-10-01T00:00:00Z\n[sizes]\nposts = \"many\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = trawl()
        .arg("seed")
        .arg(&bad)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let needle = format!("{}:5:", bad.display());
    assert!(err.contains(&needle), "expected {needle} in {err}");
    assert!(!out.exists(), "output directory was created");
}

#[test]
fn semantic_errors_name_every_key_path() {
    let dir = tempdir();
    let text = read(&scenario())
        .replace("incitement = 0.05", "incitement = 1.2")
        .replace("host = \"paper.test\"", "host = \"paper.example\"")
        .replace("langs = { ru = 1.0 }", "langs = { ru = 1.0, xx = 0.5 }");
    let f = dir.path().join("s.toml");
    std::fs::write(&f, text).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let o = trawl()
        .arg("seed")
        .arg(&f)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "violating.incitement: 1.2 is outside [0, 1]",
        "sites[3].host: \"paper.example\" is not a host name under .test",
        "sites[0].langs.xx: unknown language",
        "sum to",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    // Each problem points at its value: `incitement = 1.2` is line 16 of the test scenario.
    let at = format!("{}:16:14: violating.incitement", f.display());
    assert!(err.contains(&at), "missing {at:?} in {err}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        0
    );
}

#[test]
fn non_empty_out_needs_force() {
    let dir = tempdir();
    std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
    let o = trawl()
        .arg("seed")
        .arg(scenario())
        .arg("--out")
        .arg(dir.path())
        .args(["--posts", "20"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    run_ok(
        trawl()
            .arg("seed")
            .arg(scenario())
            .arg("--out")
            .arg(dir.path())
            .args(["--posts", "20", "--force"]),
    );
    assert!(dir.path().join("manifest.json").is_file());
}

#[test]
fn every_truth_post_is_in_its_page_with_anchor_and_text() {
    let dir = tempdir();
    seed_into(dir.path(), 600, 3);
    check_tree(dir.path(), 600);
}

#[test]
fn default_scenario_tree_holds_every_post() {
    // All 12 languages, 11 hosts, 3 kinds x 3 styles, windows-1251 and GBK.
    let dir = tempdir();
    run_ok(
        trawl()
            .arg("seed")
            .arg("--out")
            .arg(dir.path())
            .args(["--posts", "2500", "--json"]),
    );
    check_tree(dir.path(), 2500);
    let m = manifest(dir.path());
    assert_eq!(m.hosts.len(), 11);
    let langs: std::collections::BTreeSet<_> =
        jsonl::<TruthRecord>(&dir.path().join("truth.jsonl"))
            .iter()
            .map(|t| t.lang)
            .collect();
    assert_eq!(langs.len(), 12, "{langs:?}");
}

fn check_tree(out: &Path, n: usize) {
    let m = manifest(out);
    let charsets: BTreeMap<String, String> = m
        .hosts
        .iter()
        .map(|h| (h.host.clone(), h.charset.clone()))
        .collect();
    let truth: Vec<TruthRecord> = jsonl(&out.join("truth.jsonl"));
    let posts: Vec<Post> = jsonl(&out.join("posts.jsonl"));
    assert_eq!(truth.len(), n);
    assert_eq!(posts.len(), n);
    assert_eq!(m.posts, n as u64);
    let mut pages: BTreeMap<PathBuf, (String, String)> = BTreeMap::new();
    for (t, p) in truth.iter().zip(&posts) {
        assert_eq!(t.url, p.url);
        assert_eq!(t.post_id, p.post_id);
        assert_eq!(Some(t.lang), p.lang_hint);
        let file = file_of(out, &t.url);
        let (html, text) = pages.entry(file.clone()).or_insert_with(|| {
            let bytes = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("{}: {e} (for {})", file.display(), t.url));
            let enc = encoding_rs::Encoding::for_label(charsets[&t.host].as_bytes()).unwrap();
            let (html, _, bad) = enc.decode(&bytes);
            assert!(
                !bad,
                "{} does not decode as {}",
                file.display(),
                charsets[&t.host]
            );
            let html = html.into_owned();
            let text = visible_text(&html);
            (html, text)
        });
        let anchor = match t.url.split_once('#') {
            Some((_, frag)) => frag.to_string(),
            None => {
                // Social: the permalink is the status page; the block id names the post.
                let m = html
                    .find(&format!("-{}\"", t.post_id.0))
                    .expect("status block");
                let start = html[..m].rfind("id=\"").unwrap() + 4;
                html[start..m + 1 + t.post_id.0.len()].to_string()
            }
        };
        assert!(
            html.contains(&format!("id=\"{anchor}\"")),
            "{}: no block id {anchor}",
            t.url
        );
        let path = t
            .url
            .trim_start_matches("http://")
            .trim_start_matches(&t.host);
        assert!(
            html.contains(&format!("href=\"{path}\"")),
            "{}: no permalink link",
            t.url
        );
        for para in p.text.split("\n\n") {
            assert!(
                text.contains(para),
                "{}: paragraph {para:?} not on the page",
                t.url
            );
        }
        for l in &p.links {
            assert!(file_of(out, l).is_file(), "{}: link {l} has no file", t.url);
        }
    }
    // Entities really are in the markup of posts that say so.
    let ent = truth
        .iter()
        .find(|t| t.phenomena.contains(&trawl::model::Phenomenon::Entities))
        .expect("an entities post");
    let html = &pages[&file_of(out, &ent.url)].0;
    assert!(html.contains("&#"), "no character reference in {}", ent.url);
}

#[test]
fn windows_1251_and_gbk_pages_round_trip() {
    let dir = tempdir();
    seed_into(dir.path(), 300, 5);
    for (host, label, probe) in [
        ("cp-forum.test", "windows-1251", 'а'),
        ("gbk-forum.test", "gbk", '的'),
    ] {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
        let index = std::fs::read(dir.path().join("sites").join(host).join("index.html")).unwrap();
        assert!(String::from_utf8_lossy(&index).contains(&format!("<meta charset=\"{label}\">")));
        let mut seen_native = false;
        for e in walk(&dir.path().join("sites").join(host)) {
            if e.extension().is_some_and(|x| x == "html") {
                let bytes = std::fs::read(&e).unwrap();
                let (text, _, bad) = enc.decode(&bytes);
                assert!(!bad, "{}", e.display());
                assert_eq!(
                    enc.encode(&text).0.as_ref(),
                    bytes.as_slice(),
                    "{} does not round-trip",
                    e.display()
                );
                if text.contains(probe) {
                    seen_native = true;
                    assert!(
                        std::str::from_utf8(&bytes).is_err(),
                        "{} is UTF-8, not {label}",
                        e.display()
                    );
                }
            }
        }
        assert!(seen_native, "no {label} text on {host}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

#[test]
fn counts_follow_configured_rates_and_robots_marks_match() {
    let dir = tempdir();
    let n = 4000u64;
    seed_into(dir.path(), n, 9);
    let truth: Vec<TruthRecord> = jsonl(&dir.path().join("truth.jsonl"));
    let rates = [
        ("incitement", 0.05),
        ("solicitation", 0.05),
        ("instruction", 0.02),
        ("threat", 0.04),
        ("glorification", 0.04),
        ("financing", 0.04),
        ("propaganda", 0.06),
    ];
    // Reposts override a slot's category, so allow 5 sigma plus a small repost margin.
    let bound = |p: f64| 5.0 * (p * (1.0 - p) / n as f64).sqrt() + 0.01;
    let viol = truth.iter().filter(|t| t.label == Label::Violating).count() as f64 / n as f64;
    assert!((viol - 0.30).abs() < bound(0.30), "violating share {viol}");
    for (cat, r) in rates {
        let got = truth
            .iter()
            .filter(|t| t.category.is_some_and(|c| c.as_str() == cat))
            .count() as f64
            / n as f64;
        assert!((got - r).abs() < bound(r), "{cat}: {got} vs {r}");
    }
    let negs = truth
        .iter()
        .filter(|t| t.label == Label::Benign && !t.phenomena.is_empty())
        .count() as f64
        / n as f64;
    assert!((negs - 0.18).abs() < bound(0.18), "hard negatives {negs}");
    // Clusters pair posts on two different hosts.
    let mut clusters: BTreeMap<&str, Vec<&TruthRecord>> = BTreeMap::new();
    for t in &truth {
        if let Some(c) = &t.cluster {
            clusters.entry(c).or_default().push(t);
        }
    }
    assert!(!clusters.is_empty());
    for (c, ts) in &clusters {
        assert_eq!(ts.len(), 2, "{c}");
        assert_ne!(ts[0].host, ts[1].host, "{c}");
    }
    // robots_disallowed exactly for URLs under a Disallow prefix of their host.
    let mut any = false;
    for t in &truth {
        let robots = read(&dir.path().join("sites").join(&t.host).join("robots.txt"));
        let path = t
            .url
            .trim_start_matches("http://")
            .trim_start_matches(&t.host);
        let dis = robots
            .lines()
            .filter_map(|l| l.strip_prefix("Disallow: "))
            .any(|d| path.starts_with(d));
        assert_eq!(dis, t.robots_disallowed, "{}", t.url);
        any |= dis;
    }
    assert!(any, "no post on a disallowed page");
}

#[test]
fn recorded_phenomena_are_visible_in_the_text() {
    use trawl::model::Phenomenon as P;
    let dir = tempdir();
    seed_into(dir.path(), 1500, 21);
    let truth: Vec<TruthRecord> = jsonl(&dir.path().join("truth.jsonl"));
    let posts: Vec<Post> = jsonl(&dir.path().join("posts.jsonl"));
    let mut seen = std::collections::BTreeSet::new();
    let cyr = |c: char| ('\u{0400}'..='\u{04FF}').contains(&c);
    for (t, p) in truth.iter().zip(&posts) {
        let text = &p.text;
        let plain: String = text
            .chars()
            .filter(|c| !matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}'))
            .collect();
        // A spaced-out word is checked with its separators squeezed out.
        let squeezed: String = if t.phenomena.contains(&P::Spaced) {
            plain
                .chars()
                .filter(|c| !matches!(c, ' ' | '.' | '-' | '*'))
                .collect()
        } else {
            plain.clone()
        };
        for ph in &t.phenomena {
            seen.insert(*ph);
            let ok = match ph {
                P::ZeroWidth => text
                    .chars()
                    .any(|c| matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}')),
                P::Homoglyph => squeezed
                    .split(' ')
                    .any(|w| w.chars().any(cyr) && w.chars().any(|c| c.is_ascii_alphabetic())),
                P::Leet => squeezed.split(' ').any(|w| {
                    w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(|c| c.is_alphabetic())
                }),
                P::Translit => {
                    t.lang == trawl::model::Lang::Ru
                        && text.chars().any(|c| c.is_ascii_alphabetic())
                }
                P::Hashtag => text.contains('#'),
                P::Short => !text.contains("\n\n") && text.chars().count() < 200,
                P::Long => text.split("\n\n").count() >= 8,
                P::CodeMix => text.contains("\n\n"),
                P::Spaced => {
                    // x.y.z: three letters joined by the same separator (works without spaces).
                    let cs: Vec<char> = plain.chars().collect();
                    cs.windows(5).any(|w| {
                        matches!(w[1], ' ' | '.' | '-' | '*')
                            && w[1] == w[3]
                            && [w[0], w[2], w[4]].iter().all(|c| c.is_alphanumeric())
                    })
                }
                _ => true,
            };
            assert!(
                ok,
                "{:?} not visible in {} ({}): {text:?}",
                ph, t.url, t.lang
            );
        }
        if t.label == Label::Benign {
            assert!(
                t.phenomena
                    .iter()
                    .all(|p| format!("{p:?}").starts_with("Neg")),
                "{}",
                t.url
            );
        }
    }
    for ph in [
        P::ZeroWidth,
        P::Homoglyph,
        P::Leet,
        P::Translit,
        P::Hashtag,
        P::Short,
        P::Long,
        P::CodeMix,
        P::Spaced,
        P::Entities,
        P::Repost,
        P::Inflection,
    ] {
        assert!(seen.contains(&ph), "{ph:?} never produced");
    }
}

/// A host's page decoded from the host's charset, plus its raw bytes.
fn host_page(out: &Path, host: &str, file: &str, label: &str) -> (String, Vec<u8>) {
    let bytes = std::fs::read(out.join("sites").join(host).join(file)).unwrap();
    let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
    let (text, _, bad) = enc.decode(&bytes);
    assert!(!bad, "{host}/{file} is not valid {label}");
    (text.into_owned(), bytes)
}

/// The page holding the first post of `host` in truth order.
fn first_post_page(out: &Path, host: &str) -> PathBuf {
    let truth: Vec<TruthRecord> = jsonl(&out.join("truth.jsonl"));
    let t = truth
        .iter()
        .find(|t| t.host == host && !t.robots_disallowed)
        .unwrap_or_else(|| panic!("no post on {host}"));
    file_of(out, &t.url)
}

#[test]
fn site_chrome_follows_the_main_language_and_falls_back_to_english() {
    let dir = tempdir();
    seed_into(dir.path(), 600, 3);
    // gbk-forum.test is mainly Chinese; the embedded zh bank has [ui]: Chinese chrome, in GBK.
    let (zh, zh_bytes) = host_page(dir.path(), "gbk-forum.test", "index.html", "gbk");
    for s in [
        "<title>论坛首页</title>",
        ">论坛首页</h1>",
        ">日历</a>",
        ">历史存档</a>",
    ] {
        assert!(zh.contains(s), "{s} missing:\n{zh}");
    }
    for s in ["Forum index", "Calendar", "Archive"] {
        assert!(!zh.contains(s), "English {s:?} on a Chinese forum:\n{zh}");
    }
    let (native, _, _) = encoding_rs::GBK.encode("论坛首页");
    assert!(
        zh_bytes.windows(native.len()).any(|w| w == native.as_ref()) && !zh.contains("&#"),
        "the chrome is not written natively in GBK"
    );
    let topic = std::fs::read(first_post_page(dir.path(), "gbk-forum.test")).unwrap();
    let (topic, _, _) = encoding_rs::GBK.decode(&topic);
    assert!(topic.contains(">首页</a> &rsaquo; "), "{topic}");
    // cp-forum.test is Russian, but tests/data/lang/ru.toml has no [ui]: English chrome.
    let (ru, _) = host_page(dir.path(), "cp-forum.test", "index.html", "windows-1251");
    for s in [
        "<title>Forum index</title>",
        ">Calendar</a>",
        ">Archive</a>",
    ] {
        assert!(ru.contains(s), "{s} missing:\n{ru}");
    }
}

#[test]
fn default_scenario_chrome_is_native_and_right_to_left_for_arabic_script() {
    let dir = tempdir();
    let out = dir.path();
    run_ok(
        trawl()
            .arg("seed")
            .arg("--out")
            .arg(out)
            .args(["--posts", "1200", "--json"]),
    );
    // The windows-1251 Russian forum: Russian chrome and board names, encoded natively.
    let (ru, ru_bytes) = host_page(out, "volga-talk.test", "index.html", "windows-1251");
    for s in [
        "<title>Список форумов</title>",
        ">Дача и огород</a>",
        ">Календарь</a>",
    ] {
        assert!(ru.contains(s), "{s} missing:\n{ru}");
    }
    assert!(
        !ru.contains("Forum index") && !ru.contains(">Dacha<"),
        "{ru}"
    );
    let (native, _, _) = encoding_rs::WINDOWS_1251.encode("Список форумов");
    assert!(ru_bytes.windows(native.len()).any(|w| w == native.as_ref()));
    assert!(
        !ru.contains("&#"),
        "chrome written as character references:\n{ru}"
    );
    let topic = std::fs::read(first_post_page(out, "volga-talk.test")).unwrap();
    let (topic, _, _) = encoding_rs::WINDOWS_1251.decode(&topic);
    assert!(
        topic.contains("<p class=\"author\">автор <strong>"),
        "{topic}"
    );
    assert!(!topic.contains(">Index</a>"), "{topic}");
    // The GBK Chinese forum.
    let (zh, _) = host_page(out, "dragon-bbs.test", "index.html", "gbk");
    assert!(
        zh.contains("<h1 class=\"forum-title\">论坛首页</h1>"),
        "{zh}"
    );
    // News and social chrome; dir="rtl" exactly where the main language is ar, fa or ur.
    for (host, lang, rtl, phrase) in [
        ("hindukush-herald.test", "ur", true, "<h1>سرورق</h1>"),
        ("pamir-news.test", "fa", true, "<h1>صفحهٔ نخست</h1>"),
        ("anatolia-gazette.test", "tr", false, "<h1>Manşet</h1>"),
        ("daily-meridian.test", "en", false, "<h1>Front page</h1>"),
        ("yurt.test", "kk", false, "<h1>Қош келдіңіз</h1>"),
        ("bazaar-social.test", "hi", false, "<h1>स्वागत है</h1>"),
        (
            "silkroad-forum.test",
            "uz",
            false,
            ">Forumlar roʻyxati</h1>",
        ),
        ("steppe-board.test", "kk", false, ">Форумдар тізімі</h1>"),
    ] {
        let (html, _) = host_page(out, host, "index.html", "utf-8");
        let open = if rtl {
            format!("<html lang=\"{lang}\" dir=\"rtl\">")
        } else {
            format!("<html lang=\"{lang}\">")
        };
        assert!(html.contains(&open), "{host}: no {open}");
        assert!(html.contains(phrase), "{host}: no {phrase}:\n{html}");
    }
}

#[test]
fn long_posts_are_long_reads() {
    use trawl::model::{Lang, Phenomenon};
    let dir = tempdir();
    seed_into(dir.path(), 1500, 21);
    let truth: Vec<TruthRecord> = jsonl(&dir.path().join("truth.jsonl"));
    let posts: Vec<Post> = jsonl(&dir.path().join("posts.jsonl"));
    let mut langs = std::collections::BTreeSet::new();
    for (t, p) in truth.iter().zip(&posts) {
        if !t.phenomena.contains(&Phenomenon::Long) {
            continue;
        }
        langs.insert(t.lang);
        let min = if t.lang == Lang::Zh { 600 } else { 1500 };
        let n = p.text.chars().count();
        assert!(n >= min, "{} ({}): long post of {n} chars", t.url, t.lang);
        assert!(p.text.split("\n\n").count() >= 5, "{}", t.url);
    }
    assert!(
        langs.contains(&Lang::Zh) && langs.contains(&Lang::Ru),
        "long posts seen only in {langs:?}"
    );
}
