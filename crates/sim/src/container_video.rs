//! Videos Instagram and Threads fetch from a `video_url`: the download and the checks their
//! background processing applies (container, codec, duration, width, aspect ratio, frame
//! rate). Both platforms answer the container's creation at once and report a bad video only
//! later, as the container's `ERROR` status, so a check's outcome is a [`VideoProblem`] each
//! platform module turns into its own status text (Instagram's subcode in `status`, Threads'
//! `error_message`).

use std::time::Duration;

use crate::config::ContainerVideoSpec;
use crate::fetch::{self, FetchError};
use crate::video::{self, VideoInfo};

/// Why a fetched video cannot be published.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VideoProblem {
    /// Nothing answered at the URL, or it answered with an error.
    Unreachable,
    /// The download took longer than the fetch timeout.
    DownloadTimeout,
    /// More bytes than the spec's `max_bytes`.
    TooLarge,
    /// Not an MP4 or QuickTime file, or one whose metadata cannot be read.
    Unreadable,
    /// A video codec other than H.264 or HEVC.
    Codec(String),
    Duration(u64),
    Width(u32),
    Aspect(f64),
    FrameRate(f64),
}

/// The fetched video: its content type and facts, or why it is unusable.
pub(crate) async fn fetch_and_check(
    client: &reqwest::Client,
    url: &str,
    spec: &ContainerVideoSpec,
    timeout: Duration,
) -> Result<VideoInfo, VideoProblem> {
    let fetched = fetch::fetch(client, url, spec.max_bytes, timeout)
        .await
        .map_err(|e| match e {
            FetchError::Timeout => VideoProblem::DownloadTimeout,
            FetchError::TooLarge => VideoProblem::TooLarge,
            FetchError::BadUrl | FetchError::Unreachable | FetchError::Status(_) => {
                VideoProblem::Unreachable
            }
        })?;
    let info = video::probe(&fetched.bytes).map_err(|_| VideoProblem::Unreadable)?;
    check(&info, spec)?;
    Ok(info)
}

/// The first rule of `spec` the video breaks.
pub(crate) fn check(info: &VideoInfo, spec: &ContainerVideoSpec) -> Result<(), VideoProblem> {
    if !info.is_h264_or_hevc() {
        return Err(VideoProblem::Codec(info.video_codec.clone()));
    }
    if !(spec.min_duration_ms..=spec.max_duration_ms).contains(&info.duration_ms) {
        return Err(VideoProblem::Duration(info.duration_ms));
    }
    if info.width > spec.max_width {
        return Err(VideoProblem::Width(info.width));
    }
    let aspect = info.aspect_ratio();
    if !(spec.min_aspect..=spec.max_aspect).contains(&aspect) {
        return Err(VideoProblem::Aspect(aspect));
    }
    // Frame rates are measured from the samples, so 29.97 and 23.976 land a little off.
    if !(spec.min_frame_rate - 0.5..=spec.max_frame_rate + 0.5).contains(&info.frame_rate) {
        return Err(VideoProblem::FrameRate(info.frame_rate));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContainerVideoSpec {
        ContainerVideoSpec {
            min_duration_ms: 3_000,
            ..ContainerVideoSpec::default()
        }
    }

    fn probe(name: &str) -> VideoInfo {
        video::probe(&video::fixture(name)).expect("a fixture probes")
    }

    #[test]
    fn the_test_videos_meet_or_break_the_spec_as_their_names_say() {
        assert_eq!(check(&probe("portrait-720x1280-4s.mp4"), &spec()), Ok(()));
        assert_eq!(check(&probe("clip-640x360-3s.mov"), &spec()), Ok(()));
        assert_eq!(
            check(&probe("short-640x360-1s.mp4"), &spec()),
            Err(VideoProblem::Duration(
                probe("short-640x360-1s.mp4").duration_ms
            ))
        );
        assert!(matches!(
            check(&probe("long-320x240-320s.mp4"), &spec()),
            Err(VideoProblem::Duration(ms)) if ms > 300_000
        ));
        assert!(video::probe(&video::fixture("clip-640x360-3s.webm")).is_err());
    }
}
