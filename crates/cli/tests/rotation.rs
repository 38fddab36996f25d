//! `herald keys rotate-encryption` as an operator runs it after putting a new key in front.

use std::process::Command;
use std::sync::Arc;

use herald_domain::{Platform, PostTargetType};
use herald_store::{Keyring, NewConnection, Store, Tokens};
use herald_testkit::TestDb;
use secrecy::{ExposeSecret, SecretString};

fn herald(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.envs(env.iter().copied());
    command.output().expect("herald runs")
}

#[tokio::test]
async fn rotation_reseals_every_token_and_secret_under_the_new_key_and_a_rerun_changes_nothing() {
    let db = TestDb::new().await;
    let old_key = Keyring::generate_entry();
    let old = Store::new(
        db.pool().clone(),
        Arc::new(Keyring::parse(&old_key).unwrap()),
    );
    let tenant = old.tenants().create("rotating").await.unwrap();
    let mut ids = Vec::new();
    for (i, platform) in [Platform::Twitter, Platform::Facebook, Platform::Telegram]
        .into_iter()
        .enumerate()
    {
        let (connection, _) = old
            .connections()
            .upsert(&NewConnection {
                tenant_id: tenant.id,
                external_user_id: Some(format!("user-{i}")),
                platform,
                app_type: None,
                post_target_type: PostTargetType::Personal,
                selected_page_id: None,
                account_id: format!("acct-{i}"),
                account_name: None,
                account_handle: None,
                scopes: vec![],
                rate_tier: None,
                tokens: Tokens {
                    access_token: SecretString::from(format!("access-token-{i}")),
                    refresh_token: Some(SecretString::from(format!("refresh-token-{i}"))),
                    expires_at: None,
                },
            })
            .await
            .unwrap();
        ids.push(connection.id);
    }

    let (webhook, webhook_secret) = old
        .webhooks()
        .create(
            tenant.id,
            "https://example.com/hook",
            &["delivery.published".to_owned()],
        )
        .await
        .unwrap();

    let new_key = Keyring::generate_entry();
    let both = format!("{new_key},{old_key}");
    let env = [
        ("DATABASE_URL", db.url()),
        ("HERALD_ENCRYPTION_KEYS", both.as_str()),
    ];
    let first = herald(&["keys", "rotate-encryption"], &env);
    let said = String::from_utf8_lossy(&first.stderr).into_owned();
    assert!(first.status.success(), "{said}");
    assert!(said.contains("re-sealed 7"), "{said}");

    // Every sealed value now names the new key, and opens with the new key alone.
    let new_id = new_key.split(':').next().unwrap();
    let sealed: Vec<String> = sqlx::query_scalar(
        "SELECT access_token FROM connections UNION ALL SELECT refresh_token FROM connections",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(sealed.len(), 6);
    assert!(
        sealed.iter().all(|s| s.starts_with(&format!("{new_id}:"))),
        "{sealed:?}"
    );
    let new_only = Store::new(
        db.pool().clone(),
        Arc::new(Keyring::parse(&new_key).unwrap()),
    );
    for (i, id) in ids.iter().enumerate() {
        let connection = new_only
            .connections()
            .get_with_tokens(*id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            connection.access_token.expose_secret(),
            format!("access-token-{i}")
        );
        assert_eq!(
            connection.refresh_token.unwrap().expose_secret(),
            format!("refresh-token-{i}")
        );
    }

    let sealed_secret: String = sqlx::query_scalar("SELECT secret FROM webhooks")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let opened = new_only
        .keyring()
        .open(
            &sealed_secret,
            herald_store::SealedField::new("webhooks", webhook.id, "secret"),
        )
        .unwrap();
    assert_eq!(opened.expose_secret(), webhook_secret.expose_secret());

    let second = herald(&["keys", "rotate-encryption"], &env);
    let said = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(second.status.success(), "{said}");
    assert!(
        said.contains("re-sealed 0"),
        "a re-run has nothing to do: {said}"
    );
}
