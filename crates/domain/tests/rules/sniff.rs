//! `ImageInfo::sniff` on hand-built headers of each format.

use herald_domain::{ImageFormat, ImageInfo, SniffError};

/// The first bytes of a PNG file: signature and IHDR chunk.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.extend_from_slice(&13u32.to_be_bytes());
    data.extend_from_slice(b"IHDR");
    data.extend_from_slice(&width.to_be_bytes());
    data.extend_from_slice(&height.to_be_bytes());
    data.extend_from_slice(&[8, 6, 0, 0, 0]); // depth, colour type, compression, filter, interlace
    data.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]); // CRC, unchecked
    data
}

fn gif(width: u16, height: u16) -> Vec<u8> {
    let mut data = b"GIF89a".to_vec();
    data.extend_from_slice(&width.to_le_bytes());
    data.extend_from_slice(&height.to_le_bytes());
    data.extend_from_slice(&[0xF7, 0, 0]);
    data
}

fn riff(chunk: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut data = b"RIFF".to_vec();
    let size = u32::try_from(4 + 8 + payload.len()).expect("small");
    data.extend_from_slice(&size.to_le_bytes());
    data.extend_from_slice(b"WEBP");
    data.extend_from_slice(chunk);
    data.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_le_bytes());
    data.extend_from_slice(payload);
    data
}

fn webp_lossy(width: u16, height: u16) -> Vec<u8> {
    let mut payload = vec![0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A]; // frame tag, start code
    payload.extend_from_slice(&width.to_le_bytes());
    payload.extend_from_slice(&height.to_le_bytes());
    riff(b"VP8 ", &payload)
}

fn webp_lossless(width: u32, height: u32) -> Vec<u8> {
    let bits = (width - 1) | ((height - 1) << 14);
    let mut payload = vec![0x2F];
    payload.extend_from_slice(&bits.to_le_bytes());
    riff(b"VP8L", &payload)
}

fn webp_extended(width: u32, height: u32) -> Vec<u8> {
    let mut payload = vec![0x10, 0, 0, 0]; // flags (alpha), reserved
    payload.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    payload.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    riff(b"VP8X", &payload)
}

fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut data = vec![0xFF, marker];
    data.extend_from_slice(&u16::try_from(body.len() + 2).expect("small").to_be_bytes());
    data.extend_from_slice(body);
    data
}

/// An APP1 Exif segment whose IFD0 holds one entry, the orientation.
fn exif(orientation: u16, big_endian: bool) -> Vec<u8> {
    let u16b = |n: u16| {
        if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        }
    };
    let u32b = |n: u32| {
        if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        }
    };
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    body.extend_from_slice(&u16b(42));
    body.extend_from_slice(&u32b(8)); // IFD0 right after the header
    body.extend_from_slice(&u16b(2)); // two entries: something else, then the orientation
    for (tag, value) in [(0x010F_u16, 0_u16), (0x0112, orientation)] {
        body.extend_from_slice(&u16b(tag));
        body.extend_from_slice(&u16b(3)); // SHORT
        body.extend_from_slice(&u32b(1)); // count
        body.extend_from_slice(&u16b(value));
        body.extend_from_slice(&[0, 0]);
    }
    body.extend_from_slice(&u32b(0)); // no next IFD
    segment(0xE1, &body)
}

fn jpeg_with(sof: u8, width: u16, height: u16, before_frame: &[Vec<u8>]) -> Vec<u8> {
    let mut data = vec![0xFF, 0xD8];
    data.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
    for extra in before_frame {
        data.extend_from_slice(extra);
    }
    data.extend(segment(0xDB, &[0; 65])); // a quantization table
    data.extend(segment(0xC4, &[0; 20])); // a Huffman table: shares the SOF range, is not one
    let mut frame = vec![8];
    frame.extend_from_slice(&height.to_be_bytes());
    frame.extend_from_slice(&width.to_be_bytes());
    frame.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    data.extend(segment(sof, &frame));
    data.extend(segment(0xDA, &[3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0]));
    data.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
    data
}

fn jpeg(width: u16, height: u16) -> Vec<u8> {
    jpeg_with(0xC0, width, height, &[])
}

fn sniffed(data: &[u8]) -> (ImageFormat, u32, u32) {
    let info = ImageInfo::sniff(data).expect("a readable image");
    assert_eq!(info.bytes, data.len() as u64);
    (info.format, info.width, info.height)
}

#[test]
fn png_dimensions_come_from_ihdr() {
    assert_eq!(sniffed(&png(1200, 627)), (ImageFormat::Png, 1200, 627));
    assert_eq!(sniffed(&png(70_000, 1)), (ImageFormat::Png, 70_000, 1));
}

#[test]
fn gif_dimensions_come_from_the_logical_screen() {
    assert_eq!(sniffed(&gif(480, 270)), (ImageFormat::Gif, 480, 270));
    assert_eq!(sniffed(&gif(65_535, 2)), (ImageFormat::Gif, 65_535, 2));
}

#[test]
fn webp_dimensions_come_from_each_of_the_three_encodings() {
    assert_eq!(
        sniffed(&webp_lossy(1080, 1350)),
        (ImageFormat::Webp, 1080, 1350)
    );
    assert_eq!(
        sniffed(&webp_lossless(16_384, 1)),
        (ImageFormat::Webp, 16_384, 1)
    );
    assert_eq!(
        sniffed(&webp_lossless(640, 480)),
        (ImageFormat::Webp, 640, 480)
    );
    assert_eq!(
        sniffed(&webp_extended(16_777_216, 3)),
        (ImageFormat::Webp, 16_777_216, 3)
    );
    assert_eq!(
        sniffed(&webp_extended(1920, 1080)),
        (ImageFormat::Webp, 1920, 1080)
    );
}

#[test]
fn jpeg_dimensions_come_from_the_first_frame_header() {
    assert_eq!(sniffed(&jpeg(4032, 3024)), (ImageFormat::Jpeg, 4032, 3024));
    // Progressive (SOF2) too.
    assert_eq!(
        sniffed(&jpeg_with(0xC2, 800, 600, &[])),
        (ImageFormat::Jpeg, 800, 600)
    );
}

#[test]
fn jpeg_skips_fill_bytes_before_markers() {
    let mut data = jpeg(640, 480);
    // Two fill bytes before the APP0 marker.
    data.splice(2..2, [0xFF, 0xFF]);
    assert_eq!(sniffed(&data), (ImageFormat::Jpeg, 640, 480));
}

#[test]
fn jpeg_dimensions_are_as_displayed_after_exif_rotation() {
    // A phone's portrait photo: stored landscape, orientation 6 (rotate 90° clockwise).
    for big_endian in [true, false] {
        let portrait = jpeg_with(0xC0, 4032, 3024, &[exif(6, big_endian)]);
        assert_eq!(
            sniffed(&portrait),
            (ImageFormat::Jpeg, 3024, 4032),
            "big endian: {big_endian}"
        );
    }
    for orientation in [5, 7, 8] {
        let data = jpeg_with(0xC0, 400, 300, &[exif(orientation, false)]);
        assert_eq!(
            sniffed(&data),
            (ImageFormat::Jpeg, 300, 400),
            "orientation {orientation}"
        );
    }
    for orientation in [1, 2, 3, 4] {
        let data = jpeg_with(0xC0, 400, 300, &[exif(orientation, true)]);
        assert_eq!(
            sniffed(&data),
            (ImageFormat::Jpeg, 400, 300),
            "orientation {orientation}"
        );
    }
}

#[test]
fn a_jpeg_without_a_frame_header_before_its_scan_is_malformed() {
    let mut data = vec![0xFF, 0xD8];
    data.extend(segment(0xDA, &[0; 10]));
    assert_eq!(
        ImageInfo::sniff(&data),
        Err(SniffError::Malformed(ImageFormat::Jpeg))
    );
}

#[test]
fn unknown_formats_are_named_as_such() {
    for data in [
        &b""[..],
        b"<html>",
        b"BM\x36\x00\x0c\x00", // BMP
        b"\0\0\0\x1cftypheic", // HEIC
        b"RIFF\0\0\0\0WAVEfmt ",
    ] {
        assert_eq!(
            ImageInfo::sniff(data),
            Err(SniffError::UnknownFormat),
            "{data:?}"
        );
    }
}

#[test]
fn every_truncation_of_a_header_is_an_error_not_a_panic() {
    for (format, data) in [
        (ImageFormat::Png, png(100, 50)),
        (ImageFormat::Gif, gif(100, 50)),
        (ImageFormat::Webp, webp_lossy(100, 50)),
        (ImageFormat::Webp, webp_lossless(100, 50)),
        (ImageFormat::Webp, webp_extended(100, 50)),
        (
            ImageFormat::Jpeg,
            jpeg_with(0xC0, 100, 50, &[exif(6, true)]),
        ),
    ] {
        let whole = ImageInfo::sniff(&data).unwrap();
        for end in 0..data.len() {
            match ImageInfo::sniff(&data[..end]) {
                Err(SniffError::UnknownFormat | SniffError::Malformed(_)) => {}
                // Once the dimensions are in, the rest of the file is not needed.
                Ok(info) => {
                    assert_eq!(
                        (info.format, info.width, info.height),
                        (format, whole.width, whole.height)
                    );
                }
            }
        }
    }
}

#[test]
fn zero_dimensions_are_malformed() {
    assert_eq!(
        ImageInfo::sniff(&png(0, 10)),
        Err(SniffError::Malformed(ImageFormat::Png))
    );
    assert_eq!(
        ImageInfo::sniff(&gif(10, 0)),
        Err(SniffError::Malformed(ImageFormat::Gif))
    );
}
