//! LinkedIn against responses pinned to the documented shapes (wiremock).

mod common;

use common::*;
use herald_domain::{AppType, ErrorClass, Platform};
use herald_platforms::{
    Account, AuthorizeRequest, CodeExchange, DegradedKind, PublishOptions, TargetKind, hints,
};
use serde_json::json;
use wiremock::matchers::{
    body_json, body_partial_json, body_string_contains, header, method, path, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn member() -> Account {
    account(Platform::Linkedin, "abc123", "li-token").with_app_type(AppType::Personal)
}

fn company() -> Account {
    account(Platform::Linkedin, "abc123", "li-token")
        .with_app_type(AppType::Company)
        .on_page("5515715")
}

fn created(urn: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).insert_header("x-restli-id", urn)
}

#[tokio::test]
async fn personal_and_company_targets_use_their_own_app_and_scopes_with_one_callback() {
    let server = MockServer::start().await;
    let li = platforms(&server.uri());
    let url_for = |app_type| {
        let auth = li
            .authorize_url(&AuthorizeRequest {
                platform: Platform::Linkedin,
                app_type: Some(app_type),
                state: Some("s-1".into()),
            })
            .unwrap();
        let url = url::Url::parse(&auth.url).unwrap();
        assert_eq!(url.path(), "/linkedin/oauth/v2/authorization");
        assert_eq!(auth.app_type, Some(app_type));
        url.query_pairs()
            .into_owned()
            .collect::<std::collections::HashMap<_, _>>()
    };
    let personal = url_for(AppType::Personal);
    let company = url_for(AppType::Company);
    assert_eq!(personal["client_id"], "herald-dev-linkedin");
    assert_eq!(company["client_id"], "herald-dev-linkedin-company");
    assert_eq!(personal["scope"], "openid profile email w_member_social");
    assert_eq!(
        company["scope"],
        "openid profile email w_organization_social r_organization_social r_organization_admin"
    );
    assert_eq!(personal["redirect_uri"], company["redirect_uri"]);
    assert_eq!(personal["state"], "s-1");
}

#[tokio::test]
async fn the_company_code_is_exchanged_with_the_company_app() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/linkedin/oauth/v2/accessToken"))
        .and(body_string_contains("client_id=herald-dev-linkedin-company"))
        .and(body_string_contains("client_secret=herald-dev-linkedin-company-secret"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "li-token", "expires_in": 5_184_000, "scope": "openid,profile,w_organization_social"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = platforms(&server.uri())
        .exchange_code(&CodeExchange {
            platform: Platform::Linkedin,
            app_type: Some(AppType::Company),
            code: secret("code"),
            pkce_verifier: None,
        })
        .await
        .unwrap();
    assert!(tokens.expires_at.is_some() && tokens.refresh_token.is_none());
    assert!(tokens.scopes.contains(&"w_organization_social".to_owned()));
}

#[tokio::test]
async fn a_standard_app_cannot_refresh_and_must_reconnect() {
    let server = MockServer::start().await;
    let failure = platforms(&server.uri())
        .refresh(&member(), Some(&secret("r")))
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::ReconnectRequired);
    assert_eq!(failure.hint.as_deref(), Some(hints::LINKEDIN_TOKEN));
}

#[tokio::test]
async fn a_partner_app_refreshes_with_its_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/linkedin/oauth/v2/accessToken"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=r-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "new", "expires_in": 5_184_000, "refresh_token": "r-1", "refresh_token_expires_in": 31_000_000
        })))
        .mount(&server)
        .await;
    let li = platforms_with(
        &server.uri(),
        &[("HERALD_PLATFORMS__LINKEDIN__PARTNER_APP", "true")],
        &settings(),
    );
    let tokens = li.refresh(&member(), Some(&secret("r-1"))).await.unwrap();
    assert!(tokens.refresh_expires_at.is_some());
}

#[tokio::test]
async fn company_pages_come_from_organization_acls_and_their_names() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/organizationAcls"))
        .and(query_param("q", "roleAssignee"))
        .and(query_param("role", "ADMINISTRATOR"))
        .and(query_param("state", "APPROVED"))
        .and(header("linkedin-version", "202511"))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [{"organization": "urn:li:organization:5515715", "role": "ADMINISTRATOR",
                          "state": "APPROVED", "roleAssignee": "urn:li:person:abc123"}],
            "paging": {"count": 10, "start": 0}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/organizations/5515715"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 5515715, "localizedName": "Herald Inc", "vanityName": "herald"
        })))
        .mount(&server)
        .await;
    let targets = platforms(&server.uri())
        .targets(
            Platform::Linkedin,
            Some(AppType::Company),
            &secret("li-token"),
        )
        .await
        .unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].kind, TargetKind::LinkedinOrganization);
    assert_eq!(targets[0].id, "5515715");
    assert_eq!(targets[0].name.as_deref(), Some("Herald Inc"));
}

#[tokio::test]
async fn the_legacy_flow_lists_pages_with_the_specs_projection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/linkedin/v2/organizationalEntityAcls"))
        .and(query_param("projection", "(elements*(organizationalTarget~(id,name,vanityName)))"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "elements": [{"organizationalTarget": "urn:li:organization:77",
                          "organizationalTarget~": {"id": 77, "localizedName": "Spec Co", "vanityName": "specco"}}]
        })))
        .mount(&server)
        .await;
    let li = platforms_with(
        &server.uri(),
        &[("HERALD_PLATFORMS__LINKEDIN__FLOW", "legacy")],
        &settings(),
    );
    let targets = li
        .targets(Platform::Linkedin, Some(AppType::Company), &secret("t"))
        .await
        .unwrap();
    assert_eq!(
        (targets[0].id.as_str(), targets[0].name.as_deref()),
        ("77", Some("Spec Co"))
    );
}

#[tokio::test]
async fn pages_without_business_verification_are_access_denied_with_the_community_management_hint()
{
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/organizationAcls"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: organizationAcls.FINDER-roleAssignee"
        })))
        .mount(&server)
        .await;
    let failure = platforms(&server.uri())
        .targets(Platform::Linkedin, Some(AppType::Company), &secret("t"))
        .await
        .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert_eq!(
        failure.hint.as_deref(),
        Some(hints::LINKEDIN_COMPANY_ACCESS)
    );
}

#[tokio::test]
async fn a_member_post_escapes_little_text_and_links_to_the_feed_update() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/posts"))
        .and(header("authorization", "Bearer li-token"))
        .and(header("linkedin-version", "202511"))
        .and(header("x-restli-protocol-version", "2.0.0"))
        .and(body_json(json!({
            "author": "urn:li:person:abc123",
            "commentary": "Ship it \\#today \\(v2\\) \\@team",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false
        })))
        .respond_with(created("urn:li:share:7001"))
        .expect(1)
        .mount(&server)
        .await;
    let li = platforms(&server.uri());
    let outcomes = publish(
        &li,
        &member(),
        &text("Ship it #today (v2) @team"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "urn:li:share:7001");
    assert_eq!(
        post.url.as_deref(),
        Some(format!("{}/linkedin/feed/update/urn:li:share:7001", server.uri()).as_str())
    );
}

async fn image_upload(server: &MockServer, statuses: &[&str]) {
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/images"))
        .and(query_param("action", "initializeUpload"))
        .and(body_json(
            json!({"initializeUploadRequest": {"owner": "urn:li:organization:5515715"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": {"uploadUrlExpiresAt": 1_900_000_000_000_i64,
                      "uploadUrl": format!("{}/linkedin/upload/img-1", server.uri()),
                      "image": "urn:li:image:C4E10AQ"}
        })))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/linkedin/upload/img-1"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(server)
        .await;
    for (i, status) in statuses.iter().enumerate() {
        let last = i + 1 == statuses.len();
        let mock = Mock::given(method("GET"))
            .and(path("/linkedin/rest/images/urn%3Ali%3Aimage%3AC4E10AQ"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": "urn:li:image:C4E10AQ", "status": status})),
            );
        if last {
            mock.mount(server).await
        } else {
            mock.up_to_n_times(1).mount(server).await
        }
    }
}

#[tokio::test]
async fn a_company_image_post_uploads_waits_until_available_and_attaches_the_image() {
    let server = MockServer::start().await;
    image_upload(&server, &["WAITING_UPLOAD", "PROCESSING", "AVAILABLE"]).await;
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/posts"))
        .and(body_partial_json(json!({
            "author": "urn:li:organization:5515715",
            "content": {"media": {"id": "urn:li:image:C4E10AQ"}}
        })))
        .respond_with(created("urn:li:share:7002"))
        .expect(1)
        .mount(&server)
        .await;
    let li = platforms(&server.uri());
    let outcomes = publish(
        &li,
        &company(),
        &with_image("hello"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let keys: Vec<_> = outcomes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["media:0", "media:0:ready", "publish"]);
    assert_eq!(published(&outcomes).remote_id, "urn:li:share:7002");
}

#[tokio::test]
async fn an_image_still_processing_after_the_wait_is_retryable() {
    let server = MockServer::start().await;
    image_upload(&server, &["PROCESSING"]).await;
    let li = platforms_with(
        &server.uri(),
        &[("HERALD_PLATFORMS__LINKEDIN__IMAGE_WAIT_SECS", "1")],
        &settings(),
    );
    let failure = publish(
        &li,
        &company(),
        &with_image("hello"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.class, ErrorClass::Retryable);
    assert_eq!(failure.code().as_deref(), Some("PROCESSING"));
}

#[tokio::test]
async fn a_rejected_media_urn_falls_back_to_text_only_and_reports_it() {
    let server = MockServer::start().await;
    image_upload(&server, &["AVAILABLE"]).await;
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/posts"))
        .and(body_partial_json(
            json!({"content": {"media": {"id": "urn:li:image:C4E10AQ"}}}),
        ))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "status": 422, "message": "ShareMedia.media (URN) is missing"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/posts"))
        .respond_with(created("urn:li:share:7003"))
        .expect(1)
        .mount(&server)
        .await;
    let li = platforms(&server.uri());
    let outcomes = publish(
        &li,
        &company(),
        &with_image("hello"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let post = published(&outcomes);
    assert_eq!(post.remote_id, "urn:li:share:7003");
    assert_eq!(post.degraded[0].kind, DegradedKind::MediaDropped);
    assert_eq!(
        post.degraded[0].cause.hint.as_deref(),
        Some(hints::LINKEDIN_MEDIA_REJECTED)
    );
}

#[tokio::test]
async fn the_legacy_flow_registers_an_asset_waits_and_posts_a_ugc_post() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/linkedin/v2/assets"))
        .and(query_param("action", "registerUpload"))
        .and(body_partial_json(json!({"registerUploadRequest": {
            "recipes": ["urn:li:digitalmediaRecipe:feedshare-image"], "owner": "urn:li:person:abc123"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {
            "uploadMechanism": {"com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest": {
                "uploadUrl": format!("{}/linkedin/upload/asset-1", server.uri()), "headers": {}}},
            "mediaArtifact": "urn:li:digitalmediaMediaArtifact:(urn:li:digitalmediaAsset:D1,urn:li:digitalmediaMediaArtifactClass:feedshare-uploadedImage)",
            "asset": "urn:li:digitalmediaAsset:D1"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/linkedin/upload/asset-1"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/linkedin/v2/ugcPosts"))
        .and(body_json(json!({
            "author": "urn:li:person:abc123",
            "lifecycleState": "PUBLISHED",
            "specificContent": {"com.linkedin.ugc.ShareContent": {
                "shareCommentary": {"text": "legacy #1"},
                "shareMediaCategory": "IMAGE",
                "media": [{"status": "READY", "media": "urn:li:digitalmediaAsset:D1"}]}},
            "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"}
        })))
        .respond_with(created("urn:li:share:8001"))
        .expect(1)
        .mount(&server)
        .await;
    let li = platforms_with(
        &server.uri(),
        &[
            ("HERALD_PLATFORMS__LINKEDIN__FLOW", "legacy"),
            ("HERALD_PLATFORMS__LINKEDIN__IMAGE_WAIT_SECS", "0"),
        ],
        &settings(),
    );
    let outcomes = publish(
        &li,
        &member(),
        &with_image("legacy #1"),
        &[png()],
        PublishOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(published(&outcomes).remote_id, "urn:li:share:8001");
}

#[tokio::test]
async fn a_revoked_token_means_reconnect_and_throttling_waits() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/linkedin/rest/posts"))
        .and(body_partial_json(json!({"commentary": "revoked"})))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
            "message": "The token used in the request has been revoked by the user"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/linkedin/rest/posts")).and(body_partial_json(json!({"commentary": "busy"})))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "status": 429, "serviceErrorCode": 101, "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
        })))
        .mount(&server).await;
    let li = platforms(&server.uri());
    let revoked = publish(
        &li,
        &member(),
        &text("revoked"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (revoked.class, revoked.code().as_deref()),
        (ErrorClass::ReconnectRequired, Some("65601"))
    );
    let busy = publish(
        &li,
        &member(),
        &text("busy"),
        &[],
        PublishOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(busy.class, ErrorClass::RateLimited);
    assert!(busy.retry_at.unwrap() > chrono::Utc::now());
}

#[tokio::test]
async fn lookup_reads_the_authors_posts_and_compares_unescaped_commentary() {
    let server = MockServer::start().await;
    let now = chrono::Utc::now();
    Mock::given(method("GET"))
        .and(path("/linkedin/rest/posts"))
        .and(query_param("q", "author"))
        .and(query_param("author", "urn:li:organization:5515715"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"elements": [
            {"id": "urn:li:share:1", "commentary": "Ship it \\#today", "createdAt": now.timestamp_millis(), "publishedAt": now.timestamp_millis()}
        ]})))
        .mount(&server)
        .await;
    let found = platforms(&server.uri())
        .lookup(
            &company(),
            "Ship it #today",
            now - chrono::TimeDelta::minutes(1),
        )
        .await
        .unwrap();
    assert!(
        matches!(found, herald_platforms::Lookup::Found { ref remote_id, .. } if remote_id == "urn:li:share:1")
    );
}
