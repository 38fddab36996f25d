//! Per-platform content rules: what each platform accepts as a post, checked before Herald
//! spends a request (and a slot in a rate window) on something the platform would refuse.
//!
//! Content is checked twice, by pure functions:
//!
//! - When a post is enqueued, [`validate_content`] checks what the request alone tells:
//!   that the post is not empty, the length of the text and of each thread part, whether the
//!   platform takes threads at all, how many images there are and whether an image is required.
//! - When the worker has fetched an image, [`validate_image`] checks its format, file size,
//!   pixel dimensions and aspect ratio, and [`plan_image`] says whether a prepared copy
//!   fixes what it breaks; a video is checked by [`video_violations`]. With every item's
//!   kind known, [`validate_content_with_media`] checks the media list's counts and mixing. [`inspect_image`] first reads those facts from the
//!   bytes ([`ImageInfo::sniff`], headers only, no image library). With the `decode`
//!   feature, `ImageInfo::verify` also decodes the image under pixel and memory limits, so
//!   dimensions a header claims are dimensions the data has.
//!
//! Both report **every** violation, not the first: each with the field it is about (`text`,
//! `thread[2]`, `media`, `media[1]`), a stable [`RuleCode`] (`text.too_long`) for programs and
//! a message for people that names the platform, the limit and the actual value.
//!
//! # Where the numbers come from
//!
//! [`ContentRules::default`] holds each platform's documented content limits, cross-checked
//! against what the live APIs accept. Where both are silent Herald picks a value, marked
//! *Herald* below.
//!
//! | Platform  | Text                                      | Images per post | Formats           | File  | Pixels      | Aspect (w/h)     |
//! |-----------|-------------------------------------------|-----------------|-------------------|-------|-------------|------------------|
//! | X         | 280 weighted (twitter-text v3), threads of up to 25 parts (*Herald*) | 4 | JPEG PNG GIF WebP | 5 MB | <= 4096x4096 | any |
//! | LinkedIn  | 3,000 characters                          | 20 (`multiImage`) | JPEG PNG GIF    | 5 MB  | >= 552x276  | 0.8 to 3.0       |
//! | Facebook  | 2,000 characters                          | 10 (*Herald*)   | JPEG PNG GIF WebP | 4 MB  | any         | any              |
//! | Instagram | 2,000 characters; an image or video is required | 10 (carousel) | JPEG        | 8 MB  | >= 600x600  | 0.8 (4:5) to 1.91 |
//! | Threads   | 500 characters, emoji count their UTF-8 bytes | 20 (carousel) | JPEG PNG        | 8 MB  | >= 600x600  | 0.8 to 1.91      |
//! | Telegram  | 2,000 characters; 1,024 for a photo caption | 10 (media group) | JPEG PNG GIF   | 10 MB | any         | 1:20 to 20:1     |
//!
//! Videos ([`VideoRules`]; H.264 or HEVC everywhere; *MB* as below):
//!
//! | Platform  | Per post | Containers | File    | Duration      | Pixels (w x h)              | Aspect (w/h)   | Frame rate | `moov` first |
//! |-----------|----------|------------|---------|---------------|-----------------------------|----------------|------------|--------------|
//! | X         | 1        | MP4 MOV    | 512 MB  | 0.5 s to 140 s | 32x32 to 1280x1024 (either way round) | 1:3 to 3:1 | <= 60 | no |
//! | LinkedIn  | 1        | MP4        | 500 MB  | 3 s to 30 min | any                         | 1:2.4 to 2.4:1 | any        | no           |
//! | Facebook  | 1        | MP4 MOV    | 2,048 MB | any          | any                         | any            | any        | no           |
//! | Instagram | 10 (carousel; 1 alone is a Reel) | MP4 MOV | 300 MB | 3 s to 15 min | width <= 1920 | 0.01 to 10 | 23 to 60 | yes |
//! | Threads   | 20 (carousel) | MP4 MOV | 1,024 MB | up to 300 s | width <= 1920               | 0.01 to 10     | 23 to 60   | no           |
//! | Telegram  | 10 (media group) | MP4 | 50 MB    | any           | any                         | any            | any        | no           |
//!
//! Media lists ([`MediaRules`]): X takes up to 4 photos, or 1 video, or 1 GIF, never mixed;
//! LinkedIn 1 video or 1 to 20 images; Facebook 1 video or up to 10 photos, never mixed;
//! Instagram, Threads and Telegram mix images and videos in a carousel or media group of
//! up to 10, 20 and 10 items.
//!
//! First comments ([`CommentRules`]): X 280 weighted (a reply is a post), Threads 500 with
//! its emoji rule (likewise), LinkedIn 1,250 characters, Facebook 8,000, Instagram 2,200
//! with at most 30 hashtags, Telegram 4,096 (a message).
//!
//! Notes on the choices:
//!
//! - **Images per post.** X's `media_ids` take 4; LinkedIn's `multiImage` 2 to 20 (one image
//!   is `content.media`); Instagram's carousels 2 to 10; Threads' carousels 2 to 20;
//!   Telegram's `sendMediaGroup` 2 to 10. Facebook's `attached_media` has no documented
//!   maximum (unconfirmed): Herald takes 10, like the composer.
//! - **Instagram** takes JPEG only; other formats are converted by the worker
//!   ([`plan_image`], `prepare_image` under the `decode` feature), so a PNG is accepted at enqueue and published as
//!   a JPEG copy. Threads documents JPEG and PNG, with images "similar to Instagram".
//! - **Threads counting**: Meta's Threads documentation says text is limited to 500
//!   characters and that "emojis are counted as the number of UTF-8 bytes", so a 😀 costs 4.
//! - **Telegram**: text alone is a message (Herald's default: 2,000; the API allows 4,096); text sent with
//!   an image is a caption (1,024, the API's own limit). The aspect limit is the Bot API's
//!   `sendPhoto` rule ("width and height ratio must be at most 20"). Videos: `sendVideo`
//!   takes up to 50 MB, and clients play MPEG-4, so MP4 only.
//! - **Video numbers** come from the platforms' published limits (X's media best
//!   practices, Meta's Reels and Threads specifications as copied by clients, LinkedIn's as
//!   quoted by aggregators). Where sources disagree Herald takes the lower value and makes
//!   it configurable: LinkedIn's size (500 MB vs 5 GB) and Instagram's (300 MB vs 1 GB:
//!   300 MB passes under either reading). Facebook's 2 GB is its documented upload error;
//!   Herald's own `media.max_video_bytes` (512 MB by default) caps every video first.
//! - **Instagram's `moov` first** is a refusal with the remux command, not a preparation:
//!   Herald does not rewrite videos. Threads names no such rule.
//! - **X's box** of 1280x1024 is checked either way round: X also recommends 720x1280
//!   portrait video, which the box would otherwise refuse.
//! - **Unconfirmed first-comment limits** (LinkedIn 1,250, Facebook 8,000, Instagram's 30
//!   hashtags) are configuration: `[rules.linkedin.first_comment] max_length = ...`.
//! - **MB** means 1,048,576 bytes, as X's upload errors put its limit (5,242,880 bytes);
//!   unverified for the other platforms, whose `max_bytes` can be set exactly.
//! - **X threads**: X's composer stops at 25 posts (unverified), and each part spends a post
//!   from the account's window (17 a day on the Free tier), so longer threads are refused up
//!   front.
//!
//! # How text is counted
//!
//! See [`TextCounting`]. X counts weighted characters with the official twitter-text v3
//! rules (the `twitter-text` crate, a port of Twitter's library, with two corrections
//! described at [`twitter_weighted_length`]): the text is NFC-normalized, most Latin, Greek
//! and Cyrillic characters weigh 1, CJK and other scripts 2, each emoji sequence 2, and each
//! URL 23 however long it is, with or without `https://`. The other platforms say
//! "characters" (Threads adds its emoji rule, above); Herald counts Unicode scalar values
//! (Rust `char`s) of the text as sent, because that is what a person counting characters
//! gets for almost all text, it needs no segmentation tables, and it never depends on how a
//! platform's backend encodes strings. Platforms that count UTF-16 code units (an emoji is 2
//! there) can be configured with `counting = "utf16"`.
//!
//! # Configuration
//!
//! Every number is data. [`ContentRules`] deserializes as an *overlay on the defaults*: a
//! config file names only what it changes, field by field, and everything else keeps the
//! platform's default (a plain `#[serde(default)]` could not do that for the nested
//! per-platform structs, whose defaults differ by platform). Unknown keys are errors, so a
//! misspelt limit is caught at startup instead of silently ignored:
//!
//! ```toml
//! [rules.twitter.text]
//! max_length = 25000        # X Premium accounts
//!
//! [rules.linkedin.video]
//! max_bytes = 5368709120    # 5 GB, if your LinkedIn app takes it
//! ```

mod comment;
#[cfg(feature = "decode")]
mod decode;
mod image;
mod media;
mod prepare;
mod text;
mod video;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use comment::CommentRules;
#[cfg(feature = "decode")]
pub use decode::{DecodeLimits, VerifyError};
pub use image::{
    ImageFormat, ImageInfo, ImageRules, SniffError, image_violations, inspect_image, validate_image,
};
pub use media::{MediaRules, MediaShape, media_violations};
pub use prepare::{Preparation, plan_image};
#[cfg(feature = "decode")]
pub use prepare::{PrepareError, Prepared, prepare_image};
pub use text::{TextCounting, TextRules, twitter_weighted_length};
pub use video::{VideoRules, video_violations};

use crate::content::PostContent;
use crate::media::VideoContainer;
use crate::platform::{InvalidChoice, Platform};

use comment::CommentRulesOverride;
use image::ImageRulesOverride;
use media::MediaRulesOverride;
use text::TextRulesOverride;
use video::VideoRulesOverride;

/// One megabyte as platforms mean it in their image limits: 2^20 bytes.
const MB: u64 = 1024 * 1024;

/// The content rules of every platform. `Default` is the documented values (see the module
/// documentation for the table and the sources); deserializing overlays the given fields on
/// those defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ContentRulesOverride")]
pub struct ContentRules {
    pub twitter: PlatformRules,
    pub linkedin: PlatformRules,
    pub facebook: PlatformRules,
    pub instagram: PlatformRules,
    pub threads: PlatformRules,
    pub telegram: PlatformRules,
}

/// What one platform accepts: its text, images, videos, media list and first comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformRules {
    pub text: TextRules,
    pub image: ImageRules,
    pub video: VideoRules,
    pub media: MediaRules,
    pub first_comment: CommentRules,
}

impl ContentRules {
    pub fn for_platform(&self, platform: Platform) -> &PlatformRules {
        match platform {
            Platform::Twitter => &self.twitter,
            Platform::Linkedin => &self.linkedin,
            Platform::Facebook => &self.facebook,
            Platform::Instagram => &self.instagram,
            Platform::Threads => &self.threads,
            Platform::Telegram => &self.telegram,
        }
    }

    pub fn for_platform_mut(&mut self, platform: Platform) -> &mut PlatformRules {
        match platform {
            Platform::Twitter => &mut self.twitter,
            Platform::Linkedin => &mut self.linkedin,
            Platform::Facebook => &mut self.facebook,
            Platform::Instagram => &mut self.instagram,
            Platform::Threads => &mut self.threads,
            Platform::Telegram => &mut self.telegram,
        }
    }
}

impl Default for ContentRules {
    fn default() -> Self {
        use ImageFormat::{Gif, Jpeg, Png, Webp};
        use VideoContainer::Mp4;

        let text = |counting, max_length| TextRules {
            counting,
            max_length,
            max_caption_length: None,
            max_thread_parts: 1,
        };
        let image = |formats: &[ImageFormat], max_mb: u64| ImageRules {
            required: false,
            max_count: 1,
            formats: formats.to_vec(),
            max_bytes: max_mb * MB,
            min_width: 0,
            min_height: 0,
            max_width: None,
            max_height: None,
            min_aspect_ratio: None,
            max_aspect_ratio: None,
        };
        let media = |max_items, mixed| MediaRules {
            max_items,
            mixed,
            gif_alone: false,
        };
        let comment = |counting, max_length| CommentRules {
            counting,
            max_length,
            max_hashtags: None,
        };
        // Instagram's numbers: Threads documents its images as "similar to Instagram".
        let instagram_image = ImageRules {
            min_width: 600,
            min_height: 600,
            min_aspect_ratio: Some(0.8),
            max_aspect_ratio: Some(1.91),
            max_count: 10,
            ..image(&[Jpeg], 8)
        };
        // Meta's Reels and Threads video specs share everything but duration and size.
        let meta_video = |max_mb, max_duration_ms| VideoRules {
            max_duration_ms: Some(max_duration_ms),
            max_width: Some(1920),
            min_aspect_ratio: Some(0.01),
            max_aspect_ratio: Some(10.0),
            min_frame_rate: Some(23.0),
            max_frame_rate: Some(60.0),
            ..VideoRules::base(max_mb)
        };

        Self {
            twitter: PlatformRules {
                text: TextRules {
                    max_thread_parts: 25,
                    ..text(TextCounting::TwitterWeighted, 280)
                },
                image: ImageRules {
                    max_count: 4,
                    max_width: Some(4096),
                    max_height: Some(4096),
                    ..image(&[Jpeg, Png, Gif, Webp], 5)
                },
                video: VideoRules {
                    min_duration_ms: 500,
                    max_duration_ms: Some(140_000),
                    min_width: 32,
                    min_height: 32,
                    max_width: Some(1280),
                    max_height: Some(1024),
                    max_size_either_way: true,
                    min_aspect_ratio: Some(1.0 / 3.0),
                    max_aspect_ratio: Some(3.0),
                    max_frame_rate: Some(60.0),
                    ..VideoRules::base(512)
                },
                media: MediaRules {
                    gif_alone: true,
                    ..media(4, false)
                },
                first_comment: comment(TextCounting::TwitterWeighted, 280),
            },
            linkedin: PlatformRules {
                text: text(TextCounting::Chars, 3000),
                image: ImageRules {
                    max_count: 20,
                    min_width: 552,
                    min_height: 276,
                    min_aspect_ratio: Some(0.8),
                    max_aspect_ratio: Some(3.0),
                    ..image(&[Jpeg, Png, Gif], 5)
                },
                video: VideoRules {
                    containers: vec![Mp4],
                    min_duration_ms: 3_000,
                    max_duration_ms: Some(30 * 60_000),
                    min_aspect_ratio: Some(1.0 / 2.4),
                    max_aspect_ratio: Some(2.4),
                    ..VideoRules::base(500)
                },
                media: media(20, false),
                first_comment: comment(TextCounting::Chars, 1250),
            },
            facebook: PlatformRules {
                text: text(TextCounting::Chars, 2000),
                image: ImageRules {
                    max_count: 10,
                    ..image(&[Jpeg, Png, Gif, Webp], 4)
                },
                video: VideoRules::base(2048),
                media: media(10, false),
                first_comment: comment(TextCounting::Chars, 8000),
            },
            instagram: PlatformRules {
                text: text(TextCounting::Chars, 2000),
                image: ImageRules {
                    required: true,
                    ..instagram_image.clone()
                },
                video: VideoRules {
                    max_count: 10,
                    min_duration_ms: 3_000,
                    moov_first: true,
                    ..meta_video(300, 15 * 60_000)
                },
                media: media(10, true),
                first_comment: CommentRules {
                    max_hashtags: Some(30),
                    ..comment(TextCounting::Chars, 2200)
                },
            },
            threads: PlatformRules {
                text: text(TextCounting::CharsEmojiBytes, 500),
                image: ImageRules {
                    max_count: 20,
                    formats: vec![Jpeg, Png],
                    ..instagram_image
                },
                video: VideoRules {
                    max_count: 20,
                    ..meta_video(1024, 300_000)
                },
                media: media(20, true),
                first_comment: comment(TextCounting::CharsEmojiBytes, 500),
            },
            telegram: PlatformRules {
                text: TextRules {
                    max_caption_length: Some(1024),
                    ..text(TextCounting::Chars, 2000)
                },
                image: ImageRules {
                    max_count: 10,
                    min_aspect_ratio: Some(1.0 / 20.0),
                    max_aspect_ratio: Some(20.0),
                    ..image(&[Jpeg, Png, Gif], 10)
                },
                video: VideoRules {
                    max_count: 10,
                    containers: vec![Mp4],
                    ..VideoRules::base(50)
                },
                media: media(10, true),
                first_comment: comment(TextCounting::Chars, 4096),
            },
        }
    }
}

/// The deserialized form of [`ContentRules`]: only the fields a config file names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ContentRulesOverride {
    #[serde(alias = "x")]
    twitter: PlatformRulesOverride,
    linkedin: PlatformRulesOverride,
    facebook: PlatformRulesOverride,
    instagram: PlatformRulesOverride,
    threads: PlatformRulesOverride,
    telegram: PlatformRulesOverride,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PlatformRulesOverride {
    text: TextRulesOverride,
    image: ImageRulesOverride,
    video: VideoRulesOverride,
    media: MediaRulesOverride,
    first_comment: CommentRulesOverride,
}

/// One field of an overlay: a value the config file names replaces the default; an absent
/// one leaves it. An optional limit is overlaid with `value.map(Some)`, so naming it sets it.
fn overlay<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

impl PlatformRulesOverride {
    fn apply(self, rules: &mut PlatformRules) {
        self.text.apply(&mut rules.text);
        self.image.apply(&mut rules.image);
        self.video.apply(&mut rules.video);
        self.media.apply(&mut rules.media);
        self.first_comment.apply(&mut rules.first_comment);
    }
}

impl From<ContentRulesOverride> for ContentRules {
    fn from(overrides: ContentRulesOverride) -> Self {
        let mut rules = ContentRules::default();
        overrides.twitter.apply(&mut rules.twitter);
        overrides.linkedin.apply(&mut rules.linkedin);
        overrides.facebook.apply(&mut rules.facebook);
        overrides.instagram.apply(&mut rules.instagram);
        overrides.threads.apply(&mut rules.threads);
        overrides.telegram.apply(&mut rules.telegram);
        rules
    }
}

/// Checks a post's content against a platform's rules: emptiness, text length per part,
/// threads, the number of media items, whether one is required, and the first comment. The
/// kinds of the media items are not known here; [`validate_content_with_media`] checks them
/// too once they are. The items themselves are checked by [`validate_image`] and
/// [`video_violations`] once their facts are known.
pub fn validate_content(
    platform: Platform,
    content: &PostContent,
    rules: &ContentRules,
) -> Result<(), Violations> {
    Violations::result(content_violations(platform, content, rules))
}

/// [`validate_content`] with what is known of each media item's kind (one entry per item of
/// `content.media`, `None` where unknown): the per-kind counts and the mixing rules too.
pub fn validate_content_with_media(
    platform: Platform,
    content: &PostContent,
    shapes: &[Option<MediaShape>],
    rules: &ContentRules,
) -> Result<(), Violations> {
    Violations::result(content_violations_with_media(
        platform, content, shapes, rules,
    ))
}

/// Every violation [`validate_content`] would report, in field order; empty when the content
/// is acceptable.
pub fn content_violations(
    platform: Platform,
    content: &PostContent,
    rules: &ContentRules,
) -> Vec<Violation> {
    let unknown = vec![None; content.media.len()];
    content_violations_with_media(platform, content, &unknown, rules)
}

/// Every violation [`validate_content_with_media`] would report, in field order.
pub fn content_violations_with_media(
    platform: Platform,
    content: &PostContent,
    shapes: &[Option<MediaShape>],
    rules: &ContentRules,
) -> Vec<Violation> {
    let rules = rules.for_platform(platform);
    let mut found = Vec::new();
    text::check_text(platform, content, rules, &mut found);
    // One shape per item: missing entries are unknown kinds.
    let mut shapes = shapes.to_vec();
    shapes.resize(content.media.len(), None);
    media::check_media(platform, &shapes, rules, &mut found);
    comment::check_comment(platform, content, &rules.first_comment, &mut found);
    found
}

/// Which part of the content a violation is about. Written as `text`, `thread`,
/// `thread[2]` (the third entry of `PostContent::thread`), `media` or `media[1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldPath {
    /// The text (the first part of a thread).
    Text,
    /// The thread as a whole.
    Thread,
    /// One further thread part, by its index in `PostContent::thread`.
    ThreadPart(usize),
    /// The media list as a whole.
    Media,
    /// One image or video, by its index in `PostContent::media`.
    MediaItem(usize),
    /// The first comment.
    FirstComment,
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Text => f.write_str("text"),
            FieldPath::Thread => f.write_str("thread"),
            FieldPath::ThreadPart(index) => write!(f, "thread[{index}]"),
            FieldPath::Media => f.write_str("media"),
            FieldPath::MediaItem(index) => write!(f, "media[{index}]"),
            FieldPath::FirstComment => f.write_str("first_comment"),
        }
    }
}

impl FromStr for FieldPath {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let indexed = |prefix: &str| {
            s.strip_prefix(prefix)?
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<usize>()
                .ok()
        };
        match s {
            "text" => Ok(FieldPath::Text),
            "thread" => Ok(FieldPath::Thread),
            "media" => Ok(FieldPath::Media),
            "first_comment" => Ok(FieldPath::FirstComment),
            _ => indexed("thread")
                .map(FieldPath::ThreadPart)
                .or_else(|| indexed("media").map(FieldPath::MediaItem))
                .ok_or_else(|| {
                    InvalidChoice::new(
                        "field path",
                        s,
                        "text, thread, thread[N], media, media[N], first_comment",
                    )
                }),
        }
    }
}

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A stable, machine-readable name for each rule. The strings are part of Herald's API
/// (problem+json `code`s and stored delivery errors): add new ones, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleCode {
    /// No text where text is needed: an empty post, an empty first or further thread part.
    #[serde(rename = "text.required")]
    TextRequired,
    /// Text longer than the platform's limit for a post, thread part or caption.
    #[serde(rename = "text.too_long")]
    TextTooLong,
    /// Thread parts for a platform that has no threads.
    #[serde(rename = "thread.unsupported")]
    ThreadUnsupported,
    /// More thread parts than allowed.
    #[serde(rename = "thread.too_many_parts")]
    ThreadTooManyParts,
    /// No image for a platform that requires one (Instagram).
    #[serde(rename = "media.required")]
    MediaRequired,
    /// More images than the platform takes in one post.
    #[serde(rename = "media.too_many")]
    MediaTooMany,
    /// An image format the platform does not accept (or not an image Herald can recognise).
    #[serde(rename = "image.format")]
    ImageFormat,
    /// An image file larger than the platform accepts.
    #[serde(rename = "image.too_large")]
    ImageTooLarge,
    /// An image with fewer pixels than the platform's minimum width or height.
    #[serde(rename = "image.too_small")]
    ImageTooSmall,
    /// An image with more pixels than the platform's maximum width or height.
    #[serde(rename = "image.dimensions_too_large")]
    ImageDimensionsTooLarge,
    /// An image whose width/height ratio is outside the platform's range.
    #[serde(rename = "image.aspect_ratio")]
    ImageAspectRatio,
    /// A recognised format whose header is truncated or malformed.
    #[serde(rename = "image.unreadable")]
    ImageUnreadable,
    /// An image with more pixels than Herald decodes (`media.max_pixels`), or one that would
    /// take more memory to decode than that allows.
    #[serde(rename = "image.too_many_pixels")]
    ImageTooManyPixels,
    /// A readable header over image data that does not decode: truncated or corrupt.
    #[serde(rename = "image.corrupt")]
    ImageCorrupt,
    /// Kinds of media a platform does not take together in one post (images and videos on X, LinkedIn and Facebook; a GIF with anything on X).
    #[serde(rename = "media.mixed")]
    MediaMixed,
    /// A video for a platform configured to take none.
    #[serde(rename = "video.unsupported")]
    VideoUnsupported,
    /// A video container the platform does not accept (or a file that is not an MP4 or MOV video).
    #[serde(rename = "video.container")]
    VideoContainer,
    /// A video codec the platform does not accept (H.264 and HEVC are).
    #[serde(rename = "video.codec")]
    VideoCodec,
    /// A video file larger than the platform accepts.
    #[serde(rename = "video.too_large")]
    VideoTooLarge,
    /// A video shorter than the platform's minimum duration.
    #[serde(rename = "video.too_short")]
    VideoTooShort,
    /// A video longer than the platform's maximum duration.
    #[serde(rename = "video.too_long")]
    VideoTooLong,
    /// A video whose width or height is outside the platform's range.
    #[serde(rename = "video.dimensions")]
    VideoDimensions,
    /// A video whose width/height ratio is outside the platform's range.
    #[serde(rename = "video.aspect_ratio")]
    VideoAspectRatio,
    /// A video whose frame rate is outside the platform's range.
    #[serde(rename = "video.frame_rate")]
    VideoFrameRate,
    /// A video whose `moov` box comes after its media data, for a platform that needs it first (Instagram).
    #[serde(rename = "video.moov_first")]
    VideoMoovFirst,
    /// A file that is not a video Herald can read (no MP4 or QuickTime metadata, no video track).
    #[serde(rename = "video.unreadable")]
    VideoUnreadable,
    /// A `first_comment` with no text.
    #[serde(rename = "first_comment.empty")]
    FirstCommentEmpty,
    /// A `first_comment` longer than the platform allows in a comment or reply.
    #[serde(rename = "first_comment.too_long")]
    FirstCommentTooLong,
    /// A `first_comment` with more hashtags than the platform allows (Instagram: 30).
    #[serde(rename = "first_comment.too_many_hashtags")]
    FirstCommentTooManyHashtags,
}

impl RuleCode {
    pub const ALL: [RuleCode; 29] = [
        RuleCode::TextRequired,
        RuleCode::TextTooLong,
        RuleCode::ThreadUnsupported,
        RuleCode::ThreadTooManyParts,
        RuleCode::MediaRequired,
        RuleCode::MediaTooMany,
        RuleCode::ImageFormat,
        RuleCode::ImageTooLarge,
        RuleCode::ImageTooSmall,
        RuleCode::ImageDimensionsTooLarge,
        RuleCode::ImageAspectRatio,
        RuleCode::ImageUnreadable,
        RuleCode::ImageTooManyPixels,
        RuleCode::ImageCorrupt,
        RuleCode::MediaMixed,
        RuleCode::VideoUnsupported,
        RuleCode::VideoContainer,
        RuleCode::VideoCodec,
        RuleCode::VideoTooLarge,
        RuleCode::VideoTooShort,
        RuleCode::VideoTooLong,
        RuleCode::VideoDimensions,
        RuleCode::VideoAspectRatio,
        RuleCode::VideoFrameRate,
        RuleCode::VideoMoovFirst,
        RuleCode::VideoUnreadable,
        RuleCode::FirstCommentEmpty,
        RuleCode::FirstCommentTooLong,
        RuleCode::FirstCommentTooManyHashtags,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RuleCode::TextRequired => "text.required",
            RuleCode::TextTooLong => "text.too_long",
            RuleCode::ThreadUnsupported => "thread.unsupported",
            RuleCode::ThreadTooManyParts => "thread.too_many_parts",
            RuleCode::MediaRequired => "media.required",
            RuleCode::MediaTooMany => "media.too_many",
            RuleCode::ImageFormat => "image.format",
            RuleCode::ImageTooLarge => "image.too_large",
            RuleCode::ImageTooSmall => "image.too_small",
            RuleCode::ImageDimensionsTooLarge => "image.dimensions_too_large",
            RuleCode::ImageAspectRatio => "image.aspect_ratio",
            RuleCode::ImageUnreadable => "image.unreadable",
            RuleCode::ImageTooManyPixels => "image.too_many_pixels",
            RuleCode::ImageCorrupt => "image.corrupt",
            RuleCode::MediaMixed => "media.mixed",
            RuleCode::VideoUnsupported => "video.unsupported",
            RuleCode::VideoContainer => "video.container",
            RuleCode::VideoCodec => "video.codec",
            RuleCode::VideoTooLarge => "video.too_large",
            RuleCode::VideoTooShort => "video.too_short",
            RuleCode::VideoTooLong => "video.too_long",
            RuleCode::VideoDimensions => "video.dimensions",
            RuleCode::VideoAspectRatio => "video.aspect_ratio",
            RuleCode::VideoFrameRate => "video.frame_rate",
            RuleCode::VideoMoovFirst => "video.moov_first",
            RuleCode::VideoUnreadable => "video.unreadable",
            RuleCode::FirstCommentEmpty => "first_comment.empty",
            RuleCode::FirstCommentTooLong => "first_comment.too_long",
            RuleCode::FirstCommentTooManyHashtags => "first_comment.too_many_hashtags",
        }
    }
}

impl fmt::Display for RuleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule: where, which rule, and a sentence for people that names the limit and the
/// actual value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub platform: Platform,
    pub field: FieldPath,
    pub code: RuleCode,
    pub message: String,
}

impl Violation {
    pub fn new(
        platform: Platform,
        field: FieldPath,
        code: RuleCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            platform,
            field,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

/// Every violation found, in the order the fields were checked. Returned by the `validate_*`
/// functions only when there is at least one; it can also collect violations across
/// platforms (`Extend`, `FromIterator`) for one answer to a producer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// `Ok` when `found` is empty, otherwise all of them as the error.
    pub fn result(found: Vec<Violation>) -> Result<(), Violations> {
        if found.is_empty() {
            Ok(())
        } else {
            Err(Violations(found))
        }
    }

    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// The rule codes, in order: handy for tests and for metrics labels.
    pub fn codes(&self) -> Vec<RuleCode> {
        self.0.iter().map(|violation| violation.code).collect()
    }
}

impl From<Vec<Violation>> for Violations {
    fn from(found: Vec<Violation>) -> Self {
        Violations(found)
    }
}

impl FromIterator<Violation> for Violations {
    fn from_iter<I: IntoIterator<Item = Violation>>(iter: I) -> Self {
        Violations(iter.into_iter().collect())
    }
}

impl Extend<Violation> for Violations {
    fn extend<I: IntoIterator<Item = Violation>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("no content rule violations"),
            [only] => write!(f, "{only}"),
            all => {
                write!(f, "{} content rule violations: ", all.len())?;
                for (index, violation) in all.iter().enumerate() {
                    if index > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{violation}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Violations {}

/// `1234567` as `1,234,567`: limits in messages read the way the platforms write them.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `usize` to `u64` for messages; lossless on every platform Rust supports.
fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_in_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(5_242_880), "5,242,880");
    }

    #[test]
    fn field_paths_round_trip_through_text() {
        for path in [
            FieldPath::Text,
            FieldPath::Thread,
            FieldPath::ThreadPart(2),
            FieldPath::Media,
            FieldPath::MediaItem(10),
        ] {
            assert_eq!(path.to_string().parse::<FieldPath>(), Ok(path));
        }
        assert!("thread[x]".parse::<FieldPath>().is_err());
        assert!("media[1".parse::<FieldPath>().is_err());
    }

    #[test]
    fn rule_codes_serialize_as_their_stable_names() {
        for code in RuleCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<RuleCode>(&json).unwrap(), code);
        }
    }
}
