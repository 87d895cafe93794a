//! Property: whatever the policy file says, `Policy::from_toml_str` never panics,
//! and every problem it reports points at a line and column inside the input
//! (1-based; the column may be one past the line's last character, for a
//! problem at the end of a line or of the file).

use parley_policy::{Policy, DEFAULT_POLICY_TOML};
use proptest::prelude::*;

/// Lines an operator might write, right or wrong, mixed with arbitrary text.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("version = 1".to_string()),
        Just("version = 2".to_string()),
        Just("[tiers]".to_string()),
        Just("high = 1.5".to_string()),
        Just("medium = ".to_string()),
        Just("[actions.message]".to_string()),
        Just("phone = \"mask\"".to_string()),
        Just("email = { high = \"block\", low = \"nope\" }".to_string()),
        Just("\"link.social\" = \"hold_for_review\"".to_string()),
        Just("[detector]".to_string()),
        Just("regions = [\"US\", \"ZZ\", 3]".to_string()),
        Just("languages = [\"xx\"".to_string()),
        Just("[[plans]]".to_string()),
        Just("key = \"\u{00e9}\u{1F600}\\u00\"".to_string()),
        Just("a = '''".to_string()),
        Just("\r".to_string()),
        Just("\u{feff}".to_string()),
        "[a-z_.\\[\\]=\" ]{0,16}",
        any::<String>(),
    ]
}

/// A policy file: the default one with lines dropped, replaced and added.
fn policy_file() -> impl Strategy<Value = String> {
    let base: Vec<String> = DEFAULT_POLICY_TOML.lines().map(str::to_string).collect();
    let n = base.len();
    (
        prop::collection::vec((0..=n, line(), any::<bool>()), 0..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(edits, keep_base, trailing_newline)| {
            let mut lines = if keep_base { base.clone() } else { Vec::new() };
            for (at, l, replace) in edits {
                let at = at.min(lines.len());
                if replace && at < lines.len() {
                    lines[at] = l;
                } else {
                    lines.insert(at, l);
                }
            }
            let mut s = lines.join("\n");
            if trailing_newline {
                s.push('\n');
            }
            s
        })
}

fn check_positions(src: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Policy::from_toml_str(src) {
        prop_assert!(!e.problems.is_empty(), "an error names a problem");
        let lines: Vec<&str> = src.split('\n').collect();
        for p in &e.problems {
            prop_assert!(
                (1..=lines.len()).contains(&p.line),
                "{}: line outside 1..={} in {:?}",
                p,
                lines.len(),
                src
            );
            let width = lines[p.line - 1].chars().count();
            prop_assert!(
                (1..=width + 1).contains(&p.column),
                "{}: column outside 1..={} in {:?}",
                p,
                width + 1,
                src
            );
        }
    }
    Ok(())
}

proptest! {
    // A fixed seed keeps CI deterministic; `cargo fuzz run -s none policy`
    // explores beyond it. PROPTEST_RNG_SEED=<number> overrides it locally.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: std::env::var("PROPTEST_RNG_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(proptest::test_runner::RngSeed::Fixed(0x5eed_0707), proptest::test_runner::RngSeed::Fixed),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn problems_point_inside_an_edited_policy_file(src in policy_file()) {
        check_positions(&src)?;
    }

    #[test]
    fn problems_point_inside_arbitrary_text(src in any::<String>()) {
        check_positions(&src)?;
    }
}

#[test]
fn the_checked_positions_can_fail() {
    // A problem at the last line, and one at the end of a file with no final newline.
    let e = Policy::from_toml_str("version = 1\n[tiers]\nmedium = ").unwrap_err();
    let p = &e.problems[0];
    assert_eq!(p.line, 3);
    assert!(p.column <= "medium = ".chars().count() + 1);
}
