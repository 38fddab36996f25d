//! The schedule: `GET /dashboard/schedule?view=day|week&start=YYYY-MM-DD`, a timeline of
//! the deliveries waiting to run, one row per connection, with the platform windows that
//! will hold them back drawn on the same time axis.
//!
//! The windows are the hard ones the worker counts in Postgres before it publishes
//! (docs/rate-limits.md, layer 1; `herald_store::Windows`): X's posts per 24 hours by API
//! tier, Instagram's and Threads' publishing quotas. When a connection's window is full, it
//! frees when its oldest counted request leaves it; a delivery due before then waits for
//! it, and its mark and row say so. That is the soonest it can go: a full window that frees
//! one slot may still hold back the ones queued behind it.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use herald_domain::{ConnectionId, Platform};
use herald_store::{Connection, StoreError, Upcoming};
use serde::Deserialize;

use super::Session;
use super::html::{Page, at, badge, esc};
use super::pages::failed;
use crate::AppState;

/// At most this many deliveries are drawn.
const LIMIT: i64 = 500;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 210.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 34.0;
const ROW: f64 = 36.0;

#[derive(Debug, Deserialize)]
pub(crate) struct ScheduleQuery {
    view: Option<String>,
    start: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Day,
    Week,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::Day => "day",
            View::Week => "week",
        }
    }

    fn days(self) -> i64 {
        match self {
            View::Day => 1,
            View::Week => 7,
        }
    }
}

/// What the query asks for, or what is wrong with it (naming the parameter and its rule).
fn parse(query: &ScheduleQuery, today: NaiveDate) -> Result<(View, NaiveDate), Vec<String>> {
    let mut problems = Vec::new();
    let view = match query.view.as_deref().map(str::trim) {
        None | Some("") | Some("week") => View::Week,
        Some("day") => View::Day,
        Some(other) => {
            problems.push(format!(
                "`view` must be `day` or `week`, not `{}`.",
                other.chars().take(32).collect::<String>()
            ));
            View::Week
        }
    };
    let start = match query.start.as_deref().map(str::trim) {
        None | Some("") => today,
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|_| {
            problems.push(format!(
                "`start` must be a date written like 2026-12-03 (a UTC day), not `{}`.",
                text.chars().take(32).collect::<String>()
            ));
            today
        }),
    };
    if problems.is_empty() {
        Ok((view, start))
    } else {
        Err(problems)
    }
}

/// A connection's hard window as it stands now.
#[derive(Debug, Clone)]
struct WindowNow {
    /// "X's 24 h window", "Instagram's publishing quota".
    name: String,
    used: i64,
    limit: u32,
    /// When it frees, if it is full.
    frees_at: Option<DateTime<Utc>>,
}

fn span(window: Duration) -> String {
    let secs = window.as_secs();
    if secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else {
        format!("{} min", secs.div_ceil(60))
    }
}

/// The bucket the worker counts a platform's publishing requests in
/// (`herald_worker::gates::hard_window`).
fn bucket(platform: Platform) -> &'static str {
    match platform {
        Platform::Instagram => "publish_quota",
        _ => "posts",
    }
}

async fn window_now(state: &AppState, c: &Connection) -> Result<Option<WindowNow>, StoreError> {
    let Some((limit, window)) = crate::connections::window_of(state, c) else {
        return Ok(None);
    };
    let windows = state.inner.store.windows();
    let used = windows
        .count_in_window(c.id, bucket(c.platform), window)
        .await?;
    let frees_at = if used >= i64::from(limit) {
        windows
            .oldest_in_window(c.id, bucket(c.platform), window)
            .await?
            .map(|oldest| oldest + TimeDelta::from_std(window).unwrap_or(TimeDelta::days(1)))
    } else {
        None
    };
    let name = match c.platform {
        Platform::Twitter => format!("X's {} window", span(window)),
        Platform::Instagram => "Instagram's publishing quota".to_owned(),
        Platform::Threads => "Threads' publishing quota".to_owned(),
        other => format!("{}'s window", other.display_name()),
    };
    Ok(Some(WindowNow {
        name,
        used,
        limit,
        frees_at,
    }))
}

/// A time as the timeline's notes write it: the time of day, with the date when it is not
/// the day of `reference`.
fn short(time: DateTime<Utc>, reference: DateTime<Utc>) -> String {
    if time.date_naive() == reference.date_naive() {
        time.format("%H:%M UTC").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// What will hold `d` back, if anything: a full window that frees after it is due.
fn delay(d: &Upcoming, window: Option<&WindowNow>, now: DateTime<Utc>) -> Option<String> {
    let w = window?;
    let frees = w.frees_at?;
    (d.run_at < frees).then(|| format!("waits for {} until {}", w.name, short(frees, now)))
}

fn account(c: &Connection) -> String {
    match (&c.account_name, &c.account_handle) {
        (Some(name), Some(handle)) => format!("{name} (@{handle})"),
        (Some(name), None) => name.clone(),
        (None, Some(handle)) => format!("@{handle}"),
        (None, None) => c.account_id.clone(),
    }
}

struct Axis {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Axis {
    fn x(&self, t: DateTime<Utc>) -> f64 {
        let whole = (self.end - self.start).num_seconds().max(1) as f64;
        let part = (t - self.start).num_seconds() as f64;
        LEFT + (part / whole).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }
}

/// The timeline's SVG.
fn timeline(
    view: View,
    axis: &Axis,
    now: DateTime<Utc>,
    rows: &[(&Connection, Option<&WindowNow>, Vec<&Upcoming>)],
) -> String {
    let height = TOP + ROW * rows.len().max(1) as f64 + 8.0;
    let bottom = height - 8.0;
    let mut out = format!(
        "<svg id=\"timeline\" class=\"chart timeline\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-labelledby=\"timeline-title timeline-desc\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"timeline-title\">Scheduled \
         deliveries per connection, {from} to {to}</title><desc id=\"timeline-desc\">{n} \
         deliveries on {c} connections; shaded spans are full platform windows.</desc>",
        from = esc(axis.start.format("%Y-%m-%d %H:%M UTC")),
        to = esc(axis.end.format("%Y-%m-%d %H:%M UTC")),
        n = esc(rows.iter().map(|r| r.2.len()).sum::<usize>()),
        c = esc(rows.len()),
    );
    let (step, label): (TimeDelta, &str) = match view {
        View::Day => (TimeDelta::hours(3), "%H:%M"),
        View::Week => (TimeDelta::days(1), "%a %m-%d"),
    };
    let mut tick = axis.start;
    while tick < axis.end {
        let x = axis.x(tick);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{bottom}\">\
             </line><text class=\"tick\" x=\"{tx:.1}\" y=\"{ty}\">{text}</text>",
            tx = x + 3.0,
            ty = TOP - 10.0,
            text = esc(tick.format(label)),
        ));
        tick += step;
    }
    for (i, (c, window, deliveries)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let mid = y + ROW / 2.0;
        out.push_str(&format!(
            "<g class=\"row\" data-connection=\"{id}\"><line class=\"grid\" x1=\"0\" \
             x2=\"{WIDTH}\" y1=\"{y2:.1}\" y2=\"{y2:.1}\"></line>\
             <text class=\"row-label\" x=\"4\" y=\"{ty:.1}\">{platform}: {account}</text>",
            id = esc(c.id),
            y2 = y + ROW,
            ty = mid - 2.0,
            platform = esc(c.platform.display_name()),
            account = esc(account(c)),
        ));
        if let Some(w) = window {
            out.push_str(&format!(
                "<text class=\"tick\" x=\"4\" y=\"{ty:.1}\">{name}: {used} of {limit} used</text>",
                ty = mid + 12.0,
                name = esc(&w.name),
                used = esc(w.used),
                limit = esc(w.limit),
            ));
            if let Some(frees) = w.frees_at.filter(|f| *f > axis.start) {
                let x0 = axis.x(now.max(axis.start));
                let x1 = axis.x(frees.min(axis.end));
                out.push_str(&format!(
                    "<rect class=\"window\" x=\"{x0:.1}\" y=\"{ry:.1}\" width=\"{w:.1}\" \
                     height=\"{h:.1}\" data-window=\"{platform}\" data-frees-at=\"{iso}\">\
                     <title>{name} is full ({used} of {limit}): it frees at {free}</title></rect>",
                    ry = y + 4.0,
                    w = (x1 - x0).max(2.0),
                    h = ROW - 8.0,
                    platform = esc(c.platform.as_str()),
                    iso = esc(frees.to_rfc3339()),
                    name = esc(&w.name),
                    used = esc(w.used),
                    limit = esc(w.limit),
                    free = at(frees),
                ));
            }
        }
        for d in deliveries {
            let why = delay(d, *window, now);
            out.push_str(&format!(
                "<a href=\"/dashboard/deliveries/{id}\"><circle class=\"mark s-{state}{delayed}\" \
                 cx=\"{x:.1}\" cy=\"{mid:.1}\" r=\"6\" data-delivery=\"{id}\" \
                 data-run-at=\"{iso}\"><title>{when}: {state}{note}</title></circle></a>",
                id = esc(d.id),
                state = esc(d.state.as_str()),
                delayed = if why.is_some() { " delayed" } else { "" },
                x = axis.x(d.run_at),
                iso = esc(d.run_at.to_rfc3339()),
                when = at(d.run_at),
                note = why.map(|w| format!(", {}", esc(w))).unwrap_or_default(),
            ));
        }
        out.push_str("</g>");
    }
    if now > axis.start && now < axis.end {
        let x = axis.x(now);
        out.push_str(&format!(
            "<line class=\"now\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top:.1}\" y2=\"{bottom}\">\
             <title>now</title></line>",
            top = TOP - 4.0,
        ));
    }
    out.push_str("</svg>");
    out
}

fn nav(view: View, start: NaiveDate) -> String {
    let link = |v: View, s: NaiveDate, text: &str| {
        format!(
            "<a href=\"/dashboard/schedule?view={}&amp;start={}\">{}</a>",
            esc(v.as_str()),
            esc(s.format("%Y-%m-%d")),
            esc(text)
        )
    };
    let step = TimeDelta::days(view.days());
    let other = match view {
        View::Day => View::Week,
        View::Week => View::Day,
    };
    format!(
        "<nav id=\"schedule-nav\">{} · {} · {} · <form method=\"get\" \
         action=\"/dashboard/schedule\"><input type=\"hidden\" name=\"view\" value=\"{v}\">\
         <label>From <input type=\"date\" name=\"start\" value=\"{s}\"></label> \
         <button type=\"submit\">Show</button></form></nav>",
        link(view, start - step, "← earlier"),
        link(view, start + step, "later →"),
        link(other, start, &format!("{} view", other.as_str())),
        v = esc(view.as_str()),
        s = esc(start.format("%Y-%m-%d")),
    )
}

/// `GET /dashboard/schedule`.
pub(super) async fn schedule(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ScheduleQuery>,
) -> Response {
    let now = Utc::now();
    let (view, start_day, problems) = match parse(&query, now.date_naive()) {
        Ok((view, start)) => (view, start, Vec::new()),
        Err(problems) => (View::Week, now.date_naive(), problems),
    };
    let start = start_day.and_time(chrono::NaiveTime::MIN).and_utc();
    let axis = Axis {
        start,
        end: start + TimeDelta::days(view.days()),
    };
    let (repo, activity) = (
        state.inner.store.connections(),
        state.inner.store.activity(),
    );
    let (connections, upcoming) = match tokio::try_join!(
        repo.list(session.tenant_id, None),
        activity.upcoming(session.tenant_id, axis.start, axis.end, LIMIT),
    ) {
        Ok(found) => found,
        Err(error) => return failed(&session, "read the schedule", &error),
    };
    let mut windows = HashMap::new();
    for c in &connections {
        match window_now(&state, c).await {
            Ok(Some(w)) => {
                windows.insert(c.id, w);
            }
            Ok(None) => {}
            Err(error) => return failed(&session, "read the platform windows", &error),
        }
    }
    let mut by_connection: HashMap<ConnectionId, Vec<&Upcoming>> = HashMap::new();
    for d in &upcoming {
        by_connection.entry(d.connection_id).or_default().push(d);
    }
    let rows: Vec<_> = connections
        .iter()
        .map(|c| {
            (
                c,
                windows.get(&c.id),
                by_connection.remove(&c.id).unwrap_or_default(),
            )
        })
        .collect();

    let mut body = String::new();
    for p in &problems {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(p)));
    }
    body.push_str(&nav(view, start_day));
    body.push_str(&format!(
        "<p>Deliveries waiting to run from {} for {}, by connection; each mark opens its \
         delivery. A shaded span is a platform window that is full now: what is due in it \
         waits until it frees.</p>",
        at(axis.start),
        if view == View::Day { "a day" } else { "a week" },
    ));
    if rows.is_empty() {
        body.push_str("<p>No connections yet.</p>");
    } else {
        body.push_str(&format!(
            "<figure>{}</figure>",
            timeline(view, &axis, now, &rows)
        ));
    }
    if i64::try_from(upcoming.len()).unwrap_or(i64::MAX) >= LIMIT {
        body.push_str(&format!(
            "<p class=\"notice\">Only the first {} are shown: choose the day view.</p>",
            esc(LIMIT)
        ));
    }
    body.push_str(&list(&rows, now));
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Page {
        title: "Schedule",
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render(status)
}

/// The same deliveries as a table, soonest first, with what delays them.
fn list(rows: &[(&Connection, Option<&WindowNow>, Vec<&Upcoming>)], now: DateTime<Utc>) -> String {
    let mut all: Vec<(&Connection, Option<&WindowNow>, &Upcoming)> = rows
        .iter()
        .flat_map(|(c, w, ds)| ds.iter().map(move |d| (*c, *w, *d)))
        .collect();
    if all.is_empty() {
        return "<p>Nothing is scheduled in this span.</p>".to_owned();
    }
    all.sort_by_key(|(_, _, d)| (d.run_at, d.id.into_uuid()));
    let mut out = String::from(
        "<table id=\"upcoming\"><tr><th>Due</th><th>Connection</th><th>Delivery</th>\
         <th>State</th><th>Waits for</th></tr>",
    );
    for (c, w, d) in all {
        out.push_str(&format!(
            "<tr data-delivery=\"{id}\"><td>{due}</td><td>{platform}: {account}</td>\
             <td><a href=\"/dashboard/deliveries/{id}\">{id}</a></td><td>{state}</td>\
             <td class=\"delay\">{why}</td></tr>",
            id = esc(d.id),
            due = at(d.run_at),
            platform = esc(c.platform.display_name()),
            account = esc(account(c)),
            state = badge(d.state.as_str()),
            why = delay(d, w, now).map(esc).unwrap_or_default(),
        ));
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(view: Option<&str>, start: Option<&str>) -> ScheduleQuery {
        ScheduleQuery {
            view: view.map(str::to_owned),
            start: start.map(str::to_owned),
        }
    }

    #[test]
    fn the_query_names_what_is_wrong() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
        assert_eq!(parse(&q(None, None), today), Ok((View::Week, today)));
        assert_eq!(
            parse(&q(Some("day"), Some("2026-12-24")), today),
            Ok((
                View::Day,
                NaiveDate::from_ymd_opt(2026, 12, 24).unwrap_or_default()
            ))
        );
        let Err(problems) = parse(&q(Some("<month>"), Some("tomorrow")), today) else {
            panic!("a month view and a word for a date are refused");
        };
        assert_eq!(problems.len(), 2);
        assert!(problems[0].starts_with("`view` must be `day` or `week`"));
        assert!(problems[1].starts_with("`start` must be a date written like 2026-12-03"));
    }

    #[test]
    fn a_delivery_due_in_a_full_window_waits_for_it() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let d = |hours| Upcoming {
            id: herald_domain::DeliveryId::new(),
            connection_id: ConnectionId::new(),
            platform: Platform::Twitter,
            state: herald_domain::DeliveryState::Scheduled,
            run_at: now + TimeDelta::hours(hours),
        };
        let full = WindowNow {
            name: "X's 24 h window".to_owned(),
            used: 17,
            limit: 17,
            frees_at: Some(now + TimeDelta::hours(4) + TimeDelta::minutes(5)),
        };
        assert_eq!(
            delay(&d(1), Some(&full), now).as_deref(),
            Some("waits for X's 24 h window until 14:05 UTC")
        );
        assert_eq!(delay(&d(5), Some(&full), now), None);
        let open = WindowNow {
            frees_at: None,
            used: 3,
            ..full
        };
        assert_eq!(delay(&d(1), Some(&open), now), None);
        assert_eq!(delay(&d(1), None, now), None);
        assert_eq!(span(Duration::from_secs(86_400)), "24 h");
        assert_eq!(span(Duration::from_secs(90)), "2 min");
    }
}
