//! Video rules: which videos a platform accepts (container, file size, duration, pixel
//! dimensions, aspect ratio, frame rate, codec, and whether the `moov` box comes first).
//!
//! The facts come from [`VideoInfo`], read from the file's own metadata when it was stored
//! or fetched, never from its name or a declared type. Nothing here prepares a video:
//! Herald does not transcode, so every violation is final and its message says what to
//! change (with the ffmpeg option where one fixes it).

use serde::{Deserialize, Serialize};

use super::image::{describe_bytes, describe_ratio};
use super::{FieldPath, MB, RuleCode, Violation, group_digits, overlay};
use crate::media::{VideoContainer, VideoInfo};
use crate::platform::Platform;

/// A platform's video rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoRules {
    /// The most videos one post may carry (0: the platform takes no videos).
    pub max_count: usize,
    /// The accepted containers.
    pub containers: Vec<VideoContainer>,
    /// The largest accepted file, in bytes (Herald's own `media.max_video_bytes` applies
    /// first).
    pub max_bytes: u64,
    /// The shortest and longest accepted duration, in milliseconds.
    pub min_duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_ms: Option<u64>,
    /// The smallest accepted width and height in pixels (0: no minimum).
    pub min_width: u32,
    pub min_height: u32,
    /// The largest accepted width and height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<u32>,
    /// Whether `max_width` x `max_height` is a box the video may fit either way round
    /// (X lists 1280x1024 and recommends 720x1280 portrait).
    #[serde(default)]
    pub max_size_either_way: bool,
    /// The accepted range of width / height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_aspect_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_aspect_ratio: Option<f64>,
    /// The accepted range of frames per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_frame_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_frame_rate: Option<f64>,
    /// The accepted video sample entries: `avc1`/`avc3` (H.264), `hvc1`/`hev1` (HEVC).
    pub codecs: Vec<String>,
    /// Whether the `moov` box must come before the media data ("fast start").
    pub moov_first: bool,
}

impl VideoRules {
    /// H.264 and HEVC, as their sample entries are named.
    pub fn h264_or_hevc() -> Vec<String> {
        ["avc1", "avc3", "hvc1", "hev1"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Rules that take any MP4 or MOV of H.264 or HEVC up to `max_mb` MB: the base each
    /// platform's defaults narrow.
    pub fn base(max_mb: u64) -> Self {
        Self {
            max_count: 1,
            containers: vec![VideoContainer::Mp4, VideoContainer::Mov],
            max_bytes: max_mb * MB,
            min_duration_ms: 0,
            max_duration_ms: None,
            min_width: 0,
            min_height: 0,
            max_width: None,
            max_height: None,
            max_size_either_way: false,
            min_aspect_ratio: None,
            max_aspect_ratio: None,
            min_frame_rate: None,
            max_frame_rate: None,
            codecs: Self::h264_or_hevc(),
            moov_first: false,
        }
    }
}

/// The fields of [`VideoRules`] a config file names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct VideoRulesOverride {
    max_count: Option<usize>,
    containers: Option<Vec<VideoContainer>>,
    max_bytes: Option<u64>,
    min_duration_ms: Option<u64>,
    max_duration_ms: Option<u64>,
    min_width: Option<u32>,
    min_height: Option<u32>,
    max_width: Option<u32>,
    max_height: Option<u32>,
    max_size_either_way: Option<bool>,
    min_aspect_ratio: Option<f64>,
    max_aspect_ratio: Option<f64>,
    min_frame_rate: Option<f64>,
    max_frame_rate: Option<f64>,
    codecs: Option<Vec<String>>,
    moov_first: Option<bool>,
}

impl VideoRulesOverride {
    pub(super) fn apply(self, rules: &mut VideoRules) {
        overlay(&mut rules.max_count, self.max_count);
        overlay(&mut rules.containers, self.containers);
        overlay(&mut rules.max_bytes, self.max_bytes);
        overlay(&mut rules.min_duration_ms, self.min_duration_ms);
        overlay(&mut rules.max_duration_ms, self.max_duration_ms.map(Some));
        overlay(&mut rules.min_width, self.min_width);
        overlay(&mut rules.min_height, self.min_height);
        overlay(&mut rules.max_width, self.max_width.map(Some));
        overlay(&mut rules.max_height, self.max_height.map(Some));
        overlay(&mut rules.max_size_either_way, self.max_size_either_way);
        overlay(&mut rules.min_aspect_ratio, self.min_aspect_ratio.map(Some));
        overlay(&mut rules.max_aspect_ratio, self.max_aspect_ratio.map(Some));
        overlay(&mut rules.min_frame_rate, self.min_frame_rate.map(Some));
        overlay(&mut rules.max_frame_rate, self.max_frame_rate.map(Some));
        overlay(&mut rules.codecs, self.codecs);
        overlay(&mut rules.moov_first, self.moov_first);
    }
}

/// Every rule of `platform` the video breaks; empty when it is acceptable. `field` is where
/// the video sits in the post (`FieldPath::MediaItem(i)`).
pub fn video_violations(
    platform: Platform,
    video: &VideoInfo,
    rules: &super::ContentRules,
    field: FieldPath,
) -> Vec<Violation> {
    let rules = &rules.for_platform(platform).video;
    let name = platform.display_name();
    let mut found = Vec::new();
    let mut push = |code, message: String| {
        found.push(Violation::new(platform, field, code, message));
    };
    let (width, height) = (video.width, video.height);

    if rules.max_count == 0 {
        push(
            RuleCode::VideoUnsupported,
            format!(
                "{name} takes no videos in Herald's configuration (rules.{platform}.video.max_count = 0)"
            ),
        );
        return found;
    }

    if !rules.containers.contains(&video.container) {
        push(
            RuleCode::VideoContainer,
            format!(
                "{name} accepts {} videos; this one is {}",
                container_list(&rules.containers),
                container_name(video.container)
            ),
        );
    }

    if !rules.codecs.contains(&video.video_codec) {
        push(
            RuleCode::VideoCodec,
            format!(
                "{name} accepts videos encoded as {}; this one is `{}` (re-encode it, e.g. \
                 ffmpeg -c:v libx264)",
                codec_list(&rules.codecs),
                video.video_codec
            ),
        );
    }

    if video.bytes > rules.max_bytes {
        push(
            RuleCode::VideoTooLarge,
            format!(
                "{name} accepts videos of up to {}; this one is {}",
                describe_bytes(rules.max_bytes),
                describe_bytes(video.bytes)
            ),
        );
    }

    if video.duration_ms < rules.min_duration_ms {
        push(
            RuleCode::VideoTooShort,
            format!(
                "{name} accepts videos of at least {}; this one is {}",
                describe_duration(rules.min_duration_ms),
                describe_duration(video.duration_ms)
            ),
        );
    }
    if let Some(max) = rules.max_duration_ms
        && video.duration_ms > max
    {
        push(
            RuleCode::VideoTooLong,
            format!(
                "{name} accepts videos of up to {}; this one is {}",
                describe_duration(max),
                describe_duration(video.duration_ms)
            ),
        );
    }

    let fits = |w: u32, h: u32| {
        rules.max_width.is_none_or(|max| w <= max) && rules.max_height.is_none_or(|max| h <= max)
    };
    let too_big = !(fits(width, height) || (rules.max_size_either_way && fits(height, width)));
    let too_small =
        width == 0 || height == 0 || width < rules.min_width || height < rules.min_height;
    if too_big || too_small {
        let side = |max: Option<u32>| max.map_or_else(|| "any".to_owned(), |max| max.to_string());
        let either = if rules.max_size_either_way {
            " (either way round)"
        } else {
            ""
        };
        push(
            RuleCode::VideoDimensions,
            format!(
                "{name} accepts videos from {}x{} up to {}x{} pixels{either}; this one is \
                 {width}x{height}",
                rules.min_width.max(1),
                rules.min_height.max(1),
                side(rules.max_width),
                side(rules.max_height),
            ),
        );
    }

    if width > 0 && height > 0 {
        let ratio = video.aspect_ratio();
        const SLACK: f64 = 1e-9;
        let below = rules
            .min_aspect_ratio
            .is_some_and(|min| ratio < min - SLACK);
        let above = rules
            .max_aspect_ratio
            .is_some_and(|max| ratio > max + SLACK);
        if below || above {
            let bound = |limit: Option<f64>| limit.map_or_else(|| "any".to_owned(), describe_ratio);
            push(
                RuleCode::VideoAspectRatio,
                format!(
                    "{name} accepts video aspect ratios (width / height) from {} to {}; this \
                     video is {width}x{height}, {}",
                    bound(rules.min_aspect_ratio),
                    bound(rules.max_aspect_ratio),
                    describe_ratio(ratio)
                ),
            );
        }
    }

    // Frame rates are measured (samples over duration): a hair of tolerance for 29.97.
    const FPS_SLACK: f64 = 0.05;
    let slow = rules
        .min_frame_rate
        .is_some_and(|min| video.frame_rate < min - FPS_SLACK);
    let fast = rules
        .max_frame_rate
        .is_some_and(|max| video.frame_rate > max + FPS_SLACK);
    if slow || fast {
        let bound = |limit: Option<f64>| limit.map_or_else(|| "any".to_owned(), describe_ratio);
        push(
            RuleCode::VideoFrameRate,
            format!(
                "{name} accepts frame rates from {} to {} fps; this video has {} fps",
                bound(rules.min_frame_rate),
                bound(rules.max_frame_rate),
                describe_ratio(video.frame_rate)
            ),
        );
    }

    if rules.moov_first && !video.moov_first {
        push(
            RuleCode::VideoMoovFirst,
            format!(
                "{name} needs the video's metadata (its `moov` box) before the media data; \
                 this one has it at the end (remux it with ffmpeg -c copy -movflags +faststart)"
            ),
        );
    }

    found
}

fn container_name(container: VideoContainer) -> &'static str {
    match container {
        VideoContainer::Mp4 => "MP4",
        VideoContainer::Mov => "MOV (QuickTime)",
    }
}

fn container_list(containers: &[VideoContainer]) -> String {
    let names: Vec<&str> = containers
        .iter()
        .map(|c| match c {
            VideoContainer::Mp4 => "MP4",
            VideoContainer::Mov => "MOV",
        })
        .collect();
    join_and(&names)
}

/// `["avc1", "avc3", "hvc1"]` as "H.264 and HEVC".
fn codec_list(codecs: &[String]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for codec in codecs {
        let name = match codec.as_str() {
            "avc1" | "avc3" => "H.264",
            "hvc1" | "hev1" => "HEVC",
            other => other,
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    join_and(&names)
}

fn join_and(names: &[&str]) -> String {
    match names {
        [] => "no".to_owned(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// 140000 ms as "140 s", 1800000 as "30 min", 500 as "0.5 s", 320042 as "320.04 s".
pub(super) fn describe_duration(ms: u64) -> String {
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{} min", group_digits(ms / 60_000))
    } else if ms.is_multiple_of(1000) {
        format!("{} s", group_digits(ms / 1000))
    } else {
        // Display only.
        let seconds = format!("{:.2}", ms as f64 / 1000.0);
        format!("{} s", seconds.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_platforms_write_them() {
        assert_eq!(describe_duration(140_000), "140 s");
        assert_eq!(describe_duration(1_800_000), "30 min");
        assert_eq!(describe_duration(500), "0.5 s");
        assert_eq!(describe_duration(320_042), "320.04 s");
        assert_eq!(codec_list(&VideoRules::h264_or_hevc()), "H.264 and HEVC");
    }
}
