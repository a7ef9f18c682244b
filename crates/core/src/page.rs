//! Keyset pagination: lists are ordered by a sortable key (UUIDv7 ids) and a
//! cursor is the last key of the previous page, opaque to clients. Stable
//! under concurrent inserts, unlike offsets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items, in list order.
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from `limit + 1` fetched rows: the extra row only tells
    /// that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::encode(&key(last)))
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }

    /// Map the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// The opaque cursor codec.
#[derive(Debug)]
pub struct Cursor;

impl Cursor {
    /// Encode a key as an opaque cursor.
    pub fn encode(key: &str) -> String {
        URL_SAFE_NO_PAD.encode(key.as_bytes())
    }

    /// Decode a cursor; `None` when it was not made by [`Cursor::encode`].
    pub fn decode(cursor: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        String::from_utf8(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_row_yields_cursor_of_last_kept_row() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap(), "2");
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn garbage_cursor_is_rejected() {
        assert!(Cursor::decode("!!!").is_none());
    }
}
