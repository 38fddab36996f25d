//! The CLI as a producer: posts, deliveries and connections through Herald's HTTP API with
//! an API key, so the API's validation, tenant scoping and enqueueing apply exactly as they
//! do to any other producer. The key goes into the `Authorization` header only: it is never
//! printed, logged or part of an error.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use herald_config::Config;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::output::{self, Format, cell};

/// Where the API is and which key to call it with.
#[derive(Debug, clap::Args)]
pub(crate) struct Connection {
    /// The API's base URL (default: the configuration's public_url).
    #[arg(long, env = "HERALD_API_URL", value_name = "URL")]
    api_url: Option<String>,
    /// The API key to call it with. Prefer the environment variable: a command line is
    /// visible to other users of the machine.
    #[arg(
        long,
        env = "HERALD_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    key: Option<SecretString>,
}

/// How long one request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one Herald API, authenticated with one key.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    authorization: HeaderValue,
}

/// An answer of the API that is not a success, as its problem document describes it.
#[derive(Debug, thiserror::Error)]
#[error("{}", render_problem(*.status, .problem))]
pub(crate) struct ApiError {
    status: u16,
    problem: Value,
}

impl Client {
    /// `file` is the configuration file, read only when no API URL is given.
    pub(crate) fn new(
        connection: Connection,
        file: Option<&std::path::Path>,
    ) -> anyhow::Result<Client> {
        let base = match connection.api_url {
            Some(url) => url,
            None => Config::load(file)
                .context("no --api-url (HERALD_API_URL) and the configuration's public_url cannot be read")?
                .public_url
                .to_string(),
        };
        let base = herald_config::BaseUrl::parse(&base)
            .map_err(|rule| anyhow::anyhow!("--api-url (HERALD_API_URL): {rule}"))?;
        let key = connection.key.context(
            "no API key: give --key or set HERALD_API_KEY (create one with `herald tenants create` or `herald keys create`)",
        )?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| anyhow::anyhow!("--key (HERALD_API_KEY): is not a valid API key"))?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            base: base.to_string(),
            authorization,
        })
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let request = self.http.get(format!("{}{path}", self.base)).query(query);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            // Without the URL: it is ours, and the error then names only what went wrong.
            .map_err(|err| {
                anyhow::Error::from(err.without_url())
                    .context(format!("cannot reach the API at {}", self.base))
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("the API's answer ({status}) could not be read"))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            if body.is_null() {
                anyhow::bail!("the API answered {status} with no JSON document");
            }
            return Ok(body);
        }
        Err(ApiError {
            status: status.as_u16(),
            problem: body,
        }
        .into())
    }
}

/// A problem document as lines: the title and status, the detail, each field error.
fn render_problem(status: u16, problem: &Value) -> String {
    let text = |field: &str| problem.get(field).and_then(Value::as_str);
    let mut out = format!(
        "the API refused the request: {} ({status})",
        text("title").unwrap_or("no problem document")
    );
    if let Some(detail) = text("detail") {
        out.push_str(&format!("\n  {detail}"));
    }
    if let Some(hint) = text("hint") {
        out.push_str(&format!("\n  hint: {hint}"));
    }
    for error in problem
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = error.get("field").and_then(Value::as_str).unwrap_or("-");
        let message = error.get("message").and_then(Value::as_str).unwrap_or("");
        let code = error.get("code").and_then(Value::as_str);
        out.push_str(&format!("\n  - {field}: {message}"));
        if let Some(code) = code {
            out.push_str(&format!(" ({code})"));
        }
    }
    out
}

/// What `herald posts create` sends.
#[derive(Debug, clap::Args)]
pub(crate) struct NewPost {
    /// The text of the post.
    #[arg(long)]
    text: Option<String>,
    /// A connection to publish to; repeat for several.
    #[arg(long = "target", value_name = "CONNECTION_ID")]
    targets: Vec<String>,
    /// When to publish (RFC 3339, e.g. 2030-01-01T09:00:00Z); default: now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    publish_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// The whole request body (JSON, as POST /v1/posts takes it) from a file, or `-` for
    /// stdin; --text, --target and --publish-at then add to it.
    #[arg(long, value_name = "FILE")]
    json_body: Option<PathBuf>,
    /// Makes a retried command safe: the same key and body give the original post.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

pub(crate) async fn create_post(
    client: &Client,
    post: NewPost,
    format: Format,
) -> anyhow::Result<()> {
    let body = post_body(&post)?;
    let mut request = client
        .http
        .post(format!("{}/v1/posts", client.base))
        .json(&body);
    if let Some(key) = &post.idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let created = client.send(request).await?;
    output::emit(format, &created, || show_post(&created));
    Ok(())
}

/// The request body: the `--json-body` document, if any, with the flags on top.
fn post_body(post: &NewPost) -> anyhow::Result<Value> {
    let mut body = match &post.json_body {
        None => json!({}),
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("--json-body -: cannot read stdin")?;
                text
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("--json-body: cannot read {}", path.display()))?
            };
            serde_json::from_str(&text).context("--json-body: is not a JSON document")?
        }
    };
    let Some(object) = body.as_object_mut() else {
        anyhow::bail!("--json-body: must be a JSON object, as POST /v1/posts takes");
    };
    if let Some(text) = &post.text {
        object.insert("text".into(), json!(text));
    }
    if let Some(publish_at) = &post.publish_at {
        object.insert("publish_at".into(), json!(publish_at.to_rfc3339()));
    }
    if !post.targets.is_empty() {
        let targets = object.entry("targets").or_insert_with(|| json!([]));
        let Some(targets) = targets.as_array_mut() else {
            anyhow::bail!("--json-body: `targets` must be a list");
        };
        targets.extend(post.targets.iter().map(|t| json!(t)));
    }
    Ok(body)
}

pub(crate) async fn get_post(client: &Client, id: &str, format: Format) -> anyhow::Result<()> {
    let post = client
        .get(&format!("/v1/posts/{}", segment(id)), &[])
        .await?;
    output::emit(format, &post, || show_post(&post));
    Ok(())
}

/// The filters and paging of a list.
#[derive(Debug, clap::Args)]
pub(crate) struct Page {
    /// Only these states (comma-separated).
    #[arg(long)]
    state: Option<String>,
    /// Only those created at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only those created before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// At most this many.
    #[arg(long)]
    limit: Option<u32>,
    /// Continue from the `next_cursor` of a previous page.
    #[arg(long)]
    cursor: Option<String>,
}

impl Page {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        let mut add = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                query.push((name, value));
            }
        };
        add("state", self.state.clone());
        add("since", self.since.clone());
        add("until", self.until.clone());
        add("limit", self.limit.map(|l| l.to_string()));
        add("cursor", self.cursor.clone());
        query
    }
}

pub(crate) async fn list_posts(client: &Client, page: &Page, format: Format) -> anyhow::Result<()> {
    let posts = client.get("/v1/posts", &page.query()).await?;
    output::emit(format, &posts, || {
        let rows: Vec<Vec<String>> = output::data(&posts)
            .iter()
            .map(|p| {
                let deliveries = p
                    .get("deliveries")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                vec![
                    cell(p, "id"),
                    cell(p, "state"),
                    cell(p, "publish_at"),
                    cell(p, "created_at"),
                    deliveries.to_string(),
                ]
            })
            .collect();
        output::table(
            &["ID", "STATE", "PUBLISH AT", "CREATED", "DELIVERIES"],
            &rows,
        ) + &output::next_page(&posts)
    });
    Ok(())
}

/// `herald deliveries list`: the posts' filters, and a few of its own.
#[derive(Debug, clap::Args)]
pub(crate) struct DeliveryFilter {
    #[command(flatten)]
    page: Page,
    /// Only this post's deliveries.
    #[arg(long, value_name = "POST_ID")]
    post: Option<String>,
    /// Only this platform's (twitter, linkedin, facebook, instagram, threads, telegram).
    #[arg(long)]
    platform: Option<String>,
    /// Only this connection's.
    #[arg(long, value_name = "CONNECTION_ID")]
    connection: Option<String>,
}

pub(crate) async fn list_deliveries(
    client: &Client,
    filter: &DeliveryFilter,
    format: Format,
) -> anyhow::Result<()> {
    let mut query = filter.page.query();
    for (name, value) in [
        ("post", &filter.post),
        ("platform", &filter.platform),
        ("connection", &filter.connection),
    ] {
        if let Some(value) = value {
            query.push((name, value.clone()));
        }
    }
    let deliveries = client.get("/v1/deliveries", &query).await?;
    output::emit(format, &deliveries, || {
        delivery_table(output::data(&deliveries)) + &output::next_page(&deliveries)
    });
    Ok(())
}

pub(crate) async fn list_connections(client: &Client, format: Format) -> anyhow::Result<()> {
    let connections = client.get("/v1/connections", &[]).await?;
    output::emit(format, &connections, || {
        let rows: Vec<Vec<String>> = output::data(&connections)
            .iter()
            .map(|c| {
                let account = c.get("account").cloned().unwrap_or(Value::Null);
                let name = match (account.get("handle"), account.get("name")) {
                    (Some(Value::String(handle)), _) => handle.clone(),
                    (_, Some(Value::String(name))) => name.clone(),
                    _ => cell(&account, "id"),
                };
                vec![
                    cell(c, "id"),
                    cell(c, "platform"),
                    name,
                    cell(c, "target"),
                    cell(c, "status"),
                ]
            })
            .collect();
        output::table(&["ID", "PLATFORM", "ACCOUNT", "TARGET", "STATUS"], &rows)
            + &output::next_page(&connections)
    });
    Ok(())
}

/// A post and its deliveries, for a person.
fn show_post(post: &Value) -> String {
    let deliveries = post
        .get("deliveries")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    format!(
        "post {}  {}  publish at {}\n{}",
        cell(post, "id"),
        cell(post, "state"),
        cell(post, "publish_at"),
        delivery_table(deliveries)
    )
}

fn delivery_table(deliveries: &[Value]) -> String {
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|d| {
            let outcome = match d.get("error") {
                Some(error @ Value::Object(_)) => cell(error, "message"),
                _ => cell(d, "url"),
            };
            vec![
                cell(d, "id"),
                cell(d, "platform"),
                cell(d, "connection_id"),
                cell(d, "state"),
                format!("{}/{}", cell(d, "attempts"), cell(d, "max_attempts")),
                outcome,
            ]
        })
        .collect();
    output::table(
        &[
            "DELIVERY",
            "PLATFORM",
            "CONNECTION",
            "STATE",
            "ATTEMPTS",
            "URL / ERROR",
        ],
        &rows,
    )
}

/// A time as the API takes it, refused before any request when it is not one.
fn parse_time(value: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map_err(|err| format!("not an RFC 3339 time such as 2030-01-01T09:00:00Z ({err})"))
}

/// An id as one URL path segment: whatever it holds, it cannot reach another route.
fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_shows_its_title_detail_and_every_field_error() {
        let problem = json!({
            "title": "Validation failed",
            "status": 422,
            "detail": "2 problems",
            "errors": [
                {"field": "targets[0]", "code": "connection.unknown", "message": "no such connection"},
                {"field": "text", "code": "text.too_long", "message": "at most 280 characters"}
            ]
        });
        assert_eq!(
            render_problem(422, &problem),
            "the API refused the request: Validation failed (422)\n  2 problems\n  \
             - targets[0]: no such connection (connection.unknown)\n  \
             - text: at most 280 characters (text.too_long)"
        );
        assert_eq!(
            render_problem(502, &Value::Null),
            "the API refused the request: no problem document (502)"
        );
    }

    #[test]
    fn flags_add_to_the_json_body() {
        let post = NewPost {
            text: Some("hello".into()),
            targets: vec!["c1".into(), "c2".into()],
            publish_at: Some(parse_time("2030-01-01T09:00:00Z").unwrap()),
            json_body: None,
            idempotency_key: None,
        };
        assert_eq!(
            post_body(&post).unwrap(),
            json!({"text": "hello", "targets": ["c1", "c2"], "publish_at": "2030-01-01T09:00:00+00:00"})
        );
        assert_eq!(segment("a/../b"), "a%2F..%2Fb");
        assert!(parse_time("tomorrow").is_err());
    }
}
