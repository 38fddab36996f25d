//! `GET /v1/events`: the tenant's delivery transitions as server-sent events.
//!
//! Each event is one row of `delivery_events`: its id is the SSE `id`, its type
//! (`delivery.published`, ...) the SSE `event`, and the data a JSON object. A client that
//! reconnects sends the last id it saw as `Last-Event-ID` (browsers do it by themselves)
//! or `?after=`, and gets everything after it, so nothing is missed across reconnects.
//!
//! The feed polls Postgres (every `api.events_poll`), which keeps it correct with any
//! number of API instances and needs nothing but the store of record. One subtlety: event
//! ids are taken when an event is inserted, so an event can commit after one with a larger
//! id was already sent. The stream therefore re-reads a short window behind its cursor and
//! only moves the cursor past events older than [`SETTLE`], remembering which ids of the
//! window it has sent so none is sent twice.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use chrono::{TimeDelta, Utc};
use futures::Stream;
use herald_domain::{Scope, TenantId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::deliveries::EventOut;
use crate::error::{ApiError, ApiQuery};

/// How long an event must be old before the cursor moves past it.
const SETTLE: Duration = Duration::from_secs(2);
const BATCH: i64 = 500;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Resume after this event id (the `Last-Event-ID` header wins when both are given).
    pub after: Option<i64>,
}

/// Delivery transitions of the caller's tenant as `text/event-stream`.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    responses((status = 200, description = "An event stream; each event's data is an EventOut", content_type = "text/event-stream")),
    security(("api_key" = ["read"])))]
pub(crate) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Scope::Read)?;
    let last = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_last_event_id",
                        "Last-Event-ID must be an event id from this stream",
                    )
                })?,
        ),
        None => None,
    };
    let after = last.or(query.after).unwrap_or(0).max(0);
    let stream = feed(state, caller.tenant_id, after);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

struct Feed {
    state: AppState,
    tenant: TenantId,
    /// Every event up to here has been sent (or is older than anything still committing).
    floor: i64,
    /// Ids above `floor` already sent.
    sent: BTreeSet<i64>,
    pending: std::collections::VecDeque<Event>,
    first: bool,
}

pub(crate) fn feed(
    state: AppState,
    tenant: TenantId,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let feed = Feed {
        state,
        tenant,
        floor: after,
        sent: BTreeSet::new(),
        pending: std::collections::VecDeque::new(),
        first: true,
    };
    futures::stream::unfold(feed, |mut feed| async move {
        loop {
            if let Some(event) = feed.pending.pop_front() {
                return Some((Ok(event), feed));
            }
            if !feed.first {
                tokio::time::sleep(feed.state.inner.config.api.events_poll).await;
            }
            feed.first = false;
            feed.poll().await;
        }
    })
}

impl Feed {
    async fn poll(&mut self) {
        let events = match self
            .state
            .inner
            .store
            .deliveries()
            .events_after(self.tenant, self.floor, BATCH)
            .await
        {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%error, "event stream could not read events; retrying");
                return;
            }
        };
        let settled_before = Utc::now() - TimeDelta::from_std(SETTLE).unwrap_or_default();
        let full = i64::try_from(events.len()).unwrap_or(0) >= BATCH;
        let mut advancing = true;
        for event in &events {
            if self.sent.insert(event.id) {
                let out = EventOut::from(event);
                let data = serde_json::to_string(&out).unwrap_or_else(|_| "{}".to_owned());
                self.pending.push_back(
                    Event::default()
                        .id(event.id.to_string())
                        .event(out.kind.clone())
                        .data(data),
                );
            }
            // The cursor moves over the longest prefix of settled events (or of a full
            // batch, to make progress through a backlog).
            advancing &= event.at < settled_before || full;
            if advancing {
                self.floor = event.id;
            }
        }
        self.sent = self.sent.split_off(&(self.floor + 1));
    }
}
