//! Tokens at rest: sealed, bound to their place, rotatable, never in plaintext.

mod common;

use std::sync::Arc;

use herald_domain::Platform;
use herald_store::{Keyring, SealError, SealedField, Store, StoreError, reseal_all};
use herald_testkit::{TEST_KEYRING, TestDb, test_keyring};
use proptest::prelude::*;
use secrecy::ExposeSecret;

use common::{new_connection, tenant, tokens};

proptest! {
    #[test]
    fn any_text_opens_to_itself_and_only_in_its_own_place(
        plaintext in any::<String>(),
        row in any::<u128>(),
    ) {
        let ring = test_keyring();
        let place = SealedField::new("connections", uuid::Uuid::from_u128(row), "access_token");
        let sealed = ring.seal(&plaintext, place).unwrap();
        let opened = ring.open(&sealed, place).unwrap();
        prop_assert_eq!(opened.expose_secret(), plaintext.as_str());
        let elsewhere =
            SealedField::new("connections", uuid::Uuid::from_u128(row ^ 1), "access_token");
        let is_forged = matches!(ring.open(&sealed, elsewhere), Err(SealError::Forged { .. }));
        prop_assert!(is_forged);
    }
}

#[test]
fn sealing_the_same_token_twice_gives_unrelated_ciphertexts() {
    let ring = test_keyring();
    let place = SealedField::new("connections", uuid::Uuid::nil(), "access_token");
    assert_ne!(
        ring.seal("same", place).unwrap(),
        ring.seal("same", place).unwrap()
    );
}

#[tokio::test]
async fn a_token_copied_to_another_row_does_not_open() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let (alice, _) = store
        .connections()
        .upsert(&new_connection(tenant_id, Platform::Twitter, Some("alice")))
        .await
        .unwrap();
    let (mallory, _) = store
        .connections()
        .upsert(&new_connection(
            tenant_id,
            Platform::Twitter,
            Some("mallory"),
        ))
        .await
        .unwrap();

    sqlx::query(
        "UPDATE connections SET access_token = (SELECT access_token FROM connections WHERE id = $1)
         WHERE id = $2",
    )
    .bind(alice.id.into_uuid())
    .bind(mallory.id.into_uuid())
    .execute(db.pool())
    .await
    .unwrap();

    let err = store
        .connections()
        .get_with_tokens(mallory.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Sealing(SealError::Forged { .. })),
        "{err:?}"
    );
    assert!(store.connections().get_with_tokens(alice.id).await.is_ok());
}

#[tokio::test]
async fn a_refresh_token_moved_into_the_access_token_column_does_not_open() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let (connection, _) = store
        .connections()
        .upsert(&new_connection(tenant_id, Platform::Twitter, None))
        .await
        .unwrap();

    sqlx::query("UPDATE connections SET access_token = refresh_token WHERE id = $1")
        .bind(connection.id.into_uuid())
        .execute(db.pool())
        .await
        .unwrap();

    let err = store
        .connections()
        .get_with_tokens(connection.id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not open"), "{err}");
    assert!(!err.to_string().contains("token-of-account-one"), "{err}");
}

#[tokio::test]
async fn an_owner_token_moved_into_the_access_token_column_does_not_open() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let (connection, _) = store
        .connections()
        .upsert(&new_connection(tenant_id, Platform::Facebook, None))
        .await
        .unwrap();
    store
        .connections()
        .select_page(connection.id, "page-1", Some(&tokens("page-token", None)))
        .await
        .unwrap();

    sqlx::query("UPDATE connections SET access_token = user_access_token WHERE id = $1")
        .bind(connection.id.into_uuid())
        .execute(db.pool())
        .await
        .unwrap();

    let err = store
        .connections()
        .get_with_tokens(connection.id)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not open"), "{err}");
}

#[tokio::test]
async fn rotation_reseals_under_the_new_key_and_a_rerun_changes_nothing() {
    let db = TestDb::new().await;
    let old_store = db.store();
    let tenant_id = tenant(&old_store).await;
    let mut ids = Vec::new();
    for user in ["a", "b", "c"] {
        let mut new = new_connection(tenant_id, Platform::Twitter, Some(user));
        new.tokens = tokens(
            &format!("access-{user}"),
            (user != "c").then_some("refresh"),
        );
        ids.push(old_store.connections().upsert(&new).await.unwrap().0.id);
    }
    // "a" posts to a Page with the Page's token: its owner's token moves to its own column.
    old_store
        .connections()
        .select_page(ids[0], "page-1", Some(&tokens("page-token-a", None)))
        .await
        .unwrap();

    let new_entry = Keyring::generate_entry();
    let rotated = Keyring::parse(&format!("{new_entry},{TEST_KEYRING}")).unwrap();
    let new_key_id = rotated.newest_key_id().to_owned();
    let store = Store::new(db.pool().clone(), Arc::new(rotated));

    // Before the re-seal, old rows open with the old key still in the ring.
    let before = store
        .connections()
        .get_with_tokens(ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.access_token.expose_secret(), "page-token-a");
    assert_eq!(before.owner_token().expose_secret(), "access-a");

    let report = reseal_all(store.pool(), store.keyring()).await.unwrap();
    assert_eq!(
        report.resealed, 6,
        "three access tokens, two refresh tokens and one owner's token"
    );
    assert_eq!((report.changed_meanwhile, report.unreadable), (0, 0));

    let raw: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT access_token, refresh_token, user_access_token FROM connections")
            .fetch_all(db.pool())
            .await
            .unwrap();
    for (access, refresh, user) in raw {
        assert!(access.starts_with(&format!("{new_key_id}:")), "{access}");
        assert!(refresh.is_none_or(|r| r.starts_with(&format!("{new_key_id}:"))));
        assert!(user.is_none_or(|u| u.starts_with(&format!("{new_key_id}:"))));
    }

    // Only the new key is needed now.
    let new_only = Store::new(
        db.pool().clone(),
        Arc::new(Keyring::parse(&new_entry).unwrap()),
    );
    for (id, user) in ids.iter().zip(["a", "b", "c"]) {
        let opened = new_only
            .connections()
            .get_with_tokens(*id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            opened.owner_token().expose_secret(),
            format!("access-{user}")
        );
    }

    let again = reseal_all(store.pool(), store.keyring()).await.unwrap();
    assert_eq!(again, Default::default());
}

#[tokio::test]
async fn no_token_or_key_secret_is_stored_in_plaintext() {
    let db = TestDb::new().await;
    let store = db.store();
    let (tenant, key) = store
        .tenants()
        .create_with_key("plaintext-scan", &[herald_domain::Scope::Publish], None)
        .await
        .unwrap();
    let mut new = new_connection(tenant.id, Platform::Twitter, None);
    new.tokens = tokens("ACCESS-needle-4f1c", Some("REFRESH-needle-9b2e"));
    store.connections().upsert(&new).await.unwrap();
    let (_, state) = store
        .oauth_states()
        .create(&herald_store::NewOAuthState {
            tenant_id: tenant.id,
            platform: Platform::Twitter,
            app_type: None,
            post_target_type: herald_domain::PostTargetType::Personal,
            external_user_id: None,
            return_to: None,
            pkce_verifier: Some("PKCE-needle-77aa".into()),
            ttl: std::time::Duration::from_secs(600),
        })
        .await
        .unwrap();

    // `hrld_` + 12-character prefix + `_`, then the secret.
    let secret = key.key.expose_secret()[18..].to_owned();
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT t::text FROM connections t
         UNION ALL SELECT t::text FROM api_keys t
         UNION ALL SELECT t::text FROM oauth_states t",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let dump = dump.join("\n");
    for needle in [
        "needle",
        key.key.expose_secret(),
        secret.as_str(),
        state.expose_secret(),
    ] {
        assert!(
            !dump.contains(needle),
            "found a secret in the tables: {needle}"
        );
    }
}
