//! What travels through Redis: only a delivery id and the trace context. Everything else is
//! read from Postgres when the job runs, so Redis never holds content or tokens and a lost
//! Redis loses nothing (the sweeper re-dispatches from the store).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::DeliveryId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishJob {
    pub delivery_id: DeliveryId,
    /// W3C trace context (`traceparent`, `tracestate`) of the request that enqueued it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trace: BTreeMap<String, String>,
}

impl PublishJob {
    pub fn new(delivery_id: DeliveryId) -> Self {
        Self {
            delivery_id,
            trace: BTreeMap::new(),
        }
    }
}
