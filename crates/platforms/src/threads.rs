//! Threads: its own OAuth and Graph host (`graph.threads.net`, not graph.facebook.com as older
//! guides say), containers like Instagram's.
//!
//! - Connect: authorize at `{web}/oauth/authorize`; the code is exchanged with `POST
//!   {api}/oauth/access_token` (`{access_token, user_id}`, one hour), then straight on for a
//!   long-lived token (`GET {api}/access_token?grant_type=th_exchange_token`, 60 days).
//! - Refresh: `GET {api}/refresh_access_token?grant_type=th_refresh_token` (the token must be at
//!   least 24 hours old and unexpired; else reconnect).
//! - Publish: `container` (`POST /{user}/threads {media_type: TEXT|IMAGE|VIDEO, text,
//!   image_url | video_url}`), `container:ready` (poll `status,error_message` until FINISHED;
//!   an ERROR names its reason, `INVALID_DURATION`, `FAILED_DOWNLOADING_VIDEO`, …),
//!   `publish` (`threads_publish {creation_id}`), then the `permalink`.
//! - Carousel (2 to 20 items, images and videos mixed): the same shape as Instagram's, item
//!   containers with `is_carousel_item` (`item:{i}`), each awaited, then the `CAROUSEL`
//!   parent with the `children` and the `text`.
//! - First comment: a reply, inside the one `comment` step: a TEXT container with
//!   `reply_to_id` set to the published post, awaited, then `threads_publish`ed (needs
//!   `threads_manage_replies`; replies have their own quota).
//! - Lookup: the user's recent threads, paged by `paging.cursors.after`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::{OAuthApp, ThreadsConfig};
use herald_domain::{Platform, PlatformFailure, PostContent};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account::{Account, Identity, Target};
use crate::classify::{Call, Operation};
use crate::graph::{self, ContainerFields, Created, Graph, RecentPosts, id_from_any};
use crate::hints;
use crate::http::{Http, HttpSettings, Sent};
use crate::instagram::{VideoSpec, explain};
use crate::lookup::Lookup;
use crate::oauth::{self, AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
use crate::steps::{
    MediaInput, Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable,
};

const P: Platform = Platform::Threads;
/// Threads videos: at most 5 minutes.
const VIDEOS: VideoSpec = VideoSpec {
    name: "Threads videos",
    min_seconds: 0.0,
    max_seconds: 300.0,
};
/// A carousel's size range.
const CAROUSEL: std::ops::RangeInclusive<usize> = 2..=20;
/// A container's state is `status`; on ERROR, `error_message` says why.
const STATUS: ContainerFields = ContainerFields {
    state: "status",
    reason: "error_message",
};
/// The user's threads since the publish time.
const THREADS: RecentPosts = RecentPosts {
    fields: "id,text,timestamp,permalink",
    text: "text",
    time: "timestamp",
    url: "permalink",
    since: true,
    limit: "50",
};

#[derive(Debug, Clone)]
pub(crate) struct Threads {
    graph: Graph,
    config: ThreadsConfig,
    poll_interval: Duration,
    container_wait: Duration,
}

impl Threads {
    pub(crate) fn new(http: Http, config: &ThreadsConfig, settings: &HttpSettings) -> Self {
        let base = config.api_url.join(&format!("/{}", config.api_version));
        Self {
            graph: Graph::new(http, P, base),
            config: config.clone(),
            poll_interval: settings.poll_interval,
            container_wait: settings.container_wait,
        }
    }

    fn app(&self) -> Result<&OAuthApp, PlatformFailure> {
        oauth::configured(P, self.config.app.as_ref())
    }

    pub(crate) fn authorize_url(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<AuthorizeUrl, PlatformFailure> {
        let app = self.app()?;
        let state = oauth::state_or_new(req.state.as_ref());
        let scope = self.config.scopes.join(",");
        let url = oauth::url_with(
            P,
            &self.config.web_url.join("/oauth/authorize"),
            &[
                ("client_id", &app.client_id),
                ("redirect_uri", &app.redirect_uri),
                ("scope", &scope),
                ("response_type", "code"),
                ("state", &state),
            ],
        )?;
        Ok(AuthorizeUrl {
            url,
            state,
            pkce_verifier: None,
            app_type: None,
            scopes: self.config.scopes.clone(),
        })
    }

    async fn token(
        &self,
        request: reqwest::RequestBuilder,
        operation: Operation,
    ) -> Result<TokenSet, PlatformFailure> {
        oauth::request_tokens(&self.graph.http, P, request, operation).await
    }

    /// Code -> short-lived token (with the user id) -> long-lived token.
    pub(crate) async fn exchange(
        &self,
        exchange: &CodeExchange,
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app()?;
        let client = self.graph.http.client();
        let short = self
            .token(
                client
                    .post(self.config.api_url.join("/oauth/access_token"))
                    .form(&[
                        ("client_id", app.client_id.as_str()),
                        ("client_secret", app.client_secret.expose_secret()),
                        ("grant_type", "authorization_code"),
                        ("redirect_uri", &app.redirect_uri),
                        ("code", exchange.code.expose_secret()),
                    ]),
                Operation::CodeExchange,
            )
            .await?;
        let mut long = self
            .token(
                client
                    .get(self.config.api_url.join("/access_token"))
                    .query(&[
                        ("grant_type", "th_exchange_token"),
                        ("client_secret", app.client_secret.expose_secret()),
                        ("access_token", short.access_token.expose_secret()),
                    ]),
                Operation::CodeExchange,
            )
            .await?;
        long.user_id = long.user_id.or(short.user_id);
        if long.scopes.is_empty() {
            long.scopes = short.scopes;
        }
        Ok(long)
    }

    pub(crate) async fn refresh(&self, token: &SecretString) -> Result<TokenSet, PlatformFailure> {
        let request = self
            .graph
            .http
            .client()
            .get(self.config.api_url.join("/refresh_access_token"))
            .query(&[
                ("grant_type", "th_refresh_token"),
                ("access_token", token.expose_secret()),
            ]);
        self.token(request, Operation::Refresh).await
    }

    pub(crate) async fn identity(&self, token: &SecretString) -> Result<Identity, PlatformFailure> {
        let reply = self
            .graph
            .get(
                "/me",
                token,
                &[("fields", "id,username,name")],
                Call::new(Operation::Connect),
            )
            .await?;
        #[derive(Deserialize)]
        struct Me {
            #[serde(deserialize_with = "id_from_any")]
            id: String,
            #[serde(default)]
            username: Option<String>,
            #[serde(default)]
            name: Option<String>,
        }
        let me: Me = reply.json(P, Sent::Repeatable)?;
        Ok(Identity {
            account_id: me.id,
            name: me.name,
            username: me.username,
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
        let count = content.media.len();
        if count > *CAROUSEL.end() {
            return Err(unpublishable(
                P,
                format!(
                    "media: a Threads carousel takes at most {} items; this post has {count}",
                    CAROUSEL.end()
                ),
                hints::THREADS_CAROUSEL_SIZE,
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "Herald publishes Threads posts without reply chains",
                "Send one text",
            ));
        }
        Ok(graph::container_steps(P, content))
    }

    /// Media item `index` as container fields: its type and the public URL Threads fetches.
    fn media_fields(ctx: &StepContext<'_>, index: usize) -> Result<Value, PlatformFailure> {
        let media = ctx.media(index)?;
        let url = media.public_url.as_deref().ok_or_else(|| {
            unpublishable(
                P,
                format!("media {index}: Threads needs a public URL to fetch it from"),
                hints::INSTAGRAM_IMAGE_URL,
            )
        })?;
        Ok(if media.is_video() {
            json!({ "media_type": "VIDEO", "video_url": url })
        } else {
            json!({ "media_type": "IMAGE", "image_url": url })
        })
    }

    async fn create(
        &self,
        ctx: &StepContext<'_>,
        body: &Value,
    ) -> Result<StepOutcome, PlatformFailure> {
        let user = ctx.account.account_id.as_str();
        self.graph
            .create_container(&format!("/{user}/threads"), &ctx.account.access_token, body)
            .await
    }

    /// Polls a container of `media`; their kind picks the hint for an ERROR, and a single
    /// video is judged against Threads' spec for the message.
    async fn wait(
        &self,
        ctx: &StepContext<'_>,
        container: &str,
        media: &[MediaInput],
    ) -> Result<StepOutcome, PlatformFailure> {
        let error_hint: fn(Option<&str>) -> &'static str = match Media::of(media) {
            Media::Text => |_| hints::THREADS_TEXT_INVALID,
            Media::Image => |_| hints::THREADS_IMAGE_INVALID,
            Media::Video => video_hint,
        };
        self.graph
            .await_container(
                container,
                &ctx.account.access_token,
                STATUS,
                self.poll_interval,
                self.container_wait,
                error_hint,
            )
            .await
            .map_err(|mut failure| {
                if let [single] = media
                    && single.is_video()
                {
                    explain(&mut failure, Some(single), VIDEOS);
                }
                failure
            })
    }

    async fn publish(
        &self,
        ctx: &StepContext<'_>,
        container: &str,
        call: Call,
    ) -> Result<StepOutcome, PlatformFailure> {
        let user = ctx.account.account_id.as_str();
        let token = &ctx.account.access_token;
        let reply = self
            .graph
            .post(
                &format!("/{user}/threads_publish"),
                token,
                &json!({ "creation_id": container }),
                Sent::Publishes,
                call,
            )
            .await?;
        let post: Created = reply.json(P, Sent::Publishes)?;
        let url = self.graph.field(&post.id, token, "permalink").await;
        Ok(StepOutcome::new(post.id, reply.rate).with_url(url))
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let count = ctx.content.media.len();
        match step.action {
            StepAction::CreateItem { index } => {
                let mut body = Self::media_fields(ctx, index)?;
                body["is_carousel_item"] = json!(true);
                self.create(ctx, &body).await
            }
            StepAction::AwaitItem { index } => {
                let item = ctx.prior.require(P, &StepKey::item(index))?;
                ctx.media(index)?;
                self.wait(ctx, item, &ctx.media[index..=index]).await
            }
            StepAction::CreateContainer => {
                let body = match count {
                    0 => json!({ "media_type": "TEXT", "text": ctx.text() }),
                    1 => {
                        let mut body = Self::media_fields(ctx, 0)?;
                        body["text"] = json!(ctx.text());
                        body
                    }
                    _ => {
                        let children = (0..count)
                            .map(|i| ctx.prior.require(P, &StepKey::item(i)))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(",");
                        json!({ "media_type": "CAROUSEL", "children": children, "text": ctx.text() })
                    }
                };
                self.create(ctx, &body).await
            }
            StepAction::AwaitContainer => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                self.wait(ctx, container, ctx.media).await
            }
            StepAction::Publish => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                self.publish(
                    ctx,
                    container,
                    Call::new(Operation::Publish).with_media(count > 0),
                )
                .await
            }
            StepAction::Comment => {
                // The reply's container is made and awaited afresh on every attempt: an
                // orphaned container is harmless, and only the publish below makes it visible.
                let post = ctx.prior.require(P, &StepKey::publish())?;
                let text = ctx.content.first_comment.as_deref().unwrap_or_default();
                let body = json!({ "media_type": "TEXT", "text": text, "reply_to_id": post });
                let container = self.create(ctx, &body).await?;
                self.wait(ctx, &container.remote_id, &[]).await?;
                self.publish(ctx, &container.remote_id, Call::new(Operation::Publish))
                    .await
            }
            _ => Err(oauth::unsupported(P, "this step")),
        }
    }

    pub(crate) async fn lookup(
        &self,
        account: &Account,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        self.graph
            .lookup_recent(
                &format!("/{}/threads", account.account_id),
                &account.access_token,
                THREADS,
                text,
                since,
            )
            .await
    }
}

/// What a container holds, for the hint of its ERROR.
#[derive(Debug, Clone, Copy)]
enum Media {
    Text,
    Image,
    Video,
}

impl Media {
    fn of(media: &[MediaInput]) -> Self {
        if media.iter().any(MediaInput::is_video) {
            Media::Video
        } else if media.is_empty() {
            Media::Text
        } else {
            Media::Image
        }
    }
}

/// The hint for a video container in ERROR, by its documented `error_message`.
fn video_hint(reason: Option<&str>) -> &'static str {
    match reason.unwrap_or_default() {
        "FAILED_DOWNLOADING_VIDEO" => hints::THREADS_VIDEO_DOWNLOAD,
        "INVALID_DURATION" => hints::THREADS_VIDEO_DURATION,
        "INVALID_ASPEC_RATIO" | "INVALID_ASPECT_RATIO" => hints::THREADS_VIDEO_ASPECT,
        "INVALID_FRAME_RATE" => hints::THREADS_VIDEO_FRAME_RATE,
        "FAILED_PROCESSING_AUDIO" | "INVALID_AUDIO_CHANNELS" | "INVALID_AUDIO_CHANNEL_LAYOUT" => {
            hints::THREADS_VIDEO_AUDIO
        }
        _ => hints::THREADS_VIDEO_INVALID,
    }
}
