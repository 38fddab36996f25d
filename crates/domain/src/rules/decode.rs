//! Decoding an image under limits, so that the dimensions Herald records and checks are the
//! dimensions the data really has (the `decode` feature: only the API and the worker, which
//! take images from outside, build the decoders).
//!
//! [`ImageInfo::sniff`] believes whatever a header says: a 35-byte JPEG can claim 65535 x
//! 65535 pixels. [`ImageInfo::verify`] sniffs first, refuses a claim of more than
//! [`DecodeLimits::max_pixels`] at once (nothing decoded, nothing allocated), then decodes
//! the image once with the `image` crate under [`image::Limits`]: the width and height the
//! header promised, and [`DecodeLimits::max_alloc`] bytes in all. Truncated or corrupt data
//! fails the decode; data whose size differs from its header's is refused too. A
//! decompression bomb (a few hundred KB of PNG that inflates to gigabytes) is either over the
//! pixel limit and refused before decoding, or within it and decoded in bounded memory.
//!
//! Decoding fully, rather than stopping after the header, is what catches truncated and
//! corrupt data: a decoder that has only read the header has checked nothing a lie cannot
//! satisfy. It costs one pass over the pixels of each image, bounded by the limits. Of an
//! animated GIF or WebP only the first frame is decoded: that verifies the canvas size, the
//! one platforms check; later frames are not read here.

use std::io::Cursor;

use ::image::error::LimitErrorKind;
use ::image::{ImageError, ImageReader, Limits};

use super::RuleCode;
use super::image::{ImageFormat, ImageInfo, SniffError, jpeg_segments};

/// What decoding one image may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most pixels (width x height) an image may have.
    pub max_pixels: u64,
    /// The most bytes a decoder may allocate for one image, the decoded pixels included.
    pub max_alloc: u64,
}

impl DecodeLimits {
    /// The widest decoded pixel the accepted formats produce: 16-bit RGBA (PNG).
    const MAX_BYTES_PER_PIXEL: u64 = 8;
    /// Room for what a decoder holds besides the pixels: tables, palettes, metadata chunks.
    const DECODER_OVERHEAD: u64 = 64 * 1024 * 1024;

    /// Limits for images of up to `max_pixels` pixels, with memory enough to decode any of
    /// them in any of the accepted formats and nothing more.
    pub const fn for_pixels(max_pixels: u64) -> Self {
        Self {
            max_pixels,
            max_alloc: max_pixels
                .saturating_mul(Self::MAX_BYTES_PER_PIXEL)
                .saturating_add(Self::DECODER_OVERHEAD),
        }
    }
}

/// Why [`ImageInfo::verify`] refused an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not an image Herald recognises, or a header that cannot be read.
    #[error(transparent)]
    Unreadable(#[from] SniffError),
    #[error(
        "the image is {width}x{height} pixels ({pixels} pixels); Herald accepts images of up \
         to {max_pixels} pixels",
        pixels = u64::from(*.width) * u64::from(*.height)
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error(
        "decoding this {width}x{height} image would take more than {max_alloc} bytes of memory"
    )]
    TooLargeToDecode {
        width: u32,
        height: u32,
        max_alloc: u64,
    },
    #[error("a truncated or corrupt {} file: {reason}", .format.display_name())]
    Corrupt { format: ImageFormat, reason: String },
}

impl VerifyError {
    /// The rule the image breaks.
    pub const fn rule(&self) -> RuleCode {
        match self {
            VerifyError::Unreadable(SniffError::UnknownFormat) => RuleCode::ImageFormat,
            VerifyError::Unreadable(SniffError::Malformed(_)) => RuleCode::ImageUnreadable,
            VerifyError::TooManyPixels { .. } | VerifyError::TooLargeToDecode { .. } => {
                RuleCode::ImageTooManyPixels
            }
            VerifyError::Corrupt { .. } => RuleCode::ImageCorrupt,
        }
    }
}

impl ImageInfo {
    /// Reads an image's facts like [`ImageInfo::sniff`], then decodes it under `limits` to
    /// make sure they are true: more pixels than allowed, data that does not decode, and data
    /// whose size differs from the header's are refused. CPU-bound: call it off the async
    /// runtime's threads.
    pub fn verify(data: &[u8], limits: DecodeLimits) -> Result<ImageInfo, VerifyError> {
        let info = ImageInfo::sniff(data)?;
        let (width, height) = (info.width, info.height);
        if u64::from(width) * u64::from(height) > limits.max_pixels {
            return Err(VerifyError::TooManyPixels {
                width,
                height,
                max_pixels: limits.max_pixels,
            });
        }
        let corrupt = |reason: String| VerifyError::Corrupt {
            format: info.format,
            reason,
        };

        let mut reader = ImageReader::with_format(Cursor::new(data), codec(info.format));
        // The header's own size, either way round (a JPEG's is reported as displayed, after
        // EXIF rotation): a decoder that finds more is refused before it allocates for it.
        let side = width.max(height);
        let mut bounds = Limits::default();
        bounds.max_image_width = Some(side);
        bounds.max_image_height = Some(side);
        bounds.max_alloc = Some(limits.max_alloc);
        reader.limits(bounds);
        let decoded = reader.decode().map_err(|error| match error {
            ImageError::Limits(limit) => match limit.kind() {
                LimitErrorKind::InsufficientMemory => VerifyError::TooLargeToDecode {
                    width,
                    height,
                    max_alloc: limits.max_alloc,
                },
                _ => corrupt("its data is larger than its header says".to_owned()),
            },
            other => corrupt(other.to_string()),
        })?;

        // The JPEG decoder is lenient: it fills in what a truncated file lacks. A complete
        // file's scans run to an end-of-image marker (trailing data after it, as phones
        // append, is fine).
        if info.format == ImageFormat::Jpeg && !jpeg_scans_end(data) {
            return Err(corrupt(
                "its image data ends before the end-of-image marker".to_owned(),
            ));
        }
        let found = (decoded.width(), decoded.height());
        let as_header = found == (width, height)
            || (info.format == ImageFormat::Jpeg && found == (height, width));
        if !as_header {
            return Err(corrupt(format!(
                "its header says {width}x{height} pixels, its data {}x{}",
                found.0, found.1
            )));
        }
        Ok(info)
    }
}

/// Whether a JPEG's entropy-coded data, from its first scan on, reaches an end-of-image
/// marker (FF D9). Inside scan data a 0xFF byte is always followed by 0x00 or a restart
/// marker, so the pair marks the end; an EXIF thumbnail's own end, before the first scan, is
/// not counted.
fn jpeg_scans_end(data: &[u8]) -> bool {
    // Where the data of the first scan starts: past the start-of-scan segment.
    let first_scan = jpeg_segments(data)
        .find(|segment| segment.marker == 0xDA)
        .map(|segment| segment.content.end);
    first_scan.is_some_and(|scan| {
        data.get(scan..)
            .is_some_and(|rest| rest.windows(2).any(|pair| pair == [0xFF, 0xD9]))
    })
}

pub(super) fn codec(format: ImageFormat) -> ::image::ImageFormat {
    match format {
        ImageFormat::Jpeg => ::image::ImageFormat::Jpeg,
        ImageFormat::Png => ::image::ImageFormat::Png,
        ImageFormat::Gif => ::image::ImageFormat::Gif,
        ImageFormat::Webp => ::image::ImageFormat::WebP,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use ::image::{DynamicImage, Rgb, RgbImage};

    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits::for_pixels(100_000_000);

    /// A real image of `width` x `height`, encoded by the `image` crate.
    fn encoded(format: ::image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let pixels = RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(pixels)
            .write_to(&mut out, format)
            .expect("encodable");
        out.into_inner()
    }

    /// A black 1-bit PNG, compressed row by row: a few hundred KB that decode to `width` x
    /// `height` pixels.
    fn png_bomb(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder.write_header().expect("header");
        let mut stream = writer.stream_writer().expect("stream");
        let row = vec![0u8; width.div_ceil(8) as usize];
        for _ in 0..height {
            stream.write_all(&row).expect("row");
        }
        stream.finish().expect("finish");
        drop(writer);
        out
    }

    /// A baseline JPEG frame header claiming 65535 x 65535, and nothing to decode.
    fn lying_jpeg() -> Vec<u8> {
        let mut data = vec![0xFF, 0xD8];
        // SOF0: length 17, 8-bit precision, height, width, three components.
        data.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03]);
        data.extend_from_slice(&[0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
        // A comment, then the end of the image.
        data.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x0A]);
        data.extend_from_slice(b"\0\0\0\0\0\0\0\0");
        data.extend_from_slice(&[0xFF, 0xD9]);
        data
    }

    /// A PNG signature and an IHDR claiming a width of 2^32 - 1.
    fn lying_png() -> Vec<u8> {
        let mut data = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        data.extend_from_slice(&u32::MAX.to_be_bytes());
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        data
    }

    fn refusal(data: &[u8], limits: DecodeLimits) -> VerifyError {
        ImageInfo::verify(data, limits).expect_err("refused")
    }

    #[test]
    fn a_good_image_of_each_format_is_accepted_with_its_dimensions() {
        for (codec, format) in [
            (::image::ImageFormat::Png, ImageFormat::Png),
            (::image::ImageFormat::Jpeg, ImageFormat::Jpeg),
            (::image::ImageFormat::Gif, ImageFormat::Gif),
            (::image::ImageFormat::WebP, ImageFormat::Webp),
        ] {
            let data = encoded(codec, 120, 80);
            let info = ImageInfo::verify(&data, LIMITS).expect("a good image");
            assert_eq!(
                (info.format, info.width, info.height, info.bytes),
                (format, 120, 80, data.len() as u64),
                "{format}"
            );
        }
    }

    #[test]
    fn headers_that_claim_more_pixels_than_allowed_are_refused_before_decoding() {
        let jpeg = lying_jpeg();
        assert_eq!(jpeg.len(), 35);
        assert_eq!(
            refusal(&jpeg, LIMITS),
            VerifyError::TooManyPixels {
                width: 65_535,
                height: 65_535,
                max_pixels: 100_000_000
            }
        );
        let png = lying_png();
        let error = refusal(&png, LIMITS);
        assert_eq!(error.rule(), RuleCode::ImageTooManyPixels);
        assert!(error.to_string().contains("4294967295x1"), "{error}");

        // A GIF logical screen and a WebP canvas of absurd sizes.
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x3B]);
        assert_eq!(refusal(&gif, LIMITS).rule(), RuleCode::ImageTooManyPixels);
        let mut webp = b"RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(refusal(&webp, LIMITS).rule(), RuleCode::ImageTooManyPixels);
    }

    #[test]
    fn a_decompression_bomb_is_refused_by_its_pixels_or_by_the_memory_it_needs() {
        let bomb = png_bomb(20_000, 20_000);
        assert!(bomb.len() < 1_000_000, "{} bytes", bomb.len());
        assert_eq!(
            refusal(&bomb, LIMITS).rule(),
            RuleCode::ImageTooManyPixels,
            "400 megapixels"
        );
        // Within a pixel limit, the memory limit stops it before its pixels are allocated.
        let roomy = DecodeLimits {
            max_pixels: u64::MAX,
            max_alloc: 64 * 1024 * 1024,
        };
        assert_eq!(
            refusal(&bomb, roomy),
            VerifyError::TooLargeToDecode {
                width: 20_000,
                height: 20_000,
                max_alloc: 64 * 1024 * 1024
            }
        );
    }

    #[test]
    fn truncated_or_corrupt_data_behind_a_good_header_is_refused() {
        for codec in [
            ::image::ImageFormat::Png,
            ::image::ImageFormat::Jpeg,
            ::image::ImageFormat::Gif,
            ::image::ImageFormat::WebP,
        ] {
            let data = encoded(codec, 300, 200);
            let truncated = &data[..data.len() / 2];
            assert_eq!(
                ImageInfo::sniff(truncated).map(|i| (i.width, i.height)),
                Ok((300, 200)),
                "{codec:?}: the header alone still reads"
            );
            let error = refusal(truncated, LIMITS);
            assert_eq!(error.rule(), RuleCode::ImageCorrupt, "{codec:?}: {error}");
        }
        // A flipped byte in the compressed data of a PNG (its chunk checksum catches it).
        let mut flipped = encoded(::image::ImageFormat::Png, 300, 200);
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xFF;
        assert_eq!(refusal(&flipped, LIMITS).rule(), RuleCode::ImageCorrupt);
        // A header with no image data at all.
        let mut header_only = encoded(::image::ImageFormat::Png, 300, 200);
        header_only.truncate(33);
        assert_eq!(refusal(&header_only, LIMITS).rule(), RuleCode::ImageCorrupt);
    }

    #[test]
    fn data_after_a_complete_jpeg_is_no_corruption() {
        // Phones append data (a motion photo's video) after the end-of-image marker.
        let mut data = encoded(::image::ImageFormat::Jpeg, 64, 48);
        data.extend_from_slice(b"appended data after the image");
        let info = ImageInfo::verify(&data, LIMITS).expect("accepted");
        assert_eq!((info.width, info.height), (64, 48));
    }

    #[test]
    fn what_sniffing_cannot_read_keeps_its_rule() {
        assert_eq!(
            refusal(b"<html></html>", LIMITS).rule(),
            RuleCode::ImageFormat
        );
        assert_eq!(
            refusal(b"\x89PNG\r\n\x1a\n", LIMITS).rule(),
            RuleCode::ImageUnreadable
        );
    }
}
