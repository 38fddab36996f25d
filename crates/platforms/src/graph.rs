//! The Graph machinery Facebook, Instagram and Threads share: versioned URLs, the access
//! token, JSON calls, permalinks, container polling, reading recent posts back for a lookup,
//! and Meta's OAuth (Facebook Login for Facebook and Instagram; Threads has its own in
//! `threads.rs`).
//!
//! The access token travels as the `access_token` query parameter, the way Meta documents
//! every call; `http.rs` keeps URLs out of every error message for that reason. Bodies are
//! JSON, except photo uploads (multipart `source`).
//!
//! Meta's OAuth: the dialog at `{web}/{version}/dialog/oauth`, the code exchanged with a `GET`
//! on `{api}/{version}/oauth/access_token`, and the short-lived user token immediately
//! exchanged for a long-lived one (`grant_type=fb_exchange_token`, about 60 days). There is no
//! refresh token: "refreshing" is the same exchange on the current long-lived token. Page
//! tokens fetched with a long-lived user token do not expire.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_config::{MetaConfig, OAuthApp};
use herald_domain::{ErrorClass, Platform, PlatformFailure, PostContent};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::account::Identity;
use crate::classify::{Call, Operation};
use crate::hints;
use crate::http::{Http, Reply, Sent};
use crate::lookup::{self, Candidate, Lookup};
use crate::oauth::{self, AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
use crate::steps::{Step, StepAction, StepKey, StepOutcome, comment_step};

/// The container flow Instagram and Threads share: for a carousel (more than one item) each
/// item's container is created and awaited, then the post's container is created, awaited
/// and published, and the first comment (if any) follows.
pub(crate) fn container_steps(platform: Platform, content: &PostContent) -> Vec<Step> {
    let count = content.media.len();
    let mut steps = Vec::new();
    if count > 1 {
        for index in 0..count {
            steps.push(Step::new(
                platform,
                StepKey::item(index),
                StepAction::CreateItem { index },
            ));
            steps.push(Step::new(
                platform,
                StepKey::item_ready(index),
                StepAction::AwaitItem { index },
            ));
        }
    }
    steps.extend([
        Step::new(platform, StepKey::container(), StepAction::CreateContainer),
        Step::new(
            platform,
            StepKey::container_ready(),
            StepAction::AwaitContainer,
        ),
        Step::new(platform, StepKey::publish(), StepAction::Publish),
    ]);
    steps.extend(comment_step(platform, content));
    steps
}

/// Graph calls for one platform at one base URL (`{api}/{version}`).
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub(crate) http: Http,
    pub(crate) platform: Platform,
    base: String,
}

/// `{id}` answers.
#[derive(Deserialize)]
pub(crate) struct Created {
    #[serde(deserialize_with = "id_from_any")]
    pub(crate) id: String,
}

pub(crate) fn id_from_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = Value::deserialize(d)?;
    oauth::id_string(&value).ok_or_else(|| serde::de::Error::custom("expected an id"))
}

impl Graph {
    pub(crate) fn new(http: Http, platform: Platform, base: String) -> Self {
        Self {
            http,
            platform,
            base,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        token: &SecretString,
        query: &[(&str, &str)],
        call: Call,
    ) -> Result<Reply, PlatformFailure> {
        let request = self
            .http
            .client()
            .get(self.url(path))
            .query(query)
            .query(&[("access_token", token.expose_secret())]);
        let reply = self
            .http
            .send(self.platform, request, Sent::Repeatable)
            .await?;
        reply.ok_or_failure(self.platform, call)
    }

    /// Creates a media container (Instagram's `/{ig}/media`, Threads' `/{user}/threads`): its
    /// id is the step's remote id. Creating one publishes nothing, so it may be sent again.
    pub(crate) async fn create_container(
        &self,
        path: &str,
        token: &SecretString,
        body: &Value,
    ) -> Result<StepOutcome, PlatformFailure> {
        let reply = self
            .post(
                path,
                token,
                body,
                Sent::Repeatable,
                Call::new(Operation::Media),
            )
            .await?;
        let container: Created = reply.json(self.platform, Sent::Repeatable)?;
        Ok(StepOutcome::new(container.id, reply.rate))
    }

    /// The first comment on `object` (a Facebook Page post or video, an Instagram media):
    /// both follow Graph's `POST /{object}/comments` with a `message`.
    pub(crate) async fn comment(
        &self,
        object: &str,
        token: &SecretString,
        message: &str,
    ) -> Result<StepOutcome, PlatformFailure> {
        let reply = self
            .post(
                &format!("/{object}/comments"),
                token,
                &serde_json::json!({ "message": message }),
                Sent::Publishes,
                Call::new(Operation::Publish),
            )
            .await?;
        let comment: Created = reply.json(self.platform, Sent::Publishes)?;
        Ok(StepOutcome::new(comment.id, reply.rate))
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        token: &SecretString,
        body: &Value,
        sent: Sent,
        call: Call,
    ) -> Result<Reply, PlatformFailure> {
        let request = self
            .http
            .client()
            .post(self.url(path))
            .query(&[("access_token", token.expose_secret())])
            .json(body);
        let reply = self.http.send(self.platform, request, sent).await?;
        reply.ok_or_failure(self.platform, call)
    }

    /// A field of an object (`permalink_url`, `permalink`); `None` if it cannot be read, since
    /// the post exists either way.
    pub(crate) async fn field(
        &self,
        id: &str,
        token: &SecretString,
        field: &str,
    ) -> Option<String> {
        let reply = self
            .get(
                &format!("/{id}"),
                token,
                &[("fields", field)],
                Call::new(Operation::Read),
            )
            .await
            .ok()?;
        let value: Value = serde_json::from_str(&reply.body).ok()?;
        value.get(field).and_then(Value::as_str).map(str::to_owned)
    }

    /// Polls a container until FINISHED (Instagram `status_code`, Threads `status`), sleeping
    /// `interval` between polls, for at most `wait`. An ERROR is permanent, with the
    /// platform's reason (Instagram's `status` text, Threads' `error_message`) in the message
    /// and the code (`ERROR/2207026`, `ERROR/INVALID_DURATION`), and the hint `error_hint`
    /// picks for that reason.
    pub(crate) async fn await_container(
        &self,
        container: &str,
        token: &SecretString,
        fields: ContainerFields,
        interval: Duration,
        wait: Duration,
        error_hint: fn(Option<&str>) -> &'static str,
    ) -> Result<StepOutcome, PlatformFailure> {
        let deadline = tokio::time::Instant::now() + wait;
        let query = format!("{},{}", fields.state, fields.reason);
        loop {
            let reply = self
                .get(
                    &format!("/{container}"),
                    token,
                    &[("fields", &query)],
                    Call::new(Operation::Read),
                )
                .await?;
            let value: Value = reply.json(self.platform, Sent::Repeatable)?;
            let status = value
                .get(fields.state)
                .and_then(Value::as_str)
                .unwrap_or_default();
            let reason = value.get(fields.reason).and_then(Value::as_str);
            let failed = |hint: &str| {
                let detail = reason.map(|m| format!(": {m}")).unwrap_or_default();
                let code = match reason.and_then(reason_code) {
                    Some(code) => format!("{status}/{code}"),
                    None => status.to_owned(),
                };
                PlatformFailure::new(
                    ErrorClass::Permanent,
                    self.platform,
                    format!("container {container} is {status}{detail}"),
                )
                .with_platform_code(code)
                .with_hint(hint)
            };
            match status {
                "FINISHED" | "PUBLISHED" => return Ok(StepOutcome::new(container, reply.rate)),
                "ERROR" => return Err(failed(error_hint(reason))),
                "EXPIRED" => return Err(failed(hints::INSTAGRAM_CONTAINER_EXPIRED)),
                _ => {}
            }
            if tokio::time::Instant::now() + interval > deadline {
                return Err(PlatformFailure::new(
                    ErrorClass::Retryable,
                    self.platform,
                    format!(
                        "container {container} is still {status} after {}s",
                        wait.as_secs()
                    ),
                )
                .with_platform_code("IN_PROGRESS")
                .with_hint(hints::INSTAGRAM_NOT_READY));
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// Which fields of a container say its state and, on ERROR, why.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContainerFields {
    /// IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED.
    pub(crate) state: &'static str,
    /// Instagram's `status` ("Error: Media upload has failed with error code 2207026."),
    /// Threads' `error_message` (`INVALID_DURATION`).
    pub(crate) reason: &'static str,
}

/// The code in an ERROR reason: the last number of Instagram's text (a subcode), or Threads'
/// whole `UPPER_SNAKE` value.
fn reason_code(reason: &str) -> Option<String> {
    let reason = reason.trim().trim_end_matches('.');
    if !reason.is_empty() && reason.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return Some(reason.to_owned());
    }
    reason
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|digits| digits.len() >= 4)
        .map(str::to_owned)
}

/// How one Graph edge lists an account's recent posts: the Page feed, Instagram media and
/// Threads threads name the same things differently.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecentPosts {
    /// The `fields` to ask for: the id, then the text, time and URL fields below.
    pub(crate) fields: &'static str,
    /// The post's text (`message`, `caption`, `text`).
    pub(crate) text: &'static str,
    /// When it was made (`created_time`, `timestamp`).
    pub(crate) time: &'static str,
    /// Its public URL (`permalink_url`, `permalink`).
    pub(crate) url: &'static str,
    /// Whether the edge filters by `since` (Instagram's media edge does not).
    pub(crate) since: bool,
    pub(crate) limit: &'static str,
}

/// One post of an edge: its id and the fields [`RecentPosts`] names.
#[derive(Deserialize)]
struct RecentPost {
    #[serde(deserialize_with = "id_from_any")]
    id: String,
    #[serde(flatten)]
    fields: Map<String, Value>,
}

impl Graph {
    /// Whether a post with `text` made at or after `since` is among the recent posts of the
    /// edge at `path`, paging back (`paging.cursors.after`, while `paging.next` says there is
    /// more) until the posts are older than `since`.
    pub(crate) async fn lookup_recent(
        &self,
        path: &str,
        token: &SecretString,
        edge: RecentPosts,
        text: &str,
        since: DateTime<Utc>,
    ) -> Result<Lookup, PlatformFailure> {
        let since_unix = (since - lookup::SKEW).timestamp().to_string();
        let mut search = lookup::Search::new(text, since, self.http.lookup_bounds());
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("fields", edge.fields)];
            if edge.since {
                query.push(("since", &since_unix));
            }
            query.push(("limit", edge.limit));
            if let Some(after) = after.as_deref() {
                query.push(("after", after));
            }
            let reply = self
                .get(path, token, &query, Call::new(Operation::Read))
                .await?;
            #[derive(Deserialize)]
            struct Cursors {
                after: Option<String>,
            }
            #[derive(Deserialize)]
            struct Paging {
                cursors: Option<Cursors>,
                next: Option<String>,
            }
            #[derive(Deserialize)]
            struct Page {
                #[serde(default)]
                data: Vec<RecentPost>,
                paging: Option<Paging>,
            }
            let page: Page = reply.json(self.platform, Sent::Repeatable)?;
            let next = page
                .paging
                .filter(|p| p.next.is_some())
                .and_then(|p| p.cursors)
                .and_then(|c| c.after);
            let field = |post: &RecentPost, name: &str| {
                post.fields
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let candidates: Vec<Candidate> = page
                .data
                .into_iter()
                .map(|post| Candidate {
                    at: field(&post, edge.time)
                        .as_deref()
                        .and_then(lookup::parse_time),
                    text: field(&post, edge.text).unwrap_or_default(),
                    url: field(&post, edge.url),
                    id: post.id,
                })
                .collect();
            if let Some(found) = search.page(candidates, next.is_some()) {
                return Ok(found);
            }
            after = next;
        }
    }
}

/// One entry of `/me/accounts`.
#[derive(Deserialize)]
pub(crate) struct PageEntry {
    #[serde(deserialize_with = "id_from_any")]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) access_token: Option<SecretString>,
    #[serde(default)]
    pub(crate) instagram_business_account: Option<Created>,
}

/// Facebook Login for one Meta platform (Facebook or Instagram).
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) graph: Graph,
    config: MetaConfig,
}

impl Meta {
    pub(crate) fn new(http: Http, platform: Platform, config: &MetaConfig) -> Self {
        let base = config.api_url.join(&format!("/{}", config.graph_version));
        Self {
            graph: Graph::new(http, platform, base),
            config: config.clone(),
        }
    }

    fn platform(&self) -> Platform {
        self.graph.platform
    }

    fn app(&self) -> Result<&OAuthApp, PlatformFailure> {
        oauth::configured(self.platform(), self.config.app.as_ref())
    }

    pub(crate) fn authorize_url(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<AuthorizeUrl, PlatformFailure> {
        let app = self.app()?;
        let state = oauth::state_or_new(req.state.as_ref());
        let scope = self.config.scopes.join(",");
        let url = oauth::url_with(
            self.platform(),
            &self
                .config
                .web_url
                .join(&format!("/{}/dialog/oauth", self.config.graph_version)),
            &[
                ("client_id", &app.client_id),
                ("redirect_uri", &app.redirect_uri),
                ("state", &state),
                ("scope", &scope),
                ("response_type", "code"),
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

    async fn token_get(
        &self,
        query: &[(&str, &str)],
        operation: Operation,
    ) -> Result<TokenSet, PlatformFailure> {
        let request = self
            .graph
            .http
            .client()
            .get(self.graph.url("/oauth/access_token"))
            .query(query);
        oauth::request_tokens(&self.graph.http, self.platform(), request, operation).await
    }

    /// Code -> short-lived user token -> long-lived user token.
    pub(crate) async fn exchange(
        &self,
        exchange: &CodeExchange,
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app()?;
        let short = self
            .token_get(
                &[
                    ("client_id", &app.client_id),
                    ("redirect_uri", &app.redirect_uri),
                    ("client_secret", app.client_secret.expose_secret()),
                    ("code", exchange.code.expose_secret()),
                ],
                Operation::CodeExchange,
            )
            .await?;
        let mut long = self
            .long_lived(&short.access_token, Operation::CodeExchange)
            .await?;
        if long.scopes.is_empty() {
            long.scopes = short.scopes;
        }
        Ok(long)
    }

    /// "Refresh": exchange the current long-lived token for a fresh one.
    pub(crate) async fn extend(&self, token: &SecretString) -> Result<TokenSet, PlatformFailure> {
        self.long_lived(token, Operation::Refresh).await
    }

    async fn long_lived(
        &self,
        token: &SecretString,
        operation: Operation,
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app()?;
        self.token_get(
            &[
                ("grant_type", "fb_exchange_token"),
                ("client_id", &app.client_id),
                ("client_secret", app.client_secret.expose_secret()),
                ("fb_exchange_token", token.expose_secret()),
            ],
            operation,
        )
        .await
    }

    pub(crate) async fn identity(&self, token: &SecretString) -> Result<Identity, PlatformFailure> {
        let reply = self
            .graph
            .get(
                "/me",
                token,
                &[("fields", "id,name")],
                Call::new(Operation::Connect),
            )
            .await?;
        #[derive(Deserialize)]
        struct Me {
            #[serde(deserialize_with = "id_from_any")]
            id: String,
            #[serde(default)]
            name: Option<String>,
        }
        let me: Me = reply.json(self.platform(), Sent::Repeatable)?;
        Ok(Identity {
            account_id: me.id,
            name: me.name,
            username: None,
            email: None,
        })
    }

    /// The user's Pages with their tokens and linked Instagram accounts, following `paging.next`
    /// (at most ten pages of results).
    pub(crate) async fn pages(
        &self,
        token: &SecretString,
    ) -> Result<Vec<PageEntry>, PlatformFailure> {
        #[derive(Deserialize)]
        struct Accounts {
            #[serde(default)]
            data: Vec<PageEntry>,
            #[serde(default)]
            paging: Option<Paging>,
        }
        #[derive(Deserialize)]
        struct Paging {
            #[serde(default)]
            next: Option<String>,
        }
        let mut pages = Vec::new();
        let mut reply = self
            .graph
            .get(
                "/me/accounts",
                token,
                &[("fields", "id,name,access_token,instagram_business_account")],
                Call::new(Operation::Connect),
            )
            .await?;
        for _ in 0..10 {
            let accounts: Accounts = reply.json(self.platform(), Sent::Repeatable)?;
            pages.extend(accounts.data);
            let Some(next) = accounts.paging.and_then(|p| p.next) else {
                break;
            };
            let request = self.graph.http.client().get(next);
            reply = self
                .graph
                .http
                .send(self.platform(), request, Sent::Repeatable)
                .await?
                .ok_or_failure(self.platform(), Call::new(Operation::Connect))?;
        }
        Ok(pages)
    }
}
