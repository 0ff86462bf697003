//! `trawl serve`: a real server on 127.0.0.1:0, a real HTTP client (reqwest) and raw sockets for
//! requests no client would send. The fixture is a small hand-built corpus tree: a UTF-8 forum, a
//! windows-1251 forum and a GBK news site.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use trawl::corpus::Scenario;
use trawl::corpus::serve::{RunningServer, ServeConfig, Server};
use trawl::model::{Manifest, ManifestHost, SiteKind};

use crate::util;

const SECRET: &str = "TOP-SECRET-OUTSIDE-THE-SITE-ROOT";
/// Pages under `/a/N.html` on the GBK host, for rate tests of the provider.
const MANY: usize = 300;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn host(name: &str, kind: SiteKind, charset: &str) -> ManifestHost {
    ManifestHost {
        host: name.into(),
        kind,
        charset: charset.into(),
        entry_points: vec!["/".into(), "/sitemap.xml".into()],
        langs: vec![],
        files: 0,
        posts: 0,
    }
}

/// Builds the fixture corpus under `root`.
fn fixture(root: &Path) {
    let manifest = Manifest {
        format: 1,
        scenario: "serve-fixture".into(),
        scenario_sha256: String::new(),
        seed: 1,
        posts: 3,
        counts: BTreeMap::new(),
        hosts: vec![
            host("forum.test", SiteKind::Forum, "utf-8"),
            host("ru.test", SiteKind::Forum, "windows-1251"),
            host("zh.test", SiteKind::News, "gbk"),
        ],
        tree_sha256: String::new(),
        start: None,
    };
    write(
        &root.join("manifest.json"),
        &serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    write(&root.join("secret.txt"), SECRET.as_bytes());
    let f = root.join("sites/forum.test");
    write(&f.join("index.html"), b"<!DOCTYPE html><meta charset=\"utf-8\"><a href=\"/calendar/\">Calendar</a> <a href=\"/topic/1/\">Topic</a>");
    write(
        &f.join("topic/1/index.html"),
        "<div id=\"p1\"><a href=\"/topic/1/#p1\">#1</a> Привет</div>".as_bytes(),
    );
    write(
        &f.join("topic/1/page-2.html"),
        b"<div id=\"p2\"><a href=\"/topic/1/page-2.html#p2\">#2</a></div>",
    );
    write(
        &f.join("robots.txt"),
        b"User-agent: *\nDisallow: /private/\n",
    );
    write(
        &f.join("sitemap.xml"),
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset></urlset>",
    );
    write(&f.join("style.css"), b"body{}");
    write(&f.join("empty.html"), b"");
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("secret.txt"), f.join("escape.html")).unwrap();
    let (ru, _, _) = encoding_rs::WINDOWS_1251
        .encode("<html><meta charset=\"windows-1251\"><p>Привет, форум! Ёжик</p></html>");
    write(&root.join("sites/ru.test/index.html"), &ru);
    let (zh, _, _) =
        encoding_rs::GBK.encode("<html><meta charset=\"gbk\"><p>你好，论坛，新闻</p></html>");
    let z = root.join("sites/zh.test");
    write(&z.join("index.html"), &zh);
    write(&z.join("robots.txt"), b"User-agent: *\nAllow: /\n");
    write(
        &z.join("sitemap.xml"),
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset/>",
    );
    for i in 0..MANY {
        write(
            &z.join(format!("a/{i}.html")),
            format!("<p>article {i}</p>").as_bytes(),
        );
    }
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = util::tempdir();
        fixture(dir.path());
        Self { dir }
    }

    fn config(&self) -> ServeConfig {
        ServeConfig::new(self.dir.path())
    }
}

fn client(addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .resolve("forum.test", addr)
        .resolve("ru.test", addr)
        .resolve("zh.test", addr)
        .resolve("unknown.test", addr)
        .build()
        .unwrap()
}

fn url(server: &RunningServer, host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", server.local_addr().port())
}

/// Sends raw bytes, returns whatever comes back (lossy UTF-8): one complete response (by
/// `Content-Length` or chunked framing), or everything until the server closes, or what arrived
/// within 5 s. Blocking: call it from multi-thread runtimes only.
fn raw(addr: SocketAddr, request: &[u8]) -> String {
    raw_within(addr, request, Duration::from_secs(5))
}

/// [`raw`] with a deadline.
fn raw_within(addr: SocketAddr, request: &[u8], limit: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // The server may close early on a huge request; a failed write is fine.
    let _ = s.write_all(request);
    let deadline = std::time::Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    while std::time::Instant::now() < deadline && !complete(&out) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `data` holds one whole HTTP response.
fn complete(data: &[u8]) -> bool {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let body = &data[end + 4..];
    if head.starts_with("http/1.1 304") || head.starts_with("http/1.1 1") {
        return true;
    }
    if let Some(cl) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        return cl.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    false
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn get_raw(addr: SocketAddr, host: &str, target: &str) -> String {
    raw(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// `mean ± 5 sigma` of a binomial.
fn five_sigma(n: usize, p: f64) -> std::ops::RangeInclusive<usize> {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    ((mean - 5.0 * sd).max(0.0).floor() as usize)..=((mean + 5.0 * sd).ceil() as usize)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_types_and_charsets() {
    let fx = Fixture::new();
    let server = Server::start(fx.config()).await.unwrap();
    let c = client(server.local_addr());
    let cases = [
        (
            "forum.test",
            "/",
            "text/html; charset=utf-8",
            "sites/forum.test/index.html",
        ),
        (
            "forum.test",
            "/topic/1/",
            "text/html; charset=utf-8",
            "sites/forum.test/topic/1/index.html",
        ),
        (
            "forum.test",
            "/robots.txt",
            "text/plain; charset=utf-8",
            "sites/forum.test/robots.txt",
        ),
        (
            "forum.test",
            "/style.css",
            "text/css; charset=utf-8",
            "sites/forum.test/style.css",
        ),
        (
            "ru.test",
            "/",
            "text/html; charset=windows-1251",
            "sites/ru.test/index.html",
        ),
        (
            "zh.test",
            "/",
            "text/html; charset=gbk",
            "sites/zh.test/index.html",
        ),
        (
            "zh.test",
            "/robots.txt",
            "text/plain; charset=gbk",
            "sites/zh.test/robots.txt",
        ),
        // The sitemap declares UTF-8 itself; that wins over the host charset.
        (
            "zh.test",
            "/sitemap.xml",
            "text/xml; charset=utf-8",
            "sites/zh.test/sitemap.xml",
        ),
    ];
    for (host, path, ctype, file) in cases {
        let resp = c.get(url(&server, host, path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{host}{path}");
        assert_eq!(resp.headers()["content-type"], ctype, "{host}{path}");
        let body = resp.bytes().await.unwrap();
        assert_eq!(
            &body[..],
            &std::fs::read(fx.dir.path().join(file)).unwrap()[..],
            "{host}{path}"
        );
    }
    // The bytes decode with the declared charset.
    let ru = c
        .get(url(&server, "ru.test", "/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&ru);
    assert!(!bad && text.contains("Привет, форум! Ёжик"));
    let zh = c
        .get(url(&server, "zh.test", "/"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (text, _, bad) = encoding_rs::GBK.decode(&zh);
    assert!(!bad && text.contains("你好，论坛，新闻"));
    // Host case and port do not matter; absolute-form URIs name the host too.
    let addr = server.local_addr();
    let r = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: FORUM.Test:8080\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 200, "{r}");
    let r = raw(
        addr,
        b"GET http://zh.test/robots.txt HTTP/1.1\r\nHost: forum.test\r\nConnection: close\r\n\r\n",
    );
    assert!(r.contains("charset=gbk") && r.contains("Allow: /"), "{r}");
    // Unknown host, missing file, directory without slash.
    let r = c
        .get(url(&server, "unknown.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(url(&server, "forum.test", "/nope.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(url(&server, "forum.test", "/topic/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(r.headers()["location"], "/topic/1/");
    let r = c
        .post(url(&server, "forum.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let stats = server.shutdown().await;
    // 8 table rows, ru + zh decoded, 2 raw requests.
    assert_eq!(stats.by_status.get(&200).copied(), Some(12));
    assert!(
        stats
            .log
            .iter()
            .any(|r| r.host == "zh.test" && r.path == "/robots.txt")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_and_conditional_get() {
    let fx = Fixture::new();
    let server = Server::start(fx.config()).await.unwrap();
    let c = client(server.local_addr());
    let u = url(&server, "forum.test", "/topic/1/page-2.html");
    let first = c.get(&u).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let lm = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    assert!(lm.ends_with(" GMT"), "{lm}");
    // Stable across requests (cached or recomputed, the same).
    let again = c.get(&u).send().await.unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    let r = c
        .get(&u)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = c
        .get(&u)
        .header("If-None-Match", "W/\"zzz\", ".to_string() + &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c
        .get(&u)
        .header("If-None-Match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(&u)
        .header("If-Modified-Since", &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c
        .get(&u)
        .header("If-Modified-Since", "Mon, 01 Jan 1990 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // If-None-Match takes precedence over If-Modified-Since.
    let r = c
        .get(&u)
        .header("If-None-Match", "\"other\"")
        .header("If-Modified-Since", &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A changed file gets a new tag.
    std::fs::write(
        fx.dir.path().join("sites/forum.test/topic/1/page-2.html"),
        b"changed, longer",
    )
    .unwrap();
    let r = c
        .get(&u)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_is_refused() {
    let fx = Fixture::new();
    let server = Server::start(fx.config()).await.unwrap();
    let addr = server.local_addr();
    let targets = [
        "/../secret.txt",
        "/../../secret.txt",
        "/topic/../../../secret.txt",
        "/%2e%2e/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/secret.txt",
        "/..%2f..%2fsecret.txt",
        "/..%2F..%2Fsecret.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%5c..%5csecret.txt",
        "/..\\..\\secret.txt",
        "/%252e%252e/%252e%252e/secret.txt",
        "/.%2e/.%2e/secret.txt",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
        "/index.html%00.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/C:/Windows/win.ini",
        "/escape.html",
        "/./index.html",
        "http://forum.test/../../secret.txt",
    ];
    for t in targets {
        let r = get_raw(addr, "forum.test", t);
        let status = status_of(&r);
        assert!(status == 400 || status == 404, "{t}: {r}");
        assert!(!r.contains(SECRET), "{t} leaked the secret");
    }
    // The server is still fine and still serves the real page.
    let r = get_raw(addr, "forum.test", "/topic/1/");
    assert_eq!(status_of(&r), 200);
    server.shutdown().await;
}

async fn statuses(c: &reqwest::Client, u: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(c.get(u).send().await.unwrap().status().as_u16());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_at_the_configured_rate_and_deterministic() {
    let fx = Fixture::new();
    let cfg = ServeConfig {
        error_rate: 0.1,
        fault_seed: 7,
        record_requests: false,
        ..fx.config()
    };
    let server = Server::start(cfg.clone()).await.unwrap();
    let c = client(server.local_addr());
    let n = 2000;
    let got = statuses(&c, &url(&server, "forum.test", "/robots.txt"), n).await;
    let errors = got.iter().filter(|s| **s == 500 || **s == 503).count();
    assert!(
        five_sigma(n, 0.1).contains(&errors),
        "{errors} errors of {n}"
    );
    assert!(got.contains(&500) && got.contains(&503));
    assert_eq!(got.iter().filter(|s| **s == 200).count() + errors, n);
    let stats = server.shutdown().await;
    assert_eq!(stats.faults.get("error").copied(), Some(errors as u64));
    assert!(stats.log.is_empty());
    // Same seed, same sequential requests: the same faults on the same requests.
    let server = Server::start(cfg).await.unwrap();
    let c = client(server.local_addr());
    let again = statuses(&c, &url(&server, "forum.test", "/robots.txt"), n).await;
    assert_eq!(got, again);
    server.shutdown().await;
    // Off by default.
    let server = Server::start(fx.config()).await.unwrap();
    let c = client(server.local_addr());
    let ok = statuses(&c, &url(&server, "forum.test", "/robots.txt"), 300).await;
    assert!(ok.iter().all(|s| *s == 200));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_gives_incomplete_bodies() {
    let fx = Fixture::new();
    let cfg = ServeConfig {
        truncate_rate: 0.25,
        fault_seed: 3,
        ..fx.config()
    };
    let server = Server::start(cfg).await.unwrap();
    let c = client(server.local_addr());
    let u = url(&server, "forum.test", "/topic/1/index.html");
    let full = std::fs::read(fx.dir.path().join("sites/forum.test/topic/1/index.html")).unwrap();
    let n = 400;
    let mut broken = 0;
    for _ in 0..n {
        let resp = c.get(&u).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.content_length(), Some(full.len() as u64));
        match resp.bytes().await {
            Ok(b) => assert_eq!(&b[..], &full[..]),
            Err(_) => broken += 1,
        }
    }
    assert!(
        five_sigma(n, 0.25).contains(&broken),
        "{broken} truncated of {n}"
    );
    // On the wire: the full Content-Length, fewer bytes, then the connection closes.
    let cfg = ServeConfig {
        truncate_rate: 1.0,
        ..fx.config()
    };
    let server2 = Server::start(cfg).await.unwrap();
    let r = get_raw(server2.local_addr(), "forum.test", "/topic/1/index.html");
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("content-length: {}", full.len())),
        "{head}"
    );
    assert!(body.len() < full.len(), "{} of {}", body.len(), full.len());
    // An empty file cannot be cut short: it is sent whole.
    let r = get_raw(server2.local_addr(), "forum.test", "/empty.html");
    assert!(
        r.contains("content-length: 0") && r.ends_with("\r\n\r\n"),
        "{r}"
    );
    let stats = server2.shutdown().await;
    assert_eq!(stats.faults.get("truncate").copied(), Some(1));
    let stats = server.shutdown().await;
    assert_eq!(stats.faults.get("truncate").copied(), Some(broken as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let fx = Fixture::new();
    let cfg = ServeConfig {
        rate_limit: Some(5),
        ..fx.config()
    };
    let server = Server::start(cfg).await.unwrap();
    let c = client(server.local_addr());
    let u = url(&server, "forum.test", "/robots.txt");
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..40 {
        let r = c.get(&u).send().await.unwrap();
        match r.status().as_u16() {
            200 => ok += 1,
            429 => {
                limited += 1;
                let ra: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&ra));
            }
            s => panic!("unexpected status {s}"),
        }
    }
    // 40 quick requests span at most a few one-second windows of 5.
    assert!((5..=20).contains(&ok), "{ok} passed");
    assert!(limited >= 20, "{limited} limited");
    // Per host: another host is not affected.
    let r = c.get(url(&server, "zh.test", "/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // After Retry-After, requests pass again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(c.get(&u).send().await.unwrap().status(), 200);
    server.shutdown().await;
}

fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_trap_links_onwards_forever() {
    let fx = Fixture::new();
    let server = Server::start(fx.config()).await.unwrap();
    let c = client(server.local_addr());
    let mut seen = std::collections::HashSet::new();
    let mut path = "/calendar/".to_string();
    // Walk 60 months forwards, checking each page is new and links days and the next month.
    for _ in 0..60 {
        let resp = c
            .get(url(&server, "forum.test", &path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let html = resp.text().await.unwrap();
        let ls = links(&html);
        let days = ls.iter().filter(|l| l.matches('/').count() == 5).count();
        assert!((28..=31).contains(&days), "{path}: {days} day links");
        let next = ls
            .iter()
            .find(|l| html.contains(&format!("rel=\"next\" href=\"{l}\"")))
            .unwrap();
        assert!(seen.insert(next.clone()), "{next} repeats");
        path = next.clone();
    }
    // Backwards too, and day pages chain into the next month.
    let html = c
        .get(url(&server, "forum.test", "/calendar/2024/01/"))
        .send()
        .await
        .unwrap();
    assert!(
        html.text()
            .await
            .unwrap()
            .contains("href=\"/calendar/2023/12/\"")
    );
    let day = c
        .get(url(&server, "forum.test", "/calendar/2024/02/29/"))
        .send()
        .await
        .unwrap();
    assert_eq!(day.status(), 200);
    assert!(
        day.text()
            .await
            .unwrap()
            .contains("href=\"/calendar/2024/03/01/\"")
    );
    // Far in the future, still going; invalid dates are 404.
    let far = c
        .get(url(&server, "forum.test", "/calendar/50000/12/"))
        .send()
        .await
        .unwrap();
    assert!(
        far.text()
            .await
            .unwrap()
            .contains("href=\"/calendar/50001/01/\"")
    );
    for bad in [
        "/calendar/2023/02/29/",
        "/calendar/2024/13/",
        "/calendar/2024/1/",
    ] {
        let r = c.get(url(&server, "forum.test", bad)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    // The windows-1251 forum has it too; the news site does not.
    let r = c
        .get(url(&server, "ru.test", "/calendar/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/html; charset=windows-1251"
    );
    let r = c
        .get(url(&server, "zh.test", "/calendar/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.shutdown().await;
    // --no-trap.
    let server = Server::start(ServeConfig {
        trap: false,
        ..fx.config()
    })
    .await
    .unwrap();
    let c = client(server.local_addr());
    let r = c
        .get(url(&server, "forum.test", "/calendar/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_never_kill_the_server() {
    let fx = Fixture::new();
    let server = Server::start(fx.config()).await.unwrap();
    let addr = server.local_addr();
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: forum.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let huge_uri = format!(
        "GET /{} HTTP/1.1\r\nHost: forum.test\r\n\r\n",
        "x".repeat(200_000)
    );
    let long_path = format!(
        "GET /{} HTTP/1.1\r\nHost: forum.test\r\n\r\n",
        "y".repeat(5000)
    );
    let many_headers: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many_headers = format!("GET / HTTP/1.1\r\nHost: forum.test\r\n{many_headers}\r\n");
    let cases: Vec<(Vec<u8>, Option<u16>)> = vec![
        (b"\x00\x01\x02garbage\xff\xfe\r\n\r\n".to_vec(), None),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), Some(400)),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n".to_vec(), Some(400)),
        (b"GET / HTTP/1.1\r\nHost: \xff\xfe.test\r\n\r\n".to_vec(), Some(400)),
        (b"GET / HTTP/1.1\r\nHost: forum.test\r\nHost: zh.test\r\n\r\n".to_vec(), None),
        (b"GET /\xff\xfe/x HTTP/1.1\r\nHost: forum.test\r\n\r\n".to_vec(), None),
        (b"GET /%ff%fe HTTP/1.1\r\nHost: forum.test\r\n\r\n".to_vec(), Some(400)),
        (b"GET /bad%zz HTTP/1.1\r\nHost: forum.test\r\n\r\n".to_vec(), Some(400)),
        (b"GET * HTTP/1.1\r\nHost: forum.test\r\n\r\n".to_vec(), None),
        (b"OPTIONS * HTTP/1.1\r\nHost: forum.test\r\n\r\n".to_vec(), None),
        (b"CONNECT forum.test:80 HTTP/1.1\r\nHost: forum.test\r\n\r\n".to_vec(), None),
        (b"GET / HTTP/1.1\r\nHost: forum.test\r\nContent-Length: -5\r\n\r\n".to_vec(), None),
        (b"GET / HTTP/1.1\r\nHost: forum.test\r\nIf-Modified-Since: \xff\r\n\r\n".to_vec(), None),
        (b"GET / HTTP/1.1\r\nHost: forum.test\r\nIf-None-Match: \x7f\r\n\r\n".to_vec(), None),
        (b"GET / HTTP/9.9\r\nHost: forum.test\r\n\r\n".to_vec(), None),
        (b"POST /.well-known/trawl/referrals HTTP/1.1\r\nHost: forum.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(), None),
        (b"GET / HTTP/1.1\r\nHost: forum.test".to_vec(), None),
        (huge_header.into_bytes(), None),
        (huge_uri.into_bytes(), None),
        (long_path.into_bytes(), Some(414)),
        (many_headers.into_bytes(), None),
    ];
    for (req, expect) in cases {
        let r = raw(addr, &req);
        if let Some(code) = expect {
            assert_eq!(
                status_of(&r),
                code,
                "{:?} -> {r}",
                String::from_utf8_lossy(&req[..req.len().min(80)])
            );
        }
        let ok = get_raw(addr, "forum.test", "/robots.txt");
        assert_eq!(
            status_of(&ok),
            200,
            "server hurt by {:?}",
            String::from_utf8_lossy(&req[..req.len().min(80)])
        );
    }
    // Many idle half-open connections do not block others.
    let idle: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(addr).unwrap()).collect();
    assert_eq!(status_of(&get_raw(addr, "forum.test", "/")), 200);
    drop(idle);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_track_concurrency_per_host() {
    let fx = Fixture::new();
    let server = Server::start(ServeConfig {
        slow_ms: 400,
        ..fx.config()
    })
    .await
    .unwrap();
    let c = client(server.local_addr());
    let mut tasks = Vec::new();
    for i in 0..4 {
        let c = c.clone();
        let u = url(&server, "zh.test", &format!("/a/{i}.html"));
        tasks.push(tokio::spawn(async move {
            c.get(u).send().await.unwrap().status()
        }));
    }
    let one = c.get(url(&server, "forum.test", "/")).send().await.unwrap();
    assert_eq!(one.status(), 200);
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    // One at a time: the counter goes back down after each request.
    for _ in 0..3 {
        let r = c.get(url(&server, "ru.test", "/")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let stats = server.shutdown().await;
    // Four requests held 400 ms each overlap (all four unless the machine is badly overloaded).
    let zh = stats.max_in_flight.get("zh.test").copied().unwrap_or(0);
    assert!((2..=4).contains(&zh), "{:?}", stats.max_in_flight);
    assert_eq!(stats.max_in_flight.get("forum.test").copied(), Some(1));
    assert_eq!(stats.max_in_flight.get("ru.test").copied(), Some(1));
    assert_eq!(stats.log.len(), 8);
    assert!(
        stats
            .log
            .iter()
            .all(|r| r.duration_ms >= 390 && r.status == 200)
    );
}

async fn json_of(r: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

async fn post_bundle(c: &reqwest::Client, u: &str, body: String) -> (u16, serde_json::Value) {
    let r = c
        .post(u)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, json_of(r).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_removes_referred_pages_after_the_delay() {
    let fx = Fixture::new();
    let cfg = ServeConfig {
        removal_delay_ms: 1500,
        ..fx.config()
    };
    let server = Server::start(cfg.clone()).await.unwrap();
    let c = client(server.local_addr());
    let endpoint = url(&server, "forum.test", "/.well-known/trawl/referrals");
    let bundle = serde_json::json!({
        "schema": "trawl-referral/1",
        "provider": "forum.test",
        "items": [
            {"referral_id": "ref-1", "content_url": "http://forum.test/topic/1/page-2.html#p2", "category": "threat"},
            {"referral_id": "ref-2", "content_url": "http://forum.test/topic/1/#p1"},
            {"referral_id": "ref-3", "content_url": "http://zh.test/a/1.html"},
            {"referral_id": "ref-4", "content_url": "http://forum.test/no/such/page.html"},
            {"referral_id": "ref-5", "content_url": "http://forum.test/../secret.txt"}
        ]
    });
    let (status, receipt) = post_bundle(&c, &endpoint, bundle.to_string()).await;
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["host"], "forum.test");
    assert_eq!(receipt["accepted"], serde_json::json!(["ref-1", "ref-2"]));
    let rejected: Vec<&str> = receipt["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["referral_id"].as_str().unwrap())
        .collect();
    assert_eq!(rejected, ["ref-3", "ref-4", "ref-5"]);
    assert!(
        receipt["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not hosted here")
    );
    assert!(receipt["received_at"].as_str().unwrap().contains('T'));
    let id = receipt["receipt_id"].as_str().unwrap().to_string();
    let status_url = format!("{endpoint}/{id}");
    // Before the delay: still up, pending.
    let page = url(&server, "forum.test", "/topic/1/page-2.html");
    assert_eq!(c.get(&page).send().await.unwrap().status(), 200);
    let r: serde_json::Value = c
        .get(&status_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .unwrap();
    assert!(
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "pending"),
        "{r}"
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(c.get(&page).send().await.unwrap().status(), 410);
    assert_eq!(
        c.get(url(&server, "forum.test", "/topic/1/"))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    assert_eq!(
        c.get(url(&server, "forum.test", "/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r: serde_json::Value = c
        .get(&status_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .unwrap();
    assert!(
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "removed"),
        "{r}"
    );
    // The receipt belongs to the host it was sent to.
    let other = url(
        &server,
        "zh.test",
        &format!("/.well-known/trawl/referrals/{id}"),
    );
    assert_eq!(c.get(other).send().await.unwrap().status(), 404);
    assert_eq!(
        c.get(format!("{endpoint}/rcpt-nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    server.shutdown().await;
    // A restarted server keeps its removals (provider-state.json).
    assert!(fx.dir.path().join("provider-state.json").exists());
    let server = Server::start(cfg).await.unwrap();
    let c = client(server.local_addr());
    assert_eq!(
        c.get(url(&server, "forum.test", "/topic/1/page-2.html"))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    let r = c
        .get(url(
            &server,
            "forum.test",
            &format!("/.well-known/trawl/referrals/{id}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_removes_single_posts_from_a_windows_1251_page() {
    let fx = Fixture::new();
    let posts: String = (1..=3)
        .map(|n| {
            format!(
                "<div class=\"post\" id=\"m{n}\"><a href=\"/t/5.html#m{n}\">#{n}</a> Сообщение {n}</div>"
            )
        })
        .collect();
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"windows-1251\"></head><body>{posts}</body></html>"
    );
    let (cp, _, _) = encoding_rs::WINDOWS_1251.encode(&page);
    write(&fx.dir.path().join("sites/ru.test/t/5.html"), &cp);
    let server = Server::start(ServeConfig {
        removal_delay_ms: 0,
        persist_provider_state: false,
        ..fx.config()
    })
    .await
    .unwrap();
    let c = client(server.local_addr());
    let page_url = url(&server, "ru.test", "/t/5.html");
    let before = c.get(&page_url).send().await.unwrap();
    assert_eq!(before.status(), 200);
    let etag = before.headers()["etag"].to_str().unwrap().to_string();
    let modified = before.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        before.bytes().await.unwrap().as_ref(),
        &*cp,
        "no removal: the static bytes"
    );

    // Last-Modified has whole seconds: let the removal fall into a later second than the file.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let bundle = serde_json::json!({"items": [
        {"referral_id": "m2", "content_url": "http://ru.test/t/5.html#m2"}
    ]});
    let endpoint = url(&server, "ru.test", "/.well-known/trawl/referrals");
    let (status, receipt) = post_bundle(&c, &endpoint, bundle.to_string()).await;
    assert_eq!(status, 202, "{receipt}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = c.get(&page_url).send().await.unwrap();
    assert_eq!(
        after.status(),
        200,
        "one post of three removed: the page stays"
    );
    let h = after.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=windows-1251");
    assert_ne!(
        h["etag"].to_str().unwrap(),
        etag,
        "a new body has a new ETag"
    );
    assert_ne!(h["last-modified"].to_str().unwrap(), modified);
    let body = after.bytes().await.unwrap();
    let (text, _, errors) = encoding_rs::WINDOWS_1251.decode(&body);
    assert!(!errors);
    assert!(text.contains("<meta charset=\"windows-1251\">"), "{text}");
    assert!(
        text.contains("Сообщение 1") && text.contains("Сообщение 3"),
        "{text}"
    );
    assert!(
        !text.contains("Сообщение 2") && !text.contains("id=\"m2\""),
        "{text}"
    );
    assert!(text.contains("[removed by provider]"), "{text}");
    // The old validator no longer matches; the new one does.
    let r = c
        .get(&page_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(&page_url)
        .header("if-none-match", h["etag"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    // The last two posts go too: nothing is left, the page is gone.
    let bundle = serde_json::json!({"items": [
        {"referral_id": "m1", "content_url": "http://ru.test/t/5.html#m1"},
        {"referral_id": "m3", "content_url": "http://ru.test/t/5.html#m3"}
    ]});
    let (status, _) = post_bundle(&c, &endpoint, bundle.to_string()).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(c.get(&page_url).send().await.unwrap().status(), 410);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_refuses_at_the_configured_rate() {
    let fx = Fixture::new();
    let cfg = ServeConfig {
        removal_delay_ms: 0,
        refuse_rate: 0.3,
        fault_seed: 11,
        persist_provider_state: false,
        ..fx.config()
    };
    let server = Server::start(cfg).await.unwrap();
    let c = client(server.local_addr());
    let items: Vec<serde_json::Value> = (0..MANY)
        .map(|i| serde_json::json!({"referral_id": format!("r{i}"), "content_url": format!("http://zh.test/a/{i}.html")}))
        .collect();
    let endpoint = url(&server, "zh.test", "/.well-known/trawl/referrals");
    let (status, receipt) = post_bundle(
        &c,
        &endpoint,
        serde_json::json!({"items": items}).to_string(),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(receipt["accepted"].as_array().unwrap().len(), MANY);
    let id = receipt["receipt_id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r: serde_json::Value = c
        .get(format!("{endpoint}/{id}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap())
        .unwrap();
    let mut refused = 0;
    for item in r["items"].as_array().unwrap() {
        let n: usize = item["referral_id"].as_str().unwrap()[1..].parse().unwrap();
        let page = c
            .get(url(&server, "zh.test", &format!("/a/{n}.html")))
            .send()
            .await
            .unwrap();
        match item["status"].as_str().unwrap() {
            "refused" => {
                refused += 1;
                assert!(item["reason"].as_str().unwrap().contains("declined"));
                assert_eq!(page.status(), 200);
            }
            "removed" => assert_eq!(page.status(), 410),
            s => panic!("status {s}"),
        }
    }
    assert!(
        five_sigma(MANY, 0.3).contains(&refused),
        "{refused} refused of {MANY}"
    );
    assert!(!fx.dir.path().join("provider-state.json").exists());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_rejects_malformed_bundles() {
    let fx = Fixture::new();
    let server = Server::start(ServeConfig {
        max_bundle_bytes: 4096,
        ..fx.config()
    })
    .await
    .unwrap();
    let c = client(server.local_addr());
    let endpoint = url(&server, "forum.test", "/.well-known/trawl/referrals");
    for (body, needle) in [
        ("{\"items\": [", "not valid JSON"),
        ("not json at all", "not valid JSON"),
        ("[1,2,3]", "items"),
        ("{\"items\": 5}", "items"),
        (
            "{\"items\": [{\"content_url\": \"http://forum.test/\"}]}",
            "items[0]",
        ),
        ("{\"items\": [\"x\"]}", "items[0]"),
    ] {
        let (status, err) = post_bundle(&c, &endpoint, body.to_string()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            err["error"].as_str().unwrap().contains(needle),
            "{body}: {err}"
        );
    }
    let big = format!("{{\"items\": [], \"pad\": \"{}\"}}", "x".repeat(10_000));
    let r = c.post(&endpoint).body(big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(c.get(&endpoint).send().await.unwrap().status(), 405);
    // Faults never touch the provider endpoint.
    server.shutdown().await;
    let server = Server::start(ServeConfig {
        error_rate: 1.0,
        ..fx.config()
    })
    .await
    .unwrap();
    let c = client(server.local_addr());
    let endpoint = url(&server, "forum.test", "/.well-known/trawl/referrals");
    let (status, _) = post_bundle(&c, &endpoint, "{\"items\": []}".into()).await;
    assert_eq!(status, 202);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_remote_bind_and_bad_config() {
    let fx = Fixture::new();
    let remote = ServeConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..fx.config()
    };
    let err = Server::start(remote).await.unwrap_err().to_string();
    assert!(err.contains("non-loopback"), "{err}");
    let bad = ServeConfig {
        error_rate: 1.5,
        ..fx.config()
    };
    assert!(
        Server::start(bad)
            .await
            .unwrap_err()
            .to_string()
            .contains("error_rate")
    );
    let missing = ServeConfig::new(fx.dir.path().join("nope"));
    assert!(
        Server::start(missing)
            .await
            .unwrap_err()
            .to_string()
            .contains("manifest.json")
    );
    std::fs::write(
        fx.dir.path().join("manifest.json"),
        "{\n  \"format\": 1,\n  oops",
    )
    .unwrap();
    let err = Server::start(fx.config()).await.unwrap_err().to_string();
    assert!(err.contains("manifest.json:3:"), "{err}");
}

/// Kills the child if the test fails before it exits (no stray servers).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn cli_prints_address_serves_and_summarises() {
    use std::io::BufRead;
    let fx = Fixture::new();
    let log = fx.dir.path().join("requests.jsonl");
    let mut child = util::trawl()
        .arg("serve")
        .arg(fx.dir.path())
        .arg("--log-requests")
        .arg(&log)
        .arg("--no-provider-state")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut child = KillOnDrop(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr: SocketAddr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback());
    assert_eq!(status_of(&get_raw(addr, "forum.test", "/")), 200);
    assert_eq!(status_of(&get_raw(addr, "forum.test", "/missing")), 404);
    // The request log is written while serving, not only at the end.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "request log not written while serving"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ctrl-C: graceful shutdown, summary, exit 0.
    let killed = std::process::Command::new("kill")
        .arg("-INT")
        .arg(child.0.id().to_string())
        .status();
    assert!(killed.unwrap().success());
    let status = child.0.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{status}: {rest}");
    assert!(
        rest.contains("requests: 2") && rest.contains("200=1") && rest.contains("404=1"),
        "{rest}"
    );
    let lines = util::read(&log);
    assert_eq!(lines.lines().count(), 2);
    assert!(lines.contains("\"path\":\"/missing\""));
    // Remote bind needs the flag.
    let out = util::trawl()
        .arg("serve")
        .arg(fx.dir.path())
        .args(["--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

/// Throughput of the file path: `cargo test --release --test integration serve_throughput --
/// --ignored --nocapture` (16 keep-alive clients, 20,000 GETs of a small page).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, run by hand"]
async fn serve_throughput() {
    let fx = Fixture::new();
    let server = Server::start(ServeConfig {
        record_requests: false,
        ..fx.config()
    })
    .await
    .unwrap();
    let c = client(server.local_addr());
    let total = 20_000;
    let workers = 16;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let c = c.clone();
        let base = url(&server, "zh.test", "/a/");
        tasks.push(tokio::spawn(async move {
            for i in 0..total / workers {
                let u = format!("{base}{}.html", (w * 31 + i) % MANY);
                let r = c.get(u).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = server.shutdown().await;
    assert_eq!(stats.requests, total as u64);
    println!(
        "{total} requests in {secs:.2} s: {:.0} req/s",
        total as f64 / secs
    );
}

/// A real seeded corpus: every truth URL is served (200, the host's charset in `Content-Type`)
/// and its page holds the post's block id and permalink; every entry point answers 200, and each
/// forum's board index reaches the calendar trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_truth_url_of_a_seeded_corpus_is_served() {
    // The generator tests' scenario: UTF-8, windows-1251 and GBK forums, social, news.
    let scenario = Scenario::load(&util::repo().join("tests/data/scenario.toml")).unwrap();
    truth_urls_are_served(&scenario).await;
}

/// The same for the shipped default scenario (11 hosts, 12 languages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_truth_url_of_the_default_scenario_is_served() {
    truth_urls_are_served(&Scenario::default_scenario().unwrap()).await;
}

async fn truth_urls_are_served(scenario: &Scenario) {
    use trawl::corpus::SeedOptions;
    use trawl::model::TruthRecord;
    let dir = util::tempdir();
    let out = dir.path().join("corpus");
    let opts = SeedOptions {
        out: out.clone(),
        posts: Some(400),
        seed: Some(5),
        force: false,
    };
    trawl::corpus::seed(scenario, &opts).unwrap();
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let truth: Vec<TruthRecord> = util::read(&out.join("truth.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(truth.len(), 400);
    let server = Server::start(ServeConfig::new(&out)).await.unwrap();
    let addr = server.local_addr();
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20));
    for h in &manifest.hosts {
        builder = builder.resolve(&h.host, addr);
    }
    let c = builder.build().unwrap();
    let charsets: BTreeMap<&str, &str> = manifest
        .hosts
        .iter()
        .map(|h| (h.host.as_str(), h.charset.as_str()))
        .collect();
    let port = addr.port();
    let mut pages: BTreeMap<String, String> = BTreeMap::new();
    for t in &truth {
        let (page_url, frag) = match t.url.split_once('#') {
            Some((u, f)) => (u.to_string(), Some(f)),
            None => (t.url.clone(), None),
        };
        if !pages.contains_key(&page_url) {
            let with_port = page_url.replacen(&t.host, &format!("{}:{port}", t.host), 1);
            let resp = c.get(&with_port).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{}", t.url);
            let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
            let charset = charsets[t.host.as_str()];
            assert_eq!(ctype, format!("text/html; charset={charset}"), "{}", t.url);
            let bytes = resp.bytes().await.unwrap();
            let enc = encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap();
            let (html, _, bad) = enc.decode(&bytes);
            assert!(!bad, "{} does not decode as {charset}", t.url);
            pages.insert(page_url.clone(), html.into_owned());
        }
        let html = &pages[&page_url];
        let path = t
            .url
            .trim_start_matches("http://")
            .trim_start_matches(t.host.as_str());
        assert!(
            html.contains(&format!("href=\"{path}\"")),
            "{}: no permalink",
            t.url
        );
        match frag {
            Some(f) => assert!(
                html.contains(&format!("id=\"{f}\"")),
                "{}: no block id",
                t.url
            ),
            None => assert!(
                html.contains(&t.post_id.0),
                "{}: post id not on page",
                t.url
            ),
        }
    }
    for h in &manifest.hosts {
        for e in &h.entry_points {
            let r = c
                .get(format!("http://{}:{port}{e}", h.host))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}{e}", h.host);
        }
        if h.kind == SiteKind::Forum {
            let index = c
                .get(format!("http://{}:{port}/", h.host))
                .send()
                .await
                .unwrap();
            let body = index.bytes().await.unwrap();
            const CAL: &[u8] = b"href=\"/calendar/\"";
            assert!(
                body.windows(CAL.len()).any(|w| w == CAL),
                "{}: board index does not link the calendar",
                h.host
            );
            let cal = c
                .get(format!("http://{}:{port}/calendar/", h.host))
                .send()
                .await
                .unwrap();
            assert_eq!(cal.status(), 200);
        }
    }
    let stats = server.shutdown().await;
    assert_eq!(stats.by_status.keys().copied().collect::<Vec<_>>(), [200]);
}

/// 300 seeded random requests built from pieces of HTTP (and plain garbage): the server answers
/// or closes each, and still serves a normal request after every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_kill_the_server() {
    use rand::{Rng, SeedableRng};
    let fx = Fixture::new();
    let server = Server::start(ServeConfig {
        error_rate: 0.2,
        truncate_rate: 0.2,
        ..fx.config()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let pick = |rng: &mut rand_chacha::ChaCha8Rng, n: usize| (rng.next_u64() % n as u64) as usize;
    let methods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "G\0T", "", "GET GET",
    ];
    let pieces = [
        "a",
        "1",
        "robots.txt",
        "sitemap.xml",
        "/",
        "..",
        "%2e",
        "%2f",
        "%",
        "%zz",
        "\\",
        "calendar",
        "2024",
        "01",
        "/.well-known/trawl/referrals",
        "index.html",
        "?",
        "#",
        "%00",
        "ф",
        "\u{7f}",
        "//",
        "%c0%ae",
        ".",
        "~",
        "*",
    ];
    let hosts = [
        "forum.test",
        "ru.test",
        "zh.test",
        "FORUM.TEST:1",
        "",
        "x",
        "forum.test:",
        "[::1]",
        "a b",
    ];
    let mut killed_by = None;
    for i in 0..300 {
        let mut req = Vec::new();
        if pick(&mut rng, 10) == 0 {
            let n = pick(&mut rng, 200);
            req.extend((0..n).map(|_| rng.next_u32() as u8));
        } else {
            let mut target = String::new();
            for _ in 0..pick(&mut rng, 8) {
                target.push_str(pieces[pick(&mut rng, pieces.len())]);
            }
            if pick(&mut rng, 3) > 0 {
                target.insert(0, '/');
            }
            req.extend_from_slice(methods[pick(&mut rng, methods.len())].as_bytes());
            req.push(b' ');
            req.extend_from_slice(target.as_bytes());
            req.extend_from_slice(if pick(&mut rng, 8) == 0 {
                b" HTTP/1.0\r\n"
            } else {
                b" HTTP/1.1\r\n"
            });
            if pick(&mut rng, 6) > 0 {
                req.extend_from_slice(
                    format!("Host: {}\r\n", hosts[pick(&mut rng, hosts.len())]).as_bytes(),
                );
            }
            for _ in 0..pick(&mut rng, 4) {
                let h = [
                    "If-None-Match",
                    "If-Modified-Since",
                    "If-None-Match",
                    "If-Modified-Since",
                    "Content-Length",
                    "Transfer-Encoding",
                    "X-\u{1}",
                ];
                let values = [
                    "*",
                    "\"abc\", W/\"def\"",
                    "Sun, 06 Nov 1994 08:49:37 GMT",
                    "Fri, 31 Dec 9999 23:59:59 GMT",
                    "Sunday, 06-Nov-94 08:49:37 GMT",
                    "5",
                    "chunked",
                    "",
                ];
                let v: Vec<u8> = if pick(&mut rng, 4) == 0 {
                    (0..pick(&mut rng, 30))
                        .map(|_| rng.next_u32() as u8)
                        .collect()
                } else {
                    values[pick(&mut rng, values.len())].as_bytes().to_vec()
                };
                req.extend_from_slice(h[pick(&mut rng, h.len())].as_bytes());
                req.extend_from_slice(b": ");
                req.extend_from_slice(&v);
                req.extend_from_slice(b"\r\n");
            }
            req.extend_from_slice(b"\r\n");
            if pick(&mut rng, 3) == 0 {
                req.extend_from_slice(
                    b"{\"items\":[{\"referral_id\":\"x\",\"content_url\":\"http://forum.test/\"}]}",
                );
            }
        }
        let _ = raw_within(addr, &req, Duration::from_millis(300));
        let ok = raw(
            addr,
            b"GET /robots.txt HTTP/1.1\r\nHost: zh.test\r\nConnection: close\r\n\r\n",
        );
        // Faults are on: a healthy server answers 200, 500 or 503 (or a cut 200).
        let status = status_of(&ok);
        if ![200, 500, 503].contains(&status) {
            killed_by = Some((i, String::from_utf8_lossy(&req).into_owned(), ok));
            break;
        }
    }
    assert_eq!(killed_by, None);
    let stats = server.shutdown().await;
    // Many random requests got through hyper's parser to the handler, with varied answers.
    assert!(stats.requests >= 340, "{:?}", stats.by_status);
    assert!(stats.by_status.len() >= 5, "{:?}", stats.by_status);
}

/// The calendar trap opens on the month the scenario's posts start in (from `manifest.start`),
/// and on the fixed default month for a manifest written without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_opens_on_the_scenario_start_month() {
    let scenario = Scenario::load(&util::repo().join("tests/data/scenario.toml")).unwrap();
    let dir = util::tempdir();
    let out = dir.path().join("corpus");
    let opts = trawl::corpus::SeedOptions {
        out: out.clone(),
        posts: Some(200),
        seed: Some(5),
        force: false,
    };
    trawl::corpus::seed(&scenario, &opts).unwrap();
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest.start, Some(scenario.start));
    let (y, m) = (scenario.start.year(), u8::from(scenario.start.month()));
    assert_eq!(
        (y, m),
        (2015, 10),
        "the test scenario starts in October 2015"
    );
    let server = Server::start(ServeConfig::new(&out)).await.unwrap();
    let addr = server.local_addr();
    let page = tokio::task::spawn_blocking(move || get_raw(addr, "cp-forum.test", "/calendar/"))
        .await
        .unwrap();
    assert_eq!(status_of(&page), 200, "{page}");
    assert!(page.contains("<h1>October 2015</h1>"), "{page}");
    assert!(
        page.contains("rel=\"next\" href=\"/calendar/2015/11/\""),
        "{page}"
    );
    assert!(page.contains("href=\"/calendar/2015/10/14/\""), "{page}");
    server.shutdown().await;

    // The hand-built fixture's manifest has no `start`: the default month.
    let fx = Fixture::new();
    let raw_manifest = util::read(&fx.dir.path().join("manifest.json"));
    assert!(!raw_manifest.contains("\"start\""), "{raw_manifest}");
    let server = Server::start(fx.config()).await.unwrap();
    let addr = server.local_addr();
    let page = tokio::task::spawn_blocking(move || get_raw(addr, "forum.test", "/calendar/"))
        .await
        .unwrap();
    assert!(page.contains("<h1>June 2024</h1>"), "{page}");
    server.shutdown().await;
}
