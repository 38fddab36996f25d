//! Image rules per platform: format, file size, dimensions and aspect ratio.

use herald_domain::rules::image_violations;
use herald_domain::{
    ContentRules, FieldPath, ImageFormat, ImageInfo, Platform, RuleCode, inspect_image,
    validate_image,
};

use crate::{assert_mentions, only};

const MB: u64 = 1024 * 1024;

fn image(format: ImageFormat, bytes: u64, width: u32, height: u32) -> ImageInfo {
    ImageInfo {
        format,
        bytes,
        width,
        height,
    }
}

fn jpeg(width: u32, height: u32) -> ImageInfo {
    image(ImageFormat::Jpeg, 500_000, width, height)
}

fn check(platform: Platform, image: &ImageInfo) -> Vec<herald_domain::Violation> {
    image_violations(
        platform,
        image,
        &ContentRules::default(),
        FieldPath::MediaItem(1),
    )
}

fn codes(platform: Platform, image: &ImageInfo) -> Vec<&'static str> {
    check(platform, image)
        .iter()
        .map(|v| v.code.as_str())
        .collect()
}

#[test]
fn a_square_jpeg_of_a_megabyte_is_fine_everywhere() {
    for platform in Platform::ALL {
        let ok = image(ImageFormat::Jpeg, MB, 1080, 1080);
        assert!(
            validate_image(
                platform,
                &ok,
                &ContentRules::default(),
                FieldPath::MediaItem(0)
            )
            .is_ok(),
            "{platform}"
        );
    }
}

#[test]
fn x_takes_up_to_5_mb_and_4096_pixels_a_side() {
    assert!(
        check(
            Platform::Twitter,
            &image(ImageFormat::Webp, 5 * MB, 4096, 4096)
        )
        .is_empty()
    );

    let big = only(check(
        Platform::Twitter,
        &image(ImageFormat::Png, 6 * MB, 1000, 1000),
    ));
    assert_eq!(big.code, RuleCode::ImageTooLarge);
    assert_eq!(big.field, FieldPath::MediaItem(1));
    assert_eq!(
        big.message,
        "X (Twitter) accepts images of up to 5 MB; this one is 6 MB"
    );

    let one_byte_over = only(check(
        Platform::Twitter,
        &image(ImageFormat::Png, 5 * MB + 1, 10, 10),
    ));
    assert_mentions(&one_byte_over.message, &["5 MB", "5,242,881 bytes"]);

    let wide = only(check(Platform::Twitter, &jpeg(5000, 3000)));
    assert_eq!(wide.code, RuleCode::ImageDimensionsTooLarge);
    assert_mentions(&wide.message, &["4096x4096", "5000x3000"]);
}

#[test]
fn linkedin_takes_jpeg_png_gif_from_552x276_with_aspect_from_0_8_to_3() {
    assert!(check(Platform::Linkedin, &image(ImageFormat::Gif, MB, 552, 276)).is_empty());
    assert!(
        check(Platform::Linkedin, &jpeg(1200, 1500)).is_empty(),
        "exactly 4:5"
    );
    assert!(
        check(Platform::Linkedin, &jpeg(1800, 600)).is_empty(),
        "exactly 3:1"
    );

    let webp = only(check(
        Platform::Linkedin,
        &image(ImageFormat::Webp, MB, 1200, 627),
    ));
    assert_eq!(webp.code, RuleCode::ImageFormat);
    assert_eq!(
        webp.message,
        "LinkedIn accepts JPEG, PNG and GIF images; this one is WebP"
    );

    let small = only(check(Platform::Linkedin, &jpeg(551, 400)));
    assert_eq!(small.code, RuleCode::ImageTooSmall);
    assert_mentions(&small.message, &["at least 552x276", "551x400"]);

    let panorama = only(check(Platform::Linkedin, &jpeg(2400, 600)));
    assert_eq!(panorama.code, RuleCode::ImageAspectRatio);
    assert_eq!(
        panorama.message,
        "LinkedIn accepts aspect ratios (width / height) from 0.8 to 3; this image is \
         2400x600, 4"
    );
    assert_eq!(
        codes(Platform::Linkedin, &jpeg(1000, 1300)),
        ["image.aspect_ratio"]
    );
}

#[test]
fn facebook_takes_up_to_4_mb_of_any_shape() {
    assert!(
        check(
            Platform::Facebook,
            &image(ImageFormat::Webp, 4 * MB, 20, 4000)
        )
        .is_empty()
    );
    let big = only(check(
        Platform::Facebook,
        &image(ImageFormat::Jpeg, 4_823_449, 800, 800),
    ));
    assert_eq!(
        big.message,
        "Facebook accepts images of up to 4 MB; this one is 4.6 MB (4,823,449 bytes)"
    );
}

#[test]
fn instagram_takes_jpeg_from_600x600_between_4_5_and_1_91() {
    assert!(check(Platform::Instagram, &jpeg(1080, 1350)).is_empty());
    assert_eq!(
        codes(
            Platform::Instagram,
            &image(ImageFormat::Png, 8 * MB, 1080, 1350)
        ),
        ["image.format"],
        "a PNG is converted to JPEG by the worker, not taken as it is"
    );
    assert!(
        check(Platform::Instagram, &jpeg(1146, 600)).is_empty(),
        "1.91:1"
    );

    let story = only(check(Platform::Instagram, &jpeg(1080, 1920)));
    assert_eq!(story.code, RuleCode::ImageAspectRatio);
    assert_mentions(&story.message, &["from 0.8 to 1.91", "1080x1920", "0.56"]);

    assert_eq!(
        codes(Platform::Instagram, &jpeg(1080, 1351)),
        ["image.aspect_ratio"]
    );
    assert_eq!(
        codes(Platform::Instagram, &jpeg(599, 599)),
        ["image.too_small"]
    );

    // A 9 MB GIF, 300x900: every rule at once.
    assert_eq!(
        codes(
            Platform::Instagram,
            &image(ImageFormat::Gif, 9 * MB, 300, 900)
        ),
        [
            "image.format",
            "image.too_large",
            "image.too_small",
            "image.aspect_ratio"
        ]
    );
}

#[test]
fn threads_images_follow_instagram() {
    let rules = ContentRules::default();
    assert_eq!(
        rules.threads.image.formats,
        [ImageFormat::Jpeg, ImageFormat::Png]
    );
    assert_eq!(
        codes(Platform::Threads, &jpeg(1080, 1920)),
        ["image.aspect_ratio"]
    );
    assert_eq!(
        codes(Platform::Threads, &image(ImageFormat::Webp, MB, 1080, 1080)),
        ["image.format"]
    );
}

#[test]
fn telegram_takes_up_to_10_mb_within_a_ratio_of_20() {
    assert!(
        check(
            Platform::Telegram,
            &image(ImageFormat::Gif, 10 * MB, 100, 2000)
        )
        .is_empty()
    );
    assert_eq!(
        codes(Platform::Telegram, &jpeg(100, 2100)),
        ["image.aspect_ratio"]
    );
    assert_eq!(
        codes(Platform::Telegram, &jpeg(2100, 100)),
        ["image.aspect_ratio"]
    );
    assert_eq!(
        codes(
            Platform::Telegram,
            &image(ImageFormat::Png, 10 * MB + 1, 100, 100)
        ),
        ["image.too_large"]
    );
}

#[test]
fn an_image_without_pixels_is_too_small_even_without_a_minimum() {
    for platform in Platform::ALL {
        assert_eq!(
            codes(platform, &jpeg(0, 100)),
            ["image.too_small"],
            "{platform}"
        );
    }
}

#[test]
fn inspecting_bytes_reads_the_header_then_applies_the_rules() {
    let rules = ContentRules::default();
    let field = FieldPath::MediaItem(0);

    let png = crate::sniff::png(1200, 627);
    let info = inspect_image(Platform::Linkedin, &png, &rules, field).unwrap();
    assert_eq!(
        (info.format, info.width, info.height),
        (ImageFormat::Png, 1200, 627)
    );

    let error = inspect_image(Platform::Instagram, &png, &rules, field).unwrap_err();
    assert_eq!(
        error.codes(),
        [RuleCode::ImageFormat, RuleCode::ImageAspectRatio]
    );

    let html = b"<!doctype html><title>Not found</title>";
    let error = inspect_image(Platform::Instagram, html, &rules, field).unwrap_err();
    assert_eq!(error.codes(), [RuleCode::ImageFormat]);
    assert_mentions(
        &error.as_slice()[0].message,
        &["Instagram accepts JPEG images"],
    );

    let error = inspect_image(Platform::Twitter, &png[..20], &rules, field).unwrap_err();
    assert_eq!(error.codes(), [RuleCode::ImageUnreadable]);
    assert_mentions(
        &error.as_slice()[0].message,
        &["truncated or malformed PNG"],
    );
}
