//! The Graph API under `/graph` (graph.facebook.com): token checks, `/me`, `/me/accounts`
//! with Page tokens, object lookups, the usage headers and rate limits. The login dialog
//! (`/facebook`) and the token endpoint are in `meta_oauth.rs`; Facebook Page publishing is
//! in `facebook.rs`, Instagram's in `instagram.rs`; all share this dispatcher.
//!
//! Graph paths are `/{version}/{node}[/{edge}]` with any `vNN.N` version (or none).
//! Parameters come from the query, a form, JSON or multipart alike, the token from
//! `access_token` or `Authorization: Bearer`. Errors are `{"error": {message, type, code,
//! error_subcode, fbtrace_id, ...}}`, usually HTTP 400: an unknown token is code 190, an
//! expired one 190/463, a revoked one 190/460.
//!
//! Every authenticated call counts against the app's window (code 4, `X-App-Usage`), the
//! user's (17) or the Page token's (32), and calls on a Page or Instagram account against its
//! business use case window (80001 / 80002, `X-Business-Use-Case-Usage`). Usage headers are
//! on every answer, in percent, so a client can back off before the wall.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::fixtures::FacebookPage;
use crate::limits::Usage;
use crate::oauth::{AccessToken, Lookup, TokenKind};
use crate::request::{Params, bearer, json, random_token};
use crate::state::{SharedSim, World, graph_human_time};
use crate::{facebook, instagram, meta_oauth};

/// Graph's error object.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    status: StatusCode,
    message: String,
    kind: &'static str,
    code: i64,
    subcode: Option<i64>,
    transient: bool,
    user: Option<(String, String)>,
    authenticate: bool,
    data: Option<Value>,
}

impl GraphError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "OAuthException",
            code,
            subcode: None,
            transient: false,
            user: None,
            authenticate: false,
            data: None,
        }
    }

    pub(crate) fn subcode(mut self, subcode: i64) -> Self {
        self.subcode = Some(subcode);
        self
    }

    pub(crate) fn user_message(mut self, title: &str, message: &str) -> Self {
        self.user = Some((title.to_owned(), message.to_owned()));
        self
    }

    pub(crate) fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    pub(crate) fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Machine-readable details (`error_data`), as the video upload's offset error carries.
    pub(crate) fn data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Token errors carry `WWW-Authenticate`.
    pub(crate) fn token_error(mut self) -> Self {
        self.authenticate = true;
        self
    }

    pub(crate) fn body(&self) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": format!("A{}", random_token(22)),
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        if self.transient {
            error["is_transient"] = json!(true);
        }
        if let Some((title, message)) = &self.user {
            error["error_user_title"] = json!(title);
            error["error_user_msg"] = json!(message);
        }
        if let Some(data) = &self.data {
            error["error_data"] = data.clone();
        }
        json!({"error": error})
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = json(self.status, self.body());
        if self.authenticate
            && let Ok(value) = HeaderValue::try_from(format!(
                "OAuth \"Facebook Platform\" \"invalid_token\" \"{}\"",
                self.message.replace('"', "'")
            ))
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

pub(crate) fn unsupported(method: &Method, id: &str) -> GraphError {
    let verb = if *method == Method::POST {
        "post"
    } else {
        "get"
    };
    GraphError::new(
        100,
        format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
    )
    .kind("GraphMethodException")
    .subcode(33)
}

pub(crate) fn fault_response(status: StatusCode) -> Response {
    let error = if status.is_server_error() {
        GraphError::new(
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
        .transient()
    } else {
        GraphError::new(1, "An unknown error occurred").transient()
    };
    error.status(status).into_response()
}

pub(crate) fn fault_rate_limited() -> Response {
    let mut response = GraphError::new(4, "(#4) Application request limit reached")
        .transient()
        .into_response();
    let usage = json!({"call_count": 100, "total_cputime": 100, "total_time": 100});
    if let Ok(value) = HeaderValue::try_from(usage.to_string()) {
        response.headers_mut().insert("x-app-usage", value);
    }
    response
}

/// Facebook and Instagram objects the Graph API remembers.
#[derive(Debug, Default)]
pub(crate) struct MetaState {
    pub(crate) facebook: facebook::FacebookState,
    pub(crate) instagram: instagram::InstagramState,
    /// Page tokens handed out, by (user token, Page).
    page_tokens: HashMap<(String, String), String>,
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/facebook/{version}/dialog/oauth", get(meta_oauth::dialog))
        .route(
            "/graph/{*path}",
            get(dispatch).post(dispatch).delete(dispatch),
        )
        // graph-video.facebook.com: Meta's video publishing guide still uses it, its video
        // overview calls it deprecated in favour of graph.facebook.com; both are served.
        .route(
            "/graph-video/{*path}",
            get(dispatch).post(dispatch).delete(dispatch),
        )
}

/// Whether a Graph request addresses Instagram (for counting and faults).
pub(crate) fn is_instagram_request(sim: &SharedSim, rest: &[&str]) -> bool {
    match rest {
        [_, edge, ..]
            if matches!(
                *edge,
                "media" | "media_publish" | "content_publishing_limit"
            ) =>
        {
            true
        }
        [id] | [id, "comments"] => {
            let world = sim.world();
            world.fixtures.instagram_account(id).is_some() || world.meta.instagram.knows(id)
        }
        _ => false,
    }
}

// ---- tokens -------------------------------------------------------------------------------

pub(crate) fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|v| {
        let mut parts = v.split('.');
        let major = parts.next().unwrap_or("");
        let minor = parts.next().unwrap_or("0");
        !major.is_empty()
            && major.bytes().all(|b| b.is_ascii_digit())
            && minor.bytes().all(|b| b.is_ascii_digit())
            && parts.next().is_none()
    })
}

pub(crate) fn expired_error(token: &AccessToken, now: u64) -> GraphError {
    let at = token.expires_ms.unwrap_or(now);
    GraphError::new(
        190,
        format!(
            "Error validating access token: Session has expired on {}. The current time is {}.",
            graph_human_time(at),
            graph_human_time(now)
        ),
    )
    .subcode(463)
    .token_error()
}

/// The caller's Meta token (user or Page), or Graph's token error.
pub(crate) fn authenticate(
    world: &World,
    presented: Option<&str>,
    now: u64,
) -> Result<AccessToken, GraphError> {
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        return Err(GraphError::new(
            2500,
            "An active access token must be used to query information about the current user.",
        ));
    };
    let meta = |t: &AccessToken| {
        matches!(
            t.kind,
            TokenKind::MetaUser { .. } | TokenKind::MetaPage { .. }
        )
    };
    match world.oauth.lookup(token, now) {
        Lookup::Valid(t) if meta(t) => Ok(t.clone()),
        Lookup::Expired(t) if meta(t) => Err(expired_error(t, now)),
        Lookup::Revoked(t) if meta(t) => Err(GraphError::new(
            190,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        )
        .subcode(460)
        .token_error()),
        _ => Err(GraphError::new(190, "Invalid OAuth access token - Cannot parse access token").token_error()),
    }
}

// ---- dispatch -------------------------------------------------------------------------------

/// What a Graph handler gets: the caller and the parameters.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) token: AccessToken,
    pub(crate) token_value: String,
    pub(crate) params: Params,
}

async fn dispatch(
    State(sim): State<SharedSim>,
    Path(path): Path<String>,
    req: Request,
) -> Response {
    let method = req.method().clone();
    let (headers, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => {
            return GraphError::new(100, format!("(#100) Invalid request body: {e}"))
                .into_response();
        }
    };
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let rest: Vec<&str> = match segments.first() {
        Some(first) if is_version(first) => segments[1..].iter().map(String::as_str).collect(),
        _ => segments.iter().map(String::as_str).collect(),
    };
    match rest.as_slice() {
        ["oauth", "access_token"] => return meta_oauth::access_token(&sim, &headers, &params),
        ["debug_token"] => return meta_oauth::debug_token(&sim, &params),
        _ => {}
    }
    let token_value = params
        .get("access_token")
        .map(str::to_owned)
        .or_else(|| bearer(&headers));
    let now = sim.now_ms();
    let (token, usage) = {
        let mut world = sim.world();
        let token = match authenticate(&world, token_value.as_deref(), now) {
            Ok(t) => t,
            Err(e) => return e.into_response(),
        };
        let business = rest.first().and_then(|id| business_of(&world, id));
        match take_windows(&mut world, &token, business, now) {
            Ok(usage) => (token, usage),
            Err((error, usage)) => return usage.apply(error.into_response()),
        }
    };
    let call = Call {
        method,
        token,
        token_value: token_value.unwrap_or_default(),
        params,
    };
    let response = route(&sim, &call, &rest).await;
    usage.apply(response)
}

async fn route(sim: &SharedSim, call: &Call, rest: &[&str]) -> Response {
    let get = call.method == Method::GET;
    let post = call.method == Method::POST;
    let result = match rest {
        ["me"] if get => me(sim, call),
        [node, "accounts"] if get && (*node == "me" || *node == call.token.user) => {
            accounts(sim, call)
        }
        [id, "photos"] if post => facebook::create_photo(sim, call, id).await,
        [id, "feed"] if post => facebook::create_post(sim, call, id),
        [id, "feed" | "posts" | "published_posts"] if get => facebook::feed(sim, call, id),
        [id, "videos"] if post => facebook::video_upload(sim, call, id),
        [id, "videos"] if get => facebook::videos(sim, call, id),
        [id, "comments"] if post && facebook::is_commentable(sim, id) => {
            facebook::comment(sim, call, id)
        }
        [id, "picture"] if get => facebook::picture(sim, call, id),
        [id, "media"] if post => instagram::create_container(sim, call, id).await,
        [id, "media"] if get => instagram::media_list(sim, call, id),
        [id, "media_publish"] if post => instagram::publish(sim, call, id),
        [id, "content_publishing_limit"] if get => instagram::publishing_limit(sim, call, id),
        [id, "comments"] if post && sim.world().meta.instagram.is_media(id) => {
            instagram::comment(sim, call, id)
        }
        [id] if get => node(sim, call, id),
        [id, ..] if rest.len() > 1 && (get || post) => Err(unsupported(&call.method, id)),
        _ => Err(GraphError::new(
            2500,
            format!("Unknown path components: /{}", rest.join("/")),
        )),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The business a node belongs to: (id, `pages` or `instagram`).
fn business_of(world: &World, id: &str) -> Option<(String, &'static str)> {
    if world.fixtures.facebook_page(id).is_some() {
        return Some((id.to_owned(), "pages"));
    }
    if world.fixtures.instagram_account(id).is_some() {
        return Some((id.to_owned(), "instagram"));
    }
    if let Some(page) = world.meta.facebook.page_of(id) {
        return Some((page, "pages"));
    }
    world
        .meta
        .instagram
        .account_of(id)
        .map(|ig| (ig, "instagram"))
}

/// Usage to report on the answer.
#[derive(Debug)]
struct CallUsage {
    now: u64,
    app: Usage,
    business: Option<(String, &'static str, Usage)>,
}

impl CallUsage {
    fn apply(&self, mut response: Response) -> Response {
        let pct = self.app.percent();
        let app = json!({"call_count": pct, "total_cputime": pct / 2, "total_time": pct / 2});
        if let Ok(value) = HeaderValue::try_from(app.to_string()) {
            response.headers_mut().insert("x-app-usage", value);
        }
        if let Some((id, kind, usage)) = &self.business {
            let pct = usage.percent();
            let regain = if usage.remaining == 0 {
                usage.reset_ms.saturating_sub(self.now).div_ceil(60_000)
            } else {
                0
            };
            let mut map = Map::new();
            map.insert(
                id.clone(),
                json!([{
                    "type": kind,
                    "call_count": pct,
                    "total_cputime": pct / 2,
                    "total_time": pct / 2,
                    "estimated_time_to_regain_access": regain,
                }]),
            );
            if let Ok(value) = HeaderValue::try_from(Value::Object(map).to_string()) {
                response
                    .headers_mut()
                    .insert("x-business-use-case-usage", value);
            }
        }
        response
    }
}

type WindowsResult = Result<CallUsage, (GraphError, CallUsage)>;

/// Counts the call against the app, the user or Page token, and the business.
fn take_windows(
    world: &mut World,
    token: &AccessToken,
    business: Option<(String, &'static str)>,
    now: u64,
) -> WindowsResult {
    let meta = world.config.meta.clone();
    let enabled = world.config.rate_limits;
    let app_key = format!("meta:app:{}", token.client_id);
    let (caller_key, caller_limit, caller_error) = match &token.kind {
        TokenKind::MetaPage { page_id } => (
            format!("meta:page:{page_id}"),
            meta.page_calls,
            GraphError::new(32, "(#32) Page request limit reached"),
        ),
        _ => (
            format!("meta:user:{}", token.user),
            meta.user_calls,
            GraphError::new(17, "(#17) User request limit reached"),
        ),
    };
    let business_key = business.as_ref().map(|(id, _)| format!("meta:buc:{id}"));
    let app_room = world
        .windows
        .has_room(enabled, &app_key, &meta.app_calls, now);
    let caller_room = world
        .windows
        .has_room(enabled, &caller_key, &caller_limit, now);
    let business_room = business_key.as_ref().is_none_or(|k| {
        world
            .windows
            .has_room(enabled, k, &meta.business_calls, now)
    });
    let all = app_room && caller_room && business_room;
    let mut measure = |key: &str, limit| {
        if all {
            world
                .windows
                .try_take(enabled, key, limit, now)
                .unwrap_or_else(|u| u)
        } else {
            world.windows.peek(enabled, key, limit, now)
        }
    };
    let app = measure(&app_key, &meta.app_calls);
    let _ = measure(&caller_key, &caller_limit);
    let business_usage = business_key
        .as_ref()
        .map(|k| measure(k, &meta.business_calls));
    let usage = CallUsage {
        now,
        app,
        business: business
            .zip(business_usage)
            .map(|((id, kind), u)| (id, kind, u)),
    };
    if all {
        return Ok(usage);
    }
    let error = if !app_room {
        GraphError::new(4, "(#4) Application request limit reached")
    } else if !caller_room {
        caller_error
    } else if usage
        .business
        .as_ref()
        .is_some_and(|(_, kind, _)| *kind == "instagram")
    {
        GraphError::new(
            80002,
            "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        )
    } else {
        GraphError::new(
            80001,
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        )
    };
    Err((error.transient(), usage))
}

// ---- me, accounts, nodes ------------------------------------------------------------------------

/// A Graph list's page: `limit` items (25 unless asked, 1 to 100) from the `after` cursor,
/// which the simulator makes a plain offset.
pub(crate) fn page_window(params: &Params) -> (usize, usize) {
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let offset = params
        .get("after")
        .and_then(|a| a.parse::<usize>().ok())
        .unwrap_or(0);
    (limit, offset)
}

/// Keeps the requested fields (`fields=a,b`), or `defaults`; `id` always.
pub(crate) fn select(all: Value, fields: Option<&str>, defaults: &[&str]) -> Value {
    let Value::Object(map) = all else {
        return all;
    };
    let wanted: Vec<&str> = match fields {
        Some(f) if !f.trim().is_empty() => f
            .split(',')
            .map(|s| s.trim().split('{').next().unwrap_or(""))
            .collect(),
        _ => defaults.to_vec(),
    };
    let mut out = Map::new();
    for (key, value) in map {
        if key == "id" || wanted.contains(&key.as_str()) {
            out.insert(key, value);
        }
    }
    Value::Object(out)
}

/// Whether the caller may act for the Page (its Page token, or a user token of an admin).
pub(crate) fn manages_page(world: &World, token: &AccessToken, page_id: &str) -> bool {
    match &token.kind {
        TokenKind::MetaPage { page_id: p } => p == page_id,
        TokenKind::MetaUser { .. } => world
            .fixtures
            .facebook_page(page_id)
            .is_some_and(|page| page.admins.contains(&token.user)),
        _ => false,
    }
}

fn me(sim: &SharedSim, call: &Call) -> Result<Response, GraphError> {
    let world = sim.world();
    let all = match &call.token.kind {
        TokenKind::MetaPage { page_id } => {
            let page = world
                .fixtures
                .facebook_page(page_id)
                .ok_or_else(|| unsupported(&call.method, "me"))?;
            json!({"id": page.id, "name": page.name, "category": page.category})
        }
        _ => {
            let user = world
                .fixtures
                .facebook
                .users
                .iter()
                .find(|u| u.id == call.token.user)
                .ok_or_else(|| unsupported(&call.method, "me"))?;
            let mut value = json!({"id": user.id, "name": user.name});
            if call.token.has_scope("email") {
                value["email"] = json!(user.email);
            }
            value
        }
    };
    Ok(json(
        StatusCode::OK,
        select(all, call.params.get("fields"), &["name"]),
    ))
}

/// The Page token for (user token, Page): stable while the user token lives, never
/// expiring when the user token is long-lived.
fn page_token(world: &mut World, call: &Call, page: &FacebookPage) -> String {
    let key = (call.token_value.clone(), page.id.clone());
    if let Some(existing) = world.meta.page_tokens.get(&key) {
        return existing.clone();
    }
    let expires_ms = match call.token.kind {
        TokenKind::MetaUser { long: true } => None,
        _ => call.token.expires_ms,
    };
    let value = world.oauth.issue_access(
        "EAAP",
        AccessToken {
            kind: TokenKind::MetaPage {
                page_id: page.id.clone(),
            },
            expires_ms,
            ..call.token.clone()
        },
    );
    world.meta.page_tokens.insert(key, value.clone());
    value
}

fn accounts(sim: &SharedSim, call: &Call) -> Result<Response, GraphError> {
    if !matches!(call.token.kind, TokenKind::MetaUser { .. }) {
        return Err(GraphError::new(
            100,
            "(#100) Tried accessing nonexisting field (accounts) on node type (Page)",
        ));
    }
    if !call.token.has_scope("pages_show_list") {
        return Err(GraphError::new(
            200,
            "(#200) Requires pages_show_list permission to manage the object",
        ));
    }
    let mut world = sim.world();
    let pages: Vec<FacebookPage> = world
        .fixtures
        .facebook
        .pages
        .iter()
        .filter(|p| p.admins.contains(&call.token.user))
        .cloned()
        .collect();
    let fields = call.params.get("fields");
    let defaults = ["access_token", "category", "category_list", "name", "tasks"];
    let mut data = Vec::new();
    for page in &pages {
        let token = page_token(&mut world, call, page);
        let mut all = json!({
            "id": page.id,
            "name": page.name,
            "access_token": token,
            "category": page.category,
            "category_list": [{"id": "2211", "name": page.category}],
            "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
        });
        if let Some(ig) = &page.instagram_business_account {
            all["instagram_business_account"] = json!({"id": ig});
        }
        data.push(select(all, fields, &defaults));
    }
    let cursor = random_token(24);
    Ok(json(
        StatusCode::OK,
        json!({"data": data, "paging": {"cursors": {"before": cursor, "after": cursor}}}),
    ))
}

fn node(sim: &SharedSim, call: &Call, id: &str) -> Result<Response, GraphError> {
    let now = sim.now_ms();
    let world = sim.world();
    let fields = call.params.get("fields");
    if let Some(page) = world.fixtures.facebook_page(id) {
        if !manages_page(&world, &call.token, id) {
            let public = json!({"id": page.id, "name": page.name});
            return Ok(json(StatusCode::OK, select(public, fields, &["name"])));
        }
        let mut all = json!({
            "id": page.id,
            "name": page.name,
            "category": page.category,
            "link": format!("https://www.facebook.com/{}", page.id),
        });
        if let Some(ig) = &page.instagram_business_account {
            all["instagram_business_account"] = json!({"id": ig});
        }
        return Ok(json(StatusCode::OK, select(all, fields, &["name"])));
    }
    if let Some(user) = world.fixtures.facebook.users.iter().find(|u| u.id == id) {
        let all = json!({"id": user.id, "name": user.name});
        return Ok(json(StatusCode::OK, select(all, fields, &["name"])));
    }
    if let Some(value) = facebook::node(&world, call, id, now) {
        return Ok(json(StatusCode::OK, value));
    }
    if let Some(value) = instagram::node(&world, call, id, now) {
        return value.map(|v| json(StatusCode::OK, v));
    }
    Err(unsupported(&call.method, id))
}
