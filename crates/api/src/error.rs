//! One error type for the whole API, answered as `application/problem+json` (RFC 9457).
//!
//! Every answer that is not a success goes through [`ApiError`], so every error a client
//! sees has the same shape: `type`, `title`, `status`, `detail` and a stable `code` that
//! programs can branch on (the codes are part of the API: add new ones, never rename), plus
//! fields of its own where the problem has more to say (`errors` for validation, `class`,
//! `platform_code` and `hint` for a platform's refusal).
//!
//! Unexpected failures (a database error, a bug) are logged with their cause chain and
//! answered as an opaque 500: no SQL, no stack, no secret reaches the client. Extractors of
//! our own ([`ApiJson`], [`ApiQuery`], [`ApiPath`]) replace axum's plain-text rejections, so
//! malformed input is a problem document too, naming the part that could not be read; and
//! [`problem_only`] re-shapes whatever error still leaves the router without being one (a
//! rejection of an extractor that is not ours), so no client ever parses a plain-text error.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use herald_domain::{ErrorClass, PlatformFailure};
use herald_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// One problem with a request's content: which target, which field, which rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The index of the target in `targets` the problem is about; absent for the whole post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `text`, `thread[2]`, `media[0]`, `targets[1]`, `publish_at`, ...
    pub field: String,
    /// A stable rule name: `text.too_long`, `connection.unknown`, ...
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            target: None,
            connection_id: None,
            platform: None,
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The problem document, as documented in the OpenAPI description.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable: `validation_failed`, `not_found`, `rate_limited`, ...
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For a platform's refusal: its error class, its own code and what to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What `Retry-After` says when a dependency is away (503 `unavailable`): long enough not
/// to hammer a recovering database, short enough for an outage of seconds.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// What `Retry-After` says when a key holds all the event streams it may (429
/// `too_many_streams`): a slot frees only when one of its streams closes, so a guess.
pub const STREAMS_RETRY_AFTER_SECS: u64 = 5;

/// Everything a handler can answer instead of a success.
#[derive(Debug)]
pub enum ApiError {
    /// No key, a malformed key, an unknown or revoked key: all answered alike.
    Unauthorized,
    /// `GET /metrics` without `api.metrics_token`.
    MetricsTokenRequired,
    Forbidden {
        scope: &'static str,
    },
    NotFound {
        what: &'static str,
    },
    MethodNotAllowed,
    /// The request cannot be read: malformed JSON, a bad query parameter, a missing header.
    BadRequest {
        code: &'static str,
        detail: String,
    },
    /// One named part of the request cannot be read (a path segment, a query parameter):
    /// a 400 whose `errors` names it.
    Malformed {
        code: &'static str,
        field: String,
        detail: String,
    },
    /// An error answer made below the handlers (by the framework), re-shaped as a problem:
    /// its status is kept, its code follows from it.
    Rejected {
        status: StatusCode,
        detail: String,
    },
    /// The request reads fine but breaks rules; every broken rule is listed.
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    Conflict {
        code: &'static str,
        detail: String,
    },
    TooLarge {
        limit: usize,
    },
    UnsupportedMediaType {
        detail: String,
    },
    RateLimited {
        retry_after_secs: u64,
        limit: u32,
    },
    /// A failed authentication over the failure throttles (per client address or in total):
    /// answered instead of 401.
    AuthThrottled {
        retry_after_secs: u64,
    },
    /// The key already holds `api.max_event_streams_per_key` event streams open.
    TooManyStreams {
        limit: usize,
    },
    /// A platform refused or failed (Telegram validation, OAuth exchange, page listing).
    Platform(PlatformFailure),
    /// A webhook's receiver could not be asked (`webhook.refused` by the outbound guard,
    /// `webhook.unreachable`, `webhook.timed_out`): 502.
    Receiver {
        code: &'static str,
        detail: String,
    },
    /// A dependency (Postgres) cannot be reached right now: 503 with `Retry-After`.
    Unavailable {
        detail: String,
    },
    /// Something that should not happen: logged in full, answered opaquely.
    Internal(String),
}

impl ApiError {
    pub(crate) fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub(crate) fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => one.message.clone(),
            many => format!("the request breaks {} rules (see errors)", many.len()),
        };
        Self::Validation { detail, errors }
    }

    pub(crate) fn internal(context: &str, error: &dyn std::error::Error) -> Self {
        let mut chain = format!("{context}: {error}");
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Internal(chain)
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::MetricsTokenRequired => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest { .. } | ApiError::Malformed { .. } => StatusCode::BAD_REQUEST,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. }
            | ApiError::AuthThrottled { .. }
            | ApiError::TooManyStreams { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Platform(failure) => match failure.class {
                ErrorClass::Retryable | ErrorClass::UnknownOutcome => StatusCode::BAD_GATEWAY,
                ErrorClass::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                ErrorClass::Permanent | ErrorClass::ReconnectRequired => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
            },
            ApiError::Receiver { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document this error answers with.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (code, detail): (&str, String) = match self {
            ApiError::Unauthorized => (
                "unauthorized",
                "a valid API key is required: Authorization: Bearer hrld_...".to_owned(),
            ),
            ApiError::MetricsTokenRequired => (
                "unauthorized",
                "the metrics token is required: Authorization: Bearer <api.metrics_token>"
                    .to_owned(),
            ),
            ApiError::Forbidden { scope } => (
                "insufficient_scope",
                format!("this API key lacks the `{scope}` scope"),
            ),
            ApiError::NotFound { what } => ("not_found", format!("no such {what}")),
            ApiError::MethodNotAllowed => (
                "method_not_allowed",
                "this method is not allowed on this route".to_owned(),
            ),
            ApiError::BadRequest { code, detail } | ApiError::Malformed { code, detail, .. } => {
                (code, detail.clone())
            }
            ApiError::Rejected { status, detail } => (code_of(*status), detail.clone()),
            ApiError::Validation { detail, .. } => ("validation_failed", detail.clone()),
            ApiError::Conflict { code, detail } => (code, detail.clone()),
            ApiError::TooLarge { limit } => (
                "payload_too_large",
                if *limit == 0 {
                    "the request body is larger than this route accepts".to_owned()
                } else {
                    format!("the request body is larger than {limit} bytes")
                },
            ),
            ApiError::UnsupportedMediaType { detail } => ("unsupported_media_type", detail.clone()),
            ApiError::RateLimited {
                retry_after_secs, ..
            } => (
                "rate_limited",
                format!("too many requests for this API key: retry in {retry_after_secs} s"),
            ),
            ApiError::AuthThrottled { retry_after_secs } => (
                "auth_throttled",
                format!(
                    "too many failed authentications from this address: \
                     retry in {retry_after_secs} s with a valid API key"
                ),
            ),
            ApiError::TooManyStreams { limit } => (
                "too_many_streams",
                format!(
                    "this API key already has {limit} event streams open \
                     (api.max_event_streams_per_key): close one first"
                ),
            ),
            ApiError::Platform(failure) => ("platform_error", failure.to_string()),
            ApiError::Receiver { code, detail } => (code, detail.clone()),
            ApiError::Unavailable { detail } => ("unavailable", detail.clone()),
            ApiError::Internal(_) => (
                "internal",
                "an unexpected error occurred; it has been logged".to_owned(),
            ),
        };
        let mut problem = Problem {
            kind: format!("https://herald.dev/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors: None,
            class: None,
            platform_code: None,
            hint: None,
        };
        match self {
            ApiError::Validation { errors, .. } => problem.errors = Some(errors.clone()),
            ApiError::Malformed {
                code,
                field,
                detail,
            } => problem.errors = Some(vec![FieldError::new(field.clone(), code, detail.clone())]),
            ApiError::Platform(failure) => {
                problem.class = Some(failure.class.as_str().to_owned());
                problem.platform_code = failure.code();
                problem.hint = failure.hint.clone();
            }
            _ => {}
        }
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(chain) = &self {
            tracing::error!(error = %chain, "request failed");
        }
        let problem = self.problem();
        let status = self.status();
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::RateLimited {
                retry_after_secs,
                limit,
            } => {
                let secs = HeaderValue::from(*retry_after_secs);
                headers.insert(header::RETRY_AFTER, secs.clone());
                headers.insert("ratelimit-limit", HeaderValue::from(*limit));
                headers.insert("ratelimit-remaining", HeaderValue::from(0u32));
                headers.insert("ratelimit-reset", secs);
            }
            ApiError::AuthThrottled { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::TooManyStreams { .. } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(STREAMS_RETRY_AFTER_SECS),
                );
            }
            ApiError::Unavailable { .. } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
            }
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"herald\""),
                );
            }
            ApiError::MetricsTokenRequired => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"herald-metrics\""),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::IdempotencyConflict { key } => ApiError::conflict(
                "idempotency_conflict",
                format!("Idempotency-Key `{key}` was already used with a different request body"),
            ),
            StoreError::ConnectionInUse(_) => {
                ApiError::conflict("connection_in_use", "the connection still has deliveries")
            }
            StoreError::UnknownConnection(_) | StoreError::ForeignConnection { .. } => {
                ApiError::NotFound { what: "connection" }
            }
            StoreError::UnknownDelivery(_) => ApiError::NotFound { what: "delivery" },
            StoreError::Unavailable(cause) => {
                // Expected while Postgres is away: a warning, not a bug's error log.
                tracing::warn!(error = %cause, "the database is unavailable; answering 503");
                ApiError::Unavailable {
                    detail: "the database is unavailable right now; try again shortly".to_owned(),
                }
            }
            other => ApiError::internal("store", &other),
        }
    }
}

impl From<PlatformFailure> for ApiError {
    fn from(failure: PlatformFailure) -> Self {
        ApiError::Platform(failure)
    }
}

/// A JSON body read strictly: `Content-Type: application/json`, within the body limit, and
/// deserialized into a type that rejects unknown fields. Failures are problem documents
/// that say what was wrong and where (`unknown field `txt`, expected one of ...`).
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType {
                detail: "send the body as JSON with Content-Type: application/json".to_owned(),
            });
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The body's bytes, or a 413 when it is over the route's limit.
pub(crate) async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(e)
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::TooLarge { limit: 0 }
            }
            other => ApiError::bad_request("unreadable_body", other.body_text()),
        })
}

/// Parses JSON, telling malformed JSON (400) from JSON of the wrong shape (422).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    reject_nul(&value)?;
    from_json_value(value)
}

/// Deserializes a JSON body already read: one of the wrong shape is a 422 whose `errors`
/// name the field serde stopped at and what it expected there.
pub(crate) fn from_json_value<T: DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ApiError> {
    from_value_at(value, "").map_err(|e| ApiError::invalid(vec![*e]))
}

/// Deserializes a part of a body found at `prefix` (`targets[2]`, empty for the whole
/// body). A failure names the field by its full path (`targets[2].media[0].url`), the
/// misspelt or missing field itself when that is the problem, and what was expected there.
pub(crate) fn from_value_at<T: DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, Box<FieldError>> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let message = error.inner().to_string();
        let mut field = prefix.to_owned();
        for segment in error.path().iter() {
            push_segment(&mut field, segment);
        }
        // `unknown field` and `missing field` are about a key of the object serde stopped
        // in: name that key, unless the path already ends with it.
        if let Some(name) = named_field(&message)
            && !field.ends_with(name)
        {
            push_segment(
                &mut field,
                &serde_path_to_error::Segment::Map {
                    key: name.to_owned(),
                },
            );
        }
        if field.is_empty() {
            field.push_str("body");
        }
        Box::new(FieldError::new(field, "invalid_body", message))
    })
}

fn push_segment(path: &mut String, segment: &serde_path_to_error::Segment) {
    use serde_path_to_error::Segment;
    match segment {
        Segment::Seq { index } => path.push_str(&format!("[{index}]")),
        Segment::Map { key } | Segment::Enum { variant: key } => {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key);
        }
        Segment::Unknown => {}
    }
}

/// Postgres cannot store U+0000 in text or jsonb, and no platform wants it: a string (or
/// key) anywhere in a body that holds one is refused up front, rather than failing later.
pub(crate) fn reject_nul(value: &serde_json::Value) -> Result<(), ApiError> {
    use serde_json::Value;
    let bad = |s: &str| s.contains('\0');
    let found = match value {
        Value::String(s) => bad(s),
        Value::Array(items) => return items.iter().try_for_each(reject_nul),
        Value::Object(map) => {
            for (key, item) in map {
                if bad(key) {
                    return Err(nul_error());
                }
                reject_nul(item)?;
            }
            false
        }
        _ => false,
    };
    if found { Err(nul_error()) } else { Ok(()) }
}

fn nul_error() -> ApiError {
    ApiError::invalid(vec![FieldError::new(
        "body",
        "invalid_body",
        "strings may not contain the NUL character (U+0000)",
    )])
}

/// A body that is not JSON at all (400). Shape errors are named by [`from_json_value`]; one
/// reaching here (a number out of range, say) has no path to name.
pub(crate) fn json_error(error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Data => ApiError::invalid(vec![FieldError::new(
            "body",
            "invalid_body",
            error.to_string(),
        )]),
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        ),
    }
}

/// Query parameters into `T`, with problem documents for unknown or malformed ones.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        if query.contains("%00") || query.contains('\0') {
            return Err(ApiError::bad_request(
                "invalid_query",
                "query parameters may not contain the NUL character (U+0000)",
            ));
        }
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                let detail = e.body_text();
                ApiError::Malformed {
                    code: "invalid_query",
                    field: named_field(&detail).unwrap_or("query").to_owned(),
                    detail,
                }
            })
    }
}

/// The field a deserializer's message names (``unknown field `x` ``, ``missing field `x` ``,
/// or the path a query string failed at: `query string: since: invalid value ...`), if it
/// names one.
fn named_field(message: &str) -> Option<&str> {
    if let Some((_, rest)) = message.split_once("field `") {
        let (name, _) = rest.split_once('`')?;
        return (!name.is_empty()).then_some(name);
    }
    let (_, rest) = message.split_once("query string: ")?;
    let (name, _) = rest.split_once(": ")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Path parameters into `T`. A segment that is not valid UTF-8 once percent-decoded, or
/// does not parse, is a 400 problem naming the parameter (`invalid_path`).
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(path_error)
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(error) = rejection else {
        // A route without the parameters its handler reads: a bug, not bad input.
        return ApiError::Internal(format!("path parameters: {}", rejection.body_text()));
    };
    let (field, detail) = match error.kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => (
            key.clone(),
            format!("the path parameter `{key}` is not valid UTF-8 once percent-decoded"),
        ),
        ErrorKind::ParseErrorAtKey {
            key, expected_type, ..
        } => (
            key.clone(),
            format!("the path parameter `{key}` is not a valid {expected_type}"),
        ),
        ErrorKind::DeserializeError { key, message, .. } => (
            key.clone(),
            format!("the path parameter `{key}` is invalid: {message}"),
        ),
        _ => ("path".to_owned(), error.body_text()),
    };
    ApiError::Malformed {
        code: "invalid_path",
        field,
        detail,
    }
}

/// The stable code of an error answer known only by its status.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// The most of a stray error body kept as the problem's `detail`.
const STRAY_DETAIL_BYTES: usize = 512;

/// Middleware: an error answer in plain text or with no body becomes a problem document
/// with the same status. Those come from extractors and layers that are not ours; problem
/// documents, HTML pages (the dashboard's and the OAuth callback's, meant for people) and
/// deliberate JSON (`/readyz` says which dependency is down) pass as they are. A server
/// error's text is not shown, as [`ApiError::Internal`] does.
pub(crate) async fn problem_only(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(content_type.is_empty() || content_type.starts_with("text/plain")) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, STRAY_DETAIL_BYTES * 8)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = if status.is_server_error() || text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_lowercase()
    } else {
        text.chars().take(STRAY_DETAIL_BYTES).collect()
    };
    let mut reshaped = ApiError::Rejected { status, detail }.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            reshaped.headers_mut().append(name, value.clone());
        }
    }
    reshaped
}

/// Times in request bodies and queries: RFC 3339, with an error that says so (chrono's own
/// says only "input contains invalid characters").
pub(crate) mod rfc3339 {
    use std::fmt;

    use chrono::{DateTime, FixedOffset, Utc};
    use serde::de::{self, Deserializer, Unexpected, Visitor};

    /// What a time must look like, as error messages and the API description say it.
    pub(crate) const EXPECTED: &str = "an RFC 3339 time, e.g. 2026-12-03T09:00:00Z";

    /// Parses one time, for query parameters read by hand.
    pub(crate) fn parse(text: &str) -> Option<DateTime<Utc>> {
        text.parse::<DateTime<FixedOffset>>()
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// `#[serde(default, deserialize_with = "rfc3339::option")]`: absent or null is `None`.
    pub(crate) fn option<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
    where
        D: Deserializer<'de>,
    {
        deserializer.deserialize_option(TimeVisitor)
    }

    struct TimeVisitor;

    impl<'de> Visitor<'de> for TimeVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTED)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse(v)
                .map(Some)
                .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
        }
    }
}

/// `#[serde(default, deserialize_with = "null_is_default")]`: a field sent as `null`, the way
/// generated clients send an unset optional field, reads as if it were absent.
pub(crate) fn null_is_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Parses an id from a path segment; anything that is not an id names nothing (404).
pub(crate) fn parse_id<T: std::str::FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound { what })
}

/// The fallback for unknown routes.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound { what: "route" }
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_a_503_problem_with_retry_after() {
        let error = ApiError::from(StoreError::from(sqlx::Error::PoolTimedOut));
        assert_eq!(error.problem().code, "unavailable");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(
            headers[header::RETRY_AFTER],
            UNAVAILABLE_RETRY_AFTER_SECS.to_string().as_str()
        );
    }

    #[test]
    fn a_query_error_names_its_field_when_the_message_does() {
        assert_eq!(
            named_field(
                "Failed to deserialize query string: unknown field `lmit`, expected one of `limit`"
            ),
            Some("lmit")
        );
        assert_eq!(named_field("invalid digit found in string"), None);
        assert_eq!(
            named_field(
                "Failed to deserialize query string: since: invalid value: string \"x\", \
                 expected an RFC 3339 time, e.g. 2026-12-03T09:00:00Z"
            ),
            Some("since")
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
        #[serde(default, deserialize_with = "rfc3339::option")]
        at: Option<chrono::DateTime<chrono::Utc>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    fn failure(value: serde_json::Value) -> FieldError {
        *from_value_at::<Outer>(value, "").unwrap_err()
    }

    #[test]
    fn a_body_of_the_wrong_shape_names_the_field_and_what_was_expected() {
        let e = failure(serde_json::json!({"items": [{"name": "a"}, {"name": 5}]}));
        assert_eq!(e.field, "items[1].name");
        assert!(e.message.contains("expected a string"), "{}", e.message);

        let e = failure(serde_json::json!({"items": [{"nme": "a"}]}));
        assert_eq!(e.field, "items[0].nme");
        assert!(e.message.contains("unknown field `nme`"), "{}", e.message);

        let e = failure(serde_json::json!({}));
        assert_eq!(e.field, "items");
        assert!(e.message.contains("missing field `items`"), "{}", e.message);

        let e = failure(serde_json::json!({"items": [], "at": "tomorrow"}));
        assert_eq!(e.field, "at");
        assert!(
            e.message
                .contains("an RFC 3339 time, e.g. 2026-12-03T09:00:00Z"),
            "{}",
            e.message
        );
        let e = failure(serde_json::json!({"items": [], "at": 5}));
        assert_eq!(e.field, "at");
        assert!(e.message.contains("RFC 3339"), "{}", e.message);
    }

    #[test]
    fn a_time_reads_as_rfc_3339_and_null_as_none() {
        let ok: Outer = from_value_at(
            serde_json::json!({"items": [], "at": "2026-12-03T10:00:00+01:00"}),
            "",
        )
        .unwrap();
        assert_eq!(ok.at.unwrap().to_rfc3339(), "2026-12-03T09:00:00+00:00");
        let null: Outer = from_value_at(serde_json::json!({"items": [], "at": null}), "").unwrap();
        assert!(null.at.is_none());
    }

    #[test]
    fn any_other_database_error_stays_an_opaque_500() {
        let error = ApiError::from(StoreError::from(sqlx::Error::RowNotFound));
        assert_eq!(error.problem().code, "internal");
        assert_eq!(
            error.into_response().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
