//! Shared rules for the free text and enumerations of this domain.

use kluis_core::{FieldError, validate};

/// An enumeration stored and sent by its snake_case name.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Wire and column name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value named `text`.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use wire_enum;

/// A text of `min` to `max` characters (trimmed), without control
/// characters (newlines and tabs allowed when `multiline`), never a payment
/// card number; a broken rule is pushed naming `field`.
pub(crate) fn check(field: &str, text: &str, min: usize, max: usize, multiline: bool, errors: &mut Vec<FieldError>) {
    let count = text.trim().chars().count();
    if count < min || count > max {
        errors.push(FieldError::new(field, format!("must be {min} to {max} characters")));
    } else if text.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    } else if validate::contains_card_number(text) {
        errors.push(FieldError::new(field, "looks like a payment card number, which kluis never stores"));
    }
}

/// [`check`] of an optional text.
pub(crate) fn check_opt(field: &str, text: Option<&str>, max: usize, errors: &mut Vec<FieldError>) {
    if let Some(text) = text {
        check(field, text, 1, max, false, errors);
    }
}

/// A text as stored: trimmed.
pub(crate) fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// A stored name this code does not know.
pub(crate) fn corrupt(what: &str, value: &str) -> kluis_core::DomainError {
    kluis_core::DomainError::Internal(format!("service: unknown {what} {value}"))
}
