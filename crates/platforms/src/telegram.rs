//! Telegram Bot API: no OAuth, a bot token and a channel.
//!
//! - Connect: `getMe` proves the token, `getChat` finds the chat, `getChatMember` (for the bot
//!   itself) proves it is an administrator allowed to post (`can_post_messages` in channels).
//!   Anything less is refused with a hint: make the bot an admin with Post Messages.
//! - Publish: one `publish` step: `sendMessage` for text, `sendPhoto` for an image (multipart
//!   upload of the bytes, or the URL when Herald has only a URL) with the text as caption.
//!   Text is sent plain (no `parse_mode`), so nothing needs escaping. Caption rules: a photo
//!   caption is at most 1,024 characters, which is checked at planning.
//! - URL: `https://t.me/{username}/{message_id}` for public chats, else
//!   `https://t.me/c/{id without -100}/{message_id}`.
//! - Lookup: bots cannot read channel history, so [`crate::Lookup::CannotKnow`].
//!
//! The token is part of every URL (`/bot{token}/{method}`); `http.rs` never prints URLs.

use herald_config::TelegramConfig;
use herald_domain::{ErrorClass, Platform, PlatformFailure, PostContent};
use reqwest::multipart::{Form, Part};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::account::{ChatId, TelegramChannel};
use crate::classify::{Call, Operation};
use crate::hints;
use crate::http::{Http, Reply, Sent};
use crate::steps::{Step, StepAction, StepContext, StepKey, StepOutcome, unpublishable};

const P: Platform = Platform::Telegram;
/// The Bot API's caption limit for `sendPhoto`.
pub(crate) const CAPTION_LIMIT: usize = 1024;

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
        })
    }

    pub(crate) fn plan(&self, content: &PostContent) -> Result<Vec<Step>, PlatformFailure> {
        if content.media.len() > 1 {
            return Err(unpublishable(
                P,
                "Herald sends at most one photo per Telegram post",
                "Attach one image",
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
                format!("a photo caption is at most {CAPTION_LIMIT} characters, got {caption}"),
                hints::TELEGRAM_TOO_LONG,
            ));
        }
        Ok(vec![Step::new(P, StepKey::publish(), StepAction::Publish)])
    }

    pub(crate) async fn execute(
        &self,
        step: &Step,
        ctx: &StepContext<'_>,
    ) -> Result<StepOutcome, PlatformFailure> {
        if step.action != StepAction::Publish {
            return Err(crate::oauth::unsupported(P, "this step"));
        }
        let token = &ctx.account.access_token;
        let chat = ChatId::parse(&ctx.account.account_id)?;
        let client = self.http.client();
        let call = Call::new(Operation::Publish).with_media(!ctx.content.media.is_empty());
        let request = match ctx.content.media.first() {
            None => client.post(self.method(token, "sendMessage")).json(&json!({
                "chat_id": chat_value(&chat),
                "text": ctx.text(),
            })),
            Some(_) => {
                let media = ctx.media(0)?;
                match (media.memory(), &media.public_url) {
                    (Some(bytes), _) => {
                        let photo = Part::stream(bytes.clone())
                            .file_name(media.file_name.clone())
                            .mime_str(&media.content_type)
                            .map_err(|err| {
                                unpublishable(
                                    P,
                                    format!("bad content type: {err}"),
                                    "Use a JPEG, PNG or GIF image",
                                )
                            })?;
                        let mut form = Form::new()
                            .text("chat_id", chat.to_string())
                            .part("photo", photo);
                        if !ctx.text().is_empty() {
                            form = form.text("caption", ctx.text().to_owned());
                        }
                        client.post(self.method(token, "sendPhoto")).multipart(form)
                    }
                    (None, Some(url)) => {
                        client.post(self.method(token, "sendPhoto")).json(&json!({
                            "chat_id": chat_value(&chat),
                            "photo": url,
                            "caption": ctx.text(),
                        }))
                    }
                    (None, None) => {
                        return Err(unpublishable(
                            P,
                            "the image has neither bytes nor a URL",
                            "Provide the image",
                        ));
                    }
                }
            }
        };
        let (message, reply) = self.call::<Message>(request, Sent::Publishes, call).await?;
        let url = message_url(&message.chat, message.message_id);
        Ok(StepOutcome::new(message.message_id.to_string(), reply.rate).with_url(Some(url)))
    }
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
