//! The dashboard's overview charts, schedule timeline and connections page: over HTTP (the
//! charts' figures, the Reconnect form's CSRF check) and in headless Chromium
//! ([`support::browser`]): charts that count what was published and refresh without a
//! reload, a post scheduled for tomorrow behind X's full 24-hour window, and a connection
//! that needs reconnecting brought back through the OAuth flow from its row.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Platform;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use support::app::TestApp;
use support::browser::{Driver, Session};

/// Signs in over HTTP; returns the session cookie's value.
async fn session_cookie(app: &TestApp) -> String {
    let response = app
        .http
        .post(app.url("/dashboard/login"))
        .form(&[("key", app.keys.admin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    cookie
        .strip_prefix("herald_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned()
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let response = app
        .http
        .get(app.url(path))
        .header(header::COOKIE, format!("herald_session={cookie}"))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// One chart's SVG out of a page.
fn chart<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart #{id} in {html}"));
    let end = html[start..].find("</svg>").unwrap() + start;
    &html[start..end]
}

/// The sum of a series' `data-count` over a bar chart's bars.
fn counted(svg: &str, series: &str) -> u64 {
    let marker = format!("data-series=\"{series}\" data-count=\"");
    svg.match_indices(&marker)
        .map(|(i, _)| {
            let rest = &svg[i + marker.len()..];
            rest[..rest.find('"').unwrap()].parse::<u64>().unwrap()
        })
        .sum()
}

/// Posts `n` texts to the connection; returns the post ids.
async fn post_texts(app: &TestApp, connection: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let answer = app
            .post_ok(&json!({"targets": [connection], "text": format!("chart test {i}")}))
            .await;
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test]
async fn the_overview_charts_count_what_was_published_in_the_last_hour_and_day() {
    let mut app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let cookie = session_cookie(&app).await;

    // Nothing yet: the charts are there, empty, and say so.
    let (status, html) = page(&app, &cookie, "/dashboard/overview/charts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counted(chart(&html, "outcomes-hour"), "published"), 0);
    assert!(chart(&html, "latency-hour").contains("No data in this window"));

    let posts = post_texts(&app, &telegram, 3).await;
    app.start_worker().await;
    for id in &posts {
        app.wait_for_post(id, "published").await;
    }

    let (_, html) = page(&app, &cookie, "/dashboard/overview/charts").await;
    for id in ["outcomes-hour", "outcomes-day"] {
        let svg = chart(&html, id);
        assert_eq!(counted(svg, "published"), 3, "{svg}");
        assert_eq!(counted(svg, "failed"), 0, "{svg}");
        assert!(
            svg.contains("In all: 3 published, 0 failed, 0 retrying."),
            "{svg}"
        );
    }
    // A latency point where they were published, with its title.
    let latency = chart(&html, "latency-hour");
    assert!(latency.contains("data-series=\"p95\""), "{latency}");
    assert!(!latency.contains("No data in this window"));
    // The page itself embeds the same charts, and the script that refreshes them.
    let (_, overview) = page(&app, &cookie, "/dashboard").await;
    assert_eq!(counted(chart(&overview, "outcomes-hour"), "published"), 3);
    assert!(overview.contains("fetch('/dashboard/overview/charts'"));

    // Without a session there are no figures.
    let anonymous = app
        .http
        .get(app.url("/dashboard/overview/charts"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn reconnect_needs_the_session_token_and_the_schedule_names_a_bad_view() {
    let app = TestApp::spawn().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    let cookie = session_cookie(&app).await;
    let refused = app
        .http
        .post(app.url(&format!("/dashboard/connections/{x}/reconnect")))
        .header(header::COOKIE, format!("herald_session={cookie}"))
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("CSRF"));

    let (status, html) = page(&app, &cookie, "/dashboard/schedule?view=month").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("`view` must be `day` or `week`"), "{html}");
    let (status, html) = page(&app, &cookie, "/dashboard/schedule?start=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("`start` must be a date written like 2026-12-03"));
}

/// Sums the published bars of the hour chart as the browser has it now.
async fn published_in_browser(browser: &Session) -> u64 {
    browser
        .eval(
            "var n=0;document.querySelectorAll('#outcomes-hour rect[data-series=\"published\"]')\
             .forEach(function(r){n+=Number(r.getAttribute('data-count'));});return n;",
            json!([]),
        )
        .await
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_overview_charts_show_published_deliveries_and_keep_up() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let mut app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let first = post_texts(&app, &telegram, 2).await;
    app.start_worker().await;
    for id in &first {
        app.wait_for_post(id, "published").await;
    }

    let browser = driver.session().await;
    browser.sign_in(&app, &app.keys.admin.clone()).await;
    browser.wait_for_text("h1", "Overview").await;
    assert_eq!(published_in_browser(&browser).await, 2);
    assert_eq!(
        browser
            .eval(
                "return document.querySelector('#outcomes-hour > title').textContent;",
                json!([])
            )
            .await,
        json!("Deliveries published, failed and retrying: Last hour, per minute")
    );
    browser
        .eval("window.heraldMark = 'still here'; return null;", json!([]))
        .await;

    // One more, published while the page is open: the charts catch up without a reload.
    let more = post_texts(&app, &telegram, 1).await;
    app.wait_for_post(&more[0], "published").await;
    let caught_up = support::eventually(std::time::Duration::from_secs(20), || async {
        (published_in_browser(&browser).await == 3).then_some(())
    })
    .await;
    assert!(caught_up.is_some(), "{}", browser.page().await);
    assert_eq!(
        browser
            .eval("return window.heraldMark || null;", json!([]))
            .await,
        json!("still here")
    );
    browser.wait_for_text("#published-last-hour", "3").await;
    browser.screenshot_for_docs("overview").await;
    browser.close().await;
}

/// Fills the connection's X window with `limit` posts counted at `at`.
async fn fill_x_window(app: &TestApp, connection: herald_domain::ConnectionId, at: DateTime<Utc>) {
    let limit = app.config.platforms.twitter.tiers[&app.config.platforms.twitter.default_tier];
    sqlx::query(
        "INSERT INTO platform_requests (connection_id, platform, bucket, endpoint, at)
         SELECT id, platform, 'posts', '/2/tweets', $2 FROM connections, generate_series(1, $3)
         WHERE id = $1",
    )
    .bind(connection.into_uuid())
    .bind(at)
    .bind(i32::try_from(limit).unwrap())
    .execute(app.db.pool())
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_the_schedule_shows_tomorrows_post_waiting_for_a_full_x_window() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    // Due tomorrow, at least 20 hours from now.
    let now = Utc::now();
    let tomorrow = (now.date_naive() + TimeDelta::days(1))
        .and_hms_opt(0, 30, 0)
        .unwrap()
        .and_utc();
    let due = (now + TimeDelta::hours(20)).max(tomorrow);
    // X counted the window full 23 hours before it is due: it frees an hour after.
    fill_x_window(&app, x, due - TimeDelta::hours(23)).await;
    let answer = app
        .post_ok(&json!({
            "targets": [x.to_string()],
            "text": "after the window",
            "publish_at": due.to_rfc3339(),
        }))
        .await;
    let delivery = answer["deliveries"][0]["id"].as_str().unwrap().to_owned();

    let browser = driver.session().await;
    browser.sign_in(&app, &app.keys.admin.clone()).await;
    browser
        .go(&app.url(&format!(
            "/dashboard/schedule?view=week&start={}",
            now.format("%Y-%m-%d")
        )))
        .await;
    browser.wait_for_text("h1", "Schedule").await;
    let mark = format!("#timeline circle[data-delivery=\"{delivery}\"]");
    let found: Value = browser
        .eval(
            "var m=document.querySelector(arguments[0]);if(!m)return null;\
             return {cls:m.getAttribute('class'),title:m.querySelector('title').textContent,\
             link:m.parentNode.getAttribute('href')};",
            json!([mark]),
        )
        .await;
    assert!(
        found["cls"].as_str().unwrap().contains("delayed"),
        "{found}"
    );
    assert_eq!(
        found["link"],
        json!(format!("/dashboard/deliveries/{delivery}"))
    );
    assert!(
        found["title"]
            .as_str()
            .unwrap()
            .contains("waits for X's 24 h window until"),
        "{found}"
    );
    let window = browser
        .eval(
            "var w=document.querySelector('#timeline rect.window[data-window=\"twitter\"]');\
             return w?w.getAttribute('data-frees-at'):null;",
            json!([]),
        )
        .await;
    let frees: DateTime<Utc> = window.as_str().unwrap().parse().unwrap();
    // Postgres keeps microseconds.
    let off = frees - (due + TimeDelta::hours(1));
    assert!(
        off.num_microseconds().unwrap().abs() < 1,
        "frees at {frees}"
    );
    let row_note = browser
        .text_of(&format!(
            "#upcoming tr[data-delivery=\"{delivery}\"] .delay"
        ))
        .await
        .unwrap();
    assert!(
        row_note.starts_with("waits for X's 24 h window until"),
        "{row_note}"
    );
    browser.screenshot_for_docs("schedule").await;

    // The mark leads to its delivery.
    browser
        .eval(
            "document.querySelector(arguments[0]).parentNode.dispatchEvent(\
             new MouseEvent('click',{bubbles:true}));return null;",
            json!([mark]),
        )
        .await;
    browser
        .wait_for_url(&app.url(&format!("/dashboard/deliveries/{delivery}")))
        .await;
    browser.close().await;
}

async fn connection_ids(app: &TestApp) -> Vec<String> {
    let list: Value = app
        .get("/v1/connections", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Connects an account through the OAuth flow over HTTP; returns the new connection's id.
async fn connect(app: &TestApp, platform: &str, body: Value) -> String {
    let before = connection_ids(app).await;
    let answer: Value = app
        .post_json(&format!("/v1/connect/{platform}"), &app.keys.admin, &body)
        .await
        .json()
        .await
        .unwrap();
    let authorize = answer["authorize_url"].as_str().unwrap();
    let consent = app.http.get(authorize).send().await.unwrap();
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let done = app.http.get(&callback).send().await.unwrap();
    assert!(done.status().is_success(), "{}", done.status());
    connection_ids(app)
        .await
        .into_iter()
        .find(|id| !before.contains(id))
        .unwrap()
}

/// Chooses the connection's first page (or organization); returns its name.
async fn choose_first_page(app: &TestApp, connection: &str) -> String {
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
    let chosen = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/connections/{connection}/page"),
            &app.keys.admin,
        )
        .json(&json!({"page_id": page["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.status(), StatusCode::OK);
    page["name"].as_str().unwrap().to_owned()
}

async fn authorization_code_grants(app: &TestApp) -> u64 {
    let counters: Value = app
        .http
        .get(app.sim.url("/_sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    counters["token_grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["platform"] == "twitter" && g["grant_type"] == "authorization_code")
        .map(|g| g["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_a_connection_that_needs_reconnecting_is_reconnected_from_its_row() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let app = TestApp::spawn().await;
    let x = connect(&app, "twitter", json!({})).await;
    let linkedin = app
        .insert_connection(app.keys.tenant, Platform::Linkedin)
        .await;
    // A Facebook Page, chosen after connecting its owner: shown by the Page's name.
    let page = connect(&app, "facebook", json!({})).await;
    let page_name = choose_first_page(&app, &page).await;
    app.store
        .connections()
        .mark_needs_reconnect(x.parse().unwrap(), "the token was revoked on X")
        .await
        .unwrap();
    let grants_before = authorization_code_grants(&app).await;

    let browser = driver.session().await;
    browser.sign_in(&app, &app.keys.admin.clone()).await;
    browser.go(&app.url("/dashboard/connections")).await;
    let row = format!("tr[data-connection=\"{x}\"]");
    let health = browser.text_of(&format!("{row} .health")).await.unwrap();
    assert!(health.starts_with("reconnect needed"), "{health}");
    assert_eq!(
        browser.text_of(&format!("{row} .kind")).await.as_deref(),
        Some("profile")
    );
    assert_eq!(
        browser
            .text_of(&format!("tr[data-connection=\"{linkedin}\"] .kind"))
            .await
            .as_deref(),
        Some("member")
    );
    assert_eq!(
        browser
            .text_of(&format!("tr[data-connection=\"{page}\"] .kind"))
            .await,
        Some(format!("page: {page_name}"))
    );
    assert!(
        browser
            .text_of(&format!("{row} .hint"))
            .await
            .unwrap()
            .contains("Press Reconnect")
    );
    assert_eq!(
        browser
            .eval(
                "return document.querySelector(arguments[0]).getAttribute('href');",
                json!([format!("{row} a.scheduled")])
            )
            .await,
        json!(format!(
            "/dashboard/deliveries?connection={x}&state=scheduled"
        ))
    );
    let page = browser.page().await;
    assert!(!page.contains("test-access-token"), "no token on the page");
    browser.screenshot_for_docs("connections").await;

    // Reconnect: through Herald's start link and X's (simulated) consent page, back here.
    browser
        .click(&format!(
            "form[action=\"/dashboard/connections/{x}/reconnect\"] button"
        ))
        .await;
    browser
        .wait_for_text(".notice", &format!("Connection {x} is reconnected."))
        .await;
    assert_eq!(authorization_code_grants(&app).await, grants_before + 1);
    browser
        .wait_for_text(&format!("{row} .badge"), "active")
        .await;
    let health = browser.text_of(&format!("{row} .health")).await.unwrap();
    assert!(health.starts_with("healthy"), "{health}");
    let stored = app
        .store
        .connections()
        .get(x.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, herald_domain::ConnectionStatus::Active);
    assert_eq!(stored.last_error, None);
    browser.close().await;
}
