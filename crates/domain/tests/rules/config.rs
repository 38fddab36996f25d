//! `ContentRules` as configuration: defaults are the documented ones, and a config names only what it
//! changes.

use herald_domain::{ContentRules, ImageFormat, Platform, TextCounting, validate_content};
use serde_json::json;

use crate::post;

fn rules_from(value: serde_json::Value) -> ContentRules {
    serde_json::from_value(value).expect("valid rules")
}

#[test]
fn the_defaults_are_the_spec_numbers() {
    let rules = ContentRules::default();
    let mb = 1024 * 1024;

    let x = rules.for_platform(Platform::Twitter);
    assert_eq!(x.text.counting, TextCounting::TwitterWeighted);
    assert_eq!((x.text.max_length, x.text.max_thread_parts), (280, 25));
    assert_eq!((x.image.max_count, x.image.max_bytes), (4, 5 * mb));
    assert_eq!(
        (x.image.max_width, x.image.max_height),
        (Some(4096), Some(4096))
    );
    assert_eq!(x.image.formats, ImageFormat::ALL);

    let linkedin = rules.for_platform(Platform::Linkedin);
    assert_eq!(linkedin.text.max_length, 3000);
    assert_eq!(
        (linkedin.image.min_width, linkedin.image.min_height),
        (552, 276)
    );
    assert_eq!(
        (
            linkedin.image.min_aspect_ratio,
            linkedin.image.max_aspect_ratio
        ),
        (Some(0.8), Some(3.0))
    );

    let facebook = rules.for_platform(Platform::Facebook);
    assert_eq!(
        (facebook.text.max_length, facebook.image.max_bytes),
        (2000, 4 * mb)
    );

    let instagram = rules.for_platform(Platform::Instagram);
    assert!(instagram.image.required);
    assert_eq!(instagram.text.max_length, 2000);
    // JPEG only: a PNG is converted for Instagram (rules::plan_image).
    assert_eq!(instagram.image.formats, [ImageFormat::Jpeg]);
    assert_eq!(
        (instagram.image.max_bytes, instagram.image.min_width),
        (8 * mb, 600)
    );
    assert_eq!(
        (
            instagram.image.min_aspect_ratio,
            instagram.image.max_aspect_ratio
        ),
        (Some(0.8), Some(1.91))
    );

    let threads = rules.for_platform(Platform::Threads);
    assert_eq!(threads.text.max_length, 500);
    assert!(!threads.image.required);
    assert_eq!(threads.image.max_bytes, instagram.image.max_bytes);

    let telegram = rules.for_platform(Platform::Telegram);
    assert_eq!(
        (telegram.text.max_length, telegram.text.max_caption_length),
        (2000, Some(1024))
    );
    assert_eq!(telegram.image.max_bytes, 10 * mb);

    for platform in Platform::ALL
        .into_iter()
        .filter(|&p| p != Platform::Twitter)
    {
        let rules = rules.for_platform(platform);
        assert!(!rules.text.allows_threads(), "{platform}");
        assert_eq!(
            rules.text.counting == TextCounting::Chars,
            platform != Platform::Threads
        );
    }
}

#[test]
fn an_empty_config_is_the_defaults() {
    assert_eq!(rules_from(json!({})), ContentRules::default());
}

#[test]
fn the_defaults_round_trip_through_serialization() {
    let json = serde_json::to_value(ContentRules::default()).unwrap();
    assert_eq!(json["twitter"]["text"]["counting"], "twitter_weighted");
    assert_eq!(json["instagram"]["image"]["formats"], json!(["jpeg"]));
    assert_eq!(
        json["instagram"]["video"]["containers"],
        json!(["mp4", "mov"])
    );
    assert_eq!(rules_from(json), ContentRules::default());
}

#[test]
fn one_field_changes_and_everything_else_keeps_its_platform_default() {
    let rules = rules_from(json!({ "twitter": { "text": { "max_length": 25000 } } }));
    let defaults = ContentRules::default();

    assert_eq!(rules.twitter.text.max_length, 25_000);
    assert_eq!(rules.twitter.text.counting, TextCounting::TwitterWeighted);
    assert_eq!(rules.twitter.text.max_thread_parts, 25);
    assert_eq!(rules.twitter.image, defaults.twitter.image);
    for platform in Platform::ALL
        .into_iter()
        .filter(|&p| p != Platform::Twitter)
    {
        assert_eq!(
            rules.for_platform(platform),
            defaults.for_platform(platform)
        );
    }

    let long = post(&"a".repeat(1000));
    assert!(validate_content(Platform::Twitter, &long, &defaults).is_err());
    assert!(validate_content(Platform::Twitter, &long, &rules).is_ok());
}

#[test]
fn image_fields_and_the_x_alias_can_be_overridden() {
    let rules = rules_from(json!({
        "x": { "image": { "max_count": 2 } },
        "instagram": { "image": { "max_count": 10, "formats": ["jpg", "png", "webp"] } },
        "telegram": { "text": { "counting": "utf16", "max_caption_length": 4096 } },
        "linkedin": { "image": { "max_aspect_ratio": 4, "max_width": 8000 } },
    }));
    assert_eq!(rules.twitter.image.max_count, 2);
    assert_eq!(rules.instagram.image.max_count, 10);
    assert!(
        rules.instagram.image.required,
        "untouched fields keep their defaults"
    );
    assert_eq!(
        rules.instagram.image.formats,
        [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp]
    );
    assert_eq!(rules.telegram.text.counting, TextCounting::Utf16);
    assert_eq!(rules.telegram.text.max_caption_length, Some(4096));
    assert_eq!(rules.telegram.text.max_length, 2000);
    assert_eq!(rules.linkedin.image.max_aspect_ratio, Some(4.0));
    assert_eq!(rules.linkedin.image.min_aspect_ratio, Some(0.8));
    assert_eq!(rules.linkedin.image.max_width, Some(8000));
}

#[test]
fn a_misspelt_key_is_an_error_that_names_it() {
    for bad in [
        json!({ "twitter": { "text": { "max_lenght": 300 } } }),
        json!({ "twiter": {} }),
        json!({ "threads": { "images": {} } }),
    ] {
        let error = serde_json::from_value::<ContentRules>(bad.clone()).unwrap_err();
        assert!(
            error.to_string().contains("unknown field"),
            "{bad}: {error}"
        );
    }
    let error = serde_json::from_value::<ContentRules>(
        json!({ "twitter": { "text": { "counting": "bytes" } } }),
    )
    .unwrap_err();
    assert!(error.to_string().contains("bytes"), "{error}");
}
