//! Images prepared for one platform: what can be fixed in an image a platform would refuse,
//! rather than refusing the post.
//!
//! [`plan_image`] is pure arithmetic over an image's facts ([`ImageInfo`]) and the platform's
//! image rules, so the API can decide at enqueue whether an image is acceptable as it is,
//! acceptable once prepared, or not acceptable at all; the worker makes the copy with
//! `prepare_image` (the `decode` feature). What is fixed:
//!
//! - **Format**: a format the platform does not take (PNG, WebP or GIF for Instagram, which
//!   takes JPEG only) is converted to JPEG; of a GIF, the first frame.
//! - **Pixels**: an image over the platform's maximum width or height is scaled down to fit.
//! - **Bytes**: an image over the platform's file size is re-encoded as JPEG, at lower
//!   quality and then smaller, until it fits.
//! - **Aspect ratio**, only when the post asks for it with `"fit": "pad"`: the image is
//!   centred on a white canvas of the nearest ratio the platform takes (a 4:1 banner for
//!   Instagram becomes 1.91:1). Without it, the aspect ratio is the producer's choice and
//!   a refusal says how to opt in.
//!
//! What cannot be fixed is reported as violations: an image under the minimum size (Herald
//! does not enlarge images), or one the platform's formats leave no way to convert.
//!
//! Every prepared copy is a JPEG (quality 90, transparency flattened onto white): the one
//! format every platform takes. Its *recipe* (`pad:0.8,scale:1080x1350,jpeg`) names what was
//! done, in order; the worker stores one copy per source, platform and recipe and reuses it.

use super::image::{ImageFormat, ImageInfo, describe_ratio, image_violations};
use super::{ContentRules, FieldPath, RuleCode, Violation};
use crate::content::Fit;
use crate::platform::Platform;

/// What must be done to an image for one platform. [`Preparation::is_needed`] is false when
/// the image goes as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Preparation {
    /// The aspect ratio the image is padded to, if it is.
    pub pad: Option<f64>,
    /// Whether the image is scaled down (to fit the platform's pixel limits).
    pub scaled: bool,
    /// Whether the format changes to JPEG.
    pub to_jpeg: bool,
    /// The platform's file size limit, when the image is over it.
    pub shrink_to: Option<u64>,
    /// The picture's size in the copy, and the canvas it is centred on (the same unless
    /// padded).
    pub content: (u32, u32),
    pub canvas: (u32, u32),
    /// The largest file the platform takes: the copy is made to fit it.
    pub max_bytes: u64,
}

impl Preparation {
    /// Whether a copy must be made.
    pub fn is_needed(&self) -> bool {
        self.pad.is_some() || self.scaled || self.to_jpeg || self.shrink_to.is_some()
    }

    /// What is done, in order, as stored with the copy: `jpeg`, `scale:1080x1350`,
    /// `pad:0.8`, `max:5242880`, joined by commas. Empty when nothing is.
    pub fn recipe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(ratio) = self.pad {
            parts.push(format!("pad:{}", describe_ratio(ratio)));
        }
        if self.scaled {
            parts.push(format!("scale:{}x{}", self.canvas.0, self.canvas.1));
        }
        if self.to_jpeg {
            parts.push("jpeg".to_owned());
        }
        if let Some(max) = self.shrink_to {
            parts.push(format!("max:{max}"));
        }
        parts.join(",")
    }
}

/// Decides how an image becomes one `platform` takes: not at all (nothing needed), a copy
/// (see the module documentation), or the violations no copy can fix. `fit` is the post's
/// `fit` (`None`: reject). `field` is where the image sits in the post.
pub fn plan_image(
    platform: Platform,
    info: &ImageInfo,
    rules: &ContentRules,
    fit: Option<Fit>,
    field: FieldPath,
) -> Result<Preparation, Vec<Violation>> {
    let image_rules = &rules.for_platform(platform).image;
    let name = platform.display_name();
    let found = image_violations(platform, info, rules, field);
    let (width, height) = (info.width, info.height);
    let mut plan = Preparation {
        pad: None,
        scaled: false,
        to_jpeg: false,
        shrink_to: None,
        content: (width, height),
        canvas: (width, height),
        max_bytes: image_rules.max_bytes,
    };
    if found.is_empty() {
        return Ok(plan);
    }
    let mut unfixable = Vec::new();
    let takes_jpeg = image_rules.formats.contains(&ImageFormat::Jpeg);

    // Aspect ratio: pad the short side, when asked to.
    let (mut canvas_w, mut canvas_h) = (width, height);
    if let Some(violation) = found.iter().find(|v| v.code == RuleCode::ImageAspectRatio) {
        let ratio = f64::from(width) / f64::from(height.max(1));
        match fit {
            Some(Fit::Pad) => {
                if let Some(min) = image_rules.min_aspect_ratio.filter(|min| ratio < *min) {
                    canvas_w = ceil_u32(f64::from(height) * min);
                    plan.pad = Some(min);
                } else if let Some(max) = image_rules.max_aspect_ratio.filter(|max| ratio > *max) {
                    canvas_h = ceil_u32(f64::from(width) / max);
                    plan.pad = Some(max);
                }
            }
            Some(Fit::Reject) | None => unfixable.push(Violation {
                message: format!(
                    "{}; send \"fit\": \"pad\" to have it padded to the nearest ratio {name} takes",
                    violation.message
                ),
                ..violation.clone()
            }),
        }
    }

    // Pixels: scale the canvas (and the picture on it) down to the limits.
    let factor = [
        image_rules
            .max_width
            .map(|max| f64::from(max) / f64::from(canvas_w)),
        image_rules
            .max_height
            .map(|max| f64::from(max) / f64::from(canvas_h)),
    ]
    .into_iter()
    .flatten()
    .fold(1.0_f64, f64::min);
    let (mut content_w, mut content_h) = (width, height);
    if factor < 1.0 {
        plan.scaled = true;
        let max_w = image_rules.max_width.unwrap_or(u32::MAX);
        let max_h = image_rules.max_height.unwrap_or(u32::MAX);
        match plan.pad {
            // Padded sideways: the picture fills the height.
            Some(target) if canvas_w != width => {
                let mut h = floor_u32(f64::from(canvas_h) * factor);
                let mut w = ceil_u32(f64::from(h) * target);
                if w > max_w {
                    h = floor_u32(f64::from(max_w) / target);
                    w = ceil_u32(f64::from(h) * target);
                }
                (canvas_w, canvas_h) = (w, h);
                content_h = h;
                content_w =
                    round_u32(f64::from(width) * f64::from(h) / f64::from(height)).min(canvas_w);
            }
            // Padded top and bottom: the picture fills the width.
            Some(target) => {
                let mut w = floor_u32(f64::from(canvas_w) * factor);
                let mut h = ceil_u32(f64::from(w) / target);
                if h > max_h {
                    w = floor_u32(f64::from(max_h) * target);
                    h = ceil_u32(f64::from(w) / target);
                }
                (canvas_w, canvas_h) = (w, h);
                content_w = w;
                content_h =
                    round_u32(f64::from(height) * f64::from(w) / f64::from(width)).min(canvas_h);
            }
            None => {
                canvas_w = floor_u32(f64::from(canvas_w) * factor);
                canvas_h = floor_u32(f64::from(canvas_h) * factor);
                (content_w, content_h) = (canvas_w, canvas_h);
            }
        }
    }
    plan.content = (content_w, content_h);
    plan.canvas = (canvas_w, canvas_h);

    // Too small: Herald does not enlarge images.
    if canvas_w < image_rules.min_width || canvas_h < image_rules.min_height {
        unfixable.push(
            found
                .iter()
                .find(|v| v.code == RuleCode::ImageTooSmall)
                .cloned()
                .unwrap_or_else(|| {
                    Violation::new(
                        platform,
                        field,
                        RuleCode::ImageTooSmall,
                        format!(
                            "{name} needs images of at least {}x{} pixels; this one would be \
                             {canvas_w}x{canvas_h} once scaled to its pixel limits",
                            image_rules.min_width, image_rules.min_height
                        ),
                    )
                }),
        );
    }

    // Format and file size: a JPEG copy, where the platform takes JPEG.
    if let Some(violation) = found.iter().find(|v| v.code == RuleCode::ImageFormat) {
        if takes_jpeg {
            plan.to_jpeg = true;
        } else {
            unfixable.push(violation.clone());
        }
    }
    if let Some(violation) = found.iter().find(|v| v.code == RuleCode::ImageTooLarge) {
        if takes_jpeg {
            plan.shrink_to = Some(image_rules.max_bytes);
            plan.to_jpeg |= info.format != ImageFormat::Jpeg;
        } else {
            unfixable.push(violation.clone());
        }
    }
    // A copy is always a JPEG: say so when the source was not one.
    if plan.is_needed() && info.format != ImageFormat::Jpeg {
        if takes_jpeg {
            plan.to_jpeg = true;
        } else {
            unfixable.push(Violation::new(
                platform,
                field,
                RuleCode::ImageFormat,
                format!(
                    "This image must be changed for {name}, which Herald does by making a JPEG \
                     copy, but {name} is configured not to take JPEG"
                ),
            ));
        }
    }

    if unfixable.is_empty() {
        Ok(plan)
    } else {
        Err(unfixable)
    }
}

fn ceil_u32(value: f64) -> u32 {
    // Saturating casts: dimensions come from u32s and stay in range.
    (value.ceil() as u32).max(1)
}

fn floor_u32(value: f64) -> u32 {
    (value.floor() as u32).max(1)
}

fn round_u32(value: f64) -> u32 {
    (value.round() as u32).max(1)
}

#[cfg(feature = "decode")]
pub use decode::{PrepareError, Prepared, prepare_image};

#[cfg(feature = "decode")]
mod decode {
    use std::io::Cursor;

    use ::image::codecs::jpeg::JpegEncoder;
    use ::image::imageops::{self, FilterType};
    use ::image::{DynamicImage, ImageDecoder, ImageReader, Limits, Rgb, RgbImage};

    use super::super::decode::{DecodeLimits, codec};
    use super::super::image::{ImageFormat, ImageInfo};
    use super::super::{RuleCode, to_u64};
    use super::Preparation;

    /// A prepared copy: a JPEG, and its facts.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Prepared {
        pub bytes: Vec<u8>,
        pub info: ImageInfo,
    }

    /// Why [`prepare_image`] could not make the copy.
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum PrepareError {
        #[error("the image could not be decoded: {0}")]
        Decode(String),
        #[error("the image could not be encoded as JPEG: {0}")]
        Encode(String),
        #[error(
            "even re-encoded and scaled down to {width}x{height}, the image is {bytes} bytes; \
             the platform takes up to {max_bytes}"
        )]
        TooLarge {
            width: u32,
            height: u32,
            bytes: u64,
            max_bytes: u64,
        },
    }

    impl PrepareError {
        /// The rule the image breaks.
        pub const fn rule(&self) -> RuleCode {
            match self {
                PrepareError::Decode(_) | PrepareError::Encode(_) => RuleCode::ImageCorrupt,
                PrepareError::TooLarge { .. } => RuleCode::ImageTooLarge,
            }
        }
    }

    /// JPEG qualities tried in turn while the copy is over the platform's file size.
    const QUALITIES: [u8; 3] = [90, 80, 70];
    /// Rounds of scaling down after the lowest quality, each to the area the size asks for.
    const SHRINK_ROUNDS: usize = 4;

    /// Makes the copy `plan` describes from `data` (an image whose facts are `info`, verified
    /// before), decoding under `limits`. CPU-bound: call it off the async runtime's threads.
    pub fn prepare_image(
        data: &[u8],
        info: &ImageInfo,
        plan: &Preparation,
        limits: DecodeLimits,
    ) -> Result<Prepared, PrepareError> {
        let decode = |e: ::image::ImageError| PrepareError::Decode(e.to_string());
        let mut reader = ImageReader::with_format(Cursor::new(data), codec(info.format));
        let mut bounds = Limits::default();
        bounds.max_alloc = Some(limits.max_alloc);
        reader.limits(bounds);
        let mut decoder = reader.into_decoder().map_err(decode)?;
        let orientation = decoder.orientation().map_err(decode)?;
        let mut image = DynamicImage::from_decoder(decoder).map_err(decode)?;
        // Displayed as the platform will show it: the EXIF rotation applied to the pixels.
        image.apply_orientation(orientation);

        let picture = flatten_on_white(&image);
        let picture = if (picture.width(), picture.height()) == plan.content {
            picture
        } else {
            imageops::resize(
                &picture,
                plan.content.0,
                plan.content.1,
                FilterType::Lanczos3,
            )
        };
        let mut canvas = if (picture.width(), picture.height()) == plan.canvas {
            picture
        } else {
            let mut canvas = RgbImage::from_pixel(plan.canvas.0, plan.canvas.1, Rgb([255; 3]));
            let x = (plan.canvas.0.saturating_sub(picture.width())) / 2;
            let y = (plan.canvas.1.saturating_sub(picture.height())) / 2;
            imageops::replace(&mut canvas, &picture, i64::from(x), i64::from(y));
            canvas
        };

        let mut bytes = Vec::new();
        for quality in QUALITIES {
            bytes = encode(&canvas, quality)?;
            if to_u64(bytes.len()) <= plan.max_bytes {
                return Ok(done(bytes, &canvas));
            }
        }
        for _ in 0..SHRINK_ROUNDS {
            // The file size goes roughly with the area: aim a little under.
            let over = plan.max_bytes as f64 / bytes.len() as f64;
            let factor = (over.sqrt() * 0.9).min(0.9);
            let width = ((f64::from(canvas.width()) * factor) as u32).max(1);
            let height = ((f64::from(canvas.height()) * factor) as u32).max(1);
            canvas = imageops::resize(&canvas, width, height, FilterType::Lanczos3);
            bytes = encode(&canvas, QUALITIES[QUALITIES.len() - 1])?;
            if to_u64(bytes.len()) <= plan.max_bytes {
                return Ok(done(bytes, &canvas));
            }
        }
        Err(PrepareError::TooLarge {
            width: canvas.width(),
            height: canvas.height(),
            bytes: to_u64(bytes.len()),
            max_bytes: plan.max_bytes,
        })
    }

    fn done(bytes: Vec<u8>, canvas: &RgbImage) -> Prepared {
        let info = ImageInfo {
            format: ImageFormat::Jpeg,
            bytes: to_u64(bytes.len()),
            width: canvas.width(),
            height: canvas.height(),
        };
        Prepared { bytes, info }
    }

    /// The picture as RGB, transparent parts shown over white (JPEG has no transparency).
    fn flatten_on_white(image: &DynamicImage) -> RgbImage {
        if !image.color().has_alpha() {
            return image.to_rgb8();
        }
        let rgba = image.to_rgba8();
        RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
            let [r, g, b, a] = rgba.get_pixel(x, y).0;
            let over = |c: u8| {
                let (c, a) = (u16::from(c), u16::from(a));
                // Exact in u16: at most 255 * 255 + 255 * 255.
                ((c * a + 255 * (255 - a) + 127) / 255) as u8
            };
            Rgb([over(r), over(g), over(b)])
        })
    }

    fn encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PrepareError> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(image)
            .map_err(|e| PrepareError::Encode(e.to_string()))?;
        Ok(out)
    }
}

#[cfg(feature = "decode")]
#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use ::image::{DynamicImage, Rgba, RgbaImage};

    use super::*;
    use crate::rules::DecodeLimits;

    const LIMITS: DecodeLimits = DecodeLimits::for_pixels(100_000_000);

    fn encoded(format: ::image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let pixels = RgbaImage::from_fn(width, height, |x, y| {
            Rgba([(x % 256) as u8, (y % 256) as u8, 128, 255])
        });
        let image = match format {
            ::image::ImageFormat::Jpeg => {
                DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(pixels).to_rgb8())
            }
            _ => DynamicImage::ImageRgba8(pixels),
        };
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn prepare(platform: Platform, data: &[u8], fit: Option<Fit>) -> Prepared {
        let info = ImageInfo::sniff(data).unwrap();
        let plan = plan_image(
            platform,
            &info,
            &ContentRules::default(),
            fit,
            FieldPath::MediaItem(0),
        )
        .unwrap();
        assert!(plan.is_needed());
        prepare_image(data, &info, &plan, LIMITS).unwrap()
    }

    #[test]
    fn a_png_for_instagram_is_made_a_jpeg_instagram_takes() {
        let png = encoded(::image::ImageFormat::Png, 800, 800);
        let copy = prepare(Platform::Instagram, &png, None);
        let sniffed = ImageInfo::sniff(&copy.bytes).unwrap();
        assert_eq!(sniffed, copy.info);
        assert_eq!(
            (sniffed.format, sniffed.width, sniffed.height),
            (ImageFormat::Jpeg, 800, 800)
        );
        assert!(
            crate::rules::image_violations(
                Platform::Instagram,
                &copy.info,
                &ContentRules::default(),
                FieldPath::MediaItem(0)
            )
            .is_empty()
        );
    }

    #[test]
    fn an_oversized_image_is_scaled_down_for_x() {
        let jpeg = encoded(::image::ImageFormat::Jpeg, 5000, 1000);
        let copy = prepare(Platform::Twitter, &jpeg, None);
        assert_eq!((copy.info.width, copy.info.height), (4096, 819));
    }

    #[test]
    fn a_banner_padded_for_instagram_is_centred_on_white() {
        let jpeg = encoded(::image::ImageFormat::Jpeg, 2400, 600);
        let copy = prepare(Platform::Instagram, &jpeg, Some(Fit::Pad));
        assert_eq!((copy.info.width, copy.info.height), (2400, 1257));
        let decoded = ::image::load_from_memory(&copy.bytes).unwrap().to_rgb8();
        let top = decoded.get_pixel(1200, 5).0;
        assert!(
            top.iter().all(|c| *c > 240),
            "the padding is white: {top:?}"
        );
        let middle = decoded.get_pixel(1200, 628).0;
        assert!(middle[2] < 200, "the picture is in the middle: {middle:?}");
    }

    #[test]
    fn an_image_over_the_file_size_is_re_encoded_under_it() {
        // Noise compresses badly: a 1500x1500 PNG of it is far over X's 5 MB.
        let mut seed = 7u32;
        let noise = RgbaImage::from_fn(1500, 1500, |_, _| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let [a, b, c, _] = seed.to_le_bytes();
            Rgba([a, b, c, 255])
        });
        let mut png = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(noise)
            .write_to(&mut png, ::image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();
        assert!(png.len() > 5 * 1024 * 1024);
        let copy = prepare(Platform::Twitter, &png, None);
        assert!(copy.info.bytes <= 5 * 1024 * 1024, "{}", copy.info.bytes);
        assert_eq!(copy.info.format, ImageFormat::Jpeg);
    }
}
