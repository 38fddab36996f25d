//! Facebook Pages through the Graph API: Pages and their tokens; text, photo, several-photo
//! and video posts; the first comment.
//!
//! - Connect: Facebook Login (`graph.rs`), then `GET /me/accounts` lists the Pages the user
//!   administers, each with its own Page token: posting always uses the Page token. No Pages
//!   is a failure with a hint (the user must be a Page admin).
//! - Photos: each `media:i` uploads one photo unpublished (`POST /{page}/photos`,
//!   `published=false`, the bytes as multipart `source`, or `url` when Herald only has a public
//!   URL); `publish` posts to the feed with `attached_media: [{media_fbid}, ...]` and reads the
//!   `permalink_url`. Herald posts at most [`MAX_PHOTOS`] (Facebook documents no maximum).
//! - A video (alone: Facebook does not mix videos and photos in one post) goes up by the
//!   chunked upload on `/{page}/videos`. `media:0` is the repeatable part: `upload_phase=start`
//!   with the `file_size` opens a session and names the video, then each
//!   `upload_phase=transfer` sends the window `[start_offset, end_offset)` Facebook asked for,
//!   read from the file a chunk at a time (never the whole video in memory), until the two
//!   offsets are equal. A transfer whose answer is lost is sent again; if Facebook had it, it
//!   refuses with 1363037 and names in `error_data` the offsets to resume from. The step's
//!   remote id is `{video_id}:{upload_session_id}`. `publish` is `upload_phase=finish` with
//!   the text as `description`: that is what makes the video visible, so it is the journaled
//!   step whose lost answer is looked up. A session that expired before the finish (1363030,
//!   a retry long after the upload) is uploaded again inside `publish`: the finish never
//!   took effect. After the finish `publish` polls `GET /{video}?fields=status` (the
//!   `poll_interval`, for at most `container_wait`): `error` fails the delivery (Facebook will
//!   never show the video); `ready`, a wait that runs out or a poll that fails all count as
//!   published, since the video is the Page's either way. The post's id is the video id, its
//!   URL `https://www.facebook.com/{page}/videos/{id}`.
//! - First comment: `comment` posts `POST /{post}/comments` with the Page token on the post
//!   or video `publish` made.
//! - Lookup: the Page feed since the publish time, paged by `paging.cursors.after`; when the
//!   whole feed since then has no match, the Page's videos (`/{page}/videos`, matched on `description`), since
//!   a video's own id is what Herald records. Whether Facebook also lists a Page video in
//!   the feed, and under which id, is unconfirmed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::MetaConfig;
use herald_domain::{Code, ErrorClass, Platform, PlatformFailure, PostContent};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account::{Account, Target, TargetKind};
use crate::classify::{Call, Operation};
use crate::graph::{Created, Meta, RecentPosts, id_from_any};
use crate::hints;
use crate::http::{HttpSettings, Reply, Sent};
use crate::lookup::Lookup;
use crate::rate::RateObservation;
use crate::steps::{
    MediaInput, Step, StepAction, StepContext, StepKey, StepOutcome, comment_step, unpublishable,
};

const P: Platform = Platform::Facebook;
/// The most photos Herald attaches to one Page post (Facebook documents no maximum).
pub(crate) const MAX_PHOTOS: usize = 10;
/// Transfers in a row that may fail to move the upload forward (a lost answer, an offset
/// correction) before the step gives up and a later attempt starts a new upload.
const MAX_STALLED_TRANSFERS: u32 = 3;
/// The Page feed since the publish time.
const FEED: RecentPosts = RecentPosts {
    fields: "id,message,created_time,permalink_url",
    text: "message",
    time: "created_time",
    url: "permalink_url",
    since: true,
    limit: "100",
};
/// The Page's videos: a video post's text is its `description`.
const VIDEOS: RecentPosts = RecentPosts {
    fields: "id,description,created_time,permalink_url",
    text: "description",
    time: "created_time",
    url: "permalink_url",
    since: true,
    limit: "100",
};

#[derive(Debug, Clone)]
pub(crate) struct Facebook {
    meta: Meta,
    poll_interval: Duration,
    processing_wait: Duration,
}

/// A window of the video upload, as Facebook names it (numbers in strings).
#[derive(Debug, Clone, Copy, Deserialize)]
struct Window {
    #[serde(deserialize_with = "offset_from_any")]
    start_offset: u64,
    #[serde(deserialize_with = "offset_from_any")]
    end_offset: u64,
}

fn offset_from_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| serde::de::Error::custom("expected an offset"))
}

/// An upload session whose bytes have all arrived.
struct Uploaded {
    video_id: String,
    session: String,
    rate: RateObservation,
}

/// How one transfer went.
enum Transfer {
    /// Facebook took the chunk and names the next window.
    Next(Window),
    /// Facebook is elsewhere (1363037): resume from the window it names.
    Resume(Window),
    /// The answer was lost: the chunk may or may not have arrived.
    Lost(PlatformFailure),
}

impl Facebook {
    pub(crate) fn new(
        http: crate::http::Http,
        config: &MetaConfig,
        settings: &HttpSettings,
    ) -> Self {
        Self {
            meta: Meta::new(http, P, config),
            poll_interval: settings.poll_interval,
            processing_wait: settings.container_wait,
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
        if pages.is_empty() {
            return Err(crate::classify::no_targets(P));
        }
        Ok(pages
            .into_iter()
            .map(|page| {
                let mut target = Target::new(TargetKind::FacebookPage, page.id);
                target.name = page.name;
                target.access_token = page.access_token;
                target
            })
            .collect())
    }

    /// One `media:i` per photo (or the one video), `publish`, then `comment` when there is a
    /// first comment. Whether an item is a photo or a video is known once the worker has
    /// fetched it: each step checks the mix ([`check_media`]) before any call.
    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        if content.media.len() > MAX_PHOTOS {
            return Err(unpublishable(
                P,
                format!(
                    "media.too_many: Herald posts at most {MAX_PHOTOS} photos (or one video) to a Facebook Page, this post has {}",
                    content.media.len()
                ),
                "Attach at most 10 photos, or one video",
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "Facebook posts are not threads",
                "Send the thread parts as one text",
            ));
        }
        let mut steps: Vec<Step> = (0..content.media.len())
            .map(|i| Step::new(P, StepKey::media(i), StepAction::UploadMedia { index: i }))
            .collect();
        steps.push(Step::new(P, StepKey::publish(), StepAction::Publish));
        steps.extend(comment_step(P, content));
        Ok(steps)
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let page = ctx.account.page()?;
        let token = &ctx.account.access_token;
        match step.action {
            StepAction::UploadMedia { index } => {
                check_media(ctx.media)?;
                let media = ctx.media(index)?;
                if media.is_video() {
                    let up = self.upload_video(page, token, media).await?;
                    Ok(StepOutcome::new(
                        format!("{}:{}", up.video_id, up.session),
                        up.rate,
                    ))
                } else {
                    self.upload_photo(page, token, media).await
                }
            }
            StepAction::Publish => {
                check_media(ctx.media)?;
                let video = !ctx.content.media.is_empty() && ctx.media(0)?.is_video();
                if video {
                    self.publish_video(page, token, ctx).await
                } else {
                    self.publish_feed(page, token, ctx).await
                }
            }
            StepAction::Comment => self.comment(token, ctx).await,
            _ => Err(crate::oauth::unsupported(P, "this step")),
        }
    }

    async fn publish_feed(
        &self,
        page: &str,
        token: &SecretString,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let mut body = json!({ "message": ctx.text() });
        if !ctx.content.media.is_empty() {
            let photos = (0..ctx.content.media.len())
                .map(|i| {
                    ctx.prior
                        .require(P, &StepKey::media(i))
                        .map(|id| json!({ "media_fbid": id }))
                })
                .collect::<Result<Vec<_>, _>>()?;
            body["attached_media"] = Value::Array(photos);
        }
        let reply = self
            .meta
            .graph
            .post(
                &format!("/{page}/feed"),
                token,
                &body,
                Sent::Publishes,
                Call::new(Operation::Publish).with_media(!ctx.content.media.is_empty()),
            )
            .await?;
        let post: Created = reply.json(P, Sent::Publishes)?;
        let url = self
            .meta
            .graph
            .field(&post.id, token, "permalink_url")
            .await
            .or_else(|| Some(format!("https://www.facebook.com/{}", post.id)));
        Ok(StepOutcome::new(post.id, reply.rate).with_url(url))
    }

    async fn upload_photo(
        &self,
        page: &str,
        token: &SecretString,
        media: &MediaInput,
    ) -> Result<StepOutcome, PlatformFailure> {
        let path = format!("/{page}/photos");
        let call = Call::new(Operation::Media);
        let reply = match (&media.body, &media.public_url) {
            (Some(_), _) => {
                let bytes = media.read_all().await.map_err(|err| read_failure(&err))?;
                let part = Part::stream(bytes)
                    .file_name(media.file_name.clone())
                    .mime_str(&media.content_type)
                    .map_err(|err| {
                        unpublishable(
                            P,
                            format!("bad content type: {err}"),
                            "Use a JPEG, PNG, GIF or WebP image",
                        )
                    })?;
                let form = Form::new().part("source", part).text("published", "false");
                let request = self
                    .meta
                    .graph
                    .http
                    .client()
                    .post(self.meta.graph.url(&path))
                    .query(&[("access_token", token.expose_secret())])
                    .multipart(form);
                self.meta
                    .graph
                    .http
                    .send(P, request, Sent::Repeatable)
                    .await?
                    .ok_or_failure(P, call)?
            }
            (None, Some(url)) => {
                self.meta
                    .graph
                    .post(
                        &path,
                        token,
                        &json!({ "url": url, "published": false }),
                        Sent::Repeatable,
                        call,
                    )
                    .await?
            }
            (None, None) => {
                return Err(unpublishable(
                    P,
                    "the image has neither bytes nor a URL",
                    "Provide the image",
                ));
            }
        };
        let photo: Created = reply.json(P, Sent::Repeatable)?;
        Ok(StepOutcome::new(photo.id, reply.rate))
    }

    /// `start`, then every transfer Facebook asks for; the session is ready to finish.
    async fn upload_video(
        &self,
        page: &str,
        token: &SecretString,
        media: &MediaInput,
    ) -> Result<Uploaded, PlatformFailure> {
        if media.body.is_none() {
            return Err(PlatformFailure::new(
                ErrorClass::Permanent,
                P,
                "the video's bytes were not provided: Facebook takes videos by upload, not by URL",
            )
            .with_herald_code(Code::MediaMissing));
        }
        let path = format!("/{page}/videos");
        let reply = self
            .meta
            .graph
            .post(
                &path,
                token,
                &json!({ "upload_phase": "start", "file_size": media.len }),
                Sent::Repeatable,
                Call::new(Operation::Media),
            )
            .await
            .map_err(video_failure)?;
        #[derive(Deserialize)]
        struct Started {
            #[serde(deserialize_with = "id_from_any")]
            upload_session_id: String,
            #[serde(deserialize_with = "id_from_any")]
            video_id: String,
            #[serde(flatten)]
            window: Window,
        }
        let started: Started = reply.json(P, Sent::Repeatable)?;
        let mut rate = reply.rate;
        let mut window = started.window;
        let mut stalled = 0;
        while window.start_offset < window.end_offset {
            if window.end_offset > media.len {
                return Err(PlatformFailure::new(
                    ErrorClass::Retryable,
                    P,
                    format!(
                        "Facebook asked for bytes {}..{} of a {}-byte video",
                        window.start_offset, window.end_offset, media.len
                    ),
                )
                .with_hint(hints::FACEBOOK_VIDEO_UPLOAD));
            }
            let chunk = media
                .read_range(window.start_offset, window.end_offset - window.start_offset)
                .await
                .map_err(|err| read_failure(&err))?;
            let before = window.start_offset;
            let mut lost = None;
            match self
                .transfer(&path, token, &started.upload_session_id, window, chunk)
                .await?
            {
                (Transfer::Next(next), seen) => {
                    rate = seen;
                    window = next;
                }
                (Transfer::Resume(at), seen) => {
                    rate = seen;
                    tracing::info!(
                        start_offset = at.start_offset,
                        "resuming the video upload where Facebook is"
                    );
                    window = at;
                }
                // The same window goes again: Facebook takes it, or names where it is.
                (Transfer::Lost(failure), _) => lost = Some(failure),
            }
            if window.start_offset > before {
                stalled = 0;
                continue;
            }
            stalled += 1;
            if stalled > MAX_STALLED_TRANSFERS {
                let failure = lost.unwrap_or_else(|| {
                    PlatformFailure::new(
                        ErrorClass::Retryable,
                        P,
                        format!(
                            "the video upload made no progress at byte {} of {}",
                            window.start_offset, media.len
                        ),
                    )
                });
                return Err(failure.with_hint(hints::FACEBOOK_VIDEO_UPLOAD));
            }
        }
        Ok(Uploaded {
            video_id: started.video_id,
            session: started.upload_session_id,
            rate,
        })
    }

    /// One `upload_phase=transfer` of the bytes of `window`.
    async fn transfer(
        &self,
        path: &str,
        token: &SecretString,
        session: &str,
        window: Window,
        chunk: bytes::Bytes,
    ) -> Result<(Transfer, RateObservation), PlatformFailure> {
        let part = Part::stream(chunk)
            .file_name("chunk")
            .mime_str("application/octet-stream")
            .map_err(|err| {
                PlatformFailure::new(ErrorClass::Permanent, P, format!("bad chunk: {err}"))
                    .with_herald_code(Code::Request)
            })?;
        let form = Form::new()
            .text("upload_phase", "transfer")
            .text("upload_session_id", session.to_owned())
            .text("start_offset", window.start_offset.to_string())
            .part("video_file_chunk", part);
        let request = self
            .meta
            .graph
            .http
            .client()
            .post(self.meta.graph.url(path))
            .query(&[("access_token", token.expose_secret())])
            .multipart(form);
        let reply = match self
            .meta
            .graph
            .http
            .send(P, request, Sent::Repeatable)
            .await
        {
            Ok(reply) => reply,
            Err(failure) if failure.class == ErrorClass::Retryable => {
                return Ok((Transfer::Lost(failure), RateObservation::default()));
            }
            Err(failure) => return Err(failure),
        };
        if reply.is_success() {
            let next: Window = reply.json(P, Sent::Repeatable)?;
            return Ok((Transfer::Next(next), reply.rate));
        }
        if let Some(at) = resume_window(&reply) {
            return Ok((Transfer::Resume(at), reply.rate));
        }
        Err(video_failure(reply.failure(P, Call::new(Operation::Media))))
    }

    /// `upload_phase=finish` (what publishes), then the wait for processing.
    async fn publish_video(
        &self,
        page: &str,
        token: &SecretString,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let uploaded = ctx.prior.require(P, &StepKey::media(0))?;
        let Some((video_id, session)) = uploaded.split_once(':') else {
            return Err(PlatformFailure::new(
                ErrorClass::Permanent,
                P,
                format!("step `media:0` holds `{uploaded}`, not a video upload session"),
            )
            .with_herald_code(Code::StepOrder));
        };
        let mut video_id = video_id.to_owned();
        let reply = match self.finish(page, token, session, ctx).await {
            Err(failure) if is_subcode(&failure, "1363030") || is_subcode(&failure, "1363019") => {
                // The session expired (or lost bytes) before this finish: nothing was
                // published. Upload again and finish that.
                let media = ctx.media(0)?;
                let up = self.upload_video(page, token, media).await?;
                video_id = up.video_id;
                self.finish(page, token, &up.session, ctx).await?
            }
            other => other?,
        };
        #[derive(Deserialize)]
        struct Finished {
            #[serde(default)]
            success: bool,
        }
        let finished: Finished = reply.json(P, Sent::Publishes)?;
        if !finished.success {
            return Err(PlatformFailure::new(
                ErrorClass::UnknownOutcome,
                P,
                "Facebook answered the video's finish without success",
            )
            .with_hint(hints::UNKNOWN_OUTCOME));
        }
        self.await_processing(&video_id, token).await?;
        let url = format!("https://www.facebook.com/{page}/videos/{video_id}");
        Ok(StepOutcome::new(video_id, reply.rate).with_url(Some(url)))
    }

    async fn finish(
        &self,
        page: &str,
        token: &SecretString,
        session: &str,
        ctx: &StepContext<'_>,
    ) -> Result<Reply, PlatformFailure> {
        self.meta
            .graph
            .post(
                &format!("/{page}/videos"),
                token,
                &json!({
                    "upload_phase": "finish",
                    "upload_session_id": session,
                    "description": ctx.text(),
                }),
                Sent::Publishes,
                Call::new(Operation::Publish).with_media(true),
            )
            .await
            .map_err(video_failure)
    }

    /// Polls the video's `status.video_status` after the finish. Only `error` is a failure:
    /// the video is published either way, and a video still processing when the wait runs out
    /// (or whose status cannot be read) is left to finish on Facebook's side.
    async fn await_processing(
        &self,
        video: &str,
        token: &SecretString,
    ) -> Result<(), PlatformFailure> {
        let deadline = tokio::time::Instant::now() + self.processing_wait;
        loop {
            let status = self
                .meta
                .graph
                .get(
                    &format!("/{video}"),
                    token,
                    &[("fields", "status")],
                    Call::new(Operation::Read),
                )
                .await
                .ok()
                .and_then(|reply| serde_json::from_str::<Value>(&reply.body).ok());
            let Some(status) = status else {
                return Ok(());
            };
            match status["status"]["video_status"].as_str() {
                Some("ready") => return Ok(()),
                Some("error") => {
                    let detail = status["status"]["processing_phase"]["errors"][0]["message"]
                        .as_str()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default();
                    return Err(PlatformFailure::new(
                        ErrorClass::Permanent,
                        P,
                        format!("video.processing_failed: Facebook could not process video {video}{detail}"),
                    )
                    .with_platform_code("error")
                    .with_hint(hints::FACEBOOK_VIDEO_PROCESSING));
                }
                _ => {}
            }
            if tokio::time::Instant::now() + self.poll_interval > deadline {
                tracing::info!(
                    "the video is still processing; it is published and will show when ready"
                );
                return Ok(());
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// The first comment, by the Page, on the post or video `publish` made.
    async fn comment(
        &self,
        token: &SecretString,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let post = ctx.prior.require(P, &StepKey::publish())?;
        let message = ctx.content.first_comment.as_deref().unwrap_or_default();
        self.meta.graph.comment(post, token, message).await
    }

    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        let page = account.page()?;
        let token = &account.access_token;
        let graph = &self.meta.graph;
        let feed = graph
            .lookup_recent(&format!("/{page}/feed"), token, FEED, text, since)
            .await?;
        if feed != Lookup::NotFound {
            // Found, or a feed read that stopped at its bound: look again later either way.
            return Ok(feed);
        }
        let videos = graph
            .lookup_recent(&format!("/{page}/videos"), token, VIDEOS, text, since)
            .await?;
        Ok(match videos {
            Lookup::Found { remote_id, url } => Lookup::Found {
                url: Some(match url {
                    // A video's `permalink_url` may be a path on www.facebook.com.
                    Some(path) if path.starts_with('/') => {
                        format!("https://www.facebook.com{path}")
                    }
                    Some(url) => url,
                    None => format!("https://www.facebook.com/{page}/videos/{remote_id}"),
                }),
                remote_id,
            },
            other => other,
        })
    }
}

/// A Page post is one video alone, or photos: never both, never two videos.
fn check_media(media: &[MediaInput]) -> Result<(), PlatformFailure> {
    let videos = media.iter().filter(|m| m.is_video()).count();
    let photos = media.len() - videos;
    match (videos, photos) {
        (0, _) | (1, 0) => Ok(()),
        (1, _) => Err(unpublishable(
            P,
            format!(
                "media.mixed: a Facebook Page post takes one video alone or up to {MAX_PHOTOS} photos, this one has 1 video and {photos} photos"
            ),
            "Post the video and the photos separately",
        )),
        _ => Err(unpublishable(
            P,
            format!("media.too_many: a Facebook Page post takes one video, this one has {videos}"),
            "Post each video separately",
        )),
    }
}

/// The window a 1363037 ("invalid start offset") refusal names in `error_data`, which Graph
/// sends as an object or as JSON in a string.
fn resume_window(reply: &Reply) -> Option<Window> {
    let body: Value = serde_json::from_str(&reply.body).ok()?;
    let error = body.get("error")?;
    let named = |key: &str| error.get(key).and_then(Value::as_i64) == Some(1_363_037);
    if !named("code") && !named("error_subcode") {
        return None;
    }
    let data = match error.get("error_data")? {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    serde_json::from_value(data).ok()
}

/// Whether a Graph failure carries `subcode` (as the code or the subcode).
fn is_subcode(failure: &PlatformFailure, subcode: &str) -> bool {
    failure
        .platform_code
        .as_deref()
        .is_some_and(|code| code.split('/').any(|part| part == subcode))
}

/// The Video API's refusals with what to do about them: a file too large or too small is
/// permanent; an interrupted upload (1363019), an expired session (1363030) or the generic
/// upload problem (6000 alone) is retried, with a new upload.
fn video_failure(failure: PlatformFailure) -> PlatformFailure {
    if is_subcode(&failure, "1363023") {
        failure.with_hint(hints::FACEBOOK_VIDEO_TOO_LARGE)
    } else if is_subcode(&failure, "1363022") {
        failure.with_hint(hints::FACEBOOK_VIDEO_TOO_SMALL)
    } else if is_subcode(&failure, "1363030")
        || is_subcode(&failure, "1363019")
        || failure.platform_code.as_deref() == Some("6000")
    {
        PlatformFailure {
            class: ErrorClass::Retryable,
            ..failure
        }
        .with_hint(hints::FACEBOOK_VIDEO_UPLOAD)
    } else {
        failure
    }
}

/// The video or photo file could not be read from Herald's own spool.
fn read_failure(err: &std::io::Error) -> PlatformFailure {
    PlatformFailure::new(
        ErrorClass::Retryable,
        P,
        format!("could not read the media file: {err}"),
    )
    .with_herald_code(Code::MediaUnavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body: &Value) -> Reply {
        Reply {
            status: reqwest::StatusCode::BAD_REQUEST,
            headers: reqwest::header::HeaderMap::new(),
            body: body.to_string(),
            rate: RateObservation::default(),
        }
    }

    #[test]
    fn an_offset_refusal_names_the_window_to_resume_from_as_an_object_or_a_string() {
        let object = reply(&json!({"error": {"code": 6000, "error_subcode": 1_363_037,
            "error_data": {"start_offset": "65536", "end_offset": "94091"}}}));
        let text = reply(&json!({"error": {"code": 1_363_037,
            "error_data": "{\"start_offset\":65536,\"end_offset\":94091}"}}));
        for answer in [object, text] {
            let at = resume_window(&answer).expect("a window");
            assert_eq!((at.start_offset, at.end_offset), (65_536, 94_091));
        }
        let other = reply(&json!({"error": {"code": 6000, "error_subcode": 1_363_019,
            "error_data": {"start_offset": "0", "end_offset": "1"}}}));
        assert!(resume_window(&other).is_none());
    }

    #[test]
    fn an_expired_session_is_retried_and_a_too_large_video_is_not() {
        let graph = |code: &str| {
            PlatformFailure::new(ErrorClass::Permanent, P, "refused").with_platform_code(code)
        };
        let expired = video_failure(graph("6000/1363030"));
        assert_eq!(expired.class, ErrorClass::Retryable);
        let large = video_failure(graph("6000/1363023"));
        assert_eq!(large.class, ErrorClass::Permanent);
        assert_eq!(large.hint.as_deref(), Some(hints::FACEBOOK_VIDEO_TOO_LARGE));
        let permission = video_failure(graph("6000/1363042"));
        assert_eq!(permission.class, ErrorClass::Permanent);
    }
}
