//! Telegram Bot API: no OAuth, a bot token and a channel.
//!
//! - Connect: `getMe` proves the token, `getChat` finds the chat, `getChatMember` (for the bot
//!   itself) proves it is an administrator allowed to post (`can_post_messages` in channels).
//!   Anything less is refused with a hint: make the bot an admin with Post Messages.
//! - Publish: one `publish` step: `sendMessage` for text, `sendPhoto` for an image (multipart
//!   upload of the bytes, or the URL when Herald has only a URL), `sendVideo` for a video
//!   (multipart upload, with its duration and size and `supports_streaming`), and
//!   `sendMediaGroup` for 2-10 images and videos (mixed; each an `attach://` part, the text
//!   as the first item's caption), whose first message is the post. Text is sent plain (no
//!   `parse_mode`), so nothing needs escaping. A caption is at most 1,024 characters, which
//!   is checked at planning. No processing to wait for: the calls are synchronous.
//! - First comment: a channel's comments live in its linked discussion group
//!   (`getChat` → `linked_chat_id`), where Telegram copies every channel post as an
//!   automatic forward. That copy's id in the group reaches a bot only as an update
//!   (`getUpdates` or a webhook), which Herald does not consume, and waiting for it would
//!   tie the comment to the bot's update stream. So the `comment` step sends one
//!   `sendMessage` to the discussion group with `reply_parameters {message_id: post,
//!   chat_id: channel}`: a reply naming the channel post across chats (Bot API 7.0), which
//!   needs nothing but the post's own id and works for any bot that is a member of the
//!   group. (How clients thread such a reply among the post's comments is not documented.)
//!   The group is read again at comment time, so a link changed since connecting is
//!   followed; a channel without one is refused at enqueue when known, and here otherwise.
//! - URL: `https://t.me/{username}/{message_id}` for public chats, else
//!   `https://t.me/c/{id without -100}/{message_id}`.
//! - Lookup: bots cannot read channel history, so [`crate::Lookup::CannotKnow`].
//!
//! The token is part of every URL (`/bot{token}/{method}`); `http.rs` never prints URLs.

use herald_config::TelegramConfig;
use herald_domain::{Code, ErrorClass, Platform, PlatformFailure, PostContent, VideoContainer};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::account::{ChatId, TelegramChannel};
use crate::classify::{Call, Operation};
use crate::hints;
use crate::http::{Http, Reply, Sent};
use crate::steps::{
    MediaInput, Step, StepAction, StepContext, StepKey, StepOutcome, comment_step, unpublishable,
};

const P: Platform = Platform::Telegram;
/// The Bot API's caption limit for `sendPhoto`, `sendVideo` and media group items.
pub(crate) const CAPTION_LIMIT: usize = 1024;
/// A media group has 2 to 10 items.
const MAX_GROUP: usize = 10;
/// The largest file a bot may upload (multipart).
const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Telegram {
    http: Http,
    config: TelegramConfig,
}

#[derive(Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
}

#[derive(Deserialize)]
struct Bot {
    id: i64,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    linked_chat_id: Option<i64>,
}

#[derive(Deserialize)]
struct Member {
    status: String,
    #[serde(default)]
    can_post_messages: Option<bool>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    chat: Chat,
}

impl Telegram {
    pub(crate) fn new(http: Http, config: &TelegramConfig) -> Self {
        Self {
            http,
            config: config.clone(),
        }
    }

    fn method(&self, token: &SecretString, method: &str) -> String {
        self.config
            .api_url
            .join(&format!("/bot{}/{method}", token.expose_secret()))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        sent: Sent,
        call: Call,
    ) -> Result<(T, Reply), PlatformFailure> {
        let reply = self.http.send(P, request, sent).await?;
        let reply = reply.ok_or_failure(P, call)?;
        let envelope: Envelope<T> = reply.json(P, sent)?;
        match envelope.result {
            Some(result) if envelope.ok => Ok((result, reply)),
            _ => Err(reply.failure(P, call)),
        }
    }

    pub(crate) async fn connect(
        &self,
        token: &SecretString,
        chat: &ChatId,
    ) -> Result<TelegramChannel, PlatformFailure> {
        let client = self.http.client();
        let connect = Call::new(Operation::Connect);
        let (bot, _) = self
            .call::<Bot>(
                client.post(self.method(token, "getMe")),
                Sent::Repeatable,
                connect,
            )
            .await?;
        let (found, _) = self
            .call::<Chat>(
                client
                    .post(self.method(token, "getChat"))
                    .json(&json!({ "chat_id": chat_value(chat) })),
                Sent::Repeatable,
                connect,
            )
            .await?;
        let (member, _) = self
            .call::<Member>(
                client
                    .post(self.method(token, "getChatMember"))
                    .json(&json!({ "chat_id": found.id, "user_id": bot.id })),
                Sent::Repeatable,
                connect,
            )
            .await?;
        let may_post = match member.status.as_str() {
            "creator" => true,
            // Channels need the explicit right; in groups an admin can always post.
            "administrator" => found.kind != "channel" || member.can_post_messages == Some(true),
            _ => false,
        };
        if !may_post {
            return Err(PlatformFailure::new(
                ErrorClass::Permanent,
                P,
                format!(
                    "the bot is `{}` in {} without the right to post messages",
                    member.status, chat
                ),
            )
            .with_status(403)
            .with_hint(hints::TELEGRAM_NOT_ADMIN));
        }
        Ok(TelegramChannel {
            bot_id: bot.id,
            bot_username: bot.username,
            chat_id: found.id,
            chat_type: found.kind,
            title: found.title,
            username: found.username,
            linked_chat_id: found.linked_chat_id,
        })
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        if content.media.len() > MAX_GROUP {
            return Err(unpublishable(
                P,
                format!(
                    "a Telegram media group has at most {MAX_GROUP} items, got {}",
                    content.media.len()
                ),
                "Attach at most 10 images and videos",
            ));
        }
        if !content.thread.is_empty() {
            return Err(unpublishable(
                P,
                "Telegram posts are not threads",
                "Send one text",
            ));
        }
        let caption = content.text.as_deref().unwrap_or_default().chars().count();
        if !content.media.is_empty() && caption > CAPTION_LIMIT {
            return Err(unpublishable(
                P,
                format!("a media caption is at most {CAPTION_LIMIT} characters, got {caption}"),
                hints::TELEGRAM_TOO_LONG,
            ));
        }
        let mut steps = vec![Step::new(P, StepKey::publish(), StepAction::Publish)];
        steps.extend(comment_step(P, content));
        Ok(steps)
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        match step.action {
            StepAction::Publish => self.publish(ctx).await,
            StepAction::Comment => self.comment(ctx).await,
            _ => Err(crate::oauth::unsupported(P, "this step")),
        }
    }

    async fn publish(&self, ctx: &StepContext<'_>) -> Result<StepOutcome, PlatformFailure> {
        let token = &ctx.account.access_token;
        let chat = ChatId::parse(&ctx.account.account_id)?;
        let client = self.http.client();
        let call = Call::new(Operation::Publish).with_media(!ctx.content.media.is_empty());
        let request = match ctx.content.media.len() {
            0 => client.post(self.method(token, "sendMessage")).json(&json!({
                "chat_id": chat_value(&chat),
                "text": ctx.text(),
            })),
            1 => {
                let media = ctx.media(0)?;
                if media.is_video() {
                    self.video_request(token, &chat, ctx.text(), media).await?
                } else {
                    self.photo_request(token, &chat, ctx.text(), media)?
                }
            }
            n => {
                let items = (0..n)
                    .map(|i| ctx.media(i))
                    .collect::<Result<Vec<_>, _>>()?;
                let form = group_form(&chat, ctx.text(), &items).await?;
                let request = client
                    .post(self.method(token, "sendMediaGroup"))
                    .multipart(form);
                let (messages, reply) = self
                    .call::<Vec<Message>>(request, Sent::Publishes, call)
                    .await?;
                let first = messages.first().ok_or_else(|| {
                    PlatformFailure::new(
                        ErrorClass::UnknownOutcome,
                        P,
                        "sendMediaGroup answered with no message",
                    )
                })?;
                let url = message_url(&first.chat, first.message_id);
                return Ok(
                    StepOutcome::new(first.message_id.to_string(), reply.rate).with_url(Some(url))
                );
            }
        };
        let (message, reply) = self.call::<Message>(request, Sent::Publishes, call).await?;
        let url = message_url(&message.chat, message.message_id);
        Ok(StepOutcome::new(message.message_id.to_string(), reply.rate).with_url(Some(url)))
    }

    fn photo_request(
        &self,
        token: &SecretString,
        chat: &ChatId,
        caption: &str,
        media: &MediaInput,
    ) -> Result<reqwest::RequestBuilder, PlatformFailure> {
        let client = self.http.client();
        Ok(match (media.memory(), &media.public_url) {
            (Some(bytes), _) => {
                let mut form = Form::new()
                    .text("chat_id", chat.to_string())
                    .part("photo", upload_part(bytes.clone(), media)?);
                if !caption.is_empty() {
                    form = form.text("caption", caption.to_owned());
                }
                client.post(self.method(token, "sendPhoto")).multipart(form)
            }
            (None, Some(url)) => client.post(self.method(token, "sendPhoto")).json(&json!({
                "chat_id": chat_value(chat),
                "photo": url,
                "caption": caption,
            })),
            (None, None) => {
                return Err(unpublishable(
                    P,
                    "the image has neither bytes nor a URL",
                    "Provide the image",
                ));
            }
        })
    }

    /// `sendVideo` with the file uploaded (at most 50 MB, so reading it whole is bounded),
    /// its facts given so clients lay it out before it loads, and streaming allowed. A video
    /// Herald has only as a URL goes by URL (Telegram fetches up to 20 MB).
    async fn video_request(
        &self,
        token: &SecretString,
        chat: &ChatId,
        caption: &str,
        media: &MediaInput,
    ) -> Result<reqwest::RequestBuilder, PlatformFailure> {
        if let (None, Some(url)) = (&media.body, &media.public_url) {
            let mut body = json!({
                "chat_id": chat_value(chat),
                "video": url,
                "caption": caption,
                "supports_streaming": true,
            });
            if let Some(info) = &media.video {
                body["duration"] = json!(info.duration_ms.div_ceil(1000));
                body["width"] = json!(info.width);
                body["height"] = json!(info.height);
            }
            return Ok(self
                .http
                .client()
                .post(self.method(token, "sendVideo"))
                .json(&body));
        }
        let mut form = Form::new()
            .text("chat_id", chat.to_string())
            .part("video", video_part(media).await?)
            .text("supports_streaming", "true");
        if let Some(info) = &media.video {
            form = form
                .text("duration", info.duration_ms.div_ceil(1000).to_string())
                .text("width", info.width.to_string())
                .text("height", info.height.to_string());
        }
        if !caption.is_empty() {
            form = form.text("caption", caption.to_owned());
        }
        Ok(self
            .http
            .client()
            .post(self.method(token, "sendVideo"))
            .multipart(form))
    }

    /// The first comment: a reply in the channel's discussion group naming the channel post
    /// (see the module documentation for why this sequence).
    async fn comment(&self, ctx: &StepContext<'_>) -> Result<StepOutcome, PlatformFailure> {
        let post: i64 = ctx
            .prior
            .require(P, &StepKey::publish())?
            .parse()
            .map_err(|_| {
                unpublishable(
                    P,
                    "the channel post id is not a number",
                    "Publish the post again",
                )
            })?;
        let token = &ctx.account.access_token;
        let channel = ChatId::parse(&ctx.account.account_id)?;
        let client = self.http.client();
        let (found, _) = self
            .call::<Chat>(
                client
                    .post(self.method(token, "getChat"))
                    .json(&json!({ "chat_id": chat_value(&channel) })),
                Sent::Repeatable,
                Call::new(Operation::Read),
            )
            .await?;
        let Some(group) = found.linked_chat_id else {
            return Err(PlatformFailure::new(
                ErrorClass::Permanent,
                P,
                format!(
                    "first_comment.unsupported: the Telegram channel {channel} has no linked \
                     discussion group, so its posts take no comments"
                ),
            )
            .with_herald_code(Code::Content)
            .with_hint(hints::TELEGRAM_NO_DISCUSSION));
        };
        let text = ctx.content.first_comment.as_deref().unwrap_or_default();
        let request = client.post(self.method(token, "sendMessage")).json(&json!({
            "chat_id": group,
            "text": text,
            "reply_parameters": {"message_id": post, "chat_id": found.id},
        }));
        let (message, reply) = self
            .call::<Message>(request, Sent::Publishes, Call::new(Operation::Publish))
            .await?;
        // t.me's link to a comment: the channel post, opened at the comment.
        let url = match &found.username {
            Some(username) => format!(
                "https://t.me/{username}/{post}?comment={}",
                message.message_id
            ),
            None => message_url(&message.chat, message.message_id),
        };
        Ok(StepOutcome::new(message.message_id.to_string(), reply.rate).with_url(Some(url)))
    }
}

/// A file part named and typed after the media item.
fn upload_part(bytes: bytes::Bytes, media: &MediaInput) -> Result<Part, PlatformFailure> {
    Part::stream(bytes)
        .file_name(media.file_name.clone())
        .mime_str(&media.content_type)
        .map_err(|err| {
            unpublishable(
                P,
                format!("bad content type: {err}"),
                "Use a JPEG, PNG or GIF image, or an MP4 video",
            )
        })
}

/// A video's upload part: MPEG4 only, at most 50 MB.
async fn video_part(media: &MediaInput) -> Result<Part, PlatformFailure> {
    if let Some(info) = &media.video
        && info.container != VideoContainer::Mp4
    {
        return Err(unpublishable(
            P,
            format!(
                "video.container: Telegram plays MPEG4 (MP4) videos, this one is {}",
                info.container.mime_type()
            ),
            hints::TELEGRAM_VIDEO,
        ));
    }
    if media.len > MAX_UPLOAD_BYTES {
        return Err(unpublishable(
            P,
            format!(
                "video.too_large: a Telegram bot uploads at most {MAX_UPLOAD_BYTES} bytes, this \
                 video is {}",
                media.len
            ),
            hints::TELEGRAM_TOO_LARGE,
        ));
    }
    let bytes = media.read_all().await.map_err(|err| {
        PlatformFailure::new(
            ErrorClass::Retryable,
            P,
            format!("the video could not be read for upload: {err}"),
        )
        .with_herald_code(Code::MediaUnavailable)
    })?;
    upload_part(bytes, media)
}

/// `sendMediaGroup`'s form: the `media` array of `InputMediaPhoto`/`InputMediaVideo`, each
/// an `attach://item{i}` part (a photo Herald has only as a URL goes by URL), the caption on
/// the first item.
async fn group_form(
    chat: &ChatId,
    caption: &str,
    items: &[&MediaInput],
) -> Result<Form, PlatformFailure> {
    let mut form = Form::new().text("chat_id", chat.to_string());
    let mut media = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let name = format!("item{i}");
        let mut entry = if item.is_video() {
            let media = match (&item.body, &item.public_url) {
                (None, Some(url)) => url.clone(),
                _ => {
                    form = form.part(name.clone(), video_part(item).await?);
                    format!("attach://{name}")
                }
            };
            let mut entry = json!({"type": "video", "media": media, "supports_streaming": true});
            if let Some(info) = &item.video {
                entry["duration"] = json!(info.duration_ms.div_ceil(1000));
                entry["width"] = json!(info.width);
                entry["height"] = json!(info.height);
            }
            entry
        } else {
            match (item.memory(), &item.public_url) {
                (Some(bytes), _) => {
                    form = form.part(name.clone(), upload_part(bytes.clone(), item)?);
                    json!({"type": "photo", "media": format!("attach://{name}")})
                }
                (None, Some(url)) => json!({"type": "photo", "media": url}),
                (None, None) => {
                    return Err(unpublishable(
                        P,
                        format!("image {i} has neither bytes nor a URL"),
                        "Provide the image",
                    ));
                }
            }
        };
        if i == 0 && !caption.is_empty() {
            entry["caption"] = json!(caption);
        }
        media.push(entry);
    }
    Ok(form.text("media", Value::Array(media).to_string()))
}

/// A chat id as JSON: numbers as numbers, `@names` as strings.
fn chat_value(chat: &ChatId) -> Value {
    chat.as_str()
        .parse::<i64>()
        .map_or_else(|_| Value::from(chat.as_str()), Value::from)
}

fn message_url(chat: &Chat, message_id: i64) -> String {
    match &chat.username {
        Some(username) => format!("https://t.me/{username}/{message_id}"),
        None => {
            let id = chat.id.to_string();
            let internal = id
                .strip_prefix("-100")
                .unwrap_or(id.trim_start_matches('-'));
            format!("https://t.me/c/{internal}/{message_id}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: i64, username: Option<&str>) -> Chat {
        Chat {
            id,
            kind: "channel".into(),
            title: None,
            username: username.map(str::to_owned),
            linked_chat_id: None,
        }
    }

    #[test]
    fn public_channels_link_by_name_and_private_ones_by_internal_id() {
        assert_eq!(
            message_url(&chat(-1_001_000_000_001, Some("herald_dev_channel")), 42),
            "https://t.me/herald_dev_channel/42"
        );
        assert_eq!(
            message_url(&chat(-1_001_234_567_890, None), 7),
            "https://t.me/c/1234567890/7"
        );
    }
}
