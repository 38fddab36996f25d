//! The Telegram Bot API under `/telegram/bot{token}/{method}`: getMe, getChat,
//! getChatMember, getChatAdministrators, sendMessage and sendPhoto (sendVideo and
//! sendMediaGroup in `telegram_media.rs`), with parameters as query, form, JSON or multipart,
//! like the real server.
//!
//! A malformed token path is 404, an unknown token 401. Chats are found by `@username` or
//! numeric id ("chat not found" otherwise). Posting needs the bot to be in the chat (403
//! "bot is not a member" / "bot was kicked") and, in a channel, an administrator with
//! `can_post_messages` (400 "need administrator rights"). Text and captions are checked
//! after `parse_mode` (4,096 / 1,024). Photos come as an upload (up to 10 MB), a URL the
//! simulator downloads (up to 5 MB) or a `file_id` seen before. About one message per second
//! per chat, 20 per minute per group and 30 per second per bot: beyond that, 429 with
//! `parameters.retry_after`. Errors are `{ok:false, error_code, description}` with the same
//! HTTP status.
//!
//! A channel may have a linked discussion group (`getChat`'s `linked_chat_id`, on both
//! sides), where its comments live: every channel post is copied into the group as an
//! automatic forward, taking the group's next message id. A reply may name a message of
//! another chat (`reply_parameters.chat_id`, Bot API 7.0): a message sent to the discussion
//! group replying to a post of its channel is recorded as a comment on that post (its
//! `/_sim/posts` entry has `reply_to` = the channel post's id) and is answered with the
//! automatic forward as `reply_to_message` and its thread id. How a live group threads such
//! a cross-chat reply is unconfirmed; this is the simulator's model of it.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::fetch;
use crate::fixtures::{TelegramBot, TelegramChat};
use crate::imaging::{self, ImageFormat};
use crate::request::{Params, json, random_token};
use crate::state::{Platform, SharedSim, SimPost, World, iso_millis};
use crate::telegram_format::{length, visible_text};
use crate::telegram_media;

const METHODS: &[&str] = &[
    "getMe",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "sendMessage",
    "sendPhoto",
    "sendVideo",
    "sendMediaGroup",
];

#[derive(Debug, Clone)]
pub(crate) struct FileInfo {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) size: usize,
    /// `image/jpeg`, `video/mp4`, ...
    pub(crate) mime: String,
    /// A video's length in seconds (0 for photos).
    pub(crate) duration: u64,
}

#[derive(Debug, Default)]
pub(crate) struct TelegramState {
    last_message: HashMap<i64, i64>,
    pub(crate) files: HashMap<String, FileInfo>,
    /// (channel, post) -> the id of the post's automatic forward in the linked group.
    auto_forwards: HashMap<(i64, i64), i64>,
}

pub(crate) fn routes() -> Router<SharedSim> {
    Router::new().route("/telegram/{bot}/{method}", get(handle).post(handle))
}

/// Method names are case-insensitive; this is the documented spelling.
pub(crate) fn canonical_method(name: &str) -> String {
    METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |m| (*m).to_owned())
}

pub(crate) fn error(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    json(
        status,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}

pub(crate) fn bad_request(description: &str) -> Response {
    error(400, &format!("Bad Request: {description}"))
}

fn too_many(retry_after: u64) -> Response {
    json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({
            "ok": false,
            "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": {"retry_after": retry_after},
        }),
    )
}

pub(crate) fn ok(result: &Value) -> Response {
    json(StatusCode::OK, json!({"ok": true, "result": result}))
}

pub(crate) fn fault_response(status: StatusCode) -> Response {
    error(
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
    )
}

pub(crate) fn fault_rate_limited(retry_after_secs: u64) -> Response {
    too_many(retry_after_secs)
}

fn well_formed(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && secret.len() >= 30
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

fn find_chat<'a>(world: &'a World, chat_id: &str) -> Option<&'a TelegramChat> {
    let chat_id = chat_id.trim();
    if let Some(name) = chat_id.strip_prefix('@') {
        return world.fixtures.telegram.chats.iter().find(|c| {
            c.username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(name))
        });
    }
    let id: i64 = chat_id.parse().ok()?;
    world.fixtures.telegram.chats.iter().find(|c| c.id == id)
}

/// The bot's standing in the chat: (status, can_post_messages).
fn standing(chat: &TelegramChat, bot: &TelegramBot) -> (String, bool) {
    chat.members
        .iter()
        .find(|m| m.user_id == bot.id)
        .map_or(("left".to_owned(), false), |m| {
            (m.status.clone(), m.can_post_messages)
        })
}

fn chat_kind_name(chat: &TelegramChat) -> &str {
    match chat.kind.as_str() {
        "channel" => "channel chat",
        "supergroup" => "supergroup chat",
        _ => "group chat",
    }
}

/// Whether the bot may post in the chat, or the Bot API's refusal.
pub(crate) fn may_post(chat: &TelegramChat, bot: &TelegramBot) -> Result<(), Response> {
    let (status, can_post) = standing(chat, bot);
    let kind = chat_kind_name(chat);
    match status.as_str() {
        "kicked" => Err(error(
            403,
            &format!("Forbidden: bot was kicked from the {kind}"),
        )),
        "left" | "" => Err(error(
            403,
            &format!("Forbidden: bot is not a member of the {kind}"),
        )),
        "creator" => Ok(()),
        "administrator" if chat.kind != "channel" || can_post => Ok(()),
        _ if chat.kind != "channel" => Ok(()),
        _ => Err(bad_request(&format!(
            "need administrator rights in the {kind}"
        ))),
    }
}

fn user_json(bot: &TelegramBot) -> Value {
    json!({"id": bot.id, "is_bot": true, "first_name": bot.first_name, "username": bot.username})
}

pub(crate) fn chat_json(chat: &TelegramChat) -> Value {
    let mut value = json!({"id": chat.id, "title": chat.title, "type": chat.kind});
    if let Some(username) = &chat.username {
        value["username"] = json!(username);
    }
    value
}

fn member_json(chat: &TelegramChat, bot: &TelegramBot) -> Value {
    let (status, can_post) = standing(chat, bot);
    let mut value = json!({"user": user_json(bot), "status": status});
    match status.as_str() {
        "administrator" => {
            for (key, flag) in [
                ("can_be_edited", false),
                ("is_anonymous", false),
                ("can_manage_chat", true),
                ("can_delete_messages", true),
                ("can_manage_video_chats", true),
                ("can_restrict_members", true),
                ("can_promote_members", false),
                ("can_change_info", true),
                ("can_invite_users", true),
                ("can_post_stories", true),
                ("can_edit_stories", true),
                ("can_delete_stories", true),
                ("can_post_messages", can_post),
                ("can_edit_messages", can_post),
            ] {
                value[key] = json!(flag);
            }
        }
        "kicked" => value["until_date"] = json!(0),
        "creator" => value["is_anonymous"] = json!(false),
        _ => {}
    }
    value
}

async fn handle(
    State(sim): State<SharedSim>,
    Path((bot_segment, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    let Some(token) = bot_segment.strip_prefix("bot").filter(|t| well_formed(t)) else {
        return error(404, "Not Found");
    };
    let token = token.to_owned();
    let (_, params) = match Params::read(req).await {
        Ok(p) => p,
        Err(e) => return bad_request(&format!("invalid request body: {e}")),
    };
    let bot = {
        let world = sim.world();
        world
            .fixtures
            .telegram
            .bots
            .iter()
            .find(|b| b.token == token)
            .cloned()
    };
    let Some(bot) = bot else {
        return error(401, "Unauthorized");
    };
    match canonical_method(&method).as_str() {
        "getMe" => ok(&json!({
            "id": bot.id,
            "is_bot": true,
            "first_name": bot.first_name,
            "username": bot.username,
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false,
        })),
        "getChat" => get_chat(&sim, &bot, &params),
        "getChatMember" => get_chat_member(&sim, &bot, &params),
        "getChatAdministrators" => get_chat_administrators(&sim, &bot, &params),
        "sendMessage" => send_message(&sim, &bot, &params),
        "sendPhoto" => send_photo(&sim, &bot, &params).await,
        "sendVideo" => telegram_media::send_video(&sim, &bot, &params).await,
        "sendMediaGroup" => telegram_media::send_media_group(&sim, &bot, &params).await,
        _ => error(404, "Not Found"),
    }
}

pub(crate) fn chat_param<'a>(
    world: &'a World,
    params: &Params,
) -> Result<&'a TelegramChat, Response> {
    let Some(chat_id) = params.non_empty("chat_id") else {
        return Err(bad_request("chat_id is empty"));
    };
    find_chat(world, chat_id).ok_or_else(|| bad_request("chat not found"))
}

fn get_chat(sim: &SharedSim, bot: &TelegramBot, params: &Params) -> Response {
    let world = sim.world();
    let chat = match chat_param(&world, params) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (status, _) = standing(chat, bot);
    if status == "kicked" {
        return error(
            403,
            &format!(
                "Forbidden: bot was kicked from the {}",
                chat_kind_name(chat)
            ),
        );
    }
    if status == "left" && chat.username.is_none() {
        return bad_request("chat not found");
    }
    let mut value = chat_json(chat);
    if let Some(linked) = chat.linked_chat_id {
        value["linked_chat_id"] = json!(linked);
    }
    value["accent_color_id"] = json!(0);
    value["max_reaction_count"] = json!(11);
    ok(&value)
}

fn get_chat_member(sim: &SharedSim, bot: &TelegramBot, params: &Params) -> Response {
    let world = sim.world();
    let chat = match chat_param(&world, params) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(user_id) = params
        .get("user_id")
        .and_then(|u| u.trim().parse::<i64>().ok())
    else {
        return bad_request("invalid user_id specified");
    };
    if user_id == bot.id {
        return ok(&member_json(chat, bot));
    }
    match world
        .fixtures
        .telegram
        .bots
        .iter()
        .find(|b| b.id == user_id)
    {
        Some(other) => ok(&member_json(chat, other)),
        None => bad_request("PARTICIPANT_ID_INVALID"),
    }
}

fn get_chat_administrators(sim: &SharedSim, bot: &TelegramBot, params: &Params) -> Response {
    let world = sim.world();
    let chat = match chat_param(&world, params) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // The member list of a chat the bot is not in is out of reach.
    let kind = chat_kind_name(chat);
    match standing(chat, bot).0.as_str() {
        "kicked" => return error(403, &format!("Forbidden: bot was kicked from the {kind}")),
        "left" => {
            return error(
                403,
                &format!("Forbidden: bot is not a member of the {kind}"),
            );
        }
        _ => {}
    }
    let admins: Vec<Value> = world
        .fixtures
        .telegram
        .bots
        .iter()
        .filter(|b| matches!(standing(chat, b).0.as_str(), "administrator" | "creator"))
        .map(|b| member_json(chat, b))
        .collect();
    ok(&json!(admins))
}

/// Takes a slot in the per-chat, per-group and per-bot windows, or answers 429.
pub(crate) fn take_windows(
    world: &mut World,
    bot: &TelegramBot,
    chat: i64,
    now: u64,
) -> Result<(), Response> {
    let config = world.config.telegram.clone();
    let enabled = world.config.rate_limits;
    let keys = [
        (format!("tg:chat:{}:{chat}", bot.id), config.per_chat),
        (
            format!("tg:group:{}:{chat}", bot.id),
            config.per_group_minute,
        ),
        (format!("tg:bot:{}", bot.id), config.per_bot),
    ];
    for (key, limit) in &keys {
        let usage = world.windows.peek(enabled, key, limit, now);
        if usage.remaining == 0 {
            return Err(too_many(usage.retry_after_secs(now)));
        }
    }
    for (key, limit) in &keys {
        let _ = world.windows.try_take(enabled, key, limit, now);
    }
    Ok(())
}

/// The chat's next message id. A channel post is also copied into the channel's discussion
/// group, where its automatic forward takes the group's next id.
pub(crate) fn next_message_id(world: &mut World, chat: &TelegramChat) -> i64 {
    let mut bump = |chat_id: i64| {
        let last = world.telegram.last_message.entry(chat_id).or_insert(0);
        *last += 1;
        *last
    };
    let id = bump(chat.id);
    if chat.kind == "channel"
        && let Some(group) = chat.linked_chat_id
    {
        let forward = bump(group);
        world.telegram.auto_forwards.insert((chat.id, id), forward);
    }
    id
}

pub(crate) fn message_url(chat: &TelegramChat, id: i64) -> String {
    match &chat.username {
        Some(username) => format!("https://t.me/{username}/{id}"),
        None => format!(
            "https://t.me/c/{}/{id}",
            chat.id.to_string().trim_start_matches("-100")
        ),
    }
}

/// A message's common fields: id, date, chat and who sent it.
pub(crate) fn message_json(bot: &TelegramBot, chat: &TelegramChat, id: i64, now: u64) -> Value {
    let mut message = json!({"message_id": id, "date": now / 1000, "chat": chat_json(chat)});
    if chat.kind == "channel" {
        message["sender_chat"] = chat_json(chat);
    } else {
        message["from"] = user_json(bot);
    }
    message
}

/// What a post is, for `/_sim/posts`.
pub(crate) struct Posted<'a> {
    pub(crate) text: &'a str,
    pub(crate) media: Vec<String>,
    pub(crate) media_types: Vec<String>,
    pub(crate) reply_to: Option<&'a ReplyTo>,
}

/// Records a post (a message, or the first message of a media group) for `/_sim/posts`.
pub(crate) fn record(
    world: &mut World,
    chat: &TelegramChat,
    id: i64,
    posted: Posted<'_>,
    now: u64,
) {
    world.record_post(SimPost {
        platform: Platform::Telegram.as_str(),
        account: chat.id.to_string(),
        id: id.to_string(),
        text: posted.text.to_owned(),
        media: posted.media,
        media_types: posted.media_types,
        reply_to: posted.reply_to.map(|r| r.message_id.to_string()),
        url: message_url(chat, id),
        created_at: iso_millis(now),
    });
}

/// A new message in the chat, recorded for `/_sim/posts`, with its reply fields.
pub(crate) fn new_message(
    world: &mut World,
    bot: &TelegramBot,
    chat: &TelegramChat,
    posted: Posted<'_>,
    now: u64,
) -> Value {
    let id = next_message_id(world, chat);
    let reply_to = posted.reply_to.cloned();
    record(world, chat, id, posted, now);
    let mut message = message_json(bot, chat, id, now);
    if let Some(reply) = &reply_to {
        reply_fields(world, chat, reply, &mut message, now);
    }
    message
}

/// The message a new one replies to: in the same chat, or (`reply_parameters.chat_id`) in
/// another one the bot can see.
#[derive(Debug, Clone)]
pub(crate) struct ReplyTo {
    pub(crate) chat: TelegramChat,
    pub(crate) message_id: i64,
}

/// Fills `reply_to_message` (and for a comment in a channel's discussion group, the thread
/// of the post's automatic forward, plus `external_reply` naming the channel post).
fn reply_fields(
    world: &World,
    chat: &TelegramChat,
    reply: &ReplyTo,
    message: &mut Value,
    now: u64,
) {
    let date = now / 1000;
    if reply.chat.id == chat.id {
        message["reply_to_message"] =
            json!({"message_id": reply.message_id, "chat": chat_json(chat), "date": date});
        return;
    }
    message["external_reply"] = json!({
        "origin": {"type": "channel", "chat": chat_json(&reply.chat), "message_id": reply.message_id, "date": date},
        "chat": chat_json(&reply.chat),
        "message_id": reply.message_id,
    });
    if chat.linked_chat_id == Some(reply.chat.id)
        && let Some(&forward) = world
            .telegram
            .auto_forwards
            .get(&(reply.chat.id, reply.message_id))
    {
        message["message_thread_id"] = json!(forward);
        message["reply_to_message"] = json!({
            "message_id": forward,
            "chat": chat_json(chat),
            "sender_chat": chat_json(&reply.chat),
            "date": date,
            "is_automatic_forward": true,
            "forward_origin": {"type": "channel", "chat": chat_json(&reply.chat), "message_id": reply.message_id, "date": date},
        });
    }
}

/// What every send checks last, in this order: the message being replied to (a missing one
/// is refused before anything is counted), then the bot's and the chat's rate windows.
pub(crate) fn admit_send(
    world: &mut World,
    bot: &TelegramBot,
    chat: &TelegramChat,
    params: &Params,
    now: u64,
) -> Result<Option<ReplyTo>, Response> {
    let reply_to = reply_target(world, bot, chat, params)?;
    take_windows(world, bot, chat.id, now)?;
    Ok(reply_to)
}

/// The message being replied to, if any: it must exist in its chat, which is this one unless
/// `reply_parameters.chat_id` names another the bot is in.
pub(crate) fn reply_target(
    world: &World,
    bot: &TelegramBot,
    chat: &TelegramChat,
    params: &Params,
) -> Result<Option<ReplyTo>, Response> {
    let not_found = || bad_request("message to be replied not found");
    let parameters = params
        .get("reply_parameters")
        .and_then(|r| serde_json::from_str::<Value>(r).ok());
    let raw = params
        .get("reply_to_message_id")
        .map(str::to_owned)
        .or_else(|| {
            parameters
                .as_ref()
                .and_then(|r| r["message_id"].as_i64().map(|m| m.to_string()))
        });
    let Some(raw) = raw else {
        return Ok(None);
    };
    let id: i64 = raw.trim().parse().map_err(|_| not_found())?;
    let other = parameters.as_ref().and_then(|r| match &r["chat_id"] {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    });
    let target = match other {
        None => chat.clone(),
        Some(other) => {
            let found = find_chat(world, &other).ok_or_else(not_found)?;
            if found.id != chat.id && matches!(standing(found, bot).0.as_str(), "left" | "kicked") {
                return Err(not_found());
            }
            found.clone()
        }
    };
    let last = world
        .telegram
        .last_message
        .get(&target.id)
        .copied()
        .unwrap_or(0);
    if id < 1 || id > last {
        return Err(not_found());
    }
    Ok(Some(ReplyTo {
        chat: target,
        message_id: id,
    }))
}

fn send_message(sim: &SharedSim, bot: &TelegramBot, params: &Params) -> Response {
    let now = sim.now_ms();
    let mut world = sim.world();
    let chat = match chat_param(&world, params) {
        Ok(c) => c.clone(),
        Err(r) => return r,
    };
    if let Err(r) = may_post(&chat, bot) {
        return r;
    }
    let text = params.get("text").unwrap_or("");
    if text.trim().is_empty() {
        return bad_request("message text is empty");
    }
    let visible = match visible_text(text, params.get("parse_mode")) {
        Ok(v) => v,
        Err(reason) => return bad_request(&format!("can't parse entities: {reason}")),
    };
    if visible.trim().is_empty() {
        return bad_request("message text is empty");
    }
    if length(&visible) > world.config.telegram.max_text_chars {
        return bad_request("message is too long");
    }
    let reply_to = match admit_send(&mut world, bot, &chat, params, now) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let posted = Posted {
        text: &visible,
        media: Vec::new(),
        media_types: Vec::new(),
        reply_to: reply_to.as_ref(),
    };
    let mut message = new_message(&mut world, bot, &chat, posted, now);
    message["text"] = json!(visible);
    ok(&message)
}

async fn send_photo(sim: &SharedSim, bot: &TelegramBot, params: &Params) -> Response {
    let (chat, config, timeout) = {
        let world = sim.world();
        let chat = match chat_param(&world, params) {
            Ok(c) => c.clone(),
            Err(r) => return r,
        };
        (
            chat,
            world.config.telegram.clone(),
            Duration::from_millis(world.config.fetch.timeout_ms),
        )
    };
    if let Err(r) = may_post(&chat, bot) {
        return r;
    }
    let caption_raw = params.get("caption").unwrap_or("");
    let caption = match visible_text(caption_raw, params.get("parse_mode")) {
        Ok(c) => c,
        Err(reason) => return bad_request(&format!("can't parse entities: {reason}")),
    };
    if length(&caption) > config.max_caption_chars {
        return bad_request("message caption is too long");
    }
    let (bytes, known): (Option<Bytes>, Option<(String, FileInfo)>) =
        match (params.file("photo"), params.non_empty("photo")) {
            (Some(upload), _) => {
                if upload.bytes.len() as u64 > config.photo_upload_max_bytes {
                    return error(413, "Request Entity Too Large");
                }
                (Some(upload.bytes.clone()), None)
            }
            (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
                match fetch::fetch(&sim.http, url, config.photo_url_max_bytes, timeout).await {
                    Ok(f) => (Some(f.bytes), None),
                    Err(_) => return bad_request("wrong file identifier/HTTP URL specified"),
                }
            }
            (None, Some(file_id)) => match sim.world().telegram.files.get(file_id).cloned() {
                Some(info) => (None, Some((file_id.to_owned(), info))),
                None => return bad_request("wrong file identifier/HTTP URL specified"),
            },
            (None, None) => return bad_request("there is no photo in the request"),
        };
    let (file_id, info) = match (bytes, known) {
        (_, Some(found)) => found,
        (Some(bytes), None) => match photo_file(&bytes) {
            Ok(found) => found,
            Err(r) => return r,
        },
        (None, None) => return bad_request("there is no photo in the request"),
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
    let mut message = new_message(&mut world, bot, &chat, posted, now);
    message["photo"] = photo_json(&file_id, &info);
    if !caption.is_empty() {
        message["caption"] = json!(caption);
    }
    ok(&message)
}

/// A photo's bytes checked as Telegram checks them, with a new file id.
pub(crate) fn photo_file(bytes: &[u8]) -> Result<(String, FileInfo), Response> {
    let Some(image) = imaging::sniff(bytes).filter(|i| {
        matches!(
            i.format,
            ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Webp | ImageFormat::Gif
        )
    }) else {
        return Err(bad_request("IMAGE_PROCESS_FAILED"));
    };
    let (w, h) = (image.width, image.height);
    if w + h > 10_000 || w.max(h) > 20 * w.min(h) {
        return Err(bad_request("PHOTO_INVALID_DIMENSIONS"));
    }
    let info = FileInfo {
        width: w,
        height: h,
        size: bytes.len(),
        mime: image.format.mime().to_owned(),
        duration: 0,
    };
    Ok((format!("AgACAgQAAxkBAAI{}", random_token(40)), info))
}

/// A message's `photo`: the sizes Telegram keeps (a thumbnail and one up to 1280 px).
pub(crate) fn photo_json(file_id: &str, info: &FileInfo) -> Value {
    let scale = |max: u32| {
        let factor = f64::from(max) / f64::from(info.width.max(info.height));
        let factor = factor.min(1.0);
        (
            (f64::from(info.width) * factor).round() as u32,
            (f64::from(info.height) * factor).round() as u32,
        )
    };
    let (tw, th) = scale(90);
    let (fw, fh) = scale(1280);
    json!([
        {"file_id": format!("{file_id}-s"), "file_unique_id": random_token(15), "file_size": info.size / 20 + 1, "width": tw, "height": th},
        {"file_id": file_id, "file_unique_id": random_token(15), "file_size": info.size, "width": fw, "height": fh},
    ])
}
