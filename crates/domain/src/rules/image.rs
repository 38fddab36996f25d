//! Image rules: how many images a post may carry, and which images a platform accepts
//! (format, file size, pixel dimensions, aspect ratio).
//!
//! The facts about an image come from [`ImageInfo::sniff`], which reads only the header of a
//! JPEG, PNG, GIF or WebP file: no image library, no decoding, nothing that can be made to
//! allocate by a hostile file. Dimensions are as displayed: a JPEG whose EXIF orientation
//! rotates it by 90° (how phones store portrait photos) reports its width and height swapped,
//! because that is the shape platforms check. A header can lie; where an image comes from
//! outside, `ImageInfo::verify` (the `decode` feature) decodes it under limits to check it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{
    ContentRules, FieldPath, MB, RuleCode, Violation, Violations, group_digits, overlay, to_u64,
};
use crate::platform::Platform;

/// An image file format Herald can recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    #[serde(alias = "jpg")]
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl ImageFormat {
    pub const ALL: [ImageFormat; 4] = [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Webp,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
        }
    }

    pub const fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// The name people know it by, for messages.
    pub const fn display_name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::Gif => "GIF",
            ImageFormat::Webp => "WebP",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform's image rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRules {
    /// Whether a post must carry an image (Instagram has no text-only posts).
    pub required: bool,
    /// The most images one post may carry.
    pub max_count: usize,
    /// The accepted formats.
    pub formats: Vec<ImageFormat>,
    /// The largest accepted file, in bytes.
    pub max_bytes: u64,
    /// The smallest accepted width and height in pixels (0: no minimum).
    pub min_width: u32,
    pub min_height: u32,
    /// The largest accepted width and height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<u32>,
    /// The accepted range of width / height (0.8 is 4:5 portrait, 1.91 is 1.91:1 landscape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_aspect_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_aspect_ratio: Option<f64>,
}

/// The fields of [`ImageRules`] a config file names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct ImageRulesOverride {
    required: Option<bool>,
    max_count: Option<usize>,
    formats: Option<Vec<ImageFormat>>,
    max_bytes: Option<u64>,
    min_width: Option<u32>,
    min_height: Option<u32>,
    max_width: Option<u32>,
    max_height: Option<u32>,
    min_aspect_ratio: Option<f64>,
    max_aspect_ratio: Option<f64>,
}

impl ImageRulesOverride {
    pub(super) fn apply(self, rules: &mut ImageRules) {
        overlay(&mut rules.required, self.required);
        overlay(&mut rules.max_count, self.max_count);
        overlay(&mut rules.formats, self.formats);
        overlay(&mut rules.max_bytes, self.max_bytes);
        overlay(&mut rules.min_width, self.min_width);
        overlay(&mut rules.min_height, self.min_height);
        overlay(&mut rules.max_width, self.max_width.map(Some));
        overlay(&mut rules.max_height, self.max_height.map(Some));
        overlay(&mut rules.min_aspect_ratio, self.min_aspect_ratio.map(Some));
        overlay(&mut rules.max_aspect_ratio, self.max_aspect_ratio.map(Some));
    }
}

/// The facts about an image file that platforms check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageInfo {
    pub format: ImageFormat,
    /// The file size in bytes.
    pub bytes: u64,
    /// Width and height in pixels, as displayed (EXIF orientation applied).
    pub width: u32,
    pub height: u32,
}

impl ImageInfo {
    /// Width divided by height, or `None` for an image without pixels.
    pub fn aspect_ratio(&self) -> Option<f64> {
        (self.width > 0 && self.height > 0).then(|| f64::from(self.width) / f64::from(self.height))
    }

    /// Reads format and dimensions from the header of a PNG, JPEG, GIF or WebP file; `bytes`
    /// is the whole file, whose length is the file size.
    pub fn sniff(data: &[u8]) -> Result<ImageInfo, SniffError> {
        let format = sniff_format(data).ok_or(SniffError::UnknownFormat)?;
        let (width, height) = match format {
            ImageFormat::Png => png_dimensions(data),
            ImageFormat::Gif => gif_dimensions(data),
            ImageFormat::Webp => webp_dimensions(data),
            ImageFormat::Jpeg => jpeg_dimensions(data),
        }
        .filter(|&(width, height)| width > 0 && height > 0)
        .ok_or(SniffError::Malformed(format))?;
        Ok(ImageInfo {
            format,
            bytes: to_u64(data.len()),
            width,
            height,
        })
    }
}

/// Why [`ImageInfo::sniff`] could not read an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error("not a JPEG, PNG, GIF or WebP image")]
    UnknownFormat,
    #[error("a truncated or malformed {} file: its dimensions could not be read", .0.display_name())]
    Malformed(ImageFormat),
}

/// Checks a fetched image against a platform's rules: format, file size, dimensions and
/// aspect ratio. `field` is where the image sits in the post (`FieldPath::MediaItem(i)`).
pub fn validate_image(
    platform: Platform,
    image: &ImageInfo,
    rules: &ContentRules,
    field: FieldPath,
) -> Result<(), Violations> {
    Violations::result(image_violations(platform, image, rules, field))
}

/// Reads an image's facts from its bytes and checks them: what the worker calls after
/// fetching media. An unrecognisable file is an `image.format` violation, a recognised but
/// broken one `image.unreadable`.
pub fn inspect_image(
    platform: Platform,
    data: &[u8],
    rules: &ContentRules,
    field: FieldPath,
) -> Result<ImageInfo, Violations> {
    let name = platform.display_name();
    let accepted = format_list(&rules.for_platform(platform).image.formats);
    match ImageInfo::sniff(data) {
        Ok(info) => validate_image(platform, &info, rules, field).map(|()| info),
        Err(SniffError::UnknownFormat) => Err(Violations::from(vec![Violation::new(
            platform,
            field,
            RuleCode::ImageFormat,
            format!(
                "{name} accepts {accepted} images; this file is not a JPEG, PNG, GIF or WebP \
                 image"
            ),
        )])),
        Err(error @ SniffError::Malformed(_)) => Err(Violations::from(vec![Violation::new(
            platform,
            field,
            RuleCode::ImageUnreadable,
            format!("This file is {error}"),
        )])),
    }
}

/// Every violation [`validate_image`] would report; empty when the image is acceptable.
pub fn image_violations(
    platform: Platform,
    image: &ImageInfo,
    rules: &ContentRules,
    field: FieldPath,
) -> Vec<Violation> {
    let rules = &rules.for_platform(platform).image;
    let name = platform.display_name();
    let mut found = Vec::new();
    let mut push = |code, message: String| {
        found.push(Violation::new(platform, field, code, message));
    };
    let (width, height) = (image.width, image.height);

    if !rules.formats.contains(&image.format) {
        push(
            RuleCode::ImageFormat,
            format!(
                "{name} accepts {} images; this one is {}",
                format_list(&rules.formats),
                image.format.display_name()
            ),
        );
    }

    if image.bytes > rules.max_bytes {
        push(
            RuleCode::ImageTooLarge,
            format!(
                "{name} accepts images of up to {}; this one is {}",
                describe_bytes(rules.max_bytes),
                describe_bytes(image.bytes)
            ),
        );
    }

    if width == 0 || height == 0 || width < rules.min_width || height < rules.min_height {
        push(
            RuleCode::ImageTooSmall,
            format!(
                "{name} needs images of at least {}x{} pixels; this one is {width}x{height}",
                rules.min_width.max(1),
                rules.min_height.max(1)
            ),
        );
    }

    let too_wide = rules.max_width.is_some_and(|max| width > max);
    let too_high = rules.max_height.is_some_and(|max| height > max);
    if too_wide || too_high {
        let side = |max: Option<u32>| max.map_or_else(|| "any".to_owned(), |max| max.to_string());
        push(
            RuleCode::ImageDimensionsTooLarge,
            format!(
                "{name} accepts images of up to {}x{} pixels; this one is {width}x{height}",
                side(rules.max_width),
                side(rules.max_height)
            ),
        );
    }

    if let Some(ratio) = image.aspect_ratio() {
        // A hair of tolerance so that 1080x1350 is exactly the 0.8 it means to be.
        const SLACK: f64 = 1e-9;
        let below = rules
            .min_aspect_ratio
            .is_some_and(|min| ratio < min - SLACK);
        let above = rules
            .max_aspect_ratio
            .is_some_and(|max| ratio > max + SLACK);
        if below || above {
            let bound = |limit: Option<f64>, open: &str| {
                limit.map_or_else(|| open.to_owned(), describe_ratio)
            };
            push(
                RuleCode::ImageAspectRatio,
                format!(
                    "{name} accepts aspect ratios (width / height) from {} to {}; this image is \
                     {width}x{height}, {}",
                    bound(rules.min_aspect_ratio, "any"),
                    bound(rules.max_aspect_ratio, "any"),
                    describe_ratio(ratio)
                ),
            );
        }
    }

    found
}

/// `[Jpeg, Png, Gif]` as "JPEG, PNG and GIF".
pub(super) fn format_list(formats: &[ImageFormat]) -> String {
    let names: Vec<&str> = formats.iter().map(|format| format.display_name()).collect();
    match names.as_slice() {
        [] => "no".to_owned(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A byte count the way limits are written: "5 MB" for whole megabytes, otherwise one
/// decimal and the exact count ("5.2 MB (5,452,595 bytes)").
pub(super) fn describe_bytes(bytes: u64) -> String {
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", group_digits(bytes / MB))
    } else {
        // Display only: the precision lost above 2^53 bytes does not matter.
        let megabytes = bytes as f64 / MB as f64;
        format!("{megabytes:.1} MB ({} bytes)", group_digits(bytes))
    }
}

/// 0.8 as "0.8", 0.5625 as "0.56", 3.0 as "3".
pub(super) fn describe_ratio(ratio: f64) -> String {
    let fixed = format!("{ratio:.2}");
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

// ---- Header parsing. Every read is bounds-checked: a short file is `None`, never a panic.

fn bytes_at<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    bytes_at(data, at).map(u16::from_be_bytes)
}

fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    bytes_at(data, at).map(u16::from_le_bytes)
}

fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    bytes_at(data, at).map(u32::from_be_bytes)
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    bytes_at(data, at).map(u32::from_le_bytes)
}

fn le_u24(data: &[u8], at: usize) -> Option<u32> {
    let [a, b, c] = bytes_at(data, at)?;
    Some(u32::from_le_bytes([a, b, c, 0]))
}

fn sniff_format(data: &[u8]) -> Option<ImageFormat> {
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if data.starts_with(b"\xFF\xD8\xFF") {
        Some(ImageFormat::Jpeg)
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

/// PNG: the IHDR chunk comes first; width and height are big-endian at 16 and 20.
fn png_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    (data.get(12..16)? == b"IHDR").then_some(())?;
    Some((be_u32(data, 16)?, be_u32(data, 20)?))
}

/// GIF: the logical screen size, little-endian at 6 and 8.
fn gif_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    Some((le_u16(data, 6)?.into(), le_u16(data, 8)?.into()))
}

/// WebP: the first chunk says which of the three encodings it is.
fn webp_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    match data.get(12..16)? {
        // Lossy: a VP8 key frame header, start code 9d 01 2a, then 14-bit sizes.
        b"VP8 " => {
            (data.get(23..26)? == [0x9D, 0x01, 0x2A]).then_some(())?;
            let width = le_u16(data, 26)? & 0x3FFF;
            let height = le_u16(data, 28)? & 0x3FFF;
            Some((width.into(), height.into()))
        }
        // Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each.
        b"VP8L" => {
            (*data.get(20)? == 0x2F).then_some(())?;
            let bits = le_u32(data, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: canvas width-1 and height-1 in 24 bits each.
        b"VP8X" => Some((le_u24(data, 24)? + 1, le_u24(data, 27)? + 1)),
        _ => None,
    }
}

/// One marker segment of a JPEG: its marker and where its content (after the two length
/// bytes) lies in the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JpegSegment {
    pub(crate) marker: u8,
    pub(crate) content: std::ops::Range<usize>,
}

/// A JPEG's marker segments in order, from after the start-of-image marker. It ends at the
/// end-of-image marker, at the first malformed or truncated segment, and after the first
/// start-of-scan (what follows it is entropy-coded data, not segments). Markers without a
/// length (TEM, RST0-7) are skipped, as are the 0xFF fill bytes before any marker.
pub(crate) fn jpeg_segments(data: &[u8]) -> impl Iterator<Item = JpegSegment> + '_ {
    let mut at = Some(2);
    std::iter::from_fn(move || {
        loop {
            let mut pos = at.take()?;
            (*data.get(pos)? == 0xFF).then_some(())?;
            while *data.get(pos)? == 0xFF {
                pos += 1;
            }
            let marker = *data.get(pos)?;
            pos += 1;
            match marker {
                0x01 | 0xD0..=0xD7 => {
                    at = Some(pos);
                    continue;
                }
                0xD9 => return None,
                _ => {}
            }
            let length = usize::from(be_u16(data, pos)?);
            let content = pos.checked_add(2)?..pos.checked_add(length)?;
            data.get(content.clone())?;
            if marker != 0xDA {
                at = Some(content.end);
            }
            return Some(JpegSegment { marker, content });
        }
    })
}

/// JPEG: walk the marker segments to the first start-of-frame, noting the EXIF orientation
/// on the way (APPn segments precede the frame header).
fn jpeg_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    let mut orientation = 1;
    for JpegSegment { marker, content } in jpeg_segments(data) {
        let segment = &data[content];
        match marker {
            // Start of scan before any frame header: no dimensions.
            0xDA => return None,
            // SOFn, except DHT (C4), JPG (C8) and DAC (CC) which share the range.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = u32::from(be_u16(segment, 1)?);
                let width = u32::from(be_u16(segment, 3)?);
                // Orientations 5-8 turn the picture by 90°: displayed sideways.
                return Some(if (5..=8).contains(&orientation) {
                    (height, width)
                } else {
                    (width, height)
                });
            }
            0xE1 => {
                if let Some(found) = exif_orientation(segment) {
                    orientation = found;
                }
            }
            _ => {}
        }
    }
    None
}

/// The orientation tag (0x0112) of IFD0 in an APP1 `Exif` segment.
fn exif_orientation(segment: &[u8]) -> Option<u16> {
    let tiff = segment.strip_prefix(b"Exif\0\0")?;
    let big_endian = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at| {
        if big_endian {
            be_u16(tiff, at)
        } else {
            le_u16(tiff, at)
        }
    };
    let u32_at = |at| {
        if big_endian {
            be_u32(tiff, at)
        } else {
            le_u32(tiff, at)
        }
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = u16_at(ifd)?;
    (0..usize::from(entries)).find_map(|index| {
        let entry = ifd.checked_add(2)?.checked_add(index.checked_mul(12)?)?;
        // A SHORT value sits in the first two bytes of the entry's value field.
        (u16_at(entry)? == 0x0112).then(|| entry.checked_add(8).and_then(&u16_at))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ratios_read_like_the_platforms_write_them() {
        assert_eq!(describe_bytes(5 * MB), "5 MB");
        assert_eq!(describe_bytes(5 * MB + 1), "5.0 MB (5,242,881 bytes)");
        assert_eq!(describe_bytes(4_823_449), "4.6 MB (4,823,449 bytes)");
        assert_eq!(describe_ratio(0.8), "0.8");
        assert_eq!(describe_ratio(3.0), "3");
        assert_eq!(describe_ratio(1080.0 / 1920.0), "0.56");
        assert_eq!(
            format_list(&[ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Gif]),
            "JPEG, PNG and GIF"
        );
        assert_eq!(format_list(&[ImageFormat::Png]), "PNG");
    }
}
