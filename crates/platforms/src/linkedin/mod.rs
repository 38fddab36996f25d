//! LinkedIn: two apps, two authors, two publishing APIs.
//!
//! - Apps: the personal app ("Share on LinkedIn", `w_member_social`) and the company app
//!   ("Community Management API", `w_organization_social r_organization_admin ...`) share one
//!   callback; the connection's [`AppType`] picks the client credentials and scopes.
//! - Identity: `GET /v2/userinfo` (`sub` -> `urn:li:person:{sub}`). Company Pages: the
//!   organizations the member administers, from the current `GET /rest/organizationAcls`
//!   (flow `current`) or the older `GET /v2/organizationalEntityAcls` with the
//!   `organizationalTarget` projection (flow `legacy`); authors `urn:li:organization:{id}`.
//! - Tokens: 60 days; refresh tokens exist only for approved partner apps
//!   (`platforms.linkedin.partner_app`); otherwise an expired token means reconnect.
//! - Publish, current flow (default): `media:0` = `POST /rest/images?action=initializeUpload`
//!   then `PUT` the bytes; `media:0:ready` polls `GET /rest/images/{urn}` until AVAILABLE for up
//!   to `image_wait` (20 s); `publish` = `POST /rest/posts` with `commentary` in "little text"
//!   (reserved characters escaped), the post URN in `x-restli-id`.
//! - Several images (current flow): each one is `media:{i}` and `media:{i}:ready` as above,
//!   and the post carries them in `content.multiImage.images` (2 to 20); one image stays
//!   `content.media`.
//! - Video (current flow): `media:0` uploads it in parts through the Videos API and
//!   `media:0:ready` waits for AVAILABLE (see `video.rs`); the post carries the video URN in
//!   `content.media`. A video goes alone: LinkedIn's multiImage takes only images. The plan
//!   sees only media references, so the first upload step refuses a video among other media
//!   (the worker has fetched them by then and knows their kinds), before anything is sent.
//! - First comment: `comment` = `POST /rest/socialActions/{post URN}/comments` with the
//!   author as `actor` and the post as `object`, after `publish`; its URN comes back in
//!   `x-restli-id` (or the body's `$URN`).
//! - Publish, legacy flow: `POST /v2/assets?action=registerUpload`, `PUT`, the fixed
//!   `image_wait`, `POST /v2/ugcPosts` with the asset URN. One image at most, no video.
//! - Fallback: "ShareMedia.media (URN) is missing" means LinkedIn rejected the media:
//!   under [`FallbackPolicy::Allow`] the post goes out text-only and reports `media_dropped`.
//! - Lookup: `GET /rest/posts?q=author&author={urn}` (a FINDER), by unescaped commentary,
//!   paged by `start`/`count`; a member app without `r_member_social` (403) cannot tell. A
//!   duplicate refusal names the original, read back with `GET /rest/posts/{urn}`.

use std::time::Duration;

use herald_config::{LinkedinConfig, LinkedinFlow, OAuthApp};
use herald_domain::{AppType, Code, ErrorClass, Platform, PlatformFailure, PostContent};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

mod publish;
mod video;

use publish::Asset;

use crate::account::{Account, Identity, Target, TargetKind};
use crate::classify::{self, Call, Operation};
use crate::hints;
use crate::http::{Http, HttpSettings, Sent};
use crate::oauth::{self, AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
use crate::steps::{
    Step, StepAction, StepContext, StepKey, StepOutcome, comment_step, unpublishable,
};

const P: Platform = Platform::Linkedin;
/// A multiImage post's limit.
const MAX_IMAGES: usize = 20;
/// Characters "little text" reserves; each is escaped with a backslash in `commentary`.
const RESERVED: &[char] = &[
    '\\', '<', '>', '#', '~', '_', '|', '[', ']', '*', '(', ')', '{', '}', '@',
];

#[derive(Debug, Clone)]
pub(crate) struct Linkedin {
    http: Http,
    config: LinkedinConfig,
    poll_interval: Duration,
    /// How long a video may stay PROCESSING before its step gives up for this attempt.
    video_wait: Duration,
}

impl Linkedin {
    pub(crate) fn new(http: Http, config: &LinkedinConfig, settings: &HttpSettings) -> Self {
        Self {
            http,
            config: config.clone(),
            poll_interval: settings.poll_interval,
            video_wait: settings.container_wait,
        }
    }

    fn app(&self, app_type: Option<AppType>) -> Result<&OAuthApp, PlatformFailure> {
        match app_type.unwrap_or(AppType::Personal) {
            AppType::Personal => oauth::configured(P, self.config.personal.as_ref()),
            AppType::Company => oauth::configured(P, self.config.company.as_ref()),
        }
    }

    /// A `/rest` request with the versioning headers.
    fn rest(&self, request: RequestBuilder, token: &SecretString) -> RequestBuilder {
        request
            .bearer_auth(token.expose_secret())
            .header("LinkedIn-Version", &self.config.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    pub(crate) fn authorize_url(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<AuthorizeUrl, PlatformFailure> {
        let app_type = req.app_type.unwrap_or(AppType::Personal);
        let app = self.app(Some(app_type))?;
        let scopes = match app_type {
            AppType::Personal => &self.config.personal_scopes,
            AppType::Company => &self.config.company_scopes,
        };
        let state = oauth::state_or_new(req.state.as_ref());
        let scope = scopes.join(" ");
        let url = oauth::url_with(
            P,
            &self.config.web_url.join("/oauth/v2/authorization"),
            &[
                ("response_type", "code"),
                ("client_id", &app.client_id),
                ("redirect_uri", &app.redirect_uri),
                ("state", &state),
                ("scope", &scope),
            ],
        )?;
        Ok(AuthorizeUrl {
            url,
            state,
            pkce_verifier: None,
            app_type: Some(app_type),
            scopes: scopes.clone(),
        })
    }

    async fn token(
        &self,
        operation: Operation,
        form: &[(&str, &str)],
    ) -> Result<TokenSet, PlatformFailure> {
        let request = self
            .http
            .client()
            .post(self.config.web_url.join("/oauth/v2/accessToken"))
            .form(form);
        oauth::request_tokens(&self.http, P, request, operation).await
    }

    pub(crate) async fn exchange(
        &self,
        exchange: &CodeExchange,
    ) -> Result<TokenSet, PlatformFailure> {
        let app = self.app(exchange.app_type)?;
        self.token(
            Operation::CodeExchange,
            &[
                ("grant_type", "authorization_code"),
                ("code", exchange.code.expose_secret()),
                ("redirect_uri", &app.redirect_uri),
                ("client_id", &app.client_id),
                ("client_secret", app.client_secret.expose_secret()),
            ],
        )
        .await
    }

    pub(crate) async fn refresh(
        &self,
        account: &Account,
        refresh_token: Option<&SecretString>,
    ) -> Result<TokenSet, PlatformFailure> {
        let refresh_token = match refresh_token {
            Some(token) if self.config.partner_app => token,
            _ => {
                return Err(PlatformFailure::new(
                    ErrorClass::ReconnectRequired,
                    P,
                    "LinkedIn issues refresh tokens only to approved partner apps",
                )
                .with_herald_code(Code::NoRefresh)
                .with_hint(hints::LINKEDIN_TOKEN));
            }
        };
        let app = self.app(account.app_type)?;
        self.token(
            Operation::Refresh,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
                ("client_id", &app.client_id),
                ("client_secret", app.client_secret.expose_secret()),
            ],
        )
        .await
    }

    pub(crate) async fn identity(&self, token: &SecretString) -> Result<Identity, PlatformFailure> {
        let request = self
            .http
            .client()
            .get(self.config.api_url.join("/v2/userinfo"))
            .bearer_auth(token.expose_secret());
        let reply = self.http.send(P, request, Sent::Repeatable).await?;
        #[derive(Deserialize)]
        struct UserInfo {
            sub: String,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            email: Option<String>,
        }
        let me: UserInfo = reply
            .ok_or_failure(P, Call::new(Operation::Connect))?
            .json(P, Sent::Repeatable)?;
        Ok(Identity {
            account_id: me.sub,
            name: me.name,
            username: None,
            email: me.email,
        })
    }

    pub(crate) async fn targets(
        &self,
        app_type: Option<AppType>,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        if app_type != Some(AppType::Company) {
            return Ok(vec![Target::profile(self.identity(token).await?)]);
        }
        let organizations = match self.config.flow {
            LinkedinFlow::Current => self.organization_acls(token).await?,
            LinkedinFlow::Legacy => self.organizational_entity_acls(token).await?,
        };
        if organizations.is_empty() {
            return Err(classify::no_targets(P));
        }
        Ok(organizations)
    }

    /// Current: `GET /rest/organizationAcls`, names from `GET /rest/organizations/{id}`.
    async fn organization_acls(
        &self,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        let request = self
            .rest(
                self.http
                    .client()
                    .get(self.config.api_url.join("/rest/organizationAcls")),
                token,
            )
            .query(&[
                ("q", "roleAssignee"),
                ("role", "ADMINISTRATOR"),
                ("state", "APPROVED"),
            ]);
        let call = Call::new(Operation::Connect).for_organization(true);
        let reply = self
            .http
            .send(P, request, Sent::Repeatable)
            .await?
            .ok_or_failure(P, call)?;
        let acls: Elements = reply.json(P, Sent::Repeatable)?;
        let mut targets = Vec::new();
        for acl in acls.elements {
            let Some(urn) = acl.get("organization").and_then(Value::as_str) else {
                continue;
            };
            let id = urn.rsplit(':').next().unwrap_or(urn).to_owned();
            let mut target = Target::new(TargetKind::LinkedinOrganization, id.clone());
            target.name = organization_name(acl.get("organization~"));
            if target.name.is_none() {
                let request = self.rest(
                    self.http.client().get(
                        self.config
                            .api_url
                            .join(&format!("/rest/organizations/{id}")),
                    ),
                    token,
                );
                if let Ok(reply) = self.http.send(P, request, Sent::Repeatable).await
                    && reply.is_success()
                {
                    let org: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
                    target.name = organization_name(Some(&org));
                    target.username = org
                        .get("vanityName")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                }
            }
            targets.push(target);
        }
        Ok(targets)
    }

    /// The older way: `GET /v2/organizationalEntityAcls` with the `organizationalTarget` projection.
    async fn organizational_entity_acls(
        &self,
        token: &SecretString,
    ) -> Result<Vec<Target>, PlatformFailure> {
        let request = self
            .http
            .client()
            .get(self.config.api_url.join("/v2/organizationalEntityAcls"))
            .bearer_auth(token.expose_secret())
            .query(&[
                ("q", "roleAssignee"),
                ("role", "ADMINISTRATOR"),
                ("state", "APPROVED"),
                (
                    "projection",
                    "(elements*(organizationalTarget~(id,name,vanityName)))",
                ),
            ]);
        let call = Call::new(Operation::Connect).for_organization(true);
        let reply = self
            .http
            .send(P, request, Sent::Repeatable)
            .await?
            .ok_or_failure(P, call)?;
        let acls: Elements = reply.json(P, Sent::Repeatable)?;
        Ok(acls
            .elements
            .iter()
            .filter_map(|acl| {
                let urn = acl.get("organizationalTarget").and_then(Value::as_str)?;
                let org = acl.get("organizationalTarget~");
                let mut target = Target::new(
                    TargetKind::LinkedinOrganization,
                    urn.rsplit(':').next().unwrap_or(urn),
                );
                target.name = organization_name(org);
                target.username = org
                    .and_then(|o| o.get("vanityName"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Some(target)
            })
            .collect())
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        let count = content.media.len();
        if count > MAX_IMAGES {
            return Err(unpublishable(
                P,
                format!("a LinkedIn post takes at most {MAX_IMAGES} images, not {count}"),
                "Attach 20 images or fewer",
            ));
        }
        if count > 1 && self.config.flow == LinkedinFlow::Legacy {
            return Err(unpublishable(
                P,
                format!("the legacy LinkedIn flow posts one image, not {count}"),
                hints::LINKEDIN_LEGACY_MEDIA,
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "LinkedIn posts are not threads",
                "Send one text",
            ));
        }
        let mut steps = Vec::new();
        for index in 0..count {
            steps.push(Step::new(
                P,
                StepKey::media(index),
                StepAction::UploadMedia { index },
            ));
            steps.push(Step::new(
                P,
                StepKey::media_ready(index),
                StepAction::AwaitMedia { index },
            ));
        }
        steps.push(Step::new(P, StepKey::publish(), StepAction::Publish));
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
                self.check_media_mix(ctx)?;
                if ctx.media(index)?.is_video() {
                    self.upload_video(ctx, index).await
                } else {
                    self.upload(ctx, index).await
                }
            }
            StepAction::AwaitMedia { index } => {
                let urn = ctx.prior.require(P, &StepKey::media(index))?;
                let token = &ctx.account.access_token;
                if urn.starts_with("urn:li:video:") {
                    return self.await_available(token, Asset::Video, urn).await;
                }
                match self.config.flow {
                    LinkedinFlow::Current => self.await_available(token, Asset::Image, urn).await,
                    LinkedinFlow::Legacy => {
                        // The legacy flow: a fixed processing wait.
                        tokio::time::sleep(self.config.image_wait).await;
                        Ok(StepOutcome::new(urn, Default::default()))
                    }
                }
            }
            StepAction::Publish => {
                self.check_media_mix(ctx)?;
                self.publish(ctx).await
            }
            StepAction::Comment => self.comment(ctx).await,
            _ => Err(oauth::unsupported(P, "this step")),
        }
    }

    /// A video goes alone, and only through the current flow (refused before any upload).
    fn check_media_mix(&self, ctx: &StepContext<'_>) -> Result<(), PlatformFailure> {
        let videos = ctx.media.iter().filter(|m| m.is_video()).count();
        if videos == 0 {
            return Ok(());
        }
        if ctx.media.len() > 1 {
            return Err(unpublishable(
                P,
                format!(
                    "a LinkedIn post carries one video alone, or 2 to 20 images: this one has {videos} video(s) among {} media items",
                    ctx.media.len()
                ),
                hints::LINKEDIN_VIDEO_ALONE,
            ));
        }
        if self.config.flow == LinkedinFlow::Legacy {
            return Err(unpublishable(
                P,
                "the legacy LinkedIn flow posts no video",
                hints::LINKEDIN_LEGACY_MEDIA,
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Elements {
    #[serde(default)]
    elements: Vec<Value>,
}

fn string_at(value: &Value, pointer: &str) -> Result<String, PlatformFailure> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Retryable,
                P,
                format!("LinkedIn's answer has no `{pointer}`"),
            )
            .with_herald_code(Code::Shape)
        })
}

/// `localizedName`, or `name` as a string or a multi-locale `{localized:{en_US:..}}`.
fn organization_name(org: Option<&Value>) -> Option<String> {
    let org = org?;
    if let Some(name) = org.get("localizedName").and_then(Value::as_str) {
        return Some(name.to_owned());
    }
    match org.get("name")? {
        Value::String(name) => Some(name.clone()),
        Value::Object(name) => name
            .get("localized")
            .and_then(Value::as_object)
            .and_then(|l| l.values().find_map(Value::as_str))
            .map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn organization_names_come_in_three_shapes() {
        let localized = json!({"localizedName": "Herald"});
        let plain = json!({"name": "Herald"});
        let multi = json!({"name": {"localized": {"en_US": "Herald"}, "preferredLocale": {}}});
        for org in [localized, plain, multi] {
            assert_eq!(organization_name(Some(&org)).as_deref(), Some("Herald"));
        }
    }
}
