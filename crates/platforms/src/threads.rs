//! Threads: its own OAuth and Graph host (`graph.threads.net`, not graph.facebook.com as older
//! guides say), containers like Instagram's.
//!
//! - Connect: authorize at `{web}/oauth/authorize`; the code is exchanged with `POST
//!   {api}/oauth/access_token` (`{access_token, user_id}`, one hour), then straight on for a
//!   long-lived token (`GET {api}/access_token?grant_type=th_exchange_token`, 60 days).
//! - Refresh: `GET {api}/refresh_access_token?grant_type=th_refresh_token` (the token must be at
//!   least 24 hours old and unexpired; else reconnect).
//! - Publish: `container` (`POST /{user}/threads {media_type: TEXT|IMAGE, text, image_url?}`),
//!   `container:ready` (poll `status` until FINISHED), `publish` (`threads_publish
//!   {creation_id}`), then the `permalink`.
//! - Lookup: the user's recent threads, paged by `paging.cursors.after`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::{OAuthApp, ThreadsConfig};
use herald_domain::{Platform, PlatformFailure, PostContent};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::account::{Account, Identity, Target};
use crate::classify::{Call, Operation};
use crate::graph::{Created, Graph, RecentPosts, id_from_any};
use crate::hints;
use crate::http::{Http, HttpSettings, Sent};
use crate::lookup::Lookup;
use crate::oauth::{self, AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
use crate::steps::{Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable};

const P: Platform = Platform::Threads;
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
        if content.media.len() > 1 {
            return Err(unpublishable(
                P,
                "Herald posts at most one image to Threads",
                "Attach one image",
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "Herald publishes Threads posts without reply chains",
                "Send one text",
            ));
        }
        Ok(vec![
            Step::new(P, StepKey::container(), StepAction::CreateContainer),
            Step::new(P, StepKey::container_ready(), StepAction::AwaitContainer),
            Step::new(P, StepKey::publish(), StepAction::Publish),
        ])
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        let user = ctx.account.account_id.as_str();
        let token = &ctx.account.access_token;
        match step.action {
            StepAction::CreateContainer => {
                let body = match ctx.content.media.first() {
                    None => json!({ "media_type": "TEXT", "text": ctx.text() }),
                    Some(_) => {
                        let image_url = ctx.media(0)?.public_url.as_deref().ok_or_else(|| {
                            unpublishable(
                                P,
                                "Threads needs a public image URL",
                                hints::INSTAGRAM_IMAGE_URL,
                            )
                        })?;
                        json!({ "media_type": "IMAGE", "text": ctx.text(), "image_url": image_url })
                    }
                };
                let reply = self
                    .graph
                    .post(
                        &format!("/{user}/threads"),
                        token,
                        &body,
                        Sent::Repeatable,
                        Call::new(Operation::Media),
                    )
                    .await?;
                let container: Created = reply.json(P, Sent::Repeatable)?;
                Ok(StepOutcome::new(container.id, reply.rate))
            }
            StepAction::AwaitContainer => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                self.graph
                    .await_container(
                        container,
                        token,
                        "status",
                        self.poll_interval,
                        self.container_wait,
                    )
                    .await
            }
            StepAction::Publish => {
                let container = ctx.prior.require(P, &StepKey::container())?;
                let reply = self
                    .graph
                    .post(
                        &format!("/{user}/threads_publish"),
                        token,
                        &json!({ "creation_id": container }),
                        Sent::Publishes,
                        Call::new(Operation::Publish).with_media(!ctx.content.media.is_empty()),
                    )
                    .await?;
                let post: Created = reply.json(P, Sent::Publishes)?;
                let url = self.graph.field(&post.id, token, "permalink").await;
                Ok(StepOutcome::new(post.id, reply.rate).with_url(url))
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
