//! Tenants and API keys: who a request is.

use herald_domain::{Scope, TenantId};
use herald_store::StoreError;
use herald_testkit::TestDb;
use secrecy::ExposeSecret;

#[tokio::test]
async fn a_new_tenants_key_authenticates_as_that_tenant_with_its_scopes() {
    let db = TestDb::new().await;
    let store = db.store();
    let (tenant, key) = store
        .tenants()
        .create_with_key(
            "acme",
            &[Scope::Publish, Scope::Read, Scope::Publish],
            Some("ci"),
        )
        .await
        .unwrap();

    assert!(
        key.key
            .expose_secret()
            .starts_with(&format!("hrld_{}_", key.prefix))
    );
    let who = store
        .api_keys()
        .authenticate(key.key.expose_secret())
        .await
        .unwrap()
        .expect("the key authenticates");
    assert_eq!(who.tenant_id, tenant.id);
    assert_eq!(who.key_id, key.id);
    assert_eq!(who.scopes, vec![Scope::Publish, Scope::Read]);

    let listed = store.api_keys().list(tenant.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].last_used_at.is_some(),
        "authentication records the use"
    );
    assert_eq!(listed[0].name.as_deref(), Some("ci"));
}

#[tokio::test]
async fn a_key_with_a_wrong_secret_or_shape_is_refused() {
    let db = TestDb::new().await;
    let store = db.store();
    let (_, key) = store
        .tenants()
        .create_with_key("acme", &[Scope::Admin], None)
        .await
        .unwrap();
    let real = key.key.expose_secret();

    // Same prefix, different last character of the secret.
    let last = real.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &real[..real.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    for attempt in [forged.as_str(), "hrld_nothing", "", &real[..real.len() - 1]] {
        assert_eq!(
            store.api_keys().authenticate(attempt).await.unwrap(),
            None,
            "{attempt}"
        );
    }
}

#[tokio::test]
async fn a_revoked_key_no_longer_authenticates_and_revoking_twice_says_so() {
    let db = TestDb::new().await;
    let store = db.store();
    let (tenant, key) = store
        .tenants()
        .create_with_key("acme", &[Scope::Publish], None)
        .await
        .unwrap();
    let other = store.tenants().create("other").await.unwrap();

    assert!(
        !store.api_keys().revoke(other.id, key.id).await.unwrap(),
        "not theirs to revoke"
    );
    assert!(store.api_keys().revoke(tenant.id, key.id).await.unwrap());
    assert!(!store.api_keys().revoke(tenant.id, key.id).await.unwrap());
    assert_eq!(
        store
            .api_keys()
            .authenticate(key.key.expose_secret())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn tenant_names_are_unique_and_a_failed_create_leaves_no_key() {
    let db = TestDb::new().await;
    let store = db.store();
    store.tenants().create("acme").await.unwrap();

    let err = store
        .tenants()
        .create_with_key("acme", &[Scope::Publish], None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::DuplicateTenant { name } if name == "acme"),
        "{err:?}"
    );
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn a_key_for_an_unknown_tenant_or_without_scopes_is_refused() {
    let db = TestDb::new().await;
    let store = db.store();
    let nobody = TenantId::new();
    let err = store
        .api_keys()
        .create(nobody, &[Scope::Read], None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownTenant(id) if id == nobody),
        "{err:?}"
    );

    let tenant = store.tenants().create("acme").await.unwrap();
    let err = store
        .api_keys()
        .create(tenant.id, &[], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one scope"), "{err}");
}
