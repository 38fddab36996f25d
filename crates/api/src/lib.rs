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
//! ([`throttle`]), and valid keys and the connections posts name are remembered for a moment
//! ([`key_cache`], `connection_cache`). Every error
//! is one [`ApiError`] answered as problem+json ([`error`]). Handlers write to Postgres
//! first and push to Redis after the commit ([`dispatch`]); Redis being down never fails a
//! request that Postgres accepted.

pub mod auth;
mod connection_cache;
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
mod paging;
pub mod posts;
mod security;
mod throttle;
pub mod webhook_events;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use herald_config::Config;
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
    /// Connections `POST /v1/posts` named, remembered as briefly as keys.
    pub(crate) connection_cache: connection_cache::ConnectionCache,
    /// Pushes jobs to Redis after their commit.
    pub(crate) dispatcher: dispatch::Dispatcher,
    /// The group-commit writer of `POST /v1/posts`, started on the first post (on the
    /// runtime that serves it).
    pub(crate) post_writer: std::sync::OnceLock<posts::writer::PostWriter>,
    pub(crate) throttle: throttle::FailureThrottle,
    pub(crate) streams: Arc<events::StreamSlots>,
    pub(crate) metrics: metrics::Metrics,
    /// Checks URLs tenants register (webhooks) against the outbound policy.
    pub(crate) outbound: herald_outbound::Guard,
    /// Fetches `POST /v1/media {"url": ...}` under the outbound guard.
    pub(crate) media_fetch: MediaFetch,
}

/// The guarded client media URLs are fetched with (https only, redirects checked).
#[derive(Debug)]
pub(crate) struct MediaFetch {
    pub(crate) guard: herald_outbound::Guard,
    pub(crate) client: reqwest::Client,
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot reach the media store (media.store): {0}")]
    MediaStore(#[from] herald_store::MediaStoreError),
    #[error("cannot build the media HTTP client: {0}")]
    MediaClient(#[from] reqwest::Error),
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
        let media = MediaStore::from_config(&config.media)?;
        let media_guard = herald_outbound::Guard::new(config.outbound_policy()).https_only();
        let timeout = config.worker.media.timeout;
        let media_client = media_guard.client(
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10))),
            herald_outbound::Redirects::Follow,
        )?;
        let keys = RedisKeys::new(config.redis_prefix.clone());
        let queue = JobQueue::with_connection(redis.clone(), keys.clone());
        let throttle =
            throttle::FailureThrottle::new(RateLimiter::new(redis.clone(), keys), &config.api);
        let metrics = metrics::Metrics::default();
        Ok(AppState {
            inner: Arc::new(Inner {
                media,
                media_fetch: MediaFetch {
                    guard: media_guard,
                    client: media_client,
                },
                limiter: auth::KeyLimiter::new(
                    config.api.rate_limit_per_second,
                    config.api.rate_limit_burst,
                ),
                key_cache: key_cache::KeyCache::new(
                    config.api.key_cache_ttl,
                    config.api.key_cache_capacity,
                ),
                connection_cache: connection_cache::ConnectionCache::new(
                    config.api.key_cache_ttl,
                    config.api.key_cache_capacity,
                ),
                dispatcher: dispatch::Dispatcher {
                    queue: queue.clone(),
                    metrics: metrics.clone(),
                },
                post_writer: std::sync::OnceLock::new(),
                throttle,
                streams: events::StreamSlots::new(config.api.max_event_streams_per_key),
                metrics,
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

    /// This instance's group-commit writer of posts, started on first use.
    pub(crate) fn post_writer(&self) -> &posts::writer::PostWriter {
        self.inner.post_writer.get_or_init(|| {
            posts::writer::PostWriter::start(
                self.inner.store.clone(),
                self.inner.dispatcher.clone(),
            )
        })
    }
}

/// Every route of the API's port. `/metrics` is among them unless it has an address of its
/// own, or this is production and it has no token ([`herald_config::ApiConfig::metrics_on_api_port`]).
pub fn router(state: AppState) -> Router {
    let json_limit = state.inner.config.api.json_limit_bytes;
    let upload_limit = media::upload_body_limit(&state.inner.config);
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
    let config = &state.inner.config;
    let mut routes = Router::new()
        .nest("/v1", v1)
        .nest("/dashboard", dashboard::routes(state.clone()))
        .merge(oauth::browser_routes())
        .merge(media::public_routes())
        .merge(openapi::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if config.api.metrics_on_api_port(config.env) {
        routes = routes.route("/metrics", get(metrics::render));
    }
    routes
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn(error::problem_only))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
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
/// flight. With `api.metrics_addr` set, `/metrics` is served there too, until the same end.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "API listening");
    }
    let config = &state.inner.config;
    let metrics_listener = match config.api.metrics_addr {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => {
            if !config.api.metrics_on_api_port(config.env) {
                tracing::warn!(
                    "GET /metrics is not served: in production it needs api.metrics_token \
                     (HERALD_API__METRICS_TOKEN) or an address of its own, api.metrics_addr \
                     (HERALD_API__METRICS_ADDR)"
                );
            }
            None
        }
    };
    let (stopped, _) = tokio::sync::watch::channel(false);
    let metrics_task = metrics_listener.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "API metrics listening");
        }
        let mut stop = stopped.subscribe();
        let app = metrics::router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                })
                .await
        })
    });
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stopped.send(true);
    if let Some(task) = metrics_task {
        match task.await {
            Ok(Err(error)) => tracing::warn!(%error, "the metrics listener failed"),
            Err(error) => tracing::warn!(%error, "the metrics listener stopped abnormally"),
            Ok(Ok(())) => {}
        }
    }
    served
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
