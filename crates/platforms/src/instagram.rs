//! Instagram Business through the Graph API: container, processing, publish.
//!
//! - Connect: Facebook Login with the Instagram scopes (`graph.rs`); the Instagram business
//!   accounts are the `instagram_business_account`s of the user's Pages. None is a failure
//!   with a hint (Business/Creator account, linked to a Page, admin of both).
//! - Publish: an image or a video is required, and Instagram fetches it itself, so it needs a
//!   public URL (Herald's signed media URL). `container` creates the media container
//!   (`POST /{ig}/media {image_url, caption}`, or for a video a Reel: `{media_type: REELS,
//!   video_url, caption, share_to_feed}`, since single feed videos are Reels),
//!   `container:ready` polls `status_code,status` until FINISHED (publishing earlier is
//!   refused with 9007/2207027; an ERROR carries its subcode in `status`), `publish` calls
//!   `media_publish {creation_id}` and reads the `permalink`.
//! - Carousel (2 to 10 items, images and videos mixed): each item first gets its own
//!   container (`item:{i}`, `{image_url | media_type: VIDEO, video_url; is_carousel_item}`)
//!   and is awaited (`item:{i}:ready`), because the parent is refused while a child is still
//!   processing; then the parent (`{media_type: CAROUSEL, children, caption}`) is created,
//!   awaited and published like a single post (one post against the quota).
//! - First comment: `comment`, after the publish, is `POST /{media}/comments {message}`
//!   (needs `instagram_manage_comments`).
//! - Lookup: the account's recent media, by caption, paged by `paging.cursors.after`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::MetaConfig;
use herald_domain::{Platform, PlatformFailure, PostContent, VideoInfo};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::account::{Account, Target, TargetKind};
use crate::classify::{Call, Operation};
use crate::graph::{self, ContainerFields, Created, Meta, RecentPosts};
use crate::hints;
use crate::http::{Http, HttpSettings, Sent};
use crate::lookup::Lookup;
use crate::steps::{
    MediaInput, Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable,
};

const P: Platform = Platform::Instagram;
/// A carousel's size range.
const CAROUSEL: std::ops::RangeInclusive<usize> = 2..=10;
/// A container's state is `status_code`; on ERROR, `status` holds the subcode.
const STATUS: ContainerFields = ContainerFields {
    state: "status_code",
    reason: "status",
};
/// The account's recent media; the edge takes no `since`, so the time is checked here.
const MEDIA: RecentPosts = RecentPosts {
    fields: "id,caption,timestamp,permalink",
    text: "caption",
    time: "timestamp",
    url: "permalink",
    since: false,
    limit: "50",
};

#[derive(Debug, Clone)]
pub(crate) struct Instagram {
    meta: Meta,
    poll_interval: Duration,
    container_wait: Duration,
}

impl Instagram {
    pub(crate) fn new(http: Http, config: &MetaConfig, settings: &HttpSettings) -> Self {
        Self {
            meta: Meta::new(http, P, config),
            poll_interval: settings.poll_interval,
            container_wait: settings.container_wait,
        }
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    pub(crate) async fn targets(
        &self,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        let pages = self.meta.pages(token).await?;
        let mut targets = Vec::new();
        for page in pages {
            let Some(ig) = page.instagram_business_account else {
                continue;
            };
            let mut target = Target::new(TargetKind::InstagramAccount, ig.id.clone());
            target.page_id = Some(page.id);
            if let Ok(reply) = self
                .meta
                .graph
                .get(
                    &format!("/{}", ig.id),
                    token,
                    &[("fields", "id,username,name")],
                    Call::new(Operation::Connect),
                )
                .await
                && let Ok(profile) = serde_json::from_str::<Value>(&reply.body)
            {
                target.username = profile
                    .get("username")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                target.name = profile
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            if target.name.is_none() {
                target.name = page.name;
            }
            targets.push(target);
        }
        if targets.is_empty() {
            return Err(crate::classify::no_targets(P));
        }
        Ok(targets)
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        let count = content.media.len();
        if count == 0 {
            return Err(unpublishable(
                P,
                "Instagram requires an image or a video",
                hints::INSTAGRAM_IMAGE_REQUIRED,
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "Instagram posts are not threads",
                "Send one caption",
            ));
        }
        if count > *CAROUSEL.end() {
            return Err(unpublishable(
                P,
                format!(
                    "media: an Instagram carousel takes at most {} items; this post has {count}",
                    CAROUSEL.end()
                ),
                hints::INSTAGRAM_CAROUSEL_SIZE,
            ));
        }
        Ok(graph::container_steps(P, content))
    }

    /// Media item `index`'s public URL, which Instagram fetches itself.
    fn public_url<'a>(
        ctx: &'a StepContext<'_>,
        index: usize,
    ) -> Result<(&'a MediaInput, &'a str), PlatformFailure> {
        let media = ctx.media(index)?;
        let url = media.public_url.as_deref().ok_or_else(|| {
            unpublishable(
                P,
                format!("media {index}: Instagram needs a public URL to fetch it from"),
                hints::INSTAGRAM_IMAGE_URL,
            )
        })?;
        Ok((media, url))
    }

    async fn create(
        &self,
        ctx: &StepContext<'_>,
        body: &serde_json::Value,
    ) -> Result<StepOutcome, PlatformFailure> {
        let ig = ctx.account.account_id.as_str();
        self.meta
            .graph
            .create_container(&format!("/{ig}/media"), &ctx.account.access_token, body)
            .await
    }

    /// Polls a container; a failure says what the video breaks when Herald can tell.
    async fn wait(
        &self,
        ctx: &StepContext<'_>,
        container: &str,
        video: Option<&MediaInput>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let hint: fn(Option<&str>) -> &'static str = if video.is_some() {
            video_hint
        } else {
            |_| hints::INSTAGRAM_IMAGE_INVALID
        };
        self.meta
            .graph
            .await_container(
                container,
                &ctx.account.access_token,
                STATUS,
                self.poll_interval,
                self.container_wait,
                hint,
            )
            .await
            .map_err(|mut failure| {
                explain(&mut failure, video, REELS);
                failure
            })
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let ig = ctx.account.account_id.as_str();
        let token = &ctx.account.access_token;
        let graph = &self.meta.graph;
        let carousel = ctx.content.media.len() > 1;
        match step.action {
            StepAction::CreateItem { index } => {
                let (media, url) = Self::public_url(ctx, index)?;
                let body = if media.is_video() {
                    json!({ "media_type": "VIDEO", "video_url": url, "is_carousel_item": true })
                } else {
                    json!({ "image_url": url, "is_carousel_item": true })
                };
                self.create(ctx, &body).await
            }
            StepAction::AwaitItem { index } => {
                let item = ctx.prior.require(P, &StepKey::item(index))?;
                let media = ctx.media(index)?;
                self.wait(ctx, item, media.is_video().then_some(media))
                    .await
            }
            StepAction::CreateContainer if carousel => {
                let children = (0..ctx.content.media.len())
                    .map(|i| ctx.prior.require(P, &StepKey::item(i)))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(",");
                let body = json!({ "media_type": "CAROUSEL", "children": children, "caption": ctx.text() });
                self.create(ctx, &body).await
            }
            StepAction::CreateContainer => {
                let (media, url) = Self::public_url(ctx, 0)?;
                let body = if media.is_video() {
                    json!({
                        "media_type": "REELS",
                        "video_url": url,
                        "caption": ctx.text(),
                        "share_to_feed": true,
                    })
                } else {
                    json!({ "image_url": url, "caption": ctx.text() })
                };
                self.create(ctx, &body).await
            }
            StepAction::AwaitContainer => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                let video = ctx.media.first().filter(|m| !carousel && m.is_video());
                self.wait(ctx, container, video).await
            }
            StepAction::Publish => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                let reply = graph
                    .post(
                        &format!("/{ig}/media_publish"),
                        token,
                        &json!({ "creation_id": container }),
                        Sent::Publishes,
                        Call::new(Operation::Publish).with_media(true),
                    )
                    .await?;
                let media: Created = reply.json(P, Sent::Publishes)?;
                let url = graph.field(&media.id, token, "permalink").await;
                Ok(StepOutcome::new(media.id, reply.rate).with_url(url))
            }
            StepAction::Comment => {
                let media = ctx.prior.require(P, &StepKey::publish())?;
                let message = ctx.content.first_comment.as_deref().unwrap_or_default();
                graph.comment(media, token, message).await
            }
            _ => Err(crate::oauth::unsupported(P, "this step")),
        }
    }

    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        self.meta
            .graph
            .lookup_recent(
                &format!("/{}/media", account.account_id),
                &account.access_token,
                MEDIA,
                text,
                since,
            )
            .await
    }
}

/// The hint for a video container in ERROR, by the subcode in its `status`.
fn video_hint(reason: Option<&str>) -> &'static str {
    match reason {
        Some(r) if r.contains("2207003") || r.contains("2207052") => {
            hints::INSTAGRAM_VIDEO_DOWNLOAD
        }
        _ => hints::INSTAGRAM_VIDEO_INVALID,
    }
}

/// Adds to a failed container's message which rule of `spec` its video breaks, if Herald
/// can tell (an ERROR or EXPIRED container, not one still processing).
pub(crate) fn explain(failure: &mut PlatformFailure, video: Option<&MediaInput>, spec: VideoSpec) {
    if failure.code().as_deref() == Some("IN_PROGRESS") {
        return;
    }
    if let Some(problem) = video
        .and_then(|v| v.video.as_ref())
        .and_then(|info| video_problem(info, spec))
    {
        failure.message = format!("{} ({problem})", failure.message);
    }
}

/// The published video spec of a platform that fetches videos itself (Instagram Reels,
/// Threads), for [`video_problem`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct VideoSpec {
    /// What the platform calls these videos in a message ("Reels", "Threads videos").
    pub(crate) name: &'static str,
    pub(crate) min_seconds: f64,
    pub(crate) max_seconds: f64,
}

/// Instagram's Reels: 3 s to 15 min.
const REELS: VideoSpec = VideoSpec {
    name: "Reels",
    min_seconds: 3.0,
    max_seconds: 900.0,
};

/// The first rule of a platform's published video spec (H.264/HEVC, the duration, at most
/// 1920 pixels wide, 0.01:1 to 10:1, 23 to 60 fps) a video breaks, judged by its own facts,
/// as `video.<rule>` with the limit and the value: what a bare subcode or error name does
/// not say. Only a diagnosis for the failure's message: the platform decides.
pub(crate) fn video_problem(info: &VideoInfo, spec: VideoSpec) -> Option<String> {
    let name = spec.name;
    let seconds = info.duration_ms as f64 / 1000.0;
    let aspect = info.aspect_ratio();
    if !info.is_h264_or_hevc() {
        Some(format!(
            "video.codec: {name} take H.264 or HEVC; the video is {}",
            info.video_codec
        ))
    } else if seconds < spec.min_seconds {
        Some(format!(
            "video.too_short: {name} are at least {} s; the video is {seconds:.1} s",
            spec.min_seconds
        ))
    } else if seconds > spec.max_seconds {
        Some(format!(
            "video.too_long: {name} are at most {} s; the video is {seconds:.1} s",
            spec.max_seconds
        ))
    } else if info.width > 1920 {
        Some(format!(
            "video.too_wide: {name} are at most 1920 pixels wide; the video is {}",
            info.width
        ))
    } else if !(0.01..=10.0).contains(&aspect) {
        Some(format!(
            "video.aspect_ratio: {name} take 0.01:1 to 10:1; the video is {aspect:.2}:1"
        ))
    } else if !(23.0..=60.0).contains(&info.frame_rate.round()) {
        Some(format!(
            "video.frame_rate: {name} take 23 to 60 fps; the video has {:.2}",
            info.frame_rate
        ))
    } else {
        None
    }
}
