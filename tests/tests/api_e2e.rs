//! The HTTP API end to end: the real API on port 0 over real Postgres and Redis, the
//! platform simulator, and (where a post must really go out) an in-process worker. One test
//! binary with a module per route family, so the suite links once.

// The helpers beside the tests fail the test the same way the tests do: by panicking on an
// answer they did not expect (clippy's test exemption covers only `#[test]` functions).
#![allow(clippy::unwrap_used)]

#[path = "api_e2e/app.rs"]
mod app;
#[path = "api_e2e/connections.rs"]
mod connections;
#[path = "api_e2e/deliveries.rs"]
mod deliveries;
#[path = "api_e2e/events.rs"]
mod events;
#[path = "api_e2e/fuzz.rs"]
mod fuzz;
#[path = "api_e2e/media.rs"]
mod media;
#[path = "api_e2e/oauth.rs"]
mod oauth;
#[path = "api_e2e/posts.rs"]
mod posts;
#[path = "api_e2e/surface.rs"]
mod surface;
#[path = "api_e2e/webhooks.rs"]
mod webhooks;
