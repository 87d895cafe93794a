//! Scan time per MB of pictures, PDF and DOCX, through `extract_with` (what `parley extract`
//! runs), with and without OCR:
//! `cargo run --release -p parley-extract --example scan_bench [-- --ocr tesseract]`.
//! Files are made here (the fixture builders); each is read `RUNS` times, the median is kept.

#[path = "../tests/fixtures/build.rs"]
mod build;

use std::time::Instant;

use parley_extract::{extract_with, Limits, Ocr, Options};

const RUNS: usize = 3;

fn photo(w: u32, h: u32) -> image::RgbImage {
    // A smooth picture with some texture (so JPEG and PNG sizes are photo-like, not tiny).
    image::RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 24;
        image::Rgb([
            ((x / 8) % 256) as u8 ^ n as u8,
            ((y / 8) % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

fn encode(img: image::RgbImage, f: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, f)
        .unwrap();
    out.into_inner()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ocr = args
        .iter()
        .position(|a| a == "--ocr")
        .and_then(|i| args.get(i + 1))
        .map(|p| Ocr {
            program: p.into(),
            timeout: std::time::Duration::from_secs(120),
        });
    let long: Vec<String> = (0..400)
        .map(|i| {
            format!("Section {i}: the cabinets are 120 cm wide, oak veneer, invoice INV-{i:04}. ")
        })
        .collect();
    let pages: Vec<&str> = long.iter().map(String::as_str).collect();
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "photo-12mp.jpg",
            encode(photo(4000, 3000), image::ImageFormat::Jpeg),
        ),
        (
            "photo-3mp.png",
            encode(photo(2000, 1500), image::ImageFormat::Png),
        ),
        (
            "qr-menu.png",
            build::encode(
                build::qr_picture("https://wa.me/447700900123", (1200, 900), (100, 100)),
                image::ImageFormat::Png,
            ),
        ),
        (
            "text-card.png",
            build::encode(
                build::text_picture(
                    &["Jo Smith - Interior Design", "WhatsApp: +44 7700 900123"],
                    28.0,
                ),
                image::ImageFormat::Png,
            ),
        ),
        ("report-400p.pdf", build::pdf(&pages, "Planning", None)),
        (
            "report.docx",
            build::docx(&long.concat().repeat(20), "Planning", None, None),
        ),
    ];
    println!(
        "OCR: {}",
        ocr.as_ref()
            .map_or("off".into(), |o| o.program.display().to_string())
    );
    println!("{:<18} {:>10} {:>10} {:>10}", "file", "MB", "ms", "ms/MB");
    let options = Options { ocr };
    for (name, bytes) in &files {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let x = extract_with(bytes, name, "", &Limits::default(), &options)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(!x.parts.is_empty());
        }
        times.sort_by(f64::total_cmp);
        let ms = times[RUNS / 2];
        let mb = bytes.len() as f64 / 1e6;
        println!("{name:<18} {mb:>10.2} {ms:>10.1} {:>10.1}", ms / mb);
    }
}
