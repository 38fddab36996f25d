//! Video rules, media counts and mixing, first comments, and how images are prepared for a
//! platform: each platform's numbers, and the facts each refusal states.

use std::path::Path;

use herald_domain::rules::{
    MediaShape, content_violations_with_media, media_violations, plan_image, video_violations,
};
use herald_domain::{
    ContentRules, FieldPath, Fit, ImageFormat, ImageInfo, Platform, PostContent, RuleCode,
    VideoInfo,
};

use crate::{assert_mentions, fields_and_codes, images, only, post, violations};

/// A test video from `tests/fixtures/video`, read from its own metadata.
fn fixture(name: &str) -> VideoInfo {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/video")
        .join(name);
    VideoInfo::read(std::fs::File::open(&path).expect("fixture")).expect("a readable video")
}

fn video_codes(platform: Platform, video: &VideoInfo) -> Vec<&'static str> {
    video_violations(
        platform,
        video,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    )
    .iter()
    .map(|v| v.code.as_str())
    .collect()
}

#[test]
fn the_everyday_fixtures_pass_every_platform() {
    for name in ["portrait-720x1280-4s.mp4", "landscape-1280x720-4s.mp4"] {
        let video = fixture(name);
        for platform in Platform::ALL {
            assert_eq!(
                video_codes(platform, &video),
                Vec::<&str>::new(),
                "{platform} {name}"
            );
        }
    }
}

#[test]
fn a_320_second_video_is_too_long_for_x_and_threads_and_says_by_how_much() {
    let long = fixture("long-320x240-320s.mp4");
    let rules = ContentRules::default();
    let x = only(video_violations(
        Platform::Twitter,
        &long,
        &rules,
        FieldPath::MediaItem(2),
    ));
    assert_eq!(
        (x.field, x.code),
        (FieldPath::MediaItem(2), RuleCode::VideoTooLong)
    );
    assert_mentions(&x.message, &["X (Twitter)", "up to 140 s", "320"]);
    assert_eq!(video_codes(Platform::Threads, &long), ["video.too_long"]);
    // 24 fps is within Threads' 23-60; 320 s is within LinkedIn's 30 min and Reels' 15 min.
    assert!(video_codes(Platform::Linkedin, &long).is_empty());
    assert!(video_codes(Platform::Instagram, &long).is_empty());
}

#[test]
fn a_one_second_video_is_too_short_for_linkedin_and_instagram_only() {
    let short = fixture("short-640x360-1s.mp4");
    assert_eq!(video_codes(Platform::Linkedin, &short), ["video.too_short"]);
    let reel = only(video_violations(
        Platform::Instagram,
        &short,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    ));
    assert_mentions(&reel.message, &["Instagram", "at least 3 s", "1 s"]);
    for platform in [
        Platform::Twitter,
        Platform::Facebook,
        Platform::Threads,
        Platform::Telegram,
    ] {
        assert!(video_codes(platform, &short).is_empty(), "{platform}");
    }
}

#[test]
fn a_4_to_1_video_breaks_x_and_linkedin_aspect_ranges() {
    let wide = fixture("wide-1280x320-4s.mp4");
    assert_eq!(
        video_codes(Platform::Twitter, &wide),
        ["video.aspect_ratio"]
    );
    assert_eq!(
        video_codes(Platform::Linkedin, &wide),
        ["video.aspect_ratio"]
    );
    let message = &video_violations(
        Platform::Linkedin,
        &wide,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    )[0]
    .message;
    assert_mentions(message, &["from 0.42 to 2.4", "1280x320", "4"]);
    assert!(
        video_codes(Platform::Instagram, &wide).is_empty(),
        "0.01 to 10"
    );
}

#[test]
fn instagram_needs_moov_first_and_says_how_to_remux() {
    let late = fixture("moov-at-end-640x360-4s.mp4");
    assert!(!late.moov_first);
    let violation = only(video_violations(
        Platform::Instagram,
        &late,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    ));
    assert_eq!(violation.code, RuleCode::VideoMoovFirst);
    assert_mentions(&violation.message, &["moov", "+faststart"]);
    assert!(video_codes(Platform::Threads, &late).is_empty());
}

#[test]
fn mov_goes_where_quicktime_is_taken_and_not_to_telegram_or_linkedin() {
    let mov = fixture("clip-640x360-3s.mov");
    assert!(video_codes(Platform::Twitter, &mov).is_empty());
    assert!(video_codes(Platform::Threads, &mov).is_empty());
    // This one was written without fast start: Instagram refuses it for that alone.
    assert_eq!(video_codes(Platform::Instagram, &mov), ["video.moov_first"]);
    let telegram = only(video_violations(
        Platform::Telegram,
        &mov,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    ));
    assert_eq!(telegram.code, RuleCode::VideoContainer);
    assert_mentions(&telegram.message, &["Telegram accepts MP4 videos", "MOV"]);
    assert_eq!(video_codes(Platform::Linkedin, &mov), ["video.container"]);
}

#[test]
fn sizes_frame_rates_dimensions_and_codecs_are_checked_against_each_limit() {
    let base = fixture("landscape-1280x720-4s.mp4");
    let big = VideoInfo {
        bytes: 51 * 1024 * 1024,
        ..base.clone()
    };
    let telegram = only(video_violations(
        Platform::Telegram,
        &big,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    ));
    assert_eq!(telegram.code, RuleCode::VideoTooLarge);
    assert_mentions(&telegram.message, &["up to 50 MB", "51 MB"]);
    assert!(video_codes(Platform::Twitter, &big).is_empty());

    let slow = VideoInfo {
        frame_rate: 15.0,
        ..base.clone()
    };
    assert_eq!(
        video_codes(Platform::Instagram, &slow),
        ["video.frame_rate"]
    );
    assert!(video_codes(Platform::Twitter, &slow).is_empty());
    let fast = VideoInfo {
        frame_rate: 120.0,
        ..base.clone()
    };
    assert_eq!(video_codes(Platform::Twitter, &fast), ["video.frame_rate"]);

    let uhd = VideoInfo {
        width: 3840,
        height: 2160,
        ..base.clone()
    };
    assert_eq!(video_codes(Platform::Twitter, &uhd), ["video.dimensions"]);
    assert_eq!(video_codes(Platform::Instagram, &uhd), ["video.dimensions"]);
    let tiny = VideoInfo {
        width: 16,
        height: 16,
        ..base.clone()
    };
    assert_eq!(video_codes(Platform::Twitter, &tiny), ["video.dimensions"]);

    let vp9 = VideoInfo {
        video_codec: "vp09".to_owned(),
        ..base
    };
    let codec = only(video_violations(
        Platform::Facebook,
        &vp9,
        &ContentRules::default(),
        FieldPath::MediaItem(0),
    ));
    assert_eq!(codec.code, RuleCode::VideoCodec);
    assert_mentions(&codec.message, &["H.264 and HEVC", "vp09"]);
}

#[test]
fn video_rules_are_overlaid_from_config() {
    let rules: ContentRules = serde_json::from_value(serde_json::json!({
        "x": { "video": { "max_duration_ms": 600000 } },
        "linkedin": { "video": { "max_bytes": 5368709120u64 } },
    }))
    .unwrap();
    assert_eq!(rules.twitter.video.max_duration_ms, Some(600_000));
    assert_eq!(rules.twitter.video.min_duration_ms, 500, "the rest stays");
    assert_eq!(rules.linkedin.video.max_bytes, 5 * 1024 * 1024 * 1024);
    assert!(
        serde_json::from_value::<ContentRules>(
            serde_json::json!({ "x": { "video": { "max_lenght": 1 } } })
        )
        .is_err(),
        "a misspelt key is an error"
    );
}

fn shapes(list: &[MediaShape]) -> Vec<Option<MediaShape>> {
    list.iter().copied().map(Some).collect()
}

fn media_codes(platform: Platform, list: &[MediaShape]) -> Vec<&'static str> {
    media_violations(platform, &shapes(list), &ContentRules::default())
        .iter()
        .map(|v| v.code.as_str())
        .collect()
}

#[test]
fn x_takes_four_photos_or_one_video_or_one_gif_never_mixed() {
    use MediaShape::{Gif, Image, Video};
    assert!(media_codes(Platform::Twitter, &[Image; 4]).is_empty());
    assert!(media_codes(Platform::Twitter, &[Video]).is_empty());
    assert!(media_codes(Platform::Twitter, &[Gif]).is_empty());
    assert_eq!(
        media_codes(Platform::Twitter, &[Video, Video]),
        ["media.too_many"]
    );
    let mixed = only(media_violations(
        Platform::Twitter,
        &shapes(&[Video, Image]),
        &ContentRules::default(),
    ));
    assert_eq!(
        (mixed.field, mixed.code),
        (FieldPath::Media, RuleCode::MediaMixed)
    );
    assert_mentions(
        &mixed.message,
        &["does not mix images and videos", "1 image and 1 video"],
    );
    assert_eq!(
        media_codes(Platform::Twitter, &[Gif, Image]),
        ["media.mixed"]
    );
}

#[test]
fn linkedin_and_facebook_take_one_video_or_many_images_never_mixed() {
    use MediaShape::{Image, Video};
    assert!(media_codes(Platform::Linkedin, &[Image; 20]).is_empty());
    assert!(media_codes(Platform::Facebook, &[Image; 10]).is_empty());
    for platform in [Platform::Linkedin, Platform::Facebook] {
        assert!(media_codes(platform, &[Video]).is_empty());
        assert_eq!(
            media_codes(platform, &[Image, Video]),
            ["media.mixed"],
            "{platform}"
        );
        assert_eq!(
            media_codes(platform, &[Video, Video]),
            ["media.too_many"],
            "{platform}"
        );
    }
}

#[test]
fn carousels_and_media_groups_mix_kinds_up_to_their_size() {
    use MediaShape::{Image, Video};
    let mix = [Image, Video, Image];
    for platform in [Platform::Instagram, Platform::Threads, Platform::Telegram] {
        assert!(media_codes(platform, &mix).is_empty(), "{platform}");
    }
    assert!(media_codes(Platform::Threads, &[Video; 20]).is_empty());
    assert_eq!(
        media_codes(Platform::Instagram, &[Video; 11]),
        ["media.too_many", "media.too_many"]
    );
    assert_eq!(
        media_codes(Platform::Telegram, &[Image; 11]),
        ["media.too_many"]
    );
}

#[test]
fn unknown_kinds_count_only_toward_the_total() {
    let content = PostContent {
        media: images(2),
        ..post("a video by URL and a stored image")
    };
    // The URL's kind is unknown until fetched: nothing to say about mixing yet.
    let found = content_violations_with_media(
        Platform::Twitter,
        &content,
        &[None, Some(MediaShape::Image)],
        &ContentRules::default(),
    );
    assert!(found.is_empty(), "{found:?}");
    let found = content_violations_with_media(
        Platform::Twitter,
        &content,
        &[Some(MediaShape::Video), Some(MediaShape::Image)],
        &ContentRules::default(),
    );
    assert_eq!(
        fields_and_codes(&found),
        [("media".to_owned(), "media.mixed")]
    );
}

fn with_comment(comment: &str) -> PostContent {
    PostContent {
        first_comment: Some(comment.to_owned()),
        media: images(1),
        ..post("a post")
    }
}

#[test]
fn first_comments_follow_each_platform_length_and_are_never_empty() {
    for (platform, max) in [
        (Platform::Twitter, 280),
        (Platform::Linkedin, 1250),
        (Platform::Facebook, 8000),
        (Platform::Instagram, 2200),
        (Platform::Threads, 500),
        (Platform::Telegram, 4096),
    ] {
        assert!(
            violations(platform, &with_comment(&"a".repeat(max))).is_empty(),
            "{platform}"
        );
        let too_long = only(violations(platform, &with_comment(&"a".repeat(max + 1))));
        assert_eq!(
            (too_long.field, too_long.code),
            (FieldPath::FirstComment, RuleCode::FirstCommentTooLong),
            "{platform}"
        );
        let empty = only(violations(platform, &with_comment("  ")));
        assert_eq!(empty.code, RuleCode::FirstCommentEmpty, "{platform}");
        assert_eq!(empty.field.to_string(), "first_comment");
    }
    // X weighs a URL 23; Threads counts an emoji's UTF-8 bytes.
    let url = format!(
        "{} https://example.com/{}",
        "a".repeat(250),
        "b".repeat(100)
    );
    assert!(violations(Platform::Twitter, &with_comment(&url)).is_empty());
    let emoji = only(violations(
        Platform::Threads,
        &with_comment(&"😀".repeat(126)),
    ));
    assert_mentions(&emoji.message, &["Threads allows 500 characters", "504"]);
}

#[test]
fn instagram_comments_take_30_hashtags() {
    let tags = |n: usize| {
        (0..n)
            .map(|i| format!("#tag{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(violations(Platform::Instagram, &with_comment(&tags(30))).is_empty());
    let violation = only(violations(Platform::Instagram, &with_comment(&tags(31))));
    assert_eq!(violation.code, RuleCode::FirstCommentTooManyHashtags);
    assert_mentions(&violation.message, &["30 hashtags", "has 31"]);
    assert!(violations(Platform::Facebook, &with_comment(&tags(31))).is_empty());
}

fn info(format: ImageFormat, bytes: u64, width: u32, height: u32) -> ImageInfo {
    ImageInfo {
        format,
        bytes,
        width,
        height,
    }
}

#[test]
fn an_acceptable_image_needs_no_copy() {
    let plan = plan_image(
        Platform::Instagram,
        &info(ImageFormat::Jpeg, 500_000, 1080, 1350),
        &ContentRules::default(),
        None,
        FieldPath::MediaItem(0),
    )
    .unwrap();
    assert!(!plan.is_needed());
    assert_eq!(plan.recipe(), "");
}

#[test]
fn a_png_for_instagram_becomes_a_jpeg() {
    let plan = plan_image(
        Platform::Instagram,
        &info(ImageFormat::Png, 2_000_000, 1080, 1080),
        &ContentRules::default(),
        None,
        FieldPath::MediaItem(0),
    )
    .unwrap();
    assert!(plan.to_jpeg);
    assert_eq!(plan.recipe(), "jpeg");
    assert_eq!(plan.canvas, (1080, 1080));
}

#[test]
fn an_image_over_the_pixel_limit_is_scaled_down_keeping_its_shape() {
    let plan = plan_image(
        Platform::Twitter,
        &info(ImageFormat::Jpeg, 3_000_000, 8192, 4096),
        &ContentRules::default(),
        None,
        FieldPath::MediaItem(0),
    )
    .unwrap();
    assert_eq!(plan.recipe(), "scale:4096x2048");
    assert_eq!((plan.content, plan.canvas), ((4096, 2048), (4096, 2048)));
}

#[test]
fn a_4_to_1_banner_for_instagram_is_refused_unless_padded() {
    let banner = info(ImageFormat::Jpeg, 400_000, 2400, 600);
    let rules = ContentRules::default();
    let refused = plan_image(
        Platform::Instagram,
        &banner,
        &rules,
        Some(Fit::Reject),
        FieldPath::MediaItem(1),
    )
    .unwrap_err();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (refused[0].field, refused[0].code),
        (FieldPath::MediaItem(1), RuleCode::ImageAspectRatio)
    );
    assert_mentions(
        &refused[0].message,
        &["0.8 to 1.91", "2400x600", "\"fit\": \"pad\""],
    );

    let padded = plan_image(
        Platform::Instagram,
        &banner,
        &rules,
        Some(Fit::Pad),
        FieldPath::MediaItem(1),
    )
    .unwrap();
    assert_eq!(padded.recipe(), "pad:1.91");
    assert_eq!(padded.content, (2400, 600));
    assert_eq!(padded.canvas, (2400, 1257));
    let ratio = 2400.0 / 1257.0;
    assert!((0.8..=1.91).contains(&ratio), "{ratio}");
}

#[test]
fn a_tall_image_is_padded_sideways_and_scaled_when_over_the_pixel_limit() {
    let rules: ContentRules = serde_json::from_value(serde_json::json!({
        "instagram": { "image": { "max_width": 1080, "max_height": 1350 } }
    }))
    .unwrap();
    let plan = plan_image(
        Platform::Instagram,
        &info(ImageFormat::Png, 1_000_000, 1000, 2000),
        &rules,
        Some(Fit::Pad),
        FieldPath::MediaItem(0),
    )
    .unwrap();
    assert_eq!(plan.recipe(), "pad:0.8,scale:1080x1350,jpeg");
    assert_eq!(plan.canvas, (1080, 1350));
    assert_eq!(plan.content, (675, 1350));
}

#[test]
fn an_image_too_small_cannot_be_fixed() {
    let refused = plan_image(
        Platform::Instagram,
        &info(ImageFormat::Png, 10_000, 300, 300),
        &ContentRules::default(),
        Some(Fit::Pad),
        FieldPath::MediaItem(0),
    )
    .unwrap_err();
    assert_eq!(
        refused.iter().map(|v| v.code).collect::<Vec<_>>(),
        [RuleCode::ImageTooSmall]
    );
}

#[test]
fn an_image_over_the_file_size_is_shrunk_as_jpeg() {
    let plan = plan_image(
        Platform::Twitter,
        &info(ImageFormat::Png, 6 * 1024 * 1024, 2000, 2000),
        &ContentRules::default(),
        None,
        FieldPath::MediaItem(0),
    )
    .unwrap();
    assert_eq!(plan.recipe(), "jpeg,max:5242880");
}
