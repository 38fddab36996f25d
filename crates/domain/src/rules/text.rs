//! Text rules: how long a post, a thread part or a caption may be, how each platform counts
//! that length, and whether the platform takes threads.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use twitter_text::entity::Type as EntityType;
use twitter_text::extractor::{Extract, ValidatingExtractor};
use unicode_normalization::{UnicodeNormalization, is_nfc};

use super::{FieldPath, PlatformRules, RuleCode, Violation, group_digits, overlay, to_u64};
use crate::content::PostContent;
use crate::platform::Platform;

/// How a platform measures the length of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextCounting {
    /// X's weighted length by the official twitter-text v3 rules: the text is NFC-normalized,
    /// code points up to U+10FF (Latin, Greek, Cyrillic, Hebrew, Arabic, ...) and some
    /// punctuation weigh 1, everything else (CJK, most other scripts) 2, each emoji sequence
    /// 2, and each URL 23 whatever its length. See [`twitter_weighted_length`].
    TwitterWeighted,
    /// Unicode scalar values (Rust `char`s) of the text as sent: what a person counting
    /// characters gets for almost all text. A decomposed "é" (e + combining accent) is 2, and
    /// so is a flag emoji (two regional indicators).
    Chars,
    /// UTF-16 code units, for platforms whose backends count like JavaScript or Java: like
    /// `chars`, except that characters outside the Basic Multilingual Plane (most emoji)
    /// count 2.
    Utf16,
    /// Characters, except that emoji count their UTF-8 bytes (Threads: "emojis are counted as
    /// the number of UTF-8 bytes"), so 😀 is 4 and a ZWJ family sequence its whole byte length.
    CharsEmojiBytes,
}

impl TextCounting {
    /// The length of `text` as this counting measures it.
    pub fn count(self, text: &str) -> usize {
        match self {
            TextCounting::TwitterWeighted => twitter_weighted_length(text),
            TextCounting::Chars => text.chars().count(),
            TextCounting::Utf16 => text.encode_utf16().count(),
            TextCounting::CharsEmojiBytes => text
                .chars()
                .map(|c| if is_emoji_scalar(c) { c.len_utf8() } else { 1 })
                .sum(),
        }
    }

    /// What is being counted, as a plural noun for messages.
    pub(super) const fn unit(self) -> &'static str {
        match self {
            TextCounting::TwitterWeighted => "weighted characters",
            TextCounting::Chars | TextCounting::CharsEmojiBytes => "characters",
            TextCounting::Utf16 => "UTF-16 code units",
        }
    }

    /// How the count differs from what a reader might expect, for messages.
    const fn explanation(self) -> &'static str {
        match self {
            TextCounting::TwitterWeighted => " (URLs count 23, emoji and CJK 2)",
            TextCounting::Chars => "",
            TextCounting::Utf16 => " (most emoji count 2)",
            TextCounting::CharsEmojiBytes => " (each emoji counts its UTF-8 bytes, usually 4)",
        }
    }
}

/// X's weighted length of `text` by the official twitter-text v3 rules, with every URL
/// counted at its t.co length (23). This is the number X compares with 280.
///
/// The `twitter-text` crate (0.3.1) does the work, with two corrections so that it agrees
/// with Twitter's own library and never takes the service down:
///
/// - It weighs only `http(s)://` URLs as 23 and counts a URL without a scheme
///   (`example.com/path`) character by character, where Twitter's conformance suite says
///   "Count a URL without protocol as 23 characters" (and X links such text). Herald
///   re-weighs those URLs, which the crate does find, at 23.
/// - It panics (slices inside a character) on some text with an `@` after a non-ASCII
///   character and an ASCII one, such as `请联系a@b.com`. Herald rewrites exactly that
///   pattern into text of the same weight before parsing. Should another such bug
///   surface, the panic is caught (the panic hook still reports it) and the length is
///   computed from the v3 character weights alone: close, but URLs then count their
///   characters and emoji sequences each of their code points.
pub fn twitter_weighted_length(text: &str) -> usize {
    let config = twitter_text_config::config_v3();
    // twitter-text normalizes to NFC itself; doing it first means the guard below looks at
    // exactly the text the parser will see.
    let normalized: Cow<'_, str> = if is_nfc(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    };
    let defused = defuse_mention_prefix_panic(&normalized);
    let scaled = std::panic::catch_unwind(|| twitter_text_weights(&defused, config))
        .unwrap_or_else(|_| character_weights(&defused, config));
    let weighted = scaled / i64::from(config.scale.max(1));
    // Never negative: it is a sum of non-negative weights.
    usize::try_from(weighted).unwrap_or(0)
}

/// The weighted length before scaling, by twitter-text, with URLs without a scheme counted
/// as URLs.
fn twitter_text_weights(text: &str, config: &twitter_text_config::Configuration) -> i64 {
    let mut extractor = ValidatingExtractor::new(config);
    let input = extractor.prep_input(text);
    let extracted = extractor.extract_urls_with_indices(&input);
    let scale = i64::from(config.scale.max(1));
    let url_weight = i64::from(config.transformed_url_length) * scale;
    let mut total = i64::from(extracted.parse_results.weighted_length) * scale;
    for entity in &extracted.entities {
        let url = entity.value;
        let has_scheme = ["http://", "https://"].iter().any(|scheme| {
            url.get(..scheme.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
        });
        if entity.t == EntityType::URL && !has_scheme {
            total += url_weight - character_weights(url, config);
        }
    }
    total
}

/// twitter-text 0.3.1 panics on some text containing `@` (or the fullwidth `＠`): when it
/// checks whether a mention follows the legacy "RT" prefix, it slices the two bytes before
/// the `@` without looking for a character boundary. That happens when the `@` follows
/// a character that disqualifies a mention (an ASCII letter or digit, one of `_!#$%&*=/@`, or
/// `＠`) and that character is `＠` or follows a non-ASCII one, as in `请联系a@b.com`,
/// `Zoë1@home` or `🎉x@`. Such an `@` can never start a mention (no "RT" precedes it), so
/// it is replaced by a character of the same weight that plays the same part for URLs
/// (neither may precede a URL; both may sit in a URL path): `$` for `@` and `＃` for `＠`.
/// Text without the pattern is returned unchanged.
fn defuse_mention_prefix_panic(text: &str) -> Cow<'_, str> {
    fn disqualifies_mention(c: char) -> bool {
        c.is_ascii_alphanumeric() || "_!#$%&*=/@\u{FF20}".contains(c)
    }
    let mut output = String::new();
    let mut changed = false;
    let (mut before_previous, mut previous) = (None::<char>, None::<char>);
    for c in text.chars() {
        let triggers = matches!(c, '@' | '\u{FF20}')
            && previous.is_some_and(|p| {
                disqualifies_mention(p)
                    && (p == '\u{FF20}' || before_previous.is_some_and(|b| !b.is_ascii()))
            });
        let c = match c {
            '@' if triggers => '$',
            '\u{FF20}' if triggers => '\u{FF03}',
            other => other,
        };
        changed |= triggers;
        output.push(c);
        (before_previous, previous) = (previous, Some(c));
    }
    if changed {
        Cow::Owned(output)
    } else {
        Cow::Borrowed(text)
    }
}

/// The v3 weights of each character before scaling, without URL or emoji rules: how
/// twitter-text weighs plain text, and the fallback should it fail.
fn character_weights(text: &str, config: &twitter_text_config::Configuration) -> i64 {
    text.chars()
        .map(|c| {
            let code = i32::try_from(u32::from(c)).unwrap_or(i32::MAX);
            let weight = config
                .ranges
                .iter()
                .find(|range| range.contains(code))
                .map_or(config.default_weight, |range| range.weight);
            i64::from(weight)
        })
        .sum()
}

/// A platform's text rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextRules {
    /// How length is counted.
    pub counting: TextCounting,
    /// The longest text of a post, and of each thread part.
    pub max_length: usize,
    /// The longest text sent together with an image, where the platform has a separate
    /// caption limit (Telegram's `sendPhoto`). `None`: the same as `max_length`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_caption_length: Option<usize>,
    /// The most parts a thread may have, counting the first (`text`). 1 (or 0) means the
    /// platform takes no threads.
    pub max_thread_parts: usize,
}

impl TextRules {
    /// The length limit for the post's text, which is a caption when it comes with images.
    pub fn limit(&self, with_media: bool) -> usize {
        match self.max_caption_length {
            Some(caption) if with_media => caption,
            _ => self.max_length,
        }
    }

    /// Whether the platform takes thread parts at all.
    pub fn allows_threads(&self) -> bool {
        self.max_thread_parts > 1
    }
}

/// The fields of [`TextRules`] a config file names.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct TextRulesOverride {
    counting: Option<TextCounting>,
    max_length: Option<usize>,
    max_caption_length: Option<usize>,
    max_thread_parts: Option<usize>,
}

impl TextRulesOverride {
    pub(super) fn apply(self, rules: &mut TextRules) {
        overlay(&mut rules.counting, self.counting);
        overlay(&mut rules.max_length, self.max_length);
        overlay(
            &mut rules.max_caption_length,
            self.max_caption_length.map(Some),
        );
        overlay(&mut rules.max_thread_parts, self.max_thread_parts);
    }
}

/// Whether the text is absent for the platform's purposes: nothing but whitespace.
fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// The text checks: emptiness, length of the text (a caption when images come with it) and
/// of each thread part, and the thread itself.
pub(super) fn check_text(
    platform: Platform,
    content: &PostContent,
    rules: &PlatformRules,
    found: &mut Vec<Violation>,
) {
    let text_rules = &rules.text;
    let name = platform.display_name();
    let with_media = !content.media.is_empty();
    let threaded = !content.thread.is_empty();

    match content.text.as_deref().filter(|text| !is_blank(text)) {
        Some(text) => {
            let limit = text_rules.limit(with_media);
            let is_caption = with_media && text_rules.max_caption_length.is_some();
            let length = text_rules.counting.count(text);
            if length > limit {
                let (allowance, actual) = if is_caption {
                    ("in a caption (text sent with an image)", "this caption has")
                } else if threaded {
                    ("per post", "this part has")
                } else {
                    ("per post", "this post has")
                };
                found.push(too_long(
                    platform,
                    FieldPath::Text,
                    text_rules.counting,
                    format!(
                        "{name} allows {limit} {unit} {allowance}; {actual} {length}",
                        limit = group_digits(to_u64(limit)),
                        unit = text_rules.counting.unit(),
                        length = group_digits(to_u64(length)),
                    ),
                ));
            }
        }
        None if threaded => found.push(Violation::new(
            platform,
            FieldPath::Text,
            RuleCode::TextRequired,
            format!(
                "A thread starts with `text`, which is empty here while {} further part(s) follow",
                content.thread.len()
            ),
        )),
        // No text and no images. Where an image is required, the media check says so.
        None if !with_media && !rules.image.required => {
            let needs = if rules.image.max_count > 0 {
                "text or an image"
            } else {
                "text"
            };
            found.push(Violation::new(
                platform,
                FieldPath::Text,
                RuleCode::TextRequired,
                format!("{name} needs {needs}; this post has neither text nor images"),
            ));
        }
        None => {}
    }

    if threaded {
        check_thread(platform, content, text_rules, found);
    }
}

fn check_thread(
    platform: Platform,
    content: &PostContent,
    rules: &TextRules,
    found: &mut Vec<Violation>,
) {
    let name = platform.display_name();
    let further = content.thread.len();
    if !rules.allows_threads() {
        found.push(Violation::new(
            platform,
            FieldPath::Thread,
            RuleCode::ThreadUnsupported,
            format!(
                "{name} has no threads: publish the text as one post; this post has {further} \
                 further thread part(s)"
            ),
        ));
        return;
    }

    let parts = further.saturating_add(1);
    if parts > rules.max_thread_parts {
        found.push(Violation::new(
            platform,
            FieldPath::Thread,
            RuleCode::ThreadTooManyParts,
            format!(
                "{name} threads may have at most {max} parts; this thread has {parts}",
                max = group_digits(to_u64(rules.max_thread_parts)),
                parts = group_digits(to_u64(parts)),
            ),
        ));
    }

    for (index, part) in content.thread.iter().enumerate() {
        let field = FieldPath::ThreadPart(index);
        if is_blank(part) {
            found.push(Violation::new(
                platform,
                field,
                RuleCode::TextRequired,
                format!(
                    "Every thread part needs text; part {} of the thread is empty",
                    index + 2
                ),
            ));
            continue;
        }
        let length = rules.counting.count(part);
        if length > rules.max_length {
            found.push(too_long(
                platform,
                field,
                rules.counting,
                format!(
                    "{name} allows {limit} {unit} per post; this part has {length}",
                    limit = group_digits(to_u64(rules.max_length)),
                    unit = rules.counting.unit(),
                    length = group_digits(to_u64(length)),
                ),
            ));
        }
    }
}

fn too_long(
    platform: Platform,
    field: FieldPath,
    counting: TextCounting,
    message: String,
) -> Violation {
    Violation::new(
        platform,
        field,
        RuleCode::TextTooLong,
        message + counting.explanation(),
    )
}

/// Whether `c` is part of an emoji for [`TextCounting::CharsEmojiBytes`]: the pictographic
/// blocks, the older symbols that have emoji presentations, and the invisible emoji
/// components (zero-width joiner, variation selectors, keycap, tags). Counting each of these
/// at its UTF-8 length makes a whole emoji sequence count its UTF-8 length, the way Threads
/// counts. An approximation of Unicode's `Extended_Pictographic` that errs on the side of
/// counting a rare symbol as an emoji (at most 3 bytes instead of 1).
fn is_emoji_scalar(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00A9 | 0x00AE // © ®
            | 0x203C | 0x2049 // ‼ ⁉
            | 0x200D // zero-width joiner
            | 0x20E3 // combining enclosing keycap
            | 0x2122 | 0x2139 // ™ ℹ
            | 0x2194..=0x2199 | 0x21A9..=0x21AA // arrows
            | 0x231A..=0x231B | 0x2328 | 0x23CF | 0x23E9..=0x23F3 | 0x23F8..=0x23FA // ⌚ ⏩ ⏸
            | 0x24C2 // Ⓜ
            | 0x25AA..=0x25AB | 0x25B6 | 0x25C0 | 0x25FB..=0x25FE // geometric shapes
            | 0x2600..=0x27BF // miscellaneous symbols, dingbats
            | 0x2934..=0x2935 | 0x2B05..=0x2B07 | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 // ⤴ ⬅ ⬛ ⭐ ⭕
            | 0x3030 | 0x303D | 0x3297 | 0x3299 // 〰 〽 ㊗ ㊙
            | 0xFE0E..=0xFE0F // variation selectors (text, emoji)
            | 0x1F000..=0x1FAFF // pictographs, emoticons, flags, skin tones, ...
            | 0xE0020..=0xE007F // tags (subdivision flags)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_sequences_count_their_utf8_bytes_and_letters_count_one() {
        let count = |text: &str| TextCounting::CharsEmojiBytes.count(text);
        assert_eq!(count("héllo"), 5);
        assert_eq!(count("日本語"), 3);
        assert_eq!(count("😀"), 4);
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(count(family), family.len());
        let keycap = "1\u{FE0F}\u{20E3}";
        assert_eq!(count(keycap), keycap.len());
        assert_eq!(count("❤\u{FE0F}"), "❤\u{FE0F}".len());
    }

    /// twitter-text's own answer, panics included.
    fn upstream(text: &str) -> std::thread::Result<i32> {
        std::panic::catch_unwind(|| {
            twitter_text::parse(text, twitter_text_config::config_v3(), true).weighted_length
        })
    }

    #[test]
    fn herald_counts_like_the_official_conformance_suite() {
        // twitter-text's conformance/validate.yml, "lengths" (ASCII, so v1 and v3 agree).
        assert_eq!(twitter_weighted_length("This is a test."), 15);
        assert_eq!(twitter_weighted_length("http://test.com"), 23);
        assert_eq!(twitter_weighted_length("https://test.com"), 23);
        assert_eq!(twitter_weighted_length("test.com"), 23);
        assert_eq!(
            twitter_weighted_length("Test https://test.com test https://test.com test.com test"),
            86
        );
    }

    #[test]
    fn upstream_still_counts_urls_without_a_scheme_as_text() {
        // When this fails, twitter-text weighs them itself: drop the re-weighing in
        // `twitter_text_weights`, or it will count them twice.
        assert_eq!(upstream("test.com").ok(), Some(8));
    }

    #[test]
    fn upstream_still_panics_on_an_at_sign_after_ascii_after_non_ascii() {
        // When this fails, the guard in `defuse_mention_prefix_panic` can go.
        for text in ["请联系a@b.com", "Zoë1@home", "🎉x@", "＠＠x"] {
            assert!(upstream(text).is_err(), "{text}");
            assert!(defuse_mention_prefix_panic(text) != text, "{text}");
            assert!(
                upstream(&defuse_mention_prefix_panic(text)).is_ok(),
                "{text}"
            );
        }
        assert_eq!(twitter_weighted_length("请联系a@b.com"), 3 * 2 + 7);
    }

    #[test]
    fn the_guard_leaves_ordinary_text_alone() {
        for text in [
            "hi @bob",
            "café @bob",
            "RT @bob",
            "a@b.com",
            "請 a@b",
            "@@x",
            "x＠y",
        ] {
            assert!(
                matches!(defuse_mention_prefix_panic(text), Cow::Borrowed(_)),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn twitter_text_never_panics_on_defused_text(
            text in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "([a-z@＠é语🎉 .:/_#$]|\\PC){0,60}",
            ],
        ) {
            let normalized: String = text.nfc().collect();
            let defused = defuse_mention_prefix_panic(&normalized);
            let parsed = upstream(&defused);
            proptest::prop_assert!(parsed.is_ok());
        }

        #[test]
        fn defusing_never_changes_the_weight(
            text in "([a-z@＠é语🎉 .]|\\PC){0,40}",
        ) {
            let normalized: String = text.nfc().collect();
            // Where twitter-text survives the original, the defused text weighs the same.
            if let (Ok(original), Ok(defused)) =
                (upstream(&normalized), upstream(&defuse_mention_prefix_panic(&normalized)))
            {
                proptest::prop_assert_eq!(original, defused);
            }
        }
    }

    #[test]
    fn captions_have_their_own_limit_only_where_configured() {
        let rules = TextRules {
            counting: TextCounting::Chars,
            max_length: 2000,
            max_caption_length: Some(1024),
            max_thread_parts: 1,
        };
        assert_eq!(rules.limit(false), 2000);
        assert_eq!(rules.limit(true), 1024);
        let no_caption = TextRules {
            max_caption_length: None,
            ..rules
        };
        assert_eq!(no_caption.limit(true), 2000);
    }
}
