//! Arbitrary text as tus request headers (`Upload-Metadata`, `Upload-Checksum`,
//! `Upload-Length`): parsing never panics, and metadata that parses validates or fails cleanly,
//! never yielding a file name with a path or control characters.
//!
//! Run: `cargo fuzz run -s none tus_headers` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_server::domain::tus;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pairs) = tus::parse_metadata(text) {
        if let Ok(meta) = tus::upload_meta(&pairs) {
            assert!(!meta.filename.contains(['/', '\\']));
            assert!(!meta.filename.chars().any(char::is_control));
            assert!(meta.filetype.contains('/'));
        }
    }
    let _ = tus::parse_checksum(text);
    let _ = tus::parse_length("Upload-Offset", text);
});
