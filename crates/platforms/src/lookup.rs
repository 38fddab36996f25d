//! Looking a post up on the platform: how an unknown outcome is resolved without posting
//! twice.
//!
//! When a publish call was sent and no answer came back, the worker asks: "is there a post by
//! this account with this text, made around then?". Each platform module reads its own recent
//! posts (X user tweets, Page feed, Instagram media, Threads threads, LinkedIn posts by author)
//! and this module decides whether one matches. Telegram bots cannot read channel history, so
//! Telegram answers [`Lookup::CannotKnow`] and policy decides.
//!
//! **Only a complete search answers "not found".** Recent posts come newest first, a page at a
//! time; the search pages back until it has passed the call's send time (less five minutes of clock skew) or
//! the platform has no more pages. A search that meets its bound first (pages or time, see
//! [`crate::HttpSettings`]) answers [`Lookup::Inconclusive`]: the step stays `sending` and is
//! looked up again later, never sent again on the strength of a partial read.
//!
//! Matching compares text after normalizing what platforms change on the way: surrounding and
//! repeated whitespace, line endings, and URLs (X rewrites every link to a `t.co` one), so a
//! fingerprint is the text Herald sent.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{Platform, PlatformFailure};

/// Whether the post exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found {
        remote_id: String,
        url: Option<String>,
    },
    /// A complete search: every post since the call was sent was read, none matches.
    NotFound,
    /// The search stopped at its bound (pages or time) before it had read back to the call's
    /// send time: the post may be further back. Look again later; never send again.
    Inconclusive { reason: String },
    /// The platform offers no way to tell: Telegram bots cannot read a channel, a LinkedIn
    /// member app without `r_member_social` may not list its own posts, X's read window is
    /// spent.
    CannotKnow,
}

/// A refusal of a post as a duplicate of a recent identical one (X 403 duplicate content,
/// LinkedIn 422 `DUPLICATE_POST`, Facebook 506). After an attempt of unknown outcome it is
/// the strongest evidence that the first attempt landed; with no doubt before it, it is the
/// permanent failure it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRefusal {
    /// The post the refusal names as the original: LinkedIn's `Content is a duplicate of
    /// urn:li:share:...`. X and Facebook name none.
    pub named: Option<String>,
}

impl DuplicateRefusal {
    /// Whether `failure` is a duplicate refusal, and which post it names.
    pub fn of(failure: &PlatformFailure) -> Option<Self> {
        let hint = failure.hint.as_deref()?;
        let duplicate = [
            crate::hints::X_DUPLICATE,
            crate::hints::LINKEDIN_DUPLICATE,
            crate::hints::META_DUPLICATE,
        ]
        .contains(&hint);
        duplicate.then(|| Self {
            named: failure
                .message
                .split(|c: char| c.is_whitespace() || c == '"' || c == ',')
                .map(|word| word.trim_end_matches(['.', ')', ']']))
                .find(|word| word.starts_with("urn:li:"))
                .map(str::to_owned),
        })
    }
}

/// What the post a duplicate refusal points at turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DuplicateOf {
    /// The original: the id the refusal named, or one found by a lookup.
    Found {
        remote_id: String,
        url: Option<String>,
        /// Whether it was read back. LinkedIn member apps without `r_member_social` may not
        /// read their own posts: then the id is the refusal's word for it.
        read_back: bool,
    },
    /// The platform names no post and no lookup found it (X names none, and its reads may be
    /// spent): the post exists, but its id is not known.
    Unnamed { reason: String },
    /// The refusal names a post that no longer exists (deleted since): not this post.
    Deleted { remote_id: String },
}

/// Whether a platform refuses a recent identical post, so that sending identical text again
/// is a safe probe of an earlier attempt of unknown outcome (see docs/exactly-once.md).
/// Instagram and Threads have no such check; Telegram posts anything twice.
pub const fn refuses_recent_duplicates(platform: Platform) -> bool {
    matches!(
        platform,
        Platform::Twitter | Platform::Linkedin | Platform::Facebook
    )
}

/// How far one lookup may page back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) pages: u32,
    pub(crate) time: Duration,
}

/// A search through pages of recent posts, newest first: feed it pages until it decides.
#[derive(Debug)]
pub(crate) struct Search {
    wanted: String,
    since: DateTime<Utc>,
    bounds: Bounds,
    started: Instant,
    pages: u32,
}

impl Search {
    /// A search for `fingerprint` among posts made since `since` (less five minutes of clock skew).
    pub(crate) fn new(fingerprint: &str, since: DateTime<Utc>, bounds: Bounds) -> Self {
        Self {
            wanted: normalize(fingerprint),
            since,
            bounds,
            started: Instant::now(),
            pages: 0,
        }
    }

    /// One page of posts, newest first; `more` says whether the platform has another page.
    /// `Some` once the search has decided, `None` to fetch the next page.
    pub(crate) fn page(
        &mut self,
        candidates: impl IntoIterator<Item = Candidate>,
        more: bool,
    ) -> Option<Lookup> {
        self.pages += 1;
        let cutoff = self.since - SKEW;
        let mut oldest: Option<DateTime<Utc>> = None;
        let mut empty = true;
        for c in candidates {
            empty = false;
            if let Some(at) = c.at {
                oldest = Some(oldest.map_or(at, |o| o.min(at)));
            }
            if c.at.is_none_or(|at| at >= cutoff) && normalize(&c.text) == self.wanted {
                return Some(Lookup::Found {
                    remote_id: c.id,
                    url: c.url,
                });
            }
        }
        // Complete: nothing further back, or this page already reaches before the send time.
        if !more || empty || oldest.is_some_and(|o| o < cutoff) {
            return Some(Lookup::NotFound);
        }
        if self.pages >= self.bounds.pages {
            return Some(Lookup::Inconclusive {
                reason: format!(
                    "read {} pages of recent posts without reaching the publish time",
                    self.pages
                ),
            });
        }
        if self.started.elapsed() >= self.bounds.time {
            return Some(Lookup::Inconclusive {
                reason: format!(
                    "spent {:?} reading {} pages of recent posts without reaching the publish time",
                    self.bounds.time, self.pages
                ),
            });
        }
        None
    }
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

/// The first candidate made after `since` (less skew) whose text matches `fingerprint`, in
/// one complete page.
#[cfg(test)]
fn find(
    candidates: impl IntoIterator<Item = Candidate>,
    fingerprint: &str,
    since: DateTime<Utc>,
) -> Lookup {
    let bounds = Bounds {
        pages: 1,
        time: Duration::from_secs(1),
    };
    Search::new(fingerprint, since, bounds)
        .page(candidates, false)
        .unwrap_or(Lookup::NotFound)
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
    fn a_search_pages_until_it_passes_the_send_time_and_no_further() {
        let now = Utc::now();
        let bounds = Bounds {
            pages: 3,
            time: Duration::from_secs(60),
        };
        let mut search = Search::new("gm", now - TimeDelta::minutes(1), bounds);
        // A busy page, all newer than the send time: keep going.
        assert_eq!(search.page([candidate("9", "other", now)], true), None);
        // A page reaching before the send time (less skew) ends it: complete, not found.
        let older = now - TimeDelta::hours(1);
        assert_eq!(
            search.page([candidate("8", "other", older)], true),
            Some(Lookup::NotFound)
        );
    }

    #[test]
    fn a_search_that_meets_its_bound_is_inconclusive() {
        let now = Utc::now();
        let bounds = Bounds {
            pages: 2,
            time: Duration::from_secs(60),
        };
        let mut search = Search::new("gm", now - TimeDelta::minutes(1), bounds);
        assert_eq!(search.page([candidate("9", "other", now)], true), None);
        assert!(matches!(
            search.page([candidate("8", "other", now)], true),
            Some(Lookup::Inconclusive { .. })
        ));
    }

    #[test]
    fn a_duplicate_refusal_names_linkedins_original() {
        let failure = PlatformFailure::new(
            herald_domain::ErrorClass::Permanent,
            Platform::Linkedin,
            "Content is a duplicate of urn:li:share:7123456789",
        )
        .with_hint(crate::hints::LINKEDIN_DUPLICATE);
        assert_eq!(
            DuplicateRefusal::of(&failure),
            Some(DuplicateRefusal {
                named: Some("urn:li:share:7123456789".into())
            })
        );
        let other = PlatformFailure::new(
            herald_domain::ErrorClass::Permanent,
            Platform::Linkedin,
            "Content is a duplicate of urn:li:share:1",
        );
        assert_eq!(DuplicateRefusal::of(&other), None);
    }

    #[test]
    fn graph_timestamps_parse() {
        assert!(parse_time("2026-01-02T03:04:05+0000").is_some());
        assert!(parse_time("2026-01-02T03:04:05Z").is_some());
    }
}
