//! Duplicate refusals: X's 403 duplicate content, LinkedIn's 422 DUPLICATE_POST (`/rest/posts`
//! and the legacy `/v2/ugcPosts`) and Facebook's 506 apply to recent posts only, on the
//! virtual clock, and `detect_duplicates = false` turns them all off so a re-send shows as a
//! second post.

use herald_sim::SimConfig;
use serde_json::{Value, json};

use crate::common::{Sim, fast_config};
use crate::facebook::{login as meta_login, page};
use crate::linkedin::{PERSONAL, PERSONAL_SCOPES, login as linkedin_login, post_body, rest};
use crate::twitter::{login as x_login, tweet};

/// One connected account per platform with a duplicate refusal, and the same text sent to
/// each of its publishing endpoints.
struct Accounts {
    x: String,
    linkedin: String,
    author: String,
    page_id: String,
    page_token: String,
}

impl Accounts {
    async fn connect(sim: &Sim) -> Accounts {
        let x = x_login(sim).await.access;
        let token = linkedin_login(sim, PERSONAL, PERSONAL_SCOPES).await;
        let linkedin = token["access_token"].as_str().unwrap().to_owned();
        let me: Value = sim
            .http
            .get(sim.url("/linkedin/v2/userinfo"))
            .bearer_auth(&linkedin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let author = format!("urn:li:person:{}", me["sub"].as_str().unwrap());
        let user_token = meta_login(sim).await;
        let (page_id, page_token, _) = page(sim, &user_token).await;
        Accounts {
            x,
            linkedin,
            author,
            page_id,
            page_token,
        }
    }

    /// Sends `text` through every endpoint: (endpoint, status, platform error code).
    async fn send(&self, sim: &Sim, text: &str) -> Vec<(&'static str, u16, Value)> {
        let x = tweet(sim, &self.x, json!({"text": text})).await;
        let x_status = x.status().as_u16();
        let x_body: Value = x.json().await.unwrap();

        let posts = rest(
            sim,
            reqwest::Method::POST,
            "/linkedin/rest/posts",
            &self.linkedin,
        )
        .json(&post_body(&self.author, &format!("{text} via posts"), None))
        .send()
        .await
        .unwrap();
        let posts_status = posts.status().as_u16();
        let posts_body: Value = posts.json().await.unwrap_or(Value::Null);

        let ugc = sim
            .http
            .post(sim.url("/linkedin/v2/ugcPosts"))
            .bearer_auth(&self.linkedin)
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&json!({
                "author": self.author,
                "lifecycleState": "PUBLISHED",
                "specificContent": {"com.linkedin.ugc.ShareContent": {
                    "shareCommentary": {"text": format!("{text} via ugc")},
                    "shareMediaCategory": "NONE",
                }},
                "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"},
            }))
            .send()
            .await
            .unwrap();
        let ugc_status = ugc.status().as_u16();
        let ugc_body: Value = ugc.json().await.unwrap_or(Value::Null);

        let feed = sim
            .http
            .post(sim.url(&format!("/graph/v24.0/{}/feed", self.page_id)))
            .bearer_auth(&self.page_token)
            .json(&json!({"message": text}))
            .send()
            .await
            .unwrap();
        let feed_status = feed.status().as_u16();
        let feed_body: Value = feed.json().await.unwrap();

        vec![
            ("x", x_status, x_body["detail"].clone()),
            (
                "linkedin posts",
                posts_status,
                posts_body["errorDetails"]["inputErrors"][0]["code"].clone(),
            ),
            (
                "linkedin ugcPosts",
                ugc_status,
                ugc_body["errorDetails"]["inputErrors"][0]["code"].clone(),
            ),
            ("facebook", feed_status, feed_body["error"]["code"].clone()),
        ]
    }

    async fn assert_accepted(&self, sim: &Sim, text: &str) {
        for (endpoint, status, error) in self.send(sim, text).await {
            assert!(
                status == 200 || status == 201,
                "{endpoint}: {status} {error}"
            );
        }
    }

    async fn assert_refused(&self, sim: &Sim, text: &str) {
        let answers = self.send(sim, text).await;
        let expected = [
            (
                403,
                json!("You are not allowed to create a Tweet with duplicate content."),
            ),
            (422, json!("DUPLICATE_POST")),
            (422, json!("DUPLICATE_POST")),
            (400, json!(506)),
        ];
        for ((endpoint, status, error), (want_status, want_error)) in answers.iter().zip(expected) {
            assert_eq!(
                (*status, error),
                (want_status, &want_error),
                "{endpoint} refuses the duplicate"
            );
        }
    }
}

/// How many posts on `platform` carry exactly `text`.
async fn count(sim: &Sim, platform: &str, text: &str) -> usize {
    sim.posts(platform)
        .await
        .iter()
        .filter(|p| p["text"] == text)
        .count()
}

async fn assert_twice(sim: &Sim, text: &str) {
    assert_eq!(count(sim, "twitter", text).await, 2, "two tweets");
    assert_eq!(
        count(sim, "linkedin", &format!("{text} via posts")).await,
        2,
        "two /rest/posts"
    );
    assert_eq!(
        count(sim, "linkedin", &format!("{text} via ugc")).await,
        2,
        "two ugcPosts"
    );
    assert_eq!(count(sim, "facebook", text).await, 2, "two Page posts");
}

#[tokio::test]
async fn a_resend_is_refused_until_duplicates_are_turned_off_at_run_time() {
    let sim = Sim::start().await;
    let accounts = Accounts::connect(&sim).await;
    accounts.assert_accepted(&sim, "Sent twice").await;
    accounts.assert_refused(&sim, "Sent twice").await;
    assert_eq!(count(&sim, "twitter", "Sent twice").await, 1);
    assert_eq!(count(&sim, "facebook", "Sent twice").await, 1);

    sim.patch_config(json!({"detect_duplicates": false})).await;
    let config = sim.get_json("/_sim/config").await;
    assert_eq!(config["detect_duplicates"], false);
    accounts.assert_accepted(&sim, "Sent twice").await;
    assert_twice(&sim, "Sent twice").await;

    sim.patch_config(json!({"detect_duplicates": true})).await;
    accounts.assert_refused(&sim, "Sent twice").await;
}

#[tokio::test]
async fn with_duplicates_off_in_the_config_a_resend_is_a_second_post() {
    let config = SimConfig {
        detect_duplicates: false,
        ..fast_config()
    };
    let sim = Sim::start_with(config).await;
    let accounts = Accounts::connect(&sim).await;
    accounts.assert_accepted(&sim, "Once more").await;
    accounts.assert_accepted(&sim, "Once more").await;
    assert_twice(&sim, "Once more").await;
}

#[tokio::test]
async fn an_identical_post_outside_the_window_is_accepted() {
    let mut config = fast_config();
    config.x.duplicate_window_secs = 60.0;
    config.linkedin.duplicate_window_secs = 60.0;
    config.facebook.duplicate_window_secs = 60.0;
    let sim = Sim::start_with(config).await;
    let accounts = Accounts::connect(&sim).await;
    accounts.assert_accepted(&sim, "Weekly reminder").await;
    sim.advance(30.0).await;
    accounts.assert_refused(&sim, "Weekly reminder").await;
    sim.advance(31.0).await;
    accounts.assert_accepted(&sim, "Weekly reminder").await;
    assert_twice(&sim, "Weekly reminder").await;
    // The window restarts at the newest copy.
    accounts.assert_refused(&sim, "Weekly reminder").await;
}
