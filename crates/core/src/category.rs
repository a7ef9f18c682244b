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
    /// The devices a person signs in from: user agent, screen, client hints.
    #[serde(rename = "user.device")]
    Device,
    /// IP addresses (kept truncated wherever security does not need them whole).
    #[serde(rename = "user.device.ip_address")]
    IpAddress,
    /// The account: username, status, sign-in times.
    #[serde(rename = "user.account")]
    Account,
    /// How a person uses a site or app: visits, activity, session recordings.
    #[serde(rename = "user.behavior")]
    Behavior,
    /// What a person consented to, objected to and accepted, with its proof.
    #[serde(rename = "user.privacy_preferences")]
    PrivacyPreferences,
    /// Devices and accounts taken in for repair, installation or
    /// configuration, and the notes kept per customer (contracts, configuration).
    #[serde(rename = "user.service")]
    Service,
    /// Logins and sealed secrets of a customer's devices and accounts.
    #[serde(rename = "user.service.credential")]
    ServiceCredential,
    /// Records of backups of a customer's disks and partitions, kept until restored.
    #[serde(rename = "user.service.backup")]
    ServiceBackup,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 17] = [
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
        Category::IpAddress,
        Category::Account,
        Category::Behavior,
        Category::PrivacyPreferences,
        Category::Service,
        Category::ServiceCredential,
        Category::ServiceBackup,
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
            Category::IpAddress => "user.device.ip_address",
            Category::Account => "user.account",
            Category::Behavior => "user.behavior",
            Category::PrivacyPreferences => "user.privacy_preferences",
            Category::Service => "user.service",
            Category::ServiceCredential => "user.service.credential",
            Category::ServiceBackup => "user.service.backup",
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
            Category::Device => &["user_agent", "client_hints", "screen", "device_estimate"],
            Category::IpAddress => &["ip"],
            Category::Account => &["username", "status", "last_login_at", "last_activity_at"],
            Category::Behavior => &["visits", "page_views", "session_recordings"],
            Category::PrivacyPreferences => &["consents", "objections", "acceptances"],
            Category::Service => &["service_items", "service_notes"],
            Category::ServiceCredential => &["service_credentials"],
            Category::ServiceBackup => &["service_backups"],
        }
    }
}

impl Category {
    /// The category a person field belongs to (the catalogue is the one
    /// place that says it: purpose-bound reads and the API's descriptions
    /// both ask here); `None` for a field no category covers (ids, versions).
    pub fn of_field(field: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.fields().contains(&field))
    }
}

/// Words that mark a special category of personal data (Art. 9 and 10
/// GDPR) in a category name, whatever the taxonomy that made it
/// (`user.health_and_medical`, `user.demographic.religious_belief`, ...).
const SPECIAL: [&str; 14] = [
    "health",
    "medical",
    "religio",
    "philosoph",
    "race",
    "racial",
    "ethnic",
    "politic",
    "sex",
    "union",
    "genetic",
    "biometric",
    "criminal",
    "offence",
];

/// True when `name` names a special category of personal data (health,
/// religion, ethnicity, politics, sex life, union membership, genetics,
/// biometrics, criminal data). None exists in the catalogue: kluis refuses
/// any processing of them.
pub fn is_special(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.split(['.', '_', '-']).any(|segment| SPECIAL.iter().any(|word| segment.starts_with(word)))
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
        assert_eq!(Category::of_field("first_name"), Some(Category::Name));
        assert_eq!(Category::of_field("emails"), Some(Category::Email));
        assert_eq!(Category::of_field("id"), None);
    }

    #[test]
    fn special_categories_are_recognised_and_none_is_in_the_catalogue() {
        for name in [
            "user.health",
            "user.health_and_medical",
            "user.demographic.religious_belief",
            "user.demographic.race_ethnicity",
            "user.political_opinion",
            "user.sexual_orientation",
            "user.sex_life",
            "user.union_membership",
            "user.genetic",
            "user.biometric.fingerprint",
            "user.criminal_history",
        ] {
            assert!(is_special(name), "{name}");
        }
        for category in Category::ALL {
            assert!(!is_special(category.as_str()), "{category}");
        }
    }
}
