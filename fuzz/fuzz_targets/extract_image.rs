//! Arbitrary bytes as an uploaded picture under each image name: the metadata reader, the
//! bounded pixel decoder and the QR reader return text or a clean error (a picture claiming
//! more than `max_pixels` is a bomb), never a panic or an allocation past the limits.
//!
//! Run: `cargo fuzz run -s none extract_image` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_extract::{extract, ExtractError, Limits};

const NAMES: &[&str] = &["a.png", "a.jpg", "a.gif", "a.webp", "a.bmp", "a.tiff"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    // A small pixel budget keeps each run fast; the check is the same at any size.
    let limits = Limits {
        max_pixels: 4_000_000,
        ..Limits::default()
    };
    match extract(bytes, name, "", &limits) {
        Ok(x) => {
            let total: usize = x.parts.iter().map(|p| p.text.len()).sum();
            assert!(total <= limits.max_text_bytes);
        }
        Err(ExtractError::Timeout(_)) => unreachable!("no OCR here"),
        Err(_) => {}
    }
});
