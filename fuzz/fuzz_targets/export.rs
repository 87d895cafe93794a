//! Arbitrary bytes as an evidence export handed to `parley audit verify-export`:
//! reading and verifying must never panic (every problem is an `Err`), and any
//! document that parses must render to a page that embeds exactly it, and, once
//! given its digest, verify both as JSON and as the page.
//!
//! Run: `cargo fuzz run -s none export` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_server::export::{check_digest, digest, document_from_text, html, verify_text};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = verify_text(&text);
    let Ok(mut doc) = document_from_text(&text) else {
        return;
    };
    let _ = check_digest(&doc);
    let page = html(&doc);
    assert_eq!(
        document_from_text(&page).as_ref(),
        Ok(&doc),
        "the page embeds its document"
    );
    if let Some(map) = doc.as_object_mut() {
        let d = digest(&serde_json::Value::Object(map.clone()));
        map.insert("digest".into(), serde_json::Value::String(d));
        assert!(verify_text(&html(&doc)).is_ok(), "a signed page verifies");
        assert!(
            verify_text(&doc.to_string()).is_ok(),
            "a signed JSON export verifies"
        );
    }
});
