//! Builders shared by the store's tests.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use herald_domain::{AppType, ConnectionId, Platform, PostContent, PostTargetType, TenantId};
use herald_store::{
    Connection, Delivery, NewConnection, NewDelivery, NewPost, PostInsert, Store, StoredPost,
    Tokens,
};
use secrecy::SecretString;

pub(crate) async fn tenant(store: &Store) -> TenantId {
    let name = format!("tenant-{}", uuid::Uuid::new_v4().simple());
    store.tenants().create(&name).await.expect("a tenant").id
}

pub(crate) fn tokens(access: &str, refresh: Option<&str>) -> Tokens {
    Tokens {
        access_token: SecretString::from(access),
        refresh_token: refresh.map(SecretString::from),
        expires_at: None,
    }
}

pub(crate) fn new_connection(
    tenant_id: TenantId,
    platform: Platform,
    user: Option<&str>,
) -> NewConnection {
    NewConnection {
        tenant_id,
        external_user_id: user.map(str::to_owned),
        platform,
        app_type: (platform == Platform::Linkedin).then_some(AppType::Personal),
        post_target_type: PostTargetType::Personal,
        selected_page_id: None,
        account_id: "account-1".to_owned(),
        account_name: Some("Account One".to_owned()),
        account_handle: Some("@one".to_owned()),
        scopes: vec!["tweet.write".to_owned()],
        rate_tier: Some("free".to_owned()),
        tokens: tokens(
            "access-token-of-account-one",
            Some("refresh-token-of-account-one"),
        ),
    }
}

pub(crate) async fn connection(store: &Store, tenant_id: TenantId, user: &str) -> Connection {
    let new = new_connection(tenant_id, Platform::Twitter, Some(user));
    store
        .connections()
        .upsert(&new)
        .await
        .expect("a connection")
        .0
}

pub(crate) fn text(text: &str) -> PostContent {
    PostContent {
        text: Some(text.to_owned()),
        ..PostContent::default()
    }
}

pub(crate) fn new_post(tenant_id: TenantId, connections: &[ConnectionId]) -> NewPost {
    NewPost {
        tenant_id,
        idempotency: None,
        content: text("hello"),
        publish_at: None,
        metadata: serde_json::Map::new(),
        deliveries: connections
            .iter()
            .map(|c| NewDelivery {
                connection_id: *c,
                content: None,
                max_attempts: 3,
            })
            .collect(),
    }
}

pub(crate) fn scheduled(mut post: NewPost, at: DateTime<Utc>) -> NewPost {
    post.publish_at = Some(at);
    post
}

pub(crate) fn created(answer: PostInsert) -> StoredPost {
    match answer {
        PostInsert::Created(post) => post,
        other => panic!("expected a created post, got {other:?}"),
    }
}

/// A tenant, one connection and one post due now: its single delivery is `queued`.
pub(crate) async fn queued_delivery(store: &Store) -> Delivery {
    let tenant_id = tenant(store).await;
    let connection = connection(store, tenant_id, "user-1").await;
    let post = store
        .posts()
        .insert_post(&new_post(tenant_id, &[connection.id]))
        .await
        .expect("a post");
    created(post).deliveries.remove(0)
}
