//! The overview page: deliveries by state and platform, and charts of the last hour and
//! the last day (outcomes, publish latency) and of the queue now.
//!
//! The charts are inline SVG built here ([`super::svg`]). They live in one fragment,
//! `GET /dashboard/overview/charts`, which the page embeds and its small script fetches
//! again every few seconds to swap in: the charts stay current without a reload, and no
//! figure is computed in the browser. The figures come from Postgres: outcomes and latency
//! from the delivery events of the window (`herald_store::Activity`), the queue from the
//! deliveries' states (the Redis queue is shared by every tenant, so it is not split here).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use herald_domain::{DeliveryState, Platform, TenantId};
use herald_store::{LatencyBucket, OutcomeBucket, StoreError};

use super::Session;
use super::html::{Page, badge, esc};
use super::pages::failed;
use super::svg::{self, Category, Chart, Series};
use crate::AppState;

/// How often the page fetches its charts again.
const REFRESH_SECS: u32 = 5;

/// A chart window: how far back, in buckets of what size, labelled how.
#[derive(Debug, Clone, Copy)]
struct Window {
    key: &'static str,
    heading: &'static str,
    bucket: Duration,
    buckets: u32,
    /// Every how many buckets the x axis gets a label.
    label_every: u32,
}

const HOUR: Window = Window {
    key: "hour",
    heading: "Last hour, per minute",
    bucket: Duration::from_secs(60),
    buckets: 60,
    label_every: 10,
};

const DAY: Window = Window {
    key: "day",
    heading: "Last 24 hours, per 15 minutes",
    bucket: Duration::from_secs(15 * 60),
    buckets: 96,
    label_every: 12,
};

const OUTCOMES: &[Series<'static>] = &[
    Series {
        name: "published",
        class: "published",
    },
    Series {
        name: "failed",
        class: "failed",
    },
    Series {
        name: "retrying",
        class: "retrying",
    },
];

const LATENCY: &[Series<'static>] = &[
    Series {
        name: "p50",
        class: "p50",
    },
    Series {
        name: "p95",
        class: "p95",
    },
];

const QUEUE: &[Series<'static>] = &[
    Series {
        name: "queued",
        class: "queued",
    },
    Series {
        name: "in flight",
        class: "running",
    },
];

impl Window {
    /// The first bucket's start: buckets end with the one holding `now`.
    fn since(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let bucket = TimeDelta::from_std(self.bucket).unwrap_or(TimeDelta::minutes(1));
        let current = now.duration_trunc(bucket).unwrap_or(now);
        current - bucket * (self.buckets.saturating_sub(1) as i32)
    }

    fn starts(self, since: DateTime<Utc>) -> impl Iterator<Item = (u32, DateTime<Utc>)> {
        let bucket = TimeDelta::from_std(self.bucket).unwrap_or(TimeDelta::minutes(1));
        (0..self.buckets).map(move |i| (i, since + bucket * i as i32))
    }

    fn category(self, i: u32, start: DateTime<Utc>, values: Vec<Option<f64>>) -> Category {
        Category {
            axis: if i.is_multiple_of(self.label_every) {
                start.format("%H:%M").to_string()
            } else {
                String::new()
            },
            full: start.format("%Y-%m-%d %H:%M UTC").to_string(),
            values,
        }
    }
}

/// Outcomes per bucket, every bucket of the window present (zero where nothing happened).
fn outcome_chart(window: Window, since: DateTime<Utc>, rows: &[OutcomeBucket]) -> String {
    let by_start: HashMap<DateTime<Utc>, &OutcomeBucket> =
        rows.iter().map(|r| (r.start, r)).collect();
    let categories = window
        .starts(since)
        .map(|(i, start)| {
            let (p, f, r) = by_start
                .get(&start)
                .map_or((0, 0, 0), |b| (b.published, b.failed, b.retrying));
            window.category(
                i,
                start,
                vec![Some(p as f64), Some(f as f64), Some(r as f64)],
            )
        })
        .collect();
    svg::bars(&Chart {
        id: &format!("outcomes-{}", window.key),
        title: &format!(
            "Deliveries published, failed and retrying: {}",
            window.heading
        ),
        unit: "deliveries",
        series: OUTCOMES,
        categories,
    })
}

/// p50 and p95 publish latency per bucket; buckets without a publication have none.
fn latency_chart(window: Window, since: DateTime<Utc>, rows: &[LatencyBucket]) -> String {
    let by_start: HashMap<DateTime<Utc>, &LatencyBucket> =
        rows.iter().map(|r| (r.start, r)).collect();
    let categories = window
        .starts(since)
        .map(|(i, start)| {
            let values = by_start.get(&start).map_or(vec![None, None], |b| {
                vec![Some(b.p50_secs), Some(b.p95_secs)]
            });
            window.category(i, start, values)
        })
        .collect();
    svg::lines(&Chart {
        id: &format!("latency-{}", window.key),
        title: &format!(
            "Publish latency (due to published), p50 and p95: {}",
            window.heading
        ),
        unit: "s",
        series: LATENCY,
        categories,
    })
}

/// Queued and running deliveries per platform, from the tenant's delivery states.
fn queue_chart(by: &HashMap<(DeliveryState, Platform), i64>) -> String {
    let n = |s, p| by.get(&(s, p)).copied().unwrap_or(0) as f64;
    let categories = Platform::ALL
        .into_iter()
        .map(|p| Category {
            axis: p.display_name().to_owned(),
            full: p.display_name().to_owned(),
            values: vec![
                Some(n(DeliveryState::Queued, p)),
                Some(n(DeliveryState::Running, p)),
            ],
        })
        .collect();
    svg::bars(&Chart {
        id: "queue",
        title: "Queue depth (queued) and in flight (running) per platform, now",
        unit: "deliveries",
        series: QUEUE,
        categories,
    })
}

struct Figures {
    hour: (Vec<OutcomeBucket>, Vec<LatencyBucket>),
    day: (Vec<OutcomeBucket>, Vec<LatencyBucket>),
    counts: Counts,
}

async fn figures(
    state: &AppState,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Figures, StoreError> {
    let activity = state.inner.store.activity();
    let (hour_since, day_since) = (HOUR.since(now), DAY.since(now));
    let (ho, hl, d_o, dl, counts) = tokio::try_join!(
        activity.outcomes(tenant, hour_since, HOUR.bucket),
        activity.latency(tenant, hour_since, HOUR.bucket),
        activity.outcomes(tenant, day_since, DAY.bucket),
        activity.latency(tenant, day_since, DAY.bucket),
        counts(state, tenant),
    )?;
    Ok(Figures {
        hour: (ho, hl),
        day: (d_o, dl),
        counts,
    })
}

/// The charts' HTML: what the page embeds and the fragment route serves.
fn charts(figures: &Figures, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for (window, (outcomes, latency)) in [(HOUR, &figures.hour), (DAY, &figures.day)] {
        let since = window.since(now);
        out.push_str(&format!(
            "<h2>{}</h2><figure>{}</figure><figure>{}</figure>",
            esc(window.heading),
            outcome_chart(window, since, outcomes),
            latency_chart(window, since, latency),
        ));
    }
    out.push_str(&format!(
        "<h2>Queue now</h2><figure>{}</figure><p><small>Charts updated <time id=\"charts-at\" \
         datetime=\"{iso}\" data-published-last-hour=\"{published}\">{at}</time></small></p>",
        queue_chart(&figures.counts.by),
        published = esc(figures.counts.published_last_hour),
        iso = esc(now.to_rfc3339()),
        at = esc(now.format("%H:%M:%S UTC")),
    ));
    out
}

/// Fetches the charts again every few seconds and swaps them in, with the summary's count
/// of what was published in the last hour.
fn refresh_script() -> String {
    format!(
        r#"(function(){{
var box=document.getElementById('charts');if(!box||!window.fetch)return;
function again(){{fetch('/dashboard/overview/charts',{{credentials:'same-origin'}})
.then(function(r){{if(r.ok&&r.headers.get('content-type').indexOf('text/html')===0)return r.text();throw r.status;}})
.then(function(html){{box.innerHTML=html;box.removeAttribute('data-stale');
var n=box.querySelector('[data-published-last-hour]'),t=document.getElementById('published-last-hour');
if(n&&t)t.textContent=n.getAttribute('data-published-last-hour');}})
.catch(function(){{box.setAttribute('data-stale','true');}});}}
setInterval(again,{ms});
}})();"#,
        ms = REFRESH_SECS * 1000
    )
}

/// `GET /dashboard/overview/charts`: the overview's charts alone, for its refresh.
pub(super) async fn charts_fragment(State(state): State<AppState>, session: Session) -> Response {
    let now = Utc::now();
    match figures(&state, session.tenant_id, now).await {
        Ok(figures) => {
            let mut response = Html(charts(&figures, now)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => failed(&session, "read the charts' figures", &error),
    }
}

struct Counts {
    /// (state, platform) -> count.
    by: HashMap<(DeliveryState, Platform), i64>,
    published_last_hour: i64,
}

async fn counts(state: &AppState, tenant: TenantId) -> Result<Counts, StoreError> {
    let deliveries = state.inner.store.deliveries();
    let rows = deliveries.count_by_state(tenant).await?;
    let published_last_hour = deliveries
        .published_within(tenant, Duration::from_secs(3600))
        .await?;
    Ok(Counts {
        by: rows
            .into_iter()
            .map(|c| ((c.state, c.platform), c.count))
            .collect(),
        published_last_hour,
    })
}

/// `GET /dashboard`.
pub(super) async fn overview(State(state): State<AppState>, session: Session) -> Response {
    let now = Utc::now();
    let figures = match figures(&state, session.tenant_id, now).await {
        Ok(figures) => figures,
        Err(error) => return failed(&session, "count the deliveries", &error),
    };
    let counts = &figures.counts;
    let of_state = |s: DeliveryState| -> i64 {
        counts
            .by
            .iter()
            .filter(|((state, _), _)| *state == s)
            .map(|(_, n)| n)
            .sum()
    };
    let queue = match state.inner.queue.depth().await {
        Ok(d) => format!("{} waiting, {} scheduled", esc(d.waiting), esc(d.scheduled)),
        Err(_) => "unavailable (Redis does not answer)".to_owned(),
    };
    let mut body = format!(
        "<ul id=\"summary\"><li>Published in the last hour: <strong id=\"published-last-hour\">{}\
         </strong></li><li>Dead: <strong id=\"dead\">{}</strong> \
         (<a href=\"/dashboard/deliveries?state=dead\">list</a>)</li>\
         <li>Unknown outcome: <strong id=\"unknown\">{}</strong> \
         (<a href=\"/dashboard/deliveries?state=unknown\">list</a>)</li>\
         <li>Queue depth (all tenants): {queue}</li></ul>",
        esc(counts.published_last_hour),
        esc(of_state(DeliveryState::Dead)),
        esc(of_state(DeliveryState::Unknown)),
    );
    body.push_str(&format!(
        "<section id=\"charts\">{}</section>",
        charts(&figures, now)
    ));
    body.push_str(
        "<h2>Deliveries by state and platform</h2><table id=\"counts\"><tr><th>State</th>",
    );
    for p in Platform::ALL {
        body.push_str(&format!("<th>{}</th>", esc(p.as_str())));
    }
    body.push_str("<th>Total</th></tr>");
    for s in DeliveryState::ALL {
        let total = of_state(*s);
        if total == 0 {
            continue;
        }
        body.push_str(&format!(
            "<tr data-state=\"{st}\"><td><a href=\"/dashboard/deliveries?state={st}\">{b}</a></td>",
            st = esc(s.as_str()),
            b = badge(s.as_str())
        ));
        for p in Platform::ALL {
            let n = counts.by.get(&(*s, p)).copied().unwrap_or(0);
            body.push_str(&format!("<td>{}</td>", esc(n)));
        }
        body.push_str(&format!("<td>{}</td></tr>", esc(total)));
    }
    body.push_str("</table>");
    Page {
        title: "Overview",
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render_with_script(StatusCode::OK, &refresh_script())
}
