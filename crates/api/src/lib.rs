//! Herald's HTTP API, run by `herald serve`: the thin surface producers, schedulers and
//! dashboards use (docs/ARCHITECTURE.md).
//!
//! - Producers: `POST /v1/posts` ([`posts`]), delivery status and operator actions
//!   ([`deliveries`]), media uploads served back under signed URLs ([`media`]).
//! - Connections: OAuth connect and the callback path `/api/social/{platform}/callback` ([`oauth`]), listing, page
//!   selection, Telegram bots ([`connections`]).
//! - Watching: server-sent events ([`events`]), webhook registrations and their delivery
//!   logs ([`webhooks`]; `herald work` sends them), Prometheus metrics ([`metrics`]), the
//!   OpenAPI description and its docs UI ([`openapi`]).
//! - Probes: `/healthz` answers while the process runs; `/readyz` answers 200 only while
//!   Postgres and Redis both answer, so a load balancer stops sending requests to an
//!   instance that could not accept them.
//!
//! Every `/v1` route is authenticated and rate-limited per key ([`auth`]); failed
//! authentications are throttled per client address and in total, fleet-wide
//! ([`throttle`]), and valid keys are remembered for a moment ([`key_cache`]). Every error
//! is one [`ApiError`] answered as problem+json ([`error`]). Handlers write to Postgres
//! first and push to Redis after the commit ([`dispatch`]); Redis being down never fails a
//! request that Postgres accepted.

pub mod auth;
pub mod connections;
pub mod dashboard;
pub mod deliveries;
pub mod dispatch;
pub mod error;
pub mod events;
mod key_cache;
pub mod media;
pub mod metrics;
pub mod oauth;
pub mod openapi;
mod operator;
pub mod posts;
mod throttle;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use herald_config::{Config, MediaStoreKind};
use herald_platforms::Platforms;
use herald_queue::{JobQueue, RateLimiter, RedisKeys};
use herald_store::{MediaStore, Store};
use redis::aio::ConnectionManager;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub use error::{ApiError, FieldError, Problem};

/// What request handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) redis: ConnectionManager,
    pub(crate) queue: JobQueue,
    pub(crate) platforms: Platforms,
    pub(crate) config: Config,
    pub(crate) media: MediaStore,
    pub(crate) limiter: auth::KeyLimiter,
    pub(crate) key_cache: key_cache::KeyCache,
    pub(crate) throttle: throttle::FailureThrottle,
    pub(crate) streams: Arc<events::StreamSlots>,
    pub(crate) metrics: metrics::Metrics,
    /// Checks URLs tenants register (webhooks) against the outbound policy.
    pub(crate) outbound: herald_outbound::Guard,
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("media.store = \"s3\" is not available in this build yet: use media.store = \"local\"")]
    S3NotBuilt,
}

impl AppState {
    /// The API's state: the store (with its keyring), Redis (the job queue shares the
    /// connection), the platform clients and the configuration.
    pub fn new(
        config: Config,
        store: Store,
        redis: ConnectionManager,
        platforms: Platforms,
    ) -> Result<AppState, StartError> {
        if config.media.store == MediaStoreKind::S3 {
            return Err(StartError::S3NotBuilt);
        }
        let keys = RedisKeys::new(config.redis_prefix.clone());
        let queue = JobQueue::with_connection(redis.clone(), keys.clone());
        let throttle =
            throttle::FailureThrottle::new(RateLimiter::new(redis.clone(), keys), &config.api);
        Ok(AppState {
            inner: Arc::new(Inner {
                media: MediaStore::local(config.media.dir.clone()),
                limiter: auth::KeyLimiter::new(
                    config.api.rate_limit_per_second,
                    config.api.rate_limit_burst,
                ),
                key_cache: key_cache::KeyCache::new(
                    config.api.key_cache_ttl,
                    config.api.key_cache_capacity,
                ),
                throttle,
                streams: events::StreamSlots::new(config.api.max_event_streams_per_key),
                metrics: metrics::Metrics::default(),
                outbound: herald_outbound::Guard::new(config.outbound_policy()),
                store,
                redis,
                queue,
                platforms,
                config,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    let json_limit = state.inner.config.api.json_limit_bytes;
    let upload_limit = state.inner.config.api.body_limit_bytes;
    let v1 = Router::new()
        .merge(posts::routes())
        .merge(deliveries::routes())
        .merge(connections::routes())
        .merge(oauth::api_routes())
        .merge(events::routes())
        .merge(webhooks::routes())
        .layer(DefaultBodyLimit::max(json_limit))
        .merge(media::upload_routes().layer(DefaultBodyLimit::max(upload_limit)))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .nest("/v1", v1)
        .nest("/dashboard", dashboard::routes())
        .merge(oauth::browser_routes())
        .merge(media::public_routes())
        .merge(openapi::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".to_owned()).into_response()
        }))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// flight. Each request knows its connection's peer address (the failure throttles count
/// per client address).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening");
    }
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn healthz() -> &'static str {
    "ok"
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

async fn readyz(State(state): State<AppState>) -> Response {
    let postgres = tokio::time::timeout(PROBE_TIMEOUT, state.inner.store.ping())
        .await
        .map_or(Err("timed out".to_owned()), |r| {
            // With its cause: "database error" alone does not say what to fix.
            r.map_err(|e| match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            })
        });
    let mut redis = state.inner.redis.clone();
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
