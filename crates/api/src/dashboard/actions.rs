//! The dashboard's actions: the same guarded transitions as the `/v1` routes, each behind
//! the session's CSRF token and attributed to the signed-in key by name in the delivery's
//! timeline ("retried by ops-alice from the dashboard"). A success redirects to the
//! delivery's page with a notice.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use herald_domain::DeliveryId;
use herald_store::Delivery;
use serde::Deserialize;

use super::Session;
use super::html::message;
use super::pages::{failed, tenant_delivery};
use crate::{AppState, operator};

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    url: String,
}

/// How a timeline names who acted: "by ops-alice from the dashboard".
pub(super) fn by(session: &Session) -> String {
    format!("by {} from the dashboard", session.actor())
}

fn conflict(session: &Session, d: &Delivery, what: &str) -> Response {
    message(
        StatusCode::CONFLICT,
        "Not possible",
        &format!("{what}; this delivery is {}.", d.state),
        Some(&session.csrf),
    )
}

async fn after_action(state: &AppState, session: &Session, id: DeliveryId, done: &str) -> Response {
    // The transition is committed; a failed re-read only delays dispatch to the sweeper.
    let _ = operator::redispatch(state, id).await;
    tracing::info!(key = %session.key_id, delivery = %id, action = done, "dashboard action");
    Redirect::to(&format!("/dashboard/deliveries/{id}?done={done}")).into_response()
}

/// `POST /dashboard/deliveries/{id}/retry`.
pub(super) async fn retry(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return session.csrf_refused();
    }
    let d = match tenant_delivery(&state, &session, &id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let transition =
        operator::retry(d.id, &by(&session)).detail("by_key", session.key_id.to_string());
    match state.inner.store.deliveries().transition(transition).await {
        Ok(true) => after_action(&state, &session, d.id, "retried").await,
        Ok(false) => conflict(
            &session,
            &d,
            "Only failed or dead deliveries can be retried",
        ),
        Err(error) => failed(&session, "retry the delivery", &error),
    }
}

/// `POST /dashboard/deliveries/{id}/resolve`: `outcome` is `published` (with `url`) or
/// `retry`.
pub(super) async fn resolve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return session.csrf_refused();
    }
    let d = match tenant_delivery(&state, &session, &id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let transition = match form.outcome.as_str() {
        "published" => {
            let url = form.url.trim();
            if !operator::is_http_url(url) {
                return message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not resolved",
                    "A published delivery needs the post's http(s) URL.",
                    Some(&session.csrf),
                );
            }
            operator::resolve_published(&d, None, url.to_owned(), &by(&session))
                .detail("by_key", session.key_id.to_string())
        }
        "retry" => operator::resolve_retry(d.id, &by(&session))
            .detail("by_key", session.key_id.to_string()),
        _ => {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not resolved",
                "Choose `published` (with its URL) or `retry`.",
                Some(&session.csrf),
            );
        }
    };
    match state.inner.store.deliveries().transition(transition).await {
        Ok(true) => after_action(&state, &session, d.id, "resolved").await,
        Ok(false) => conflict(
            &session,
            &d,
            "Only deliveries whose outcome is unknown can be resolved",
        ),
        Err(error) => failed(&session, "resolve the delivery", &error),
    }
}

/// `POST /dashboard/deliveries/{id}/cancel`: cancels the delivery's post (every delivery of
/// it that has not started), as `POST /v1/posts/{id}/cancel` does.
pub(super) async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return session.csrf_refused();
    }
    let d = match tenant_delivery(&state, &session, &id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    match state
        .inner
        .store
        .deliveries()
        .cancel_post_as(
            session.tenant_id,
            d.post_id,
            &format!("cancelled {}", by(&session)),
        )
        .await
    {
        Ok(cancelled) if cancelled.contains(&d.id) => {
            after_action(&state, &session, d.id, "cancelled").await
        }
        Ok(_) => conflict(
            &session,
            &d,
            "Only deliveries that have not started can be cancelled",
        ),
        Err(error) => failed(&session, "cancel the post", &error),
    }
}
