//! First-comment rules: the comment published under a post once it is up is a reply on X
//! and Threads (so it follows their post length rules), a comment on LinkedIn, Facebook and
//! Instagram, and a message in Telegram's discussion group.

use serde::{Deserialize, Serialize};

use super::{FieldPath, RuleCode, TextCounting, Violation, group_digits, overlay, to_u64};
use crate::content::PostContent;
use crate::platform::Platform;

/// A platform's rules for `first_comment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRules {
    /// How length is counted.
    pub counting: TextCounting,
    /// The longest comment.
    pub max_length: usize,
    /// The most hashtags one comment may carry (Instagram: 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hashtags: Option<usize>,
}

/// The fields of [`CommentRules`] a config file names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct CommentRulesOverride {
    counting: Option<TextCounting>,
    max_length: Option<usize>,
    max_hashtags: Option<usize>,
}

impl CommentRulesOverride {
    pub(super) fn apply(self, rules: &mut CommentRules) {
        overlay(&mut rules.counting, self.counting);
        overlay(&mut rules.max_length, self.max_length);
        overlay(&mut rules.max_hashtags, self.max_hashtags.map(Some));
    }
}

/// The `first_comment` checks: not empty when given, no longer than the platform's limit,
/// no more hashtags than it takes.
pub(super) fn check_comment(
    platform: Platform,
    content: &PostContent,
    rules: &CommentRules,
    found: &mut Vec<Violation>,
) {
    let Some(comment) = content.first_comment.as_deref() else {
        return;
    };
    let name = platform.display_name();
    let mut push = |code, message: String| {
        found.push(Violation::new(
            platform,
            FieldPath::FirstComment,
            code,
            message,
        ));
    };
    if comment.trim().is_empty() {
        push(
            RuleCode::FirstCommentEmpty,
            "first_comment is empty: give the comment's text, or leave first_comment out"
                .to_owned(),
        );
        return;
    }
    let length = rules.counting.count(comment);
    if length > rules.max_length {
        push(
            RuleCode::FirstCommentTooLong,
            format!(
                "{name} allows {} {} in a comment; this first_comment has {}",
                group_digits(to_u64(rules.max_length)),
                rules.counting.unit(),
                group_digits(to_u64(length))
            ),
        );
    }
    if let Some(max) = rules.max_hashtags {
        let hashtags = count_hashtags(comment);
        if hashtags > max {
            push(
                RuleCode::FirstCommentTooManyHashtags,
                format!(
                    "{name} allows {max} hashtags in a comment; this first_comment has \
                     {hashtags}"
                ),
            );
        }
    }
}

/// `#` followed by a letter, digit or `_`, not in the middle of a word.
pub(super) fn count_hashtags(text: &str) -> usize {
    let mut count = 0;
    let mut previous: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '#'
            && previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '#'))
            && chars
                .peek()
                .is_some_and(|next| next.is_alphanumeric() || *next == '_')
        {
            count += 1;
        }
        previous = Some(c);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_counted_where_words_start() {
        assert_eq!(count_hashtags("#one #two,#three"), 3);
        assert_eq!(count_hashtags("no#tag # ## #_ok"), 1);
        assert_eq!(count_hashtags(""), 0);
    }
}
