//! The consent domain's input rules, collected as field errors so one answer
//! names every broken field.

use kluis_core::category::{self, Category};
use kluis_core::validate as v;
use kluis_core::{DomainError, FieldError};

/// Longest name or title.
pub(crate) const MAX_NAME: usize = 200;
/// Longest purpose description.
pub(crate) const MAX_DESCRIPTION: usize = 2000;
/// Longest policy text.
pub(crate) const MAX_BODY: usize = 100_000;
/// Longest user agent kept as proof.
pub(crate) const MAX_USER_AGENT: usize = 512;

/// Errors collected while checking an input.
#[derive(Debug, Default)]
pub(crate) struct Check(pub Vec<FieldError>);

impl Check {
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Free text of 1 to `max` characters; newlines only where `multiline`;
    /// never a payment card number.
    pub fn text(&mut self, field: &str, value: &str, max: usize, multiline: bool) {
        let control = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'));
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if value.chars().any(control) {
            self.fail(field, "must not contain control characters");
        } else if v::contains_card_number(value) {
            self.fail(field, "looks like a payment card number, which kluis never stores");
        }
    }

    /// A purpose key: `a-z`, `0-9`, `_`, starting with a letter, 2 to 64 characters.
    pub fn key(&mut self, field: &str, key: &str) {
        if !is_key(key) {
            self.fail(field, "must be 2 to 64 characters of a-z, 0-9 and _, starting with a letter");
        }
    }

    /// An ISO 8601 duration.
    pub fn retention(&mut self, field: &str, retention: &str) {
        if !v::is_iso8601_duration(retention) {
            self.fail(field, "must be an ISO 8601 duration such as P2Y, P6M or P30D");
        }
    }

    /// Catalogue category names: known, never a special category, at least one.
    pub fn categories(&mut self, field: &str, names: &[String]) -> Vec<Category> {
        if names.is_empty() {
            self.fail(field, "must name at least one data category");
        }
        let mut found = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let item = format!("{field}[{i}]");
            if category::is_special(name) {
                self.fail(
                    item,
                    format!(
                        "`{name}` is a special category of personal data (Art. 9/10 GDPR), which kluis never processes"
                    ),
                );
                continue;
            }
            match name.parse::<Category>() {
                Ok(category) if !found.contains(&category) => found.push(category),
                Ok(_) => self.fail(item, "named twice"),
                Err(_) => {
                    let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
                    self.fail(item, format!("unknown data category; known: {}", known.join(", ")));
                }
            }
        }
        found
    }

    /// An uppercase ISO 3166-1 alpha-2 country code.
    pub fn country(&mut self, field: &str, country: &str) {
        if !v::is_country_code(country) {
            self.fail(field, "must be an ISO 3166-1 alpha-2 code such as NL or US");
        }
    }

    pub fn into_result(self) -> kluis_core::Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(DomainError::Validation(self.0)) }
    }
}

/// True for a well-formed purpose key.
pub(crate) fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// A user agent as kept for proof: control characters dropped, trimmed, at
/// most 512 characters; `None` when nothing is left.
pub fn clean_user_agent(raw: &str) -> Option<String> {
    let cleaned: String = raw.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_and_unknown_categories_are_refused_by_index() {
        let mut check = Check::default();
        let names = ["user.name", "user.health", "user.shoe_size", "user.name"].map(String::from);
        let found = check.categories("data_categories", &names);
        assert_eq!(found, vec![Category::Name]);
        let fields: Vec<&str> = check.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["data_categories[1]", "data_categories[2]", "data_categories[3]"]);
        assert!(check.0[0].message.contains("special category"));
    }

    #[test]
    fn keys_and_user_agents() {
        assert!(is_key("marketing_email") && is_key("a1"));
        assert!(!is_key("A") && !is_key("1x") && !is_key("x-y") && !is_key(&"x".repeat(65)));
        assert_eq!(clean_user_agent(" Mozilla/5.0\u{7} "), Some("Mozilla/5.0".to_owned()));
        assert_eq!(clean_user_agent("\n"), None);
        assert_eq!(clean_user_agent(&"a".repeat(600)).unwrap().len(), 512);
    }
}
