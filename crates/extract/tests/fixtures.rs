//! The fixture set through extraction, the detector and the default policy (attachment
//! surface, before a contract): recall at least 0.95 over the files with contact details, and
//! no false alarm on the clean ones. Plus bombs, truncated and mislabelled files.

mod fixtures {
    pub mod build;
}

use fixtures::build::{self, all};
use parley_extract::{extract, extract_with, ExtractError, Limits, Ocr, Options};
use parley_policy::{Context, Policy, Stage, Surface};

fn joined(x: &parley_extract::Extracted) -> String {
    x.parts
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Tesseract when it runs here; `PARLEY_TEST_REQUIRE_OCR=1` (set by `scripts/test.sh` after
/// `scripts/install-ocr.sh`) makes its absence a failure.
fn ocr() -> Option<Ocr> {
    let found = parley_extract::probe_ocr(std::path::Path::new("tesseract"));
    if found.is_none() {
        assert!(
            std::env::var("PARLEY_TEST_REQUIRE_OCR").as_deref() != Ok("1"),
            "PARLEY_TEST_REQUIRE_OCR=1 but tesseract does not run (bash scripts/install-ocr.sh)"
        );
        println!("tesseract not found: the OCR fixtures are skipped (bash scripts/install-ocr.sh)");
    }
    found.map(|_| Ocr {
        program: "tesseract".into(),
        timeout: std::time::Duration::from_secs(30),
    })
}

#[test]
fn recall_and_no_false_alarms_on_the_fixture_set() {
    let policy = Policy::default();
    let detector = policy.detector_builder().build().unwrap();
    let ctx = Context::new(Surface::Attachment)
        .stage(Stage::PreContract)
        .plan("basic");
    let options = Options { ocr: ocr() };
    let set: Vec<_> = all()
        .into_iter()
        .filter(|f| options.ocr.is_some() || !build::needs_ocr(&f.name))
        .collect();
    let contact = set.iter().filter(|f| f.contact).count();
    let clean = set.len() - contact;
    assert!(contact >= 30 && clean >= 20, "{contact} / {clean}");
    let (mut hits, mut misses, mut alarms) = (0, Vec::new(), Vec::new());
    for f in &set {
        let x = extract_with(&f.bytes, &f.name, f.ty, &Limits::default(), &options)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let text = joined(&x);
        let findings = detector.scan(&text);
        let d = policy.decide(&text, &findings, &ctx);
        match (f.contact, d.violation) {
            (true, true) => hits += 1,
            (true, false) => misses.push(format!("{} ({}): {text:?}", f.name, x.kind)),
            (false, true) => alarms.push(format!("{}: {}", f.name, d.explanation)),
            (false, false) => {}
        }
    }
    let recall = hits as f64 / contact as f64;
    println!(
        "recall {recall:.3} ({hits}/{contact}), false alarms {}/{clean}, OCR {}",
        alarms.len(),
        if options.ocr.is_some() { "on" } else { "off" }
    );
    assert!(
        recall >= 0.95,
        "recall {recall:.3}; misses:\n{}",
        misses.join("\n")
    );
    assert!(alarms.is_empty(), "false alarms:\n{}", alarms.join("\n"));
}

#[test]
fn bombs_truncated_and_mislabelled_files_fail_cleanly() {
    let limits = Limits::default();
    // 64 MiB of zeros deflate to ~64 KiB: a ratio far over the limit.
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = build::zip(&[("zeros.txt", &zeros)]);
    assert!(matches!(
        extract(&bomb, "b.zip", "application/zip", &limits),
        Err(ExtractError::Bomb(_))
    ));
    let docx = build::docx("hello", "me", None, None);
    let cut = &docx[..docx.len() / 2];
    assert!(matches!(
        extract(cut, "a.docx", "", &limits),
        Err(ExtractError::Malformed(_))
    ));
    let pdf = build::pdf(&["hello"], "me", None);
    let cut = &pdf[..pdf.len() / 3];
    assert!(extract(cut, "a.pdf", "application/pdf", &limits).is_err());
    assert!(matches!(
        extract(b"plain words", "a.pdf", "", &limits),
        Err(ExtractError::TypeMismatch(_))
    ));
    assert!(matches!(
        extract(&pdf, "a.png", "", &limits),
        Err(ExtractError::TypeMismatch(_))
    ));
    assert!(matches!(
        extract(&pdf, "a.pdf", "image/png", &limits),
        Err(ExtractError::TypeMismatch(_))
    ));
    let mut elf = vec![
        0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0,
    ];
    elf.resize(64, 0);
    assert!(matches!(
        extract(&elf, "tool.txt", "", &limits),
        Err(ExtractError::Refused(_))
    ));
    assert!(matches!(
        extract(b"#!/bin/sh\nrm -rf /", "run.txt", "", &limits),
        Err(ExtractError::Refused(_))
    ));
    let many: Vec<(String, Vec<u8>)> = (0..3000)
        .map(|i| (format!("f{i}.txt"), b"x".to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    assert!(matches!(
        extract(&build::zip(&refs), "m.zip", "", &limits),
        Err(ExtractError::Bomb(_))
    ));
    // A zip inside a zip is listed, not opened (one level deep).
    let inner = build::zip(&[("deep.txt", b"jo.smith@gmail.com")]);
    let outer = build::zip(&[("inner.zip", &inner)]);
    let x = extract(&outer, "o.zip", "", &limits).unwrap();
    assert!(!x.parts.iter().any(|p| p.text.contains("gmail")), "{x:?}");
}

/// A BMP header that claims `w` x `h` pixels of 24 bits, followed by a few bytes of pixels.
fn bmp_header(w: i32, h: i32) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&(54u32 + 16).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&w.to_le_bytes());
    b.extend_from_slice(&h.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 24]);
    b.extend_from_slice(&[0x80; 16]);
    b
}

#[test]
fn huge_truncated_and_malformed_pictures_fail_cleanly() {
    let limits = Limits::default();
    // 10000 x 10000 claimed: refused before any pixel is decoded, with the reason.
    match extract(
        &bmp_header(10_000, 10_000),
        "huge.bmp",
        "image/bmp",
        &limits,
    ) {
        Err(ExtractError::Bomb(m)) => {
            assert!(
                m.contains("100.0 megapixels") && m.contains("40 megapixels"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Just under the limit is decoded (a BMP of 16 bytes of pixels is then malformed).
    assert!(matches!(
        extract(&bmp_header(100, 100), "small.bmp", "", &limits),
        Err(ExtractError::Malformed(_))
    ));
    let png = build::encode(
        build::qr_picture("tel:+14155550134", (0, 0), (0, 0)),
        image::ImageFormat::Png,
    );
    for cut in [png.len() / 2, png.len() - 20, 40] {
        assert!(
            matches!(
                extract(&png[..cut], "qr.png", "image/png", &limits),
                Err(ExtractError::Malformed(_))
            ),
            "cut at {cut}"
        );
    }
    let jpg = build::jpeg(&[], None);
    assert!(matches!(
        extract(&jpg[..jpg.len() / 2], "a.jpg", "", &limits),
        Err(ExtractError::Malformed(_))
    ));
    // The whole picture reads, QR code included.
    let x = extract(&png, "qr.png", "image/png", &limits).unwrap();
    assert!(
        x.parts
            .iter()
            .any(|p| p.place == "qr code" && p.text == "tel:+14155550134"),
        "{x:?}"
    );
}
