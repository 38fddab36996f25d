//! What every page and route answers: vendored /docs, security headers and CSP, problem+json for every error, /metrics locked.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use support::app::{TestApp, problem};

/// The nonce of `script-src 'nonce-...'` in a page's Content-Security-Policy.
fn policy_nonce(headers: &HeaderMap) -> String {
    let csp = headers
        .get("content-security-policy")
        .expect("a Content-Security-Policy")
        .to_str()
        .unwrap();
    for directive in csp.split(';').map(str::trim) {
        // Style attributes hold no script; /docs allows them (`style-src-attr`).
        if !directive.starts_with("style-src-attr ") {
            assert!(!directive.contains("unsafe-inline"), "{directive} in {csp}");
        }
    }
    assert!(!csp.contains("unsafe-eval"), "no unsafe-eval: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("http"), "no other origin is allowed: {csp}");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("script-src "))
        .unwrap_or_else(|| panic!("a script-src: {csp}"));
    let nonce = script_src
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("a nonce in script-src: {csp}"));
    assert!(nonce.len() >= 16, "{nonce}");
    nonce.to_owned()
}

/// Every `<script` and `<style` element of `html` carries `nonce="{nonce}"`; returns how
/// many there are.
fn inline_elements_carry(html: &str, nonce: &str) -> usize {
    let mut count = 0;
    for tag in ["<script", "<style"] {
        for (at, _) in html.match_indices(tag) {
            let end = html[at..].find('>').map_or(html.len(), |e| at + e);
            let element = &html[at..end];
            assert!(
                element.contains(&format!("nonce=\"{nonce}\"")),
                "{element}> lacks the response's nonce"
            );
            count += 1;
        }
    }
    assert!(
        !html.contains(" onclick=") && !html.contains(" onload="),
        "{html}"
    );
    assert!(!html.contains(" style=\""), "no style attributes: {html}");
    count
}

/// The headers every page carries.
fn page_headers(headers: &HeaderMap, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name} on {what}"
        );
    }
}

/// Signs in to the dashboard with `key`; returns the `Cookie` header of the session.
async fn dashboard_session(app: &TestApp, key: &str) -> String {
    let response = app
        .http
        .post(app.url("/dashboard/login"))
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_fresh_nonce_for_their_inline_code() {
    let app = TestApp::spawn().await;
    let cookie = dashboard_session(&app, &app.keys.admin).await;
    let connection = app.connect_telegram().await;
    let post = app
        .post_ok(&serde_json::json!({"targets": [connection], "text": "watched"}))
        .await;
    let delivery = post["deliveries"][0]["id"].as_str().unwrap().to_owned();

    for path in [
        "/dashboard/login".to_owned(),
        "/dashboard".to_owned(),
        "/dashboard/deliveries".to_owned(),
        format!("/dashboard/deliveries/{delivery}"),
        "/dashboard/connections".to_owned(),
        "/docs".to_owned(),
    ] {
        let mut nonces = Vec::new();
        for _ in 0..2 {
            let mut request = app.http.get(app.url(&path));
            // The sign-in form is what a browser without a session sees.
            if path != "/dashboard/login" {
                request = request.header("cookie", &cookie);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            page_headers(response.headers(), &path);
            assert!(
                response
                    .headers()
                    .get("strict-transport-security")
                    .is_none(),
                "no HSTS over plain HTTP"
            );
            let nonce = policy_nonce(response.headers());
            let html = response.text().await.unwrap();
            let inline = inline_elements_carry(&html, &nonce);
            assert!(inline > 0, "{path} has nonce'd elements: {html}");
            nonces.push(nonce);
        }
        assert_ne!(nonces[0], nonces[1], "{path}: a nonce per response");
    }
    // The deliveries list's live script runs by the nonce.
    let overview = app
        .http
        .get(app.url("/dashboard/deliveries"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let nonce = policy_nonce(overview.headers());
    let html = overview.text().await.unwrap();
    assert!(
        html.contains(&format!("<script nonce=\"{nonce}\">")) && html.contains("EventSource"),
        "{html}"
    );

    // A page for a person outside the dashboard (the OAuth callback's) allows no code.
    let callback = app
        .http
        .get(app.url("/api/social/twitter/callback?state=forged&code=x"))
        .send()
        .await
        .unwrap();
    assert!(callback.status().is_client_error());
    page_headers(callback.headers(), "the OAuth callback page");
    let csp = callback.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");

    // JSON answers are never sniffed into something else.
    let json = app.get("/v1/connections", &app.keys.read).await;
    assert_eq!(json.status(), StatusCode::OK);
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
    let error = app.get("/v1/nothing", &app.keys.read).await;
    assert_eq!(error.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn an_https_public_url_adds_strict_transport_security() {
    let app = TestApp::spawn_with(&[("HERALD_PUBLIC_URL", "https://herald.example")]).await;
    for path in ["/docs", "/dashboard/login", "/healthz", "/openapi.json"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let hsts = response.headers()["strict-transport-security"]
            .to_str()
            .unwrap();
        assert!(hsts.starts_with("max-age=31536000"), "{path}: {hsts}");
    }
}

#[tokio::test]
async fn docs_load_nothing_from_another_origin_and_serve_their_own_script() {
    let app = TestApp::spawn().await;
    let docs = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(
        docs.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = docs.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("\"//"),
        "no other origin is referenced: {html}"
    );
    let mut scripts = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            let value = &value[..value.find('"').unwrap()];
            assert!(
                value.starts_with('/') && !value.starts_with("//"),
                "{value} is on Herald itself"
            );
            if attribute == "src=\"" {
                scripts.push(value.to_owned());
            }
        }
    }
    assert_eq!(scripts.len(), 1, "{html}");
    let script = &scripts[0];
    assert!(
        script.starts_with("/docs/assets/scalar-api-reference-") && script.ends_with(".js"),
        "a versioned path: {script}"
    );
    assert!(html.contains("'/openapi.json'"), "{html}");

    let asset = app.http.get(app.url(script)).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    let headers = asset.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(
        cache.contains("max-age=31536000") && cache.contains("immutable"),
        "{cache}"
    );
    let body = asset.text().await.unwrap();
    assert!(
        body.len() > 1_000_000,
        "the whole bundle: {} bytes",
        body.len()
    );
    assert!(body.contains("createApiReference"));

    // Another version is not there: the path names exactly what is compiled in.
    let other = app
        .http
        .get(app.url("/docs/assets/scalar-api-reference-0.0.1.js"))
        .send()
        .await
        .unwrap();
    let (status, _) = problem(other).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An answer to a hostile request: a success (the request happened to be acceptable), or a
/// 4xx problem document of the usual shape; never a server error, never plain text.
async fn problem_or_success(response: Response, what: &str) -> Option<(StatusCode, Value)> {
    let status = response.status();
    assert!(!status.is_server_error(), "{what}: {status}");
    if status.is_success() || status.is_redirection() {
        return None;
    }
    let (status, body) = problem(response).await;
    for field in ["type", "title", "detail", "code"] {
        assert!(body[field].is_string(), "{what}: `{field}` in {body:#}");
    }
    Some((status, body))
}

/// One hostile variation of a documented route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostile {
    /// Every path parameter is `%ff%fe`: not UTF-8 once decoded.
    BadPathSegment,
    /// Undecodable, unknown and malformed query parameters.
    BadQuery,
    /// `{"text": ` as application/json.
    BadJson,
    /// A JSON body sent as text/plain.
    WrongContentType,
    /// A body over every limit.
    TooLarge,
    /// A method the route does not have.
    WrongMethod,
    /// A segment under the route that names nothing.
    UnknownRoute,
}

#[tokio::test]
async fn hostile_requests_on_every_documented_route_answer_problem_documents() {
    let app = TestApp::spawn_with(&[
        ("HERALD_API__RATE_LIMIT_BURST", "100000"),
        ("HERALD_API__JSON_LIMIT_BYTES", "4096"),
        ("HERALD_API__BODY_LIMIT_BYTES", "65536"),
    ])
    .await;
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{paths:?}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // Only a server-sent event stream stays open; its headers come at once.
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let too_large = format!("{{\"text\": \"{}\"}}", "x".repeat(100_000));
    let mut seen = 0;
    for (template, operations) in paths {
        let params: Vec<&str> = template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let with = |value: &str| {
            params.iter().fold(template.clone(), |path, name| {
                path.replace(&format!("{{{name}}}"), value)
            })
        };
        for method in operations.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let takes_body = method == Method::POST || method == Method::PUT;
            for hostile in [
                Hostile::BadPathSegment,
                Hostile::BadQuery,
                Hostile::BadJson,
                Hostile::WrongContentType,
                Hostile::TooLarge,
                Hostile::WrongMethod,
                Hostile::UnknownRoute,
            ] {
                let ordinary = with("0190f0c4-5d1e-7a8b-9c0d-1e2f3a4b5c6d");
                let (method, path) = match hostile {
                    Hostile::BadPathSegment if params.is_empty() => continue,
                    Hostile::BadPathSegment => (method.clone(), with("%ff%fe")),
                    Hostile::BadQuery => (
                        method.clone(),
                        format!("{ordinary}?%ff=%fe&limit=-1&limit=x&cursor=%00&state=nope"),
                    ),
                    Hostile::BadJson | Hostile::WrongContentType | Hostile::TooLarge
                        if !takes_body =>
                    {
                        continue;
                    }
                    Hostile::WrongMethod => (Method::PATCH, ordinary),
                    Hostile::UnknownRoute => (method.clone(), format!("{ordinary}/nothing/here")),
                    _ => (method.clone(), ordinary),
                };
                let mut request = http
                    .request(method.clone(), app.url(&path))
                    .bearer_auth(&app.keys.admin);
                request = match hostile {
                    Hostile::BadJson => request
                        .header("content-type", "application/json")
                        .body("{\"text\": "),
                    Hostile::WrongContentType => request
                        .header("content-type", "text/plain")
                        .body("{\"text\": \"hi\"}"),
                    Hostile::TooLarge => request
                        .header("content-type", "application/json")
                        .body(too_large.clone()),
                    _ => request,
                };
                let what = format!("{hostile:?}: {method} {path}");
                let response = request
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let answer = problem_or_success(response, &what).await;
                seen += 1;
                let expected = match hostile {
                    Hostile::BadPathSegment => {
                        let (status, body) = answer.unwrap_or_else(|| panic!("{what} is refused"));
                        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body:#}");
                        assert_eq!(body["code"], "invalid_path", "{what}: {body:#}");
                        let field = body["errors"][0]["field"].as_str().unwrap_or_default();
                        assert!(params.contains(&field), "{what} names {params:?}: {body:#}");
                        continue;
                    }
                    Hostile::BadQuery => continue,
                    Hostile::BadJson => StatusCode::BAD_REQUEST,
                    Hostile::WrongContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Hostile::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                    Hostile::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
                    Hostile::UnknownRoute => StatusCode::NOT_FOUND,
                };
                let (status, body) = answer.unwrap_or_else(|| panic!("{what} is refused"));
                // A route that reads no body, or reads its id first, may refuse for that
                // reason instead: still a problem document, never a success.
                if status != expected {
                    assert!(
                        matches!(status.as_u16(), 404 | 409 | 422),
                        "{what}: {status} (expected {expected}): {body:#}"
                    );
                }
            }
        }
    }
    assert!(seen > 60, "{seen} hostile requests");

    // The routes outside the description answer the same way.
    for (method, path, expected) in [
        (
            Method::GET,
            "/v1/connections/%ff%fe",
            StatusCode::BAD_REQUEST,
        ),
        (Method::GET, "/%ff%fe", StatusCode::NOT_FOUND),
        (
            Method::GET,
            "/media/%ff%fe?expires=1&sig=x",
            StatusCode::NOT_FOUND,
        ),
        (Method::POST, "/healthz", StatusCode::METHOD_NOT_ALLOWED),
        (
            Method::DELETE,
            "/openapi.json",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "/v1/connect/%ff", StatusCode::BAD_REQUEST),
        (
            Method::GET,
            "/v1/deliveries?limit=%ff",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = http
            .request(method.clone(), app.url(path))
            .bearer_auth(&app.keys.admin)
            .send()
            .await
            .unwrap();
        let what = format!("{method} {path}");
        let (status, body) = problem_or_success(response, &what)
            .await
            .unwrap_or_else(|| panic!("{what} is refused"));
        assert_eq!(status, expected, "{what}: {body:#}");
    }
    let (_, body) = problem(
        http.get(app.url("/v1/connections/%ff%fe"))
            .bearer_auth(&app.keys.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "id", "{body:#}");
    let (_, body) = problem(app.get("/v1/deliveries?lmit=5", &app.keys.admin).await).await;
    assert_eq!(body["code"], "invalid_query", "{body:#}");
    assert_eq!(body["errors"][0]["field"], "lmit", "{body:#}");

    // A malformed form on a dashboard action is refused without a plain-text body either.
    let cookie = dashboard_session(&app, &app.keys.admin).await;
    let response = http
        .post(app.url("/dashboard/logout"))
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type == "application/problem+json" || content_type.starts_with("text/html"),
        "{content_type}"
    );
}

async fn scrape(app: &TestApp, base: &str, token: Option<&str>) -> Response {
    let mut request = app.http.get(format!("{base}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

const TOKEN: &str = "metrics-token-for-prometheus-0123";

#[tokio::test]
async fn metrics_need_their_token_when_one_is_set() {
    let app = TestApp::spawn_with(&[("HERALD_API__METRICS_TOKEN", TOKEN)]).await;
    for presented in [
        None,
        Some("wrong-token-0123456789"),
        Some(app.keys.admin.as_str()),
    ] {
        let response = scrape(&app, &app.base, presented).await;
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"herald-metrics\""
        );
        let (status, body) = problem(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{presented:?}");
        assert_eq!(body["code"], "unauthorized");
        assert!(!body.to_string().contains(TOKEN));
    }
    let response = scrape(&app, &app.base, Some(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("herald_api_requests_total"),
        "the counters are served"
    );

    // Without a token, development keeps /metrics open on the API's port.
    let open = TestApp::spawn().await;
    assert_eq!(
        scrape(&open, &open.base, None).await.status(),
        StatusCode::OK
    );
}

/// A free port on loopback (bound, then let go for the API to take).
async fn free_addr() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn metrics_on_their_own_address_leave_the_public_port() {
    let addr = free_addr().await;
    let app = TestApp::spawn_with(&[
        ("HERALD_API__METRICS_ADDR", &addr.to_string()),
        ("HERALD_API__METRICS_TOKEN", TOKEN),
    ])
    .await;
    let own = format!("http://{addr}");
    let served = support::eventually(Duration::from_secs(10), || async {
        let response = app
            .http
            .get(format!("{own}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?;
        (response.status() == StatusCode::OK).then_some(response)
    })
    .await
    .expect("the metrics address answers");
    assert!(
        served.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    let (status, _) = problem(scrape(&app, &own, None).await).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the token is asked for there too"
    );
    let (status, _) = problem(scrape(&app, &app.base, Some(TOKEN)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not on the public port");
    let (status, _) = problem(app.http.get(format!("{own}/docs")).send().await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing else on the metrics address"
    );
}

#[tokio::test]
async fn production_serves_no_anonymous_metrics_on_the_public_port() {
    let production = [
        ("HERALD_ENV", "production"),
        (
            "HERALD_ENCRYPTION_KEYS",
            "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ];
    let app = TestApp::spawn_with(&production).await;
    let (status, _) = problem(scrape(&app, &app.base, None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let app = TestApp::spawn_with(&[
        production[0],
        production[1],
        ("HERALD_API__METRICS_TOKEN", TOKEN),
    ])
    .await;
    let (status, _) = problem(scrape(&app, &app.base, None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, &app.base, Some(TOKEN)).await.status(),
        StatusCode::OK
    );
}

const CHROMIUM: &str = "/usr/bin/chromium";

/// `/docs` in headless Chromium with no other host reachable: Scalar renders the operations
/// from Herald's own bundle and description, and the page's policy (which names no other
/// origin) refuses nothing the page does, so it reached for no other origin either.
#[tokio::test]
async fn docs_render_offline_in_a_browser_under_their_policy() {
    let _serial = support::serial().await;
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
    );
    let app = TestApp::spawn().await;
    let profile = std::env::temp_dir().join(format!("herald-docs-{}", uuid::Uuid::new_v4()));
    let mut command = std::process::Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        // Offline: no name but Herald's address resolves.
        .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(app.url("/docs"));
    // With a virtual time budget, Chromium exits once the page has settled; if it does not,
    // it is killed with its process group.
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    let child = command.spawn().expect("Chromium starts");
    let group = child.id();
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let Ok(output) = output else {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .status();
        panic!("Chromium did not render /docs within 90 s");
    };
    let output = output.unwrap().expect("Chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        dom.contains("/v1/posts") && dom.contains("Enqueue posts and follow them"),
        "Scalar rendered the description:\n{}\n{log}",
        &dom[..dom.len().min(3000)]
    );
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Content Security Policy"))
        .collect();
    assert!(
        refused.is_empty(),
        "the policy refused something /docs does:\n{}",
        refused.join("\n")
    );
}
