//! Telegram's `parse_mode`: checking markup the way the Bot API does and measuring the text
//! that remains after it, which is what the 4,096 (text) and 1,024 (caption) limits apply to.
//!
//! - `HTML`: the supported tags (b, strong, i, em, u, ins, s, strike, del, span class
//!   tg-spoiler, tg-spoiler, a, code, pre, blockquote, tg-emoji), properly nested; `&lt;`,
//!   `&gt;`, `&amp;`, `&quot;` and numeric entities count as one character.
//! - `MarkdownV2`: every reserved character (`_*[]()~`>#+-=|{}.!`) outside markup must be
//!   escaped with `\`, markup must be closed; the classic mistake of an unescaped `.` or `-`
//!   is refused with Telegram's own message.
//! - `Markdown` (legacy): `*`, `_`, `` ` `` and `[text](url)` must be closed.
//!
//! Lengths are counted in UTF-16 code units, as Telegram counts entity offsets.

/// The visible text, or the Bot API's "can't parse entities" reason.
pub(crate) fn visible_text(text: &str, parse_mode: Option<&str>) -> Result<String, String> {
    match parse_mode.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(text.to_owned()),
        Some(mode) if mode.eq_ignore_ascii_case("html") => html(text),
        Some(mode) if mode.eq_ignore_ascii_case("markdownv2") => markdown_v2(text),
        Some(mode) if mode.eq_ignore_ascii_case("markdown") => markdown(text),
        Some(mode) => Err(format!("Unsupported parse_mode \"{mode}\"")),
    }
}

/// Telegram's length: UTF-16 code units.
pub(crate) fn length(text: &str) -> usize {
    text.encode_utf16().count()
}

const HTML_TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
];

fn html(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                return Err(format!(
                    "Can't find end of the entity starting at byte offset {i}"
                ));
            };
            let inner = rest[1..end].trim();
            if let Some(name) = inner.strip_prefix('/') {
                let name = name.trim().to_ascii_lowercase();
                match open.pop() {
                    Some(expected) if expected == name => {}
                    _ => {
                        return Err(format!(
                            "Unmatched end tag at byte offset {i}, expected \"</{}>\", found \"</{name}>\"",
                            open.last().cloned().unwrap_or_default()
                        ));
                    }
                }
            } else {
                let name = inner
                    .split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_ascii_lowercase();
                if !HTML_TAGS.contains(&name.as_str()) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {i}"
                    ));
                }
                if name == "span" && !inner.contains("tg-spoiler") {
                    return Err(format!(
                        "Tag \"span\" must have class \"tg-spoiler\" at byte offset {i}"
                    ));
                }
                open.push(name);
            }
            i += end + 1;
            continue;
        }
        if rest.starts_with('&')
            && let Some(end) = rest.find(';').filter(|e| *e <= 10)
        {
            let entity = &rest[1..end];
            let decoded = match entity {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            if let Some(c) = decoded {
                out.push(c);
                i += end + 1;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8();
    }
    if let Some(tag) = open.last() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{tag}\""
        ));
    }
    Ok(out)
}

const V2_RESERVED: &str = "_*[]()~`>#+-=|{}.!";

fn markdown_v2(text: &str) -> Result<String, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<(&'static str, usize)> = Vec::new();
    let mut link_depth = 0usize;
    let mut i = 0;
    let at_line_start = |i: usize| i == 0 || chars[i - 1].1 == '\n';
    while i < chars.len() {
        let (offset, c) = chars[i];
        let next = chars.get(i + 1).map(|x| x.1);
        match c {
            '\\' => {
                match next {
                    Some(escaped) if (escaped as u32) < 127 => out.push(escaped),
                    _ => {
                        return Err(reserved('\\'));
                    }
                }
                i += 2;
                continue;
            }
            '`' => {
                let fence = next == Some('`') && chars.get(i + 2).map(|x| x.1) == Some('`');
                let width = if fence { 3 } else { 1 };
                let mut j = i + width;
                let mut found = None;
                while j < chars.len() {
                    if chars[j].1 == '\\' {
                        j += 2;
                        continue;
                    }
                    if chars[j].1 == '`'
                        && (!fence
                            || (chars.get(j + 1).map(|x| x.1) == Some('`')
                                && chars.get(j + 2).map(|x| x.1) == Some('`')))
                    {
                        found = Some(j);
                        break;
                    }
                    out.push(chars[j].1);
                    j += 1;
                }
                let Some(end) = found else {
                    let name = if fence { "Pre" } else { "Code" };
                    return Err(format!(
                        "Can't find end of {name} entity at byte offset {offset}"
                    ));
                };
                i = end + width;
                continue;
            }
            '*' | '_' | '~' | '|' => {
                let (name, width): (&'static str, usize) = match (c, next) {
                    ('_', Some('_')) => ("Underline", 2),
                    ('|', Some('|')) => ("Spoiler", 2),
                    ('*', _) => ("Bold", 1),
                    ('_', _) => ("Italic", 1),
                    ('~', _) => ("Strikethrough", 1),
                    _ => return Err(reserved('|')),
                };
                if open.last().is_some_and(|(n, _)| *n == name) {
                    open.pop();
                } else {
                    open.push((name, offset));
                }
                i += width;
                continue;
            }
            '[' => {
                link_depth += 1;
                open.push(("TextUrl", offset));
            }
            ']' if link_depth > 0 => {
                if next != Some('(') {
                    return Err(reserved(']'));
                }
                let mut j = i + 2;
                while j < chars.len() && chars[j].1 != ')' {
                    j += if chars[j].1 == '\\' { 2 } else { 1 };
                }
                if j >= chars.len() {
                    return Err(format!(
                        "Can't find end of a URL at byte offset {}",
                        chars[i + 1].0
                    ));
                }
                link_depth -= 1;
                if open.last().is_some_and(|(n, _)| *n == "TextUrl") {
                    open.pop();
                }
                i = j + 1;
                continue;
            }
            '>' if at_line_start(i) => {}
            c if V2_RESERVED.contains(c) => return Err(reserved(c)),
            c => out.push(c),
        }
        i += 1;
    }
    if let Some((name, offset)) = open.last() {
        return Err(format!(
            "Can't find end of {name} entity at byte offset {offset}"
        ));
    }
    Ok(out)
}

fn reserved(c: char) -> String {
    format!("Character '{c}' is reserved and must be escaped with the preceding '\\'")
}

fn markdown(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<(char, usize)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        match (c, open) {
            ('*' | '_' | '`', None) => open = Some((c, offset)),
            (c, Some((o, _))) if c == o => open = None,
            ('[', None) => {
                let rest = &text[offset..];
                let Some(close) = rest.find("](").filter(|_| rest.contains(')')) else {
                    return Err(format!(
                        "Can't find end of the entity starting at byte offset {offset}"
                    ));
                };
                out.push_str(&rest[1..close]);
                let after = offset + close + 2;
                let end = text[after..].find(')').map_or(text.len(), |e| after + e);
                while chars.peek().is_some_and(|(o, _)| *o <= end) {
                    chars.next();
                }
            }
            (c, _) => out.push(c),
        }
    }
    if let Some((_, offset)) = open {
        return Err(format!(
            "Can't find end of the entity starting at byte offset {offset}"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_v2_requires_escapes() {
        assert_eq!(
            visible_text(r"Hello\. *bold* \- ok", Some("MarkdownV2")).unwrap(),
            "Hello. bold - ok"
        );
        let err = visible_text("Version 1.0 is out!", Some("MarkdownV2")).unwrap_err();
        assert!(err.contains("Character '.' is reserved"), "{err}");
        assert!(
            visible_text("*open bold", Some("MarkdownV2"))
                .unwrap_err()
                .contains("Bold")
        );
        assert_eq!(
            visible_text(r"[link](https://x.test/a)", Some("MarkdownV2")).unwrap(),
            "link"
        );
    }

    #[test]
    fn html_is_checked_and_stripped() {
        assert_eq!(
            visible_text(
                "<b>hi</b> &amp; <a href=\"https://x.test\">you</a>",
                Some("HTML")
            )
            .unwrap(),
            "hi & you"
        );
        assert!(
            visible_text("<blink>no</blink>", Some("HTML"))
                .unwrap_err()
                .contains("Unsupported start tag")
        );
        assert!(visible_text("<b>open", Some("HTML")).is_err());
    }

    #[test]
    fn lengths_are_utf16_units() {
        assert_eq!(length("a😀"), 3);
    }
}
