//! Reading image headers the way the platforms' upload pipelines do, and making small valid
//! images for tests.
//!
//! The platforms judge an image by its real format and dimensions, not by its file name or
//! declared content type, so the simulator reads them from the bytes: JPEG (the SOF segment),
//! PNG (IHDR), GIF (the logical screen) and WebP (VP8, VP8L or VP8X). MP4 is recognised by
//! its `ftyp` box so video uploads can be told apart.
//!
//! [`jpeg`] and [`png`] write images any decoder accepts (a flat grey baseline JPEG, a black
//! 1-bit PNG) at any size in a few kilobytes, and [`jpeg_of_size`] pads one with comment
//! segments to exercise byte limits. `/_sim/images/{w}x{h}.jpg` serves them over HTTP.

/// A recognised image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl ImageFormat {
    pub(crate) fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }
}

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImageInfo {
    pub(crate) format: ImageFormat,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl ImageInfo {
    pub(crate) fn aspect(&self) -> f64 {
        f64::from(self.width) / f64::from(self.height.max(1))
    }
}

/// Reads the format and dimensions, or `None` if the bytes are not a recognised image.
pub(crate) fn sniff(bytes: &[u8]) -> Option<ImageInfo> {
    let info = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_info(bytes)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageInfo {
            format: ImageFormat::Gif,
            width: u32::from(le16(bytes, 6)?),
            height: u32::from(le16(bytes, 8)?),
        })
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        jpeg_info(bytes)
    } else if bytes.len() > 16 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp_info(bytes)
    } else {
        None
    }?;
    (info.width > 0 && info.height > 0).then_some(info)
}

/// Whether the bytes start like an MP4/MOV file.
pub(crate) fn is_mp4(bytes: &[u8]) -> bool {
    bytes.len() > 12 && &bytes[4..8] == b"ftyp"
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn png_info(bytes: &[u8]) -> Option<ImageInfo> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some(ImageInfo {
        format: ImageFormat::Png,
        width: be32(bytes, 16)?,
        height: be32(bytes, 20)?,
    })
}

fn jpeg_info(bytes: &[u8]) -> Option<ImageInfo> {
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes.
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        at += 2;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return None,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some(ImageInfo {
                    format: ImageFormat::Jpeg,
                    height: u32::from(be16(bytes, at + 3)?),
                    width: u32::from(be16(bytes, at + 5)?),
                });
            }
            _ => at += usize::from(be16(bytes, at)?),
        }
    }
}

fn webp_info(bytes: &[u8]) -> Option<ImageInfo> {
    let (width, height) = match bytes.get(12..16)? {
        b"VP8 " => (
            u32::from(le16(bytes, 26)? & 0x3FFF),
            u32::from(le16(bytes, 28)? & 0x3FFF),
        ),
        b"VP8L" => {
            let b = bytes.get(21..25)?;
            let bits = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        b"VP8X" => {
            let w = bytes.get(24..27)?;
            let h = bytes.get(27..30)?;
            (
                u32::from_le_bytes([w[0], w[1], w[2], 0]) + 1,
                u32::from_le_bytes([h[0], h[1], h[2], 0]) + 1,
            )
        }
        _ => return None,
    };
    Some(ImageInfo {
        format: ImageFormat::Webp,
        width,
        height,
    })
}

/// A flat grey baseline JPEG of the given size (a few KB even at 4096x4096).
pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
    jpeg_of_size(width, height, 0)
}

/// Like [`jpeg`], padded with comment segments to at least `min_bytes`.
pub fn jpeg_of_size(width: u16, height: u16, min_bytes: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    // JFIF APP0.
    out.extend_from_slice(&[
        0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00,
        0x01, 0x00, 0x00,
    ]);
    // Quantisation table 0: all ones.
    out.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    out.extend_from_slice(&[1u8; 64]);
    // Baseline frame, one component (grey), 1x1 sampling.
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
    // Huffman tables with a single one-bit code each: DC category 0 and AC end-of-block.
    for class in [0x00u8, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 0x01]);
        out.extend_from_slice(&[0u8; 15]);
        out.push(0x00);
    }
    // Padding comments before the scan.
    while out.len() + 20 < min_bytes {
        let chunk = (min_bytes - out.len() - 20).min(65_000);
        let len = (chunk + 2) as u16;
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend(std::iter::repeat_n(b'.', chunk));
    }
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    // Every 8x8 block: DC difference 0 ("0") then end-of-block ("0"): two zero bits.
    let blocks = usize::from(width.div_ceil(8)) * usize::from(height.div_ceil(8));
    let bits = blocks * 2;
    out.extend(std::iter::repeat_n(0u8, bits / 8));
    if bits % 8 != 0 {
        // Pad the last byte with ones, as the standard requires.
        out.push(0xFF >> (bits % 8));
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// A black 1-bit greyscale PNG of the given size.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    let row = width.div_ceil(8) as usize + 1;
    let raw = vec![0u8; row * height as usize];
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_images_read_back_with_their_dimensions() {
        let jpg = sniff(&jpeg(1080, 1350)).unwrap();
        assert_eq!(
            (jpg.format, jpg.width, jpg.height),
            (ImageFormat::Jpeg, 1080, 1350)
        );
        let big = jpeg_of_size(600, 600, 300_000);
        assert!(big.len() >= 300_000);
        assert_eq!(sniff(&big).unwrap().width, 600);
        let p = sniff(&png(640, 480)).unwrap();
        assert_eq!((p.format, p.width, p.height), (ImageFormat::Png, 640, 480));
    }

    #[test]
    fn png_crc_matches_the_reference_value() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn text_is_not_an_image() {
        assert!(sniff(b"<html>not an image</html>").is_none());
    }
}
