//! LinkedIn's older flow, still served: `POST /v2/assets?action=registerUpload`, the PUT
//! of the bytes, `GET /v2/assets/{id}` (the asset's recipe status) and `POST /v2/ugcPosts`
//! with the asset URN. Assets follow the same processing states as images (Herald's legacy
//! flow waits a fixed 20 s; the simulator makes the asset AVAILABLE after `linkedin.image_processing_ms`).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use crate::linkedin::{access_denied, authenticate, error, input_error, may_act_as, restli_header};
use crate::linkedin_posts::{
    MediaKind, NewPost, check_media, created, duplicate_of, new_upload, parse_json, publish,
    required, take_post_windows,
};
use crate::request::json;
use crate::state::SharedSim;

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new()
        .route("/linkedin/v2/assets", post(register_upload))
        .route("/linkedin/v2/assets/{id}", get(get_asset))
        .route("/linkedin/v2/ugcPosts", post(create_ugc_post))
}

async fn register_upload(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if q.get("action").map(String::as_str) != Some("registerUpload") {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            Some("ILLEGAL_ARGUMENT"),
            "action must be registerUpload",
        );
    }
    let body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request = &body["registerUploadRequest"];
    let Some(owner) = request["owner"].as_str() else {
        return required("/registerUploadRequest/owner");
    };
    if request["recipes"].as_array().is_none_or(Vec::is_empty) {
        return required("/registerUploadRequest/recipes");
    }
    if !may_act_as(&world, &token, owner) {
        return access_denied("assets.ACTION-registerUpload");
    }
    let (asset, upload_url) = new_upload(&mut world, &headers, owner, MediaKind::Asset);
    let id = asset
        .trim_start_matches("urn:li:digitalmediaAsset:")
        .to_owned();
    json(
        StatusCode::OK,
        json!({"value": {
            "uploadMechanism": {
                "com.linkedin.digitalmedia.uploading.MediaUploadHttpRequest": {
                    "headers": {"media-type-family": "STILLIMAGE"},
                    "uploadUrl": upload_url,
                },
            },
            "mediaArtifact": format!(
                "urn:li:digitalmediaMediaArtifact:({asset},urn:li:digitalmediaMediaArtifactClass:feedshare-uploadedImage)"
            ),
            "asset": asset,
            "assetRealTimeTopic": format!("urn:li-realtime:digitalmediaAssetUpdatesTopic:{asset}"),
        }, "id": id}),
    )
}

async fn get_asset(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let now = sim.now_ms();
    let world = sim.world();
    if let Err(r) = authenticate(&world, &headers, now) {
        return r;
    }
    let urn = if id.starts_with("urn:") {
        id.clone()
    } else {
        format!("urn:li:digitalmediaAsset:{id}")
    };
    let processing = world.config.linkedin.image_processing_ms;
    let Some(media) = world
        .linkedin
        .media
        .get(&urn)
        .filter(|m| m.kind == MediaKind::Asset)
    else {
        return error(
            StatusCode::NOT_FOUND,
            None,
            Some("NOT_FOUND"),
            &format!("Asset {id} not found"),
        );
    };
    let status = match media.status(now, processing) {
        "PROCESSING_FAILED" => "CLIENT_ERROR",
        other => other,
    };
    json(
        StatusCode::OK,
        json!({
            "id": urn.trim_start_matches("urn:li:digitalmediaAsset:"),
            "mediaTypeFamily": "STILLIMAGE",
            "status": "ALLOWED",
            "recipes": [{"recipe": "urn:li:digitalmediaRecipe:feedshare-image", "status": status}],
        }),
    )
}

async fn create_ugc_post(
    State(sim): State<SharedSim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    if let Err(r) = restli_header(&headers) {
        return r;
    }
    let token = match authenticate(&world, &headers, now) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(author) = body["author"].as_str().map(str::to_owned) else {
        return required("/author");
    };
    if !may_act_as(&world, &token, &author) {
        return access_denied("ugcPosts.CREATE");
    }
    if let Err(r) = take_post_windows(&mut world, &token, &author, now) {
        return r;
    }
    if body["lifecycleState"].as_str().is_none() {
        return required("/lifecycleState");
    }
    let Some(visibility) = body["visibility"]["com.linkedin.ugc.MemberNetworkVisibility"].as_str()
    else {
        return required("/visibility/com.linkedin.ugc.MemberNetworkVisibility");
    };
    let share = &body["specificContent"]["com.linkedin.ugc.ShareContent"];
    if !share.is_object() {
        return required("/specificContent/com.linkedin.ugc.ShareContent");
    }
    let text = share["shareCommentary"]["text"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let max = world.config.linkedin.max_commentary_chars;
    let length = text.chars().count();
    if length > max {
        return input_error(
            "/specificContent/com.linkedin.ugc.ShareContent/shareCommentary/text",
            "MAX_LENGTH_EXCEEDED",
            &format!(
                "ERROR :: /specificContent/com.linkedin.ugc.ShareContent/shareCommentary/text :: length of {length} exceeds maximum of {max}"
            ),
        );
    }
    let category = share["shareMediaCategory"].as_str().unwrap_or("NONE");
    let media_list = share["media"].as_array().cloned().unwrap_or_default();
    let mut media = Vec::new();
    if category == "IMAGE" {
        let field = "/specificContent/com.linkedin.ugc.ShareContent/media/0/media";
        let Some(asset) = media_list.first().and_then(|m| m["media"].as_str()) else {
            return input_error(field, "INVALID_VALUE", "ShareMedia.media (URN) is missing");
        };
        if let Err(r) = check_media(&world, asset, &author, MediaKind::Asset, field, now) {
            return r;
        }
        media = vec![asset.to_owned()];
    }
    if let Some(original) = duplicate_of(&world, &author, &text, &media, now) {
        return input_error(
            "/specificContent/com.linkedin.ugc.ShareContent/shareCommentary/text",
            "DUPLICATE_POST",
            &format!("Content is a duplicate of {original}"),
        );
    }
    let new = NewPost {
        author: &author,
        commentary: &text,
        shown: text.clone(),
        visibility,
        media,
    };
    let urn = publish(&mut world, new, now);
    created(&urn, Some(json!({"id": urn})))
}
