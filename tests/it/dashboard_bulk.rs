//! The dashboard's bulk retry over HTTP, as a browser drives it: the confirmation counts
//! what the filter matches, and a delivery that changed state between the page and the press
//! is left alone and counted as such, in the answer and in the journal.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use herald_domain::{DeliveryId, DeliveryState, ErrorClass};
use herald_store::{DeliveryError, Transition};
use reqwest::{StatusCode, header};
use serde_json::json;
use support::app::TestApp;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(app: &TestApp) -> String {
    let response = client()
        .post(app.url("/dashboard/login"))
        .form(&[("key", app.keys.admin.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = response.headers().get(header::SET_COOKIE).unwrap();
    cookie
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn make_failed(app: &TestApp, id: DeliveryId) {
    app.store
        .deliveries()
        .claim(id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .deliveries()
            .transition(
                Transition::new(id, &[DeliveryState::Running], DeliveryState::Failed).error(
                    DeliveryError {
                        class: ErrorClass::Permanent,
                        code: None,
                        message: "refused".into(),
                        hint: None,
                    },
                ),
            )
            .await
            .unwrap()
    );
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap() + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

#[tokio::test]
async fn a_delivery_that_changed_state_after_the_confirmation_is_left_and_counted() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let mut failed = Vec::new();
    for n in 0..3 {
        let answer = app
            .post_ok(&json!({"targets": [telegram], "text": format!("fail {n}")}))
            .await;
        let id: DeliveryId = answer["deliveries"][0]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        make_failed(&app, id).await;
        failed.push(id);
    }
    let cookie = sign_in(&app).await;
    let page = client()
        .get(app.url("/dashboard/bulk/retry?state=failed"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Retry 3 deliveries?"), "{html}");
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"").to_owned();
    let expected = between(&html, "name=\"expected\" value=\"", "\"").to_owned();

    // Someone else retries one meanwhile.
    assert!(
        app.store
            .deliveries()
            .transition(herald_store::Transition::new(
                failed[1],
                DeliveryState::RETRYABLE_BY_OPERATOR,
                DeliveryState::Queued
            ))
            .await
            .unwrap()
    );

    // Without the CSRF token nothing happens.
    let refused = client()
        .post(app.url("/dashboard/bulk/retry"))
        .header(header::COOKIE, &cookie)
        .form(&[("state", "failed"), ("expected", expected.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let done = client()
        .post(app.url("/dashboard/bulk/retry"))
        .header(header::COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("state", "failed"),
            ("expected", expected.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    assert!(
        html.contains("2 retried; 1 had changed state and was left."),
        "{html}"
    );
    for id in [failed[0], failed[2]] {
        let d = app.store.deliveries().get(id).await.unwrap().unwrap();
        assert_eq!(d.state, DeliveryState::Queued);
        assert_eq!(d.attempts, 0, "a fresh set of attempts");
    }
    let journal = app
        .store
        .operator_actions()
        .list(app.keys.tenant, 10)
        .await
        .unwrap();
    assert_eq!(
        journal.len(),
        1,
        "only the press with its token is journaled"
    );
    assert_eq!((journal[0].matched, journal[0].changed), (2, 2));
    assert_eq!(journal[0].filter, json!({"state": "failed"}));
}
