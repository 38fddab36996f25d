//! Administrative commands: migrations, tenants, API keys, encryption keys, configuration.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use herald_config::Config;
use herald_domain::{Scope, TenantId};
use herald_store::Store;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::encryption;

pub(crate) fn config_check(config: &Config) -> ExitCode {
    print!("{}", config.to_redacted_toml());
    let mut ok = true;
    if let Some(keys) = &config.encryption_keys
        && let Err(err) = herald_store::Keyring::parse(keys.expose_secret())
    {
        eprintln!(
            "herald: invalid configuration:\n  - encryption_keys (HERALD_ENCRYPTION_KEYS): {err}"
        );
        ok = false;
    }
    if ok {
        eprintln!("configuration is valid");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

pub(crate) async fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = config.database_url.expose_secret();
    let created = herald_store::create_database_if_missing(url)
        .await
        .context("cannot reach Postgres to create the database (is DATABASE_URL right?)")?;
    let pool = herald_store::connect(url)
        .await
        .context("cannot connect to the database")?;
    let applied = herald_store::migrate(&pool)
        .await
        .context("migrations failed")?;
    if created {
        eprintln!("created database");
    }
    eprintln!("migrations: {applied} applied now, database is up to date");
    Ok(())
}

async fn store(config: &Config) -> anyhow::Result<Store> {
    let keyring = encryption::keyring(config)?;
    let pool = herald_store::connect(config.database_url.expose_secret())
        .await
        .context("cannot connect to the database (run `herald migrate` first?)")?;
    Ok(Store::new(pool, Arc::new(keyring)))
}

pub(crate) async fn create_tenant(config: &Config, name: &str) -> anyhow::Result<()> {
    let store = store(config).await?;
    let (tenant, key) = store
        .tenants()
        .create_with_key(name, &[Scope::Publish, Scope::Read], None)
        .await?;
    println!(
        "{}",
        json!({"tenant_id": tenant.id, "api_key": key.key.expose_secret()})
    );
    Ok(())
}

pub(crate) async fn create_key(config: &Config, tenant: &str, scopes: &str) -> anyhow::Result<()> {
    let tenant: TenantId = tenant.parse()?;
    let scopes = Scope::parse_list(scopes).context("--scopes")?;
    let store = store(config).await?;
    let key = store.api_keys().create(tenant, &scopes, None).await?;
    println!(
        "{}",
        json!({"tenant_id": tenant, "api_key": key.key.expose_secret()})
    );
    Ok(())
}

pub(crate) async fn rotate_encryption(config: &Config) -> anyhow::Result<()> {
    let store = store(config).await?;
    let report = herald_store::reseal_all(store.pool(), store.keyring()).await?;
    eprintln!("{report}");
    Ok(())
}
