//! X (Twitter) API v2: OAuth 2.0 with PKCE, tweets, media, threads as reply chains.
//!
//! - Connect: authorize at `{web}/i/oauth2/authorize` (PKCE S256, `state`); the token endpoint
//!   `{api}/2/oauth2/token` gets `Authorization: Basic base64(client_id:client_secret)` on every
//!   call, code and refresh alike. Refresh tokens rotate and are single-use: the new one is
//!   returned and must replace the old.
//! - Publish: `media:i` uploads each image (`POST /2/media/upload`, multipart, `tweet_image`)
//!   or the video (chunked, below), `media:i:ready` waits until X has processed it,
//!   `publish` posts the first tweet with their ids, `part:n` posts each further thread part
//!   as a reply to the part before it, and `comment` posts the first comment as a reply to
//!   the first tweet.
//! - A tweet carries 1-4 images, or exactly one video or GIF ("up to 4 photos, 1 animated
//!   GIF or 1 video"): another mix is refused before anything is uploaded.
//! - Video: the v2 dedicated endpoints. `initialize` (JSON: type, size, `tweet_video`), then
//!   `{id}/append` in segments of at most 5 MB (the ceiling X's v1.1 APPEND documentation
//!   sets; each read from the body on its own, so a 512 MB video is never in memory), then
//!   `{id}/finalize`. X processes the video after that; the tweet may attach it only once
//!   STATUS (`GET /2/media/upload?media_id=`) says `succeeded`, so `media:i:ready` polls it,
//!   waiting the `check_after_secs` X asks for. `failed` is permanent, with X's reason.
//! - First comment: a reply. X's self-serve tiers refuse replies to posts that did not
//!   summon the account (403); that failure only degrades the delivery.
//! - Fallback: the Free tier may accept the upload and then refuse the tweet with media
//!   (403). Under [`FallbackPolicy::Allow`] Herald posts the text alone and reports
//!   `media_dropped`; a 403 for duplicate content or a read-only app is never a fallback.
//! - Lookup: the account's tweets since the send time (`GET /2/users/{id}/tweets`), paged by
//!   `pagination_token`; a spent read window (429) cannot tell.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use herald_config::TwitterConfig;
use herald_domain::{Code, ErrorClass, Platform, PlatformFailure, PostContent};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::account::{Account, Identity, Target};
use crate::classify::{self, Call, Operation};
use crate::hints;
use crate::http::{Http, HttpSettings, Reply, Sent};
use crate::lookup::{self, Candidate, Lookup};
use crate::oauth::{self, AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
use crate::steps::{
    Degraded, DegradedKind, FallbackPolicy, MediaInput, Step, StepAction, StepContext, StepKey,
    StepOutcome, comment_step, unpublishable,
};

const P: Platform = Platform::Twitter;
/// X attaches at most four images to a tweet.
const MAX_IMAGES: usize = 4;
/// The largest APPEND segment: X's v1.1 documentation says 5 MB (the v2 endpoints state no
/// limit, so the documented one is kept).
const SEGMENT_BYTES: u64 = 5 * 1024 * 1024;
/// The largest video X takes (`tweet_video`).
const MAX_VIDEO_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Twitter {
    http: Http,
    config: TwitterConfig,
    poll_interval: Duration,
    media_wait: Duration,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct User {
    id: String,
    name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    processing_info: Option<Processing>,
}

#[derive(Deserialize)]
struct Processing {
    state: String,
    #[serde(default)]
    check_after_secs: Option<u64>,
    /// Why processing failed (the v1.1 STATUS shape; v2 may leave it out).
    #[serde(default)]
    error: Option<ProcessingError>,
}

#[derive(Deserialize)]
struct ProcessingError {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    created_at: Option<String>,
}

impl Twitter {
    pub(crate) fn new(http: Http, config: &TwitterConfig, settings: &HttpSettings) -> Self {
        Self {
            http,
            config: config.clone(),
            poll_interval: settings.poll_interval,
            media_wait: settings.container_wait,
        }
    }

    fn app(&self) -> Result<&herald_config::OAuthApp, PlatformFailure> {
        oauth::configured(P, self.config.app.as_ref())
    }

    pub(crate) fn authorize_url(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<AuthorizeUrl, PlatformFailure> {
        let app = self.app()?;
        let state = oauth::state_or_new(req.state.as_ref());
        let (challenge, verifier) = oauth::pkce();
        let scope = self.config.scopes.join(" ");
        let url = oauth::url_with(
            P,
            &self.config.web_url.join("/i/oauth2/authorize"),
            &[
                ("response_type", "code"),
                ("client_id", &app.client_id),
                ("redirect_uri", &app.redirect_uri),
                ("scope", &scope),
                ("state", &state),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )?;
        Ok(AuthorizeUrl {
            url,
            state,
            pkce_verifier: Some(verifier),
            app_type: None,
            scopes: self.config.scopes.clone(),
        })
    }

    async fn token(
        &self,
        operation: Operation,
        form: &[(&str, &str)],
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app()?;
        let request = self
            .http
            .client()
            .post(self.config.api_url.join("/2/oauth2/token"))
            .basic_auth(&app.client_id, Some(app.client_secret.expose_secret()))
            .form(form);
        oauth::request_tokens(&self.http, P, request, operation).await
    }

    pub(crate) async fn exchange(
        &self,
        exchange: &CodeExchange,
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app()?;
        let verifier = exchange.pkce_verifier.as_ref().ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                P,
                "X needs the PKCE verifier stored with the OAuth state",
            )
            .with_herald_code(Code::Pkce)
        })?;
        self.token(
            Operation::CodeExchange,
            &[
                ("grant_type", "authorization_code"),
                ("code", exchange.code.expose_secret()),
                ("redirect_uri", &app.redirect_uri),
                ("code_verifier", verifier.expose_secret()),
                ("client_id", &app.client_id),
            ],
        )
        .await
    }

    pub(crate) async fn refresh(
        &self,
        refresh_token: &SecretString,
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app()?;
        self.token(
            Operation::Refresh,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
                ("client_id", &app.client_id),
            ],
        )
        .await
    }

    pub(crate) async fn identity(&self, token: &SecretString) -> Result<Identity, PlatformFailure> {
        let request = self
            .http
            .client()
            .get(self.config.api_url.join("/2/users/me"))
            .bearer_auth(token.expose_secret());
        let reply = self.http.send(P, request, Sent::Repeatable).await?;
        let user: Data<User> = reply
            .ok_or_failure(P, Call::new(Operation::Connect))?
            .json(P, Sent::Repeatable)?;
        Ok(Identity {
            account_id: user.data.id,
            name: user.data.name,
            username: user.data.username,
            email: None,
        })
    }

    pub(crate) async fn targets(
        &self,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        Ok(vec![Target::profile(self.identity(token).await?)])
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        if content.media.len() > MAX_IMAGES {
            return Err(unpublishable(
                P,
                format!(
                    "X takes at most {MAX_IMAGES} images, got {}",
                    content.media.len()
                ),
                "Remove images so at most four remain",
            ));
        }
        // Which items are videos is known only once they are fetched: each upload checks
        // the mix, and each wait returns at once for an image.
        let mut steps: Vec<Step> = (0..content.media.len())
            .flat_map(|i| {
                [
                    Step::new(P, StepKey::media(i), StepAction::UploadMedia { index: i }),
                    Step::new(
                        P,
                        StepKey::media_ready(i),
                        StepAction::AwaitMedia { index: i },
                    ),
                ]
            })
            .collect();
        steps.push(Step::new(P, StepKey::publish(), StepAction::Publish));
        steps.extend(
            (1..=content.thread.len())
                .map(|n| Step::new(P, StepKey::part(n), StepAction::PublishPart { part: n })),
        );
        steps.extend(comment_step(P, content));
        Ok(steps)
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        match step.action {
            StepAction::UploadMedia { index } => {
                check_mix(ctx.media)?;
                let media = ctx.media(index)?;
                if media.is_video() {
                    self.upload_video(ctx, media).await
                } else {
                    self.upload(ctx, index).await
                }
            }
            StepAction::AwaitMedia { index } => {
                let media_id = ctx.prior.require(P, &StepKey::media(index))?;
                if !ctx.media(index)?.is_video() {
                    // Images are usable once uploaded (their rare processing is awaited in
                    // the upload itself).
                    return Ok(StepOutcome::new(media_id, Default::default()));
                }
                let rate = self
                    .await_processing(&ctx.account.access_token, media_id, None)
                    .await?;
                Ok(StepOutcome::new(media_id, rate.unwrap_or_default()))
            }
            StepAction::Comment => {
                let post = ctx.prior.require(P, &StepKey::publish())?.to_owned();
                let text = ctx.content.first_comment.as_deref().unwrap_or_default();
                let token = &ctx.account.access_token;
                let reply = self.post_tweet(token, text, &[], Some(&post)).await?;
                let tweet: Data<Tweet> = reply.json(P, Sent::Publishes)?;
                let url = self.tweet_url(ctx.account, &tweet.data.id);
                Ok(StepOutcome::new(tweet.data.id, reply.rate).with_url(Some(url)))
            }
            StepAction::Publish => {
                let media_ids = (0..ctx.content.media.len())
                    .map(|i| ctx.prior.require(P, &StepKey::media(i)).map(str::to_owned))
                    .collect::<Result<Vec<_>, _>>()?;
                self.publish(ctx, ctx.text(), &media_ids, None).await
            }
            StepAction::PublishPart { part } => {
                let index = part.checked_sub(1).ok_or_else(|| {
                    unpublishable(P, "thread parts are numbered from 1", "Plan the post again")
                })?;
                let previous = ctx.prior.require(P, &StepKey::part(index))?.to_owned();
                let text = ctx.content.thread.get(index).map_or("", String::as_str);
                self.publish(ctx, text, &[], Some(&previous)).await
            }
            StepAction::CreateContainer
            | StepAction::AwaitContainer
            | StepAction::CreateItem { .. }
            | StepAction::AwaitItem { .. } => Err(oauth::unsupported(P, "this step")),
        }
    }

    async fn upload(
        &self,
        ctx: &StepContext<'_>,
        index: usize,
    ) -> Result<StepOutcome, PlatformFailure> {
        let media = ctx.media(index)?;
        let bytes = media.memory().cloned().ok_or_else(|| {
            unpublishable(
                P,
                "X needs the image bytes to upload",
                "Provide the image file",
            )
        })?;
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
        let form = Form::new()
            .part("media", part)
            .text("media_category", "tweet_image");
        let token = ctx.account.access_token.expose_secret();
        let request = self
            .http
            .client()
            .post(self.config.api_url.join("/2/media/upload"))
            .bearer_auth(token)
            .multipart(form);
        let reply = self.http.send(P, request, Sent::Repeatable).await?;
        let reply = reply.ok_or_failure(P, Call::new(Operation::Media))?;
        let media: Data<Media> = reply.json(P, Sent::Repeatable)?;
        let mut rate = reply.rate;
        if let Some(processing) = media.data.processing_info {
            rate = self
                .await_processing(&ctx.account.access_token, &media.data.id, Some(processing))
                .await?
                .unwrap_or(rate);
        }
        Ok(StepOutcome::new(media.data.id, rate))
    }

    /// The chunked upload of a video: `initialize`, `append` segment by segment (each read
    /// from the body on its own), `finalize`. Processing is awaited by the next step.
    async fn upload_video(
        &self,
        ctx: &StepContext<'_>,
        media: &MediaInput,
    ) -> Result<StepOutcome, PlatformFailure> {
        if media.len > MAX_VIDEO_BYTES {
            return Err(unpublishable(
                P,
                format!(
                    "video.too_large: X takes videos of at most {MAX_VIDEO_BYTES} bytes, this one is {}",
                    media.len
                ),
                "Compress the video to at most 512 MB",
            ));
        }
        let token = ctx.account.access_token.expose_secret();
        let call = Call::new(Operation::Media);
        let init = self
            .http
            .client()
            .post(self.config.api_url.join("/2/media/upload/initialize"))
            .bearer_auth(token)
            .json(&json!({
                "media_type": media.content_type,
                "total_bytes": media.len,
                "media_category": "tweet_video",
            }));
        let reply = self.http.send(P, init, Sent::Repeatable).await?;
        let init: Data<Media> = reply.ok_or_failure(P, call)?.json(P, Sent::Repeatable)?;
        let id = init.data.id;
        let mut offset = 0;
        let mut segment = 0u32;
        while offset < media.len {
            let chunk = media
                .read_range(offset, SEGMENT_BYTES)
                .await
                .map_err(|err| media_unreadable(&err))?;
            if chunk.is_empty() {
                return Err(media_unreadable(&std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the video ended before its length",
                )));
            }
            offset += chunk.len() as u64;
            let form = Form::new()
                .part("media", Part::stream(chunk).file_name("segment"))
                .text("segment_index", segment.to_string());
            let append = self
                .http
                .client()
                .post(
                    self.config
                        .api_url
                        .join(&format!("/2/media/upload/{id}/append")),
                )
                .bearer_auth(token)
                .multipart(form);
            self.http
                .send(P, append, Sent::Repeatable)
                .await?
                .ok_or_failure(P, call)?;
            segment += 1;
        }
        let finalize = self
            .http
            .client()
            .post(
                self.config
                    .api_url
                    .join(&format!("/2/media/upload/{id}/finalize")),
            )
            .bearer_auth(token);
        let reply = self.http.send(P, finalize, Sent::Repeatable).await?;
        let reply = reply.ok_or_failure(P, call)?;
        let done: Data<Media> = reply.json(P, Sent::Repeatable)?;
        if let Some(processing) = done.data.processing_info.filter(|p| p.state == "failed") {
            return Err(processing_failed(&id, &processing));
        }
        Ok(StepOutcome::new(id, reply.rate))
    }

    /// Polls an upload's STATUS until it succeeds, waiting the `check_after_secs` X asks for
    /// (at most `container_wait` in all). `first` is a state already known (from the upload's
    /// own answer); without it the first STATUS is read at once.
    async fn await_processing(
        &self,
        token: &SecretString,
        media_id: &str,
        first: Option<Processing>,
    ) -> Result<Option<crate::rate::RateObservation>, PlatformFailure> {
        let deadline = tokio::time::Instant::now() + self.media_wait;
        let mut rate = None;
        let mut processing = match first {
            Some(processing) => processing,
            None => {
                let (processing, seen) = self.status(token, media_id).await?;
                rate = Some(seen);
                processing
            }
        };
        loop {
            match processing.state.as_str() {
                "succeeded" => return Ok(rate),
                "failed" => return Err(processing_failed(media_id, &processing)),
                _ => {}
            }
            let wait = processing
                .check_after_secs
                .map_or(self.poll_interval, Duration::from_secs)
                .min(self.media_wait);
            if tokio::time::Instant::now() + wait > deadline {
                return Err(PlatformFailure::new(
                    ErrorClass::Retryable,
                    P,
                    format!("media {media_id} is still processing"),
                )
                .with_herald_code(Code::Processing));
            }
            tokio::time::sleep(wait).await;
            let (next, seen) = self.status(token, media_id).await?;
            processing = next;
            rate = Some(seen);
        }
    }

    /// One STATUS read (`GET /2/media/upload?media_id=`); no `processing_info` means ready.
    async fn status(
        &self,
        token: &SecretString,
        media_id: &str,
    ) -> Result<(Processing, crate::rate::RateObservation), PlatformFailure> {
        let request = self
            .http
            .client()
            .get(self.config.api_url.join("/2/media/upload"))
            .query(&[("media_id", media_id)])
            .bearer_auth(token.expose_secret());
        let reply = self.http.send(P, request, Sent::Repeatable).await?;
        let reply = reply.ok_or_failure(P, Call::new(Operation::Media))?;
        let status: Data<Media> = reply.json(P, Sent::Repeatable)?;
        let processing = status.data.processing_info.unwrap_or(Processing {
            state: "succeeded".into(),
            check_after_secs: None,
            error: None,
        });
        Ok((processing, reply.rate))
    }

    async fn post_tweet(
        &self,
        token: &SecretString,
        text: &str,
        media_ids: &[String],
        reply_to: Option<&str>,
    ) -> Result<Reply, PlatformFailure> {
        let mut body = json!({ "text": text });
        if !media_ids.is_empty() {
            body["media"] = json!({ "media_ids": media_ids });
        }
        if let Some(id) = reply_to {
            body["reply"] = json!({ "in_reply_to_tweet_id": id });
        }
        let request = self
            .http
            .client()
            .post(self.config.api_url.join("/2/tweets"))
            .bearer_auth(token.expose_secret())
            .json(&body);
        let reply = self.http.send(P, request, Sent::Publishes).await?;
        let call = Call::new(Operation::Publish).with_media(!media_ids.is_empty());
        reply.ok_or_failure(P, call)
    }

    async fn publish(
        &self,
        ctx: &StepContext<'_>,
        text: &str,
        media_ids: &[String],
        reply_to: Option<&str>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let token = &ctx.account.access_token;
        let mut degraded = Vec::new();
        let reply = match self.post_tweet(token, text, media_ids, reply_to).await {
            Ok(reply) => reply,
            Err(failure)
                if classify::is_x_media_refusal(&failure)
                    && ctx.options.fallback == FallbackPolicy::Allow =>
            {
                tracing::warn!(code = ?failure.code(), "X refused the media; posting text-only");
                degraded.push(Degraded {
                    kind: DegradedKind::MediaDropped,
                    cause: failure,
                });
                self.post_tweet(token, text, &[], reply_to).await?
            }
            Err(failure) => return Err(failure),
        };
        let tweet: Data<Tweet> = reply.json(P, Sent::Publishes)?;
        let url = self.tweet_url(ctx.account, &tweet.data.id);
        let mut outcome = StepOutcome::new(tweet.data.id, reply.rate).with_url(Some(url));
        outcome.degraded = degraded;
        Ok(outcome)
    }

    pub(crate) fn tweet_url(&self, account: &Account, id: &str) -> String {
        match account.username.as_deref() {
            Some(username) => self
                .config
                .web_url
                .join(&format!("/{username}/status/{id}")),
            None => self.config.web_url.join(&format!("/i/web/status/{id}")),
        }
    }

    /// Pages back through the account's tweets since the send time (`start_time` less skew,
    /// `pagination_token` from `meta.next_token`). A spent read window (429: the free tier
    /// allows very few reads) cannot tell.
    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        let start = (since - lookup::SKEW).to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut search = lookup::Search::new(text, since, self.http.lookup_bounds());
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("max_results", "100"),
                ("start_time", start.as_str()),
                ("tweet.fields", "created_at"),
            ];
            if let Some(token) = token.as_deref() {
                query.push(("pagination_token", token));
            }
            let request = self
                .http
                .client()
                .get(
                    self.config
                        .api_url
                        .join(&format!("/2/users/{}/tweets", account.account_id)),
                )
                .query(&query)
                .bearer_auth(account.access_token.expose_secret());
            let reply = self.http.send(P, request, Sent::Repeatable).await?;
            let reply = match reply.ok_or_failure(P, Call::new(Operation::Read)) {
                Ok(reply) => reply,
                Err(failure) if failure.class == ErrorClass::RateLimited => {
                    tracing::info!(%failure, "X read window spent: the lookup cannot tell");
                    return Ok(Lookup::CannotKnow);
                }
                Err(failure) => return Err(failure),
            };
            #[derive(Deserialize)]
            struct Meta {
                next_token: Option<String>,
            }
            #[derive(Deserialize)]
            struct Page {
                #[serde(default)]
                data: Vec<Tweet>,
                meta: Option<Meta>,
            }
            let page: Page = reply.json(P, Sent::Repeatable)?;
            let next = page.meta.and_then(|m| m.next_token);
            let candidates = page.data.into_iter().map(|t| Candidate {
                url: Some(self.tweet_url(account, &t.id)),
                at: t.created_at.as_deref().and_then(lookup::parse_time),
                id: t.id,
                text: t.text,
            });
            if let Some(found) = search.page(candidates, next.is_some()) {
                return Ok(found);
            }
            token = next;
        }
    }
}

/// X takes 1-4 images, or one video or GIF alone: any other mix is refused before anything
/// is uploaded.
fn check_mix(media: &[MediaInput]) -> Result<(), PlatformFailure> {
    let alone = media
        .iter()
        .filter(|m| m.is_video() || m.content_type == "image/gif")
        .count();
    if alone > 0 && media.len() > 1 {
        let videos = media.iter().filter(|m| m.is_video()).count();
        return Err(unpublishable(
            P,
            format!(
                "media.mix: an X post carries up to 4 images, or exactly one video or GIF; \
                 this one has {} items of which {videos} video(s) and {} GIF(s)",
                media.len(),
                alone - videos
            ),
            "Post the video (or GIF) on its own, and the images in another post",
        ));
    }
    Ok(())
}

/// X's processing refused the media: permanent, with X's own reason.
fn processing_failed(media_id: &str, processing: &Processing) -> PlatformFailure {
    let reason = processing
        .error
        .as_ref()
        .and_then(|e| e.message.as_deref())
        .unwrap_or("no reason given");
    let mut failure = PlatformFailure::new(
        ErrorClass::Permanent,
        P,
        format!("X could not process media {media_id}: {reason}"),
    )
    .with_herald_code(Code::MediaInvalid)
    .with_hint(hints::X_MEDIA_PROCESSING);
    if let Some(name) = processing.error.as_ref().and_then(|e| e.name.as_deref()) {
        failure = failure.with_platform_code(name);
    }
    failure
}

/// The spooled video could not be read back (a worker's file went missing).
fn media_unreadable(err: &std::io::Error) -> PlatformFailure {
    PlatformFailure::new(
        ErrorClass::Retryable,
        P,
        format!("the video could not be read for upload: {err}"),
    )
    .with_herald_code(Code::MediaUnavailable)
}
