//! What an operator may do to one delivery, whether through `/v1/deliveries/{id}/...` or the
//! dashboard: send a failed or dead delivery back to the queue, or settle one whose outcome is
//! unknown. Each is one guarded transition (the store refuses it from any other state); the
//! callers differ only in how they answer.

use herald_domain::{DeliveryId, DeliveryState};
use herald_store::{Attempts, Delivery, Outcome, Transition};

use crate::AppState;

const UNKNOWN: &[DeliveryState] = &[DeliveryState::Unknown];

/// A failed or dead delivery, queued again now with a fresh set of attempts.
pub(crate) fn retry(id: DeliveryId, by: &str) -> Transition {
    Transition::new(
        id,
        DeliveryState::RETRYABLE_BY_OPERATOR,
        DeliveryState::Queued,
    )
    .due_now()
    .attempts(Attempts::Reset)
    .detail("reason", format!("retried {by}"))
}

/// An unknown delivery that was in fact posted, at `url`.
pub(crate) fn resolve_published(
    delivery: &Delivery,
    remote_id: Option<String>,
    url: String,
    by: &str,
) -> Transition {
    Transition::new(delivery.id, UNKNOWN, DeliveryState::Published)
        .outcome(Outcome {
            remote_id,
            public_url: Some(url),
            degraded: delivery.degraded.clone(),
        })
        .detail("reason", format!("resolved {by}: published"))
}

/// An unknown delivery that was not posted: send it again.
pub(crate) fn resolve_retry(id: DeliveryId, by: &str) -> Transition {
    Transition::new(id, UNKNOWN, DeliveryState::Queued)
        .due_now()
        .attempts(Attempts::Reset)
        .detail("reason", format!("resolved {by}: not published, retry"))
}

/// Whether `url` can be recorded as a post's public URL.
pub(crate) fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// After an operator's transition: a delivery that is queued again goes to Redis now (the
/// sweeper would find it too, later). Returns the delivery as it now stands.
pub(crate) async fn redispatch(
    state: &AppState,
    id: DeliveryId,
) -> Result<Option<Delivery>, herald_store::StoreError> {
    let delivery = state.inner.store.deliveries().get(id).await?;
    if let Some(d) = &delivery
        && d.state == DeliveryState::Queued
    {
        crate::dispatch::push(state, &[(d.id, d.run_at)]).await;
    }
    Ok(delivery)
}
