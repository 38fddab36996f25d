//! The HTTP API end to end: the real API on port 0 over real Postgres and Redis, the
//! platform simulator, and (where a post must really go out) an in-process worker. A module
//! per route family.

// The helpers beside the tests fail the test the same way the tests do: by panicking on an
// answer they did not expect (clippy's test exemption covers only `#[test]` functions).
#![allow(clippy::unwrap_used)]

mod connections;
mod deliveries;
mod events;
mod fuzz;
mod group_commit;
mod media;
mod media_rules;
mod oauth;
mod posts;
mod surface;
mod telegram_comments;
mod webhooks;
