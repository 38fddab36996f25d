//! Who Herald acts as: the account credentials a caller passes in, and what connecting
//! discovers (identity, pages, organizations, Instagram accounts, Telegram channels).
//!
//! This crate never reads the store: the worker and the API unseal tokens and pass them in
//! as [`SecretString`]s, and get ids and tokens back out. Every type here derives `Debug`
//! safely because secrets are `SecretString`s, which print as `[REDACTED]`.

use herald_domain::{AppType, Code, ErrorClass, Platform, PlatformFailure, PostTargetType};
use secrecy::SecretString;

use crate::hints;

/// A connected account, as the worker passes it to publish, refresh or look up.
///
/// Which id means what, per platform:
///
/// | Platform | `account_id` | `page_id` | `access_token` | `username` |
/// |---|---|---|---|---|
/// | X | user id | - | user token | @handle (for URLs) |
/// | LinkedIn | member `sub` | organization id when `target` is `Page` | member token | - |
/// | Facebook | user id | Page id | **Page** token | - |
/// | Instagram | IG business account id | linked Page id | user token | IG username |
/// | Threads | Threads user id | - | user token | username |
/// | Telegram | chat id (`@name` or `-100...`) | - | **bot** token | channel username |
#[derive(Debug, Clone)]
pub struct Account {
    pub platform: Platform,
    /// LinkedIn: which app made the connection.
    pub app_type: Option<AppType>,
    pub target: PostTargetType,
    pub account_id: String,
    pub page_id: Option<String>,
    pub username: Option<String>,
    pub access_token: SecretString,
}

impl Account {
    /// A personal-target account (the common case).
    pub fn new(
        platform: Platform,
        account_id: impl Into<String>,
        access_token: SecretString,
    ) -> Self {
        Self {
            platform,
            app_type: None,
            target: PostTargetType::Personal,
            account_id: account_id.into(),
            page_id: None,
            username: None,
            access_token,
        }
    }

    /// Posting as a page: a Facebook Page or a LinkedIn organization.
    pub fn on_page(mut self, page_id: impl Into<String>) -> Self {
        self.target = PostTargetType::Page;
        self.page_id = Some(page_id.into());
        self
    }

    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    pub fn with_app_type(mut self, app_type: AppType) -> Self {
        self.app_type = Some(app_type);
        self
    }

    /// The page id a page-target account needs.
    pub(crate) fn page(&self) -> Result<&str, PlatformFailure> {
        self.page_id.as_deref().ok_or_else(|| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                self.platform,
                "the connection has no page selected",
            )
            .with_herald_code(Code::NoPage)
            .with_hint("Select the page to post to on the connection")
        })
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account_id: String,
    pub name: Option<String>,
    /// The handle used in public URLs (X, Instagram, Threads), when the platform has one.
    pub username: Option<String>,
    pub email: Option<String>,
}

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The account itself (X, LinkedIn member, Threads).
    Profile,
    FacebookPage,
    InstagramAccount,
    LinkedinOrganization,
}

/// A place a connection can post to, found while connecting.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
    pub name: Option<String>,
    pub username: Option<String>,
    /// Facebook: the Page's own token (from a long-lived user token it does not expire).
    pub access_token: Option<SecretString>,
    /// Instagram: the Facebook Page the account is linked to.
    pub page_id: Option<String>,
}

impl Target {
    pub(crate) fn new(kind: TargetKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: None,
            username: None,
            access_token: None,
            page_id: None,
        }
    }

    /// The account's own profile, as its identity names it.
    pub(crate) fn profile(me: Identity) -> Self {
        let mut target = Self::new(TargetKind::Profile, me.account_id);
        target.name = me.name;
        target.username = me.username;
        target
    }
}

/// A Telegram chat id as users give it: `@channelname` for public channels, or the numeric id
/// (`-1001234567890`) for private ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatId(String);

impl ChatId {
    pub fn parse(value: &str) -> Result<ChatId, PlatformFailure> {
        let value = value.trim();
        let valid = match value.strip_prefix('@') {
            Some(name) => {
                (5..=32).contains(&name.len())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && name.starts_with(|c: char| c.is_ascii_alphabetic())
            }
            None => value.parse::<i64>().is_ok(),
        };
        if valid {
            Ok(ChatId(value.to_owned()))
        } else {
            Err(PlatformFailure::new(
                ErrorClass::Permanent,
                Platform::Telegram,
                format!(
                    "`{}` is not a Telegram chat id",
                    value.chars().take(64).collect::<String>()
                ),
            )
            .with_status(400)
            .with_hint(hints::TELEGRAM_CHAT_ID))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ChatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Telegram channel Herald may post to: the bot, the chat, and proof the bot can post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramChannel {
    pub bot_id: i64,
    pub bot_username: Option<String>,
    pub chat_id: i64,
    pub chat_type: String,
    pub title: Option<String>,
    /// Public channels have one; URLs use it (`t.me/{username}/{id}`).
    pub username: Option<String>,
    /// The channel's linked discussion group (`getChat`'s `linked_chat_id`), where its
    /// comments live; `None`: the channel takes no comments.
    pub linked_chat_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_are_public_names_or_numbers() {
        assert!(ChatId::parse("@herald_dev_channel").is_ok());
        assert!(ChatId::parse("-1001000000001").is_ok());
        for bad in ["herald", "@abc", "@with space", "-100abc", ""] {
            let err = ChatId::parse(bad).unwrap_err();
            assert_eq!(err.hint.as_deref(), Some(hints::TELEGRAM_CHAT_ID), "{bad}");
        }
    }
}
