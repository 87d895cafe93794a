//! Arbitrary bytes as a policy file: parsing must never panic, and every
//! problem reported must point at a line and column inside the input.
//!
//! Run: `cargo fuzz run -s none policy` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_policy::Policy;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    if let Err(e) = Policy::from_toml_str(&src) {
        assert!(
            !e.problems.is_empty(),
            "an error names at least one problem"
        );
        let lines: Vec<&str> = src.split('\n').collect();
        for p in &e.problems {
            assert!(
                p.line >= 1 && p.line <= lines.len(),
                "line {} outside 1..={}",
                p.line,
                lines.len()
            );
            let width = lines[p.line - 1].chars().count();
            assert!(
                p.column >= 1 && p.column <= width + 1,
                "column {} outside 1..={} on line {}",
                p.column,
                width + 1,
                p.line
            );
        }
    }
});
