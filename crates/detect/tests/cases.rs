//! Table-driven detector tests: every `tests/cases/*.jsonl` file (format in
//! `tests/cases/README.md`) and the labeled corpus in `../shared/corpus/`.

use parley_detect::{Category, Detector, Finding, LinkKind};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Case {
    text: String,
    expect: Vec<Expect>,
}

#[derive(Deserialize)]
struct Expect {
    category: Category,
    kind: Option<LinkKind>,
    matched: Option<String>,
    normalized: Option<String>,
}

impl Expect {
    fn covers(&self, f: &Finding) -> bool {
        f.category == self.category
            && self.kind.is_none_or(|k| f.kind == Some(k))
            && self.matched.as_ref().is_none_or(|m| &f.matched == m)
            && self
                .normalized
                .as_ref()
                .is_none_or(|n| f.normalized.as_ref() == Some(n))
    }
}

fn describe(f: &Finding) -> String {
    format!(
        "{}{} {:?} norm={:?} conf={:.2} rule={}",
        f.category,
        f.kind.map(|k| format!("/{k}")).unwrap_or_default(),
        f.matched,
        f.normalized,
        f.confidence,
        f.rule
    )
}

#[test]
fn case_tables() {
    let detector = Detector::builder()
        .build()
        .expect("default detector builds");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let mut failures = Vec::new();
    let mut count = 0;
    for file in &files {
        let body = std::fs::read_to_string(file).expect("case file is UTF-8");
        for (i, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let where_ = format!("{}:{}", file.file_name().unwrap().to_string_lossy(), i + 1);
            let case: Case = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{where_}: malformed case: {e}"));
            count += 1;
            let found = detector.scan(&case.text);
            for e in &case.expect {
                if !found.iter().any(|f| e.covers(f)) {
                    failures.push(format!(
                        "{where_}: {:?}: missing {} {:?} (found: {:?})",
                        case.text,
                        e.category,
                        e.matched,
                        found.iter().map(describe).collect::<Vec<_>>()
                    ));
                }
            }
            for f in found.iter().filter(|f| f.is_contact_info()) {
                if !case.expect.iter().any(|e| e.covers(f)) {
                    failures.push(format!(
                        "{where_}: {:?}: unexpected {}",
                        case.text,
                        describe(f)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
