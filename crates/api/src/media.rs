//! Media: `POST /v1/media` (multipart upload), `GET /v1/media/{id}`, and the signed public
//! URLs `GET /media/{id}?expires=..&sig=..` that platforms fetch images from.
//!
//! An upload is read up to `media.max_bytes` (a larger one is refused as it streams in,
//! never buffered whole), recognised by its bytes, not its name or declared type (JPEG, PNG,
//! GIF or WebP), decoded once under `media.max_pixels` and its memory bound
//! (`ImageInfo::verify`) so that the pixels it records are the pixels the file has, written
//! to the media store under a content-independent key, and recorded in Postgres with its
//! format, size, pixels and SHA-256. Per-platform image rules are applied when a post uses
//! it, because they depend on where it goes.
//!
//! Signed URLs live at most `media.url_max_ttl_secs`: one whose expiry is further ahead is
//! refused like a bad signature.
//!
//! The bytes go to `herald_store::MediaStore`, the one media store the worker reads from
//! too: the local directory (`media.dir`) today; an S3-compatible bucket is the production
//! option (configuration is recognised, the API refuses to start with it until it is
//! built). Signed URLs are minted and checked by `herald_store::MediaFiles`, so the worker
//! can mint one for Instagram and Threads.

use axum::Json;
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use herald_domain::{DecodeLimits, ImageInfo, MediaId, Scope, VerifyError};
use herald_store::{MediaFile, MediaStore, NewMedia};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, FieldError, parse_id};

pub(crate) fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/media", post(upload))
        .route("/media/{id}", get(get_media))
}

pub(crate) fn public_routes() -> Router<AppState> {
    Router::new().route("/media/{id}", get(serve))
}

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaOut {
    /// Use as `{"media_id": ...}` in a post.
    #[schema(format = Uuid)]
    pub id: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub sha256: String,
    pub filename: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A signed URL that serves the file until `url_expires_at`.
    #[schema(format = Uri)]
    pub url: String,
    pub url_expires_at: DateTime<Utc>,
}

async fn media_out(state: &AppState, file: &MediaFile) -> Result<MediaOut, ApiError> {
    let signed = state
        .inner
        .store
        .media()
        .signed_url(
            file.id,
            state.inner.config.public_url.as_str(),
            state.inner.config.media.url_ttl,
            state.inner.config.media.url_max_ttl,
        )
        .await?
        .ok_or(ApiError::NotFound { what: "media" })?;
    Ok(MediaOut {
        id: file.id.to_string(),
        content_type: file.content_type.clone(),
        bytes: file.bytes,
        width: file.width,
        height: file.height,
        sha256: file.sha256.iter().map(|b| format!("{b:02x}")).collect(),
        filename: file.filename.clone(),
        created_at: file.created_at,
        url: signed.url,
        url_expires_at: signed.expires_at,
    })
}

/// The multipart form `POST /v1/media` reads, for the OpenAPI description (the handler
/// streams the parts itself).
#[derive(Debug, ToSchema)]
pub struct MediaUpload {
    /// The image: JPEG, PNG, GIF or WebP, at most `media.max_bytes`. Its file name is kept.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// Upload an image (multipart/form-data, the file in a field named `file`).
#[utoipa::path(post, path = "/v1/media", tag = "media",
    request_body(content = MediaUpload, content_type = "multipart/form-data",
        description = "A `file` field with a JPEG, PNG, GIF or WebP image"),
    responses((status = 201, body = MediaOut), (status = 413, body = crate::Problem),
        (status = 415, description = "Not an image Herald recognises", body = crate::Problem),
        (status = 422, description = "An image with more pixels than `media.max_pixels` \
            (`image.too_many_pixels`), or whose data does not decode (`image.corrupt`)", body = crate::Problem)),
    security(("api_key" = ["publish"])))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Publish)?;
    let mut multipart = multipart.map_err(|_| ApiError::UnsupportedMediaType {
        detail: "upload the file as multipart/form-data in a field named `file`".to_owned(),
    })?;
    let max = usize::try_from(state.inner.config.media.max_bytes).unwrap_or(usize::MAX);
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit: max }
        } else {
            ApiError::bad_request("invalid_multipart", e.body_text())
        }
    };
    let mut found = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field
            .file_name()
            .map(|n| {
                n.chars()
                    .filter(|c| !c.is_control())
                    .take(255)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len() + chunk.len() > max {
                return Err(ApiError::TooLarge { limit: max });
            }
            bytes.extend_from_slice(&chunk);
        }
        found = Some((filename, bytes));
        break;
    }
    let Some((filename, bytes)) = found else {
        return Err(ApiError::bad_request(
            "missing_file",
            "no field named `file` in the upload",
        ));
    };
    let limits = DecodeLimits::for_pixels(state.inner.config.media.max_pixels);
    let (bytes, verified) = tokio::task::spawn_blocking(move || {
        let verified = ImageInfo::verify(&bytes, limits);
        (bytes, verified)
    })
    .await
    .map_err(|e| ApiError::internal("image decoding", &e))?;
    let info = verified.map_err(upload_refusal)?;
    let id = MediaId::new();
    let key = MediaStore::key(caller.tenant_id, id, info.format.as_str());
    state
        .inner
        .media
        .put(&key, &bytes)
        .await
        .map_err(|e| ApiError::internal("media store", &e))?;
    let file = state
        .inner
        .store
        .media()
        .insert(&NewMedia {
            id,
            tenant_id: caller.tenant_id,
            content_type: info.format.mime_type().to_owned(),
            bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            width: i32::try_from(info.width).unwrap_or(i32::MAX),
            height: i32::try_from(info.height).unwrap_or(i32::MAX),
            sha256: Sha256::digest(&bytes).into(),
            storage_key: key,
            filename,
            video: None,
            derived: None,
            expires_at: None,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(media_out(&state, &file).await?)).into_response())
}

/// Why an upload is not stored: 415 for what is not a recognisable image (as before any
/// decoding), 422 naming the `file` field and the rule for an image that lies about its size
/// or does not decode.
fn upload_refusal(error: VerifyError) -> ApiError {
    match error {
        VerifyError::Unreadable(e) => ApiError::UnsupportedMediaType {
            detail: format!("the file is {e}; Herald accepts JPEG, PNG, GIF and WebP images"),
        },
        other => ApiError::invalid(vec![FieldError::new(
            "file",
            other.rule().as_str(),
            other.to_string(),
        )]),
    }
}

/// An uploaded file, with a fresh signed URL.
#[utoipa::path(get, path = "/v1/media/{id}", tag = "media",
    params(("id" = uuid::Uuid, Path, description = "Media id")),
    responses((status = 200, body = MediaOut), (status = 404, body = crate::Problem)),
    security(("api_key" = ["read"])))]
pub(crate) async fn get_media(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MediaOut>, ApiError> {
    caller.require(Scope::Read)?;
    let id: MediaId = parse_id(&id, "media")?;
    let file = state
        .inner
        .store
        .media()
        .get(caller.tenant_id, id)
        .await?
        .ok_or(ApiError::NotFound { what: "media" })?;
    Ok(Json(media_out(&state, &file).await?))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Signature {
    expires: Option<i64>,
    sig: Option<String>,
}

/// `GET /media/{id}?expires=..&sig=..`: the file, to whoever holds a valid signed URL whose
/// expiry is neither past nor further ahead than `media.url_max_ttl_secs`. Every failure is
/// the same 404, so a URL reveals nothing about other files.
pub(crate) async fn serve(
    State(state): State<AppState>,
    path: Result<ApiPath<String>, ApiError>,
    query: Result<Query<Signature>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let not_found = ApiError::NotFound { what: "media" };
    let Ok(ApiPath(id)) = path else {
        return Err(not_found);
    };
    let Ok(Query(Signature {
        expires: Some(expires),
        sig: Some(sig),
    })) = query
    else {
        return Err(not_found);
    };
    let id: MediaId = parse_id(&id, "media")?;
    let max_ttl = state.inner.config.media.url_max_ttl;
    let Some(file) = state
        .inner
        .store
        .media()
        .verify(id, expires, &sig, max_ttl)
        .await?
    else {
        return Err(not_found);
    };
    let bytes = state
        .inner
        .media
        .get(&file.storage_key)
        .await
        .map_err(|e| ApiError::internal("media store", &e))?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
