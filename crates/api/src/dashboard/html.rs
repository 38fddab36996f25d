//! The dashboard's HTML: one layout, a few fragments, and [`esc`], through which every
//! interpolated value goes (ids and numbers included, so no call site has to decide what is
//! safe).

use std::fmt::Display;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::security::{PagePolicy, page};

tokio::task_local! {
    /// Who the request's session is signed in as (the key's name), for the page header.
    pub(crate) static SIGNED_IN_AS: String;
}

/// Escapes text for an HTML element or a double- or single-quoted attribute.
pub(crate) fn esc(value: impl Display) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time as shown on every page.
pub(crate) fn at(time: DateTime<Utc>) -> String {
    esc(time.format("%Y-%m-%d %H:%M:%S UTC"))
}

pub(crate) fn opt_at(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(|| "—".to_owned(), at)
}

/// A state badge; the live script finds it by its class and rewrites it.
pub(crate) fn badge(state: &str) -> String {
    format!("<span class=\"badge s-{s}\">{s}</span>", s = esc(state))
}

/// The CSRF field every form carries.
pub(crate) fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222}\
header{background:#223;color:#fff;padding:.6em 1em;display:flex;gap:1.2em;align-items:center}\
header a{color:#fff}header form{margin-left:auto}main{padding:1em}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}\
.badge{padding:.1em .4em;border-radius:.3em;background:#ddd}.s-published{background:#bfb}\
.s-failed,.s-dead{background:#fbb}.s-unknown{background:#fd8}.s-running{background:#bdf}\
.notice{background:#eef;padding:.5em}.error{background:#fee;padding:.5em}\
figure{margin:.5em 0}.chart{width:100%;max-width:760px;height:auto;display:block}\
.chart text{font-size:11px;fill:#333}.chart .empty{fill:#888;font-style:italic}\
.chart .axis{stroke:#666}.chart .grid{stroke:#e4e4e4}\
.chart .published{fill:#2e9e4f}.chart .failed{fill:#d0453f}.chart .retrying{fill:#e8a23a}\
.chart .queued{fill:#8f9bd6}.chart .running{fill:#2f72c9}\
.chart .p50{fill:#2f72c9;stroke:#2f72c9}.chart .p95{fill:#8e44ad;stroke:#8e44ad}\
.chart polyline.line{fill:none;stroke-width:1.5}\
.chart.timeline{max-width:1100px}.chart .row-label{font-size:12px}.chart .window{fill:#f3c6c3;stroke:#d0453f}\
.chart .window.open{fill:#eaf5ea;stroke:#9c9}.chart .now{stroke:#d0453f;stroke-dasharray:3 3}\
.chart .mark{stroke:#222;stroke-width:.5}.chart .mark.s-scheduled{fill:#2f72c9}\
.chart .mark.s-queued,.chart .mark.s-retrying,.chart .mark.s-rate_limited{fill:#e8a23a}\
.chart .mark.delayed{fill:#d0453f}";

/// The live-update script: subscribes to `/dashboard/events` and rewrites the state badges
/// of the deliveries on the page (rows carry `data-delivery`).
const SCRIPT: &str = r#"(function(){
if(!window.EventSource)return;
var after=document.body.getAttribute('data-after')||'0';
var live=document.getElementById('live');
var es=new EventSource('/dashboard/events?after='+encodeURIComponent(after));
es.onopen=function(){if(live)live.textContent='live';};
es.onerror=function(){if(live)live.textContent='reconnecting';};
var states=['scheduled','queued','running','retrying','rate_limited','published','failed','dead','unknown','cancelled'];
states.forEach(function(s){es.addEventListener('delivery.'+s,function(e){
var d;try{d=JSON.parse(e.data);}catch(_){return;}
if(typeof d.delivery_id!=='string'||!/^[0-9a-f-]+$/.test(d.delivery_id))return;
var rows=document.querySelectorAll('[data-delivery="'+d.delivery_id+'"]');
rows.forEach(function(row){row.querySelectorAll('.badge').forEach(function(b){
b.textContent=d.to;b.className='badge s-'+d.to;});});
if(!rows.length){var n=document.getElementById('unseen');
if(n){n.hidden=false;var c=n.querySelector('span');c.textContent=String(1+Number(c.textContent));}}
});});
})();"#;

/// A whole page. `body` is already-built HTML; everything else is escaped here.
pub(crate) struct Page<'a> {
    pub(crate) title: &'a str,
    /// The signed-in session's CSRF token (for the sign-out form); `None` on sign-in.
    pub(crate) csrf: Option<&'a str>,
    /// The last event id when the page was built: the live script resumes after it.
    pub(crate) live_after: Option<i64>,
    pub(crate) body: String,
}

impl Page<'_> {
    pub(crate) fn render(self, status: StatusCode) -> Response {
        self.render_inner(status, None)
    }

    /// The page with one more inline script of its own, run by the page's nonce.
    pub(crate) fn render_with_script(self, status: StatusCode, script: &str) -> Response {
        self.render_inner(status, Some(script))
    }

    fn render_inner(self, status: StatusCode, own_script: Option<&str>) -> Response {
        let nav = match self.csrf {
            Some(token) => format!(
                "<a href=\"/dashboard\">Overview</a><a href=\"/dashboard/posts\">Posts</a><a href=\"/dashboard/deliveries\">Deliveries</a>\
                 <a href=\"/dashboard/schedule\">Schedule</a>\
                 <a href=\"/dashboard/connections\">Connections</a>\
                 <form method=\"post\" action=\"/dashboard/logout\">{who}{}\
                 <button type=\"submit\">Sign out</button></form>",
                csrf_field(token),
                who = SIGNED_IN_AS
                    .try_with(|name| format!("<span id=\"signed-in-as\">{}</span> ", esc(name)))
                    .unwrap_or_default(),
            ),
            None => String::new(),
        };
        let body = self.body;
        let title = esc(self.title);
        let live_after = self.live_after;
        // Inline script and style run by the nonce of this response (see `security`); the
        // markup itself holds no handler or style attribute.
        let mut response = page(status, PagePolicy::Dashboard, |nonce| {
            let (after, script) = match live_after {
                Some(id) => (
                    format!(" data-after=\"{}\"", esc(id)),
                    format!(
                        "<p><small>Updates: <span id=\"live\">off</span></small></p>\
                         <script nonce=\"{nonce}\">{SCRIPT}</script>"
                    ),
                ),
                None => (String::new(), String::new()),
            };
            let own = own_script
                .map(|code| format!("<script nonce=\"{nonce}\">{code}</script>"))
                .unwrap_or_default();
            format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width\">\
                 <title>{title} · Herald</title><style nonce=\"{nonce}\">{STYLE}</style></head>\
                 <body{after}><header><strong>Herald</strong>{nav}</header>\
                 <main><h1>{title}</h1>{body}{script}{own}</main></body></html>"
            )
        });
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The sign-in form, with a message when the last try failed.
pub(crate) fn sign_in(status: StatusCode, message: Option<&str>) -> Response {
    let message = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    Page {
        title: "Sign in",
        csrf: None,
        live_after: None,
        body: format!(
            "{message}<form method=\"post\" action=\"/dashboard/login\">\
             <label>Admin API key <input type=\"password\" name=\"key\" autocomplete=\"off\" \
             required></label> <button type=\"submit\">Sign in</button></form>"
        ),
    }
    .render(status)
}

/// A page that only says something went wrong (or what was refused).
pub(crate) fn message(status: StatusCode, title: &str, text: &str, csrf: Option<&str>) -> Response {
    Page {
        title,
        csrf,
        live_after: None,
        body: format!(
            "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/dashboard\">Back to the \
             overview</a></p>",
            esc(text)
        ),
    }
    .render(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_interpolated_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(
            badge("<b>"),
            "<span class=\"badge s-&lt;b&gt;\">&lt;b&gt;</span>"
        );
    }
}
