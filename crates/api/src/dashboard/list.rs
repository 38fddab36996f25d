//! The deliveries list: filters (state, platform, connection, creation time), cursor pages
//! newest first, and the bulk actions its filter leads to ([`super::bulk`]).
//!
//! The filter travels in the query string, so a filtered page is a link (the connections
//! page links `?connection=ID&state=scheduled`), and the bulk pages read the very same
//! filter back from it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use herald_domain::{ConnectionId, DeliveryId, DeliveryState, Platform};
use herald_store::{Delivery, DeliveryFilter};
use serde::Deserialize;

use super::Session;
use super::html::{Page, at, badge, esc};
use super::pages::{failed, last_event_id};
use crate::AppState;

/// Rows of a page unless `limit` says otherwise.
const PAGE: i64 = 50;
/// The most rows `limit` may ask for.
const MAX_PAGE: i64 = 200;

/// The deliveries list's query string, as given (empty fields are no filter).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub(crate) state: String,
    #[serde(default)]
    pub(crate) platform: String,
    #[serde(default)]
    pub(crate) connection: String,
    /// Created at or after: `2026-05-01`, `2026-05-01T09:30` (UTC) or RFC 3339.
    #[serde(default)]
    pub(crate) from: String,
    /// Created before, in the same forms.
    #[serde(default)]
    pub(crate) to: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    limit: String,
}

/// A filter field that did not parse: the field, and what it takes.
pub(crate) type Problem = String;

impl ListQuery {
    /// The store's filter, or every field that is wrong (named, with what it takes).
    pub(crate) fn filter(&self) -> Result<DeliveryFilter, Vec<Problem>> {
        let mut filter = DeliveryFilter::default();
        let mut problems = Vec::new();
        let given = |v: &str| Some(v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
        if let Some(s) = given(&self.state) {
            match s.parse::<DeliveryState>() {
                Ok(s) => filter.state = Some(s),
                Err(e) => problems.push(format!("state: {e}")),
            }
        }
        if let Some(p) = given(&self.platform) {
            match p.parse::<Platform>() {
                Ok(p) => filter.platform = Some(p),
                Err(e) => problems.push(format!("platform: {e}")),
            }
        }
        if let Some(c) = given(&self.connection) {
            match c.parse::<ConnectionId>() {
                Ok(c) => filter.connection_id = Some(c),
                Err(_) => problems.push(format!(
                    "connection: `{c}` is not a connection id (a UUID, as the connections \
                     page shows it)"
                )),
            }
        }
        for (field, value, slot) in [
            ("from", &self.from, &mut filter.created_since),
            ("to", &self.to, &mut filter.created_until),
        ] {
            if let Some(v) = given(value) {
                match parse_time(&v) {
                    Some(t) => *slot = Some(t),
                    None => problems.push(format!(
                        "{field}: `{v}` is not a time; give 2026-05-01, 2026-05-01T09:30 (UTC) \
                         or an RFC 3339 time"
                    )),
                }
            }
        }
        if let (Some(from), Some(to)) = (filter.created_since, filter.created_until)
            && from >= to
        {
            problems.push("to: must be later than `from`".to_owned());
        }
        for (field, value, slot) in [
            ("before", &self.before, &mut filter.before),
            ("after", &self.after, &mut filter.after),
        ] {
            if let Some(v) = given(value) {
                match v.parse::<DeliveryId>() {
                    Ok(id) => *slot = Some(id),
                    Err(_) => problems.push(format!(
                        "{field}: `{v}` is not a delivery id (follow the Older and Newer links)"
                    )),
                }
            }
        }
        if problems.is_empty() {
            Ok(filter)
        } else {
            Err(problems)
        }
    }

    /// Rows per page: `limit` when it is 1 to [`MAX_PAGE`].
    fn limit(&self) -> Result<i64, Problem> {
        let v = self.limit.trim();
        if v.is_empty() {
            return Ok(PAGE);
        }
        match v.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(format!(
                "limit: must be a whole number from 1 to {MAX_PAGE}"
            )),
        }
    }

    /// The filter's fields (no cursor) as `name=value` pairs, for links and hidden fields.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("state", self.state.as_str()),
            ("platform", self.platform.as_str()),
            ("connection", self.connection.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// The filter as a query string (no leading `?`), with `extra` pairs after it.
    pub(crate) fn query(&self, extra: &[(&str, &str)]) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            out.append_pair(k, v);
        }
        for (k, v) in extra {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

/// A time as the filter takes it: a date (midnight UTC), a `datetime-local` value (UTC), or
/// RFC 3339.
pub(crate) fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `GET /dashboard/deliveries?state=&platform=&connection=&from=&to=&before=&after=&limit=`.
pub(super) async fn deliveries(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> Response {
    let parsed = query
        .filter()
        .and_then(|f| query.limit().map(|l| (f, l)).map_err(|p| vec![p]));
    let after = match last_event_id(&state, session.tenant_id).await {
        Ok(after) => after,
        Err(error) => return failed(&session, "read the events", &error),
    };
    let (status, problems, filter, limit) = match parsed {
        Ok((filter, limit)) => (StatusCode::OK, Vec::new(), Some(filter), limit),
        Err(problems) => (StatusCode::BAD_REQUEST, problems, None, PAGE),
    };
    let mut page = Vec::new();
    let (mut newer, mut older) = (None, None);
    if let Some(filter) = &filter {
        let mut rows = match state
            .inner
            .store
            .deliveries()
            .list(session.tenant_id, filter, limit + 1)
            .await
        {
            Ok(rows) => rows,
            Err(error) => return failed(&session, "list the deliveries", &error),
        };
        let extra = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        if filter.after.is_some() {
            // Read upwards from the cursor: the row left over is the newest.
            if extra {
                rows.remove(0);
            }
            newer = extra.then(|| rows.first().map(|d| d.id)).flatten();
            older = rows.last().map(|d| d.id);
        } else {
            if extra {
                rows.pop();
            }
            older = extra.then(|| rows.last().map(|d| d.id)).flatten();
            newer = filter.before.and_then(|_| rows.first().map(|d| d.id));
        }
        page = rows;
    }
    let mut body = String::new();
    for p in &problems {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(p)));
    }
    body.push_str(&filter_form(&query, filter.as_ref()));
    body.push_str(&bulk_links(&query, filter.as_ref()));
    body.push_str(
        "<p id=\"unseen\" hidden><span>0</span> changes to deliveries not shown: \
         <a href=\"\">reload</a></p>",
    );
    if page.is_empty() {
        body.push_str("<p>No deliveries match.</p>");
    } else {
        body.push_str(
            "<table id=\"deliveries\"><tr><th>Delivery</th><th>Post</th><th>Platform</th>\
             <th>State</th><th>Attempts</th><th>Run at</th><th>Created</th><th>Error</th></tr>",
        );
        for d in &page {
            body.push_str(&row(d));
        }
        body.push_str("</table>");
    }
    let limit_text = limit.to_string();
    let mut nav = String::new();
    if let Some(id) = newer {
        let id = id.to_string();
        nav.push_str(&format!(
            "<a id=\"newer\" href=\"/dashboard/deliveries?{}\">Newer</a> ",
            esc(query.query(&[("after", &id), ("limit", &limit_text)]))
        ));
    }
    if let Some(id) = older {
        let id = id.to_string();
        nav.push_str(&format!(
            "<a id=\"older\" href=\"/dashboard/deliveries?{}\">Older</a>",
            esc(query.query(&[("before", &id), ("limit", &limit_text)]))
        ));
    }
    body.push_str(&format!(
        "<p class=\"paging\">Newest first, {} a page. {nav}</p>",
        esc(limit)
    ));
    Page {
        title: "Deliveries",
        csrf: Some(&session.csrf),
        live_after: Some(after),
        body,
    }
    .render(status)
}

fn filter_form(query: &ListQuery, filter: Option<&DeliveryFilter>) -> String {
    let option = |value: &str, chosen: Option<&str>| {
        format!(
            "<option value=\"{v}\"{sel}>{v}</option>",
            v = esc(value),
            sel = if chosen == Some(value) {
                " selected"
            } else {
                ""
            }
        )
    };
    let mut form = String::from(
        "<form method=\"get\" action=\"/dashboard/deliveries\" id=\"filter\"><label>State \
         <select name=\"state\"><option value=\"\">any</option>",
    );
    let state = filter.and_then(|f| f.state);
    for s in DeliveryState::ALL {
        form.push_str(&option(s.as_str(), state.map(DeliveryState::as_str)));
    }
    form.push_str(
        "</select></label> <label>Platform <select name=\"platform\">\
         <option value=\"\">any</option>",
    );
    let platform = filter.and_then(|f| f.platform);
    for p in Platform::ALL {
        form.push_str(&option(p.as_str(), platform.map(Platform::as_str)));
    }
    form.push_str(&format!(
        "</select></label> <label>Connection <input name=\"connection\" size=\"38\" \
         value=\"{}\"></label> <label>Created from <input name=\"from\" \
         placeholder=\"2026-05-01T09:30\" value=\"{}\"></label> <label>to <input name=\"to\" \
         placeholder=\"UTC\" value=\"{}\"></label> <button type=\"submit\">Filter</button>\
         </form>",
        esc(query.connection.trim()),
        esc(query.from.trim()),
        esc(query.to.trim()),
    ));
    form
}

/// The bulk actions this filter allows: retrying its failed and dead deliveries, and
/// cancelling a connection's scheduled ones.
fn bulk_links(query: &ListQuery, filter: Option<&DeliveryFilter>) -> String {
    let Some(filter) = filter else {
        return String::new();
    };
    let mut links = String::new();
    let retryable = filter
        .state
        .is_none_or(|s| DeliveryState::RETRYABLE_BY_OPERATOR.contains(&s));
    if retryable {
        links.push_str(&format!(
            "<li><a id=\"bulk-retry\" href=\"/dashboard/bulk/retry?{}\">Retry every failed or \
             dead delivery matching this filter</a></li>",
            esc(query.query(&[]))
        ));
    }
    if filter.connection_id.is_some() && filter.state == Some(DeliveryState::Scheduled) {
        links.push_str(&format!(
            "<li><a id=\"bulk-cancel\" href=\"/dashboard/bulk/cancel?{}\">Cancel every \
             scheduled delivery of this connection</a></li>",
            esc(query.query(&[]))
        ));
    }
    if links.is_empty() {
        links
    } else {
        format!("<ul id=\"bulk\">{links}</ul>")
    }
}

fn row(d: &Delivery) -> String {
    format!(
        "<tr data-delivery=\"{id}\"><td><a href=\"/dashboard/deliveries/{id}\">{id}</a></td>\
         <td><a href=\"/dashboard/posts/{post}\">post</a></td>\
         <td>{platform}</td><td>{state}</td><td>{attempts}/{max}</td><td>{run_at}</td>\
         <td>{created}</td><td>{error}</td></tr>",
        id = esc(d.id),
        post = esc(d.post_id),
        platform = esc(d.platform.as_str()),
        state = badge(d.state.as_str()),
        attempts = esc(d.attempts),
        max = esc(d.max_attempts),
        run_at = at(d.run_at),
        created = at(d.created_at),
        error = d
            .error
            .as_ref()
            .map(|e| esc(e.class.as_str()))
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_date_a_local_input_or_rfc_3339_all_in_utc() {
        let want = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(parse_time("2026-05-01"), Some(want("2026-05-01T00:00:00Z")));
        assert_eq!(
            parse_time("2026-05-01T09:30"),
            Some(want("2026-05-01T09:30:00Z"))
        );
        assert_eq!(
            parse_time("2026-05-01T09:30:00+02:00"),
            Some(want("2026-05-01T07:30:00Z"))
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn a_wrong_field_is_named_with_what_it_takes() {
        let query = ListQuery {
            state: "nope".into(),
            connection: "x".into(),
            from: "2026-05-02".into(),
            to: "2026-05-01".into(),
            ..ListQuery::default()
        };
        let problems = query.filter().unwrap_err();
        assert!(problems[0].starts_with("state:"), "{problems:?}");
        assert!(problems[1].starts_with("connection:"), "{problems:?}");
        assert!(problems[2].starts_with("to: must be later"), "{problems:?}");
    }
}
