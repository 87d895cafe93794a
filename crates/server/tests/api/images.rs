//! Pictures through the whole scan: QR codes read from the pixels, the text in the picture read
//! by the OCR program, the 40-megapixel refusal and broken pictures (`scan_failed` with the
//! reason), and whether OCR runs shown in `/metrics`. The extractor is the out-of-process
//! `parley-extract`; a stub OCR program stands in for Tesseract so the result does not depend
//! on its version (the real one runs in `crates/extract/tests/fixtures.rs` and the CLI test).

use super::files::{scanned, upload};
use super::uploads::{start_files, Files};
use super::*;

/// A PNG of a QR code holding `text`.
pub(crate) fn qr_png(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let n = code.width() as u32;
    let colors = code.to_colors();
    let side = (n + 8) * 6;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / 6).wrapping_sub(4), (y / 6).wrapping_sub(4));
        let dark = mx < n && my < n && colors[(my * n + mx) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A BMP whose header claims `w` x `h` pixels (24 bits) with 16 bytes of pixels.
fn bmp_header(w: i32, h: i32) -> Vec<u8> {
    let mut b = b"BM".to_vec();
    b.extend_from_slice(&70u32.to_le_bytes());
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

/// A stub OCR program: checks it got a PNG file and `stdout`, prints a phone number.
fn stub_ocr(dir: &std::path::Path) -> String {
    let p = dir.join("ocr-stub");
    std::fs::write(
        &p,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'tesseract 5.3.0 (stub)'; exit 0; }\nhead -c 8 \"$1\" | grep -q PNG && [ \"$2\" = stdout ] && echo 'CALL ME ON +1 415 555 0134'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

async fn metrics(s: &Server) -> String {
    let (st, v) = s.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(st, StatusCode::OK);
    v.as_str().unwrap().to_string()
}

async fn image_flow(f: &Files, ocr: bool) {
    let s = &f.s;
    let [avery, _priya, _diego, _mei, _eve] = seed(s).await;
    let pre = s.conversation(&["avery", "diego"]).await;
    let gauge = format!(
        "parley_scanner_available{{scanner=\"ocr\"}} {}",
        u8::from(ocr)
    );
    assert!(metrics(s).await.contains(&gauge), "{gauge}");

    // A QR code holding a WhatsApp link: held, the evidence says where.
    let png = qr_png("https://wa.me/447700900123");
    let id = upload(s, &avery, &pre, "menu.png", "image/png", &png, None).await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "held", "{v}");
    let findings = v["scan"]["findings"].as_array().unwrap();
    assert!(findings.iter().any(|x| x["place"] == "qr code"), "{v}");
    // A QR code with an invoice number: clean, unless OCR reads the (stub's) phone number.
    let png = qr_png("INV-2024-0113 total 4983.72 EUR");
    let id = upload(s, &avery, &pre, "invoice-qr.png", "image/png", &png, None).await;
    let v = scanned(s, &avery, &id).await;
    if ocr {
        assert_eq!(v["state"], "held", "{v}");
        let findings = v["scan"]["findings"].as_array().unwrap();
        assert!(findings.iter().any(|x| x["place"] == "image text"), "{v}");
    } else {
        assert_eq!(v["state"], "clean", "{v}");
    }
    // 100 megapixels claimed: refused before decoding, with the reason.
    let id = upload(
        s,
        &avery,
        &pre,
        "huge.bmp",
        "image/bmp",
        &bmp_header(10_000, 10_000),
        None,
    )
    .await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "scan_failed", "{v}");
    assert_eq!(v["reason"], "bomb", "{v}");
    let why = v["scan"]["explanation"].as_str().unwrap();
    assert!(
        why.contains("100.0 megapixels") && why.contains("40 megapixels"),
        "{why}"
    );
    // A truncated picture: scan_failed, malformed.
    let png = qr_png("tel:+14155550134");
    let id = upload(
        s,
        &avery,
        &pre,
        "cut.png",
        "image/png",
        &png[..png.len() / 2],
        None,
    )
    .await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "scan_failed", "{v}");
    assert_eq!(v["reason"], "malformed", "{v}");
    // Nothing of the scans is left in the staging directory.
    assert_eq!(f.staged_files(), 0);
}

fn with_ocr(program: String) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.metrics_public = true;
        c.files.ocr_command = program;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_qr_ocr_and_limits_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let f = start_files(None, with_ocr(stub_ocr(dir.path())))
        .await
        .unwrap();
    image_flow(&f, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_without_ocr_are_scanned_for_the_rest_on_sqlite() {
    let f = start_files(None, with_ocr("/nonexistent/tesseract".into()))
        .await
        .unwrap();
    image_flow(&f, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_qr_ocr_and_limits_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let Some(f) = start_files(
        Some("images_qr_ocr_and_limits_on_postgres"),
        with_ocr(stub_ocr(dir.path())),
    )
    .await
    else {
        return;
    };
    image_flow(&f, true).await;
}
