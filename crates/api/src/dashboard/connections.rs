//! The connections page: each connected account with what it posts as (a member, an
//! organization, a page, a channel…), the health of its token, its last error, its rate
//! budget, a link to its scheduled deliveries, and a Reconnect action.
//!
//! Token health is read from what the store knows of the tokens (when the access token
//! expires, whether a refresh token is kept, whether the platform has refused them): the
//! tokens themselves never reach this page.
//!
//! Reconnect is a POST with the session's CSRF token. It makes the OAuth state as
//! `POST /v1/connect/{platform}` does ([`crate::oauth::begin`]), for the connection's own end
//! user and LinkedIn app, so the callback renews that same connection; the callback then
//! comes back here. The answer is a short page that sends the browser on to Herald's start
//! link (which binds the flow to this browser with its cookie, then redirects to the
//! platform) by its nonce'd script, or by its link without script: a redirect straight from
//! the POST would be a cross-origin redirect of a form, which the page's `form-action
//! 'self'` policy refuses. The callback returns to [`returned`], which passes the browser
//! on to this page.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{AppType, ConnectionId, ConnectionStatus, Platform, PostTargetType};
use herald_store::{Connection, ConnectionTarget};
use serde::Deserialize;

use super::Session;
use super::html::{Page, at, badge, csrf_field, esc, message};
use super::pages::failed;
use crate::AppState;

/// What a connection posts as, and the name of that page, organization or chat: from what
/// was recorded when it was chosen (`target`), else from the connection row (which keeps a
/// page's id, not its name).
pub(crate) fn kind(c: &Connection, target: Option<&ConnectionTarget>) -> (String, Option<String>) {
    let chosen_page = c.post_target_type == PostTargetType::Page;
    let page = || c.selected_page_id.clone();
    let (kind, name) = match (c.platform, c.app_type, chosen_page) {
        (Platform::Linkedin, Some(AppType::Company), _) => match page() {
            Some(id) => ("organization", Some(format!("organization {id}"))),
            None => ("organization (none chosen yet)", None),
        },
        (Platform::Linkedin, _, _) => ("member", None),
        (Platform::Facebook, _, true) => ("page", page().map(|id| format!("page {id}"))),
        (Platform::Facebook, _, false) => ("user (no page chosen yet)", None),
        (Platform::Instagram, _, true) => ("business account", c.account_name.clone()),
        (Platform::Instagram, _, false) => ("user (no business account chosen yet)", None),
        // A channel's or supergroup's id starts with -100, a basic group's with -.
        (Platform::Telegram, _, _) if c.account_id.starts_with("-100") => {
            ("channel", c.account_name.clone())
        }
        (Platform::Telegram, _, _) if c.account_id.starts_with('-') => {
            ("group", c.account_name.clone())
        }
        (Platform::Telegram, _, _) => ("chat", c.account_name.clone()),
        (Platform::Twitter | Platform::Threads, _, _) => ("profile", None),
    };
    match target.filter(|_| chosen_page || c.platform == Platform::Telegram) {
        Some(t) => {
            let kind = match t.kind.as_str() {
                "facebook_page" => "page",
                "linkedin_organization" => "organization",
                "instagram_account" => "business account",
                other => other,
            };
            (kind.to_owned(), t.name.clone().or(name))
        }
        None => (kind.to_owned(), name),
    }
}

/// "3 d 4 h", "2 h 10 min", "5 min".
fn human(span: TimeDelta) -> String {
    let minutes = span.num_minutes().max(0);
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{} min", m.max(1))
    }
}

/// How the connection's tokens stand: a class for the page (`ok`, `warn`, `bad`) and the
/// words.
pub(crate) fn health(c: &Connection, now: DateTime<Utc>) -> (&'static str, String) {
    match c.status {
        ConnectionStatus::NeedsReconnect => {
            return (
                "bad",
                "reconnect needed: the platform refused the token".to_owned(),
            );
        }
        ConnectionStatus::Disabled => return ("bad", "disabled".to_owned()),
        ConnectionStatus::Active => {}
    }
    match (c.token_expires_at, c.has_refresh_token) {
        (None, _) => ("ok", "healthy: the token does not expire".to_owned()),
        (Some(t), true) if t > now => (
            "ok",
            format!("healthy: expires in {}, refresh possible", human(t - now)),
        ),
        (Some(t), false) if t > now => (
            if t - now < TimeDelta::days(3) {
                "warn"
            } else {
                "ok"
            },
            format!(
                "expires in {} with no refresh: reconnect before then",
                human(t - now)
            ),
        ),
        (Some(_), true) => (
            "warn",
            "expired: refreshed on the next publish (refresh possible)".to_owned(),
        ),
        (Some(_), false) => ("bad", "expired: reconnect needed".to_owned()),
    }
}

/// What to do about the last error.
fn hint(c: &Connection) -> Option<String> {
    match c.status {
        ConnectionStatus::NeedsReconnect if c.platform.uses_oauth() => Some(format!(
            "Press Reconnect and sign in to {} again as the same account.",
            c.platform.display_name()
        )),
        ConnectionStatus::NeedsReconnect => Some(
            "Connect the chat again with a working bot token (POST /v1/connections/telegram)."
                .to_owned(),
        ),
        _ => None,
    }
}

fn account(c: &Connection) -> String {
    match (&c.account_name, &c.account_handle) {
        (Some(name), Some(handle)) => format!("{} (@{})", esc(name), esc(handle)),
        (Some(name), None) => esc(name),
        (None, Some(handle)) => format!("@{}", esc(handle)),
        (None, None) => esc(&c.account_id),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Returned {
    connection_id: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    hint: Option<String>,
}

/// `GET /dashboard/connections`, also where a Reconnect comes back to (with the callback's
/// `connection_id`, or its `error`, `error_description` and `hint`).
pub(super) async fn connections(
    State(state): State<AppState>,
    session: Session,
    Query(returned): Query<Returned>,
) -> Response {
    let repo = state.inner.store.connections();
    let (list, targets) = match tokio::try_join!(
        repo.list(session.tenant_id, None),
        repo.targets(session.tenant_id)
    ) {
        Ok(found) => found,
        Err(error) => return failed(&session, "list the connections", &error),
    };
    let now = Utc::now();
    let mut body = String::new();
    if let Some(id) = returned.connection_id.as_deref() {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"status\">Connection {} is reconnected.</p>",
            esc(id)
        ));
    }
    if let Some(error) = returned.error.as_deref() {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">Reconnecting failed ({}): {} {}</p>",
            esc(error),
            returned
                .error_description
                .as_deref()
                .map(esc)
                .unwrap_or_default(),
            returned.hint.as_deref().map(esc).unwrap_or_default(),
        ));
    }
    if list.is_empty() {
        body.push_str("<p>No connections yet.</p>");
    } else {
        body.push_str(
            "<table id=\"connections\"><tr><th>Platform</th><th>Account</th><th>Posts as</th>\
             <th>Status</th><th>Token</th><th>Last error</th><th>Rate budget</th>\
             <th>Scheduled</th><th>User</th><th>Actions</th></tr>",
        );
        for c in &list {
            body.push_str(&row(&state, &session, c, targets.get(&c.id), now).await);
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

async fn row(
    state: &AppState,
    session: &Session,
    c: &Connection,
    target: Option<&ConnectionTarget>,
    now: DateTime<Utc>,
) -> String {
    let budget = match crate::connections::rate_budget(state, c).await {
        Ok(Some(b)) => format!(
            "{} of {} in {} s",
            esc(b.used),
            esc(b.limit),
            esc(b.window_secs)
        ),
        Ok(None) => "—".to_owned(),
        Err(_) => "unavailable".to_owned(),
    };
    let (kind, name) = kind(c, target);
    let (health_class, health) = health(c, now);
    let error = match (&c.last_error, hint(c)) {
        (Some(e), Some(h)) => format!(
            "<span class=\"last-error\">{}</span><br><small class=\"hint\">{}</small>",
            esc(e),
            esc(h)
        ),
        (Some(e), None) => format!("<span class=\"last-error\">{}</span>", esc(e)),
        (None, Some(h)) => format!("<small class=\"hint\">{}</small>", esc(h)),
        (None, None) => String::new(),
    };
    let action = if c.platform.uses_oauth() {
        format!(
            "<form method=\"post\" action=\"/dashboard/connections/{id}/reconnect\">{csrf}\
             <button type=\"submit\">Reconnect</button></form>",
            id = esc(c.id),
            csrf = csrf_field(&session.csrf),
        )
    } else {
        "<small>Connect the chat again with its bot token</small>".to_owned()
    };
    format!(
        "<tr data-connection=\"{id}\"><td>{platform}</td><td>{account}</td>\
         <td class=\"kind\">{kind}{name}</td><td>{status}</td>\
         <td class=\"health h-{health_class}\">{health}{expires}</td><td>{error}</td>\
         <td>{budget}</td><td><a class=\"scheduled\" \
         href=\"/dashboard/deliveries?connection={id}&amp;state=scheduled\">scheduled</a></td>\
         <td>{user}</td><td>{action}</td></tr>",
        id = esc(c.id),
        platform = esc(c.platform.display_name()),
        account = account(c),
        kind = esc(kind),
        name = name
            .map(|n| format!(": <span class=\"target-name\">{}</span>", esc(n)))
            .unwrap_or_default(),
        status = badge(c.status.as_str()),
        health_class = esc(health_class),
        health = esc(health),
        expires = c
            .token_expires_at
            .map(|t| format!("<br><small>{}</small>", at(t)))
            .unwrap_or_default(),
        user = c.external_user_id.as_deref().map(esc).unwrap_or_default(),
    )
}

/// `GET /dashboard/connections/returned`: where the OAuth callback sends the browser after a
/// Reconnect. It needs no session: the browser arrives by redirects that began on the
/// platform's site, so the session cookie (SameSite=Strict) does not come along. The page
/// sends it on to the connections page from Herald's own site, where the cookie does, with
/// only the callback's known parameters.
pub(super) async fn returned(Query(returned): Query<Returned>) -> Response {
    let mut to = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("connection_id", &returned.connection_id),
        ("error", &returned.error),
        ("error_description", &returned.error_description),
        ("hint", &returned.hint),
    ] {
        if let Some(value) = value {
            to.append_pair(name, value);
        }
    }
    let href = format!("/dashboard/connections?{}", to.finish());
    Page {
        title: "Back from the platform",
        csrf: None,
        live_after: None,
        body: format!(
            "<p><a id=\"continue\" href=\"{}\">Back to the connections</a></p>",
            esc(href)
        ),
    }
    .render_with_script(StatusCode::OK, FOLLOW)
}

/// Follows the page's `#continue` link (pages that only pass the browser on).
const FOLLOW: &str = "(function(){var a=document.getElementById('continue');\
                      if(a)window.location.replace(a.href);})();";

#[derive(Debug, Deserialize)]
pub(crate) struct ReconnectForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /dashboard/connections/{id}/reconnect`: starts the connection's OAuth flow again.
pub(super) async fn reconnect(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ReconnectForm>,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return session.csrf_refused();
    }
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such connection.",
            Some(&session.csrf),
        )
    };
    let Ok(id) = id.parse::<ConnectionId>() else {
        return not_found();
    };
    let c = match state
        .inner
        .store
        .connections()
        .get_for_tenant(session.tenant_id, id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(error) => return failed(&session, "read the connection", &error),
    };
    if !c.platform.uses_oauth() {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not possible here",
            "A Telegram connection reconnects with a bot token: POST /v1/connections/telegram \
             with the same chat.",
            Some(&session.csrf),
        );
    }
    let back = Some(
        state
            .inner
            .config
            .public_url
            .join("/dashboard/connections/returned"),
    );
    let flow = match crate::oauth::begin(
        &state,
        session.tenant_id,
        c.platform,
        c.app_type,
        c.external_user_id.clone(),
        back,
    )
    .await
    {
        Ok(flow) => flow,
        Err(error) => {
            return failed(&session, "start the connection flow", &format!("{error:?}"));
        }
    };
    tracing::info!(key = %session.key_id, connection = %c.id, "dashboard reconnect started");
    let platform = c.platform.display_name();
    Page {
        title: "Reconnect",
        csrf: Some(&session.csrf),
        live_after: None,
        body: format!(
            "<p>Sign in to {platform} as {account} to renew this connection; {platform} then \
             sends you back here. The link lasts until {expires}.</p>\
             <p><a id=\"continue\" href=\"{url}\">Continue to {platform}</a></p>",
            platform = esc(platform),
            account = account(&c),
            expires = at(flow.expires_at),
            url = esc(&flow.start_url),
        ),
    }
    .render_with_script(StatusCode::OK, FOLLOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_write_them() {
        assert_eq!(human(TimeDelta::minutes(3 * 1440 + 4 * 60 + 5)), "3 d 4 h");
        assert_eq!(human(TimeDelta::minutes(130)), "2 h 10 min");
        assert_eq!(human(TimeDelta::seconds(20)), "1 min");
    }
}
