//! Looking a post up on the platform: how an unknown outcome is resolved without posting
//! twice.
//!
//! When a publish call was sent and no answer came back, the worker asks: "is there a post by
//! this account with this text, made around then?". Each platform module reads its own recent
//! posts (X user tweets, Page feed, Instagram media, Threads threads, LinkedIn posts by author)
//! and this module decides whether one matches. Telegram bots cannot read channel history, so
//! Telegram answers [`Lookup::CannotKnow`] and policy decides.
//!
//! Matching compares text after normalizing what platforms change on the way: surrounding and
//! repeated whitespace, line endings, and URLs (X rewrites every link to a `t.co` one), so a
//! fingerprint is the text Herald sent.

use chrono::{DateTime, TimeDelta, Utc};

/// Whether the post exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found {
        remote_id: String,
        url: Option<String>,
    },
    NotFound,
    /// The platform offers no way to tell (Telegram).
    CannotKnow,
}

/// How far before `since` a post still counts (clock skew between Herald and the platform).
pub(crate) const SKEW: TimeDelta = TimeDelta::minutes(5);

/// A post read back from a platform.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) at: Option<DateTime<Utc>>,
    pub(crate) url: Option<String>,
}

/// The first candidate made after `since` (less skew) whose text matches `fingerprint`.
pub(crate) fn find(
    candidates: impl IntoIterator<Item = Candidate>,
    fingerprint: &str,
    since: DateTime<Utc>,
) -> Lookup {
    let wanted = normalize(fingerprint);
    candidates
        .into_iter()
        .find(|c| c.at.is_none_or(|at| at >= since - SKEW) && normalize(&c.text) == wanted)
        .map_or(Lookup::NotFound, |c| Lookup::Found {
            remote_id: c.id,
            url: c.url,
        })
}

/// Text with whitespace collapsed and every URL replaced by a placeholder.
pub(crate) fn normalize(text: &str) -> String {
    text.split_whitespace()
        .map(|word| {
            if word.starts_with("http://") || word.starts_with("https://") {
                "<url>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Graph/Threads timestamp (`2026-01-02T03:04:05+0000`) or RFC 3339.
pub(crate) fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, text: &str, at: DateTime<Utc>) -> Candidate {
        Candidate {
            id: id.into(),
            text: text.into(),
            at: Some(at),
            url: None,
        }
    }

    #[test]
    fn a_post_matches_despite_rewritten_links_and_whitespace() {
        let now = Utc::now();
        let found = find(
            [candidate(
                "1",
                "Launch day!\r\nRead https://t.co/abc123",
                now,
            )],
            "Launch day!\nRead  https://example.com/a/very/long/path",
            now - TimeDelta::minutes(1),
        );
        assert_eq!(
            found,
            Lookup::Found {
                remote_id: "1".into(),
                url: None
            }
        );
    }

    #[test]
    fn an_older_post_with_the_same_text_is_not_this_one() {
        let now = Utc::now();
        let found = find(
            [candidate("1", "gm", now - TimeDelta::hours(3))],
            "gm",
            now - TimeDelta::minutes(1),
        );
        assert_eq!(found, Lookup::NotFound);
    }

    #[test]
    fn graph_timestamps_parse() {
        assert!(parse_time("2026-01-02T03:04:05+0000").is_some());
        assert!(parse_time("2026-01-02T03:04:05Z").is_some());
    }
}
