//! Facebook Pages: the login dialog, code and long-lived exchanges with query parameters,
//! /me/accounts with Page tokens, unpublished photos attached to a feed post, read-back.

use serde_json::Value;

use crate::common::{REDIRECT, Sim, enc};

pub(crate) const APP: (&str, &str) = ("herald-dev-facebook", "herald-dev-facebook-secret");
pub(crate) const PAGE: &str = "200000000000001";
const SCOPES: &str = "public_profile,business_management,pages_show_list,pages_manage_posts,pages_read_engagement,instagram_basic,instagram_content_publish";

/// Dialog, code exchange, long-lived exchange; returns the long-lived user token.
pub(crate) async fn login(sim: &Sim) -> String {
    login_with(sim, SCOPES).await
}

/// [`login`] granting `scopes`.
pub(crate) async fn login_with(sim: &Sim, scopes: &str) -> String {
    let redirect = sim
        .authorize(&format!(
            "/facebook/v24.0/dialog/oauth?client_id={}&redirect_uri={}&state=fb-state&scope={}",
            APP.0,
            enc(REDIRECT),
            enc(scopes)
        ))
        .await;
    assert_eq!(redirect.fragment.as_deref(), Some("_=_"));
    let short: Value = sim
        .get_json(&format!(
            "/graph/v24.0/oauth/access_token?client_id={}&redirect_uri={}&client_secret={}&code={}",
            APP.0,
            enc(REDIRECT),
            APP.1,
            redirect.code()
        ))
        .await;
    let short = short["access_token"]
        .as_str()
        .expect("short-lived token")
        .to_owned();
    let long: Value = sim
        .get_json(&format!(
            "/graph/v24.0/oauth/access_token?grant_type=fb_exchange_token&client_id={}&client_secret={}&fb_exchange_token={short}",
            APP.0, APP.1
        ))
        .await;
    assert_eq!(long["expires_in"], 5_184_000);
    long["access_token"].as_str().unwrap().to_owned()
}

/// The Page (id, token, linked Instagram account) from /me/accounts.
pub(crate) async fn page(sim: &Sim, user_token: &str) -> (String, String, String) {
    let accounts = sim
        .get_json(&format!(
            "/graph/v24.0/me/accounts?fields=id,name,access_token,instagram_business_account&access_token={user_token}"
        ))
        .await;
    let page = &accounts["data"][0];
    (
        page["id"].as_str().unwrap().to_owned(),
        page["access_token"].as_str().unwrap().to_owned(),
        page["instagram_business_account"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_page_admin_connects_posts_with_and_without_a_photo_and_reads_back() {
    let sim = Sim::start().await;
    let user_token = login(&sim).await;
    let me = sim
        .get_json(&format!(
            "/graph/v24.0/me?fields=id,name&access_token={user_token}"
        ))
        .await;
    assert_eq!(me["name"], "Herald Dev");
    let (page_id, page_token, _) = page(&sim, &user_token).await;
    assert_eq!(page_id, PAGE);

    let text = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/feed")))
        .form(&[("message", "Hello Page"), ("access_token", &page_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 200);
    let usage: Value =
        serde_json::from_str(text.headers()["x-app-usage"].to_str().unwrap()).unwrap();
    assert!(usage["call_count"].is_u64());
    assert!(text.headers().contains_key("x-business-use-case-usage"));
    let text: Value = text.json().await.unwrap();
    let text_id = text["id"].as_str().unwrap().to_owned();
    assert!(text_id.starts_with(&format!("{page_id}_")));

    let photo: Value = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/photos")))
        .form(&[
            ("url", sim.image_url(1200, 900).as_str()),
            ("published", "false"),
            ("access_token", &page_token),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photo_id = photo["id"].as_str().unwrap().to_owned();
    let attached = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/feed")))
        .form(&[
            ("message", "With a photo"),
            (
                "attached_media[0]",
                &format!("{{\"media_fbid\":\"{photo_id}\"}}"),
            ),
            ("access_token", &page_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 200);
    let post_id = attached.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let permalink = sim
        .get_json(&format!(
            "/graph/v24.0/{post_id}?fields=permalink_url&access_token={page_token}"
        ))
        .await;
    assert!(
        permalink["permalink_url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.facebook.com/")
    );

    let feed = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/feed?fields=id,message,created_time&access_token={page_token}"
        ))
        .await;
    assert_eq!(feed["data"][0]["id"], post_id.as_str());
    assert_eq!(feed["data"][1]["message"], "Hello Page");

    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["text"], "With a photo");
    assert_eq!(posts[1]["media"][0], photo_id.as_str());
}

#[tokio::test]
async fn posting_needs_the_page_token_and_a_fresh_message() {
    let sim = Sim::start().await;
    let user_token = login(&sim).await;
    let (page_id, page_token, _) = page(&sim, &user_token).await;
    let with_user_token = sim
        .http
        .post(sim.url(&format!(
            "/graph/v24.0/{page_id}/feed?access_token={user_token}"
        )))
        .form(&[("message", "as the user")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_user_token.json::<Value>().await.unwrap()["error"]["code"],
        200
    );

    let post = || {
        sim.http
            .post(sim.url(&format!("/graph/v24.0/{page_id}/feed")))
            .bearer_auth(&page_token)
            .json(&serde_json::json!({"message": "Twice"}))
            .send()
    };
    assert_eq!(post().await.unwrap().status(), 200);
    let duplicate: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(duplicate["error"]["code"], 506);

    let unknown = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/photos")))
        .form(&[
            (
                "url",
                sim.url("/_sim/images/missing.jpg?status=404").as_str(),
            ),
            ("access_token", &page_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], 324);
}

#[tokio::test]
async fn bad_and_expired_tokens_get_code_190() {
    let sim = Sim::start().await;
    let invalid = sim
        .http
        .get(sim.url("/graph/v24.0/me?access_token=garbage"))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    assert!(invalid.headers().contains_key("www-authenticate"));
    let invalid: Value = invalid.json().await.unwrap();
    assert_eq!(invalid["error"]["code"], 190);
    assert_eq!(invalid["error"]["type"], "OAuthException");
    assert!(invalid["error"]["fbtrace_id"].is_string());

    let user_token = login(&sim).await;
    sim.advance(61.0 * 86_400.0).await;
    let expired = sim
        .get_json(&format!("/graph/v24.0/me?access_token={user_token}"))
        .await;
    assert_eq!(expired["error"]["code"], 190);
    assert_eq!(expired["error"]["error_subcode"], 463);

    let bad_secret = sim
        .get_json(&format!(
            "/graph/v24.0/oauth/access_token?client_id={}&redirect_uri={}&client_secret=wrong&code=x",
            APP.0,
            enc(REDIRECT)
        ))
        .await;
    assert_eq!(bad_secret["error"]["code"], 1);
}

#[tokio::test]
async fn a_code_exchange_with_another_redirect_uri_is_refused() {
    let sim = Sim::start().await;
    let redirect = sim
        .authorize(&format!(
            "/facebook/v24.0/dialog/oauth?client_id={}&redirect_uri={}&state=s&scope=pages_show_list",
            APP.0,
            enc(REDIRECT)
        ))
        .await;
    let refused = sim
        .get_json(&format!(
            "/graph/v24.0/oauth/access_token?client_id={}&redirect_uri={}&client_secret={}&code={}",
            APP.0,
            enc("https://other.test/cb"),
            APP.1,
            redirect.code()
        ))
        .await;
    assert_eq!(refused["error"]["error_subcode"], 36008);
}

#[tokio::test]
async fn only_a_user_token_lists_the_pages_as_on_graph() {
    let sim = Sim::start().await;
    let user_token = login(&sim).await;
    let (_, page_token, _) = page(&sim, &user_token).await;
    let refused = sim
        .http
        .get(sim.url(&format!(
            "/graph/v24.0/me/accounts?access_token={page_token}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], 100, "{body:#}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("node type (Page)"),
        "{body:#}"
    );
    // The user's token still lists them after a Page token was handed out.
    let (page_id, _, _) = page(&sim, &user_token).await;
    assert_eq!(page_id, PAGE);
}
