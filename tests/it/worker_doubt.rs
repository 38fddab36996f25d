//! Exactly once under doubt, end to end (real Postgres, Redis, simulator and worker): a
//! publish whose answer was lost is settled by a complete lookup where the platform can be
//! searched, and by the platform's duplicate refusal where it cannot, and is on the platform
//! once either way.

use std::time::Duration;

use herald_domain::{AppType, DeliveryState, Platform, PostContent, StepState};
use herald_platforms::{Account, PriorResults, PublishOptions, StepContext};
use herald_store::Step as JournalStep;
use serde_json::{Value, json};
use support::harness::{Harness, fast_sim, sim_with_member_lookups, text};

async fn publish_step(h: &Harness, id: herald_domain::DeliveryId) -> JournalStep {
    let steps = h.store.journal().steps(id).await.expect("the journal");
    steps
        .into_iter()
        .find(|s| s.step == "publish")
        .expect("a publish step")
}

fn resolved_by(step: &JournalStep) -> Option<&str> {
    step.detail
        .as_ref()
        .and_then(|d| d.get("resolved_by"))
        .and_then(Value::as_str)
}

/// The simulator's posts carrying exactly `text`, with their ids.
async fn sim_ids(h: &Harness, platform: &str, text: &str) -> Vec<String> {
    h.sim_posts(platform)
        .await
        .iter()
        .filter(|p| p["text"].as_str() == Some(text))
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect()
}

/// Posts `texts` straight to the platform as the connection's account (another app of the
/// same author), without Herald's journal: the author is busy.
async fn post_directly(h: &Harness, connection: herald_domain::ConnectionId, texts: &[String]) {
    let conn = h
        .store
        .connections()
        .get_with_tokens(connection)
        .await
        .expect("the store")
        .expect("the connection");
    let c = &conn.connection;
    let account = Account {
        platform: c.platform,
        app_type: c.app_type,
        target: c.post_target_type,
        account_id: c.account_id.clone(),
        page_id: c.selected_page_id.clone(),
        username: c.account_handle.clone(),
        access_token: conn.access_token.clone(),
    };
    for body in texts {
        let content: PostContent = text(body);
        let steps = h.platforms.plan(&account, &content).expect("a plan");
        let mut prior = PriorResults::new();
        for step in &steps {
            let ctx = StepContext {
                account: &account,
                content: &content,
                media: &[],
                prior: &prior,
                options: PublishOptions::default(),
            };
            let done = h.platforms.execute(step, &ctx).await.expect("posted");
            prior.insert(step.key.clone(), done.remote_id);
        }
    }
}

#[tokio::test]
async fn a_busy_authors_lost_post_on_a_later_page_is_found_by_the_lookup_and_published_once() {
    // Stops a worker while the delivery waits: timing matters, so one at a time.
    let _serial = support::serial().await;
    let (sim, vars) = sim_with_member_lookups();
    let h = Harness::start_with(sim, &vars).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    // The publish lands but its answer is lost, and the lookup cannot run yet.
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "script": ["drop"]}))
        .await;
    h.fault(json!({"platform": "linkedin", "endpoint": "GET /rest/posts", "error_rate": 1.0, "error_status": 503}))
        .await;
    let worker = h.spawn_worker();
    let id = h.post(connection, text("lost in the crowd"), None).await;
    h.until_state(id, DeliveryState::Retrying, Duration::from_secs(20))
        .await;
    worker.stop().await;
    assert_eq!(publish_step(&h, id).await.state, StepState::Sending);

    // Meanwhile the author posts 60 more: the lost post is now on the second page of 50.
    let busy: Vec<String> = (0..60).map(|i| format!("busy post {i}")).collect();
    post_directly(&h, connection, &busy).await;
    h.control(reqwest::Method::DELETE, "/_sim/faults", None)
        .await;

    let worker = h.spawn_worker();
    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(30))
        .await;
    let ids = sim_ids(&h, "linkedin", "lost in the crowd").await;
    assert_eq!(ids.len(), 1, "exactly one post");
    assert_eq!(delivery.remote_id.as_deref(), Some(ids[0].as_str()));
    let step = publish_step(&h, id).await;
    assert!(
        matches!(resolved_by(&step), Some("lookup" | "sweeper_lookup")),
        "found by the lookup, not by a re-send: {:?}",
        step.detail
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_linkedin_member_without_r_member_social_is_settled_by_the_duplicate_refusal() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "script": ["drop"]}))
        .await;
    let id = h
        .post(connection, text("did the member post land?"), None)
        .await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    let ids = sim_ids(&h, "linkedin", "did the member post land?").await;
    assert_eq!(ids.len(), 1, "exactly one post");
    assert_eq!(
        delivery.remote_id.as_deref(),
        Some(ids[0].as_str()),
        "the URN the refusal named"
    );
    let step = publish_step(&h, id).await;
    assert_eq!(step.state, StepState::Done);
    assert_eq!(resolved_by(&step), Some("duplicate_refusal"));
    worker.stop().await;
}

#[tokio::test]
async fn a_linkedin_member_publish_lost_before_it_landed_is_published_by_the_probe() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    // The connection breaks after the request went out, before LinkedIn took it.
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "script": ["reset"]}))
        .await;
    let id = h.post(connection, text("never got there"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    let ids = sim_ids(&h, "linkedin", "never got there").await;
    assert_eq!(ids.len(), 1, "exactly one post");
    assert_eq!(delivery.remote_id.as_deref(), Some(ids[0].as_str()));
    let step = publish_step(&h, id).await;
    assert_eq!(
        step.detail.as_ref().and_then(|d| d.get("probe")),
        Some(&json!(true)),
        "sent by the probe after a lookup that could not tell: {:?}",
        step.detail
    );
    worker.stop().await;
}

/// A simulator whose X lookups are spent: X's free plan allows almost no reads.
fn sim_without_x_reads() -> herald_sim::SimConfig {
    let mut config = fast_sim();
    config.x.lookup_reads_per_user = herald_sim::Limit::new(0, 900.0);
    config
}

#[tokio::test]
async fn an_x_publish_whose_read_window_is_spent_is_published_once_without_an_id() {
    let h = Harness::start(sim_without_x_reads()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    h.fault(json!({"platform": "twitter", "endpoint": "POST /2/tweets", "script": ["drop"]}))
        .await;
    let id = h.post(connection, text("did the tweet land?"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    assert_eq!(sim_ids(&h, "twitter", "did the tweet land?").await.len(), 1);
    assert_eq!(delivery.remote_id, None, "X names no post in its refusal");
    assert_eq!(delivery.public_url, None);
    assert_eq!(delivery.degraded, vec!["remote_id_unknown".to_owned()]);
    let step = publish_step(&h, id).await;
    assert_eq!(resolved_by(&step), Some("duplicate_refusal_without_id"));
    worker.stop().await;
}

#[tokio::test]
async fn an_x_publish_lost_before_it_landed_is_published_by_the_probe() {
    let h = Harness::start(sim_without_x_reads()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    h.fault(json!({"platform": "twitter", "endpoint": "POST /2/tweets", "script": ["reset"]}))
        .await;
    let id = h
        .post(connection, text("tweet that never got there"), None)
        .await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    let ids = sim_ids(&h, "twitter", "tweet that never got there").await;
    assert_eq!(ids.len(), 1, "exactly one post");
    assert_eq!(delivery.remote_id.as_deref(), Some(ids[0].as_str()));
    let step = publish_step(&h, id).await;
    assert_eq!(
        step.detail.as_ref().and_then(|d| d.get("probe")),
        Some(&json!(true)),
        "sent by the probe after a lookup that could not tell: {:?}",
        step.detail
    );
    assert!(delivery.degraded.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn an_x_thread_whose_first_part_has_no_id_stops_with_a_clear_error_and_never_posts_it_again()
{
    let h = Harness::start(sim_without_x_reads()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    h.fault(json!({"platform": "twitter", "endpoint": "POST /2/tweets", "script": ["drop"]}))
        .await;
    let content = PostContent {
        thread: vec!["part two of the lost thread".into()],
        ..text("part one of the lost thread")
    };
    let id = h.post(connection, content, None).await;

    let delivery = h
        .until_state(id, DeliveryState::Failed, Duration::from_secs(20))
        .await;
    let error = delivery.error.expect("it says why");
    assert_eq!(error.code.as_deref(), Some("remote_id_unknown"));
    assert!(error.hint.is_some());
    assert_eq!(
        sim_ids(&h, "twitter", "part one of the lost thread")
            .await
            .len(),
        1,
        "part one is on X once"
    );
    assert!(
        sim_ids(&h, "twitter", "part two of the lost thread")
            .await
            .is_empty(),
        "part two has nothing to reply to"
    );
    worker.stop().await;
}
