//! Whole-pipeline throughput (normalise + language ID + tokenise + stem + match + score) on one
//! core over `benches/data/posts-mixed.jsonl`: with the shipped packs, and with the shipped
//! packs plus a generated lexicon of 1,000 and of 20,000 terms (one pass per post however many
//! terms: 20,000 should cost at most 1.5x of 1,000).
//!
//! Run: `cargo bench --bench classify` (criterion prints MB/s per case).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trawl::classify::Classifier;
use trawl::classify::rules::{Source, default_sources};
use trawl::model::Post;

fn posts() -> Vec<Post> {
    include_str!("data/posts-mixed.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Post>(l).expect("post"))
        .collect()
}

/// A deterministic pack of `n` pseudo-words over Latin, Cyrillic and Arabic letters.
fn generated_pack(n: usize) -> Source {
    let alphabets: [&[char]; 3] = [
        &[
            'a', 'b', 'd', 'e', 'g', 'k', 'l', 'm', 'n', 'o', 'r', 's', 't', 'u', 'v', 'z',
        ],
        &[
            'а', 'б', 'в', 'г', 'д', 'е', 'к', 'л', 'м', 'н', 'о', 'р', 'с', 'т', 'у', 'ш',
        ],
        &[
            'ا', 'ب', 'ت', 'د', 'ر', 'س', 'ف', 'ق', 'ک', 'ل', 'م', 'ن', 'و', 'ه', 'ی', 'ج',
        ],
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut terms = Vec::with_capacity(n);
    for i in 0..n {
        let a = alphabets[i % 3];
        let len = 5 + (i % 5);
        let mut w = String::new();
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.push(a[(x % a.len() as u64) as usize]);
        }
        terms.push(format!("\"{w}\""));
    }
    let text = format!(
        "[lexicons.generated]\nany = [{}]\n\n[[rules]]\nid = \"generated\"\ncategory = \"propaganda\"\nweight = 0.3\nwhen = \"generated and org\"\n",
        terms.join(", ")
    );
    Source::new("generated.toml", text)
}

fn bench(c: &mut Criterion) {
    let posts = posts();
    let bytes: usize = posts.iter().map(|p| p.text.len()).sum();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    let mut cases = vec![("shipped_packs", Classifier::default_packs().expect("packs"))];
    for n in [1_000, 20_000] {
        let mut srcs = default_sources();
        srcs.push(generated_pack(n));
        cases.push((
            if n == 1_000 {
                "plus_1k_terms"
            } else {
                "plus_20k_terms"
            },
            Classifier::from_sources(&srcs).expect("generated pack"),
        ));
    }
    for (name, clf) in &cases {
        let mut s = clf.new_scratch();
        g.bench_function(*name, |b| {
            b.iter(|| {
                let flagged = posts
                    .iter()
                    .filter(|p| clf.classify(p, &mut s).flagged)
                    .count();
                // Guard: a mixed file always has some flagged and some clean posts.
                assert!(flagged > 0 && flagged < posts.len());
                flagged
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
