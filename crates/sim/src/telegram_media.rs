//! Telegram's `sendVideo` and `sendMediaGroup`.
//!
//! - `sendVideo` takes the video as a multipart upload (at most
//!   `telegram.file_upload_max_bytes`, 50 MB: beyond that 413 "Request Entity Too Large",
//!   the answer for oversized uploads being unconfirmed), a URL the server fetches (20 MB) or
//!   a `file_id` seen before; `duration`, `width`, `height` and `supports_streaming` are
//!   optional. Clients play MPEG4 only: anything the server cannot read as an MP4 with an
//!   H.264 or HEVC track (a QuickTime `.mov`, a WebM) is refused with a Bad Request (the live
//!   server's exact description is unconfirmed). The call is synchronous: no processing
//!   state to poll.
//! - `sendMediaGroup` sends 2-10 `InputMediaPhoto`/`InputMediaVideo` (mixed is allowed;
//!   audio and documents, which group only with their own kind, are not modelled), each
//!   `media` an `attach://<part>` upload, a URL or a `file_id`, each with its own caption
//!   (0-1024). Every item is checked before anything is sent; the answer is one Message per
//!   item sharing a `media_group_id`. `/_sim/posts` lists the group once, as its first
//!   message (the id a client keeps), with every file and content type in order.

use std::time::Duration;

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};

use crate::fetch;
use crate::fixtures::{TelegramBot, TelegramChat};
use crate::request::{Params, random_token};
use crate::state::SharedSim;
use crate::telegram::{
    FileInfo, Posted, admit_send, bad_request, chat_param, error, may_post, message_json,
    next_message_id, ok, photo_file, photo_json, record,
};
use crate::telegram_format::{length, visible_text};
use crate::video;

/// What a Bot API answer for a video the clients cannot play says (unconfirmed wording).
const NOT_MPEG4: &str = "wrong video format: send MPEG4 (MP4 with H.264 or HEVC) videos, or other formats as a document";

/// The limits a media call is checked against.
struct Limits {
    photo_upload: u64,
    photo_url: u64,
    file_upload: u64,
    file_url: u64,
    caption: usize,
    timeout: Duration,
}

/// The chat, if the bot may post there, and the limits.
fn prepare(
    sim: &SharedSim,
    bot: &TelegramBot,
    params: &Params,
) -> Result<(TelegramChat, Limits), Response> {
    let world = sim.world();
    let chat = chat_param(&world, params)?.clone();
    may_post(&chat, bot)?;
    let config = &world.config.telegram;
    let limits = Limits {
        photo_upload: config.photo_upload_max_bytes,
        photo_url: config.photo_url_max_bytes,
        file_upload: config.file_upload_max_bytes,
        file_url: config.file_url_max_bytes,
        caption: config.max_caption_chars,
        timeout: Duration::from_millis(world.config.fetch.timeout_ms),
    };
    Ok((chat, limits))
}

/// A caption after `parse_mode`, within the limit.
fn caption_of(raw: &str, parse_mode: Option<&str>, limit: usize) -> Result<String, Response> {
    let caption = visible_text(raw, parse_mode)
        .map_err(|reason| bad_request(&format!("can't parse entities: {reason}")))?;
    if length(&caption) > limit {
        return Err(bad_request("message caption is too long"));
    }
    Ok(caption)
}

/// A file given as an upload (`upload`), a URL, or a known `file_id`: its bytes, or the
/// file already known.
enum Source {
    Bytes(Bytes),
    Known(String, FileInfo),
}

async fn source(
    sim: &SharedSim,
    upload: Option<&Bytes>,
    value: Option<&str>,
    upload_max: u64,
    url_max: u64,
    timeout: Duration,
    missing: &str,
) -> Result<Source, Response> {
    match (upload, value) {
        (Some(bytes), _) => {
            if bytes.len() as u64 > upload_max {
                return Err(error(413, "Request Entity Too Large"));
            }
            Ok(Source::Bytes(bytes.clone()))
        }
        (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
            match fetch::fetch(&sim.http, url, url_max, timeout).await {
                Ok(f) => Ok(Source::Bytes(f.bytes)),
                Err(_) => Err(bad_request("wrong file identifier/HTTP URL specified")),
            }
        }
        (None, Some(file_id)) => match sim.world().telegram.files.get(file_id).cloned() {
            Some(info) => Ok(Source::Known(file_id.to_owned(), info)),
            None => Err(bad_request("wrong file identifier/HTTP URL specified")),
        },
        (None, None) => Err(bad_request(missing)),
    }
}

/// A video's bytes checked as Telegram's clients need them (MPEG4), with a new file id.
fn video_file(bytes: &[u8]) -> Result<(String, FileInfo), Response> {
    let info = video::probe(bytes).map_err(|_| bad_request(NOT_MPEG4))?;
    if info.container != herald_domain::VideoContainer::Mp4 || !info.is_h264_or_hevc() {
        return Err(bad_request(NOT_MPEG4));
    }
    let file = FileInfo {
        width: info.width,
        height: info.height,
        size: bytes.len(),
        mime: info.container.mime_type().to_owned(),
        duration: info.duration_ms.div_ceil(1000),
    };
    Ok((format!("BAACAgQAAxkBAAI{}", random_token(40)), file))
}

fn video_json(file_id: &str, info: &FileInfo) -> Value {
    json!({
        "file_id": file_id,
        "file_unique_id": random_token(15),
        "width": info.width,
        "height": info.height,
        "duration": info.duration,
        "mime_type": info.mime,
        "file_size": info.size,
    })
}

/// An optional integer parameter (`duration`, `width`, `height`).
fn check_integer(params: &Params, key: &str) -> Result<(), Response> {
    match params.non_empty(key) {
        Some(value) if value.trim().parse::<u64>().is_err() => {
            Err(bad_request(&format!("invalid {key} specified")))
        }
        _ => Ok(()),
    }
}

pub(crate) async fn send_video(sim: &SharedSim, bot: &TelegramBot, params: &Params) -> Response {
    let (chat, limits) = match prepare(sim, bot, params) {
        Ok(found) => found,
        Err(r) => return r,
    };
    for key in ["duration", "width", "height"] {
        if let Err(r) = check_integer(params, key) {
            return r;
        }
    }
    let caption = match caption_of(
        params.get("caption").unwrap_or(""),
        params.get("parse_mode"),
        limits.caption,
    ) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let source = source(
        sim,
        params.file("video").map(|u| &u.bytes),
        params.non_empty("video"),
        limits.file_upload,
        limits.file_url,
        limits.timeout,
        "there is no video in the request",
    )
    .await;
    let (file_id, info) = match source {
        Ok(Source::Known(id, info)) if info.mime.starts_with("video/") => (id, info),
        Ok(Source::Known(..)) => return bad_request("wrong file identifier/HTTP URL specified"),
        Ok(Source::Bytes(bytes)) => match video_file(&bytes) {
            Ok(found) => found,
            Err(r) => return r,
        },
        Err(r) => return r,
    };
    let now = sim.now_ms();
    let mut world = sim.world();
    let reply_to = match admit_send(&mut world, bot, &chat, params, now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    world.telegram.files.insert(file_id.clone(), info.clone());
    let posted = Posted {
        text: &caption,
        media: vec![file_id.clone()],
        media_types: vec![info.mime.clone()],
        reply_to: reply_to.as_ref(),
    };
    let mut message = crate::telegram::new_message(&mut world, bot, &chat, posted, now);
    message["video"] = video_json(&file_id, &info);
    if !caption.is_empty() {
        message["caption"] = json!(caption);
    }
    ok(&message)
}

/// One checked item of a media group.
struct Item {
    kind: &'static str,
    file_id: String,
    info: FileInfo,
    caption: String,
}

pub(crate) async fn send_media_group(
    sim: &SharedSim,
    bot: &TelegramBot,
    params: &Params,
) -> Response {
    let (chat, limits) = match prepare(sim, bot, params) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(raw) = params.non_empty("media") else {
        return bad_request("parameter \"media\" is required");
    };
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(raw) else {
        return bad_request("can't parse media JSON object");
    };
    if !(2..=10).contains(&entries.len()) {
        // The documented rule; the live description is unconfirmed.
        return bad_request("media group must include 2-10 items");
    }
    let mut items = Vec::with_capacity(entries.len());
    for entry in &entries {
        match group_item(sim, params, entry, &limits).await {
            Ok(item) => items.push(item),
            Err(r) => return r,
        }
    }
    let now = sim.now_ms();
    let mut world = sim.world();
    let reply_to = match admit_send(&mut world, bot, &chat, params, now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let group_id = (13_000_000_000_000_000u64 + world.next_id()).to_string();
    let mut messages = Vec::with_capacity(items.len());
    let mut first = None;
    for item in &items {
        world
            .telegram
            .files
            .insert(item.file_id.clone(), item.info.clone());
        let id = next_message_id(&mut world, &chat);
        first.get_or_insert(id);
        let mut message = message_json(bot, &chat, id, now);
        message["media_group_id"] = json!(group_id);
        match item.kind {
            "video" => message["video"] = video_json(&item.file_id, &item.info),
            _ => message["photo"] = photo_json(&item.file_id, &item.info),
        }
        if !item.caption.is_empty() {
            message["caption"] = json!(item.caption);
        }
        messages.push(message);
    }
    if let Some(first) = first {
        let posted = Posted {
            text: &items[0].caption,
            media: items.iter().map(|i| i.file_id.clone()).collect(),
            media_types: items.iter().map(|i| i.info.mime.clone()).collect(),
            reply_to: reply_to.as_ref(),
        };
        record(&mut world, &chat, first, posted, now);
    }
    ok(&json!(messages))
}

/// One `InputMediaPhoto` / `InputMediaVideo`, its file fetched or taken from its
/// `attach://` part and checked.
async fn group_item(
    sim: &SharedSim,
    params: &Params,
    entry: &Value,
    limits: &Limits,
) -> Result<Item, Response> {
    let kind = match entry["type"].as_str() {
        Some("photo") => "photo",
        Some("video") => "video",
        Some(other) => {
            return Err(bad_request(&format!(
                "media of type \"{other}\" can't be grouped with photos and videos"
            )));
        }
        None => {
            return Err(bad_request(
                "can't parse InputMedia: media type is not specified",
            ));
        }
    };
    let Some(media) = entry["media"].as_str().filter(|m| !m.is_empty()) else {
        return Err(bad_request(
            "can't parse InputMedia: media is not specified",
        ));
    };
    let caption = caption_of(
        entry["caption"].as_str().unwrap_or(""),
        entry["parse_mode"].as_str(),
        limits.caption,
    )?;
    let (upload, value) = match media.strip_prefix("attach://") {
        Some(part) => match params.file(part) {
            Some(upload) => (Some(&upload.bytes), None),
            None => return Err(bad_request("wrong file identifier/HTTP URL specified")),
        },
        None => (None, Some(media)),
    };
    let (upload_max, url_max) = match kind {
        "video" => (limits.file_upload, limits.file_url),
        _ => (limits.photo_upload, limits.photo_url),
    };
    let missing = "wrong file identifier/HTTP URL specified";
    let found = source(
        sim,
        upload,
        value,
        upload_max,
        url_max,
        limits.timeout,
        missing,
    )
    .await?;
    let (file_id, info) = match found {
        Source::Known(id, info) if info.mime.starts_with(&format!("{}/", media_family(kind))) => {
            (id, info)
        }
        Source::Known(..) => return Err(bad_request(missing)),
        Source::Bytes(bytes) if kind == "video" => video_file(&bytes)?,
        Source::Bytes(bytes) => photo_file(&bytes)?,
    };
    Ok(Item {
        kind,
        file_id,
        info,
        caption,
    })
}

/// The MIME family of an InputMedia type's files.
fn media_family(kind: &str) -> &'static str {
    match kind {
        "video" => "video",
        _ => "image",
    }
}
