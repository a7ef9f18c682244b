//! The people domain's types.

use kluis_core::PersonId;
use time::PrimitiveDateTime;

/// How a contact is labelled. `Home` exists only for phones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Work.
    Work,
    /// Private.
    Private,
    /// Home (phones only).
    Home,
    /// Anything else.
    Other,
}

impl Label {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Work => "work",
            Label::Private => "private",
            Label::Home => "home",
            Label::Other => "other",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Label> {
        [Label::Work, Label::Private, Label::Home, Label::Other].into_iter().find(|l| l.as_str() == s)
    }
}

/// The four kinds of contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContactKind {
    /// E-mail addresses.
    Email,
    /// Phone numbers.
    Phone,
    /// Postal addresses.
    Address,
    /// Websites.
    Website,
}

impl ContactKind {
    /// The plural used in paths and bodies (`emails`).
    pub fn plural(self) -> &'static str {
        match self {
            ContactKind::Email => "emails",
            ContactKind::Phone => "phones",
            ContactKind::Address => "addresses",
            ContactKind::Website => "websites",
        }
    }

    /// The singular, for audit targets (`email`).
    pub fn singular(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Phone => "phone",
            ContactKind::Address => "address",
            ContactKind::Website => "website",
        }
    }
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressData {
    /// Street.
    pub street: Option<String>,
    /// House number.
    pub house_number: Option<String>,
    /// Addition to the house number (`A`, `bis`, `2 hoog`).
    pub addition: Option<String>,
    /// Postal code (`1234 AB` in the Netherlands).
    pub postal_code: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region or province.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// What a contact holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactData {
    /// An e-mail address, as given.
    Email(String),
    /// A phone number in E.164.
    Phone(String),
    /// A postal address.
    Address(AddressData),
    /// An http(s) URL.
    Website(String),
}

impl ContactData {
    /// Its kind.
    pub fn kind(&self) -> ContactKind {
        match self {
            ContactData::Email(_) => ContactKind::Email,
            ContactData::Phone(_) => ContactKind::Phone,
            ContactData::Address(_) => ContactKind::Address,
            ContactData::Website(_) => ContactKind::Website,
        }
    }
}

/// A stored contact.
#[derive(Clone, Debug)]
pub struct Contact {
    /// Contact id.
    pub id: String,
    /// Whose it is.
    pub person_id: PersonId,
    /// Its label.
    pub label: Label,
    /// The primary contact of its kind for the person.
    pub primary: bool,
    /// When it was verified (e-mails and phones; set by sign-in flows).
    pub verified_at: Option<PrimitiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
    /// What it holds.
    pub data: ContactData,
}

/// A contact to add.
#[derive(Clone, Debug)]
pub struct NewContact {
    /// Its label.
    pub label: Label,
    /// Make it primary; the first of its kind is primary anyway.
    pub primary: bool,
    /// What it holds.
    pub data: ContactData,
}

/// A change to an address; `Some(None)` clears a field.
#[derive(Clone, Debug, Default)]
pub struct AddressPatch {
    /// Street.
    pub street: Option<Option<String>>,
    /// House number.
    pub house_number: Option<Option<String>>,
    /// Addition.
    pub addition: Option<Option<String>>,
    /// Postal code.
    pub postal_code: Option<Option<String>>,
    /// City.
    pub city: Option<Option<String>>,
    /// Region.
    pub region: Option<Option<String>>,
    /// Country.
    pub country: Option<String>,
}

/// A change to a contact; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ContactPatch {
    /// New label.
    pub label: Option<Label>,
    /// `true` makes it the primary of its kind.
    pub primary: Option<bool>,
    /// New address (e-mails), number (phones) or URL (websites).
    pub value: Option<String>,
    /// Address fields (addresses).
    pub address: AddressPatch,
}

/// A person with their contacts.
#[derive(Clone, Debug)]
pub struct Person {
    /// Person id.
    pub id: PersonId,
    /// Profile fields.
    pub profile: Profile,
    /// E-mail addresses.
    pub emails: Vec<Contact>,
    /// Phone numbers.
    pub phones: Vec<Contact>,
    /// Postal addresses.
    pub addresses: Vec<Contact>,
    /// Websites.
    pub websites: Vec<Contact>,
    /// Values of the tenant-defined attributes, by key.
    pub attributes: Vec<crate::attributes::AttributeValue>,
    /// Optimistic-concurrency version of the profile.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

/// The profile fields of a person; every one optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// `Dhr.`, `Mevr.`, `Dr.`, ...
    pub salutation: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name (with prefixes such as `van der`).
    pub last_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// BCP 47 language tag.
    pub language: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Dutch Chamber of Commerce (KvK) number: 8 digits.
    pub coc_number: Option<String>,
    /// EU VAT number, compact (`NL123456789B01`).
    pub vat_number: Option<String>,
}

/// A change to a profile; `Some(None)` clears a field.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    /// Salutation.
    pub salutation: Option<Option<String>>,
    /// First name.
    pub first_name: Option<Option<String>>,
    /// Last name.
    pub last_name: Option<Option<String>>,
    /// Nickname.
    pub nickname: Option<Option<String>>,
    /// Date of birth.
    pub date_of_birth: Option<Option<String>>,
    /// Language.
    pub language: Option<Option<String>>,
    /// Company name.
    pub company_name: Option<Option<String>>,
    /// KvK number.
    pub coc_number: Option<Option<String>>,
    /// VAT number.
    pub vat_number: Option<Option<String>>,
    /// Tenant-defined attributes to set (a value) or remove (null); the
    /// others stay.
    pub attributes: std::collections::BTreeMap<String, Option<serde_json::Value>>,
}

impl ProfilePatch {
    /// The profile after this patch.
    pub fn apply(&self, current: &Profile) -> Profile {
        let pick = |patch: &Option<Option<String>>, old: &Option<String>| match patch {
            Some(new) => new.clone(),
            None => old.clone(),
        };
        Profile {
            salutation: pick(&self.salutation, &current.salutation),
            first_name: pick(&self.first_name, &current.first_name),
            last_name: pick(&self.last_name, &current.last_name),
            nickname: pick(&self.nickname, &current.nickname),
            date_of_birth: pick(&self.date_of_birth, &current.date_of_birth),
            language: pick(&self.language, &current.language),
            company_name: pick(&self.company_name, &current.company_name),
            coc_number: pick(&self.coc_number, &current.coc_number),
            vat_number: pick(&self.vat_number, &current.vat_number),
        }
    }
}

/// A person to create, with their first contacts.
#[derive(Clone, Debug, Default)]
pub struct NewPerson {
    /// Profile.
    pub profile: Profile,
    /// E-mail addresses, phones, addresses and websites, in the order given.
    pub contacts: Vec<NewContact>,
    /// Values of tenant-defined attributes, by key.
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A reference an app holds to a person.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Reference id.
    pub id: String,
    /// The person.
    pub person_id: PersonId,
    /// The client that registered it.
    pub client_id: String,
    /// The app's name.
    pub app: String,
    /// The app's own id for the person.
    pub external_ref: String,
    /// When it was registered.
    pub created_at: PrimitiveDateTime,
}

/// What a list of people is narrowed by.
#[derive(Clone, Debug, Default)]
pub struct PeopleQuery {
    /// Prefix of first name, last name, full name or company, any case.
    pub q: Option<String>,
    /// An e-mail address, any case.
    pub email: Option<String>,
}
