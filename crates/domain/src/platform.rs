//! The platforms Herald publishes to, and the two LinkedIn distinctions (which app, which
//! author). Names are `twitter`, not `x`: they appear in the schema, the
//! environment variables and the callback paths. `x` is accepted as an alias on input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    #[serde(alias = "x")]
    Twitter,
    Linkedin,
    Facebook,
    Instagram,
    Threads,
    Telegram,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Twitter,
        Platform::Linkedin,
        Platform::Facebook,
        Platform::Instagram,
        Platform::Threads,
        Platform::Telegram,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Twitter => "twitter",
            Platform::Linkedin => "linkedin",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Threads => "threads",
            Platform::Telegram => "telegram",
        }
    }

    /// The name people know it by, for messages.
    pub const fn display_name(self) -> &'static str {
        match self {
            Platform::Twitter => "X (Twitter)",
            Platform::Linkedin => "LinkedIn",
            Platform::Facebook => "Facebook",
            Platform::Instagram => "Instagram",
            Platform::Threads => "Threads",
            Platform::Telegram => "Telegram",
        }
    }

    /// Whether accounts connect through an OAuth flow (all but Telegram, which takes a bot
    /// token).
    pub const fn uses_oauth(self) -> bool {
        !matches!(self, Platform::Telegram)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "twitter" | "x" => Ok(Platform::Twitter),
            "linkedin" => Ok(Platform::Linkedin),
            "facebook" => Ok(Platform::Facebook),
            "instagram" => Ok(Platform::Instagram),
            "threads" => Ok(Platform::Threads),
            "telegram" => Ok(Platform::Telegram),
            _ => Err(UnknownPlatform(s.chars().take(64).collect())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown platform `{0}`: expected one of twitter (or x), linkedin, facebook, instagram, threads, telegram"
)]
pub struct UnknownPlatform(pub String);

/// Which LinkedIn app a connection was made with. LinkedIn needs separate apps for member
/// profiles ("Share on LinkedIn") and Company Pages ("Community Management API").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    Personal,
    Company,
}

impl AppType {
    pub const fn as_str(self) -> &'static str {
        match self {
            AppType::Personal => "personal",
            AppType::Company => "company",
        }
    }
}

impl fmt::Display for AppType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AppType {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "personal" => Ok(AppType::Personal),
            "company" => Ok(AppType::Company),
            _ => Err(InvalidChoice::new("app type", s, "personal, company")),
        }
    }
}

/// Where a connection posts: the account itself, or a page it administers (a Facebook Page,
/// a LinkedIn organization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PostTargetType {
    Personal,
    Page,
}

impl PostTargetType {
    pub const fn as_str(self) -> &'static str {
        match self {
            PostTargetType::Personal => "personal",
            PostTargetType::Page => "page",
        }
    }
}

impl fmt::Display for PostTargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PostTargetType {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "personal" => Ok(PostTargetType::Personal),
            "page" => Ok(PostTargetType::Page),
            _ => Err(InvalidChoice::new("post target type", s, "personal, page")),
        }
    }
}

/// A value outside a closed set of choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: expected one of {expected}")]
pub struct InvalidChoice {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl InvalidChoice {
    pub fn new(what: &'static str, value: &str, expected: &'static str) -> Self {
        Self {
            what,
            value: value.chars().take(64).collect(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_round_trip_and_x_is_an_alias() {
        for platform in Platform::ALL {
            assert_eq!(platform.as_str().parse::<Platform>().unwrap(), platform);
        }
        assert_eq!("x".parse::<Platform>().unwrap(), Platform::Twitter);
        assert_eq!("X".parse::<Platform>().unwrap(), Platform::Twitter);
        let from_json: Platform = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(from_json, Platform::Twitter);
        assert_eq!(
            serde_json::to_string(&Platform::Twitter).unwrap(),
            "\"twitter\""
        );
    }

    #[test]
    fn an_unknown_platform_lists_the_choices() {
        let err = "myspace".parse::<Platform>().unwrap_err().to_string();
        assert!(err.contains("myspace") && err.contains("telegram"), "{err}");
    }
}
