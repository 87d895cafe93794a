//! Arbitrary bytes and options through the detector: it must never panic, and
//! every finding must keep the span guarantees (`check_findings`).
//!
//! Run: `cargo fuzz run scan` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_detect::Detector;
use std::sync::OnceLock;

const REGIONS: [&str; 8] = ["US", "GB", "DE", "IN", "BR", "FR", "RU", "JP"];
const LANGUAGES: [&str; 6] = ["en", "es", "pt", "fr", "de", "ru"];

fn detectors() -> &'static Vec<Detector> {
    static D: OnceLock<Vec<Detector>> = OnceLock::new();
    D.get_or_init(|| {
        (0..8u8)
            .map(|mask| {
                let regions: Vec<&str> = REGIONS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << (i % 3)) != 0 || *i == usize::from(mask))
                    .map(|(_, r)| *r)
                    .collect();
                let languages: Vec<&str> = LANGUAGES
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (usize::from(mask) + i) % 2 == 0)
                    .map(|(_, l)| *l)
                    .collect();
                Detector::builder()
                    .regions(regions)
                    .languages(languages)
                    .build()
                    .expect("valid options build")
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&opts, rest)) = data.split_first() else {
        return;
    };
    let detector = &detectors()[usize::from(opts % 8)];
    let text = String::from_utf8_lossy(rest);
    let findings = detector.scan(&text);
    if let Err(e) = parley_detect::check_findings(&text, &findings) {
        panic!("{e} in {text:?}");
    }
    let masked = parley_detect::mask(&text, &findings, |_| "\u{2588}".to_string());
    let _ = detector.scan(&masked);
});
