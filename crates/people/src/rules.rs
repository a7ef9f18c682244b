//! The people domain's input rules, collected as field errors so one answer
//! names every broken field.

use kluis_core::FieldError;
use kluis_core::validate as v;
use time::{Date, Duration, OffsetDateTime};

use crate::model::{AddressData, ContactData, Label, NewContact, Profile};

/// Longest free-text value.
const MAX_TEXT: usize = 200;

/// `prefix.field`, or just `field` at the top level.
fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() { field.to_owned() } else { format!("{prefix}.{field}") }
}

/// Why a value holding a payment card number is refused.
const CARD: &str = "looks like a payment card number, which kluis never stores";

/// Errors collected while checking an input.
#[derive(Debug, Default)]
pub(crate) struct Check(pub Vec<FieldError>);

impl Check {
    fn fail(&mut self, field: &str, message: &str) {
        self.0.push(FieldError::new(field, message));
    }

    /// Free text: at most 200 characters, no control characters, never a
    /// payment card number.
    pub fn text(&mut self, field: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        if value.trim().is_empty() {
            self.fail(field, "must not be empty; send null to clear it");
        } else if value.chars().count() > MAX_TEXT {
            self.fail(field, "must be at most 200 characters");
        } else if value.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        } else if v::contains_card_number(value) {
            self.fail(field, CARD);
        }
    }

    pub fn profile(&mut self, p: &Profile) {
        for (field, value) in [
            ("salutation", &p.salutation),
            ("first_name", &p.first_name),
            ("last_name", &p.last_name),
            ("nickname", &p.nickname),
            ("company_name", &p.company_name),
        ] {
            self.text(field, value.as_deref());
        }
        if let Some(dob) = &p.date_of_birth {
            self.date_of_birth(dob);
        }
        if let Some(language) = &p.language
            && !v::is_language_tag(language)
        {
            self.fail("language", "must be a BCP 47 language tag such as nl or nl-NL");
        }
        if let Some(coc) = &p.coc_number
            && !v::is_coc_number(coc)
        {
            self.fail("coc_number", "must be a Dutch Chamber of Commerce (KvK) number: 8 digits");
        }
        if let Some(vat) = &p.vat_number
            && !v::is_vat_number(vat)
        {
            self.fail("vat_number", "must be an EU VAT number, e.g. NL123456789B01");
        }
    }

    fn date_of_birth(&mut self, text: &str) {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let Ok(date) = Date::parse(text, format) else {
            return self.fail("date_of_birth", "must be a date YYYY-MM-DD");
        };
        let today = OffsetDateTime::now_utc().date();
        if date > today {
            self.fail("date_of_birth", "must not be in the future");
        } else if date < today - Duration::days(150 * 365 + 37) {
            self.fail("date_of_birth", "must not be more than 150 years ago");
        }
    }

    pub fn contact(&mut self, prefix: &str, contact: &NewContact) {
        self.label(&path(prefix, "label"), contact.label, &contact.data);
        self.data(prefix, &contact.data);
    }

    pub fn label(&mut self, field: &str, label: Label, data: &ContactData) {
        if label == Label::Home && !matches!(data, ContactData::Phone(_)) {
            self.fail(field, "home is a label for phones only; use work, private or other");
        }
    }

    pub fn data(&mut self, prefix: &str, data: &ContactData) {
        match data {
            ContactData::Email(address) => {
                if !v::is_email(address) {
                    self.fail(&path(prefix, "address"), "must be an e-mail address");
                } else if v::contains_card_number(address) {
                    self.fail(&path(prefix, "address"), CARD);
                }
            }
            ContactData::Phone(number) => {
                if !v::is_e164(number) {
                    self.fail(&path(prefix, "number"), "must be in E.164 form, e.g. +31612345678");
                }
            }
            ContactData::Website(url) => {
                if !v::is_http_url(url) {
                    self.fail(&path(prefix, "url"), "must be an http or https URL");
                } else if v::contains_card_number(url) {
                    self.fail(&path(prefix, "url"), CARD);
                }
            }
            ContactData::Address(address) => self.address(prefix, address),
        }
    }

    fn address(&mut self, prefix: &str, a: &AddressData) {
        for (field, value) in [
            ("street", &a.street),
            ("house_number", &a.house_number),
            ("addition", &a.addition),
            ("city", &a.city),
            ("region", &a.region),
        ] {
            self.text(&path(prefix, field), value.as_deref());
        }
        if !v::is_country_code(&a.country) {
            self.fail(&path(prefix, "country"), "must be an ISO 3166-1 alpha-2 code such as NL");
        }
        if let Some(code) = &a.postal_code {
            if a.country == "NL" && v::normalize_dutch_postal_code(code).is_none() {
                self.fail(&path(prefix, "postal_code"), "must be a Dutch postal code such as 1234 AB");
            } else {
                self.text(&path(prefix, "postal_code"), Some(code));
            }
        }
    }

    pub fn into_result(self) -> kluis_core::Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(kluis_core::DomainError::Validation(self.0)) }
    }
}

/// Canonical forms: VAT compact and uppercase, Dutch postal codes `1234 AB`,
/// country codes uppercase, text trimmed.
pub(crate) fn normalize_profile(mut p: Profile) -> Profile {
    let trim = |s: Option<String>| s.map(|s| s.trim().to_owned());
    p.salutation = trim(p.salutation);
    p.first_name = trim(p.first_name);
    p.last_name = trim(p.last_name);
    p.nickname = trim(p.nickname);
    p.company_name = trim(p.company_name);
    p.vat_number = p.vat_number.map(|vat| v::normalize_vat(&vat));
    p.coc_number = p.coc_number.map(|c| c.trim().to_owned());
    p
}

/// Canonical form of a contact's data.
pub(crate) fn normalize_data(data: ContactData) -> ContactData {
    match data {
        ContactData::Email(a) => ContactData::Email(a.trim().to_owned()),
        ContactData::Phone(n) => ContactData::Phone(n.trim().to_owned()),
        ContactData::Website(u) => ContactData::Website(u.trim().to_owned()),
        ContactData::Address(mut a) => {
            a.country = a.country.trim().to_ascii_uppercase();
            if a.country == "NL"
                && let Some(code) = a.postal_code.as_deref().and_then(v::normalize_dutch_postal_code)
            {
                a.postal_code = Some(code);
            }
            ContactData::Address(a)
        }
    }
}
