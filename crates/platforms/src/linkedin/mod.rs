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
//! - Publish, legacy flow: `POST /v2/assets?action=registerUpload`, `PUT`, the fixed
//!   `image_wait`, `POST /v2/ugcPosts` with the asset URN.
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

use crate::account::{Account, Identity, Target, TargetKind};
use crate::classify::{self, Call, Operation};
use crate::hints;
use crate::http::{Http, HttpSettings, Sent};
use crate::oauth::{self, AuthorizeRequest, AuthorizeUrl, CodeExchange, TokenSet};
use crate::steps::{Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable};

const P: Platform = Platform::Linkedin;
/// Characters "little text" reserves; each is escaped with a backslash in `commentary`.
const RESERVED: &[char] = &[
    '\\', '<', '>', '#', '~', '_', '|', '[', ']', '*', '(', ')', '{', '}', '@',
];

#[derive(Debug, Clone)]
pub(crate) struct Linkedin {
    http: Http,
    config: LinkedinConfig,
    poll_interval: Duration,
}

impl Linkedin {
    pub(crate) fn new(http: Http, config: &LinkedinConfig, settings: &HttpSettings) -> Self {
        Self {
            http,
            config: config.clone(),
            poll_interval: settings.poll_interval,
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
        if content.media.len() > 1 {
            return Err(unpublishable(
                P,
                "Herald posts at most one image to LinkedIn",
                "Attach one image",
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
        if !content.media.is_empty() {
            steps.push(Step::new(
                P,
                StepKey::media(0),
                StepAction::UploadMedia { index: 0 },
            ));
            steps.push(Step::new(
                P,
                StepKey::media_ready(0),
                StepAction::AwaitMedia { index: 0 },
            ));
        }
        steps.push(Step::new(P, StepKey::publish(), StepAction::Publish));
        Ok(steps)
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        match step.action {
            StepAction::UploadMedia { index } => self.upload(ctx, index).await,
            StepAction::AwaitMedia { index } => {
                let urn = ctx.prior.require(P, &StepKey::media(index))?;
                match self.config.flow {
                    LinkedinFlow::Current => self.await_image(&ctx.account.access_token, urn).await,
                    LinkedinFlow::Legacy => {
                        // The legacy flow: a fixed processing wait.
                        tokio::time::sleep(self.config.image_wait).await;
                        Ok(StepOutcome::new(urn, Default::default()))
                    }
                }
            }
            StepAction::Publish => self.publish(ctx).await,
            _ => Err(oauth::unsupported(P, "this step")),
        }
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
