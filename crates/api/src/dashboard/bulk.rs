//! Bulk actions, from the deliveries list's filter: retry every failed or dead delivery it
//! matches, or cancel every scheduled delivery of a connection.
//!
//! A GET shows what a press would do ("Retry 3 deliveries?") with the filter and a form
//! carrying the session's CSRF token; the POST does it in one transaction with the same
//! guarded transitions as the single actions ([`crate::operator`]), journals it
//! (`herald_store::operator_actions`: key id and name, action, filter, counts), attributes
//! each delivery's event to the key's name, sends what it retried to the queue, and says
//! what it did ("3 retried; 1 had changed state and was left"). One press changes at most
//! [`CAP`] deliveries, oldest first, so it holds its row locks briefly; the page says so
//! when more match.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use herald_domain::{DeliveryId, DeliveryState};
use herald_store::{BulkAction, BulkKind, DeliveryFilter, Transition};
use serde::Deserialize;

use super::Session;
use super::actions::by;
use super::html::{Page, csrf_field, esc, message};
use super::list::ListQuery;
use super::pages::failed;
use crate::{AppState, operator};

/// The most deliveries one press changes.
pub(crate) const CAP: i64 = 1000;

/// What each bulk action is called on its pages.
struct Wording {
    kind: BulkKind,
    path: &'static str,
    /// "Retry" / "Cancel", before "3 deliveries?".
    verb: &'static str,
    /// "retried" / "cancelled", after "3".
    done: &'static str,
    /// Which deliveries it takes.
    takes: &'static str,
}

const RETRY: Wording = Wording {
    kind: BulkKind::Retry,
    path: "/dashboard/bulk/retry",
    verb: "Retry",
    done: "retried",
    takes: "failed or dead deliveries",
};

const CANCEL: Wording = Wording {
    kind: BulkKind::CancelScheduled,
    path: "/dashboard/bulk/cancel",
    verb: "Cancel",
    done: "cancelled",
    takes: "scheduled deliveries of the connection",
};

/// The filter a bulk action acts on, or what is wrong with it (the field and the rule).
fn filter_of(query: &ListQuery, wording: &Wording) -> Result<DeliveryFilter, String> {
    let filter = query.filter().map_err(|problems| problems.join("; "))?;
    match wording.kind {
        BulkKind::Retry => {
            if let Some(s) = filter.state
                && !DeliveryState::RETRYABLE_BY_OPERATOR.contains(&s)
            {
                return Err(format!(
                    "state: a bulk retry takes failed or dead deliveries, not {s}; filter by \
                     failed, dead or any state"
                ));
            }
        }
        BulkKind::CancelScheduled => {
            if filter.connection_id.is_none() {
                return Err(
                    "connection: a bulk cancel needs a connection; filter the deliveries by \
                     connection and state scheduled first"
                        .to_owned(),
                );
            }
            if filter.state != Some(DeliveryState::Scheduled) {
                return Err(
                    "state: a bulk cancel takes scheduled deliveries only; filter by state \
                     scheduled"
                        .to_owned(),
                );
            }
        }
    }
    Ok(filter)
}

/// The page that refuses a bulk action's filter.
fn refused(session: &Session, text: &str) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "Not possible",
        text,
        Some(&session.csrf),
    )
}

/// The filter in words, for the pages and their readers.
fn described(query: &ListQuery) -> String {
    let pairs = query.pairs();
    if pairs.is_empty() {
        return "<p id=\"bulk-filter\">Filter: none (every delivery of the tenant)</p>".to_owned();
    }
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", esc(k), esc(v)))
        .collect();
    format!("<p id=\"bulk-filter\">Filter: {}</p>", items.join(", "))
}

fn back(query: &ListQuery) -> String {
    format!(
        "<p><a id=\"back\" href=\"/dashboard/deliveries?{}\">Back to the deliveries</a></p>",
        esc(query.query(&[]))
    )
}

async fn confirm(state: &AppState, session: &Session, query: &ListQuery, w: &Wording) -> Response {
    let filter = match filter_of(query, w) {
        Ok(filter) => filter,
        Err(text) => return refused(session, &text),
    };
    let count = match state
        .inner
        .store
        .operator_actions()
        .count(session.tenant_id, &filter, w.kind.from_states())
        .await
    {
        Ok(count) => count,
        Err(error) => return failed(session, "count the deliveries", &error),
    };
    let mut body = described(query);
    if count == 0 {
        body.push_str(&format!(
            "<p id=\"bulk-count\">No {} match this filter: nothing to do.</p>",
            esc(w.takes)
        ));
    } else {
        let pressed = count.min(CAP);
        let title = if count > CAP {
            format!(
                "{} {pressed} of {count} deliveries? At most {CAP} per press: press again for \
                 the rest.",
                w.verb
            )
        } else {
            format!(
                "{} {count} {}?",
                w.verb,
                if count == 1 { "delivery" } else { "deliveries" }
            )
        };
        let mut hidden = String::new();
        for (k, v) in query.pairs() {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            ));
        }
        body.push_str(&format!(
            "<p id=\"bulk-count\">{}</p><p>It takes the {} this filter matches, with the same \
             checks as the single action: one whose state changed in the meantime is left \
             alone.</p><form method=\"post\" action=\"{}\" id=\"bulk-form\">{}{hidden}\
             <input type=\"hidden\" name=\"expected\" value=\"{}\">\
             <button type=\"submit\">{} {}</button></form>",
            esc(title),
            esc(w.takes),
            esc(w.path),
            csrf_field(&session.csrf),
            esc(pressed),
            esc(w.verb),
            esc(pressed),
        ));
    }
    body.push_str(&back(query));
    Page {
        title: &format!("{} in bulk", w.verb),
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render(StatusCode::OK)
}

/// The bulk form: the filter's fields, the count the page showed, and the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct BulkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expected: String,
    #[serde(flatten)]
    query: ListQuery,
}

async fn apply(
    state: &AppState,
    session: &Session,
    form: &BulkForm,
    w: &Wording,
    transition: impl Fn(DeliveryId) -> Transition,
) -> Response {
    if !session.csrf_ok(&form.csrf) {
        return session.csrf_refused();
    }
    let filter = match filter_of(&form.query, w) {
        Ok(filter) => filter,
        Err(text) => return refused(session, &text),
    };
    let shown: serde_json::Map<String, serde_json::Value> = form
        .query
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect();
    let action = BulkAction {
        tenant_id: session.tenant_id,
        key_id: session.key_id,
        key_name: session.key_name.as_deref(),
        kind: w.kind,
        filter: &filter,
        filter_shown: serde_json::Value::Object(shown),
        cap: CAP,
    };
    let outcome = match state
        .inner
        .store
        .operator_actions()
        .apply(&action, transition)
        .await
    {
        Ok(outcome) => outcome,
        Err(error) => return failed(session, "apply the bulk action", &error),
    };
    if w.kind == BulkKind::Retry {
        // Committed; a failed push only leaves them to the sweeper.
        let now = chrono::Utc::now();
        let jobs: Vec<_> = outcome.moved.iter().map(|id| (*id, now)).collect();
        crate::dispatch::push(state, &jobs).await;
    }
    let expected = form.expected.trim().parse::<usize>().unwrap_or(0);
    let moved = outcome.moved.len();
    let left = expected.max(outcome.matched.len()).saturating_sub(moved);
    tracing::info!(key = %session.key_id, action = w.kind.as_str(), moved, left,
        "dashboard bulk action");
    let mut said = format!("{moved} {}", w.done);
    if left > 0 {
        said.push_str(&format!(
            "; {left} had changed state and {}",
            if left == 1 { "was left" } else { "were left" }
        ));
    }
    said.push('.');
    if outcome.more {
        said.push_str(&format!(
            " More match than the {CAP} one press takes: press again for the rest."
        ));
    }
    let body = format!(
        "<p class=\"notice\" role=\"status\" id=\"bulk-done\">{}</p>{}{}",
        esc(said),
        described(&form.query),
        back(&form.query)
    );
    Page {
        title: &format!("{} in bulk", w.verb),
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render(StatusCode::OK)
}

/// `GET /dashboard/bulk/retry?{filter}`.
pub(super) async fn confirm_retry(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Response {
    confirm(&state, &session, &query, &RETRY).await
}

/// `POST /dashboard/bulk/retry`.
pub(super) async fn retry(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<BulkForm>,
) -> Response {
    let by = by(&session);
    let key = session.key_id.to_string();
    apply(&state, &session, &form, &RETRY, |id| {
        operator::retry(id, &by).detail("by_key", key.clone())
    })
    .await
}

/// `GET /dashboard/bulk/cancel?connection=ID&state=scheduled`.
pub(super) async fn confirm_cancel(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Response {
    confirm(&state, &session, &query, &CANCEL).await
}

/// `POST /dashboard/bulk/cancel`.
pub(super) async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<BulkForm>,
) -> Response {
    let reason = format!("cancelled {}", by(&session));
    let key = session.key_id.to_string();
    apply(&state, &session, &form, &CANCEL, |id| {
        Transition::new(id, &[DeliveryState::Scheduled], DeliveryState::Cancelled)
            .detail("reason", reason.clone())
            .detail("by_key", key.clone())
    })
    .await
}
