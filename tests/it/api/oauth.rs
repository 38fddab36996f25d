//! Connecting accounts end to end against the simulator: POST /v1/connect/{platform}, the
//! platform's consent page, GET /api/social/{platform}/callback, page selection, then a
//! post that a worker publishes. And the ways a callback must be refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

pub(super) const RETURN_TO: &str = "https://producer.example/connected";

/// The API, with `RETURN_TO`'s origin allowed as a place to send the browser back to.
pub(super) async fn spawn() -> TestApp {
    TestApp::spawn_with(&[(
        "HERALD_API__ALLOWED_RETURN_ORIGINS",
        "[\"https://producer.example\"]",
    )])
    .await
}

/// Where a response redirects to.
fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Starts a connection; returns the platform's consent URL.
async fn start(app: &TestApp, platform: &str, body: Value) -> String {
    let response = app
        .post_json(&format!("/v1/connect/{platform}"), &app.keys.admin, &body)
        .await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer:#}");
    assert!(answer["start_url"].as_str().unwrap().starts_with(&app.base));
    answer["authorize_url"].as_str().unwrap().to_owned()
}

/// The user approves on the (simulated) platform: returns the callback URL it sends them to.
async fn approve(app: &TestApp, authorize_url: &str) -> String {
    let consent = app.http.get(authorize_url).send().await.unwrap();
    let callback = location(&consent);
    assert!(
        callback.starts_with(&app.url("/api/social/")),
        "the platform sends the browser back to Herald: {callback}"
    );
    callback
}

/// The whole browser round trip; returns the connection id from the redirect to return_to.
pub(super) async fn connect(app: &TestApp, platform: &str, body: Value) -> String {
    let authorize = start(app, platform, body).await;
    let callback = approve(app, &authorize).await;
    let done = app.http.get(&callback).send().await.unwrap();
    let back = location(&done);
    assert!(back.starts_with(RETURN_TO), "{back}");
    assert_eq!(
        query_param(&back, "status").as_deref(),
        Some("connected"),
        "{back}"
    );
    query_param(&back, "connection_id").unwrap()
}

/// Lists the connection's pages and selects `pick` (or the only one).
pub(super) async fn select_page(app: &TestApp, connection: &str) -> Value {
    let pages: Value = app
        .get(
            &format!("/v1/connections/{connection}/pages"),
            &app.keys.read,
        )
        .await
        .json()
        .await
        .unwrap();
    let page = &pages["data"][0];
    assert!(page["id"].is_string(), "{pages:#}");
    let response = app
        .request(
            Method::PUT,
            &format!("/v1/connections/{connection}/page"),
            &app.keys.admin,
        )
        .json(&json!({"page_id": page["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn upload_jpeg(app: &TestApp, width: u16, height: u16) -> String {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(herald_sim::jpeg(width, height))
            .file_name("photo.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let response = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    media["id"].as_str().unwrap().to_owned()
}

/// Posts `body` and waits until a worker has published it; returns the post.
async fn published(app: &TestApp, body: Value) -> Value {
    let answer = app.post_ok(&body).await;
    let post = app
        .wait_for_post(answer["id"].as_str().unwrap(), "published")
        .await;
    assert!(post["deliveries"][0]["url"].is_string(), "{post:#}");
    post
}

#[tokio::test]
async fn an_x_account_connects_with_pkce_and_its_post_is_published() {
    let mut app = spawn().await;
    app.start_worker().await;
    let id = connect(&app, "x", json!({"user": "u-1", "return_to": RETURN_TO})).await;
    let connection: Value = app
        .get(&format!("/v1/connections/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(connection["platform"], "twitter");
    assert_eq!(connection["account"]["handle"], "herald_dev");
    assert_eq!(connection["user"], "u-1");
    assert!(connection["token_expires_at"].is_string());
    published(&app, json!({"targets": [id], "text": "Hello X"})).await;
    let posts = app.sim_posts().await;
    assert!(
        posts
            .iter()
            .any(|p| p["platform"] == "x" || p["text"] == "Hello X"),
        "{posts:#?}"
    );
}

#[tokio::test]
async fn a_linkedin_member_connects_and_posts_as_themselves() {
    let mut app = spawn().await;
    app.start_worker().await;
    let id = connect(
        &app,
        "linkedin",
        json!({"target": "personal", "return_to": RETURN_TO}),
    )
    .await;
    let connection: Value = app
        .get(&format!("/v1/connections/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(connection["target"], "personal");
    assert_eq!(connection["account"]["id"], "hrldDev01");
    published(&app, json!({"targets": [id], "text": "Hello LinkedIn"})).await;
}

#[tokio::test]
async fn a_linkedin_company_connects_through_the_company_app_and_posts_as_the_organization() {
    let mut app = spawn().await;
    app.start_worker().await;
    let authorize = start(
        &app,
        "linkedin",
        json!({"target": "company", "return_to": RETURN_TO}),
    )
    .await;
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some("herald-dev-linkedin-company"),
        "the company app, chosen by the state's target"
    );
    let callback = approve(&app, &authorize).await;
    assert!(
        callback.contains("/api/social/linkedin/callback"),
        "one shared callback path"
    );
    let back = location(&app.http.get(&callback).send().await.unwrap());
    assert_eq!(
        query_param(&back, "needs_page_selection").as_deref(),
        Some("true")
    );
    let id = query_param(&back, "connection_id").unwrap();

    let (_, body) = problem(
        app.create_post(&json!({"targets": [id], "text": "too early"}))
            .await,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "connection.no_page");

    let connection = select_page(&app, &id).await;
    assert_eq!(connection["target"], "company");
    assert_eq!(connection["page_id"], "100000001");
    published(
        &app,
        json!({"targets": [id], "text": "Hello from the company"}),
    )
    .await;
}

#[tokio::test]
async fn a_facebook_account_connects_then_chooses_its_page_and_posts_there() {
    let mut app = spawn().await;
    app.start_worker().await;
    let id = connect(&app, "facebook", json!({"return_to": RETURN_TO})).await;
    let pages: Value = app
        .get(&format!("/v1/connections/{id}/pages"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pages["data"][0]["kind"], "facebook_page");
    assert_eq!(pages["data"][0]["name"], "Herald Dev Page");
    assert!(
        !pages.to_string().contains("access_token"),
        "page tokens stay inside"
    );

    let response = app
        .request(
            Method::PUT,
            &format!("/v1/connections/{id}/page"),
            &app.keys.admin,
        )
        .json(&json!({"page_id": "999"}))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "page.unknown");
    let response = app
        .request(
            Method::PUT,
            &format!("/v1/connections/{id}/page"),
            &app.keys.producer,
        )
        .json(&json!({"page_id": "200000000000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await.0, StatusCode::FORBIDDEN);

    let connection = select_page(&app, &id).await;
    assert_eq!(connection["page_id"], "200000000000001");
    assert_eq!(connection["post_target_type"], "page");
    published(&app, json!({"targets": [id], "text": "Hello Page"})).await;
}

#[tokio::test]
async fn an_instagram_business_account_connects_through_its_page_and_publishes_an_image() {
    let mut app = spawn().await;
    app.start_worker().await;
    let id = connect(&app, "instagram", json!({"return_to": RETURN_TO})).await;
    let connection = select_page(&app, &id).await;
    assert_eq!(connection["account"]["id"], "17841400000000001");
    assert_eq!(connection["account"]["handle"], "herald_dev_ig");
    assert_eq!(connection["page_id"], "200000000000001");
    let media = upload_jpeg(&app, 1080, 1080).await;
    published(
        &app,
        json!({"targets": [id], "text": "Hello Instagram", "media": [{"media_id": media}]}),
    )
    .await;
}

#[tokio::test]
async fn a_threads_account_connects_and_posts() {
    let mut app = spawn().await;
    app.start_worker().await;
    let id = connect(&app, "threads", json!({"return_to": RETURN_TO})).await;
    let connection: Value = app
        .get(&format!("/v1/connections/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(connection["account"]["handle"], "herald_dev_threads");
    published(&app, json!({"targets": [id], "text": "Hello Threads"})).await;
}

#[tokio::test]
async fn a_telegram_channel_connected_by_token_gets_its_post_published() {
    let mut app = spawn().await;
    app.start_worker().await;
    let id = app.connect_telegram().await;
    published(&app, json!({"targets": [id], "text": "Hello Telegram"})).await;
}

#[tokio::test]
async fn without_return_to_the_callback_shows_a_plain_result_page() {
    let app = spawn().await;
    let authorize = start(&app, "threads", json!({})).await;
    let callback = approve(&app, &authorize).await;
    let page = app.http.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Threads connected"));
}

#[tokio::test]
async fn a_refusal_on_the_consent_page_comes_back_with_the_specs_hint() {
    let app = spawn().await;
    let authorize = start(&app, "x", json!({"return_to": RETURN_TO})).await;
    let callback = approve(&app, &format!("{authorize}&deny=1")).await;
    let back = location(&app.http.get(&callback).send().await.unwrap());
    assert_eq!(query_param(&back, "status").as_deref(), Some("error"));
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert!(
        query_param(&back, "hint").unwrap().contains("approve"),
        "{back}"
    );

    let authorize = start(&app, "x", json!({})).await;
    let callback = approve(&app, &format!("{authorize}&deny=1")).await;
    let page = app.http.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let text = page.text().await.unwrap();
    assert!(text.contains("declined the authorization"), "{text}");
}

#[tokio::test]
async fn tampered_expired_replayed_and_cross_platform_states_are_refused() {
    let app = spawn().await;
    let refused = |url: String| {
        let request = app.http.get(url);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(response.headers().get("location").is_none(), "no redirect");
            response.text().await.unwrap()
        }
    };

    // Replayed: the same callback twice.
    let callback = approve(
        &app,
        &start(&app, "threads", json!({"return_to": RETURN_TO})).await,
    )
    .await;
    assert_eq!(
        app.http.get(&callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let text = refused(callback.clone()).await;
    assert!(text.contains("already used"), "{text}");

    // Tampered: one character of the state changed.
    let callback = approve(&app, &start(&app, "threads", json!({})).await).await;
    let state = query_param(&callback, "state").unwrap();
    let mut chars: Vec<char> = state.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    refused(callback.replace(&state, &tampered)).await;
    refused(app.url("/api/social/threads/callback?code=abc")).await;

    // Cross-platform: a Threads state on the X callback.
    refused(callback.replace("/api/social/threads/", "/api/social/twitter/")).await;

    // Expired: older than the state's ten minutes.
    let callback = approve(&app, &start(&app, "threads", json!({})).await).await;
    sqlx::query("UPDATE oauth_states SET created_at = now() - interval '11 minutes', expires_at = now() - interval '1 minute'")
        .execute(app.db.pool())
        .await
        .unwrap();
    let text = refused(callback).await;
    assert!(text.contains("expired"), "{text}");
}

#[tokio::test]
async fn a_browser_that_started_another_connection_is_refused_by_its_state_cookie() {
    let app = spawn().await;
    let answer: Value = app
        .post_json("/v1/connect/threads", &app.keys.admin, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let start_url = answer["start_url"].as_str().unwrap();
    let started = app.http.get(start_url).send().await.unwrap();
    assert_eq!(
        location(&started),
        answer["authorize_url"].as_str().unwrap()
    );
    let cookie = started.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("oauth_state_threads=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let callback = approve(&app, answer["authorize_url"].as_str().unwrap()).await;
    let response = app
        .http
        .get(&callback)
        .header("cookie", "oauth_state_threads=someone-elses-state")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let cookie_value = cookie.split(';').next().unwrap().to_owned();
    let response = app
        .http
        .get(&callback)
        .header("cookie", cookie_value)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the browser that started it finishes it"
    );

    let evil = format!(
        "{}/api/social/threads/start?state=abc&to=https%3A%2F%2Fevil.example%2F%3Fstate%3Dabc",
        app.base
    );
    assert_eq!(
        app.http.get(evil).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "no open redirect"
    );
}

#[tokio::test]
async fn connect_requests_are_checked_and_need_the_admin_scope() {
    let app = spawn().await;
    let (status, body) = problem(
        app.post_json(
            "/v1/connect/linkedin",
            &app.keys.admin,
            &json!({"target": "team", "return_to": "javascript:alert(1)"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let (status, _) = problem(
        app.post_json("/v1/connect/telegram", &app.keys.admin, &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = problem(
        app.post_json("/v1/connect/myspace", &app.keys.admin, &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = problem(
        app.post_json("/v1/connect/x", &app.keys.producer, &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app.get("/v1/connect/x?user=u-9", &app.keys.admin).await;
    assert_eq!(response.status(), StatusCode::OK, "the GET form works too");
}

#[tokio::test]
async fn pages_of_another_tenants_connection_are_not_found() {
    let app = spawn().await;
    let id = connect(&app, "facebook", json!({"return_to": RETURN_TO})).await;
    let other = app.other_tenant().await;
    let (status, _) = problem(
        app.get(&format!("/v1/connections/{id}/pages"), &other.read)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = app
        .request(
            Method::PUT,
            &format!("/v1/connections/{id}/page"),
            &other.admin,
        )
        .json(&json!({"page_id": "200000000000001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await.0, StatusCode::NOT_FOUND);
    let telegram = app.connect_telegram().await;
    let (status, body) = problem(
        app.get(&format!("/v1/connections/{telegram}/pages"), &app.keys.read)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "pages_unsupported");
}
