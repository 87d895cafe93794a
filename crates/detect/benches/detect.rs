//! Detector throughput: short messages (the dev corpus), long texts (2–20 KB
//! profiles and job posts), and the cost curve at 1 KB, 10 KB, 100 KB, 1 MB.
//!
//! Run: `cargo bench -p parley-detect --bench detect`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use parley_detect::Detector;
use std::hint::black_box;

fn corpus() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dev.jsonl");
    let body = std::fs::read_to_string(path).expect("dev corpus");
    body.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_owned))
        .collect()
}

/// A long text of about `len` bytes made of corpus sentences and ordinary
/// prose, the way a profile or job post reads: mostly honest text with a few
/// pieces of contact information.
fn long_text(corpus: &[String], len: usize) -> String {
    const PROSE: &[&str] = &[
        "I am a full-stack developer with eight years of experience building web applications in React, TypeScript and Rust.",
        "Our team needs help migrating a legacy PHP monolith to a set of services, with CI on GitHub Actions and deployment to AWS.",
        "Deliverables: wireframes, a clickable prototype in Figma, and a design system with tokens for colors, spacing and typography.",
        "Budget is $4,500 for the first milestone; the timeline is six weeks starting 2025-03-01, about 20 hours per week.",
        "Experience with Stripe billing, webhooks, PostgreSQL 15 and Redis is a plus. Please describe a similar project in your proposal.",
    ];
    let mut out = String::with_capacity(len + 256);
    let mut i = 0usize;
    while out.len() < len {
        if i % 7 == 3 {
            out.push_str(&corpus[(i * 31) % corpus.len()]);
        } else {
            out.push_str(PROSE[i % PROSE.len()]);
        }
        out.push(if i % 5 == 4 { '\n' } else { ' ' });
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let detector = Detector::builder().build().expect("detector");
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(String::len).sum();

    let mut g = c.benchmark_group("messages");
    g.throughput(Throughput::Elements(corpus.len() as u64));
    g.bench_function("dev_corpus", |b| {
        b.iter(|| {
            let mut n = 0;
            for t in &corpus {
                n += detector.scan(black_box(t)).len();
            }
            n
        })
    });
    g.finish();
    eprintln!("dev corpus: {} messages, {} bytes", corpus.len(), bytes);

    let mut g = c.benchmark_group("long_texts");
    let texts: Vec<String> = (0..16)
        .map(|i| long_text(&corpus, 2_000 + i * 1_200))
        .collect();
    let total: usize = texts.iter().map(String::len).sum();
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("profiles_2k_to_20k", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| detector.scan(black_box(t)).len())
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("scaling");
    g.sample_size(10);
    for len in [1_000, 10_000, 100_000, 1_000_000] {
        let text = long_text(&corpus, len);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(len), &text, |b, t| {
            b.iter(|| detector.scan(black_box(t)).len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
