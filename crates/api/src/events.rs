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
//!
//! Each open stream polls Postgres, so one key may hold at most
//! `api.max_event_streams_per_key` of them open at once ([`StreamSlots`]; the dashboard's
//! live feed counts against its session's key); one more is answered 429
//! `too_many_streams`. The count is kept per API instance: a stream holds its slot until
//! it ends, which is when its client disconnects, so several instances behind a load
//! balancer allow that many streams each.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use chrono::{TimeDelta, Utc};
use futures::Stream;
use herald_domain::{ApiKeyId, Scope, TenantId};
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Resume after this event id (the `Last-Event-ID` header wins when both are given).
    pub after: Option<i64>,
}

/// Delivery transitions of the caller's tenant as `text/event-stream`.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id")),
    responses((status = 200, description = "An event stream; each event's data is an EventOut", content_type = "text/event-stream"),
        (status = 429, description = "The key already holds api.max_event_streams_per_key streams open (`too_many_streams`)", body = crate::Problem)),
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
    let slot = state.inner.streams.take(caller.key_id).ok_or_else(|| {
        state.inner.metrics.stream_refused();
        ApiError::TooManyStreams {
            limit: state.inner.streams.cap,
        }
    })?;
    let stream = feed(state, caller.tenant_id, after, slot);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The event streams each key holds open on this instance.
#[derive(Debug)]
pub(crate) struct StreamSlots {
    /// 0: no cap.
    pub(crate) cap: usize,
    open: Mutex<HashMap<ApiKeyId, usize>>,
}

impl StreamSlots {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more stream of `key`, or `None` when it holds all it may.
    pub(crate) fn take(self: &Arc<Self>, key: ApiKeyId) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(key).or_insert(0);
        if self.cap > 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            slots: Arc::clone(self),
            key,
        })
    }

    /// Streams `key` holds open.
    #[cfg(test)]
    fn open(&self, key: ApiKeyId) -> usize {
        self.open
            .lock()
            .map_or(0, |open| open.get(&key).copied().unwrap_or(0))
    }
}

/// One open stream's place; given back when dropped, i.e. when the stream ends.
#[derive(Debug)]
pub(crate) struct StreamSlot {
    slots: Arc<StreamSlots>,
    key: ApiKeyId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

struct Feed {
    state: AppState,
    /// Held for as long as the stream is open.
    _slot: StreamSlot,
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
    slot: StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let feed = Feed {
        state,
        _slot: slot,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_its_cap_and_a_dropped_slot_frees_its_place() {
        let slots = StreamSlots::new(2);
        let (a, b) = (ApiKeyId::new(), ApiKeyId::new());
        let first = slots.take(a).expect("one");
        let _second = slots.take(a).expect("two");
        assert!(slots.take(a).is_none(), "a third is over the cap");
        assert!(slots.take(b).is_some(), "another key has its own");
        drop(first);
        assert_eq!(slots.open(a), 1);
        assert!(slots.take(a).is_some(), "a closed stream frees its slot");
    }

    #[test]
    fn a_cap_of_zero_is_no_cap() {
        let slots = StreamSlots::new(0);
        let key = ApiKeyId::new();
        let held: Vec<_> = (0..50).filter_map(|_| slots.take(key)).collect();
        assert_eq!(held.len(), 50);
        drop(held);
        assert_eq!(slots.open(key), 0);
    }
}
