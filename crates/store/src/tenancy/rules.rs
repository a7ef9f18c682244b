//! Input rules of the tenancy tables, checked in the domain whatever the edge did.

use kluis_core::FieldError;

/// A display name: 1-200 characters after trimming, no control characters.
pub fn check_name(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        errors.push(FieldError::new(field, "must be 1 to 200 characters"));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
}

/// A tenant slug: 3-63 of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit (usable in URLs and host names).
pub fn check_slug(slug: &str, errors: &mut Vec<FieldError>) {
    let ok_len = (3..=63).contains(&slug.len());
    let ok_chars = slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = slug.bytes().next().is_some_and(|b| b != b'-') && slug.bytes().last().is_some_and(|b| b != b'-');
    if !(ok_len && ok_chars && ok_ends) {
        errors.push(FieldError::new(
            "slug",
            "must be 3 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
        ));
    }
}

/// A retention period: an ISO 8601 duration of whole units (`P5Y`, `P18M`, `P30D`).
pub fn check_retention(field: &str, period: &str, errors: &mut Vec<FieldError>) {
    if !kluis_core::validate::is_iso8601_duration(period) {
        errors.push(FieldError::new(field, "must be an ISO 8601 duration such as P5Y, P18M or P30D"));
    }
}

/// A purpose key: 1-64 of `a-z`, `0-9` and `_`, starting with a letter.
pub fn check_purposes(purposes: &[String], errors: &mut Vec<FieldError>) {
    if purposes.len() > 50 {
        errors.push(FieldError::new("purposes", "at most 50 purposes"));
    }
    for (i, key) in purposes.iter().enumerate() {
        let ok = (1..=64).contains(&key.len())
            && key.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            errors.push(FieldError::new(
                format!("purposes[{i}]"),
                "must be 1 to 64 characters of a-z, 0-9 and '_', starting with a letter",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug_ok(s: &str) -> bool {
        let mut errors = vec![];
        check_slug(s, &mut errors);
        errors.is_empty()
    }

    #[test]
    fn slugs() {
        assert!(slug_ok("acme"));
        assert!(slug_ok("repair-shop-2"));
        assert!(!slug_ok("ab"));
        assert!(!slug_ok("-acme"));
        assert!(!slug_ok("acme-"));
        assert!(!slug_ok("Acme"));
        assert!(!slug_ok("ac me"));
    }

    #[test]
    fn names_and_purposes() {
        let mut errors = vec![];
        check_name("name", "  ", &mut errors);
        check_name("name", "a\u{7}b", &mut errors);
        check_name("name", "Acme B.V.", &mut errors);
        assert_eq!(errors.len(), 2);
        let mut errors = vec![];
        check_purposes(&["marketing_email".into(), "Bad".into(), "".into()], &mut errors);
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["purposes[1]", "purposes[2]"]);
    }
}
