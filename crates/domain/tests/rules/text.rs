//! Text rules per platform, and the facts each message states.

use herald_domain::{
    ContentRules, FieldPath, Platform, PostContent, RuleCode, twitter_weighted_length,
    validate_content,
};

use crate::{assert_mentions, fields_and_codes, only, post, post_with_images, violations};

const URL: &str = "https://example.com/a/path/that/is/much/longer/than/twenty/three/characters";

#[test]
fn twitter_weighting_follows_twitter_text_v3() {
    assert_eq!(twitter_weighted_length("hello"), 5);
    assert_eq!(
        twitter_weighted_length("héllo wörld"),
        11,
        "Latin-1 weighs 1"
    );
    assert_eq!(twitter_weighted_length("Привет"), 6, "Cyrillic weighs 1");
    assert_eq!(twitter_weighted_length(URL), 23, "a URL weighs 23");
    assert_eq!(
        twitter_weighted_length("see example.com"),
        4 + 23,
        "even without a scheme"
    );
    assert_eq!(twitter_weighted_length("日本語"), 6, "CJK weighs 2");
    assert_eq!(twitter_weighted_length("한국어"), 6, "Hangul weighs 2");
    assert_eq!(twitter_weighted_length("😀"), 2, "an emoji weighs 2");
    assert_eq!(
        twitter_weighted_length("👨\u{200D}👩\u{200D}👧\u{200D}👦"),
        2,
        "a ZWJ sequence is one emoji"
    );
    assert_eq!(twitter_weighted_length("🇫🇷"), 2, "a flag is one emoji");
    assert_eq!(
        twitter_weighted_length("e\u{301}"),
        1,
        "text is NFC-normalized first: e + combining acute is é"
    );
    assert_eq!(twitter_weighted_length(""), 0);
}

#[test]
fn x_accepts_280_weighted_characters_and_says_how_it_counted_291() {
    assert!(
        validate_content(
            Platform::Twitter,
            &post(&"a".repeat(280)),
            &ContentRules::default()
        )
        .is_ok()
    );

    // 267 + 1 + 23 for the URL = 291, though it is 344 characters long.
    let text = format!("{} {URL}", "a".repeat(267));
    assert_eq!(twitter_weighted_length(&text), 291);
    let violation = only(violations(Platform::Twitter, &post(&text)));
    assert_eq!(violation.field, FieldPath::Text);
    assert_eq!(violation.code, RuleCode::TextTooLong);
    assert_eq!(
        violation.message,
        "X (Twitter) allows 280 weighted characters per post; this post has 291 \
         (URLs count 23, emoji and CJK 2)"
    );
}

#[test]
fn x_counts_a_long_url_as_23_so_a_long_post_with_a_link_fits() {
    let text = format!("{} {URL}", "a".repeat(250));
    assert!(text.chars().count() > 280);
    assert!(violations(Platform::Twitter, &post(&text)).is_empty());
}

#[test]
fn x_counts_cjk_and_emoji_double() {
    assert!(violations(Platform::Twitter, &post(&"語".repeat(140))).is_empty());
    let cjk = only(violations(Platform::Twitter, &post(&"語".repeat(141))));
    assert_mentions(&cjk.message, &["280", "282", "CJK 2"]);

    assert!(violations(Platform::Twitter, &post(&"😀".repeat(140))).is_empty());
    let emoji = only(violations(Platform::Twitter, &post(&"😀".repeat(141))));
    assert_mentions(&emoji.message, &["280", "282", "emoji"]);
}

#[test]
fn x_checks_every_thread_part_on_its_own() {
    let content = PostContent {
        thread: vec!["second".into(), "third".into(), "b".repeat(291)],
        ..post(&"a".repeat(280))
    };
    let violation = only(violations(Platform::Twitter, &content));
    assert_eq!(violation.field, FieldPath::ThreadPart(2));
    assert_eq!(violation.field.to_string(), "thread[2]");
    assert_eq!(violation.code, RuleCode::TextTooLong);
    assert_mentions(
        &violation.message,
        &["280 weighted characters", "this part has 291"],
    );
}

#[test]
fn x_threads_need_a_first_part_and_no_empty_parts() {
    let content = PostContent {
        text: None,
        thread: vec!["second".into(), "  \n".into()],
        media: vec![],
        ..Default::default()
    };
    assert_eq!(
        fields_and_codes(&violations(Platform::Twitter, &content)),
        vec![
            ("text".to_owned(), "text.required"),
            ("thread[1]".to_owned(), "text.required"),
        ]
    );
}

#[test]
fn x_threads_stop_at_25_parts() {
    let mut content = post("first");
    content.thread = vec!["more".to_owned(); 24];
    assert!(violations(Platform::Twitter, &content).is_empty());

    content.thread.push("one too many".to_owned());
    let violation = only(violations(Platform::Twitter, &content));
    assert_eq!(violation.field, FieldPath::Thread);
    assert_eq!(violation.code, RuleCode::ThreadTooManyParts);
    assert_mentions(&violation.message, &["at most 25 parts", "has 26"]);
}

#[test]
fn x_takes_four_images_and_not_five() {
    assert!(violations(Platform::Twitter, &post_with_images("hi", 4)).is_empty());
    assert!(
        violations(Platform::Twitter, &post_with_images("", 4)).is_empty(),
        "images alone are a post"
    );
    let violation = only(violations(Platform::Twitter, &post_with_images("hi", 5)));
    assert_eq!(violation.field, FieldPath::Media);
    assert_eq!(violation.code, RuleCode::MediaTooMany);
    assert_eq!(
        violation.message,
        "X (Twitter) allows at most 4 media items per post; this post has 5"
    );
}

#[test]
fn linkedin_allows_3000_characters_and_says_so_at_3001() {
    assert!(violations(Platform::Linkedin, &post(&"a".repeat(3000))).is_empty());
    let violation = only(violations(Platform::Linkedin, &post(&"a".repeat(3001))));
    assert_eq!(violation.code, RuleCode::TextTooLong);
    assert_eq!(
        violation.message,
        "LinkedIn allows 3,000 characters per post; this post has 3,001"
    );
}

#[test]
fn other_platforms_count_characters_not_bytes_or_weights() {
    // 3,000 two-byte, double-weight characters: too long for X's weighting, fine by LinkedIn.
    assert!(violations(Platform::Linkedin, &post(&"語".repeat(3000))).is_empty());
    assert!(violations(Platform::Facebook, &post(&"😀".repeat(2000))).is_empty());
    assert!(!violations(Platform::Facebook, &post(&"😀".repeat(2001))).is_empty());
}

#[test]
fn facebook_allows_2000_characters() {
    assert!(violations(Platform::Facebook, &post(&"a".repeat(2000))).is_empty());
    let violation = only(violations(Platform::Facebook, &post(&"a".repeat(2001))));
    assert_mentions(
        &violation.message,
        &["Facebook", "2,000 characters", "2,001"],
    );
}

#[test]
fn instagram_requires_an_image() {
    let violation = only(violations(
        Platform::Instagram,
        &post("a caption and nothing else"),
    ));
    assert_eq!(violation.field, FieldPath::Media);
    assert_eq!(violation.code, RuleCode::MediaRequired);
    assert_mentions(
        &violation.message,
        &["Instagram requires an image", "text-only"],
    );

    assert!(violations(Platform::Instagram, &post_with_images("", 1)).is_empty());
    assert!(violations(Platform::Instagram, &post_with_images("caption", 1)).is_empty());
}

#[test]
fn instagram_captions_stop_at_2000_and_carousels_at_10_items() {
    assert!(violations(Platform::Instagram, &post_with_images(&"a".repeat(2000), 1)).is_empty());
    assert!(violations(Platform::Instagram, &post_with_images("carousel", 10)).is_empty());
    assert_eq!(
        fields_and_codes(&violations(
            Platform::Instagram,
            &post_with_images(&"a".repeat(2001), 11)
        )),
        vec![
            ("text".to_owned(), "text.too_long"),
            ("media".to_owned(), "media.too_many"),
        ]
    );
}

#[test]
fn threads_allows_500_characters_counting_emoji_by_their_utf8_bytes() {
    assert!(violations(Platform::Threads, &post(&"a".repeat(500))).is_empty());
    assert!(violations(Platform::Threads, &post(&"é".repeat(500))).is_empty());
    let letters = only(violations(Platform::Threads, &post(&"a".repeat(501))));
    assert_mentions(
        &letters.message,
        &["Threads allows 500 characters", "has 501"],
    );

    // 125 emoji of 4 bytes each are exactly 500.
    assert!(violations(Platform::Threads, &post(&"😀".repeat(125))).is_empty());
    let emoji = only(violations(Platform::Threads, &post(&"😀".repeat(126))));
    assert_mentions(&emoji.message, &["500", "504", "UTF-8 bytes"]);
}

#[test]
fn telegram_allows_2000_for_a_message_and_1024_for_a_caption() {
    assert!(violations(Platform::Telegram, &post(&"a".repeat(2000))).is_empty());
    let message = only(violations(Platform::Telegram, &post(&"a".repeat(2001))));
    assert_mentions(
        &message.message,
        &["Telegram allows 2,000 characters per post", "2,001"],
    );

    assert!(violations(Platform::Telegram, &post_with_images(&"a".repeat(1024), 1)).is_empty());
    let caption = only(violations(
        Platform::Telegram,
        &post_with_images(&"a".repeat(1025), 1),
    ));
    assert_eq!(caption.field, FieldPath::Text);
    assert_eq!(
        caption.message,
        "Telegram allows 1,024 characters in a caption (text sent with an image); \
         this caption has 1,025"
    );
}

#[test]
fn only_x_takes_threads() {
    for platform in Platform::ALL
        .into_iter()
        .filter(|&p| p != Platform::Twitter)
    {
        let content = PostContent {
            thread: vec!["second".into(), "third".into()],
            ..post_with_images("first", 1)
        };
        let violation = only(violations(platform, &content));
        assert_eq!(violation.field, FieldPath::Thread, "{platform}");
        assert_eq!(violation.code, RuleCode::ThreadUnsupported, "{platform}");
        assert_mentions(
            &violation.message,
            &[platform.display_name(), "no threads", "2 further"],
        );
    }
}

#[test]
fn each_platform_takes_its_own_number_of_media_items() {
    for (platform, max) in [
        (Platform::Twitter, 4),
        (Platform::Linkedin, 20),
        (Platform::Facebook, 10),
        (Platform::Instagram, 10),
        (Platform::Threads, 20),
        (Platform::Telegram, 10),
    ] {
        assert!(
            violations(platform, &post_with_images("hi", max)).is_empty(),
            "{platform}"
        );
        let violation = only(violations(platform, &post_with_images("hi", max + 1)));
        assert_eq!(violation.code, RuleCode::MediaTooMany, "{platform}");
        assert_mentions(
            &violation.message,
            &[
                &format!("at most {max} media items per post"),
                &format!("has {}", max + 1),
            ],
        );
    }
}

#[test]
fn an_empty_post_is_refused_everywhere() {
    let blank = [PostContent::default(), post(""), post(" \t\n ")];
    for platform in Platform::ALL {
        for content in &blank {
            let found = violations(platform, content);
            let expected = if platform == Platform::Instagram {
                ("media".to_owned(), "media.required")
            } else {
                ("text".to_owned(), "text.required")
            };
            assert_eq!(
                fields_and_codes(&found),
                vec![expected],
                "{platform} {content:?}"
            );
        }
    }
    let violation = only(violations(Platform::Linkedin, &PostContent::default()));
    assert_eq!(
        violation.message,
        "LinkedIn needs text or an image; this post has neither text nor images"
    );
}

#[test]
fn every_violation_is_reported_at_once_in_field_order() {
    let content = PostContent {
        thread: vec!["fine".into(), "".into(), "c".repeat(300)],
        ..post_with_images(&"a".repeat(300), 5)
    };
    let found = violations(Platform::Twitter, &content);
    assert_eq!(
        fields_and_codes(&found),
        vec![
            ("text".to_owned(), "text.too_long"),
            ("thread[1]".to_owned(), "text.required"),
            ("thread[2]".to_owned(), "text.too_long"),
            ("media".to_owned(), "media.too_many"),
        ]
    );

    let error = validate_content(Platform::Twitter, &content, &ContentRules::default())
        .expect_err("four violations");
    assert_eq!(error.len(), 4);
    assert_eq!(error.into_vec(), found);
}

#[test]
fn violations_read_as_sentences_and_serialize_with_stable_names() {
    let error = validate_content(
        Platform::Linkedin,
        &PostContent {
            thread: vec!["x".into()],
            ..post_with_images("hello", 21)
        },
        &ContentRules::default(),
    )
    .expect_err("two violations");
    assert_eq!(
        error.to_string(),
        "2 content rule violations: thread: LinkedIn has no threads: publish the text as one \
         post; this post has 1 further thread part(s) (thread.unsupported); media: LinkedIn \
         allows at most 20 media items per post; this post has 21 (media.too_many)"
    );

    let json = serde_json::to_value(&error).unwrap();
    assert_eq!(json[0]["platform"], "linkedin");
    assert_eq!(json[0]["field"], "thread");
    assert_eq!(json[0]["code"], "thread.unsupported");
    assert_eq!(json[1]["code"], "media.too_many");
    let back: herald_domain::Violations = serde_json::from_value(json).unwrap();
    assert_eq!(back, error);
}
