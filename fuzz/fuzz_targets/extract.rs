//! Arbitrary bytes as an uploaded file under each supported name: extraction returns text or
//! a clean error within its limits, never a panic (the server also runs it out of process).
//!
//! Run: `cargo fuzz run -s none extract` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_extract::{extract, Limits};

const NAMES: &[&str] = &[
    "a.txt", "a.html", "a.rtf", "a.vcf", "a.pdf", "a.docx", "a.xlsx", "a.odt", "a.zip", "a.png",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let limits = Limits {
        max_expanded_bytes: 16 * 1024 * 1024,
        ..Limits::default()
    };
    if let Ok(x) = extract(bytes, name, "", &limits) {
        let total: usize = x.parts.iter().map(|p| p.text.len()).sum();
        assert!(total <= limits.max_text_bytes);
    }
});
