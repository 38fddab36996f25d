//! What a producer asks Herald to publish.

use serde::{Deserialize, Serialize};

use crate::id::MediaId;

/// The content of a post, or of one target's override of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostContent {
    /// The text (for a thread, the first part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Further thread parts, posted as a reply chain (X). Each part is a tweet of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
    /// Images and videos attached to the post (the first part, for a thread), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaRef>,
    /// A comment published under the post once it is up, as its own step: a reply on X and
    /// Threads, a comment on LinkedIn, Facebook and Instagram, a reply in the linked
    /// discussion group of a Telegram channel. Its failure never takes the post down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_comment: Option<String>,
    /// What to do with an image whose aspect ratio the platform refuses: refuse the post
    /// (the default) or pad the image to the nearest ratio it takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
}

crate::state::string_enum!(
    /// How an image that does not fit a platform's aspect ratio range is handled.
    Fit, "fit" {
        Reject => "reject",
        Pad => "pad",
    }
);

/// An image or a video, either fetched from a URL (by the worker, before any platform call)
/// or stored in Herald's media store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MediaRef {
    Url { url: String },
    Stored { media_id: MediaId },
}

impl PostContent {
    /// The thread parts in posting order: the text, then each further part.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.text
            .as_deref()
            .into_iter()
            .chain(self.thread.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_refs_read_as_either_shape() {
        let content: PostContent = serde_json::from_str(
            r#"{"text":"hi","media":[{"url":"https://example.com/a.png"},
                {"media_id":"0190f0c4-5d1e-7a8b-9c0d-1e2f3a4b5c6d"}]}"#,
        )
        .unwrap();
        assert!(matches!(content.media[0], MediaRef::Url { .. }));
        assert!(matches!(content.media[1], MediaRef::Stored { .. }));
        assert_eq!(content.parts().collect::<Vec<_>>(), vec!["hi"]);
    }
}
