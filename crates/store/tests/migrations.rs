//! Migrations and database creation are safe to run again, and the schema refuses data the
//! domain cannot express.

mod common;

use herald_testkit::TestDb;

use common::queued_delivery;

/// Every column, constraint and index of the public schema, as text.
async fn schema(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
         FROM information_schema.columns WHERE table_schema = 'public'
         UNION ALL
         SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace
         UNION ALL
         SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("the schema is readable")
}

#[tokio::test]
async fn migrations_applied_twice_change_nothing() {
    let db = TestDb::new().await;
    let before = schema(db.pool()).await;
    assert!(
        before
            .iter()
            .any(|line| line.contains("deliveries_due_idx"))
    );

    let applied = herald_store::migrate(db.pool()).await.unwrap();

    assert_eq!(applied, 0);
    assert_eq!(schema(db.pool()).await, before);
}

#[tokio::test]
async fn creating_a_database_that_exists_is_a_no_op_even_when_racing() {
    let db = TestDb::new().await;
    assert!(
        !herald_store::create_database_if_missing(db.url())
            .await
            .unwrap()
    );

    let fresh = format!("{}_created", db.name());
    let url = format!("{}_created", db.url());
    let racers =
        futures::future::join_all((0..4).map(|_| herald_store::create_database_if_missing(&url)))
            .await;
    let created = racers
        .into_iter()
        .map(Result::unwrap)
        .filter(|created| *created)
        .count();
    assert_eq!(created, 1);

    let pool = herald_store::connect(&url).await.unwrap();
    let applied = herald_store::migrate(&pool).await.unwrap();
    assert_eq!(applied, herald_store::MIGRATOR.iter().count());
    pool.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {fresh} WITH (FORCE)"
    )))
    .execute(db.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_database_url_with_a_password_is_not_echoed_in_errors() {
    let err = herald_store::create_database_if_missing("postgres://u:hunter2@[bad")
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn the_schema_refuses_values_the_domain_cannot_express() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let violation = |sql: &'static str| {
        let pool = db.pool().clone();
        async move {
            let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
            err.as_database_error()
                .and_then(|e| e.constraint().map(str::to_owned))
                .unwrap_or_else(|| panic!("{sql}: {err}"))
        }
    };

    assert_eq!(
        violation("UPDATE deliveries SET state = 'sent'").await,
        "deliveries_state_check"
    );
    assert_eq!(
        violation("UPDATE deliveries SET state = 'running'").await,
        "deliveries_running_iff_leased"
    );
    assert_eq!(
        violation("UPDATE deliveries SET state = 'published'").await,
        "deliveries_finished_iff_final"
    );
    assert_eq!(
        violation("UPDATE connections SET access_token = 'a-plaintext-token'").await,
        "connections_access_token_check"
    );
    assert_eq!(
        violation("UPDATE connections SET platform = 'linkedin'").await,
        "connections_app_type_iff_linkedin"
    );
    store
        .api_keys()
        .create(delivery.tenant_id, &[herald_domain::Scope::Read], None)
        .await
        .unwrap();
    assert_eq!(
        violation("UPDATE api_keys SET scopes = '{write}'").await,
        "api_keys_scopes_check"
    );
    assert!(store.deliveries().get(delivery.id).await.unwrap().is_some());
}
