//! The ops dashboard in a real browser ([`support::browser`]). An operator signs in with an
//! admin key, watches a delivery get published without reloading the page (the live-update
//! script and its event stream), and retries a dead delivery from its page.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use herald_domain::{DeliveryId, DeliveryState};
use serde_json::json;
use support::app::TestApp;
use support::browser::Driver;

/// Posts to Telegram; returns the delivery id.
async fn one_delivery(app: &TestApp, connection: &str) -> DeliveryId {
    let answer = app
        .post_ok(&json!({"targets": [connection], "text": "hello from the browser test"}))
        .await;
    answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_in_a_browser_watches_a_delivery_go_live_and_retries_a_dead_one() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let mut app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    // Both exist before the worker runs: one will die, one waits in the queue.
    let dead = one_delivery(&app, &telegram).await;
    app.make_dead(dead).await;
    let live = one_delivery(&app, &telegram).await;

    let browser = driver.session().await;

    // Sign in with the admin key, through the form.
    browser.go(&app.url("/dashboard/login")).await;
    browser
        .type_into("input[name=\"key\"]", &app.keys.admin.clone())
        .await;
    browser
        .click("form[action=\"/dashboard/login\"] button")
        .await;
    browser.wait_for_url(&app.url("/dashboard")).await;
    browser.wait_for_text("h1", "Overview").await;

    // The deliveries list shows the queued delivery; the page subscribes to its events.
    browser.go(&app.url("/dashboard/deliveries")).await;
    let row_badge = format!("tr[data-delivery=\"{live}\"] .badge");
    assert_eq!(browser.text_of(&row_badge).await.as_deref(), Some("queued"));
    browser.wait_for_text("#live", "live").await;
    // A mark on this very document: a reload would lose it.
    browser
        .eval("window.heraldMark = 'still here'; return null;", json!([]))
        .await;

    app.start_worker().await;
    browser.wait_for_text(&row_badge, "published").await;
    assert_eq!(
        browser
            .eval("return window.heraldMark || null;", json!([]))
            .await,
        json!("still here"),
        "the badge changed without a reload"
    );
    assert_eq!(
        browser
            .eval(
                "return document.querySelector(arguments[0]).className;",
                json!([row_badge])
            )
            .await,
        json!("badge s-published")
    );

    // The dead delivery: open its page and press Retry.
    browser
        .go(&app.url(&format!("/dashboard/deliveries/{dead}")))
        .await;
    assert_eq!(
        browser.text_of("#delivery .badge").await.as_deref(),
        Some("dead")
    );
    assert_eq!(
        browser.text_of("#error-class").await.as_deref(),
        Some("permanent")
    );
    browser
        .click(&format!(
            "form[action=\"/dashboard/deliveries/{dead}/retry\"] button"
        ))
        .await;
    browser
        .wait_for_url(&app.url(&format!("/dashboard/deliveries/{dead}?done=retried")))
        .await;
    browser
        .wait_for_text(".notice", "Sent back to the queue.")
        .await;
    browser.wait_for_text("#delivery .badge", "published").await;
    let stored = app.store.deliveries().get(dead).await.unwrap().unwrap();
    assert_eq!(stored.state, DeliveryState::Published);

    browser.close().await;
}
