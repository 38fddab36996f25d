//! The events Herald sends to webhooks, as the OpenAPI description's `webhooks` section
//! shows them: one entry per event type, each with the JSON body the receiver gets.
//!
//! The payloads themselves are built elsewhere (`herald_store`'s webhook fan-out writes
//! them, `herald_worker::webhooks` signs and sends them); the types here describe them and
//! are serialized only for `webhook.test`. To describe a new event: add its `data` type and
//! an [`event_body!`] here, list both in the `components` of [`crate::openapi::ApiDoc`],
//! and add a line to [`events`]. How requests are signed is documented with the sender, not here.

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
    let event = |event_type: &str, summary: &str, schema| WebhookEvent {
        event_type: event_type.to_owned(),
        summary: summary.to_owned(),
        schema,
    };
    DeliveryState::ALL
        .iter()
        .map(|state| WebhookEvent {
            event_type: format!("delivery.{state}"),
            summary: format!("A delivery moved to `{state}`."),
            schema: "DeliveryEvent",
        })
        .chain([
            event(
                "post.completed",
                "Every delivery of a post is final (sent once per post).",
                "PostCompletedEvent",
            ),
            event(
                "connection.needs_reconnect",
                "The platform refused a connection's token for good.",
                "ConnectionNeedsReconnectEvent",
            ),
            event(
                "connection.expiring",
                "A token Herald cannot refresh expires soon (`api.webhooks.expiring_notice_days`).",
                "ConnectionExpiringEvent",
            ),
            event(
                "webhook.test",
                "Sent by `POST /v1/webhooks/{id}/test`.",
                "WebhookTestEvent",
            ),
        ])
        .collect()
}

/// One event body type: the payload structure Standard Webhooks recommends (`id`, `type`,
/// `timestamp`, `data`), plus `at` for receivers written before `timestamp`.
macro_rules! event_body {
    ($(#[$doc:meta])* $name:ident, $data:ty, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// The event's id: increasing, the same on every retry of this event (the
            /// `webhook-id` header is `msg_` and this id: drop duplicates by it). 0 for
            /// `webhook.test`.
            pub id: i64,
            #[serde(rename = "type")]
            #[schema(example = $example)]
            pub kind: String,
            /// When it happened.
            pub timestamp: DateTime<Utc>,
            /// The same as `timestamp`.
            pub at: DateTime<Utc>,
            pub data: $data,
        }
    };
}

event_body!(
    /// The body of every `delivery.*` event: a delivery's state change.
    DeliveryEvent,
    DeliveryEventData,
    "delivery.published"
);
event_body!(
    /// The body of `post.completed`.
    PostCompletedEvent,
    PostCompletedData,
    "post.completed"
);
event_body!(
    /// The body of `connection.needs_reconnect`.
    ConnectionNeedsReconnectEvent,
    ConnectionNeedsReconnectData,
    "connection.needs_reconnect"
);
event_body!(
    /// The body of `connection.expiring`.
    ConnectionExpiringEvent,
    ConnectionExpiringData,
    "connection.expiring"
);
event_body!(
    /// The body of `webhook.test`.
    WebhookTestEvent,
    WebhookTestData,
    "webhook.test"
);

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

/// `data` of `post.completed`: every delivery of the post is final. Sent once per post.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostCompletedData {
    #[schema(format = Uuid)]
    pub post_id: String,
    pub deliveries: Vec<PostCompletedDelivery>,
}

/// One delivery of a completed post.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostCompletedDelivery {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub connection_id: String,
    pub platform: Platform,
    /// `published`, `failed`, `dead`, `unknown` or `cancelled`.
    pub state: DeliveryState,
    /// Where the post is, once published.
    #[schema(format = Uri)]
    pub url: Option<String>,
    /// Why it failed.
    pub error_code: Option<String>,
}

/// `data` of `connection.needs_reconnect`: the platform refused the connection's token for
/// good; posts to it fail until the account owner connects it again.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionNeedsReconnectData {
    #[schema(format = Uuid)]
    pub connection_id: String,
    pub platform: Platform,
    pub account_handle: Option<String>,
    /// What the platform said.
    pub reason: String,
}

/// `data` of `connection.expiring`: the connection's token expires at `expires_at` and Herald
/// cannot refresh it (`api.webhooks.expiring_notice_days` before). Sent once per expiry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionExpiringData {
    #[schema(format = Uuid)]
    pub connection_id: String,
    pub platform: Platform,
    pub account_handle: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// `data` of `webhook.test`, sent by `POST /v1/webhooks/{id}/test`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTestData {
    #[schema(format = Uuid)]
    pub webhook_id: String,
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
    fn every_event_herald_sends_is_described() {
        let types: Vec<String> = events().into_iter().map(|e| e.event_type).collect();
        assert_eq!(types.len(), DeliveryState::ALL.len() + 4);
        for t in [
            "delivery.published",
            "delivery.failed",
            "post.completed",
            "connection.needs_reconnect",
            "connection.expiring",
            "webhook.test",
        ] {
            assert!(types.contains(&t.to_owned()), "{t}");
        }
    }
}
