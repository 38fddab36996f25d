//! Administrative commands: migrations, tenants, API keys, encryption keys, configuration.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use herald_config::Config;
use herald_domain::{ApiKeyId, Scope, TenantId};
use herald_store::Store;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::encryption;
use crate::output::{self, Format};

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

/// A tenant with two keys: one for producers (publish, read) and one for its administrators
/// (publish, read, admin: connecting accounts, managing keys and webhooks). The keys are
/// shown only this once; only their hashes are stored.
pub(crate) async fn create_tenant(
    config: &Config,
    name: &str,
    format: Format,
) -> anyhow::Result<()> {
    let store = store(config).await?;
    let (tenant, key) = store
        .tenants()
        .create_with_key(name, &[Scope::Publish, Scope::Read], None)
        .await?;
    let admin = store
        .api_keys()
        .create(
            tenant.id,
            &[Scope::Publish, Scope::Read, Scope::Admin],
            None,
        )
        .await?;
    let document = json!({
        "tenant_id": tenant.id,
        "name": tenant.name,
        "api_key": key.key.expose_secret(),
        "api_key_id": key.id,
        "admin_key": admin.key.expose_secret(),
        "admin_key_id": admin.id,
    });
    output::emit(format, &document, || {
        format!(
            "tenant     {} ({})\n\
             api key    {}  (publish, read; id {})\n\
             admin key  {}  (publish, read, admin; id {})\n\
             These keys are shown only this once: store them now.\n",
            tenant.id,
            tenant.name,
            key.key.expose_secret(),
            key.id,
            admin.key.expose_secret(),
            admin.id,
        )
    });
    Ok(())
}

pub(crate) async fn list_tenants(config: &Config, format: Format) -> anyhow::Result<()> {
    let store = store(config).await?;
    let tenants = store.tenants().list().await?;
    let data: Vec<_> = tenants
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "created_at": t.created_at}))
        .collect();
    output::emit(format, &json!({ "data": data }), || {
        let rows: Vec<Vec<String>> = tenants
            .iter()
            .map(|t| vec![t.id.to_string(), t.name.clone(), t.created_at.to_rfc3339()])
            .collect();
        output::table(&["ID", "NAME", "CREATED"], &rows)
    });
    Ok(())
}

pub(crate) async fn create_key(
    config: &Config,
    tenant: &str,
    scopes: &str,
    name: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let tenant: TenantId = tenant.parse().context("--tenant")?;
    let scopes = Scope::parse_list(scopes).context("--scopes")?;
    let name = name
        .map(herald_store::api_keys::key_name)
        .transpose()
        .map_err(|e| match e {
            herald_store::StoreError::InvalidInput(rule) => anyhow::anyhow!("--{rule}"),
            other => other.into(),
        })?;
    let store = store(config).await?;
    let key = store
        .api_keys()
        .create(tenant, &scopes, name.as_deref())
        .await?;
    let document = json!({
        "tenant_id": tenant,
        "key_id": key.id,
        "name": name,
        "scopes": key.scopes,
        "api_key": key.key.expose_secret(),
    });
    output::emit(format, &document, || {
        format!(
            "key {}{} of tenant {} ({}):\n{}\nIt is shown only this once: store it now.\n",
            key.id,
            name.as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            tenant,
            scopes_text(&key.scopes),
            key.key.expose_secret(),
        )
    });
    Ok(())
}

/// A tenant's keys, revoked ones included: everything but the secret.
pub(crate) async fn list_keys(config: &Config, tenant: &str, format: Format) -> anyhow::Result<()> {
    let tenant: TenantId = tenant.parse().context("--tenant")?;
    let store = store(config).await?;
    if store.tenants().get(tenant).await?.is_none() {
        anyhow::bail!("no tenant {tenant}");
    }
    let keys = store.api_keys().list(tenant).await?;
    let data: Vec<_> = keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "tenant_id": k.tenant_id,
                "prefix": k.prefix,
                "scopes": k.scopes,
                "name": k.name,
                "created_at": k.created_at,
                "last_used_at": k.last_used_at,
                "revoked_at": k.revoked_at,
            })
        })
        .collect();
    output::emit(format, &json!({ "data": data }), || {
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
        };
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                vec![
                    k.id.to_string(),
                    k.name.clone().unwrap_or_else(|| "-".to_owned()),
                    format!("hrld_{}_…", k.prefix),
                    scopes_text(&k.scopes),
                    k.created_at.to_rfc3339(),
                    time(k.last_used_at),
                    time(k.revoked_at),
                ]
            })
            .collect();
        output::table(
            &[
                "ID",
                "NAME",
                "KEY",
                "SCOPES",
                "CREATED",
                "LAST USED",
                "REVOKED",
            ],
            &rows,
        )
    });
    Ok(())
}

/// Revokes a key. The API stops accepting it within `api.key_cache_ttl_ms`.
pub(crate) async fn revoke_key(config: &Config, key: &str, format: Format) -> anyhow::Result<()> {
    let key: ApiKeyId = key.parse().context("KEY_ID")?;
    let store = store(config).await?;
    let Some(tenant) = store.api_keys().revoke_by_id(key).await? else {
        anyhow::bail!("no live key {key}: unknown, or already revoked");
    };
    output::emit(
        format,
        &json!({"key_id": key, "tenant_id": tenant, "revoked": true}),
        || format!("revoked key {key} of tenant {tenant}\n"),
    );
    Ok(())
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) async fn rotate_encryption(config: &Config) -> anyhow::Result<()> {
    let store = store(config).await?;
    let report = herald_store::reseal_all(store.pool(), store.keyring()).await?;
    eprintln!("{report}");
    Ok(())
}
