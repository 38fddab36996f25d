//! The connections page: each connected account, its status and its rate budget.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::Session;
use super::html::{Page, at, badge, esc};
use super::pages::failed;
use crate::AppState;

/// `GET /dashboard/connections`.
pub(super) async fn connections(State(state): State<AppState>, session: Session) -> Response {
    let list = match state
        .inner
        .store
        .connections()
        .list(session.tenant_id, None)
        .await
    {
        Ok(list) => list,
        Err(error) => return failed(&session, "list the connections", &error),
    };
    let mut body = String::new();
    if list.is_empty() {
        body.push_str("<p>No connections yet.</p>");
    } else {
        body.push_str(
            "<table id=\"connections\"><tr><th>Platform</th><th>Account</th><th>Status</th>\
             <th>Last error</th><th>Token expires</th><th>Rate budget</th><th>User</th>\
             <th>Id</th></tr>",
        );
        for c in &list {
            let budget = match crate::connections::rate_budget(&state, c).await {
                Ok(Some(b)) => format!(
                    "{} of {} in {} s",
                    esc(b.used),
                    esc(b.limit),
                    esc(b.window_secs)
                ),
                Ok(None) => "—".to_owned(),
                Err(_) => "unavailable".to_owned(),
            };
            let account = match (&c.account_name, &c.account_handle) {
                (Some(name), Some(handle)) => format!("{} (@{})", esc(name), esc(handle)),
                (Some(name), None) => esc(name),
                (None, Some(handle)) => format!("@{}", esc(handle)),
                (None, None) => esc(&c.account_id),
            };
            body.push_str(&format!(
                "<tr data-connection=\"{id}\"><td>{platform}</td><td>{account}</td>\
                 <td>{status}</td><td>{error}</td><td>{expires}</td><td>{budget}</td>\
                 <td>{user}</td><td>{id}</td></tr>",
                id = esc(c.id),
                platform = esc(c.platform.as_str()),
                status = badge(c.status.as_str()),
                error = c.last_error.as_deref().map(esc).unwrap_or_default(),
                expires = c
                    .token_expires_at
                    .map_or_else(|| "does not expire".to_owned(), at),
                user = c.external_user_id.as_deref().map(esc).unwrap_or_default(),
            ));
        }
        body.push_str("</table>");
    }
    Page {
        title: "Connections",
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render(StatusCode::OK)
}
