//! The OAuth flow: where it may send the browser back, what reaches a cookie, and who may re-bind a connection.

// The helpers beside the tests fail the test the same way the tests do: by panicking on an
// answer they did not expect (clippy's test exemption covers only `#[test]` functions).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use support::app::{TestApp, problem};

const APP_ORIGIN: &str = "https://app.example.com";
const RETURN_TO: &str = "https://app.example.com/connected";

/// The API with `https://app.example.com` as the one origin `return_to` may name.
async fn spawn() -> TestApp {
    TestApp::spawn_with(&[(
        "HERALD_API__ALLOWED_RETURN_ORIGINS",
        "[\"https://app.example.com\"]",
    )])
    .await
}

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

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// `POST /v1/connect/{platform}`; the answer (`authorize_url`, `start_url`).
async fn connect_started(app: &TestApp, platform: &str, body: Value) -> Value {
    let response = app
        .post_json(&format!("/v1/connect/{platform}"), &app.keys.admin, &body)
        .await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer:#}");
    answer
}

/// The user approves `authorize_url` on the simulated platform (`extra` picks the user);
/// then the browser comes back to Herald's callback. Returns Herald's answer.
async fn approve_and_return(app: &TestApp, authorize_url: &str, extra: &str) -> reqwest::Response {
    let consent = app
        .http
        .get(format!("{authorize_url}{extra}"))
        .send()
        .await
        .unwrap();
    let callback = location(&consent);
    assert!(callback.starts_with(&app.url("/api/social/")), "{callback}");
    app.http.get(&callback).send().await.unwrap()
}

/// A whole connect that must succeed; the connection id from the redirect to `RETURN_TO`.
async fn connect(app: &TestApp, platform: &str, body: Value, extra: &str) -> String {
    let answer = connect_started(app, platform, body).await;
    let done = approve_and_return(app, answer["authorize_url"].as_str().unwrap(), extra).await;
    let back = location(&done);
    assert!(back.starts_with(RETURN_TO), "{back}");
    assert_eq!(
        query_param(&back, "status").as_deref(),
        Some("connected"),
        "{back}"
    );
    query_param(&back, "connection_id").unwrap()
}

/// A loopback server that counts the connections it accepts.
async fn canary() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn return_to_is_refused_unless_its_origin_is_exactly_an_allowed_one() {
    let app = spawn().await;
    let tricky = [
        "https://evil.test/connected",
        "https://app.example.com.evil.test/connected",
        "https://app.example.com@evil.test/connected",
        "https://user:pass@app.example.com/connected",
        "https://evil.test\\@app.example.com/connected",
        "https://app.example.com\\.evil.test/connected",
        "https:\\\\evil.test/connected",
        "http://app.example.com/connected",
        "https://app.example.com:8443/connected",
        "https://app.example.co/connected",
        "https://evil.test/https://app.example.com/",
        "//evil.test/connected",
        " https://evil.test/",
        "javascript:alert(document.domain)//https://app.example.com/",
        "https://app.example.com%2F@evil.test/",
    ];
    for return_to in tricky {
        let (status, body) = problem(
            app.post_json(
                "/v1/connect/x",
                &app.keys.admin,
                &json!({"return_to": return_to}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{return_to}");
        let error = &body["errors"][0];
        assert_eq!(error["field"], "return_to", "{return_to}: {body:#}");
        assert!(
            error["code"].as_str().unwrap().starts_with("return_to."),
            "{return_to}: {body:#}"
        );
    }
    let (_, body) = problem(
        app.post_json(
            "/v1/connect/x",
            &app.keys.admin,
            &json!({"return_to": "https://evil.test/connected"}),
        )
        .await,
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert_eq!(body["errors"][0]["code"], "return_to.origin_not_allowed");
    assert!(
        message.contains("api.allowed_return_origins") && message.contains(APP_ORIGIN),
        "says which key to set and what is allowed: {message}"
    );

    // The allowed origin works, in any spelling of the same origin.
    let id = connect(&app, "x", json!({"return_to": RETURN_TO}), "").await;
    assert!(!id.is_empty());
    let answer = connect_started(
        &app,
        "threads",
        json!({"return_to": "https://APP.example.com:443/done?tab=1"}),
    )
    .await;
    let done = approve_and_return(&app, answer["authorize_url"].as_str().unwrap(), "").await;
    let back = location(&done);
    assert!(
        back.starts_with("https://app.example.com/done?tab=1&"),
        "{back}"
    );
    assert!(query_param(&back, "connection_id").is_some(), "{back}");
}

#[tokio::test]
async fn by_default_only_the_public_urls_origin_may_be_returned_to() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(
        app.post_json(
            "/v1/connect/threads",
            &app.keys.admin,
            &json!({"return_to": RETURN_TO}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "return_to");

    let own = app.url("/connected");
    let answer = connect_started(&app, "threads", json!({"return_to": own})).await;
    let done = approve_and_return(&app, answer["authorize_url"].as_str().unwrap(), "").await;
    assert!(location(&done).starts_with(&own));
}

#[tokio::test]
async fn a_callback_never_redirects_off_the_allowed_origins_not_even_on_a_refusal() {
    let app = spawn().await;
    let (canary_url, seen) = canary().await;
    let browser = reqwest::Client::new(); // follows redirects, as a browser does
    for deny in ["", "&deny=1"] {
        let answer = connect_started(&app, "x", json!({"return_to": RETURN_TO})).await;
        // A flow stored before its origin stopped being allowed (or written by anyone else).
        sqlx::query("UPDATE oauth_states SET return_to = $1 WHERE consumed_at IS NULL")
            .bind(format!("{canary_url}/steal"))
            .execute(app.db.pool())
            .await
            .unwrap();
        let consent = app
            .http
            .get(format!(
                "{}{deny}",
                answer["authorize_url"].as_str().unwrap()
            ))
            .send()
            .await
            .unwrap();
        let page = browser.get(location(&consent)).send().await.unwrap();
        assert!(
            page.url().as_str().starts_with(&app.base),
            "the browser stays at Herald: {}",
            page.url()
        );
        let text = page.text().await.unwrap();
        assert!(!text.contains(&canary_url), "{text}");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing went to the other origin"
    );
}

#[tokio::test]
async fn a_crafted_state_gets_a_400_page_and_never_reaches_a_cookie() {
    let app = spawn().await;
    let answer = connect_started(&app, "threads", json!({})).await;
    let authorize = answer["authorize_url"].as_str().unwrap();
    let real = query_param(authorize, "state").unwrap();
    let injected = "x; Domain=127.0.0.1; Path=/; SameSite=None";
    for state in [
        injected.to_owned(),
        format!("{real}; Domain=127.0.0.1"),
        format!("{real}\r\nSet-Cookie: admin=1"),
        format!("{real}A"),
        real[..42].to_owned(),
        "%".repeat(43),
    ] {
        // The consent link carries the crafted state too: only the state's own check stops it.
        let to = authorize.replace(
            &format!("state={real}"),
            &format!("state={}", urlencode(&state)),
        );
        let start = format!(
            "{}?state={}&to={}",
            app.url("/api/social/threads/start"),
            urlencode(&state),
            urlencode(&to)
        );
        let response = app.http.get(&start).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{state:?}");
        assert!(set_cookies(&response).is_empty(), "{state:?}: no cookie");
        assert!(response.headers().get("location").is_none());
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("Invalid start link")
        );
    }

    // The callback refuses it as well, and the only cookie it sets is the clearing one.
    let callback = format!(
        "{}?code=abc&state={}",
        app.url("/api/social/threads/callback"),
        urlencode(injected)
    );
    let response = app.http.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    for cookie in set_cookies(&response) {
        assert!(
            cookie.starts_with("oauth_state_threads=;") && cookie.contains("Max-Age=0"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Domain") && !cookie.contains("SameSite=None"),
            "{cookie}"
        );
    }

    // Herald's own state sets exactly its cookie.
    let response = app
        .http
        .get(answer["start_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), authorize);
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    let mut parts: Vec<&str> = cookie.split("; ").collect();
    assert_eq!(parts.remove(0), format!("oauth_state_threads={real}"));
    parts.sort_unstable();
    assert_eq!(
        parts,
        [
            "HttpOnly",
            "Max-Age=600",
            "Path=/api/social/threads",
            "SameSite=Lax"
        ],
        "{cookie}"
    );
}

#[tokio::test]
async fn the_state_cookie_is_secure_when_herald_is_served_over_https() {
    let app = TestApp::spawn_with(&[("HERALD_PUBLIC_URL", "https://herald.example.com")]).await;
    let answer = connect_started(&app, "threads", json!({})).await;
    let start_url = answer["start_url"].as_str().unwrap();
    assert!(start_url.starts_with("https://herald.example.com/api/social/threads/start?"));
    // The same request, made to this test's listener.
    let local = start_url.replace("https://herald.example.com", &app.base);
    let response = app.http.get(local).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&response);
    assert!(
        cookies[0].split("; ").any(|a| a == "Secure") && cookies[0].contains("HttpOnly"),
        "{cookies:?}"
    );
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The stored access token of a connection, opened.
async fn access_token(app: &TestApp, id: &str) -> String {
    app.store
        .connections()
        .get_with_tokens(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .access_token
        .expose_secret()
        .to_owned()
}

async fn connection(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/connections/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reconnect_as_another_account_is_refused_and_the_connection_keeps_its_account() {
    let mut app = spawn().await;
    let body = json!({"user": "u-1", "return_to": RETURN_TO});
    let id = connect(&app, "x", body.clone(), "").await;
    let before = connection(&app, &id).await;
    assert_eq!(before["account"]["handle"], "herald_dev");
    let token_before = access_token(&app, &id).await;
    let publish_at = (chrono::Utc::now() + chrono::TimeDelta::seconds(4)).to_rfc3339();
    let post = app
        .post_ok(&json!({"targets": [id], "text": "for herald_dev", "publish_at": publish_at}))
        .await;

    // The same end user's flow, approved by another X account.
    let answer = connect_started(&app, "x", body.clone()).await;
    let done = approve_and_return(
        &app,
        answer["authorize_url"].as_str().unwrap(),
        "&user=herald_alt",
    )
    .await;
    let back = location(&done);
    assert!(back.starts_with(RETURN_TO), "{back}");
    assert_eq!(query_param(&back, "status").as_deref(), Some("error"));
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("account_mismatch")
    );
    assert!(query_param(&back, "connection_id").is_none(), "{back}");
    let description = query_param(&back, "error_description").unwrap();
    assert!(
        description.contains("@herald_dev") && description.contains("@herald_alt"),
        "names the connected account and the offered one: {description}"
    );
    let hint = query_param(&back, "hint").unwrap();
    assert!(
        hint.contains("POST /v1/connect/twitter") && hint.contains("`user`"),
        "says how to add the other account: {hint}"
    );

    // Without return_to, the result page says the same.
    let answer = connect_started(&app, "x", json!({"user": "u-1"})).await;
    let page = approve_and_return(
        &app,
        answer["authorize_url"].as_str().unwrap(),
        "&user=herald_alt",
    )
    .await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let text = page.text().await.unwrap();
    assert!(
        text.contains("@herald_dev") && text.contains("What to do"),
        "{text}"
    );

    let after = connection(&app, &id).await;
    assert_eq!(after["account"], before["account"]);
    assert_eq!(after["token_expires_at"], before["token_expires_at"]);
    assert_eq!(access_token(&app, &id).await, token_before, "tokens kept");
    let list: Value = app
        .get("/v1/connections?user=u-1", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list:#}");

    // The scheduled post still goes to the account it was meant for.
    app.start_worker().await;
    let post = app
        .wait_for_post(post["id"].as_str().unwrap(), "published")
        .await;
    assert_eq!(post["deliveries"][0]["connection_id"], id.as_str());
    let posts = app.sim_posts().await;
    let sent = posts
        .iter()
        .find(|p| p["text"] == "for herald_dev")
        .expect("published");
    assert_eq!(sent["account"], before["account"]["id"], "{sent:#}");

    // The same account again renews the tokens of the same connection.
    let renewed = connect(&app, "x", body, "&user=herald_dev").await;
    assert_eq!(renewed, id);
    assert_ne!(
        access_token(&app, &id).await,
        token_before,
        "tokens renewed"
    );
    let after = connection(&app, &id).await;
    assert_eq!(after["account"], before["account"]);
    assert_eq!(after["status"], "active");
}

#[tokio::test]
async fn facebook_pages_list_after_a_page_is_chosen_and_another_page_can_be_chosen() {
    let mut app = spawn().await;
    let added = reqwest::Client::new()
        .post(app.sim.url("/_sim/fixtures"))
        .json(&json!({"facebook": {"pages": [{
            "id": "200000000000002",
            "name": "Herald Second Page",
            "category": "Software",
            "admins": ["100000000000001"]
        }]}}))
        .send()
        .await
        .unwrap();
    assert!(added.status().is_success(), "{}", added.status());
    app.start_worker().await;
    let id = connect(&app, "facebook", json!({"return_to": RETURN_TO}), "").await;

    let pages = |expect_selected: Option<&'static str>| {
        let request = app.request(
            Method::GET,
            &format!("/v1/connections/{id}/pages"),
            &app.keys.read,
        );
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let pages: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{pages:#}");
            let ids: Vec<&str> = pages["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, ["200000000000001", "200000000000002"], "{pages:#}");
            let selected: Vec<&str> = pages["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["selected"] == true)
                .map(|p| p["id"].as_str().unwrap())
                .collect();
            assert_eq!(selected, expect_selected.into_iter().collect::<Vec<_>>());
        }
    };
    let choose = |page: &'static str| {
        let request = app
            .request(
                Method::PUT,
                &format!("/v1/connections/{id}/page"),
                &app.keys.admin,
            )
            .json(&json!({"page_id": page}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let connection: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{connection:#}");
            assert_eq!(connection["page_id"], page);
        }
    };

    pages(None).await;
    choose("200000000000001").await;
    pages(Some("200000000000001")).await;

    // Posting uses the Page's token; the user's is kept apart to list the Pages.
    let stored = app
        .store
        .connections()
        .get_with_tokens(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let user_token = stored.user_access_token.clone().expect("the user's token");
    assert_ne!(
        stored.access_token.expose_secret(),
        user_token.expose_secret()
    );
    let graph = |token: &str| {
        reqwest::Client::new()
            .get(app.sim.url("/graph/v21.0/me/accounts"))
            .query(&[("access_token", token)])
            .send()
    };
    assert_eq!(
        graph(stored.access_token.expose_secret())
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST,
        "like Graph, /me/accounts refuses a Page token"
    );
    assert_eq!(
        graph(user_token.expose_secret()).await.unwrap().status(),
        StatusCode::OK
    );

    choose("200000000000002").await;
    pages(Some("200000000000002")).await;
    let post = app
        .post_ok(&json!({"targets": [id], "text": "Hello second Page"}))
        .await;
    app.wait_for_post(post["id"].as_str().unwrap(), "published")
        .await;
    let posts = app.sim_posts().await;
    let sent = posts
        .iter()
        .find(|p| p["text"] == "Hello second Page")
        .expect("published");
    assert_eq!(sent["account"], "200000000000002", "{sent:#}");

    // Reconnecting the same Facebook user keeps the chosen Page and the listing works.
    let renewed = connect(&app, "facebook", json!({"return_to": RETURN_TO}), "").await;
    assert_eq!(renewed, id);
    assert_eq!(connection(&app, &id).await["page_id"], "200000000000002");
    pages(Some("200000000000002")).await;
    let post = app
        .post_ok(&json!({"targets": [id], "text": "Hello again"}))
        .await;
    app.wait_for_post(post["id"].as_str().unwrap(), "published")
        .await;
}
