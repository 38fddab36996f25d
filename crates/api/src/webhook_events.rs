//! The events Herald sends to webhooks, as the OpenAPI description's `webhooks` section
//! shows them: one entry per event type, each with the JSON body the receiver gets.
//!
//! The payloads themselves are built elsewhere (`herald_store`'s webhook fan-out writes
//! them, `herald_worker::webhooks` signs and sends them); the types here describe them and
//! are never serialized. To describe a new event: add its payload type here (deriving
//! `ToSchema`), list it in the `components` of [`crate::openapi::ApiDoc`], and add a line
//! to [`events`]. How requests are signed is documented with the sender, not here.

use chrono::{DateTime, Utc};
use herald_domain::{DeliveryState, Platform};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, Paths, PathsBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// One event type Herald sends, and the schema of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `delivery.published`, ...: the body's `type`, and what `event_types` subscribes to.
    pub event_type: String,
    /// When it is sent, in a sentence.
    pub summary: String,
    /// The name of the body's schema in `components.schemas`.
    pub schema: &'static str,
}

/// Every event type Herald sends today, in the order the description lists them.
pub fn events() -> Vec<WebhookEvent> {
    DeliveryState::ALL
        .iter()
        .map(|state| WebhookEvent {
            event_type: format!("delivery.{state}"),
            summary: format!("A delivery moved to `{state}`."),
            schema: "DeliveryEvent",
        })
        .collect()
}

/// The body of every `delivery.*` event: a delivery's state change.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryEvent {
    /// The event's id: increasing within a tenant, the same on every retry of this event
    /// (use it to drop duplicates).
    pub id: i64,
    /// `delivery.` and the state the delivery moved to.
    #[serde(rename = "type")]
    #[schema(pattern = "^delivery\\.[a-z_]+$", example = "delivery.published")]
    pub kind: String,
    /// When the delivery changed state.
    pub at: DateTime<Utc>,
    pub data: DeliveryEventData,
}

/// What changed: which delivery (of which post, on which connection), from and to which
/// state, and the transition's details (the error, the published URL, ...).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryEventData {
    #[schema(format = Uuid)]
    pub delivery_id: String,
    #[schema(format = Uuid)]
    pub post_id: String,
    #[schema(format = Uuid)]
    pub connection_id: String,
    pub platform: Platform,
    /// Null for the delivery's first state.
    pub from: Option<DeliveryState>,
    pub to: DeliveryState,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The `webhooks` section: for each event, the POST Herald makes to a registered URL.
pub(crate) fn webhooks() -> Paths {
    events()
        .into_iter()
        .fold(PathsBuilder::new(), |paths, event| {
            paths.path(event.event_type.clone(), webhook_item(&event))
        })
        .build()
}

fn webhook_item(event: &WebhookEvent) -> PathItem {
    let body = RequestBodyBuilder::new()
        .description(Some(format!("The `{}` event.", event.event_type)))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(
                    Ref::from_schema_name(event.schema),
                )))
                .build(),
        )
        .required(Some(utoipa::openapi::Required::True))
        .build();
    let operation = OperationBuilder::new()
        .operation_id(Some(format!(
            "webhook_{}",
            event.event_type.replace(['.', '-'], "_")
        )))
        .summary(Some(event.summary.clone()))
        .description(Some(
            "Sent as a signed POST to every active webhook subscribed to this event type \
             (or to `*`). Any 2xx answer acknowledges it; anything else, or no answer, is \
             retried with backoff.",
        ))
        .tag("webhooks")
        .request_body(Some(body))
        .response(
            "2XX",
            ResponseBuilder::new().description("Received: not sent again"),
        )
        .build();
    PathItem::new(HttpMethod::Post, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delivery_state_has_its_event() {
        let types: Vec<String> = events().into_iter().map(|e| e.event_type).collect();
        assert_eq!(types.len(), DeliveryState::ALL.len());
        assert!(types.contains(&"delivery.published".to_owned()));
        assert!(types.contains(&"delivery.failed".to_owned()));
    }
}
