//! LinkedIn under `/linkedin` (www.linkedin.com and api.linkedin.com): OAuth, identity and
//! the organization ACLs. Images and posts, current and legacy, are in `linkedin_posts.rs`.
//!
//! What the simulator holds a client to:
//! - the token exchange carries `client_id` and `client_secret` in the form and the
//!   authorize call's redirect URI; codes work once; scopes outside the app's products are
//!   refused at authorize (`unauthorized_scope_error`), which is why company pages need the
//!   second app; refresh tokens exist only for partner apps (`linkedin.partner_app` or the
//!   app's `partner`), and refreshing does not extend them;
//! - `/rest/*` calls carry `LinkedIn-Version: YYYYMM` (missing: 400, retired: 426) and
//!   `X-Restli-Protocol-Version: 2.0.0`;
//! - bad, expired and revoked tokens answer 401 with serviceErrorCode 65600 / 65600 /
//!   65601; missing permissions 403 ACCESS_DENIED; `company_access_denied` refuses every
//!   organization call as before business verification;
//! - reading a member's posts (`GET /rest/posts?q=author&author=urn:li:person:...`) needs
//!   `r_member_social`, which LinkedIn keeps from new apps: the personal app's default scopes
//!   lack it, so the read is a 403 ACCESS_DENIED naming the permission unless a test grants
//!   it (`Fixtures::grant_scope`) and requests it. Organizations read with
//!   `r_organization_social`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};

use crate::fixtures::{AppFixture, AppPlatform, LinkedInOrganization};
use crate::oauth::{self, AccessToken, AuthorizeRules, Lookup, RefreshToken, Refusal, TokenKind};
use crate::request::{bearer, json};
use crate::state::{Platform, SharedSim, World};

pub(crate) use crate::linkedin_posts::LinkedInState;

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/linkedin/oauth/v2/authorization", get(authorize))
        .route("/linkedin/oauth/v2/accessToken", post(access_token))
        .route("/linkedin/v2/userinfo", get(userinfo))
        .route("/linkedin/rest/organizationAcls", get(organization_acls))
        .route(
            "/linkedin/v2/organizationalEntityAcls",
            get(organizational_entity_acls),
        )
        .merge(crate::linkedin_posts::routes())
}

// ---- errors -----------------------------------------------------------------------------

/// `{status, serviceErrorCode?, code?, message}`.
pub(crate) fn error(
    status: StatusCode,
    service_code: Option<u32>,
    code: Option<&str>,
    message: &str,
) -> Response {
    let mut body = json!({"status": status.as_u16(), "message": message});
    if let Some(service) = service_code {
        body["serviceErrorCode"] = json!(service);
    }
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    json(status, body)
}

/// The 403 for a read `may_read` refuses, naming the permission reading `author` needs.
pub(crate) fn read_denied(resource: &str, author: &str) -> Response {
    let permission = if author.starts_with("urn:li:organization:") {
        "r_organization_social"
    } else {
        "r_member_social"
    };
    error(
        StatusCode::FORBIDDEN,
        Some(100),
        Some("ACCESS_DENIED"),
        &format!(
            "Not enough permissions to access: {resource}; requires the {permission} permission"
        ),
    )
}

pub(crate) fn access_denied(resource: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        Some(100),
        Some("ACCESS_DENIED"),
        &format!("Not enough permissions to access: {resource}"),
    )
}

/// A 422 whose `errorDetails.inputErrors[0]` names the field and the code.
pub(crate) fn input_error(field: &str, code: &str, message: &str) -> Response {
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "status": 422,
            "message": message,
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "errorDetails": {"inputErrors": [{
                "code": code,
                "description": message,
                "input": {"inputPath": {"fieldPath": field}},
            }]},
        }),
    )
}

pub(crate) fn throttled(scope: &str) -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        Some(101),
        Some("TOO_MANY_REQUESTS"),
        &format!(
            "Resource level throttle {scope} DAY limit for calls to this resource is reached."
        ),
    )
}

pub(crate) fn fault_response(status: StatusCode) -> Response {
    error(
        status,
        None,
        None,
        status.canonical_reason().unwrap_or("Error"),
    )
}

pub(crate) fn fault_rate_limited() -> Response {
    throttled("APPLICATION")
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        json!({"error": error, "error_description": description}),
    )
}

// ---- authentication and headers ---------------------------------------------------------

/// The caller's LinkedIn token, or 401 with serviceErrorCode 65600/65601.
pub(crate) fn authenticate(
    world: &World,
    headers: &HeaderMap,
    now: u64,
) -> Result<AccessToken, Response> {
    let invalid = || {
        error(
            StatusCode::UNAUTHORIZED,
            Some(65600),
            Some("INVALID_ACCESS_TOKEN"),
            "Invalid access token",
        )
    };
    let Some(token) = bearer(headers) else {
        return Err(invalid());
    };
    match world.oauth.lookup(&token, now) {
        Lookup::Valid(t) if t.kind == TokenKind::Linkedin => Ok(t.clone()),
        Lookup::Expired(t) if t.kind == TokenKind::Linkedin => Err(error(
            StatusCode::UNAUTHORIZED,
            Some(65600),
            Some("EXPIRED_ACCESS_TOKEN"),
            "The token used in the request has expired",
        )),
        Lookup::Revoked(t) if t.kind == TokenKind::Linkedin => Err(error(
            StatusCode::UNAUTHORIZED,
            Some(65601),
            Some("REVOKED_ACCESS_TOKEN"),
            "The token used in the request has been revoked by the user",
        )),
        _ => Err(invalid()),
    }
}

/// The versioning headers `/rest` requires. Returns the version.
pub(crate) fn rest_headers(world: &World, headers: &HeaderMap) -> Result<String, Response> {
    let Some(version) = headers
        .get("linkedin-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            None,
            Some("VERSION_MISSING"),
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        ));
    };
    let month = version.split('.').next().unwrap_or("");
    if month.len() != 6 || !month.bytes().all(|b| b.is_ascii_digit()) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            None,
            Some("INVALID_VERSION"),
            &format!("Invalid version format {version}. The version must be in the format YYYYMM."),
        ));
    }
    let config = &world.config.linkedin;
    let active = if config.accepted_versions.is_empty() {
        month >= config.min_version.as_str()
    } else {
        config
            .accepted_versions
            .iter()
            .any(|v| v == version || v == month)
    };
    if !active {
        return Err(error(
            StatusCode::UPGRADE_REQUIRED,
            None,
            Some("NONEXISTENT_VERSION"),
            &format!("Requested version {version} is not active"),
        ));
    }
    restli_header(headers)?;
    Ok(month.to_owned())
}

/// `X-Restli-Protocol-Version: 2.0.0`.
pub(crate) fn restli_header(headers: &HeaderMap) -> Result<(), Response> {
    let restli = headers
        .get("x-restli-protocol-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if restli != Some("2.0.0") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            None,
            Some("ILLEGAL_ARGUMENT"),
            "The X-Restli-Protocol-Version header must be 2.0.0 for this resource.",
        ));
    }
    Ok(())
}

/// Organizations the member administers.
pub(crate) fn administered<'a>(world: &'a World, sub: &str) -> Vec<&'a LinkedInOrganization> {
    world
        .fixtures
        .linkedin
        .organizations
        .iter()
        .filter(|o| o.admins.iter().any(|a| a == sub))
        .collect()
}

/// Whether the token may act as `author` (a person URN or an organization URN), with the
/// scope that needs.
pub(crate) fn may_act_as(world: &World, token: &AccessToken, author: &str) -> bool {
    if let Some(sub) = author.strip_prefix("urn:li:person:") {
        return sub == token.user && token.has_scope("w_member_social");
    }
    if let Some(org) = author.strip_prefix("urn:li:organization:") {
        return !world.config.linkedin.company_access_denied
            && token.has_scope("w_organization_social")
            && administered(world, &token.user).iter().any(|o| o.id == org);
    }
    false
}

/// Whether the token may read what `author` published. A member's own posts need
/// `r_member_social`, which LinkedIn no longer grants to new apps: the personal app's default
/// scopes lack it, so a member's posts cannot be looked up unless a test grants it.
pub(crate) fn may_read(world: &World, token: &AccessToken, author: &str) -> bool {
    if let Some(sub) = author.strip_prefix("urn:li:person:") {
        return sub == token.user && token.has_scope("r_member_social");
    }
    if let Some(org) = author.strip_prefix("urn:li:organization:") {
        return !world.config.linkedin.company_access_denied
            && (token.has_scope("r_organization_social")
                || token.has_scope("w_organization_social"))
            && administered(world, &token.user).iter().any(|o| o.id == org);
    }
    false
}

// ---- OAuth ------------------------------------------------------------------------------

async fn authorize(
    State(sim): State<SharedSim>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    oauth::authorize(&sim, &q, &AUTHORIZE)
}

/// www.linkedin.com's authorization page: scopes outside the app's products are refused
/// (`unauthorized_scope_error`), which is why Company Pages need the second app.
const AUTHORIZE: AuthorizeRules = AuthorizeRules {
    platform: AppPlatform::Linkedin,
    unknown_app: "Invalid client_id: this application is not registered.",
    bad_redirect: "The redirect_uri does not match the registered value",
    response_type_error: Some("invalid_request"),
    pkce: false,
    scopes: judge_scopes,
    denied: &[
        ("error", "user_cancelled_authorize"),
        ("error_description", "The user cancelled the authorization"),
    ],
    user: |fixtures, wanted| {
        fixtures
            .linkedin
            .members
            .iter()
            .find(|m| wanted.is_empty() || m.sub == wanted || m.email == wanted)
            .map(|m| m.sub.clone())
    },
    no_user: "No such test member.",
    fragment: "",
};

fn judge_scopes(app: &AppFixture, scopes: Vec<String>) -> Result<Vec<String>, Refusal> {
    if scopes.is_empty() {
        return Err(Refusal::Redirect(
            "invalid_request",
            "The scope parameter is missing".into(),
        ));
    }
    if let Some(scope) = oauth::unapproved_scopes(app, &scopes).first() {
        return Err(Refusal::Redirect(
            "unauthorized_scope_error",
            format!("Scope \"{scope}\" is not authorized for your application"),
        ));
    }
    Ok(scopes)
}

async fn access_token(State(sim): State<SharedSim>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let param = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    sim.counters()
        .grant(Platform::Linkedin, param("grant_type"));
    let now = sim.now_ms();
    let mut world = sim.world();
    let Some(app) = world
        .fixtures
        .app(param("client_id"))
        .filter(|a| {
            a.platform == AppPlatform::Linkedin && a.client_secret == param("client_secret")
        })
        .cloned()
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let partner = app.partner || world.config.linkedin.partner_app;
    let mismatch = "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists";
    match param("grant_type") {
        "authorization_code" => {
            let Some(code) = world.oauth.peek_code(param("code")).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Unable to retrieve access token: authorization code not found",
                );
            };
            if code.platform != AppPlatform::Linkedin
                || code.client_id != app.client_id
                || code.redirect_uri != param("redirect_uri")
                || world.oauth.redeem_code(param("code"), now).is_err()
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", mismatch);
            }
            let refresh = partner.then(|| {
                let expires_ms = now + world.config.tokens.linkedin_refresh_secs * 1000;
                let value = world.oauth.issue_refresh(
                    "AQW",
                    RefreshToken {
                        client_id: app.client_id.clone(),
                        user: code.user.clone(),
                        scopes: code.scopes.clone(),
                        expires_ms,
                        used: false,
                    },
                );
                (value, expires_ms)
            });
            issue(
                &mut world,
                &app.client_id,
                &code.user,
                code.scopes,
                refresh,
                now,
            )
        }
        "refresh_token" => {
            let presented = param("refresh_token");
            let valid = world
                .oauth
                .refresh_token(presented)
                .filter(|r| {
                    partner && !r.used && r.client_id == app.client_id && now < r.expires_ms
                })
                .cloned();
            let Some(refresh) = valid else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The provided refresh token is invalid or expired",
                );
            };
            // LinkedIn keeps the refresh token: its lifetime is not extended.
            let kept = Some((presented.to_owned(), refresh.expires_ms));
            issue(
                &mut world,
                &app.client_id,
                &refresh.user,
                refresh.scopes,
                kept,
                now,
            )
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ),
    }
}

fn issue(
    world: &mut World,
    client_id: &str,
    user: &str,
    scopes: Vec<String>,
    refresh: Option<(String, u64)>,
    now: u64,
) -> Response {
    let secs = world.config.tokens.linkedin_access_secs;
    let scope_text = scopes.join(",");
    let openid = scopes.iter().any(|s| s == "openid");
    let access = world.oauth.issue_access(
        "AQV",
        AccessToken {
            client_id: client_id.to_owned(),
            user: user.to_owned(),
            scopes,
            kind: TokenKind::Linkedin,
            issued_ms: now,
            expires_ms: Some(now + secs * 1000),
            revoked: false,
        },
    );
    let mut body = json!({
        "access_token": access,
        "expires_in": secs,
        "scope": scope_text,
        "token_type": "Bearer",
    });
    if let Some((token, expires_ms)) = refresh {
        body["refresh_token"] = json!(token);
        body["refresh_token_expires_in"] = json!(expires_ms.saturating_sub(now) / 1000);
    }
    if openid && let Some(member) = world.fixtures.linkedin_member(user) {
        body["id_token"] = json!(id_token(client_id, member, now, secs));
    }
    json(StatusCode::OK, body)
}

/// An OpenID id_token with the member's claims (signed with nothing a client could verify:
/// the simulator has no keys to publish).
fn id_token(
    client_id: &str,
    member: &crate::fixtures::LinkedInMember,
    now: u64,
    lifetime_secs: u64,
) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"alg": "RS256", "kid": "herald-sim", "typ": "JWT"});
    let claims = json!({
        "iss": "https://www.linkedin.com/oauth",
        "aud": client_id,
        "sub": member.sub,
        "name": member.name,
        "given_name": member.given_name,
        "family_name": member.family_name,
        "email": member.email,
        "email_verified": true,
        "iat": now / 1000,
        "exp": now / 1000 + lifetime_secs,
    });
    format!(
        "{}.{}.{}",
        engine.encode(header.to_string()),
        engine.encode(claims.to_string()),
        engine.encode(b"herald-sim-unsigned")
    )
}

// ---- identity -----------------------------------------------------------------------------

async fn userinfo(State(sim): State<SharedSim>, headers: HeaderMap) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !token.has_scope("openid") {
        return access_denied("userinfo.GET.NO_VERSION");
    }
    let Some(member) = world.fixtures.linkedin_member(&token.user) else {
        return access_denied("userinfo.GET.NO_VERSION");
    };
    let mut body = json!({
        "sub": member.sub,
        "locale": {"country": "US", "language": "en"},
    });
    if token.has_scope("profile") {
        body["name"] = json!(member.name);
        body["given_name"] = json!(member.given_name);
        body["family_name"] = json!(member.family_name);
        body["picture"] = json!(member.picture);
    }
    if token.has_scope("email") {
        body["email"] = json!(member.email);
        body["email_verified"] = json!(true);
    }
    json(StatusCode::OK, body)
}

fn acl_caller(
    world: &World,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    now: u64,
    resource: &str,
) -> Result<AccessToken, Response> {
    let token = authenticate(world, headers, now)?;
    if q.get("q").map(String::as_str) != Some("roleAssignee") {
        return Err(error(
            StatusCode::BAD_REQUEST,
            None,
            Some("ILLEGAL_ARGUMENT"),
            "Invalid query parameters passed to request: q must be roleAssignee",
        ));
    }
    let scoped =
        token.has_scope("r_organization_admin") || token.has_scope("rw_organization_admin");
    if world.config.linkedin.company_access_denied || !scoped {
        return Err(access_denied(resource));
    }
    Ok(token)
}

/// The member's ACL rows, filtered by `role` and `state` like the finder does.
fn acl_rows<'a>(
    world: &'a World,
    token: &AccessToken,
    q: &HashMap<String, String>,
) -> Vec<&'a LinkedInOrganization> {
    let role_ok = q.get("role").is_none_or(|r| r == "ADMINISTRATOR");
    let state_ok = q.get("state").is_none_or(|s| s == "APPROVED");
    if !(role_ok && state_ok) {
        return Vec::new();
    }
    administered(world, &token.user)
}

fn paging(total: usize) -> Value {
    json!({"start": 0, "count": 10, "total": total, "links": []})
}

async fn organization_acls(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    let version = match rest_headers(&world, &headers) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let resource = format!("organizationAcls.FINDER-roleAssignee.{version}");
    let token = match acl_caller(&world, &headers, &q, now, &resource) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let decorate = q
        .get("projection")
        .is_some_and(|p| p.contains("organization~"));
    let elements: Vec<Value> = acl_rows(&world, &token, &q)
        .into_iter()
        .map(|org| {
            let mut row = json!({
                "roleAssignee": format!("urn:li:person:{}", token.user),
                "state": "APPROVED",
                "role": "ADMINISTRATOR",
                "organization": format!("urn:li:organization:{}", org.id),
            });
            if decorate {
                row["organization~"] = json!({
                    "id": org.id.parse::<u64>().ok(),
                    "localizedName": org.name,
                    "vanityName": org.vanity_name,
                });
            }
            row
        })
        .collect();
    let total = elements.len();
    json(
        StatusCode::OK,
        json!({"paging": paging(total), "elements": elements}),
    )
}

async fn organizational_entity_acls(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    let token = match acl_caller(
        &world,
        &headers,
        &q,
        now,
        "organizationalEntityAcls.FINDER-roleAssignee",
    ) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let decorate = q
        .get("projection")
        .is_some_and(|p| p.contains("organizationalTarget~"));
    let elements: Vec<Value> = acl_rows(&world, &token, &q)
        .into_iter()
        .map(|org| {
            let mut row = json!({
                "roleAssignee": format!("urn:li:person:{}", token.user),
                "state": "APPROVED",
                "role": "ADMINISTRATOR",
                "organizationalTarget": format!("urn:li:organization:{}", org.id),
            });
            if decorate {
                row["organizationalTarget~"] = json!({
                    "id": org.id.parse::<u64>().ok(),
                    "localizedName": org.name,
                    "vanityName": org.vanity_name,
                    "name": {
                        "localized": {"en_US": org.name},
                        "preferredLocale": {"country": "US", "language": "en"},
                    },
                });
            }
            row
        })
        .collect();
    let total = elements.len();
    json(
        StatusCode::OK,
        json!({"paging": paging(total), "elements": elements}),
    )
}
