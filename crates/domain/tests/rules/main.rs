//! Content rules, tested through the crate's public API: per-platform text and image rules
//! with the facts their messages must state, configuration overlays, header sniffing, and
//! properties that must hold for any input.

mod config;
mod images;
mod media;
mod props;
mod sniff;
mod text;

use herald_domain::rules::content_violations;
use herald_domain::{ContentRules, MediaRef, Platform, PostContent, Violation};

/// A post with this text and no images.
pub(crate) fn post(text: &str) -> PostContent {
    PostContent {
        text: Some(text.to_owned()),
        ..PostContent::default()
    }
}

/// `count` image references.
pub(crate) fn images(count: usize) -> Vec<MediaRef> {
    (0..count)
        .map(|index| MediaRef::Url {
            url: format!("https://media.example.com/{index}.jpg"),
        })
        .collect()
}

/// A post with this text and `count` images.
pub(crate) fn post_with_images(text: &str, count: usize) -> PostContent {
    PostContent {
        media: images(count),
        ..post(text)
    }
}

/// The violations of `content` under the default rules.
pub(crate) fn violations(platform: Platform, content: &PostContent) -> Vec<Violation> {
    content_violations(platform, content, &ContentRules::default())
}

/// `(field, code)` of each violation, for compact assertions.
pub(crate) fn fields_and_codes(found: &[Violation]) -> Vec<(String, &'static str)> {
    found
        .iter()
        .map(|violation| (violation.field.to_string(), violation.code.as_str()))
        .collect()
}

/// The single violation, or a failure showing all of them.
pub(crate) fn only(found: Vec<Violation>) -> Violation {
    assert_eq!(found.len(), 1, "expected exactly one violation: {found:#?}");
    found.into_iter().next().expect("one violation")
}

/// The message contains every fact.
pub(crate) fn assert_mentions(message: &str, facts: &[&str]) {
    for fact in facts {
        assert!(
            message.contains(fact),
            "`{message}` should mention `{fact}`"
        );
    }
}
