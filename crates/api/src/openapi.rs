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
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        crate::webhooks::WebhookEvent,
        crate::webhooks::DeliveryEventData,
        crate::webhooks::PostCompletedData,
        crate::webhooks::PostCompletedDelivery,
        crate::webhooks::ConnectionNeedsReconnectData,
        crate::webhooks::ConnectionExpiringData,
        crate::webhooks::WebhookTestData,
    )),
    modifiers(&BearerKey),
    tags(
        (name = "posts", description = "Enqueue posts and follow them"),
        (name = "deliveries", description = "One post on one connection"),
        (name = "media", description = "Uploaded images"),
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
