//! The dashboard's posts pages, paging and bulk actions, in a real browser
//! ([`support::browser`]), signed in with an admin key named `ops-alice`: bulk-retrying dead
//! deliveries that then go out, finding a post by its metadata, a post's page with each
//! target's weighted count and outcome, paging through the deliveries, bulk-cancelling a
//! connection's scheduled deliveries, and a session that outlives its API instance.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use herald_domain::{DeliveryId, DeliveryState, Platform, Scope};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support::app::TestApp;
use support::browser::{Driver, Session};

/// An admin key named `ops-alice`.
async fn alice(app: &TestApp) -> String {
    app.store
        .api_keys()
        .create(app.keys.tenant, &[Scope::Admin], Some("ops-alice"))
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned()
}

/// Posts `body`; returns the answer.
async fn post(app: &TestApp, body: Value) -> Value {
    app.post_ok(&body).await
}

fn delivery_ids(answer: &Value) -> Vec<DeliveryId> {
    answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// How many elements match `css`.
async fn count(browser: &Session, css: &str) -> u64 {
    browser
        .eval(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .await
        .as_u64()
        .unwrap()
}

/// The `data-delivery` ids of the deliveries table's rows, top to bottom.
async fn listed(browser: &Session) -> Vec<String> {
    let ids = browser
        .eval(
            "return Array.from(document.querySelectorAll('#deliveries tr[data-delivery]'))\
             .map(function(r){return r.getAttribute('data-delivery');});",
            json!([]),
        )
        .await;
    ids.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_retry_sends_three_dead_deliveries_back_and_they_are_published() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let mut app = TestApp::spawn().await;
    let key = alice(&app).await;
    let telegram = app.connect_telegram().await;
    let mut dead = Vec::new();
    for n in 0..3 {
        let answer = post(
            &app,
            json!({"targets": [telegram], "text": format!("retry me {n}")}),
        )
        .await;
        let id = delivery_ids(&answer)[0];
        app.make_dead(id).await;
        dead.push(id);
    }
    app.start_worker().await;

    let browser = driver.session().await;
    browser.sign_in(&app, &key).await;
    assert_eq!(
        browser.text_of("#signed-in-as").await.as_deref(),
        Some("ops-alice")
    );
    browser
        .go(&app.url("/dashboard/deliveries?state=dead"))
        .await;
    assert_eq!(count(&browser, "#deliveries tr[data-delivery]").await, 3);
    browser.click("#bulk-retry").await;
    browser
        .wait_for_text("#bulk-count", "Retry 3 deliveries?")
        .await;
    assert_eq!(
        browser.text_of("#bulk-filter").await.as_deref(),
        Some("Filter: state = dead")
    );
    browser.screenshot_for_docs("bulk-retry").await;
    browser.click("#bulk-form button").await;
    browser.wait_for_text("#bulk-done", "3 retried.").await;

    for id in &dead {
        let mut state = None;
        for _ in 0..200 {
            state = app
                .store
                .deliveries()
                .get(*id)
                .await
                .unwrap()
                .map(|d| d.state);
            if state == Some(DeliveryState::Published) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(state, Some(DeliveryState::Published), "delivery {id}");
    }
    // Each timeline names who retried it; the journal records the press.
    browser
        .go(&app.url(&format!("/dashboard/deliveries/{}", dead[0])))
        .await;
    let timeline = browser.text_of("#timeline").await.unwrap();
    assert!(timeline.contains("retried by ops-alice"), "{timeline}");
    let journal = app
        .store
        .operator_actions()
        .list(app.keys.tenant, 10)
        .await
        .unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].key_name.as_deref(), Some("ops-alice"));
    assert_eq!((journal[0].matched, journal[0].changed), (3, 3));
    assert_eq!(journal[0].filter, json!({"state": "dead"}));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_finds_a_post_by_its_metadata() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let key = alice(&app).await;
    let telegram = app.connect_telegram().await;
    let spring = post(
        &app,
        json!({"targets": [telegram], "text": "Spring sale starts today",
               "metadata": {"campaign": "spring", "wave": 2}}),
    )
    .await;
    post(
        &app,
        json!({"targets": [telegram], "text": "Autumn sale", "metadata": {"campaign": "autumn"}}),
    )
    .await;
    let spring_id = spring["id"].as_str().unwrap();

    let browser = driver.session().await;
    browser.sign_in(&app, &key).await;
    browser.go(&app.url("/dashboard/posts")).await;
    assert_eq!(count(&browser, "#posts tr[data-post]").await, 2);
    // A number matches as its text.
    browser
        .type_into("#search input[name=\"meta\"]", "wave=2")
        .await;
    browser.click("#search button").await;
    browser
        .wait_for_text(
            "#posts tr[data-post] td:nth-child(5)",
            "Spring sale starts today",
        )
        .await;
    assert_eq!(count(&browser, "#posts tr[data-post]").await, 1);
    assert_eq!(
        browser
            .eval(
                "return document.querySelector('#posts tr[data-post]').getAttribute('data-post');",
                json!([])
            )
            .await,
        json!(spring_id)
    );
    browser.screenshot_for_docs("posts").await;
    // A piece of the text, in any case, finds it too; another campaign finds the other.
    browser
        .go(&app.url("/dashboard/posts?text=SALE+STARTS"))
        .await;
    assert_eq!(count(&browser, "#posts tr[data-post]").await, 1);
    browser
        .go(&app.url("/dashboard/posts?meta=campaign%3Dsummer"))
        .await;
    assert_eq!(
        browser.text_of("#no-posts").await.as_deref(),
        Some("No posts match.")
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_page_shows_each_targets_weighted_count_and_outcome() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let mut app = TestApp::spawn().await;
    let key = alice(&app).await;
    let telegram = app.connect_telegram().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    // 10 characters, a space and a 60-character URL: X counts the URL as 23.
    let url = format!("https://example.com/{}", "a".repeat(40));
    let text = format!("Read this: {url}");
    let answer = post(
        &app,
        json!({"targets": [x.to_string(), telegram], "text": text}),
    )
    .await;
    let post_id = answer["id"].as_str().unwrap().to_owned();
    let ids = delivery_ids(&answer);
    let by_platform = |p: &str| {
        answer["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .position(|d| d["platform"] == p)
            .map(|i| ids[i])
            .unwrap()
    };
    let x_delivery = by_platform("twitter");
    let telegram_delivery = by_platform("telegram");
    app.make_dead(x_delivery).await;
    app.start_worker().await;
    app.wait_for_post(&post_id, "partially_published").await;

    let browser = driver.session().await;
    browser.sign_in(&app, &key).await;
    // From a delivery's page to its post.
    browser
        .go(&app.url(&format!("/dashboard/deliveries/{telegram_delivery}")))
        .await;
    browser.click("#post-link").await;
    browser
        .wait_for_url(&app.url(&format!("/dashboard/posts/{post_id}")))
        .await;
    assert_eq!(
        browser.text_of("#outcome").await.as_deref(),
        Some("partially_published")
    );
    let cell = |p: &str| format!("#texts tr[data-platform=\"{p}\"] .count");
    assert_eq!(
        browser.text_of(&cell("twitter")).await.as_deref(),
        Some("34 / 280"),
        "11 + 23 for the URL"
    );
    assert_eq!(
        browser.text_of(&cell("telegram")).await.as_deref(),
        Some(format!("{} / 2000", text.chars().count()).as_str())
    );
    let row = |id: DeliveryId| format!("#targets tr[data-delivery=\"{id}\"]");
    assert_eq!(
        browser
            .text_of(&format!("{} .badge", row(x_delivery)))
            .await
            .as_deref(),
        Some("dead")
    );
    let x_row = browser.text_of(&row(x_delivery)).await.unwrap();
    assert!(
        x_row.contains("chat not found") && x_row.contains("Hint: Check the bot's rights"),
        "{x_row}"
    );
    assert_eq!(
        browser
            .text_of(&format!("{} .badge", row(telegram_delivery)))
            .await
            .as_deref(),
        Some("published")
    );
    let published = browser.text_of(&row(telegram_delivery)).await.unwrap();
    assert!(
        published.contains("https://"),
        "the remote URL: {published}"
    );
    browser.screenshot_for_docs("post").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deliveries_list_pages_older_and_newer() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let key = alice(&app).await;
    let telegram = app.connect_telegram().await;
    let mut made = Vec::new();
    for n in 0..5 {
        let answer = post(
            &app,
            json!({"targets": [telegram], "text": format!("page me {n}")}),
        )
        .await;
        made.push(delivery_ids(&answer)[0].to_string());
    }
    made.reverse(); // newest first, as listed

    let browser = driver.session().await;
    browser.sign_in(&app, &key).await;
    browser
        .go(&app.url(&format!(
            "/dashboard/deliveries?connection={telegram}&limit=2"
        )))
        .await;
    assert_eq!(listed(&browser).await, made[0..2]);
    assert_eq!(
        count(&browser, "#newer").await,
        0,
        "the first page has nothing newer"
    );
    browser.screenshot_for_docs("deliveries").await;
    browser.click("#older").await;
    browser
        .wait_for_text("#deliveries tr[data-delivery] td a", made[2].as_str())
        .await;
    assert_eq!(listed(&browser).await, made[2..4]);
    browser.click("#older").await;
    browser
        .wait_for_text("#deliveries tr[data-delivery] td a", made[4].as_str())
        .await;
    assert_eq!(listed(&browser).await, made[4..5]);
    assert_eq!(
        count(&browser, "#older").await,
        0,
        "the last page has nothing older"
    );
    browser.click("#newer").await;
    browser
        .wait_for_text("#deliveries tr[data-delivery] td a", made[2].as_str())
        .await;
    assert_eq!(listed(&browser).await, made[2..4]);
    browser.click("#newer").await;
    browser
        .wait_for_text("#deliveries tr[data-delivery] td a", made[0].as_str())
        .await;
    assert_eq!(listed(&browser).await, made[0..2]);
    assert_eq!(count(&browser, "#newer").await, 0);
    // The filter stays on every page: the time range cuts everything here.
    browser
        .go(&app.url(&format!(
            "/dashboard/deliveries?connection={telegram}&limit=2&from=2001-01-01&to=2001-01-02"
        )))
        .await;
    assert!(listed(&browser).await.is_empty());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_cancel_cancels_a_connections_scheduled_deliveries_only() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let key = alice(&app).await;
    let telegram = app.connect_telegram().await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let mut scheduled = Vec::new();
    for n in 0..3 {
        let answer = post(
            &app,
            json!({"targets": [telegram], "text": format!("later {n}"), "publish_at": later}),
        )
        .await;
        scheduled.push(delivery_ids(&answer)[0]);
    }
    let now = delivery_ids(&post(&app, json!({"targets": [telegram], "text": "now"})).await)[0];

    let browser = driver.session().await;
    browser.sign_in(&app, &key).await;
    browser
        .go(&app.url(&format!(
            "/dashboard/deliveries?connection={telegram}&state=scheduled"
        )))
        .await;
    browser.click("#bulk-cancel").await;
    browser
        .wait_for_text("#bulk-count", "Cancel 3 deliveries?")
        .await;
    browser.click("#bulk-form button").await;
    browser.wait_for_text("#bulk-done", "3 cancelled.").await;
    for id in &scheduled {
        let d = app.store.deliveries().get(*id).await.unwrap().unwrap();
        assert_eq!(d.state, DeliveryState::Cancelled, "{id}");
    }
    let untouched = app.store.deliveries().get(now).await.unwrap().unwrap();
    assert_eq!(untouched.state, DeliveryState::Queued);
    browser
        .go(&app.url(&format!("/dashboard/deliveries/{}", scheduled[0])))
        .await;
    let timeline = browser.text_of("#timeline").await.unwrap();
    assert!(timeline.contains("cancelled by ops-alice"), "{timeline}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_an_api_restart() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let mut app = TestApp::spawn().await;
    let key = alice(&app).await;

    let browser = driver.session().await;
    browser.sign_in(&app, &key).await;
    let restarted = app.spawn_api().await;
    app.stop_api();
    // Same host, so the same cookie; another process's memory.
    browser.go(&restarted.url("/dashboard/posts")).await;
    browser.wait_for_text("h1", "Posts").await;
    assert_eq!(
        browser.text_of("#signed-in-as").await.as_deref(),
        Some("ops-alice")
    );
    browser.close().await;
}
