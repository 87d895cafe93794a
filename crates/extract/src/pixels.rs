//! The pixels of a picture, decoded with bounds: the header's size is checked against
//! [`Limits::max_pixels`](crate::Limits) before anything is decoded (a header that claims more
//! is refused as a bomb), and the decoder itself runs under `image`'s limits (dimensions and
//! allocation). Then QR codes are read with `rqrr`.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageError, ImageFormat, ImageReader};

use crate::{ExtractError, Limits, Sink};

/// Most bytes the decoder may allocate for one picture.
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
/// Longest side the QR reader looks at (larger pictures are scaled down first).
const QR_MAX_SIDE: u32 = 2048;
/// Most QR codes read from one picture.
const MAX_CODES: usize = 16;

/// Decodes a picture. `Ok(None)`: a format without a decoder here (HEIF, AVIF), so only its
/// metadata is read. A header claiming more than `limits.max_pixels` is a [`ExtractError::Bomb`];
/// bytes that do not decode are [`ExtractError::Malformed`].
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Option<DynamicImage>, ExtractError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ExtractError::Malformed(format!("the picture cannot be read: {e}")))?;
    let Some(format) = reader.format() else {
        return Ok(None);
    };
    if !format.reading_enabled() {
        return Ok(None);
    }
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| ExtractError::Malformed(format!("the picture's header is invalid: {e}")))?;
    check_size(w, h, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut bounds = image::Limits::default();
    bounds.max_image_width = Some(w);
    bounds.max_image_height = Some(h);
    bounds.max_alloc = Some(MAX_ALLOC);
    reader.limits(bounds);
    reader.decode().map(Some).map_err(|e| match e {
        ImageError::Limits(l) => {
            ExtractError::Bomb(format!("the picture is too large to decode: {l}"))
        }
        e => ExtractError::Malformed(format!(
            "the picture cannot be decoded ({}): {e}",
            name(format)
        )),
    })
}

/// Refuses a size over the pixel limit.
pub fn check_size(w: u32, h: u32, limits: &Limits) -> Result<(), ExtractError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(ExtractError::Bomb(format!(
            "the picture claims {w}x{h} pixels ({:.1} megapixels), more than the limit of {:.0} megapixels",
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    Ok(())
}

fn name(f: ImageFormat) -> &'static str {
    f.extensions_str().first().copied().unwrap_or("image")
}

/// The picture in grey on white (transparent parts become white), scaled down so that its
/// longest side is at most `max_side`.
pub fn grey(img: &DynamicImage, max_side: u32) -> GrayImage {
    let scaled;
    let img = if img.width().max(img.height()) > max_side {
        scaled = img.thumbnail(max_side, max_side);
        &scaled
    } else {
        img
    };
    let rgba = img.to_rgba8();
    GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let l = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
        let a = u32::from(a);
        // Composite over white.
        let v = (l * a + 255 * (255 - a)) / 255;
        image::Luma([u8::try_from(v).unwrap_or(255)])
    })
}

/// The text of every QR code in the picture, place `qr code`.
pub fn qr_codes(img: &DynamicImage, sink: &mut Sink) {
    let g = grey(img, QR_MAX_SIDE);
    let (w, h) = (g.width() as usize, g.height() as usize);
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| g.as_raw()[y * w + x]);
    for grid in prepared.detect_grids().into_iter().take(MAX_CODES) {
        if let Ok((_, text)) = grid.decode() {
            sink.push("qr code", text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(w, h, image::Luma([200])));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn decodes_a_small_picture() {
        let img = decode(&png(8, 4), &Limits::default()).unwrap().unwrap();
        assert_eq!((img.width(), img.height()), (8, 4));
    }

    #[test]
    fn a_header_over_the_pixel_limit_is_refused_before_decoding() {
        // A real PNG whose IHDR is rewritten to claim 8000x6000 (48 megapixels).
        let mut b = png(8, 4);
        b[16..20].copy_from_slice(&8000u32.to_be_bytes());
        b[20..24].copy_from_slice(&6000u32.to_be_bytes());
        let crc = crc32(&b[12..29]);
        b[29..33].copy_from_slice(&crc.to_be_bytes());
        match decode(&b, &Limits::default()) {
            Err(ExtractError::Bomb(m)) => assert!(m.contains("48.0 megapixels"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_pixels_are_malformed() {
        let b = png(64, 64);
        let cut = &b[..b.len() - 30];
        assert!(matches!(
            decode(cut, &Limits::default()),
            Err(ExtractError::Malformed(_))
        ));
    }

    #[test]
    fn transparent_is_white() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            2,
            2,
            image::Rgba([0, 0, 0, 0]),
        ));
        assert_eq!(grey(&img, 100).get_pixel(0, 0).0, [255]);
    }
}
