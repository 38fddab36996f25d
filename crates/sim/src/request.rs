//! Reading requests the way the platforms accept them.
//!
//! Graph, Threads and Telegram take parameters from the query string, a form body, a JSON
//! body or multipart fields interchangeably; [`Params`] merges them (body wins) so each
//! handler reads one map. Files from multipart bodies are kept apart. JSON values that are
//! not strings are kept as their JSON text, which is how Graph reads `attached_media` and
//! `children` whichever way they were sent.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

/// The largest request body the simulator reads (bigger than every platform limit, so the
/// platform's own "too large" answer is what a client sees).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// A file from a multipart body.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) bytes: Bytes,
}

/// Parameters from the query string and the body.
#[derive(Debug, Default)]
pub(crate) struct Params {
    fields: HashMap<String, String>,
    files: HashMap<String, Upload>,
}

impl Params {
    /// Reads the query string and the body, whatever its encoding.
    pub(crate) async fn read(req: Request) -> Result<(HeaderMap, Params), String> {
        let mut params = Params {
            fields: query_map(req.uri().query()),
            files: HashMap::new(),
        };
        let headers = req.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(req, &())
                .await
                .map_err(|e| e.body_text())?;
            while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
                let name = field.name().unwrap_or_default().to_owned();
                let is_file = field.file_name().is_some()
                    || field
                        .content_type()
                        .is_some_and(|ct| !ct.starts_with("text/plain"));
                let bytes = field.bytes().await.map_err(|e| e.body_text())?;
                match (is_file, String::from_utf8(bytes.to_vec())) {
                    (false, Ok(text)) => {
                        params.fields.insert(name, text);
                    }
                    _ => {
                        params.files.insert(name, Upload { bytes });
                    }
                }
            }
            return Ok((headers, params));
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|e| e.to_string())?;
        if body.is_empty() {
            return Ok((headers, params));
        }
        if content_type.starts_with("application/json") {
            let value: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let Value::Object(map) = value else {
                return Err("the JSON body must be an object".to_owned());
            };
            for (key, value) in map {
                match value {
                    Value::Null => {}
                    Value::String(text) => {
                        params.fields.insert(key, text);
                    }
                    other => {
                        params.fields.insert(key, other.to_string());
                    }
                }
            }
        } else {
            for (key, value) in url::form_urlencoded::parse(&body) {
                params.fields.insert(key.into_owned(), value.into_owned());
            }
        }
        Ok((headers, params))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// A non-empty value.
    pub(crate) fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn file(&self, key: &str) -> Option<&Upload> {
        self.files.get(key)
    }

    pub(crate) fn fields(&self) -> &HashMap<String, String> {
        &self.fields
    }

    /// A boolean the way Graph and Telegram read one (`true`, `1`).
    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        self.get(key)
            .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
    }
}

/// Decodes a query string into a map (the last value of a repeated key wins).
pub(crate) fn query_map(query: Option<&str>) -> HashMap<String, String> {
    query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The bearer token of the `Authorization` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The client id and secret of an `Authorization: Basic` header.
pub(crate) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    // RFC 6749 2.3.1: both parts are form-urlencoded before encoding.
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// `http://host:port` as the client reached the simulator, for URLs the simulator hands
/// out (LinkedIn upload URLs).
pub(crate) fn origin(headers: &HeaderMap, configured: Option<&str>) -> String {
    if let Some(base) = configured {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A JSON response with another content type (X's `application/problem+json`).
pub(crate) fn json_as(status: StatusCode, content_type: &'static str, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        value.to_string(),
    )
        .into_response()
}

/// A random string from `[A-Za-z0-9]`.
pub(crate) fn random_token(len: usize) -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
