//! The catalogue of personal-data categories, dotted like fideslang. Each
//! names the person fields it covers. No special category of personal data
//! (health, religion, ethnicity, politics, sex life, union membership,
//! genetics, biometrics, criminal data) exists here: kluis never processes
//! them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A category of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Category {
    /// Names and how to address the person.
    #[serde(rename = "user.name")]
    Name,
    /// E-mail addresses.
    #[serde(rename = "user.contact.email")]
    Email,
    /// Phone numbers.
    #[serde(rename = "user.contact.phone")]
    Phone,
    /// Postal addresses.
    #[serde(rename = "user.contact.address")]
    Address,
    /// Websites.
    #[serde(rename = "user.contact.url")]
    Website,
    /// Date of birth.
    #[serde(rename = "user.date_of_birth")]
    DateOfBirth,
    /// Preferred language.
    #[serde(rename = "user.preference.language")]
    Language,
    /// Company, Chamber of Commerce and VAT numbers.
    #[serde(rename = "user.business")]
    Business,
    /// Which apps hold a reference to the person.
    #[serde(rename = "user.reference")]
    Reference,
    /// The devices a person signs in from (with their IP addresses).
    #[serde(rename = "user.device")]
    Device,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 10] = [
        Category::Name,
        Category::Email,
        Category::Phone,
        Category::Address,
        Category::Website,
        Category::DateOfBirth,
        Category::Language,
        Category::Business,
        Category::Reference,
        Category::Device,
    ];

    /// The dotted name, e.g. `user.contact.email`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Name => "user.name",
            Category::Email => "user.contact.email",
            Category::Phone => "user.contact.phone",
            Category::Address => "user.contact.address",
            Category::Website => "user.contact.url",
            Category::DateOfBirth => "user.date_of_birth",
            Category::Language => "user.preference.language",
            Category::Business => "user.business",
            Category::Reference => "user.reference",
            Category::Device => "user.device",
        }
    }

    /// The person fields this category covers.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Category::Name => &["salutation", "first_name", "last_name", "nickname"],
            Category::Email => &["emails"],
            Category::Phone => &["phones"],
            Category::Address => &["addresses"],
            Category::Website => &["websites"],
            Category::DateOfBirth => &["date_of_birth"],
            Category::Language => &["language"],
            Category::Business => &["company_name", "coc_number", "vat_number"],
            Category::Reference => &["references"],
            Category::Device => &["devices"],
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name kluis does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown data category `{0}`")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_every_category_covers_fields() {
        for category in Category::ALL {
            assert_eq!(category.as_str().parse::<Category>().unwrap(), category);
            assert_eq!(serde_json::to_string(&category).unwrap(), format!("\"{category}\""));
            assert!(!category.fields().is_empty());
        }
        assert!("user.health".parse::<Category>().is_err(), "special categories do not exist");
    }
}
