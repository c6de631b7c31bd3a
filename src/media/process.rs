//! The decoding half of the scan and the content disarm: dimensions are read from the header before any
//! pixel is decoded, the decoder runs under allocation limits, and what is served is only ever a re-encoded
//! copy (orientation applied, every byte of metadata left behind) in four sizes, plus a blurhash.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder as _, ImageReader};
use sha2::{Digest as _, Sha256};

use super::scan::{Finding, FindingSeverity, ImageType};

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 8192;
/// Largest image accepted, in pixels (40 MP).
pub const MAX_PIXELS: u64 = 40_000_000;
/// What the decoder may allocate for one image (a 40 MP RGBA image needs 160 MB).
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// The served sizes: each fits in a square of this many pixels, never enlarged.
pub const VARIANTS: [(&str, u32); 4] = [("150", 150), ("300", 300), ("600", 600), ("1200", 1200)];
const JPEG_QUALITY: u8 = 82;

/// A decoded image, upright.
pub struct Decoded {
    pub image: DynamicImage,
}

/// Header dimensions, then a full decode under limits. A failure is a critical finding, and so is a panic
/// inside a decoder: hostile bytes must never turn into a 500.
pub fn decode(bytes: &[u8], ty: ImageType) -> Result<Decoded, Finding> {
    std::panic::catch_unwind(|| decode_unguarded(bytes, ty)).unwrap_or_else(|_| {
        Err(Finding::new(
            "DECODE_FAILED",
            FindingSeverity::Critical,
            "the image could not be decoded",
        ))
    })
}

fn decode_unguarded(bytes: &[u8], ty: ImageType) -> Result<Decoded, Finding> {
    let reader = || ImageReader::with_format(Cursor::new(bytes), ty.format());
    let (width, height) = reader().into_dimensions().map_err(|_| {
        Finding::new(
            "DECODE_FAILED",
            FindingSeverity::Critical,
            "the image header cannot be read",
        )
    })?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Finding::new(
            "DIMENSIONS_TOO_LARGE",
            FindingSeverity::Critical,
            format!("{width} × {height} px is over the limit ({MAX_SIDE} px a side, 40 megapixels)"),
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let failed = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => Finding::new(
            "DIMENSIONS_TOO_LARGE",
            FindingSeverity::Critical,
            "decoding the image would need more memory than allowed (256 MiB)",
        ),
        _ => Finding::new(
            "DECODE_FAILED",
            FindingSeverity::Critical,
            "the image is truncated or corrupt",
        ),
    };
    let mut reader = reader();
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(failed)?;
    image.apply_orientation(orientation);
    Ok(Decoded { image })
}

/// One re-encoded size.
pub struct Variant {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// Everything a promotion writes.
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub blurhash: Option<String>,
    pub variants: Vec<Variant>,
}

/// Re-encodes: JPEG for opaque images, PNG where there is transparency; nothing from the original's
/// metadata survives because the encoders are given pixels only.
pub fn render(decoded: Decoded) -> Result<Rendition, image::ImageError> {
    let panicked = |_| {
        image::ImageError::Encoding(image::error::EncodingError::from_format_hint(
            image::error::ImageFormatHint::Unknown,
        ))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render_unguarded(decoded)))
        .unwrap_or_else(|p| Err(panicked(p)))
}

fn render_unguarded(decoded: Decoded) -> Result<Rendition, image::ImageError> {
    let image = decoded.image;
    let (width, height) = (image.width(), image.height());
    let alpha = image.color().has_alpha();
    let mut variants = Vec::with_capacity(VARIANTS.len());
    // Largest first, each from the previous one: resizing a 40 MP image once instead of four times.
    let mut source = image;
    let mut blurhash = None;
    for (name, size) in VARIANTS.iter().rev() {
        if source.width() > *size || source.height() > *size {
            source = source.thumbnail(*size, *size);
        }
        let (bytes, content_type, extension) = if alpha {
            let mut out = Cursor::new(Vec::new());
            DynamicImage::ImageRgba8(source.to_rgba8()).write_to(&mut out, image::ImageFormat::Png)?;
            (out.into_inner(), "image/png", "png")
        } else {
            let mut out = Vec::new();
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            DynamicImage::ImageRgb8(source.to_rgb8()).write_with_encoder(encoder)?;
            (out, "image/jpeg", "jpg")
        };
        if *name == "150" {
            let small = source.to_rgba8();
            blurhash = blurhash::encode(4, 3, small.width(), small.height(), small.as_raw()).ok();
        }
        variants.push(Variant {
            name,
            width: source.width(),
            height: source.height(),
            content_type,
            extension,
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes,
        });
    }
    variants.reverse();
    Ok(Rendition {
        width,
        height,
        blurhash,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let written = DynamicImage::ImageRgb8(image).write_to(&mut out, image::ImageFormat::Png);
        assert!(written.is_ok());
        out.into_inner()
    }

    #[test]
    fn variants_fit_their_box_and_are_never_enlarged() {
        let decoded = decode(&png(800, 400), ImageType::Png).unwrap_or_else(|f| panic!("{f:?}"));
        let rendition = render(decoded).unwrap_or_else(|e| panic!("{e}"));
        let sizes: Vec<_> = rendition.variants.iter().map(|v| (v.name, v.width, v.height)).collect();
        assert_eq!(
            sizes,
            [
                ("150", 150, 75),
                ("300", 300, 150),
                ("600", 600, 300),
                ("1200", 800, 400)
            ]
        );
        assert!(rendition.variants.iter().all(|v| v.content_type == "image/jpeg"));
        assert!(rendition.blurhash.is_some());
    }

    #[test]
    fn a_header_bomb_is_refused_before_decoding() {
        let mut bytes = png(1, 1);
        // IHDR width and height live at bytes 16..24; the CRC no longer matches, which must not matter.
        bytes[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        let code = decode(&bytes, ImageType::Png).err().map(|f| f.code);
        assert!(
            matches!(code.as_deref(), Some("DIMENSIONS_TOO_LARGE" | "DECODE_FAILED")),
            "{code:?}"
        );
    }

    /// Every byte rule and the decoder on a few thousand mutations of real images (bit flips, cuts, insertions,
    /// overwritten lengths): none may panic, and every end the walker reports lies inside the file.
    #[test]
    fn mutated_images_never_panic_the_scanner_or_the_decoder() {
        let mut seeds = vec![(png(40, 30), ImageType::Png)];
        let mut jpeg = Vec::new();
        let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(
            &image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 7])),
        );
        assert!(encoded.is_ok());
        seeds.push((jpeg, ImageType::Jpeg));
        let mut webp = Cursor::new(Vec::new());
        assert!(image::DynamicImage::ImageRgb8(image::RgbImage::new(40, 30))
            .write_to(&mut webp, image::ImageFormat::WebP)
            .is_ok());
        seeds.push((webp.into_inner(), ImageType::Webp));
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % bound.max(1) as u64).unwrap_or(0)
        };
        for (seed, ty) in &seeds {
            for _ in 0..700 {
                let mut bytes = seed.clone();
                for _ in 0..1 + next(4) {
                    let at = next(bytes.len());
                    match next(4) {
                        0 => bytes[at] ^= 1 << next(8),
                        1 => bytes.truncate(at.max(1)),
                        2 => bytes.splice(at..at, [0xFF, next(256) as u8, 0xFF, 0xFF]).for_each(drop),
                        _ => bytes[at] = 0xFF,
                    }
                }
                let sniffed = super::super::scan::sniff(&bytes);
                let _ = super::super::scan::signatures(&bytes, sniffed);
                if let Some(layout) = super::super::scan::layout(&bytes, *ty) {
                    assert!(layout.end <= bytes.len());
                    assert!(layout.metadata.iter().all(|r| r.end <= bytes.len()));
                }
                if let Ok(decoded) = decode(&bytes, *ty) {
                    let _ = render(decoded);
                }
            }
        }
    }

    #[test]
    fn a_truncated_image_does_not_decode() {
        let bytes = png(64, 64);
        let code = decode(&bytes[..bytes.len() / 2], ImageType::Png).err().map(|f| f.code);
        assert_eq!(code.as_deref(), Some("DECODE_FAILED"));
    }
}
