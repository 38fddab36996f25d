//! The posts pages: a search over the tenant's posts (by id, a piece of the text, a
//! metadata `key=value`, a connection) in cursor pages newest first, and a post with each of
//! its deliveries.
//!
//! A post's page shows its text as each target will receive it (the target's override, or
//! the post's) measured the way that platform measures it, against that platform's limit,
//! from the same content rules the API validates with (`herald_domain::rules`: X counts a
//! URL as 23, Threads an emoji as its bytes, Telegram's limit shrinks to a caption's with
//! media). What is over shows as over, so an operator sees why a post was refused.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use herald_domain::{ConnectionId, MediaRef, PostId, PostState};
use herald_store::{Connection, PostSearch, StoredPost};
use serde::Deserialize;

use super::Session;
use super::html::{Page, at, badge, esc, message, opt_at};
use super::pages::failed;
use crate::AppState;

const PAGE: i64 = 25;

/// The search form's fields, as given.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct SearchQuery {
    /// A post id.
    #[serde(default)]
    id: String,
    #[serde(default)]
    text: String,
    /// `key=value`.
    #[serde(default)]
    meta: String,
    #[serde(default)]
    connection: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    after: String,
}

impl SearchQuery {
    fn search(&self) -> Result<PostSearch, Vec<String>> {
        let mut search = PostSearch::default();
        let mut problems = Vec::new();
        let given = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        if let Some(v) = given(&self.id) {
            match v.parse::<PostId>() {
                Ok(id) => search.post_id = Some(id),
                Err(_) => problems.push(format!("id: `{v}` is not a post id (a UUID)")),
            }
        }
        if let Some(v) = given(&self.text) {
            if v.chars().count() > 500 {
                problems.push("text: search for at most 500 characters".to_owned());
            } else {
                search.text = Some(v);
            }
        }
        if let Some(v) = given(&self.meta) {
            match v.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => {
                    search.metadata = Some((key.trim().to_owned(), value.trim().to_owned()));
                }
                _ => problems.push(format!(
                    "meta: `{v}` is not key=value (for example campaign=spring or count=3)"
                )),
            }
        }
        if let Some(v) = given(&self.connection) {
            match v.parse::<ConnectionId>() {
                Ok(id) => search.connection_id = Some(id),
                Err(_) => problems.push(format!("connection: `{v}` is not a connection id")),
            }
        }
        for (field, value, slot) in [
            ("before", &self.before, &mut search.before),
            ("after", &self.after, &mut search.after),
        ] {
            if let Some(v) = given(value) {
                match v.parse::<PostId>() {
                    Ok(id) => *slot = Some(id),
                    Err(_) => problems.push(format!(
                        "{field}: `{v}` is not a post id (follow the Older and Newer links)"
                    )),
                }
            }
        }
        if problems.is_empty() {
            Ok(search)
        } else {
            Err(problems)
        }
    }

    fn query(&self, cursor: (&str, &str)) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("id", &self.id),
            ("text", &self.text),
            ("meta", &self.meta),
            ("connection", &self.connection),
        ] {
            if !v.trim().is_empty() {
                out.append_pair(k, v.trim());
            }
        }
        out.append_pair(cursor.0, cursor.1);
        out.finish()
    }
}

fn post_state(post: &StoredPost) -> PostState {
    PostState::of(post.deliveries.iter().map(|d| d.state))
}

/// The first `n` characters of a post's text, for a list.
fn excerpt(post: &StoredPost, n: usize) -> String {
    let text = post.content.text.as_deref().unwrap_or("");
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

/// `GET /dashboard/posts?id=&text=&meta=&connection=&before=&after=`.
pub(super) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<SearchQuery>,
) -> Response {
    let (status, problems, search) = match query.search() {
        Ok(search) => (StatusCode::OK, Vec::new(), Some(search)),
        Err(problems) => (StatusCode::BAD_REQUEST, problems, None),
    };
    let mut posts = Vec::new();
    let (mut newer, mut older) = (None, None);
    if let Some(search) = &search {
        let mut rows = match state
            .inner
            .store
            .posts()
            .search(session.tenant_id, search, PAGE + 1)
            .await
        {
            Ok(rows) => rows,
            Err(error) => return failed(&session, "search the posts", &error),
        };
        let extra = rows.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
        if search.after.is_some() {
            if extra {
                rows.remove(0);
            }
            newer = extra.then(|| rows.first().map(|p| p.id)).flatten();
            older = rows.last().map(|p| p.id);
        } else {
            if extra {
                rows.pop();
            }
            older = extra.then(|| rows.last().map(|p| p.id)).flatten();
            newer = search.before.and_then(|_| rows.first().map(|p| p.id));
        }
        posts = rows;
    }
    let mut body = String::new();
    for p in &problems {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(p)));
    }
    body.push_str(&format!(
        "<form method=\"get\" action=\"/dashboard/posts\" id=\"search\">\
         <label>Post id <input name=\"id\" size=\"38\" value=\"{}\"></label> \
         <label>Text <input name=\"text\" value=\"{}\"></label> \
         <label>Metadata <input name=\"meta\" placeholder=\"campaign=spring\" value=\"{}\">\
         </label> <label>Connection <input name=\"connection\" size=\"38\" value=\"{}\">\
         </label> <button type=\"submit\">Search</button></form>",
        esc(query.id.trim()),
        esc(query.text.trim()),
        esc(query.meta.trim()),
        esc(query.connection.trim()),
    ));
    if posts.is_empty() {
        body.push_str("<p id=\"no-posts\">No posts match.</p>");
    } else {
        body.push_str(
            "<table id=\"posts\"><tr><th>Post</th><th>Created</th><th>State</th>\
             <th>Targets</th><th>Text</th><th>Metadata</th><th>Publish at</th></tr>",
        );
        for p in &posts {
            let targets: Vec<&str> = p.deliveries.iter().map(|d| d.platform.as_str()).collect();
            body.push_str(&format!(
                "<tr data-post=\"{id}\"><td><a href=\"/dashboard/posts/{id}\">{id}</a></td>\
                 <td>{created}</td><td>{state}</td><td>{targets}</td><td>{text}</td>\
                 <td class=\"metadata\">{meta}</td><td>{publish}</td></tr>",
                id = esc(p.id),
                created = at(p.created_at),
                state = badge(post_state(p).as_str()),
                targets = esc(targets.join(", ")),
                text = esc(excerpt(p, 80)),
                meta = esc(serde_json::Value::Object(p.metadata.clone())),
                publish = opt_at(p.publish_at),
            ));
        }
        body.push_str("</table>");
    }
    let mut nav = String::new();
    if let Some(id) = newer {
        nav.push_str(&format!(
            "<a id=\"newer\" href=\"/dashboard/posts?{}\">Newer</a> ",
            esc(query.query(("after", &id.to_string())))
        ));
    }
    if let Some(id) = older {
        nav.push_str(&format!(
            "<a id=\"older\" href=\"/dashboard/posts?{}\">Older</a>",
            esc(query.query(("before", &id.to_string())))
        ));
    }
    body.push_str(&format!(
        "<p class=\"paging\">Newest first, {} a page. {nav}</p>",
        esc(PAGE)
    ));
    Page {
        title: "Posts",
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render(status)
}

fn not_found(session: &Session) -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such post.",
        Some(&session.csrf),
    )
}

fn account(c: &Connection) -> String {
    match (&c.account_name, &c.account_handle) {
        (Some(name), Some(handle)) => format!("{name} (@{handle})"),
        (Some(name), None) => name.clone(),
        (None, Some(handle)) => format!("@{handle}"),
        (None, None) => c.account_id.clone(),
    }
}

/// `GET /dashboard/posts/{id}`.
pub(super) async fn post(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<PostId>() else {
        return not_found(&session);
    };
    let store = &state.inner.store;
    let post = match store.posts().get(session.tenant_id, id).await {
        Ok(Some(post)) => post,
        Ok(None) => return not_found(&session),
        Err(error) => return failed(&session, "read the post", &error),
    };
    let connections: HashMap<ConnectionId, Connection> =
        match store.connections().list(session.tenant_id, None).await {
            Ok(list) => list.into_iter().map(|c| (c.id, c)).collect(),
            Err(error) => return failed(&session, "read the connections", &error),
        };
    let mut body = format!(
        "<table id=\"post\" data-post=\"{id}\"><tr><th>Outcome</th><td id=\"outcome\">{state}\
         </td></tr><tr><th>Created</th><td>{created}</td></tr>\
         <tr><th>Publish at</th><td id=\"publish-at\">{publish}</td></tr>\
         <tr><th>Metadata</th><td id=\"metadata\">{meta}</td></tr>\
         <tr><th>Idempotency key</th><td>{key}</td></tr></table>",
        id = esc(post.id),
        state = badge(post_state(&post).as_str()),
        created = at(post.created_at),
        publish = post
            .publish_at
            .map_or_else(|| "as soon as possible".to_owned(), at),
        meta = esc(serde_json::Value::Object(post.metadata.clone())),
        key = post.idempotency_key.as_deref().map(esc).unwrap_or_default(),
    );
    body.push_str(
        "<h2>Deliveries</h2><table id=\"targets\"><tr><th>Target</th><th>Platform</th>\
         <th>State</th><th>Remote URL</th><th>Error</th><th>Delivery</th></tr>",
    );
    for d in &post.deliveries {
        let target = connections
            .get(&d.connection_id)
            .map_or_else(|| d.connection_id.to_string(), account);
        let error = d
            .error
            .as_ref()
            .map(|e| {
                format!(
                    "{}: {}{}",
                    esc(e.class.as_str()),
                    esc(&e.message),
                    e.hint
                        .as_deref()
                        .map(|h| format!("<br><span class=\"hint\">Hint: {}</span>", esc(h)))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let url = d
            .public_url
            .as_deref()
            .filter(|u| crate::operator::is_http_url(u))
            .map(|u| format!("<a href=\"{u}\" rel=\"noreferrer\">{u}</a>", u = esc(u)))
            .unwrap_or_default();
        body.push_str(&format!(
            "<tr data-delivery=\"{id}\"><td>{target}</td><td>{platform}</td><td>{state}</td>\
             <td>{url}</td><td>{error}</td><td><a href=\"/dashboard/deliveries/{id}\">{id}</a>\
             </td></tr>",
            id = esc(d.id),
            target = esc(target),
            platform = esc(d.platform.as_str()),
            state = badge(d.state.as_str()),
        ));
    }
    body.push_str("</table><h2>Text as each platform counts it</h2>");
    body.push_str(&texts(&state, &post));
    body.push_str(&media(&state, &session, &post).await);
    Page {
        title: "Post",
        csrf: Some(&session.csrf),
        live_after: None,
        body,
    }
    .render(StatusCode::OK)
}

/// Each target's text (its override or the post's), part by part, with its length as the
/// platform counts it against the platform's limit.
fn texts(state: &AppState, post: &StoredPost) -> String {
    let rules = &state.inner.config.rules;
    let mut out = String::from(
        "<table id=\"texts\"><tr><th>Platform</th><th>Part</th><th>Text</th>\
         <th>Length</th></tr>",
    );
    for d in &post.deliveries {
        let content = d.content.as_ref().unwrap_or(&post.content);
        let text_rules = &rules.for_platform(d.platform).text;
        let with_media = !content.media.is_empty();
        for (n, part) in content.parts().enumerate() {
            let limit = if n == 0 {
                text_rules.limit(with_media)
            } else {
                text_rules.max_length
            };
            let count = text_rules.counting.count(part);
            let over = count > limit;
            out.push_str(&format!(
                "<tr data-delivery=\"{id}\" data-platform=\"{platform}\"><td>{platform}</td>\
                 <td>{part_no}</td><td class=\"text\">{text}</td>\
                 <td class=\"count{over_class}\">{count} / {limit}{over_text}</td></tr>",
                id = esc(d.id),
                platform = esc(d.platform.as_str()),
                part_no = esc(n + 1),
                text = esc(part),
                over_class = if over { " over" } else { "" },
                count = esc(count),
                limit = esc(limit),
                over_text = if over { " (over the limit)" } else { "" },
            ));
        }
    }
    out.push_str("</table>");
    out
}

/// The post's media: kind, size, dimensions and a link to the file.
async fn media(state: &AppState, session: &Session, post: &StoredPost) -> String {
    if post.content.media.is_empty() {
        return "<h2>Media</h2><p>None.</p>".to_owned();
    }
    let mut out = String::from(
        "<h2>Media</h2><table id=\"media\"><tr><th>#</th><th>Kind</th><th>Size</th>\
         <th>Dimensions</th><th>File</th></tr>",
    );
    let config = &state.inner.config;
    for (n, item) in post.content.media.iter().enumerate() {
        let row = match item {
            MediaRef::Url { url } => format!(
                "<td>fetched at publish time</td><td>—</td><td>—</td><td>{}</td>",
                if crate::operator::is_http_url(url) {
                    format!("<a href=\"{u}\" rel=\"noreferrer\">{u}</a>", u = esc(url))
                } else {
                    esc(url)
                }
            ),
            MediaRef::Stored { media_id } => {
                let files = state.inner.store.media();
                match files.get(session.tenant_id, *media_id).await {
                    Ok(Some(file)) => {
                        let link = files
                            .signed_url(
                                file.id,
                                config.public_url.as_str(),
                                config.media.url_ttl,
                                config.media.url_max_ttl,
                            )
                            .await
                            .ok()
                            .flatten()
                            .map(|s| format!("<a href=\"{}\">{}</a>", esc(s.url), esc(file.id)))
                            .unwrap_or_else(|| esc(file.id));
                        format!(
                            "<td>{} ({})</td><td>{} bytes</td><td>{}×{}</td><td>{link}</td>",
                            esc(file.kind.as_str()),
                            esc(&file.content_type),
                            esc(file.bytes),
                            esc(file.width),
                            esc(file.height),
                        )
                    }
                    Ok(None) => format!(
                        "<td colspan=\"4\">media {} is gone (expired or deleted)</td>",
                        esc(media_id)
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "dashboard: read a post's media");
                        "<td colspan=\"4\">could not be read</td>".to_owned()
                    }
                }
            }
        };
        out.push_str(&format!("<tr><td>{}</td>{row}</tr>", esc(n + 1)));
    }
    out.push_str("</table>");
    out
}
