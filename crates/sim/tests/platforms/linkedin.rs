//! LinkedIn: OAuth with the secret in the form, userinfo, organization ACLs, the images API
//! with its processing states, posts with `x-restli-id`, read-back, and the legacy flow.

use serde_json::{Value, json};

use crate::common::{REDIRECT, Sim, enc, eventually, fast_config};

pub(crate) const PERSONAL: (&str, &str) = ("herald-dev-linkedin", "herald-dev-linkedin-secret");
pub(crate) const COMPANY: (&str, &str) = (
    "herald-dev-linkedin-company",
    "herald-dev-linkedin-company-secret",
);
pub(crate) const PERSONAL_SCOPES: &str = "openid profile email w_member_social";
pub(crate) const COMPANY_SCOPES: &str =
    "openid profile email w_organization_social r_organization_social r_organization_admin";
const VERSION: &str = "202511";

pub(crate) async fn login(sim: &Sim, app: (&str, &str), scopes: &str) -> Value {
    let redirect = sim
        .authorize(&format!(
            "/linkedin/oauth/v2/authorization?response_type=code&client_id={}&redirect_uri={}&state=company-or-personal&scope={}",
            app.0,
            enc(REDIRECT),
            enc(scopes)
        ))
        .await;
    assert_eq!(redirect.params["state"], "company-or-personal");
    let response = sim
        .http
        .post(sim.url("/linkedin/oauth/v2/accessToken"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &redirect.code()),
            ("redirect_uri", REDIRECT),
            ("client_id", app.0),
            ("client_secret", app.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub(crate) fn rest(
    sim: &Sim,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    sim.http
        .request(method, sim.url(path))
        .bearer_auth(token)
        .header("LinkedIn-Version", VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
}

pub(crate) fn post_body(author: &str, commentary: &str, image: Option<&str>) -> Value {
    let mut body = json!({
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    if let Some(image) = image {
        body["content"] = json!({"media": {"id": image}});
    }
    body
}

/// initializeUpload, PUT the bytes, and wait for AVAILABLE.
pub(crate) async fn upload_image(sim: &Sim, token: &str, owner: &str) -> String {
    let init: Value = rest(
        sim,
        reqwest::Method::POST,
        "/linkedin/rest/images?action=initializeUpload",
        token,
    )
    .json(&json!({"initializeUploadRequest": {"owner": owner}}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let upload_url = init["value"]["uploadUrl"].as_str().unwrap().to_owned();
    let image = init["value"]["image"].as_str().unwrap().to_owned();
    let status_path = format!("/linkedin/rest/images/{}", enc(&image));
    let waiting: Value = rest(sim, reqwest::Method::GET, &status_path, token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(waiting["status"], "WAITING_UPLOAD");
    let put = sim
        .http
        .put(&upload_url)
        .bearer_auth(token)
        .body(herald_sim::jpeg(1200, 627))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let processing: Value = rest(sim, reqwest::Method::GET, &status_path, token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(processing["status"], "PROCESSING");
    eventually("image AVAILABLE", || async {
        let status: Value = rest(sim, reqwest::Method::GET, &status_path, token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (status["status"] == "AVAILABLE").then_some(())
    })
    .await;
    image
}

#[tokio::test]
async fn a_member_connects_posts_with_and_without_an_image_and_reads_back() {
    // Reading back a member's posts needs `r_member_social`, which the app must be granted.
    let mut config = fast_config();
    config.fixtures.grant_scope(PERSONAL.0, "r_member_social");
    let sim = Sim::start_with(config).await;
    let token = login(
        &sim,
        PERSONAL,
        &format!("{PERSONAL_SCOPES} r_member_social"),
    )
    .await;
    assert_eq!(token["expires_in"], 5_184_000);
    assert!(
        token.get("refresh_token").is_none(),
        "default apps get no refresh token"
    );
    let access = token["access_token"].as_str().unwrap();

    let me: Value = sim
        .http
        .get(sim.url("/linkedin/v2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Herald Dev");
    let author = format!("urn:li:person:{}", me["sub"].as_str().unwrap());

    let text = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body(&author, r"Launch day \(beta\) \#rust", None))
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 201);
    let text_urn = text.headers()["x-restli-id"].to_str().unwrap().to_owned();
    assert!(text_urn.starts_with("urn:li:share:"));

    let image = upload_image(&sim, access, &author).await;
    let with_image = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body(&author, "With a picture", Some(&image)))
        .send()
        .await
        .unwrap();
    assert_eq!(with_image.status(), 201);

    let found: Value = rest(
        &sim,
        reqwest::Method::GET,
        &format!(
            "/linkedin/rest/posts?q=author&author={}&count=10",
            enc(&author)
        ),
        access,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(found["elements"].as_array().unwrap().len(), 2);
    assert_eq!(
        found["elements"][0]["content"]["media"]["id"],
        image.as_str()
    );
    assert_eq!(found["elements"][1]["id"], text_urn.as_str());

    let posts = sim.posts("linkedin").await;
    assert_eq!(
        posts[0]["text"], "Launch day (beta) #rust",
        "little text is rendered"
    );
    assert_eq!(posts[1]["media"][0], image.as_str());
    assert_eq!(posts[0]["account"], author.as_str());
}

/// `GET /rest/posts?q=author&author=` with `token`.
async fn find_by_author(sim: &Sim, token: &str, author: &str) -> reqwest::Response {
    rest(
        sim,
        reqwest::Method::GET,
        &format!("/linkedin/rest/posts?q=author&author={}", enc(author)),
        token,
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn reading_a_members_posts_needs_r_member_social_which_the_app_lacks_by_default() {
    let sim = Sim::start().await;
    let author = "urn:li:person:hrldDev01";
    let token = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let posted = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body(author, "Can I find this?", None))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let urn = posted.headers()["x-restli-id"].to_str().unwrap().to_owned();

    let denied = find_by_author(&sim, access, author).await;
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["status"], 403);
    assert_eq!(body["serviceErrorCode"], 100);
    assert_eq!(body["code"], "ACCESS_DENIED");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("r_member_social"), "{message}");
    let by_urn = rest(
        &sim,
        reqwest::Method::GET,
        &format!("/linkedin/rest/posts/{}", enc(&urn)),
        access,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(by_urn.status(), 403, "nor one post by its URN");

    // The app cannot even ask for it: the permission is closed to it.
    let refused = sim
        .authorize(&format!(
            "/linkedin/oauth/v2/authorization?response_type=code&client_id={}&redirect_uri={}&state=s&scope={}",
            PERSONAL.0,
            enc(REDIRECT),
            enc(&format!("{PERSONAL_SCOPES} r_member_social"))
        ))
        .await;
    assert_eq!(refused.params["error"], "unauthorized_scope_error");
}

#[tokio::test]
async fn an_app_granted_r_member_social_reads_its_members_posts() {
    let mut config = fast_config();
    config.fixtures.grant_scope(PERSONAL.0, "r_member_social");
    let sim = Sim::start_with(config).await;
    let author = "urn:li:person:hrldDev01";
    let token = login(
        &sim,
        PERSONAL,
        &format!("{PERSONAL_SCOPES} r_member_social"),
    )
    .await;
    let access = token["access_token"].as_str().unwrap();
    let posted = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body(author, "Found it", None))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    let found = find_by_author(&sim, access, author).await;
    assert_eq!(found.status(), 200);
    let body: Value = found.json().await.unwrap();
    assert_eq!(body["elements"][0]["commentary"], "Found it");

    // Granting the app is not enough: a token without the scope is still refused.
    let without = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let without = without["access_token"].as_str().unwrap();
    assert_eq!(find_by_author(&sim, without, author).await.status(), 403);
    // Nor does the scope open another member's posts.
    assert_eq!(
        find_by_author(&sim, access, "urn:li:person:hrldAlt02")
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn an_unescaped_reserved_character_cuts_the_commentary() {
    let sim = Sim::start().await;
    let token = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let author = "urn:li:person:hrldDev01";
    let response = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body(author, "Launch (beta) today", None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(sim.posts("linkedin").await[0]["text"], "Launch ");
}

#[tokio::test]
async fn the_company_app_lists_organizations_and_posts_as_one() {
    let sim = Sim::start().await;
    let token = login(&sim, COMPANY, COMPANY_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let acls: Value = rest(
        &sim,
        reqwest::Method::GET,
        "/linkedin/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED",
        access,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let org = acls["elements"][0]["organization"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(org, "urn:li:organization:100000001");

    let legacy: Value = sim
        .http
        .get(sim.url("/linkedin/v2/organizationalEntityAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&projection=(elements*(organizationalTarget~(id,name,vanityName)))"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(legacy["elements"][0]["organizationalTarget"], org.as_str());
    assert_eq!(
        legacy["elements"][0]["organizationalTarget~"]["localizedName"],
        "Herald Dev Co"
    );

    let image = upload_image(&sim, access, &org).await;
    let posted = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body(&org, "From the company", Some(&image)))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 201);
    assert_eq!(sim.posts("linkedin").await[0]["account"], org.as_str());
    let found = find_by_author(&sim, access, &org).await;
    assert_eq!(
        found.status(),
        200,
        "organizations read with r_organization_social"
    );
    let found: Value = found.json().await.unwrap();
    assert_eq!(found["elements"][0]["commentary"], "From the company");

    // The personal app cannot ask for organization scopes.
    let refused = sim
        .authorize(&format!(
            "/linkedin/oauth/v2/authorization?response_type=code&client_id={}&redirect_uri={}&state=s&scope={}",
            PERSONAL.0,
            enc(REDIRECT),
            enc(COMPANY_SCOPES)
        ))
        .await;
    assert_eq!(refused.params["error"], "unauthorized_scope_error");
}

#[tokio::test]
async fn company_access_can_be_denied_as_before_business_verification() {
    let mut config = fast_config();
    config.linkedin.company_access_denied = true;
    let sim = Sim::start_with(config).await;
    let token = login(&sim, COMPANY, COMPANY_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let denied = rest(
        &sim,
        reqwest::Method::GET,
        "/linkedin/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED",
        access,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["code"], "ACCESS_DENIED");
    let post = rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
        .json(&post_body("urn:li:organization:100000001", "nope", None))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403);
}

#[tokio::test]
async fn rest_calls_need_an_active_version_and_the_restli_header() {
    let mut config = fast_config();
    config.linkedin.min_version = "202506".to_owned();
    let sim = Sim::start_with(config).await;
    let token = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let body = post_body("urn:li:person:hrldDev01", "versioned", None);
    let missing = sim
        .http
        .post(sim.url("/linkedin/rest/posts"))
        .bearer_auth(access)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["code"],
        "VERSION_MISSING"
    );
    let retired = sim
        .http
        .post(sim.url("/linkedin/rest/posts"))
        .bearer_auth(access)
        .header("LinkedIn-Version", "202401")
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(retired.status(), 426);
    let no_restli = sim
        .http
        .post(sim.url("/linkedin/rest/posts"))
        .bearer_auth(access)
        .header("LinkedIn-Version", VERSION)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(no_restli.status(), 400);
    let bad_token = rest(
        &sim,
        reqwest::Method::POST,
        "/linkedin/rest/posts",
        "nonsense",
    )
    .json(&body)
    .send()
    .await
    .unwrap();
    assert_eq!(bad_token.status(), 401);
    assert_eq!(
        bad_token.json::<Value>().await.unwrap()["serviceErrorCode"],
        65600
    );
}

#[tokio::test]
async fn posts_are_validated_for_length_duplicates_and_media() {
    let mut config = fast_config();
    config.linkedin.rejects_media_urn = true;
    let sim = Sim::start_with(config).await;
    let token = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let author = "urn:li:person:hrldDev01";
    let send = |body: Value| {
        rest(&sim, reqwest::Method::POST, "/linkedin/rest/posts", access)
            .json(&body)
            .send()
    };

    let long = send(post_body(author, &"a".repeat(3_001), None))
        .await
        .unwrap();
    assert_eq!(long.status(), 422);
    assert_eq!(
        send(post_body(author, &"a".repeat(3_000), None))
            .await
            .unwrap()
            .status(),
        201
    );

    let duplicate = send(post_body(author, &"a".repeat(3_000), None))
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 422);
    let body: Value = duplicate.json().await.unwrap();
    assert_eq!(
        body["errorDetails"]["inputErrors"][0]["code"],
        "DUPLICATE_POST"
    );

    let image = upload_image(&sim, access, author).await;
    let rejected = send(post_body(author, "with media", Some(&image)))
        .await
        .unwrap();
    assert_eq!(rejected.status(), 422);
    assert!(
        rejected
            .text()
            .await
            .unwrap()
            .contains("ShareMedia.media (URN) is missing")
    );

    let mut missing = post_body(author, "no distribution", None);
    missing.as_object_mut().unwrap().remove("distribution");
    assert_eq!(send(missing).await.unwrap().status(), 422);
}

#[tokio::test]
async fn the_legacy_assets_and_ugc_posts_flow_is_served() {
    let sim = Sim::start().await;
    let token = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let access = token["access_token"].as_str().unwrap();
    let author = "urn:li:person:hrldDev01";
    let registered: Value = sim
        .http
        .post(sim.url("/linkedin/v2/assets?action=registerUpload"))
        .bearer_auth(access)
        .json(&json!({"registerUploadRequest": {
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"],
            "owner": author,
            "serviceRelationships": [{"relationshipType": "OWNER", "identifier": "urn:li:userGeneratedContent"}],
        }}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let asset = registered["value"]["asset"].as_str().unwrap().to_owned();
    let upload_url = registered["value"]["uploadMechanism"]["com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest"]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = sim
        .http
        .put(&upload_url)
        .bearer_auth(access)
        .body(herald_sim::jpeg(800, 600))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let ugc = |asset: &str| {
        json!({
            "author": author,
            "lifecycleState": "PUBLISHED",
            "specificContent": {"com.linkedin.ugc.ShareContent": {
                "shareCommentary": {"text": "Legacy post"},
                "shareMediaCategory": "IMAGE",
                "media": [{"status": "READY", "media": asset}],
            }},
            "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"},
        })
    };
    let early = sim
        .http
        .post(sim.url("/linkedin/v2/ugcPosts"))
        .bearer_auth(access)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&ugc(&asset))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 422, "the asset is still processing");
    let asset_id = asset
        .trim_start_matches("urn:li:digitalmediaAsset:")
        .to_owned();
    eventually("asset AVAILABLE", || async {
        let status: Value = sim
            .http
            .get(sim.url(&format!("/linkedin/v2/assets/{asset_id}")))
            .bearer_auth(access)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (status["recipes"][0]["status"] == "AVAILABLE").then_some(())
    })
    .await;
    let created = sim
        .http
        .post(sim.url("/linkedin/v2/ugcPosts"))
        .bearer_auth(access)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&ugc(&asset))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.headers()["x-restli-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(created.json::<Value>().await.unwrap()["id"], id.as_str());
    assert_eq!(sim.posts("linkedin").await[0]["media"][0], asset.as_str());
}

#[tokio::test]
async fn refresh_tokens_exist_only_for_partner_apps() {
    let mut config = fast_config();
    config.linkedin.partner_app = true;
    let sim = Sim::start_with(config).await;
    let token = login(&sim, PERSONAL, PERSONAL_SCOPES).await;
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(token["refresh_token_expires_in"], 31_536_000);
    sim.advance(86_400.0).await;
    let refreshed: Value = sim
        .http
        .post(sim.url("/linkedin/oauth/v2/accessToken"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", PERSONAL.0),
            ("client_secret", PERSONAL.1),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refreshed["refresh_token"], refresh.as_str());
    let left = refreshed["refresh_token_expires_in"].as_u64().unwrap();
    assert!(
        (31_536_000 - 86_400 - 5..=31_536_000 - 86_400).contains(&left),
        "refreshing does not extend it: {left}"
    );
    let counts = sim.get_json("/_sim/requests").await;
    assert_eq!(counts["token_refreshes"]["linkedin"], 1);

    let wrong_secret = sim
        .http
        .post(sim.url("/linkedin/oauth/v2/accessToken"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", PERSONAL.0),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
}

#[tokio::test]
async fn the_exchange_must_present_the_authorize_redirect_uri() {
    let sim = Sim::start().await;
    let redirect = sim
        .authorize(&format!(
            "/linkedin/oauth/v2/authorization?response_type=code&client_id={}&redirect_uri={}&state=s&scope={}",
            PERSONAL.0,
            enc(REDIRECT),
            enc(PERSONAL_SCOPES)
        ))
        .await;
    let response = sim
        .http
        .post(sim.url("/linkedin/oauth/v2/accessToken"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &redirect.code()),
            ("redirect_uri", "https://other.test/callback"),
            ("client_id", PERSONAL.0),
            ("client_secret", PERSONAL.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("redirect uri"));
}
