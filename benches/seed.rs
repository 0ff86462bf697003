//! Seeding throughput on the embedded default scenario (small N; the 1,000,000-post figure is
//! measured with `trawl seed --posts 1000000`, see the corpus notes).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trawl::corpus::generate::{SeedOptions, seed};
use trawl::corpus::scenario::Scenario;

fn bench_seed(c: &mut Criterion) {
    let scenario = Scenario::default_scenario().expect("default scenario");
    let dir = tempfile::tempdir().expect("tempdir");
    const N: u64 = 2_000;
    let opts = SeedOptions {
        out: dir.path().join("out"),
        posts: Some(N),
        seed: Some(1),
        force: true,
    };
    let mut g = c.benchmark_group("seed");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("default_2000_posts", |b| {
        b.iter(|| {
            let s = seed(&scenario, &opts).expect("seed");
            // Guard: the bench must measure the same work every time.
            assert_eq!(s.posts, N);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_seed);
criterion_main!(benches);
