//! Properties that hold for any input.

use herald_domain::rules::{content_violations, image_violations};
use herald_domain::{
    ContentRules, FieldPath, ImageFormat, ImageInfo, MediaRef, Platform, PostContent, RuleCode,
    TextCounting, twitter_weighted_length, validate_content, validate_image,
};
use proptest::prelude::*;
use proptest::sample::select;

use crate::{images, post, post_with_images};

fn platform() -> impl Strategy<Value = Platform> {
    select(Platform::ALL.to_vec())
}

/// Any text at all: arbitrary Unicode, with a bias towards things that look like URLs,
/// emoji sequences, combining marks and whitespace.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,400}",
        prop::collection::vec(
            prop_oneof![
                Just("https://example.com/a/long/path".to_owned()),
                Just("example.co".to_owned()),
                Just("👨\u{200D}👩\u{200D}👧".to_owned()),
                Just("e\u{301}".to_owned()),
                Just("語".to_owned()),
                Just(" ".to_owned()),
                Just("\u{FEFF}".to_owned()),
                "[a-z]{1,8}",
            ],
            0..80
        )
        .prop_map(|pieces| pieces.concat()),
    ]
}

fn any_content() -> impl Strategy<Value = PostContent> {
    (
        prop::option::of(any_text()),
        prop::collection::vec(any_text(), 0..4),
        0..7usize,
    )
        .prop_map(|(text, thread, media)| PostContent {
            text,
            thread,
            media: images(media),
            ..Default::default()
        })
}

/// `len` characters drawn from `chars`, the first of them a letter so the text is never blank.
fn text_of(len: usize, chars: BoxedStrategy<char>) -> impl Strategy<Value = String> {
    prop::collection::vec(chars, len.saturating_sub(1))
        .prop_map(move |rest| std::iter::once('a').chain(rest).take(len).collect())
}

/// Lengths up to `limit`, with the limit itself drawn often.
fn up_to(limit: usize) -> impl Strategy<Value = usize> {
    prop_oneof![Just(limit), 1..=limit]
}

fn any_char() -> BoxedStrategy<char> {
    any::<char>().boxed()
}

/// Characters that Threads counts as 1 (anything but emoji, which become `x`).
fn non_emoji_char() -> BoxedStrategy<char> {
    any::<char>()
        .prop_map(|c| {
            if TextCounting::CharsEmojiBytes.count(&c.to_string()) == 1 {
                c
            } else {
                'x'
            }
        })
        .boxed()
}

proptest! {
    // 256 cases by default; `PROPTEST_CASES=20000 cargo test` searches harder.

    #[test]
    fn validation_never_panics_and_is_ok_exactly_when_nothing_is_found(
        platform in platform(),
        content in any_content(),
    ) {
        let rules = ContentRules::default();
        let found = content_violations(platform, &content, &rules);
        match validate_content(platform, &content, &rules) {
            Ok(()) => prop_assert!(found.is_empty()),
            Err(violations) => {
                prop_assert!(!violations.is_empty());
                prop_assert_eq!(&violations.into_vec(), &found);
            }
        }
        for violation in &found {
            prop_assert_eq!(violation.platform, platform);
            prop_assert!(!violation.message.is_empty());
            prop_assert_eq!(violation.field.to_string().parse::<FieldPath>(), Ok(violation.field));
        }
    }

    #[test]
    fn twitter_weighting_never_panics(text in any_text()) {
        let weighted = twitter_weighted_length(&text);
        // No character weighs more than 2, and URLs only get shorter.
        prop_assert!(weighted <= 2 * text.chars().count() + 23);
    }

    #[test]
    fn ascii_without_urls_up_to_280_is_a_valid_tweet(
        text in "[a-zA-Z][a-zA-Z0-9 ,;!?'()#@$%&*+=_-]{0,279}",
    ) {
        prop_assert_eq!(twitter_weighted_length(&text), text.len());
        prop_assert!(validate_content(Platform::Twitter, &post(&text), &ContentRules::default()).is_ok());
    }

    #[test]
    fn ascii_without_urls_over_280_is_not(
        text in "[a-zA-Z][a-zA-Z0-9 ,;!?'()#@$%&*+=_-]{280,600}",
    ) {
        let error = validate_content(Platform::Twitter, &post(&text), &ContentRules::default())
            .expect_err("too long");
        prop_assert_eq!(error.codes(), vec![RuleCode::TextTooLong]);
        let actual = format!("has {}", text.len());
        prop_assert!(error.as_slice()[0].message.contains(&actual));
    }

    #[test]
    fn any_text_within_the_character_limit_is_valid_and_one_more_is_not(
        (platform, with_image, len, text, longer) in (
            select(vec![Platform::Linkedin, Platform::Facebook, Platform::Instagram, Platform::Telegram]),
            any::<bool>(),
        )
            .prop_flat_map(|(platform, with_image)| {
                let text_rules = ContentRules::default().for_platform(platform).text.clone();
                let limit = text_rules.limit(with_image);
                (Just(platform), Just(with_image), up_to(limit))
            })
            .prop_flat_map(|(platform, with_image, len)| {
                let limit = ContentRules::default().for_platform(platform).text.limit(with_image);
                (Just(platform), Just(with_image), Just(len), text_of(len, any_char()), text_of(limit + 1, any_char()))
            }),
    ) {
        let rules = ContentRules::default();
        // Instagram requires an image either way.
        let images = usize::from(with_image || platform == Platform::Instagram);
        prop_assert_eq!(text.chars().count(), len);
        prop_assert!(content_violations(platform, &post_with_images(&text, images), &rules).is_empty());

        let found = content_violations(platform, &post_with_images(&longer, images), &rules);
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(found[0].code, RuleCode::TextTooLong);
    }

    #[test]
    fn threads_takes_500_characters_other_than_emoji_and_never_501(
        (short, long) in (up_to(500), Just(501))
            .prop_flat_map(|(short, long)| (text_of(short, non_emoji_char()), text_of(long, any_char()))),
    ) {
        let rules = ContentRules::default();
        prop_assert!(validate_content(Platform::Threads, &post(&short), &rules).is_ok());
        prop_assert!(validate_content(Platform::Threads, &post(&long), &rules).is_err());
    }

    #[test]
    fn image_checks_never_panic_and_agree_with_the_limits(
        platform in platform(),
        format in select(ImageFormat::ALL.to_vec()),
        bytes in any::<u64>(),
        width in prop_oneof![any::<u32>(), 0..5000u32],
        height in prop_oneof![any::<u32>(), 0..5000u32],
    ) {
        let rules = ContentRules::default();
        let info = ImageInfo { format, bytes, width, height };
        let found = image_violations(platform, &info, &rules, FieldPath::MediaItem(0));
        prop_assert_eq!(validate_image(platform, &info, &rules, FieldPath::MediaItem(0)).is_ok(), found.is_empty());

        let limits = &rules.for_platform(platform).image;
        let has = |code| found.iter().any(|v| v.code == code);
        prop_assert_eq!(has(RuleCode::ImageTooLarge), bytes > limits.max_bytes);
        prop_assert_eq!(has(RuleCode::ImageFormat), !limits.formats.contains(&format));
        prop_assert_eq!(
            has(RuleCode::ImageTooSmall),
            width == 0 || height == 0 || width < limits.min_width || height < limits.min_height
        );
    }

    #[test]
    fn sniffing_never_panics_on_any_bytes(
        magic in select(vec![
            &b""[..], b"\x89PNG\r\n\x1a\n", b"\xFF\xD8\xFF", b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ",
            b"RIFF\0\0\0\0WEBPVP8L", b"RIFF\0\0\0\0WEBPVP8X",
        ]),
        rest in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let data = [magic, &rest].concat();
        if let Ok(info) = ImageInfo::sniff(&data) {
            prop_assert!(info.width > 0 && info.height > 0);
            prop_assert_eq!(info.bytes, data.len() as u64);
        }
    }
}

#[test]
fn media_by_url_or_by_id_counts_the_same() {
    let stored = MediaRef::Stored {
        media_id: herald_domain::MediaId::new(),
    };
    let content = PostContent {
        media: vec![stored; 21],
        ..post("21 stored images")
    };
    let found = content_violations(Platform::Linkedin, &content, &ContentRules::default());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code, RuleCode::MediaTooMany);
}
