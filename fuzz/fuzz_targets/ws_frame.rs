//! Arbitrary bytes as a client WebSocket text frame: parsing must never panic,
//! and a frame that parses must be one of the documented shapes.
//!
//! Run: `cargo fuzz run -s none ws_frame` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_server::{parse_client_frame, ClientFrame};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(frame) = parse_client_frame(text) {
        let v: serde_json::Value = serde_json::from_str(text).expect("a parsed frame is JSON");
        let kind = v["type"].as_str().expect("a parsed frame has a type");
        match frame {
            ClientFrame::Typing { conversation_id } => {
                assert_eq!(kind, "typing");
                assert_eq!(
                    v["conversation_id"].as_str(),
                    Some(conversation_id.as_str())
                );
            }
            ClientFrame::Resume { cursor } => {
                assert_eq!(kind, "resume");
                assert_eq!(v["cursor"].as_i64(), Some(cursor));
            }
            ClientFrame::Ping => assert_eq!(kind, "ping"),
        }
    }
});
