//! Publishing as resumable steps.
//!
//! A publish is a short list of platform side effects: upload an image, create a container,
//! wait for processing, publish, publish the next thread part. The worker journals each step
//! (`sending`, then `done` with the remote id) *before* and *after* it runs, so a retry after a
//! crash resumes where it stopped: an uploaded image or a created container is reused, a posted
//! thread part is never posted again.
//!
//! [`crate::Platforms::plan`] turns content into the steps; [`crate::Platforms::execute`] runs
//! one, given the remote ids of the steps before it ([`PriorResults`]). Keys are stable strings
//! (`media:0`, `media:0:ready`, `container`, `container:ready`, `publish`, `part:1`): they are
//! what the journal stores, so they never change meaning.
//!
//! Only steps whose [`Step::publishes`] is true make anything visible; a lost answer on one of
//! them is an unknown outcome resolved by [`crate::Platforms::lookup`]. The others are safe to
//! run again (an orphaned upload or container is harmless).
//!
//! Waits (LinkedIn's image processing, Instagram and Threads containers) are `tokio` sleeps
//! inside their step: they hold a task, never a thread.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use herald_domain::{
    Code, ErrorClass, MediaKind, Platform, PlatformFailure, PostContent, VideoInfo,
};
use serde::Serialize;

use crate::account::Account;
use crate::rate::RateObservation;

/// A journal key: stable, human-readable, unique within one delivery.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StepKey(String);

impl StepKey {
    pub fn media(index: usize) -> Self {
        Self(format!("media:{index}"))
    }
    pub fn media_ready(index: usize) -> Self {
        Self(format!("media:{index}:ready"))
    }
    /// Carousel item `index`'s own container (Instagram, Threads).
    pub fn item(index: usize) -> Self {
        Self(format!("item:{index}"))
    }
    pub fn item_ready(index: usize) -> Self {
        Self(format!("item:{index}:ready"))
    }
    /// The first comment, published after the post.
    pub fn comment() -> Self {
        Self("comment".into())
    }
    pub fn container() -> Self {
        Self("container".into())
    }
    pub fn container_ready() -> Self {
        Self("container:ready".into())
    }
    pub fn publish() -> Self {
        Self("publish".into())
    }
    /// Thread part `n` (1-based among the replies; the first part is `publish`).
    pub fn part(n: usize) -> Self {
        if n == 0 {
            Self::publish()
        } else {
            Self(format!("part:{n}"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Which text part this step makes visible: 0 for `publish`, `n` for thread part `n`;
    /// `None` for uploads and containers, which a later attempt simply runs again.
    pub fn text_part(&self) -> Option<usize> {
        if self.0 == "publish" {
            return Some(0);
        }
        self.0.strip_prefix("part:")?.parse().ok()
    }
}

impl std::fmt::Display for StepKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for StepKey {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum StepAction {
    /// Upload media item `index`: an image (X media, LinkedIn image/asset, Facebook
    /// unpublished photo) or a video (X chunked upload, LinkedIn's Videos API, Facebook's
    /// resumable video upload).
    UploadMedia { index: usize },
    /// Wait until uploaded item `index` is usable (X processing `succeeded`, LinkedIn
    /// AVAILABLE, a Facebook video `ready`, or the legacy fixed wait).
    AwaitMedia { index: usize },
    /// Create carousel item `index`'s container (Instagram, Threads).
    CreateItem { index: usize },
    /// Poll carousel item `index`'s container until it is FINISHED.
    AwaitItem { index: usize },
    /// Create the media container (Instagram, Threads).
    CreateContainer,
    /// Poll the container until it is FINISHED.
    AwaitContainer,
    /// Make the post visible (for a thread, its first part).
    Publish,
    /// Post thread part `part` (1-based) as a reply to the part before it.
    PublishPart { part: usize },
    /// Publish the first comment under the published post (a reply on X and Threads, a
    /// comment elsewhere, a reply in a Telegram channel's discussion group). Visible, so
    /// journaled like a publish; but its failure never un-publishes the post: the worker
    /// reports it on the delivery instead.
    Comment,
}

/// One step of a publish plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub platform: Platform,
    pub key: StepKey,
    pub action: StepAction,
}

impl Step {
    pub(crate) fn new(platform: Platform, key: StepKey, action: StepAction) -> Self {
        Self {
            platform,
            key,
            action,
        }
    }

    /// Whether the step makes something visible: journal it, and resolve a lost answer by
    /// lookup rather than by running it again.
    pub fn publishes(&self) -> bool {
        matches!(
            self.action,
            StepAction::Publish | StepAction::PublishPart { .. } | StepAction::Comment
        )
    }
}

/// The first comment's step, last in every plan that has one: only when the post has a
/// first comment that is not blank.
pub(crate) fn comment_step(platform: Platform, content: &PostContent) -> Option<Step> {
    content
        .first_comment
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
        .then(|| Step::new(platform, StepKey::comment(), StepAction::Comment))
}

/// What to do when a degraded post is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackPolicy {
    /// Post text-only when the platform refuses the media (reported as degraded).
    #[default]
    Allow,
    /// Fail the delivery instead.
    Fail,
}

/// Per-request publish options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PublishOptions {
    pub fallback: FallbackPolicy,
}

/// Where a media item's bytes are: in memory (images, which are small) or in a file the
/// worker spooled (videos, up to `media.max_video_bytes`, never held in memory whole).
#[derive(Debug, Clone)]
pub enum MediaBody {
    Memory(Bytes),
    /// A file that lives as long as the run that uses it (the worker deletes it after).
    File(Arc<PathBuf>),
}

/// An image or a video the worker fetched (and validated) for this post.
#[derive(Debug, Clone)]
pub struct MediaInput {
    pub kind: MediaKind,
    /// The bytes, for platforms that take uploads (X, LinkedIn, Facebook, Telegram).
    pub body: Option<MediaBody>,
    /// The size in bytes.
    pub len: u64,
    /// A URL the platform can fetch itself (required by Instagram and Threads; used by
    /// Facebook and Telegram when there are no bytes).
    pub public_url: Option<String>,
    pub content_type: String,
    pub file_name: String,
    /// A video's facts (duration, dimensions, codecs), read from the file.
    pub video: Option<VideoInfo>,
}

impl MediaInput {
    /// An image held in memory.
    pub fn from_bytes(bytes: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        let content_type = content_type.into();
        let bytes = bytes.into();
        let extension = match content_type.as_str() {
            "image/png" => "png",
            "image/gif" => "gif",
            "image/webp" => "webp",
            _ => "jpg",
        };
        Self {
            kind: MediaKind::Image,
            len: bytes.len() as u64,
            body: Some(MediaBody::Memory(bytes)),
            public_url: None,
            content_type,
            file_name: format!("image.{extension}"),
            video: None,
        }
    }

    /// A video whose bytes are `body`.
    pub fn video(body: MediaBody, len: u64, info: VideoInfo) -> Self {
        Self {
            kind: MediaKind::Video,
            body: Some(body),
            len,
            public_url: None,
            content_type: info.container.mime_type().to_owned(),
            file_name: format!("video.{}", info.container.extension()),
            video: Some(info),
        }
    }

    /// An image the platform fetches itself.
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            kind: MediaKind::Image,
            body: None,
            len: 0,
            public_url: Some(url.into()),
            content_type: "image/jpeg".into(),
            file_name: "image.jpg".into(),
            video: None,
        }
    }

    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    pub fn is_video(&self) -> bool {
        self.kind == MediaKind::Video
    }

    /// The in-memory bytes, if the body is in memory.
    pub fn memory(&self) -> Option<&Bytes> {
        match &self.body {
            Some(MediaBody::Memory(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// The whole body (for uploads that take the file in one request: images, small videos).
    pub async fn read_all(&self) -> std::io::Result<Bytes> {
        self.read_range(0, self.len).await
    }

    /// `len` bytes from `start` (a chunk or part of an upload), clamped to the body's end.
    pub async fn read_range(&self, start: u64, len: u64) -> std::io::Result<Bytes> {
        let end = start.saturating_add(len).min(self.len);
        let start = start.min(end);
        match &self.body {
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the media item has no body (only a URL)",
            )),
            Some(MediaBody::Memory(bytes)) => {
                let (start, end) = (start as usize, (end as usize).min(bytes.len()));
                Ok(bytes.slice(start.min(end)..end))
            }
            Some(MediaBody::File(path)) => {
                use tokio::io::{AsyncReadExt, AsyncSeekExt};
                let mut file = tokio::fs::File::open(path.as_path()).await?;
                file.seek(std::io::SeekFrom::Start(start)).await?;
                let mut buffer = vec![0u8; (end - start) as usize];
                file.read_exact(&mut buffer).await?;
                Ok(Bytes::from(buffer))
            }
        }
    }
}

/// The remote ids of the steps that are done, by key (from the journal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriorResults(BTreeMap<StepKey, String>);

impl PriorResults {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: StepKey, remote_id: impl Into<String>) {
        self.0.insert(key, remote_id.into());
    }

    pub fn get(&self, key: &StepKey) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The remote id a step depends on, or a failure naming the missing step (a plan run out
    /// of order: a bug in the caller, not something a retry fixes).
    pub(crate) fn require(
        &self,
        platform: Platform,
        key: &StepKey,
    ) -> Result<&str, PlatformFailure> {
        self.get(key).ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("step `{key}` has not run yet"),
            )
            .with_herald_code(Code::StepOrder)
        })
    }
}

/// Everything a step needs besides the step itself.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    pub account: &'a Account,
    pub content: &'a herald_domain::PostContent,
    /// The post's images and videos, fetched, in the order of `content.media`.
    pub media: &'a [MediaInput],
    pub prior: &'a PriorResults,
    pub options: PublishOptions,
}

impl StepContext<'_> {
    pub(crate) fn media(&self, index: usize) -> Result<&MediaInput, PlatformFailure> {
        self.media.get(index).ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                self.account.platform,
                format!("image {index} was not provided to the step"),
            )
            .with_herald_code(Code::MediaMissing)
        })
    }

    pub(crate) fn text(&self) -> &str {
        self.content.text.as_deref().unwrap_or_default()
    }
}

/// Why a result is not exactly what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DegradedKind {
    /// Posted text-only because the platform refused the media.
    MediaDropped,
    /// Published, but the platform never named the post (a duplicate refusal after an
    /// attempt of unknown outcome, on X): no remote id, no URL.
    RemoteIdUnknown,
    /// Published, but the first comment was refused (the delivery says why).
    FirstCommentFailed,
    /// Published, but whether the first comment went up is unknown (its answer was lost);
    /// it is never sent again on doubt.
    FirstCommentUnknown,
}

impl DegradedKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            DegradedKind::MediaDropped => "media_dropped",
            DegradedKind::RemoteIdUnknown => "remote_id_unknown",
            DegradedKind::FirstCommentFailed => "first_comment_failed",
            DegradedKind::FirstCommentUnknown => "first_comment_unknown",
        }
    }
}

/// A degradation, with the platform failure that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    pub kind: DegradedKind,
    pub cause: PlatformFailure,
}

/// What a step produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// The id the step made (media id/URN, container id, post id). Waiting steps repeat the
    /// id they waited for.
    pub remote_id: String,
    /// The public URL, for publishing steps.
    pub url: Option<String>,
    pub degraded: Vec<Degraded>,
    /// What the platform's last answer said about the rate budget.
    pub rate: RateObservation,
}

impl StepOutcome {
    pub(crate) fn new(remote_id: impl Into<String>, rate: RateObservation) -> Self {
        Self {
            remote_id: remote_id.into(),
            url: None,
            degraded: Vec::new(),
            rate,
        }
    }

    pub(crate) fn with_url(mut self, url: Option<String>) -> Self {
        self.url = url;
        self
    }

    pub fn is_degraded(&self) -> bool {
        !self.degraded.is_empty()
    }
}

/// A failure for content a platform cannot take at all (caught at planning).
pub(crate) fn unpublishable(
    platform: Platform,
    message: impl Into<String>,
    hint: &str,
) -> PlatformFailure {
    PlatformFailure::new(ErrorClass::Permanent, platform, message)
        .with_herald_code(Code::Content)
        .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_key_names_the_text_part_it_publishes() {
        assert_eq!(StepKey::publish().text_part(), Some(0));
        assert_eq!(StepKey::part(0).text_part(), Some(0));
        assert_eq!(StepKey::part(3).text_part(), Some(3));
        assert_eq!(StepKey::media(0).text_part(), None);
        assert_eq!(StepKey::media_ready(1).text_part(), None);
        assert_eq!(StepKey::container().text_part(), None);
        assert_eq!(StepKey::item(2).text_part(), None);
        assert_eq!(StepKey::comment().text_part(), None);
    }
}
