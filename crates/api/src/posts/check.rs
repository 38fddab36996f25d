//! Everything `POST /v1/posts` checks before it writes anything, collected into one 422 that
//! lists every problem with its target and field: the targets (ids, duplicates, tenant,
//! status, page selection), the content each target would publish against its platform's
//! rules, uploaded media against each platform's image rules, and `publish_at`.

use std::collections::HashSet;

use chrono::{TimeDelta, Utc};
use herald_domain::rules::{
    FieldPath, MediaShape, content_violations_with_media, plan_image, video_violations,
};
use herald_domain::{
    ConnectionId, ConnectionStatus, ImageFormat, ImageInfo, MediaId, MediaKind, MediaRef, Platform,
    PostContent, PostTargetType, VideoContainer, VideoInfo,
};
use herald_store::{Connection, Idempotency, NewDelivery, NewPost};
use serde_json::Value;

use super::{CreatePost, MediaSchema, TargetSchema};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, from_value_at};

/// One target as parsed, before its connection is looked up. `None`: the post's value.
struct TargetInput {
    connection_id: Option<ConnectionId>,
    text: Option<String>,
    thread: Option<Vec<String>>,
    media: Option<Vec<Value>>,
    first_comment: Option<String>,
}

/// Checks the whole request and builds the post, or reports every problem.
pub(super) async fn check(
    state: &AppState,
    caller: &Caller,
    body: CreatePost,
    idempotency: Option<Idempotency>,
) -> Result<NewPost, ApiError> {
    let config = &state.inner.config;
    let mut errors = Vec::new();

    if body.targets.is_empty() {
        errors.push(FieldError::new(
            "targets",
            "targets.required",
            "a post needs at least one target (a connection id)",
        ));
    }
    if body.targets.len() > config.api.max_targets {
        errors.push(FieldError::new(
            "targets",
            "targets.too_many",
            format!(
                "a post may have at most {} targets; this one has {}",
                config.api.max_targets,
                body.targets.len()
            ),
        ));
    }
    let publish_at = body.publish_at.filter(|at| *at > Utc::now());
    let horizon = TimeDelta::days(i64::from(config.api.max_schedule_ahead_days));
    if let Some(at) = publish_at
        && at > Utc::now() + horizon
    {
        errors.push(FieldError::new(
            "publish_at",
            "publish_at.too_far",
            format!(
                "publish_at may be at most {} days ahead",
                config.api.max_schedule_ahead_days
            ),
        ));
    }
    let base_media = parse_media(&body.media, "media", &mut errors);
    let base = PostContent {
        text: body.text,
        thread: body.thread,
        media: base_media,
        first_comment: body.first_comment,
        fit: body.fit,
    };

    let targets: Vec<Option<TargetInput>> = body
        .targets
        .iter()
        .enumerate()
        .map(|(index, raw)| parse_target(raw, index, &mut errors))
        .collect();
    let ids: Vec<ConnectionId> = targets
        .iter()
        .filter_map(|t| t.as_ref().and_then(|t| t.connection_id))
        .collect();
    let connections = state
        .inner
        .connection_cache
        .of_tenant(&state.inner.store, caller.tenant_id, &ids)
        .await?;
    let mut seen = HashSet::new();
    let mut deliveries = Vec::new();
    for (index, target) in targets.into_iter().enumerate() {
        let Some(target) = target else {
            continue;
        };
        let Some(id) = target.connection_id else {
            continue;
        };
        let field = format!("targets[{index}]");
        let at = |mut e: FieldError| {
            e.target = Some(index);
            e.connection_id = Some(id.to_string());
            e
        };
        if !seen.insert(id) {
            errors.push(at(FieldError::new(
                &field,
                "connection.duplicate",
                "this connection is already a target of the post",
            )));
            continue;
        }
        let Some(connection) = connections.iter().find(|c| c.id == id) else {
            errors.push(at(FieldError::new(
                &field,
                "connection.unknown",
                format!("no connection {id}"),
            )));
            continue;
        };
        let before = errors.len();
        check_connection(connection, &field, &mut errors);
        let mut content = base.clone();
        let overridden = target.text.is_some()
            || target.thread.is_some()
            || target.media.is_some()
            || target.first_comment.is_some();
        if let Some(text) = target.text {
            content.text = Some(text);
        }
        if let Some(thread) = target.thread {
            content.thread = thread;
        }
        if let Some(media) = &target.media {
            content.media = parse_media(media, &format!("{field}.media"), &mut errors);
        }
        if let Some(comment) = target.first_comment {
            content.first_comment = Some(comment);
        }
        check_content(state, caller, connection.platform, &content, &mut errors).await?;
        check_first_comment_target(state, connection, &content, &mut errors).await?;
        for e in &mut errors[before..] {
            e.target = Some(index);
            e.connection_id = Some(id.to_string());
            e.platform = Some(connection.platform.as_str().to_owned());
        }
        deliveries.push(NewDelivery {
            connection_id: id,
            content: overridden.then_some(content),
            max_attempts: i32::try_from(config.worker.max_attempts).unwrap_or(i32::MAX),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    Ok(NewPost {
        tenant_id: caller.tenant_id,
        idempotency,
        content: base,
        publish_at,
        metadata: body.metadata.unwrap_or_default(),
        deliveries,
    })
}

fn parse_target(raw: &Value, index: usize, errors: &mut Vec<FieldError>) -> Option<TargetInput> {
    let field = format!("targets[{index}]");
    let bad_id = |errors: &mut Vec<FieldError>, value: &str| {
        errors.push(FieldError {
            target: Some(index),
            ..FieldError::new(
                &field,
                "connection.invalid_id",
                format!(
                    "`{}` is not a connection id (a UUID)",
                    value.chars().take(64).collect::<String>()
                ),
            )
        });
    };
    match raw {
        Value::String(id) => match id.parse() {
            Ok(id) => Some(TargetInput {
                connection_id: Some(id),
                text: None,
                thread: None,
                media: None,
                first_comment: None,
            }),
            Err(_) => {
                bad_id(errors, id);
                None
            }
        },
        Value::Object(_) => match from_value_at::<TargetSchema>(raw.clone(), &field) {
            Ok(t) => {
                let connection_id = match t.connection_id.parse() {
                    Ok(id) => Some(id),
                    Err(_) => {
                        bad_id(errors, &t.connection_id);
                        None
                    }
                };
                Some(TargetInput {
                    connection_id,
                    text: t.text,
                    thread: t.thread,
                    media: t.media,
                    first_comment: t.first_comment,
                })
            }
            Err(e) => {
                errors.push(FieldError {
                    target: Some(index),
                    code: "target.invalid".to_owned(),
                    ..*e
                });
                None
            }
        },
        _ => {
            errors.push(FieldError {
                target: Some(index),
                ..FieldError::new(
                    &field,
                    "target.invalid",
                    "a target is a connection id or an object {\"connection_id\", \"text\", \"thread\", \"media\"}",
                )
            });
            None
        }
    }
}

fn parse_media(raw: &[Value], field: &str, errors: &mut Vec<FieldError>) -> Vec<MediaRef> {
    let mut media = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let parsed: Result<MediaSchema, _> = from_value_at(item.clone(), &field);
        match parsed {
            Ok(MediaSchema {
                url: Some(url),
                media_id: None,
            }) => match url::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    media.push(MediaRef::Url { url });
                }
                _ => errors.push(FieldError::new(
                    &field,
                    "media.invalid_url",
                    "a media url must be an absolute http or https URL",
                )),
            },
            Ok(MediaSchema {
                url: None,
                media_id: Some(id),
            }) => match id.parse::<MediaId>() {
                Ok(media_id) => media.push(MediaRef::Stored { media_id }),
                Err(_) => errors.push(FieldError::new(
                    &field,
                    "media.unknown",
                    "media_id is not an id from POST /v1/media",
                )),
            },
            Ok(_) => errors.push(FieldError::new(
                &field,
                "media.invalid",
                "give exactly one of `url` and `media_id`",
            )),
            Err(e) => errors.push(FieldError {
                code: "media.invalid".to_owned(),
                ..*e
            }),
        }
    }
    media
}

/// Whether the connection can publish at all.
fn check_connection(connection: &Connection, field: &str, errors: &mut Vec<FieldError>) {
    match connection.status {
        ConnectionStatus::Active => {}
        ConnectionStatus::NeedsReconnect => errors.push(FieldError::new(
            field,
            "connection.needs_reconnect",
            format!(
                "the {} connection must be connected again: {}",
                connection.platform.display_name(),
                connection
                    .last_error
                    .as_deref()
                    .unwrap_or("its token stopped working")
            ),
        )),
        ConnectionStatus::Disabled => errors.push(FieldError::new(
            field,
            "connection.disabled",
            "the connection is disabled",
        )),
    }
    let posts_as_page = matches!(
        connection.platform,
        Platform::Facebook | Platform::Instagram
    ) || connection.app_type == Some(herald_domain::AppType::Company);
    if posts_as_page
        && (connection.post_target_type != PostTargetType::Page
            || connection.selected_page_id.is_none())
    {
        errors.push(FieldError::new(
            field,
            "connection.no_page",
            "select the page to post to first: GET /v1/connections/{id}/pages, then PUT /v1/connections/{id}/page",
        ));
    }
}

/// The platform's content rules, and for uploaded media its image and video rules too.
///
/// A stored item's kind is in its row, so the media list's counts and mixing are checked
/// with what is known (a `{"url"}` item's kind waits for the worker's fetch). A stored image
/// whose only problems a prepared copy fixes (a PNG for Instagram, too many pixels or bytes,
/// an aspect ratio with `"fit": "pad"`) is accepted: the worker makes the copy. A stored
/// video is checked against the video rules from the facts recorded with it.
async fn check_content(
    state: &AppState,
    caller: &Caller,
    platform: Platform,
    content: &PostContent,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    let rules = &state.inner.config.rules;
    let mut shapes = Vec::with_capacity(content.media.len());
    let mut item_violations = Vec::new();
    for (i, media) in content.media.iter().enumerate() {
        let MediaRef::Stored { media_id } = media else {
            shapes.push(None);
            continue;
        };
        let field = FieldPath::MediaItem(i);
        let Some(file) = state
            .inner
            .store
            .media()
            .get(caller.tenant_id, *media_id)
            .await?
        else {
            shapes.push(None);
            errors.push(FieldError::new(
                field.to_string(),
                "media.unknown",
                format!("no media {media_id}"),
            ));
            continue;
        };
        shapes.push(Some(MediaShape::of(file.kind, &file.content_type)));
        match file.kind {
            MediaKind::Video => {
                let Some(info) = video_info(&file) else {
                    continue;
                };
                item_violations.extend(video_violations(platform, &info, rules, field));
            }
            MediaKind::Image => {
                let Some(info) = image_info(&file) else {
                    continue;
                };
                if let Err(unfixable) = plan_image(platform, &info, rules, content.fit, field) {
                    item_violations.extend(unfixable);
                }
            }
        }
    }
    let found = content_violations_with_media(platform, content, &shapes, rules);
    for v in found.iter().chain(&item_violations) {
        errors.push(FieldError::new(
            v.field.to_string(),
            v.code.as_str(),
            &v.message,
        ));
    }
    Ok(())
}

/// A Telegram channel's comments live in its linked discussion group: a `first_comment` for a
/// channel that had none when it was connected is refused. A channel connected before the
/// group was recorded is left to the publish-time check, which reads the group again.
async fn check_first_comment_target(
    state: &AppState,
    connection: &Connection,
    content: &PostContent,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if connection.platform != Platform::Telegram
        || content.first_comment.as_deref().is_none_or(str::is_empty)
    {
        return Ok(());
    }
    let group = state
        .inner
        .store
        .connections()
        .discussion_group(connection.id)
        .await?;
    if group == herald_store::DiscussionGroup::None {
        errors.push(FieldError::new(
            "first_comment",
            "first_comment.unsupported",
            "this Telegram channel has no linked discussion group, so its posts take no \
             comments: link one in the channel's settings and connect the channel again, or \
             drop first_comment for this target",
        ));
    }
    Ok(())
}

pub(crate) fn image_info(file: &herald_store::MediaFile) -> Option<ImageInfo> {
    let format = ImageFormat::ALL
        .into_iter()
        .find(|f| f.mime_type() == file.content_type)?;
    Some(ImageInfo {
        format,
        bytes: u64::try_from(file.bytes).ok()?,
        width: u32::try_from(file.width).ok()?,
        height: u32::try_from(file.height).ok()?,
    })
}

/// A stored video's facts, as recorded when it was stored.
pub(crate) fn video_info(file: &herald_store::MediaFile) -> Option<VideoInfo> {
    let facts = file.video.as_ref()?;
    Some(VideoInfo {
        container: VideoContainer::from_mime_type(&file.content_type)?,
        bytes: u64::try_from(file.bytes).ok()?,
        width: u32::try_from(file.width).ok()?,
        height: u32::try_from(file.height).ok()?,
        duration_ms: u64::try_from(facts.duration_ms).ok()?,
        frame_rate: facts.frame_rate,
        video_codec: facts.video_codec.clone(),
        audio_codec: facts.audio_codec.clone(),
        moov_first: facts.moov_first,
    })
}
