//! The dashboard's pages. Every read goes through the store's repositories, scoped to the
//! session's tenant.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use herald_domain::{DeliveryId, DeliveryState, TenantId};
use herald_store::{Delivery, StoreError};
use serde::Deserialize;

use super::Session;
use super::html::{Page, at, badge, csrf_field, esc, message, opt_at};
use crate::AppState;

/// A page that could not be built: logged, shown as a plain message.
pub(super) fn failed(session: &Session, what: &str, error: &dyn std::fmt::Display) -> Response {
    tracing::warn!(%error, "dashboard: {what}");
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!("Could not {what}; see the API's logs."),
        Some(&session.csrf),
    )
}

fn not_found(session: &Session) -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such delivery.",
        Some(&session.csrf),
    )
}

/// The newest event id of the tenant: the live feed starts after it.
pub(super) async fn last_event_id(state: &AppState, tenant: TenantId) -> Result<i64, StoreError> {
    state.inner.store.deliveries().last_event_id(tenant).await
}

pub(super) async fn tenant_delivery(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<Delivery, Response> {
    let Ok(id) = id.parse::<DeliveryId>() else {
        return Err(not_found(session));
    };
    match state
        .inner
        .store
        .deliveries()
        .get_for_tenant(session.tenant_id, id)
        .await
    {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(not_found(session)),
        Err(error) => Err(failed(session, "read the delivery", &error)),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Notice {
    done: Option<String>,
}

/// `GET /dashboard/deliveries/{id}`: the delivery, its error, its timeline and its actions.
pub(super) async fn delivery(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let d = match tenant_delivery(&state, &session, &id).await {
        Ok(d) => d,
        Err(response) => return response,
    };
    let store = &state.inner.store;
    let (events, steps, after) = match tokio::try_join!(
        async {
            store
                .deliveries()
                .events(d.id)
                .await
                .map_err(|e| e.to_string())
        },
        async { store.journal().steps(d.id).await.map_err(|e| e.to_string()) },
        async {
            last_event_id(&state, session.tenant_id)
                .await
                .map_err(|e| e.to_string())
        },
    ) {
        Ok(found) => found,
        Err(error) => return failed(&session, "read the delivery's timeline", &error),
    };
    let mut body = String::new();
    let done = match notice.done.as_deref() {
        Some("retried") => Some("Sent back to the queue."),
        Some("resolved") => Some("Resolved."),
        Some("cancelled") => Some("The post's deliveries that had not started are cancelled."),
        _ => None,
    };
    if let Some(done) = done {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{}</p>",
            esc(done)
        ));
    }
    let post_link = format!(
        "<a id=\"post-link\" href=\"/dashboard/posts/{id}\">{id}</a>",
        id = esc(d.post_id)
    );
    body.push_str(&format!(
        "<table id=\"delivery\" data-delivery=\"{id}\"><tr><th>State</th><td>{state}</td></tr>\
         <tr><th>Platform</th><td>{platform}</td></tr>\
         <tr><th>Post</th><td>{post}</td></tr><tr><th>Connection</th><td>{conn}</td></tr>\
         <tr><th>Attempts</th><td>{attempts}/{max}</td></tr><tr><th>Run at</th><td>{run_at}</td></tr>\
         <tr><th>URL</th><td>{url}</td></tr><tr><th>Finished</th><td>{finished}</td></tr>",
        id = esc(d.id),
        state = badge(d.state.as_str()),
        platform = esc(d.platform.as_str()),
        post = post_link,
        conn = esc(d.connection_id),
        attempts = esc(d.attempts),
        max = esc(d.max_attempts),
        run_at = at(d.run_at),
        url = d.public_url.as_deref().map(esc).unwrap_or_default(),
        finished = opt_at(d.finished_at),
    ));
    if let Some(e) = &d.error {
        body.push_str(&format!(
            "<tr><th>Error class</th><td id=\"error-class\">{}</td></tr>\
             <tr><th>Platform code</th><td id=\"platform-code\">{}</td></tr>\
             <tr><th>Message</th><td>{}</td></tr><tr><th>Hint</th><td id=\"hint\">{}</td></tr>",
            esc(e.class.as_str()),
            e.code.as_deref().map(esc).unwrap_or_default(),
            esc(&e.message),
            e.hint.as_deref().map(esc).unwrap_or_default(),
        ));
    }
    body.push_str("</table><h2>Actions</h2>");
    let form = |action: &str, label: &str, extra: &str| {
        format!(
            "<form method=\"post\" action=\"/dashboard/deliveries/{id}/{action}\">{csrf}{extra}\
             <button type=\"submit\">{label}</button></form>",
            id = esc(d.id),
            action = esc(action),
            csrf = csrf_field(&session.csrf),
            label = esc(label),
        )
    };
    let mut actions = String::new();
    if DeliveryState::RETRYABLE_BY_OPERATOR.contains(&d.state) {
        actions.push_str(&form("retry", "Retry", ""));
    }
    if d.state == DeliveryState::Unknown {
        actions.push_str(&form(
            "resolve",
            "It was published",
            "<input type=\"hidden\" name=\"outcome\" value=\"published\">\
             <label>Its URL <input type=\"url\" name=\"url\" required></label> ",
        ));
        actions.push_str(&form(
            "resolve",
            "It was not published: retry",
            "<input type=\"hidden\" name=\"outcome\" value=\"retry\">",
        ));
    }
    if d.state == DeliveryState::Scheduled {
        actions.push_str(&form("cancel", "Cancel the scheduled post", ""));
    }
    if actions.is_empty() {
        actions.push_str("<p>None in this state.</p>");
    }
    body.push_str(&actions);
    body.push_str(
        "<h2>Timeline</h2><table id=\"timeline\"><tr><th>At</th><th>What</th><th>Detail</th></tr>",
    );
    let mut lines: Vec<(chrono::DateTime<chrono::Utc>, String)> = Vec::new();
    for e in &events {
        lines.push((
            e.at,
            format!(
                "<td>{}</td><td>{} → {}</td><td>{}</td>",
                at(e.at),
                esc(e.from.map_or("created", DeliveryState::as_str)),
                badge(e.to.as_str()),
                esc(&e.detail)
            ),
        ));
    }
    for s in &steps {
        lines.push((
            s.started_at,
            format!(
                "<td>{}</td><td>journal: {} {}</td><td>{}{}</td>",
                at(s.started_at),
                esc(&s.step),
                esc(s.state.as_str()),
                s.remote_id
                    .as_deref()
                    .map(|r| format!("remote id {} ", esc(r)))
                    .unwrap_or_default(),
                s.detail.as_ref().map(esc).unwrap_or_default(),
            ),
        ));
    }
    lines.sort_by_key(|(t, _)| *t);
    for (_, line) in lines {
        body.push_str(&format!("<tr>{line}</tr>"));
    }
    body.push_str("</table>");
    Page {
        title: "Delivery",
        csrf: Some(&session.csrf),
        live_after: Some(after),
        body,
    }
    .render(StatusCode::OK)
}
