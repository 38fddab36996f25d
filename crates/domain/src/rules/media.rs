//! How many media items a post may carry, of which kinds, and whether kinds mix.
//!
//! A post's media list is checked twice. At enqueue only some kinds are known: a stored
//! item's kind is in its row, a `{"url"}` item's is unknown until the worker has fetched
//! it. [`media_violations`] takes one [`MediaShape`] per item, `None` where unknown, and
//! checks what it can: the total always, the per-kind counts and the mixing rules over the
//! known items. The worker checks again with every kind known, before any platform call.

use serde::{Deserialize, Serialize};

use super::{FieldPath, PlatformRules, RuleCode, Violation, overlay};
use crate::media::MediaKind;
use crate::platform::Platform;

/// What a media item counts as: a photo, a GIF (X takes one alone), or a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaShape {
    Image,
    Gif,
    Video,
}

impl MediaShape {
    /// The shape of a file from its kind and content type.
    pub fn of(kind: MediaKind, content_type: &str) -> Self {
        match kind {
            MediaKind::Video => MediaShape::Video,
            MediaKind::Image if content_type == "image/gif" => MediaShape::Gif,
            MediaKind::Image => MediaShape::Image,
        }
    }

    fn is_video(self) -> bool {
        self == MediaShape::Video
    }
}

/// A platform's rules for the media list as a whole; the per-kind limits are
/// `image.max_count` and `video.max_count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRules {
    /// The most items of any kind in one post (a carousel's or media group's limit).
    pub max_items: usize,
    /// Whether images and videos may share a post (carousels, Telegram media groups).
    pub mixed: bool,
    /// Whether a GIF must be the post's only item (X: "1 animated GIF").
    pub gif_alone: bool,
}

/// The fields of [`MediaRules`] a config file names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct MediaRulesOverride {
    max_items: Option<usize>,
    mixed: Option<bool>,
    gif_alone: Option<bool>,
}

impl MediaRulesOverride {
    pub(super) fn apply(self, rules: &mut MediaRules) {
        overlay(&mut rules.max_items, self.max_items);
        overlay(&mut rules.mixed, self.mixed);
        overlay(&mut rules.gif_alone, self.gif_alone);
    }
}

/// Every rule of the media list `shapes` (one per item, `None` where the kind is not yet
/// known) breaks on `platform`: an item where one is required, too many items, too many of
/// one kind, kinds that do not mix.
pub fn media_violations(
    platform: Platform,
    shapes: &[Option<MediaShape>],
    rules: &super::ContentRules,
) -> Vec<Violation> {
    let mut found = Vec::new();
    check_media(platform, shapes, rules.for_platform(platform), &mut found);
    found
}

pub(super) fn check_media(
    platform: Platform,
    shapes: &[Option<MediaShape>],
    rules: &PlatformRules,
    found: &mut Vec<Violation>,
) {
    let name = platform.display_name();
    let mut push = |code, message: String| {
        found.push(Violation::new(platform, FieldPath::Media, code, message));
    };
    let count = shapes.len();
    if rules.image.required && count == 0 {
        push(
            RuleCode::MediaRequired,
            format!(
                "{name} requires an image or a video: it publishes no text-only posts; this \
                 post has none"
            ),
        );
    }
    let images = shapes.iter().flatten().filter(|s| !s.is_video()).count();
    let videos = shapes.iter().flatten().filter(|s| s.is_video()).count();
    let gifs = shapes
        .iter()
        .flatten()
        .filter(|s| **s == MediaShape::Gif)
        .count();

    let max_items = rules.media.max_items;
    if count > max_items {
        push(
            RuleCode::MediaTooMany,
            format!(
                "{name} allows at most {} per post; this post has {count}",
                plural(max_items, "media item", "media items")
            ),
        );
    } else if images > rules.image.max_count {
        push(
            RuleCode::MediaTooMany,
            format!(
                "{name} allows at most {} per post; this post has {images}",
                plural(rules.image.max_count, "image", "images")
            ),
        );
    }
    if videos > rules.video.max_count {
        let allowance = match rules.video.max_count {
            0 => "no videos".to_owned(),
            max => format!("at most {} per post", plural(max, "video", "videos")),
        };
        push(
            RuleCode::MediaTooMany,
            format!("{name} allows {allowance}; this post has {videos}"),
        );
    }
    if !rules.media.mixed && images > 0 && videos > 0 {
        push(
            RuleCode::MediaMixed,
            format!(
                "{name} does not mix images and videos in one post; this post has {} and {}",
                plural(images, "image", "images"),
                plural(videos, "video", "videos")
            ),
        );
    } else if rules.media.gif_alone && gifs > 0 && count > 1 {
        push(
            RuleCode::MediaMixed,
            format!(
                "{name} takes a GIF only on its own (1 GIF, or photos, or 1 video); this post \
                 has {} and {} other item(s)",
                plural(gifs, "GIF", "GIFs"),
                count - gifs
            ),
        );
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
