//! Connections: one per (user, platform, app), tokens replaced on reconnect, refresh
//! single-flight.

mod common;

use std::time::Duration;

use herald_domain::{AppType, ConnectionStatus, Platform, PostTargetType};
use herald_store::{Connected, NewOAuthState, StoreError};
use herald_testkit::TestDb;
use secrecy::ExposeSecret;

use common::{connection, created, new_connection, new_post, tenant, tokens};

#[tokio::test]
async fn connecting_again_replaces_the_tokens_of_the_same_connection() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let first = new_connection(tenant_id, Platform::Twitter, Some("alice"));
    let (original, is_new) = store.connections().upsert(&first).await.unwrap();
    assert!(is_new);
    store
        .connections()
        .mark_needs_reconnect(original.id, "token revoked")
        .await
        .unwrap();

    let mut again = first.clone();
    again.tokens = tokens("second-access", None);
    let (reconnected, is_new) = store.connections().upsert(&again).await.unwrap();

    assert!(!is_new);
    assert_eq!(reconnected.id, original.id);
    assert_eq!(reconnected.status, ConnectionStatus::Active);
    assert_eq!(reconnected.last_error, None);
    let opened = store
        .connections()
        .get_with_tokens(original.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.access_token.expose_secret(), "second-access");
    assert_eq!(
        opened.refresh_token.unwrap().expose_secret(),
        "refresh-token-of-account-one",
        "the same account keeps its refresh token when the grant brings none"
    );

    // Another end user, or a LinkedIn connection per app, is a connection of its own.
    store
        .connections()
        .upsert(&new_connection(tenant_id, Platform::Twitter, Some("bob")))
        .await
        .unwrap();
    let mut company = new_connection(tenant_id, Platform::Linkedin, Some("alice"));
    company.app_type = Some(AppType::Company);
    company.post_target_type = PostTargetType::Page;
    store.connections().upsert(&company).await.unwrap();
    store
        .connections()
        .upsert(&new_connection(
            tenant_id,
            Platform::Linkedin,
            Some("alice"),
        ))
        .await
        .unwrap();
    assert_eq!(
        store
            .connections()
            .list(tenant_id, None)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        store
            .connections()
            .list(tenant_id, Some("alice"))
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn concurrent_first_connects_create_one_connection() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let new = new_connection(tenant_id, Platform::Threads, None);

    let results = futures::future::join_all((0..6).map(|_| {
        let store = store.clone();
        let new = new.clone();
        tokio::spawn(async move { store.connections().upsert(&new).await })
    }))
    .await;
    let ids: Vec<_> = results
        .into_iter()
        .map(|r| r.unwrap().unwrap().0.id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_stored_one() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;

    store
        .connections()
        .update_tokens(x.id, &tokens("fresh-access", Some("")))
        .await
        .unwrap();
    let opened = store
        .connections()
        .get_with_tokens(x.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.access_token.expose_secret(), "fresh-access");
    assert_eq!(
        opened.refresh_token.unwrap().expose_secret(),
        "refresh-token-of-account-one"
    );

    store
        .connections()
        .update_tokens(x.id, &tokens("a3", Some("rotated")))
        .await
        .unwrap();
    let opened = store
        .connections()
        .get_with_tokens(x.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.refresh_token.unwrap().expose_secret(), "rotated");
}

#[tokio::test]
async fn a_second_refresher_waits_and_then_sees_the_new_tokens() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;

    let first = store
        .connections()
        .lock_for_refresh(x.id)
        .await
        .unwrap()
        .unwrap();
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let lock = store
                .connections()
                .lock_for_refresh(x.id)
                .await
                .unwrap()
                .unwrap();
            let seen = lock.connection().refresh_token.clone().unwrap();
            lock.release().await.unwrap();
            seen.expose_secret().to_owned()
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !second.is_finished(),
        "the second refresher waits for the first"
    );

    let stored = first
        .store_tokens(&tokens("new-access", Some("new-refresh")))
        .await
        .unwrap();
    assert_eq!(stored.access_token.expose_secret(), "new-access");
    assert_eq!(
        second.await.unwrap(),
        "new-refresh",
        "it re-reads under the lock"
    );
}

#[tokio::test]
async fn a_failed_refresh_marks_the_connection_once_and_disabled_stays_disabled() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;

    let lock = store
        .connections()
        .lock_for_refresh(x.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        lock.mark_needs_reconnect("invalid_grant: token revoked")
            .await
            .unwrap()
    );
    assert!(
        !store
            .connections()
            .mark_needs_reconnect(x.id, "again")
            .await
            .unwrap()
    );
    let now = store.connections().get(x.id).await.unwrap().unwrap();
    assert_eq!(now.status, ConnectionStatus::NeedsReconnect);
    assert_eq!(
        now.last_error.as_deref(),
        Some("invalid_grant: token revoked")
    );

    store
        .connections()
        .set_status(x.id, ConnectionStatus::Disabled)
        .await
        .unwrap();
    assert!(
        !store
            .connections()
            .mark_needs_reconnect(x.id, "later")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_connection_with_deliveries_cannot_be_deleted() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let used = connection(&store, tenant_id, "u1").await;
    let unused = connection(&store, tenant_id, "u2").await;
    created(
        store
            .posts()
            .insert_post(&new_post(tenant_id, &[used.id]))
            .await
            .unwrap(),
    );

    let err = store
        .connections()
        .delete(tenant_id, used.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ConnectionInUse(id) if id == used.id),
        "{err:?}"
    );
    assert!(
        store
            .connections()
            .delete(tenant_id, unused.id)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_oauth_state_is_consumed_once_and_opens_its_pkce_verifier() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let new = NewOAuthState {
        tenant_id,
        platform: Platform::Linkedin,
        app_type: Some(AppType::Company),
        post_target_type: PostTargetType::Page,
        external_user_id: Some("alice".to_owned()),
        return_to: None,
        pkce_verifier: Some("verifier-123".into()),
        ttl: Duration::from_secs(600),
    };
    let (id, state) = store.oauth_states().create(&new).await.unwrap();

    assert!(
        store
            .oauth_states()
            .consume("not-the-state")
            .await
            .unwrap()
            .is_none()
    );
    let consumed = store
        .oauth_states()
        .consume(state.expose_secret())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consumed.id, id);
    assert_eq!(consumed.app_type, Some(AppType::Company));
    assert_eq!(
        consumed.pkce_verifier.unwrap().expose_secret(),
        "verifier-123"
    );
    assert!(
        store
            .oauth_states()
            .consume(state.expose_secret())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn connecting_as_another_account_leaves_the_connection_alone_and_the_same_account_renews() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let first = new_connection(tenant_id, Platform::Twitter, Some("alice"));
    let Connected::Created(original) = store.connections().connect(&first).await.unwrap() else {
        panic!("a new connection");
    };

    let mut other = first.clone();
    other.account_id = "account-2".to_owned();
    other.account_handle = Some("@two".to_owned());
    other.tokens = tokens("access-token-of-account-two", Some("refresh-two"));
    let Connected::OtherAccount(existing) = store.connections().connect(&other).await.unwrap()
    else {
        panic!("another account is refused");
    };
    assert_eq!(existing, original, "nothing changed");
    let opened = store
        .connections()
        .get_with_tokens(original.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        opened.access_token.expose_secret(),
        "access-token-of-account-one"
    );
    assert_eq!(
        opened.refresh_token.unwrap().expose_secret(),
        "refresh-token-of-account-one"
    );

    store
        .connections()
        .mark_needs_reconnect(original.id, "token revoked")
        .await
        .unwrap();
    let mut again = first.clone();
    again.tokens = tokens("renewed-access", None);
    let Connected::Renewed(renewed) = store.connections().connect(&again).await.unwrap() else {
        panic!("the same account renews");
    };
    assert_eq!(renewed.id, original.id);
    assert_eq!(renewed.account_handle.as_deref(), Some("@one"));
    assert_eq!(renewed.status, ConnectionStatus::Active);
    let opened = store
        .connections()
        .get_with_tokens(original.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.access_token.expose_secret(), "renewed-access");
    assert_eq!(
        opened.refresh_token.unwrap().expose_secret(),
        "refresh-token-of-account-one",
        "a grant without a refresh token keeps the stored one"
    );
}

#[tokio::test]
async fn a_chosen_page_posts_with_its_token_and_the_owners_token_is_kept_apart() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let mut new = new_connection(tenant_id, Platform::Facebook, None);
    new.tokens = tokens("user-token", None);
    let (connection, _) = store.connections().upsert(&new).await.unwrap();
    let opened = |id| {
        let store = store.clone();
        async move {
            store
                .connections()
                .get_with_tokens(id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert!(opened(connection.id).await.user_access_token.is_none());

    for (page, token) in [("page-1", "page-token-1"), ("page-2", "page-token-2")] {
        assert!(
            store
                .connections()
                .select_page(connection.id, page, Some(&tokens(token, None)))
                .await
                .unwrap()
        );
        let stored = opened(connection.id).await;
        assert_eq!(stored.access_token.expose_secret(), token);
        assert_eq!(stored.owner_token().expose_secret(), "user-token");
        assert_eq!(stored.connection.selected_page_id.as_deref(), Some(page));
    }

    // The owner connects again: the owner's token is renewed, the Page keeps posting.
    new.tokens = tokens("user-token-renewed", None);
    let Connected::Renewed(renewed) = store.connections().connect(&new).await.unwrap() else {
        panic!("the same account renews");
    };
    assert_eq!(renewed.selected_page_id.as_deref(), Some("page-2"));
    let stored = opened(connection.id).await;
    assert_eq!(stored.access_token.expose_secret(), "page-token-2");
    assert_eq!(stored.owner_token().expose_secret(), "user-token-renewed");

    // A reconnect that replaces the account forgets the page and its token.
    new.account_id = "account-2".to_owned();
    new.tokens = tokens("user-token-two", None);
    store.connections().upsert(&new).await.unwrap();
    let stored = opened(connection.id).await;
    assert!(stored.user_access_token.is_none());
    assert_eq!(stored.access_token.expose_secret(), "user-token-two");
}
