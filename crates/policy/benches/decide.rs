//! Cost of `Policy::decide` alone (the detector is benchmarked in parley-detect).
//!
//! Run: `cargo bench -p parley-policy --bench decide`.

use criterion::{criterion_group, criterion_main, Criterion};
use parley_detect::{Category, Finding, LinkKind};
use parley_policy::{Context, Policy, Surface};
use std::hint::black_box;

const TEXT: &str =
    "Hi! I can start Monday. Call me at +1 (312) 555-0148 or see https://www.behance.net/ann";

fn finding(needle: &str, category: Category, kind: Option<LinkKind>, confidence: f32) -> Finding {
    let start = TEXT.find(needle).unwrap_or(0);
    Finding {
        category,
        kind,
        start,
        end: start + needle.len(),
        matched: needle.to_string(),
        normalized: None,
        confidence,
        rule: "bench".into(),
    }
}

fn bench(c: &mut Criterion) {
    let policy = Policy::default();
    let ctx = Context::new(Surface::Message).plan("basic");
    let dirty = vec![
        finding("+1 (312) 555-0148", Category::Phone, None, 0.95),
        finding(
            "https://www.behance.net/ann",
            Category::Link,
            Some(LinkKind::Portfolio),
            0.95,
        ),
    ];
    c.bench_function("decide/clean", |b| {
        b.iter(|| policy.decide(black_box(TEXT), &[], &ctx).violation)
    });
    c.bench_function("decide/two_findings", |b| {
        b.iter(|| {
            policy
                .decide(black_box(TEXT), black_box(&dirty), &ctx)
                .violation
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
