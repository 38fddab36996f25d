//! Complete lookups and duplicate refusals, against responses pinned to each platform's
//! documented paging (wiremock): a lost post on a later page is found, a search that meets
//! its bound is inconclusive (never "not found"), a read the platform denies cannot tell, and
//! a duplicate refusal points at the post it repeats.

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use herald_domain::{AppType, Platform};
use herald_platforms::{
    Account, DuplicateOf, DuplicateRefusal, HttpSettings, Lookup, Platforms, PublishOptions,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn x_account() -> Account {
    account(Platform::Twitter, "42", "user-token").with_username("herald")
}

fn member() -> Account {
    account(Platform::Linkedin, "abc123", "li-token").with_app_type(AppType::Personal)
}

fn page() -> Account {
    account(Platform::Facebook, "10", "page-token").on_page("555")
}

fn ig() -> Account {
    account(Platform::Instagram, "1784", "user-token").on_page("555")
}

fn threads_account() -> Account {
    account(Platform::Threads, "t-1", "th-token")
}

/// A client whose lookups stop after `pages` pages.
fn bounded(server: &MockServer, pages: u32) -> Platforms {
    let settings = HttpSettings {
        lookup_pages: pages,
        lookup_time: Duration::from_secs(10),
        ..settings()
    };
    platforms_with(&server.uri(), &[], &settings)
}

/// `n` posts of someone else's text, all made after `at` (a busy author's page).
fn busy(n: usize, at: DateTime<Utc>, post: impl Fn(usize, DateTime<Utc>) -> Value) -> Vec<Value> {
    (0..n).map(|i| post(i, at)).collect()
}

const LOST: &str = "The lost announcement";

// ---- X: `pagination_token` from `meta.next_token` ----------------------------------------

fn tweet(id: &str, text: &str, at: DateTime<Utc>) -> Value {
    json!({"id": id, "text": text, "created_at": at.to_rfc3339()})
}

async fn x_pages(server: &MockServer, now: DateTime<Utc>) {
    let filler = |page: usize| {
        move |i: usize, at: DateTime<Utc>| tweet(&format!("{page}{i:03}"), "busy", at)
    };
    Mock::given(method("GET"))
        .and(path("/x/2/users/42/tweets"))
        .and(query_param_is_missing("pagination_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": busy(100, now, filler(1)),
            "meta": {"result_count": 100, "next_token": "p2"}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/x/2/users/42/tweets"))
        .and(query_param("pagination_token", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": busy(100, now, filler(2)),
            "meta": {"result_count": 100, "next_token": "p3"}
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/x/2/users/42/tweets"))
        .and(query_param("pagination_token", "p3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tweet("3000", LOST, now), tweet("3001", "older", now - TimeDelta::hours(2))],
            "meta": {"result_count": 2}
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn x_finds_a_lost_tweet_on_the_third_page() {
    let server = MockServer::start().await;
    let now = Utc::now();
    x_pages(&server, now).await;
    let found = platforms(&server.uri())
        .lookup(&x_account(), LOST, now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(
        matches!(found, Lookup::Found { ref remote_id, .. } if remote_id == "3000"),
        "{found:?}"
    );
}

#[tokio::test]
async fn x_stopping_at_its_bound_is_inconclusive_not_not_found() {
    let server = MockServer::start().await;
    let now = Utc::now();
    x_pages(&server, now).await;
    let answer = bounded(&server, 2)
        .lookup(&x_account(), LOST, now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(matches!(answer, Lookup::Inconclusive { .. }), "{answer:?}");
}

#[tokio::test]
async fn x_with_its_read_window_spent_cannot_tell() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/x/2/users/42/tweets"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-remaining", "0")
                .set_body_json(json!({"title": "Too Many Requests", "status": 429})),
        )
        .mount(&server)
        .await;
    let answer = platforms(&server.uri())
        .lookup(&x_account(), LOST, Utc::now())
        .await
        .unwrap();
    assert_eq!(answer, Lookup::CannotKnow);
}

#[tokio::test]
async fn an_x_duplicate_refusal_names_no_post_so_it_is_published_without_an_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x/2/tweets"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank", "title": "Forbidden", "status": 403
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/x/2/users/42/tweets"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"status": 429})))
        .mount(&server)
        .await;
    let x = platforms(&server.uri());
    let refused = publish(
        &x,
        &x_account(),
        &text(LOST),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    let refusal = DuplicateRefusal::of(&refused).expect("a duplicate refusal");
    assert_eq!(refusal.named, None);
    let original = x
        .duplicate_of(&x_account(), &refusal, LOST, Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(original, DuplicateOf::Unnamed { .. }),
        "{original:?}"
    );
}

// ---- LinkedIn: `start` / `count` -------------------------------------------------------

fn li_post(id: &str, text: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": id, "author": "urn:li:person:abc123", "commentary": text,
        "createdAt": at.timestamp_millis(), "publishedAt": at.timestamp_millis(),
        "lifecycleState": "PUBLISHED"
    })
}

async fn linkedin_pages(server: &MockServer, now: DateTime<Utc>) {
    for (start, posts) in [
        (
            "0",
            busy(50, now, |i, at| {
                li_post(&format!("urn:li:share:1{i:03}"), "busy", at)
            }),
        ),
        (
            "50",
            busy(50, now, |i, at| {
                li_post(&format!("urn:li:share:2{i:03}"), "busy", at)
            }),
        ),
        ("100", vec![li_post("urn:li:share:3000", LOST, now)]),
    ] {
        Mock::given(method("GET"))
            .and(path("/linkedin/rest/posts"))
            .and(query_param("q", "author"))
            .and(query_param("author", "urn:li:person:abc123"))
            .and(query_param("start", start))
            .and(query_param("count", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "paging": {"start": start.parse::<u32>().expect("a number"), "count": 50, "total": 101},
                "elements": posts
            })))
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn linkedin_finds_a_lost_post_on_the_third_page() {
    let server = MockServer::start().await;
    let now = Utc::now();
    linkedin_pages(&server, now).await;
    let found = platforms(&server.uri())
        .lookup(&member(), LOST, now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(
        matches!(found, Lookup::Found { ref remote_id, .. } if remote_id == "urn:li:share:3000"),
        "{found:?}"
    );
}

#[tokio::test]
async fn linkedin_stopping_at_its_bound_is_inconclusive() {
    let server = MockServer::start().await;
    let now = Utc::now();
    linkedin_pages(&server, now).await;
    let answer = bounded(&server, 2)
        .lookup(&member(), LOST, now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(matches!(answer, Lookup::Inconclusive { .. }), "{answer:?}");
}

#[tokio::test]
async fn a_linkedin_member_app_without_r_member_social_cannot_tell() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/posts"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: partnerApiPostsExternal.FINDER-author.20250101"
        })))
        .mount(&server)
        .await;
    let answer = platforms(&server.uri())
        .lookup(&member(), LOST, Utc::now())
        .await
        .unwrap();
    assert_eq!(answer, Lookup::CannotKnow);
}

async fn linkedin_duplicate(server: &MockServer, original: &str) -> DuplicateRefusal {
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/posts"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "status": 422, "code": "DUPLICATE_POST",
            "message": format!("Content is a duplicate of {original}"),
            "errorDetails": {"inputErrors": [{"code": "DUPLICATE_POST"}]}
        })))
        .mount(server)
        .await;
    let li = platforms(&server.uri());
    let refused = publish(&li, &member(), &text(LOST), &[], PublishOptions::default())
        .await
        .expect_err("refused as a duplicate");
    DuplicateRefusal::of(&refused).expect("a duplicate refusal")
}

#[tokio::test]
async fn a_linkedin_duplicate_refusal_names_the_original_which_is_read_back() {
    let server = MockServer::start().await;
    let refusal = linkedin_duplicate(&server, "urn:li:share:7001").await;
    assert_eq!(refusal.named.as_deref(), Some("urn:li:share:7001"));
    // The URN travels URL-encoded, as LinkedIn documents.
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/posts/urn%3Ali%3Ashare%3A7001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(li_post(
            "urn:li:share:7001",
            LOST,
            Utc::now(),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let original = platforms(&server.uri())
        .duplicate_of(&member(), &refusal, LOST, Utc::now())
        .await
        .unwrap();
    assert!(
        matches!(original, DuplicateOf::Found { ref remote_id, read_back: true, .. } if remote_id == "urn:li:share:7001"),
        "{original:?}"
    );
}

#[tokio::test]
async fn a_linkedin_duplicate_of_a_deleted_post_is_not_this_post() {
    let server = MockServer::start().await;
    let refusal = linkedin_duplicate(&server, "urn:li:share:6000").await;
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/posts/urn%3Ali%3Ashare%3A6000"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "status": 404, "code": "NOT_FOUND", "message": "Post urn:li:share:6000 not found"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/posts"))
        .and(query_param("q", "author"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "paging": {"start": 0, "count": 50, "total": 0}, "elements": []
        })))
        .mount(&server)
        .await;
    let original = platforms(&server.uri())
        .duplicate_of(&member(), &refusal, LOST, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        original,
        DuplicateOf::Deleted {
            remote_id: "urn:li:share:6000".into()
        }
    );
}

// ---- Graph: `paging.cursors.after` while `paging.next` says there is more ---------------

fn graph_post(
    id: &str,
    text_field: &str,
    text: &str,
    time_field: &str,
    at: DateTime<Utc>,
) -> Value {
    json!({"id": id, text_field: text, time_field: at.format("%Y-%m-%dT%H:%M:%S%z").to_string()})
}

/// Three pages of the edge at `edge_path`: two busy ones, the lost post on the third.
async fn graph_pages(
    server: &MockServer,
    edge_path: &str,
    text_field: &str,
    time_field: &str,
    now: DateTime<Utc>,
) {
    let page = |n: usize, cursor: &str, more: bool| {
        let data: Vec<Value> = if n < 3 {
            (0..50)
                .map(|i| graph_post(&format!("{n}{i:03}"), text_field, "busy", time_field, now))
                .collect()
        } else {
            vec![graph_post("3000", text_field, LOST, time_field, now)]
        };
        let mut paging = json!({"cursors": {"before": "b", "after": cursor}});
        if more {
            paging["next"] = json!(format!("https://graph.example{edge_path}?after={cursor}"));
        }
        json!({"data": data, "paging": paging})
    };
    Mock::given(method("GET"))
        .and(path(edge_path))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(1, "c1", true)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(edge_path))
        .and(query_param("after", "c1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(2, "c2", true)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(edge_path))
        .and(query_param("after", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(3, "c3", false)))
        .mount(server)
        .await;
}

fn found_3000(answer: &Lookup) -> bool {
    matches!(answer, Lookup::Found { remote_id, .. } if remote_id == "3000")
}

#[tokio::test]
async fn facebook_instagram_and_threads_find_a_lost_post_on_the_third_page() {
    let server = MockServer::start().await;
    let now = Utc::now();
    graph_pages(
        &server,
        "/graph/v24.0/555/feed",
        "message",
        "created_time",
        now,
    )
    .await;
    graph_pages(
        &server,
        "/graph/v24.0/1784/media",
        "caption",
        "timestamp",
        now,
    )
    .await;
    graph_pages(
        &server,
        "/threads/v1.0/t-1/threads",
        "text",
        "timestamp",
        now,
    )
    .await;
    let since = now - TimeDelta::minutes(1);
    let p = platforms(&server.uri());
    for account in [page(), ig(), threads_account()] {
        let answer = p.lookup(&account, LOST, since).await.unwrap();
        assert!(found_3000(&answer), "{:?}: {answer:?}", account.platform);
    }
    let p = bounded(&server, 2);
    for account in [page(), ig(), threads_account()] {
        let answer = p.lookup(&account, LOST, since).await.unwrap();
        assert!(
            matches!(answer, Lookup::Inconclusive { .. }),
            "{:?}: {answer:?}",
            account.platform
        );
    }
}

#[tokio::test]
async fn a_search_ends_complete_once_it_reads_past_the_send_time() {
    let server = MockServer::start().await;
    let now = Utc::now();
    // The first page already reaches posts older than the send time: no need for a second.
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/555/feed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                graph_post("2", "message", "busy", "created_time", now),
                graph_post("1", "message", "busy", "created_time", now - TimeDelta::hours(3)),
            ],
            "paging": {"cursors": {"after": "c1"}, "next": "https://graph.example/next"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    // No match in the feed: a Page's videos are searched too, complete on the first page.
    Mock::given(method("GET"))
        .and(path("/graph/v24.0/555/videos"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                graph_post("9", "description", "a video", "created_time", now - TimeDelta::hours(3)),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let answer = bounded(&server, 5)
        .lookup(&page(), LOST, now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(answer, Lookup::NotFound);
}

#[tokio::test]
async fn a_facebook_duplicate_refusal_is_identified_by_lookup() {
    let server = MockServer::start().await;
    let now = Utc::now();
    Mock::given(method("POST"))
        .and(path("/graph/v24.0/555/feed"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "Duplicate status message", "type": "OAuthException", "code": 506}
        })))
        .mount(&server)
        .await;
    graph_pages(
        &server,
        "/graph/v24.0/555/feed",
        "message",
        "created_time",
        now,
    )
    .await;
    let p = platforms(&server.uri());
    let refused = publish(&p, &page(), &text(LOST), &[], PublishOptions::default())
        .await
        .unwrap_err();
    let refusal = DuplicateRefusal::of(&refused).expect("a duplicate refusal");
    assert_eq!(refusal.named, None);
    let original = p
        .duplicate_of(&page(), &refusal, LOST, now - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert!(
        matches!(original, DuplicateOf::Found { ref remote_id, .. } if remote_id == "3000"),
        "{original:?}"
    );
}
