//! Extraction throughput: a forum topic page with 20 post blocks, a windows-1251 news page and a
//! JSON-LD page. `cargo bench --bench extract`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trawl::extract::Extractor;
use trawl::model::Page;

fn page(url: &str, ct: &str, body: Vec<u8>) -> Page {
    Page {
        url: url.into(),
        final_url: url.into(),
        status: 200,
        headers: vec![("content-type".into(), ct.into())],
        body,
        fetched_at: time::OffsetDateTime::UNIX_EPOCH,
        sha256: String::new(),
        depth: 1,
    }
}

fn forum_page() -> Vec<u8> {
    let mut h = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>T</title></head>\
         <body><h1>Topic</h1><div id=\"topic\" data-thread-id=\"7\">",
    );
    for i in 0..20 {
        h.push_str(&format!(
            "<div class=\"post\" id=\"p{i}\" data-post-id=\"{i}\"><div class=\"post-header\">\
             <a class=\"permalink\" href=\"/topic/7/#p{i}\">#</a><a class=\"author\" href=\"/u/a{i}/\">a{i}</a>\
             <time datetime=\"2024-05-03T17:07:09Z\">x</time></div><div class=\"content\"><p>{}</p><p>{}</p></div></div>",
            "Lorem ipsum dolor sit amet &amp; consectetur. ".repeat(6),
            "Second paragraph with <b>bold</b> and <a href=\"/x\">a link</a>. ".repeat(3)
        ));
    }
    h.push_str("</div></body></html>");
    h.into_bytes()
}

fn bench(c: &mut Criterion) {
    let ex = Extractor::new();
    let forum = page(
        "http://forum.test/topic/7/",
        "text/html; charset=utf-8",
        forum_page(),
    );
    let ru_html = format!(
        "<html lang=ru><head><meta charset=windows-1251></head><body><article class=article data-article-id=1>\
         <h1>Заголовок</h1><div class=article-body>{}</div></article></body></html>",
        "<p>Жители города обсуждают новости дня.</p>".repeat(30)
    );
    let (ru, _, _) = encoding_rs::WINDOWS_1251.encode(&ru_html);
    let news = page(
        "http://novosti.test/news/1.html",
        "text/html",
        ru.into_owned(),
    );
    let mut g = c.benchmark_group("extract");
    for (name, p) in [("forum_20_posts", &forum), ("news_windows1251", &news)] {
        g.throughput(Throughput::Bytes(p.body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| ex.extract(p).map(|x| x.posts.len()).unwrap_or(0))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
