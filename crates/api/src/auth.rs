//! Who is calling, what they may do, and how often.
//!
//! Every `/v1` route runs behind [`authenticate`]: it reads `Authorization: Bearer <key>`,
//! checks the key against the store (only its hash is stored), applies the key's rate limit
//! and hands the handler a [`Caller`]. The caller's tenant scopes every query a handler
//! makes, so another tenant's ids are simply not found (404), never shown.
//!
//! Scopes: `read` for everything that only looks, `publish` for posting, cancelling,
//! retrying and uploading media, `admin` for connections and webhooks. `admin` includes the
//! other two.
//!
//! The rate limit is one GCRA bucket per key (governor, in process: docs/rate-limits.md): an
//! average of `api.rate_limit_per_second` with bursts of `api.rate_limit_burst`. Every
//! answer carries `RateLimit-Limit` and `RateLimit-Remaining`; a refused request is a 429
//! with `Retry-After` and `RateLimit-Reset`.
//!
//! A key found valid is remembered for a moment ([`crate::key_cache`]), so a busy producer
//! does not cost a lookup per request. A request whose key fails (none, malformed, unknown,
//! revoked) is counted by the fleet-wide failure throttles ([`crate::throttle`]) after it
//! failed, never before, so no flood of bad keys can refuse a good one; over their limits the
//! failure is answered 429 with `Retry-After` instead of 401.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderValue, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use herald_domain::{ApiKeyId, Scope, TenantId};

use crate::AppState;
use crate::error::ApiError;
use crate::throttle::Surface;

/// The authenticated caller of a `/v1` request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Fails with 403 unless the key has `scope` (or `admin`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                scope: scope.as_str(),
            })
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

type KeyedLimiter = RateLimiter<
    ApiKeyId,
    DefaultKeyedStateStore<ApiKeyId>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One rate-limit bucket per API key.
pub(crate) struct KeyLimiter {
    limiter: KeyedLimiter,
    burst: u32,
}

impl std::fmt::Debug for KeyLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLimiter")
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

/// The outcome of a permitted request: what to tell the caller.
struct Budget {
    limit: u32,
    remaining: u32,
}

impl KeyLimiter {
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(per_second).allow_burst(burst_nz);
        Self {
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
            burst: burst_nz.get(),
        }
    }

    fn check(&self, key: ApiKeyId) -> Result<Budget, ApiError> {
        match self.limiter.check_key(&key) {
            Ok(snapshot) => Ok(Budget {
                limit: self.burst,
                remaining: snapshot.remaining_burst_capacity(),
            }),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::RateLimited {
                    retry_after_secs: secs.max(1),
                    limit: self.burst,
                })
            }
        }
    }
}

/// Middleware: authenticate, rate-limit, run the handler, add the RateLimit headers.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = bearer_key(&request);
    let caller = match caller_of(&state, presented).await {
        Ok(caller) => caller,
        Err(ApiError::Unauthorized) => {
            let client = state
                .inner
                .throttle
                .client(peer_of(&request), request.headers());
            return refuse(&state, client, Surface::Api).await.into_response();
        }
        Err(error) => return error.into_response(),
    };
    let budget = match state.inner.limiter.check(caller.key_id) {
        Ok(budget) => budget,
        Err(error) => {
            state.inner.metrics.rate_limited();
            return error.into_response();
        }
    };
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(budget.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(budget.remaining));
    response
}

fn bearer_key(request: &Request) -> Option<String> {
    bearer(request.headers())
}

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| key.trim().to_owned())
        })
}

/// The connection's peer address, as an extractor that never fails (`None` when the server
/// was not started with connect info; `serve` always is).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer_in(&parts.extensions)))
    }
}

/// The connection's peer address, when the server was started with it (`serve` does).
pub(crate) fn peer_of<B>(request: &axum::http::Request<B>) -> Option<SocketAddr> {
    peer_in(request.extensions())
}

fn peer_in(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// The answer to a failed authentication from `client`: 401, or 429 once the client (or
/// everyone together) has failed too often.
pub(crate) async fn refuse(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    surface: Surface,
) -> ApiError {
    match state
        .inner
        .throttle
        .failed(client, surface, &state.inner.metrics)
        .await
    {
        Ok(()) => ApiError::Unauthorized,
        Err(throttled) => ApiError::AuthThrottled {
            retry_after_secs: throttled.retry_after_secs,
        },
    }
}

/// The key `presented` stands for, from the cache or the store; `None` when it is not a
/// live key. Only a lookup that found the key is remembered.
pub(crate) async fn lookup_key(
    state: &AppState,
    presented: &str,
) -> Result<Option<herald_store::AuthenticatedKey>, herald_store::StoreError> {
    if let Some(key) = state.inner.key_cache.get(presented) {
        return Ok(Some(key));
    }
    let found = state.inner.store.api_keys().authenticate(presented).await?;
    if let Some(key) = &found {
        state.inner.key_cache.insert(presented, key.clone());
    }
    Ok(found)
}

async fn caller_of(state: &AppState, presented: Option<String>) -> Result<Caller, ApiError> {
    let key = presented.ok_or(ApiError::Unauthorized)?;
    let key = lookup_key(state, &key)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Caller {
        key_id: key.key_id,
        tenant_id: key.tenant_id,
        scopes: key.scopes,
    })
}

/// The value of cookie `name` among the request's `Cookie` headers.
pub(crate) fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
