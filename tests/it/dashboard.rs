//! The ops dashboard at `/dashboard`, driven over HTTP as a browser would: sign-in with an
//! admin key, the session cookie, the pages, the CSRF-checked actions and the live feed.
//! The cookie jar is a few lines here (one cookie, one path), which also lets the tests read
//! the cookie's attributes.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use herald_domain::{DeliveryId, DeliveryState, ErrorClass, Scope};
use herald_store::{DeliveryError, Transition};
use reqwest::{Response, StatusCode, header};
use serde_json::json;
use support::app::TestApp;

/// A browser with a one-cookie jar that follows no redirects.
struct Browser {
    base: String,
    http: reqwest::Client,
    session: Option<String>,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            session: None,
        }
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.session {
            Some(id) => request.header(header::COOKIE, format!("herald_session={id}")),
            None => request,
        }
    }

    async fn get(&self, path: &str) -> Response {
        self.with_cookie(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.with_cookie(self.http.post(format!("{}{path}", self.base)))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Signs in; returns the answer, keeping the session cookie if one was set.
    async fn sign_in(&mut self, key: &str) -> Response {
        let response = self.post("/dashboard/login", &[("key", key)]).await;
        if let Some(cookie) = set_cookie(&response) {
            let value = cookie
                .split(';')
                .next()
                .and_then(|kv| kv.strip_prefix("herald_session="))
                .unwrap();
            self.session = Some(value.to_owned());
        }
        response
    }
}

fn set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The CSRF token of the first form on a page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_owned()
}

/// Posts to Telegram (optionally scheduled); returns the delivery id.
async fn one_delivery(app: &TestApp, connection: &str, publish_at: Option<&str>) -> DeliveryId {
    let mut body = json!({"targets": [connection], "text": "hello from the dashboard test"});
    if let Some(at) = publish_at {
        body["publish_at"] = json!(at);
    }
    let answer = app.post_ok(&body).await;
    answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Claims the delivery as a worker would and moves it on to `to` with an error.
async fn finish_as(app: &TestApp, id: DeliveryId, to: DeliveryState) {
    app.store
        .deliveries()
        .claim(id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let moved = app
        .store
        .deliveries()
        .transition(
            Transition::new(id, &[DeliveryState::Running], to).error(DeliveryError {
                class: if to == DeliveryState::Unknown {
                    ErrorClass::UnknownOutcome
                } else {
                    ErrorClass::Permanent
                },
                code: Some("E<42>".into()),
                message: "<script>alert('x')</script>".into(),
                hint: Some("Check the bot's rights & try again".into()),
            }),
        )
        .await
        .unwrap();
    assert!(moved);
}

async fn state_of(app: &TestApp, id: DeliveryId) -> DeliveryState {
    app.store.deliveries().get(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_sign_in() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    for path in [
        "/dashboard",
        "/dashboard/deliveries",
        "/dashboard/deliveries/0190f3a0-0000-7000-8000-000000000000",
        "/dashboard/connections",
        "/dashboard/events",
    ] {
        let response = browser.get(path).await;
        assert!(response.status().is_redirection(), "GET {path}");
        assert_eq!(location(&response), "/dashboard/login", "GET {path}");
    }
    let response = browser
        .post(
            "/dashboard/deliveries/0190f3a0-0000-7000-8000-000000000000/retry",
            &[("csrf", "anything")],
        )
        .await;
    assert!(response.status().is_redirection());
    assert_eq!(location(&response), "/dashboard/login");
    // A made-up session id is no session.
    let forged = Browser {
        session: Some("made-up".into()),
        ..Browser::new(&app)
    };
    assert_eq!(
        location(&forged.get("/dashboard").await),
        "/dashboard/login"
    );

    let form = browser.page("/dashboard/login").await;
    assert!(form.contains("name=\"key\""), "{form}");
}

#[tokio::test]
async fn sign_in_takes_only_an_admin_key_and_sign_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);

    let wrong = browser.sign_in("hk_not_a_real_key").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong).is_none());
    let text = wrong.text().await.unwrap();
    assert!(
        text.contains("not valid") && text.contains("name=\"key\""),
        "{text}"
    );

    let producer = browser.sign_in(&app.keys.producer.clone()).await;
    assert_eq!(producer.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&producer).is_none());
    let text = producer.text().await.unwrap();
    assert!(
        text.contains("not admin-scoped") && text.contains("name=\"key\""),
        "{text}"
    );

    let admin = browser.sign_in(&app.keys.admin.clone()).await;
    assert!(admin.status().is_redirection());
    assert_eq!(location(&admin), "/dashboard");
    let cookie = set_cookie(&admin).unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(&app.keys.admin),
        "the key is not the cookie"
    );

    let overview = browser.page("/dashboard").await;
    assert!(overview.contains("Overview"), "{overview}");
    let connections = browser.page("/dashboard/connections").await;
    assert!(connections.contains("No connections yet"), "{connections}");
    // Signed in, the sign-in page sends you on.
    assert_eq!(
        location(&browser.get("/dashboard/login").await),
        "/dashboard"
    );
    // A login form posted from another site is refused.
    let cross = browser
        .with_cookie(
            browser
                .http
                .post(format!("{}/dashboard/login", browser.base)),
        )
        .header("sec-fetch-site", "cross-site")
        .form(&[("key", app.keys.admin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&cross).is_none());

    // Signing out needs the CSRF token too.
    let refused = browser.post("/dashboard/logout", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    browser.page("/dashboard").await;
    let out = browser
        .post("/dashboard/logout", &[("csrf", &csrf_of(&overview))])
        .await;
    assert!(out.status().is_redirection());
    assert!(set_cookie(&out).unwrap().contains("Max-Age=0"));
    // The old cookie is worth nothing now.
    assert_eq!(
        location(&browser.get("/dashboard").await),
        "/dashboard/login"
    );

    // Revoking the key ends its sessions.
    browser.sign_in(&app.keys.admin.clone()).await;
    browser.page("/dashboard").await;
    let key_id = app
        .store
        .api_keys()
        .list(app.keys.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.scopes == [Scope::Admin])
        .unwrap()
        .id;
    assert!(
        app.store
            .api_keys()
            .revoke(app.keys.tenant, key_id)
            .await
            .unwrap()
    );
    assert_eq!(
        location(&browser.get("/dashboard").await),
        "/dashboard/login"
    );
}

#[tokio::test]
async fn an_operator_sees_a_dead_delivery_and_retries_it_until_it_is_published() {
    let mut app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let id = one_delivery(&app, &telegram, None).await;
    finish_as(&app, id, DeliveryState::Dead).await;

    let mut browser = Browser::new(&app);
    assert!(
        browser
            .sign_in(&app.keys.admin.clone())
            .await
            .status()
            .is_redirection()
    );
    let overview = browser.page("/dashboard").await;
    assert!(
        overview.contains("<strong id=\"dead\">1</strong>"),
        "{overview}"
    );

    let connections = browser.page("/dashboard/connections").await;
    assert!(
        connections.contains(&format!("data-connection=\"{telegram}\"")),
        "{connections}"
    );
    assert!(connections.contains("badge s-active"), "{connections}");

    let list = browser.page("/dashboard/deliveries?state=dead").await;
    assert!(list.contains(&format!("data-delivery=\"{id}\"")), "{list}");
    assert!(list.contains("badge s-dead"), "{list}");
    let none = browser
        .page("/dashboard/deliveries?state=published&platform=telegram")
        .await;
    assert!(!none.contains(&id.to_string()), "{none}");
    let bad = browser.get("/dashboard/deliveries?state=%3Cnope%3E").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(!bad.text().await.unwrap().contains("<nope>"), "escaped");

    let page = browser.page(&format!("/dashboard/deliveries/{id}")).await;
    assert!(page.contains("badge s-dead"), "{page}");
    assert!(
        page.contains("<td id=\"error-class\">permanent</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td id=\"platform-code\">E&lt;42&gt;</td>"),
        "{page}"
    );
    assert!(
        page.contains("Check the bot&#39;s rights &amp; try again"),
        "{page}"
    );
    assert!(
        !page.contains("<script>alert"),
        "the error is escaped: {page}"
    );
    assert!(page.contains("&lt;script&gt;alert"), "{page}");
    assert!(page.contains("/retry"), "a retry form: {page}");
    assert!(page.contains("created → "), "the timeline: {page}");
    let csrf = csrf_of(&page);

    // Without the token, or with another one, nothing happens.
    let retry = format!("/dashboard/deliveries/{id}/retry");
    let refused = browser.post(&retry, &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = browser.post(&retry, &[("csrf", "forged")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(state_of(&app, id).await, DeliveryState::Dead);
    // Another session's token is not this session's.
    let mut other = Browser::new(&app);
    other.sign_in(&app.keys.admin.clone()).await;
    let theirs = csrf_of(&other.page("/dashboard").await);
    assert_ne!(theirs, csrf);
    let refused = browser.post(&retry, &[("csrf", &theirs)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(state_of(&app, id).await, DeliveryState::Dead);

    app.start_worker().await;
    let done = browser.post(&retry, &[("csrf", &csrf)]).await;
    assert!(done.status().is_redirection());
    assert_eq!(
        location(&done),
        format!("/dashboard/deliveries/{id}?done=retried")
    );
    let after = browser.page(&location(&done)).await;
    assert!(after.contains("Sent back to the queue"), "{after}");
    // Retrying again is a conflict, not a second retry.
    let mut published = false;
    for _ in 0..200 {
        if state_of(&app, id).await == DeliveryState::Published {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the worker published the retried delivery");
    let again = browser.post(&retry, &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let page = browser.page(&format!("/dashboard/deliveries/{id}")).await;
    assert!(page.contains("badge s-published"), "{page}");
    // Attributed to the key (by its prefix: this key has no name).
    assert!(page.contains("retried by key hrld_"), "{page}");
    assert!(page.contains("from the dashboard"), "{page}");
}

#[tokio::test]
async fn unknown_deliveries_are_resolved_and_scheduled_posts_cancelled() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.keys.admin.clone()).await;

    let unknown = one_delivery(&app, &telegram, None).await;
    finish_as(&app, unknown, DeliveryState::Unknown).await;
    let page = browser
        .page(&format!("/dashboard/deliveries/{unknown}"))
        .await;
    assert!(page.contains("/resolve"), "{page}");
    let csrf = csrf_of(&page);
    let resolve = format!("/dashboard/deliveries/{unknown}/resolve");
    let no_url = browser
        .post(&resolve, &[("csrf", &csrf), ("outcome", "published")])
        .await;
    assert_eq!(no_url.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let done = browser
        .post(
            &resolve,
            &[
                ("csrf", &csrf),
                ("outcome", "published"),
                ("url", "https://t.me/herald_dev_channel/7"),
            ],
        )
        .await;
    assert!(done.status().is_redirection());
    let stored = app.store.deliveries().get(unknown).await.unwrap().unwrap();
    assert_eq!(stored.state, DeliveryState::Published);
    assert_eq!(
        stored.public_url.as_deref(),
        Some("https://t.me/herald_dev_channel/7")
    );

    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let scheduled = one_delivery(&app, &telegram, Some(&later)).await;
    assert_eq!(state_of(&app, scheduled).await, DeliveryState::Scheduled);
    let page = browser
        .page(&format!("/dashboard/deliveries/{scheduled}"))
        .await;
    assert!(page.contains("/cancel"), "{page}");
    let cancel = format!("/dashboard/deliveries/{scheduled}/cancel");
    assert_eq!(
        browser.post(&cancel, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(state_of(&app, scheduled).await, DeliveryState::Scheduled);
    let done = browser.post(&cancel, &[("csrf", &csrf_of(&page))]).await;
    assert!(done.status().is_redirection());
    assert_eq!(state_of(&app, scheduled).await, DeliveryState::Cancelled);

    // Another tenant's admin sees none of it.
    let other = app.other_tenant().await;
    let mut stranger = Browser::new(&app);
    stranger.sign_in(&other.admin).await;
    let response = stranger
        .get(&format!("/dashboard/deliveries/{scheduled}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_live_feed_streams_the_tenants_events_to_a_session() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.keys.admin.clone()).await;
    let list = browser.page("/dashboard/deliveries").await;
    assert!(
        list.contains("new EventSource('/dashboard/events"),
        "{list}"
    );

    let mut feed = browser.get("/dashboard/events?after=0").await;
    assert_eq!(feed.status(), StatusCode::OK);
    assert!(
        feed.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let id = one_delivery(&app, &telegram, None).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(&id.to_string()) {
        let chunk = tokio::time::timeout_at(deadline, feed.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: delivery.queued"), "{seen}");
}
