//! Cursor pages, as every list route answers them: newest first, `limit` rows (1 to
//! [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given), and `next_cursor`, the id of the page's
//! last row, while more follow. A route reads `limit + 1` rows and lets [`cut`] decide.

/// Rows of a page when the request names no `limit`.
pub(crate) const DEFAULT_LIMIT: i64 = 50;
/// The most rows one page may hold.
pub(crate) const MAX_LIMIT: i64 = 200;

/// Cuts `rows` (read with `limit + 1`) to `limit` and answers the next page's cursor: the
/// last kept row's, when a row was left over; `None` on the last page.
pub(crate) fn cut<T>(
    rows: &mut Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> Option<String> {
    let page = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > page;
    rows.truncate(page);
    if more {
        rows.last().map(cursor_of)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_a_row_left_over_names_its_last_row_as_the_cursor() {
        let mut rows = vec![5, 4, 3];
        assert_eq!(cut(&mut rows, 2, |r| r.to_string()), Some("4".to_owned()));
        assert_eq!(rows, [5, 4]);
        let mut last = vec![2, 1];
        assert_eq!(cut(&mut last, 2, |r| r.to_string()), None);
        assert_eq!(last, [2, 1]);
    }
}
