//! The headers that keep browsers from misusing Herald's answers.
//!
//! - Every answer says `X-Content-Type-Options: nosniff`, so a JSON document or an uploaded
//!   image is never run as a script or a page; and `Strict-Transport-Security` when
//!   `public_url` is https, so a browser that came once never falls back to plain HTTP.
//! - The pages (the dashboard, `/docs`) are built with [`page`]: it draws a nonce for each
//!   response, hands it to the markup for its `<script>` and `<style>` elements, and sends a
//!   Content-Security-Policy that runs those and nothing else inline (no `unsafe-inline`,
//!   no inline event handlers, no other origin), with the framing, referrer and opener
//!   headers beside it.
//! - Any other HTML (the OAuth callback's result pages, which hold no script or style) gets
//!   a policy that allows nothing but its markup.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::AppState;

/// For HTML without a page policy of its own: markup only.
const LOCKED_CSP: &str =
    "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// A year: what `Strict-Transport-Security` asks browsers to remember.
const HSTS: &str = "max-age=31536000";

/// What a page may load besides its nonce'd inline script and style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PagePolicy {
    /// Forms posted to itself and the live event stream (`/dashboard/events`).
    Dashboard,
    /// The vendored Scalar bundle and `/openapi.json`, both from Herald itself. Scalar's
    /// stylesheet is a `<style>` it adds with the nonce it reads from the page; the two
    /// others it renders without one are allowed by their hashes
    /// ([`crate::openapi::SCALAR_STYLE_HASHES`]). Its markup also sets `style` attributes
    /// (sizes, icon colours), which cannot carry a nonce: they are allowed here, and only
    /// here (`style-src-attr`), as a style attribute runs no script.
    Docs,
}

impl PagePolicy {
    fn csp(self, nonce: &str) -> String {
        let own = format!("'nonce-{nonce}'");
        match self {
            PagePolicy::Dashboard => format!(
                "default-src 'none'; script-src {own}; style-src {own}; connect-src 'self'; \
                 img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
            PagePolicy::Docs => format!(
                "default-src 'none'; script-src {own}; style-src 'self' {own}; \
                 style-src-elem 'self' {own} {hashes}; style-src-attr 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; \
                 form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
                hashes = crate::openapi::SCALAR_STYLE_HASHES
                    .iter()
                    .map(|hash| format!("'{hash}'"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        }
    }
}

/// A fresh nonce: 16 random bytes, base64url.
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An HTML page whose inline `<script>` and `<style>` elements carry `nonce="..."` with the
/// nonce `build` is given, answered with the policy that runs exactly those.
pub(crate) fn page(
    status: StatusCode,
    policy: PagePolicy,
    build: impl FnOnce(&str) -> String,
) -> Response {
    let nonce = nonce();
    let mut response = (status, Html(build(&nonce))).into_response();
    let headers = response.headers_mut();
    // The nonce is base64url, so the policy is always a valid header value.
    if let Ok(csp) = HeaderValue::from_str(&policy.csp(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    page_headers(headers);
    response
}

/// Framing, referrer and opener rules for every HTML answer.
fn page_headers(headers: &mut HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

/// Middleware on the API's port: `nosniff` on every answer, HSTS when the public URL is
/// https, and the locked-down policy on HTML that has none.
pub(crate) async fn headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let https = state.inner.config.public_url.as_str().starts_with("https:");
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if is_html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(LOCKED_CSP),
        );
        page_headers(headers);
    }
    response
}

/// Middleware for a listener that serves no pages (`api.metrics_addr`): `nosniff` only.
pub(crate) async fn headers_for_json(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_has_its_own_nonce_in_its_policy() {
        let mut seen = Vec::new();
        let first = page(StatusCode::OK, PagePolicy::Dashboard, |n| {
            seen.push(n.to_owned());
            String::new()
        });
        let second = page(StatusCode::OK, PagePolicy::Docs, |n| {
            seen.push(n.to_owned());
            String::new()
        });
        assert_ne!(seen[0], seen[1]);
        for (response, nonce) in [(first, &seen[0]), (second, &seen[1])] {
            let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                csp.contains(&format!("script-src 'nonce-{nonce}'")),
                "{csp}"
            );
            let script = csp.split("; ").find(|d| d.starts_with("script-src "));
            assert!(!script.unwrap_or_default().contains("unsafe"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        }
    }
}
