//! Dashboard sessions live in Postgres: a browser signed in on one API instance is signed in
//! on every instance of the same database, a restart signs nobody out, only a hash of the
//! session id is stored, and sign-out deletes the row. The header names the signed-in key.
//! Also the deliveries list's filter errors, which name the field and what it takes.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use herald_domain::Scope;
use reqwest::{StatusCode, header};
use secrecy::ExposeSecret;
use support::app::TestApp;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in on `base` with `key`; returns the session cookie's value.
async fn sign_in(base: &str, key: &str) -> String {
    let response = client()
        .post(format!("{base}/dashboard/login"))
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("herald_session="))
        .unwrap()
        .to_owned()
}

async fn get(base: &str, path: &str, session: &str) -> reqwest::Response {
    client()
        .get(format!("{base}{path}"))
        .header(header::COOKIE, format!("herald_session={session}"))
        .send()
        .await
        .unwrap()
}

async fn sessions_stored(app: &TestApp) -> Vec<Vec<u8>> {
    sqlx::query_scalar("SELECT id_hash FROM dashboard_sessions")
        .fetch_all(app.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_session_opened_on_one_instance_works_on_another_and_after_the_first_stops() {
    let mut app = TestApp::spawn().await;
    let alice = app
        .store
        .api_keys()
        .create(app.keys.tenant, &[Scope::Admin], Some("ops-alice"))
        .await
        .unwrap();
    let session = sign_in(&app.base, alice.key.expose_secret()).await;

    // Only the SHA-256 of the id is stored.
    let stored = sessions_stored(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32);
    assert!(
        !String::from_utf8_lossy(&stored[0]).contains(&session),
        "the id itself is not stored"
    );

    let second = app.spawn_api().await;
    let page = get(&second.base, "/dashboard", &session).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<span id=\"signed-in-as\">ops-alice</span>"),
        "the header names the key: {html}"
    );

    // The first instance goes away (a restart); the second still knows the browser.
    app.stop_api();
    let page = get(&second.base, "/dashboard/deliveries", &session).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let csrf = {
        let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
        html[start..start + html[start..].find('"').unwrap()].to_owned()
    };

    // Sign-out on the second instance deletes the row: the cookie is worth nothing anywhere.
    let out = client()
        .post(second.url("/dashboard/logout"))
        .header(header::COOKIE, format!("herald_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection());
    assert!(sessions_stored(&app).await.is_empty());
    let after = get(&second.base, "/dashboard", &session).await;
    assert_eq!(
        after.headers().get(header::LOCATION).unwrap(),
        "/dashboard/login"
    );
}

#[tokio::test]
async fn expired_sessions_are_refused_and_deleted_at_the_next_sign_in() {
    let app = TestApp::spawn().await;
    let session = sign_in(&app.base, &app.keys.admin).await;
    sqlx::query("UPDATE dashboard_sessions SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let page = get(&app.base, "/dashboard", &session).await;
    assert_eq!(
        page.headers().get(header::LOCATION).unwrap(),
        "/dashboard/login",
        "an expired session is no session"
    );
    sign_in(&app.base, &app.keys.admin).await;
    assert_eq!(
        sessions_stored(&app).await.len(),
        1,
        "only the new session is left"
    );
}

#[tokio::test]
async fn a_wrong_filter_is_a_400_naming_the_field_and_what_it_takes() {
    let app = TestApp::spawn().await;
    let session = sign_in(&app.base, &app.keys.admin).await;
    for (query, says) in [
        ("from=yesterday", "from: `yesterday` is not a time"),
        (
            "connection=nope",
            "connection: `nope` is not a connection id",
        ),
        ("limit=0", "limit: must be a whole number from 1 to 200"),
        (
            "from=2026-05-02&to=2026-05-01",
            "to: must be later than `from`",
        ),
    ] {
        let page = get(
            &app.base,
            &format!("/dashboard/deliveries?{query}"),
            &session,
        )
        .await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = page.text().await.unwrap();
        assert!(html.contains(says), "{query}: {html}");
    }
    let page = get(&app.base, "/dashboard/posts?meta=campaign", &session).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("meta: `campaign` is not key=value")
    );
    // A bulk cancel needs a connection.
    let page = get(
        &app.base,
        "/dashboard/bulk/cancel?state=scheduled",
        &session,
    )
    .await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("connection: a bulk cancel needs a connection")
    );
}
