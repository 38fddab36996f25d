//! The OpenAPI description, generated from the handlers' `#[utoipa::path]` annotations and
//! the request and response types' `ToSchema` derives, so it cannot drift from the code.
//! Served at `/openapi.json`, with a documentation UI (Scalar) at `/docs`.
//!
//! The UI's script is the Scalar API reference bundle vendored under `crates/api/assets/`
//! (see its README) and compiled in: `/docs` loads nothing from another origin, works
//! offline, and runs under the pages' Content-Security-Policy ([`crate::security`]).

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::AppState;
use crate::security::{PagePolicy, page};

/// The vendored `@scalar/api-reference` version, in one place: the file name and the path
/// it is served at both carry it. `crates/api/assets/vendor-scalar.sh` re-vendors another.
macro_rules! scalar_version {
    () => {
        "1.76.0"
    };
}

/// The vendored `@scalar/api-reference` version `/docs` runs.
pub const SCALAR_VERSION: &str = scalar_version!();

/// Where the bundle is served. The version in the path lets browsers keep it for a year.
pub const SCALAR_PATH: &str = concat!(
    "/docs/assets/scalar-api-reference-",
    scalar_version!(),
    ".js"
);

/// The `<style>` elements the vendored Scalar renders without the page's nonce (its
/// theme, its toasts), by the hash of their fixed content: the docs page's policy allows
/// these and no other. They change with the version: the browser test of `/docs` fails on
/// a new one and prints the hash Chromium computed for each refused element.
pub(crate) const SCALAR_STYLE_HASHES: &[&str] = &[
    "sha256-l/2OpPg0d+2VLTLgwjf5mQo2CYwHDEqdj5TjbfEyVJI=",
    "sha256-T13Uev3xCax2N28XaoAE8DOzQZKvPp7ZQVAi1iRREjo=",
];

const SCALAR_JS: &[u8] = include_bytes!(concat!(
    "../assets/scalar-api-reference-",
    scalar_version!(),
    ".js"
));

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Herald",
        description = "Publish to social platforms, reliably. Every /v1 route takes \
            `Authorization: Bearer <api key>`; scopes are `read`, `publish` and `admin` \
            (which includes the other two). Errors are application/problem+json with a \
            stable `code`. Lists answer `{\"data\": [...], \"next_cursor\": ...}`."
    ),
    paths(
        crate::posts::create_post,
        crate::posts::list_posts,
        crate::posts::get_post,
        crate::posts::cancel_post,
        crate::deliveries::list_deliveries,
        crate::deliveries::get_delivery,
        crate::deliveries::retry_delivery,
        crate::deliveries::resolve_delivery,
        crate::media::upload,
        crate::media::get_media,
        crate::connections::list_connections,
        crate::connections::get_connection,
        crate::connections::delete_connection,
        crate::connections::list_pages,
        crate::connections::select_page,
        crate::connections::connect_telegram,
        crate::oauth::connect_post,
        crate::events::events,
        crate::webhooks::create_webhook,
        crate::webhooks::list_webhooks,
        crate::webhooks::get_webhook,
        crate::webhooks::delete_webhook,
        crate::webhooks::list_deliveries,
        crate::webhooks::rotate_secret,
        crate::webhooks::test_webhook,
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::webhook_events::DeliveryEvent,
        crate::webhook_events::DeliveryEventData,
        crate::webhook_events::PostCompletedEvent,
        crate::webhook_events::PostCompletedData,
        crate::webhook_events::PostCompletedDelivery,
        crate::webhook_events::ConnectionNeedsReconnectEvent,
        crate::webhook_events::ConnectionNeedsReconnectData,
        crate::webhook_events::ConnectionExpiringEvent,
        crate::webhook_events::ConnectionExpiringData,
        crate::webhook_events::WebhookTestEvent,
        crate::webhook_events::WebhookTestData,
    )),
    modifiers(&BearerKey, &ErrorAnswers, &Webhooks),
    tags(
        (name = "posts", description = "Enqueue posts and follow them"),
        (name = "deliveries", description = "One post on one connection"),
        (name = "media", description = "Uploaded images and videos"),
        (name = "connections", description = "Connected accounts, OAuth, pages, Telegram"),
        (name = "events", description = "Server-sent delivery events"),
        (name = "webhooks", description = "Signed event callbacks"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("hrld_...")
                    .build(),
            ),
        );
    }
}

/// The description as pretty-printed JSON, as `herald openapi` prints it (and the client
/// generators under `clients/` read it).
pub fn document_json() -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&ApiDoc::openapi())
}

/// The error answers every route declares, added to what its annotation says, so the
/// description cannot forget one: an authenticated route can answer 401, 403, 429 and 503
/// before its handler runs; a route reading a path, query, header or body can answer 400;
/// a route with a path id 404; a route with a body 413 and 415, and 422 for JSON. Every
/// error answer is declared `application/problem+json` with the [`crate::Problem`] schema
/// (as served), and every answer has a description.
struct ErrorAnswers;

impl Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                declare_errors(operation);
            }
        }
    }
}

/// The `webhooks` section (OpenAPI 3.1): the events Herald POSTs to registered URLs.
struct Webhooks;

impl Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.webhooks = Some(crate::webhook_events::webhooks());
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

const PROBLEM_JSON: &str = "application/problem+json";

fn declare_errors(operation: &mut Operation) {
    let authenticated = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path_id = parameters
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let body_types: Vec<&str> = operation
        .request_body
        .as_ref()
        .map(|body| match body {
            RefOr::T(body) => body.content.keys().map(String::as_str).collect(),
            RefOr::Ref(_) => Vec::new(),
        })
        .unwrap_or_default();
    let mut statuses = Vec::new();
    if !parameters.is_empty() || operation.request_body.is_some() {
        statuses.push("400");
    }
    if authenticated {
        statuses.extend(["401", "403", "429", "503"]);
    }
    if has_path_id {
        statuses.push("404");
    }
    if operation.request_body.is_some() {
        statuses.extend(["413", "415"]);
    }
    if body_types.contains(&"application/json") {
        statuses.push("422");
    }
    let responses = &mut operation.responses.responses;
    for status in statuses {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(status)));
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            conform(status, response);
        }
    }
}

/// An answer as declared by a handler, made to say what it is: a description when it has
/// none, the problem media type for an error, and the headers its status comes with.
fn conform(status: &str, response: &mut utoipa::openapi::Response) {
    if response.description.is_empty() {
        response.description = describe(status).to_owned();
    }
    if status.starts_with(['4', '5'])
        && let Some(content) = response.content.shift_remove("application/json")
    {
        response.content.insert(PROBLEM_JSON.to_owned(), content);
    }
    if let Some((name, header)) = header_of(status) {
        response
            .headers
            .entry(name.to_owned())
            .or_insert_with(|| RefOr::T(header));
    }
}

/// An error answer the handler's annotation did not declare.
fn problem_response(status: &str) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new()
        .description(describe(status))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    conform(status, &mut response);
    response
}

/// The header an answer of this status always carries: where to authenticate (401), when
/// to try again (429, 503).
fn header_of(status: &str) -> Option<(&'static str, Header)> {
    match status {
        "401" => Some((
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("`Bearer realm=\"herald\"`"))
                .build(),
        )),
        "429" | "503" => Some((
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before trying again"))
                .build(),
        )),
        _ => None,
    }
}

/// What an answer of this status means, where its annotation does not say.
fn describe(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted",
        "204" => "No content",
        "400" => {
            "The request cannot be read: malformed JSON, or a path segment, query \
                  parameter or header that does not parse (`errors` names it)"
        }
        "401" => "No valid API key (`unauthorized`)",
        "403" => "The API key lacks the scope this route needs (`insufficient_scope`)",
        "404" => "No such resource in the caller's tenant (`not_found`)",
        "409" => "The request conflicts with the resource's state",
        "413" => "The body is larger than this route accepts (`payload_too_large`)",
        "415" => "The body's Content-Type is not one this route reads (`unsupported_media_type`)",
        "422" => {
            "The request reads fine but breaks rules: every broken rule is in `errors` \
                  (`validation_failed`), or a platform refused (`platform_error`, with a hint)"
        }
        "429" => {
            "Too many requests for this API key (`rate_limited`) or too many failed \
                  authentications from this address (`auth_throttled`): retry after `Retry-After`"
        }
        "503" => {
            "A dependency (the database) is unavailable right now (`unavailable`): retry \
                  after `Retry-After`"
        }
        _ => "See the problem document",
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/docs", get(docs))
        .route(SCALAR_PATH, get(scalar_js))
}

/// `GET /docs`: Scalar, reading `/openapi.json`. Its default fonts would come from
/// Scalar's servers, so the system's are used. The `csp-nonce` meta element is where Scalar
/// reads the nonce for the stylesheet it adds.
async fn docs() -> Response {
    page(StatusCode::OK, PagePolicy::Docs, |nonce| {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta property=\"csp-nonce\" content=\"{nonce}\">\
             <title>Herald API</title></head><body><div id=\"app\"></div>\
             <script nonce=\"{nonce}\" src=\"{SCALAR_PATH}\"></script>\
             <script nonce=\"{nonce}\">Scalar.createApiReference('#app', \
             {{url: '/openapi.json', withDefaultFonts: false}});</script></body></html>"
        )
    })
}

/// The vendored bundle, cached for a year: a new version is served at a new path.
async fn scalar_js() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        SCALAR_JS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn states_platforms_and_error_classes_are_described_as_enums() {
        let spec = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &spec["components"]["schemas"];
        let values = |name: &str| -> Value { schemas[name]["enum"].clone() };
        assert_eq!(
            values("PostState"),
            json!([
                "scheduled",
                "queued",
                "in_progress",
                "published",
                "partially_published",
                "failed",
                "unknown",
                "cancelled"
            ])
        );
        assert_eq!(
            values("DeliveryState"),
            json!([
                "scheduled",
                "queued",
                "running",
                "retrying",
                "rate_limited",
                "published",
                "failed",
                "dead",
                "unknown",
                "cancelled"
            ])
        );
        assert_eq!(
            values("Platform"),
            json!([
                "twitter",
                "linkedin",
                "facebook",
                "instagram",
                "threads",
                "telegram"
            ])
        );
        assert_eq!(
            values("ErrorClass"),
            json!([
                "retryable",
                "rate_limited",
                "permanent",
                "reconnect_required",
                "unknown_outcome"
            ])
        );
        assert_eq!(values("StepState"), json!(["sending", "done", "failed"]));
        assert_eq!(
            schemas["DeliveryOut"]["properties"]["state"]["$ref"],
            json!("#/components/schemas/DeliveryState")
        );
    }
}
