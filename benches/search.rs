//! Reviewer search latency over a large generated index.
//!
//! Builds (once, cached in `target/bench-index-<N>`) an index of N generated items (default
//! 1,000,000; `TRAWL_BENCH_ITEMS=200000` for a smaller one), then measures typical reviewer
//! queries: two terms + two filters, top 20 by score, with snippets. Prints p50/p99 over many
//! distinct queries (criterion reports means, not tails), then runs criterion on one query.
//!
//! Run: `cargo bench --bench search` (first run builds the index; its time is printed).
//! Delete the cache directory after changing the schema or the generator.
//!
//! Measured on the 2-core build machine shared with other jobs (load average ~11):
//! building 1,000,000 items took 584 s (1,711 items/s, 885 MB on disk); searches over it:
//! p50 1.28 ms, p90 9.4 ms, p99 17.0 ms (mean 19.9 hits/query, snippets included).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use trawl::index::{Filter, IndexStore, SearchRequest, SortBy};
use trawl::model::{
    Category, FiredRule, Item, Lang, LangDecision, Match, Post, PostId, ReviewStatus, RuleId,
    SiteKind, Span, Verdict,
};

const VOCAB: usize = 20_000;
const LANGS: [Lang; 4] = [Lang::En, Lang::Ru, Lang::De, Lang::Fr];

fn word(i: usize, lang: Lang) -> String {
    // Pronounceable fictional words; Cyrillic for Russian.
    const LAT: [&str; 16] = [
        "ka", "lo", "mir", "ten", "sa", "vel", "ro", "dan", "ul", "pe", "ny", "gor", "ti", "bra",
        "es", "zu",
    ];
    const CYR: [&str; 16] = [
        "ка", "ло", "мир", "тен", "са", "вел", "ро", "дан", "ул", "пе", "ны", "гор", "ти", "бра",
        "ес", "зу",
    ];
    let syl = if lang == Lang::Ru { &CYR } else { &LAT };
    let mut n = i + 17;
    let mut w = String::new();
    while n > 0 {
        w.push_str(syl[n % 16]);
        n /= 16;
    }
    w
}

/// Zipf-ish rank: small ranks are frequent.
fn zipf(rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.random_range(0.0..1.0);
    ((VOCAB as f64).powf(u) as usize)
        .saturating_sub(1)
        .min(VOCAB - 1)
}

fn gen_item(i: u64, rng: &mut ChaCha8Rng) -> Item {
    let lang = LANGS[rng.random_range(0..LANGS.len())];
    let host = format!("site{}.test", rng.random_range(0..50));
    let n = rng.random_range(15..80);
    let text: Vec<String> = (0..n).map(|_| word(zipf(rng), lang)).collect();
    let text = text.join(" ");
    let post_id = PostId(i.to_string());
    let cat = Category::ALL[rng.random_range(0..Category::ALL.len())];
    let score: f32 = rng.random_range(0.3..1.0);
    let ts = time::macros::datetime!(2025-01-01 00:00 UTC)
        + Duration::from_secs(rng.random_range(0..365 * 86_400));
    let end = text.find(' ').unwrap_or(text.len());
    Item {
        id: Item::make_id(&host, &post_id),
        post: Post {
            url: format!("http://{host}/topic/{}/#p{i}", i / 20),
            post_id: post_id.clone(),
            host: host.clone(),
            site_kind: Some(SiteKind::Forum),
            thread: Some((i / 20).to_string()),
            title: None,
            author: Some(format!("user{}", rng.random_range(0..10_000))),
            author_url: None,
            published: Some(ts),
            lang_hint: Some(lang),
            text: text.clone(),
            links: vec![],
        },
        verdict: Verdict {
            post_id,
            url: String::new(),
            flagged: true,
            score,
            categories: vec![cat],
            fired: vec![FiredRule {
                rule: RuleId(format!(
                    "{}.{}.{}",
                    lang.code(),
                    cat.as_str(),
                    rng.random_range(0..5)
                )),
                category: cat,
                weight: score,
                matches: vec![Match {
                    span: Span { start: 0, end },
                    excerpt: text[..end].to_string(),
                    lexicon: "cue".into(),
                    term: "x".into(),
                }],
            }],
            lang: LangDecision {
                lang,
                confidence: 0.9,
                method: "bench".into(),
                script: None,
            },
        },
        page_sha256: "0".repeat(64),
        fetched_at: ts,
        cluster: String::new(),
        status: ReviewStatus::Pending,
    }
}

fn open_index(n: u64) -> IndexStore {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-index-{n}"));
    let done = dir.join("BUILT");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let store = IndexStore::open_or_create(&dir).expect("create bench index");
        let t = Instant::now();
        let mut w = store.writer_with(2, 512 << 20).expect("writer");
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        for i in 0..n {
            w.add(&gen_item(i, &mut rng)).expect("add");
            if (i + 1) % 100_000 == 0 {
                w.commit().expect("commit");
                eprintln!("  indexed {} items in {:.1?}", i + 1, t.elapsed());
            }
        }
        w.finish().expect("finish");
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "built {n} items in {secs:.1} s ({:.0} items/s)",
            n as f64 / secs
        );
        std::fs::write(&done, format!("{n} items in {secs:.1} s\n")).expect("marker");
        return store;
    }
    eprintln!(
        "using cached index {} ({})",
        dir.display(),
        std::fs::read_to_string(&done).unwrap_or_default().trim()
    );
    IndexStore::open_or_create(&dir).expect("open bench index")
}

/// A typical reviewer query: two mid-frequency terms of one language, plus two filters.
fn query(rng: &mut ChaCha8Rng) -> SearchRequest {
    let lang = LANGS[rng.random_range(0..LANGS.len())];
    let a = word(rng.random_range(5..60), lang);
    let b = word(rng.random_range(5..200), lang);
    let filter = if rng.random_bool(0.5) {
        Filter {
            langs: vec![lang],
            categories: vec![Category::ALL[rng.random_range(0..7)]],
            ..Filter::default()
        }
    } else {
        Filter {
            hosts: vec![format!("site{}.test", rng.random_range(0..50))],
            min_score: Some(0.5),
            ..Filter::default()
        }
    };
    SearchRequest {
        query: format!("{a} {b}"),
        filter,
        sort: SortBy::Score,
        limit: 20,
        ..SearchRequest::default()
    }
}

fn main() {
    let n: u64 = std::env::var("TRAWL_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let store = open_index(n);
    assert_eq!(store.len(), n, "cached index has the wrong size: delete it");

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let queries: Vec<SearchRequest> = (0..500).map(|_| query(&mut rng)).collect();
    for q in queries.iter().take(50) {
        store.search(q).expect("warm-up");
    }
    let mut lat: Vec<Duration> = Vec::new();
    let mut by_kind: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut hits = 0usize;
    for _ in 0..2 {
        for q in &queries {
            let t = Instant::now();
            let r = store.search(q).expect("search");
            let d = t.elapsed();
            lat.push(d);
            by_kind[usize::from(q.filter.langs.is_empty())].push(d);
            hits += r.hits.len();
            assert!(r.hits.iter().all(|h| !h.snippet.fragment.is_empty()));
        }
    }
    let pct = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
    };
    println!(
        "search over {n} items, {} queries (2 terms + 2 filters, top 20 with snippets): \
         p50 {:.2?}  p90 {:.2?}  p99 {:.2?}  max {:.2?}  (mean hits/query {:.1})",
        lat.len(),
        pct(&mut lat, 0.50),
        pct(&mut lat, 0.90),
        pct(&mut lat, 0.99),
        lat[lat.len() - 1],
        hits as f64 / lat.len() as f64
    );
    for (name, v) in ["--lang + --category", "--host + --min-score"]
        .iter()
        .zip(&mut by_kind)
    {
        println!(
            "  {name:<22} p50 {:.2?}  p99 {:.2?}",
            pct(v, 0.5),
            pct(v, 0.99)
        );
    }

    let mut c = Criterion::default().configure_from_args().sample_size(50);
    let mut i = 0;
    c.bench_function("search/2-terms-2-filters-top20-snippets", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            store.search(&queries[i]).expect("search")
        })
    });
    c.final_summary();
}
