//! The detector alone over a file of texts, one per line (JSON Lines with a
//! `text` field, or plain lines), or over one `--text`: prints the number of
//! texts and findings. For start-up and memory measurements of the detector
//! without the CLI's JSON output and policy:
//!
//! ```sh
//! cargo build --release -p parley-detect --example scan_lines
//! /usr/bin/time -v target/release/examples/scan_lines --text hi
//! /usr/bin/time -v target/release/examples/scan_lines big.jsonl
//! ```

use parley_detect::Detector;
use std::io::BufRead;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let detector = match Detector::builder().build() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("detector: {e}");
            std::process::exit(2);
        }
    };
    let (mut texts, mut findings) = (0usize, 0usize);
    if args.first().map(String::as_str) == Some("--text") {
        let t = args.get(1).map(String::as_str).unwrap_or("");
        texts = 1;
        findings = detector.scan(t).len();
    } else if let Some(path) = args.first() {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        };
        for line in std::io::BufReader::new(file).lines() {
            let Ok(line) = line else { continue };
            let text = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["text"].as_str().map(str::to_owned))
                .unwrap_or(line);
            texts += 1;
            findings += detector.scan(&text).len();
        }
    }
    println!("{texts} texts, {findings} findings");
}
