//! Herald's HTTP API, run by `herald serve`: the thin surface producers, schedulers and
//! dashboards use (DESIGN.md section 7).
//!
//! It starts with the probes every deployment needs: `/healthz` answers while the process
//! runs; `/readyz` answers 200 only while Postgres and Redis both answer, so a load balancer
//! stops sending requests to an instance that could not accept them.

use std::future::Future;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use redis::aio::ConnectionManager;
use serde_json::json;
use sqlx::PgPool;
use tokio::net::TcpListener;

/// What request handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub redis: ConnectionManager,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening");
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz() -> &'static str {
    "ok"
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn readyz(State(state): State<AppState>) -> Response {
    let postgres =
        tokio::time::timeout(PROBE_TIMEOUT, sqlx::query("SELECT 1").execute(&state.pool))
            .await
            .map_or(Err("timed out".to_owned()), |r| {
                r.map(|_| ()).map_err(|e| e.to_string())
            });
    let mut redis = state.redis.clone();
    let redis = tokio::time::timeout(
        PROBE_TIMEOUT,
        redis::cmd("PING").query_async::<String>(&mut redis),
    )
    .await
    .map_or(Err("timed out".to_owned()), |r| {
        r.map(|_| ()).map_err(|e| e.to_string())
    });
    let status = if postgres.is_ok() && redis.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!({ "error": e }),
    };
    (
        status,
        Json(json!({ "postgres": show(&postgres), "redis": show(&redis) })),
    )
        .into_response()
}
