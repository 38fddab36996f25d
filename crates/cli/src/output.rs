//! How commands show what they did: one JSON document with `--json` (for scripts), else
//! aligned columns and lines for a person.

use serde_json::Value;

/// `--json`, shared by every command that prints a result.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct Format {
    /// Print one JSON document on stdout instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Prints `document` as JSON, or `readable` for a person.
pub(crate) fn emit(format: Format, document: &Value, readable: impl FnOnce() -> String) {
    if format.json {
        println!("{document:#}");
    } else {
        print!("{}", readable());
    }
}

/// Rows under a header, each column as wide as its widest cell; `(none)` when there are no
/// rows.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return "(none)\n".to_owned();
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A JSON field as a table cell: strings bare, `null` and absent as `-`.
pub(crate) fn cell(value: &Value, field: &str) -> String {
    match value.get(field) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// The `data` entries of a list answer (`{"data": [...], "next_cursor": ...}`).
pub(crate) fn data(page: &Value) -> &[Value] {
    page.get("data")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The line that says how to get the next page, if there is one.
pub(crate) fn next_page(page: &Value) -> String {
    match page.get("next_cursor").and_then(Value::as_str) {
        Some(cursor) => format!("more: --cursor {cursor}\n"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_missing_values_show_as_dashes() {
        let rows = vec![
            vec!["a".to_owned(), "long value".to_owned(), "x".to_owned()],
            vec!["bbb".to_owned(), "v".to_owned(), "y".to_owned()],
        ];
        assert_eq!(
            table(&["ID", "VALUE", "LAST"], &rows),
            "ID   VALUE       LAST\na    long value  x\nbbb  v           y\n"
        );
        assert_eq!(table(&["ID"], &[]), "(none)\n");
        let value = serde_json::json!({"s": "text", "n": null, "l": ["a", "b"], "i": 3});
        assert_eq!(cell(&value, "s"), "text");
        assert_eq!(cell(&value, "n"), "-");
        assert_eq!(cell(&value, "absent"), "-");
        assert_eq!(cell(&value, "l"), "a,b");
        assert_eq!(cell(&value, "i"), "3");
    }
}
