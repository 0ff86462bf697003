//! Normaliser throughput on a fixed mixed-language post file (`benches/data/posts-mixed.jsonl`,
//! 2,500 posts sampled from a seeded default corpus: 12 languages, every obfuscation).
//!
//! Run: `cargo bench --bench normalize` (one core; criterion prints MB/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trawl::classify::text::{NormScratch, Normalized, Normalizer};
use trawl::model::Post;

fn texts() -> Vec<String> {
    include_str!("data/posts-mixed.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Post>(l).expect("post").text)
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = texts();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let n = Normalizer::default();
    let mut out = Normalized::default();
    let mut scratch = NormScratch::default();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);
    g.bench_function("mixed_posts", |b| {
        b.iter(|| {
            let mut words = 0;
            for t in &texts {
                n.normalize_into(t, &mut out, &mut scratch);
                words += out.words.len();
            }
            // Guard: the same work every iteration.
            assert!(words > texts.len());
            words
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
