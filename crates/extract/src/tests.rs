use super::*;
use proptest::prelude::*;

#[test]
fn text_formats() {
    let l = Limits::default();
    let x = extract(
        b"<p>Hi&nbsp;there</p><a href='mailto:a&#64;b.io'>x</a>",
        "a.html",
        "text/html",
        &l,
    )
    .unwrap();
    assert!(
        x.parts
            .iter()
            .any(|p| p.place == "link" && p.text == "mailto:a@b.io"),
        "{x:?}"
    );
    let x = extract(
        b"BEGIN:VCARD\r\nTEL;TYPE=cell:+1 415\r\n 555 0134\r\nEND:VCARD\r\n",
        "a.vcf",
        "",
        &l,
    )
    .unwrap();
    assert!(x.parts[1].text.contains("TEL: +1 415555 0134"), "{x:?}");
    let x = extract(br"{\rtf1 a\'40b\par c\u64?d}", "a.rtf", "", &l).unwrap();
    assert!(x.parts[1].text.contains("a@b\nc@d"), "{x:?}");
    let small = Limits {
        max_text_bytes: 12,
        ..l
    };
    let x = extract(b"0123456789abcdef", "a.txt", "", &small).unwrap();
    assert!(x.truncated);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]
    /// Any bytes under any of the supported names: a result or a clean error, never a panic.
    #[test]
    fn any_bytes_any_kind(bytes in proptest::collection::vec(any::<u8>(), 0..600), ext in prop::sample::select(vec!["txt", "html", "rtf", "vcf", "pdf", "docx", "xlsx", "odt", "zip", "png", "bin"])) {
        let _ = extract(&bytes, &format!("f.{ext}"), "", &Limits::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]
    /// Any bytes behind a real image signature (so the pixel decoders and the QR reader run,
    /// not only the type check): a result or a clean error, never a panic.
    #[test]
    fn any_bytes_behind_an_image_signature(
        magic in prop::sample::select(vec![
            (&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], "png"),
            (&b"\xff\xd8\xff\xe0"[..], "jpg"),
            (&b"GIF89a"[..], "gif"),
            (&b"BM"[..], "bmp"),
            (&b"II*\0"[..], "tif"),
        ]),
        rest in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let (sig, ext) = magic;
        let bytes = [sig, &rest[..]].concat();
        let small = Limits { max_pixels: 1_000_000, ..Limits::default() };
        if let Ok(x) = extract(&bytes, &format!("f.{ext}"), "", &small) {
            prop_assert_eq!(x.kind, "image");
        }
    }
}
