//! The overview page: deliveries by state and platform, what was published lately, and
//! the queue.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use herald_domain::{DeliveryState, Platform, TenantId};
use herald_store::StoreError;

use super::Session;
use super::html::{Page, badge, esc};
use super::pages::failed;
use crate::AppState;

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
    let counts = match counts(&state, session.tenant_id).await {
        Ok(counts) => counts,
        Err(error) => return failed(&session, "count the deliveries", &error),
    };
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
    .render(StatusCode::OK)
}
