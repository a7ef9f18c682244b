//! The people routes' request and response types, shared by the
//! administrator's routes and a person's own (`/v1/me`).

use kluis_app::contacts::ContactChange;
use kluis_people::{
    AddressData, AddressPatch, Contact, ContactData, ContactKind, ContactPatch, Label, NewContact, Person, ProfilePatch,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

type Time = time::PrimitiveDateTime;

/// A contact's label. `home` is for phones only.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabelView {
    /// Work.
    Work,
    /// Private.
    Private,
    /// Home (phones only).
    Home,
    /// Other.
    Other,
}

impl From<LabelView> for Label {
    fn from(l: LabelView) -> Self {
        match l {
            LabelView::Work => Label::Work,
            LabelView::Private => Label::Private,
            LabelView::Home => Label::Home,
            LabelView::Other => Label::Other,
        }
    }
}

impl From<Label> for LabelView {
    fn from(l: Label) -> Self {
        match l {
            Label::Work => LabelView::Work,
            Label::Private => LabelView::Private,
            Label::Home => LabelView::Home,
            Label::Other => LabelView::Other,
        }
    }
}

/// An e-mail address of a person.
#[derive(Serialize, ToSchema)]
pub struct EmailView {
    /// Contact id.
    pub id: String,
    /// The address, as given (matched case-insensitively; unique in the tenant).
    pub address: String,
    /// `work`, `private` or `other`.
    pub label: LabelView,
    /// The person's primary e-mail address.
    pub primary: bool,
    /// When the person proved they receive mail there.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<Time>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

/// A phone number of a person.
#[derive(Serialize, ToSchema)]
pub struct PhoneView {
    /// Contact id.
    pub id: String,
    /// E.164, e.g. `+31612345678`.
    pub number: String,
    /// `work`, `private`, `home` or `other`.
    pub label: LabelView,
    /// The person's primary phone.
    pub primary: bool,
    /// When the person proved they answer it.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<Time>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

/// A postal address of a person.
#[derive(Serialize, ToSchema)]
pub struct AddressView {
    /// Contact id.
    pub id: String,
    /// Street.
    pub street: Option<String>,
    /// House number.
    pub house_number: Option<String>,
    /// Addition (`A`, `bis`).
    pub addition: Option<String>,
    /// Postal code (`1234 AB` in the Netherlands).
    pub postal_code: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region or province.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// `work`, `private` or `other`.
    pub label: LabelView,
    /// The person's primary address.
    pub primary: bool,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

/// A website of a person.
#[derive(Serialize, ToSchema)]
pub struct WebsiteView {
    /// Contact id.
    pub id: String,
    /// An http or https URL.
    pub url: String,
    /// `work`, `private` or `other`.
    pub label: LabelView,
    /// The person's primary website.
    pub primary: bool,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Contact> for EmailView {
    fn from(c: Contact) -> Self {
        let address = match c.data {
            ContactData::Email(a) => a,
            _ => String::new(),
        };
        EmailView {
            id: c.id,
            address,
            label: c.label.into(),
            primary: c.primary,
            verified_at: c.verified_at,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<Contact> for PhoneView {
    fn from(c: Contact) -> Self {
        let number = match c.data {
            ContactData::Phone(n) => n,
            _ => String::new(),
        };
        PhoneView {
            id: c.id,
            number,
            label: c.label.into(),
            primary: c.primary,
            verified_at: c.verified_at,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<Contact> for AddressView {
    fn from(c: Contact) -> Self {
        let a = match c.data {
            ContactData::Address(a) => a,
            _ => AddressData::default(),
        };
        AddressView {
            id: c.id,
            street: a.street,
            house_number: a.house_number,
            addition: a.addition,
            postal_code: a.postal_code,
            city: a.city,
            region: a.region,
            country: a.country,
            label: c.label.into(),
            primary: c.primary,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

impl From<Contact> for WebsiteView {
    fn from(c: Contact) -> Self {
        let url = match c.data {
            ContactData::Website(u) => u,
            _ => String::new(),
        };
        WebsiteView {
            id: c.id,
            url,
            label: c.label.into(),
            primary: c.primary,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A person with their contacts. A client bound to purposes gets only the
/// fields whose data categories its purposes cover (each field's
/// description names its category); the others are left out.
#[derive(Serialize, ToSchema)]
pub struct PersonView {
    /// Person id.
    pub id: String,
    /// `Dhr.`, `Mevr.`, ...
    pub salutation: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// BCP 47 language tag.
    pub language: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Dutch Chamber of Commerce (KvK) number.
    pub coc_number: Option<String>,
    /// EU VAT number.
    pub vat_number: Option<String>,
    /// E-mail addresses, oldest first.
    #[schema(required = false)]
    pub emails: Vec<EmailView>,
    /// Phone numbers.
    #[schema(required = false)]
    pub phones: Vec<PhoneView>,
    /// Postal addresses.
    #[schema(required = false)]
    pub addresses: Vec<AddressView>,
    /// Websites.
    #[schema(required = false)]
    pub websites: Vec<WebsiteView>,
    /// Values of the tenant-defined attributes, by key (only those a
    /// purpose-bound client's purposes cover).
    #[schema(value_type = crate::contract::AttributeValues)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Version for `If-Match` (of the profile; contacts have their own).
    pub version: i64,
    /// Created.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Person> for PersonView {
    fn from(p: Person) -> Self {
        PersonView {
            id: p.id.0,
            salutation: p.profile.salutation,
            first_name: p.profile.first_name,
            last_name: p.profile.last_name,
            nickname: p.profile.nickname,
            date_of_birth: p.profile.date_of_birth,
            language: p.profile.language,
            company_name: p.profile.company_name,
            coc_number: p.profile.coc_number,
            vat_number: p.profile.vat_number,
            emails: p.emails.into_iter().map(Into::into).collect(),
            phones: p.phones.into_iter().map(Into::into).collect(),
            addresses: p.addresses.into_iter().map(Into::into).collect(),
            websites: p.websites.into_iter().map(Into::into).collect(),
            attributes: kluis_people::attributes::object(&p.attributes),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new e-mail address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmail {
    /// An e-mail address, stored as given; unique in the tenant, in any case.
    #[schema(format = Email, max_length = 254)]
    pub address: String,
    /// `work`, `private` or `other`.
    #[schema(value_type = crate::contract::ContactLabel)]
    pub label: LabelView,
    /// Make it primary (the first e-mail address is primary anyway).
    #[serde(default)]
    pub primary: bool,
}

/// A new phone number.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPhone {
    /// E.164, e.g. `+31612345678`.
    #[schema(pattern = "^\\+[1-9][0-9]{1,14}$")]
    pub number: String,
    /// `work`, `private`, `home` or `other`.
    pub label: LabelView,
    /// Make it primary (the first phone is primary anyway).
    #[serde(default)]
    pub primary: bool,
}

/// A new postal address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    /// Street.
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub street: Option<String>,
    /// House number.
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub house_number: Option<String>,
    /// Addition.
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub addition: Option<String>,
    /// Postal code; in the Netherlands `1234 AB`.
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub postal_code: Option<String>,
    /// City.
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub city: Option<String>,
    /// Region or province.
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `NL`.
    #[schema(value_type = crate::contract::CountryCode)]
    pub country: String,
    /// `work`, `private` or `other`.
    #[schema(value_type = crate::contract::ContactLabel)]
    pub label: LabelView,
    /// Make it primary (the first address is primary anyway).
    #[serde(default)]
    pub primary: bool,
}

/// A new website.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebsite {
    /// An http or https URL.
    #[schema(
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9.-]+|\\[(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\\])(?::[0-9]{1,5})?(?:[/?#][^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)?$",
        max_length = 2048
    )]
    pub url: String,
    /// `work`, `private` or `other`.
    #[schema(value_type = crate::contract::ContactLabel)]
    pub label: LabelView,
    /// Make it primary (the first website is primary anyway).
    #[serde(default)]
    pub primary: bool,
}

impl From<NewEmail> for NewContact {
    fn from(e: NewEmail) -> Self {
        NewContact { label: e.label.into(), primary: e.primary, data: ContactData::Email(e.address) }
    }
}

impl From<NewPhone> for NewContact {
    fn from(p: NewPhone) -> Self {
        NewContact { label: p.label.into(), primary: p.primary, data: ContactData::Phone(p.number) }
    }
}

impl From<NewAddress> for NewContact {
    fn from(a: NewAddress) -> Self {
        let data = AddressData {
            street: a.street,
            house_number: a.house_number,
            addition: a.addition,
            postal_code: a.postal_code,
            city: a.city,
            region: a.region,
            country: a.country,
        };
        NewContact { label: a.label.into(), primary: a.primary, data: ContactData::Address(data) }
    }
}

impl From<NewWebsite> for NewContact {
    fn from(w: NewWebsite) -> Self {
        NewContact { label: w.label.into(), primary: w.primary, data: ContactData::Website(w.url) }
    }
}

/// Change a person's profile; absent fields stay, `null` clears a field.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdatePerson {
    /// Salutation.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub salutation: Option<Option<String>>,
    /// First name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub first_name: Option<Option<String>>,
    /// Last name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub last_name: Option<Option<String>>,
    /// Nickname.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub nickname: Option<Option<String>>,
    /// `YYYY-MM-DD`; not in the future, not over 150 years ago.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<Option<String>>,
    /// Language.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^(?:[A-Za-z]{2,3}|[A-Za-z]{5,8})(?:-[A-Za-z0-9]{1,8})*$", max_length = 35)]
    pub language: Option<Option<String>>,
    /// Company name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub company_name: Option<Option<String>>,
    /// KvK number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{8}$")]
    pub coc_number: Option<Option<String>>,
    /// VAT number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^(?:ATU[0-9]{8}|BE[01][0-9]{9}|BG[0-9]{9,10}|CY[0-9]{8}[A-Z]|CZ[0-9]{8,10}|(?:DE|EE|EL|PT)[0-9]{9}|(?:DK|FI|HU|LU|MT|SI)[0-9]{8}|ES(?:[A-Z][0-9]{7}[0-9A-Z]|[0-9]{8}[A-Z])|FR[0-9A-HJ-NP-Z]{2}[0-9]{9}|(?:HR|IT|LV)[0-9]{11}|IE(?:[0-9]{7}[A-Z]{1,2}|[0-9][A-Z+*][0-9]{5}[A-Z])|LT(?:[0-9]{9}|[0-9]{12})|NL[0-9]{9}B[0-9]{2}|(?:PL|SK)[0-9]{10}|RO[0-9]{2,10}|SE[0-9]{12}|XI(?:[0-9]{9}|[0-9]{12}|(?:GD|HA)[0-9]{3}))$")]
    pub vat_number: Option<Option<String>>,
    /// Tenant-defined attributes to set; `null` removes one, absent ones stay.
    /// Through `/v1/me`, only self-editable attributes (another is 422
    /// naming `attributes.<key>`).
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 attributes"))]
    #[schema(value_type = Option<crate::contract::AttributeValues>)]
    pub attributes: std::collections::BTreeMap<String, Option<serde_json::Value>>,
}

impl From<UpdatePerson> for ProfilePatch {
    fn from(b: UpdatePerson) -> Self {
        ProfilePatch {
            salutation: b.salutation,
            first_name: b.first_name,
            last_name: b.last_name,
            nickname: b.nickname,
            date_of_birth: b.date_of_birth,
            language: b.language,
            company_name: b.company_name,
            coc_number: b.coc_number,
            vat_number: b.vat_number,
            attributes: b.attributes,
        }
    }
}

/// A list of one kind of contact.
#[derive(Serialize, ToSchema)]
pub struct ContactList<T: ToSchema> {
    /// Oldest first.
    pub items: Vec<T>,
}

/// Change an e-mail address; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailPatch {
    /// The address (a changed address is no longer verified).
    #[schema(format = Email, max_length = 254)]
    pub address: Option<String>,
    /// `work`, `private` or `other`.
    #[schema(value_type = Option<crate::contract::ContactLabel>)]
    pub label: Option<LabelView>,
    /// `true` makes it the primary e-mail address.
    pub primary: Option<bool>,
}

/// Change a phone number; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhonePatch {
    /// E.164 number (a changed number is no longer verified).
    #[schema(pattern = "^\\+[1-9][0-9]{1,14}$")]
    pub number: Option<String>,
    /// `work`, `private`, `home` or `other`.
    pub label: Option<LabelView>,
    /// `true` makes it the primary phone.
    pub primary: Option<bool>,
}

/// Change a website; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebsitePatch {
    /// An http or https URL.
    #[schema(
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9.-]+|\\[(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\\])(?::[0-9]{1,5})?(?:[/?#][^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)?$",
        max_length = 2048
    )]
    pub url: Option<String>,
    /// `work`, `private` or `other`.
    #[schema(value_type = Option<crate::contract::ContactLabel>)]
    pub label: Option<LabelView>,
    /// `true` makes it the primary website.
    pub primary: Option<bool>,
}

/// Change an address; absent fields stay, `null` clears one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressPatchBody {
    /// Street.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub street: Option<Option<String>>,
    /// House number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub house_number: Option<Option<String>>,
    /// Addition.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub addition: Option<Option<String>>,
    /// Postal code.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub postal_code: Option<Option<String>>,
    /// City.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub city: Option<Option<String>>,
    /// Region.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub region: Option<Option<String>>,
    /// ISO 3166-1 alpha-2.
    #[schema(value_type = Option<crate::contract::CountryCode>)]
    pub country: Option<String>,
    /// `work`, `private` or `other`.
    #[schema(value_type = Option<crate::contract::ContactLabel>)]
    pub label: Option<LabelView>,
    /// `true` makes it the primary address.
    pub primary: Option<bool>,
}

impl From<EmailPatch> for ContactChange {
    fn from(p: EmailPatch) -> Self {
        let patch = ContactPatch {
            label: p.label.map(Into::into),
            primary: p.primary,
            value: p.address,
            ..ContactPatch::default()
        };
        ContactChange { kind: ContactKind::Email, patch }
    }
}

impl From<PhonePatch> for ContactChange {
    fn from(p: PhonePatch) -> Self {
        let patch = ContactPatch {
            label: p.label.map(Into::into),
            primary: p.primary,
            value: p.number,
            ..ContactPatch::default()
        };
        ContactChange { kind: ContactKind::Phone, patch }
    }
}

impl From<WebsitePatch> for ContactChange {
    fn from(p: WebsitePatch) -> Self {
        let patch = ContactPatch {
            label: p.label.map(Into::into),
            primary: p.primary,
            value: p.url,
            ..ContactPatch::default()
        };
        ContactChange { kind: ContactKind::Website, patch }
    }
}

impl From<AddressPatchBody> for ContactChange {
    fn from(p: AddressPatchBody) -> Self {
        let address = AddressPatch {
            street: p.street,
            house_number: p.house_number,
            addition: p.addition,
            postal_code: p.postal_code,
            city: p.city,
            region: p.region,
            country: p.country,
        };
        let patch = ContactPatch { label: p.label.map(Into::into), primary: p.primary, value: None, address };
        ContactChange { kind: ContactKind::Address, patch }
    }
}

impl<T: ToSchema + From<Contact>> From<Vec<Contact>> for ContactList<T> {
    fn from(items: Vec<Contact>) -> Self {
        ContactList { items: items.into_iter().map(T::from).collect() }
    }
}

/// A person as the caller may see them: whole, or for a purpose-bound
/// client without the fields its purposes do not cover (left out of the
/// JSON, not nulled). Its schema is [`PersonView`].
pub struct ShownPerson {
    view: PersonView,
    fields: Option<Vec<&'static str>>,
}

impl From<kluis_app::processors::Shown> for ShownPerson {
    fn from(shown: kluis_app::processors::Shown) -> Self {
        let fields = shown.access.map(|a| a.fields);
        ShownPerson { view: PersonView::from(shown.person), fields }
    }
}

impl Serialize for ShownPerson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(fields) = &self.fields else { return self.view.serialize(serializer) };
        let mut value = serde_json::to_value(&self.view).map_err(serde::ser::Error::custom)?;
        if let serde_json::Value::Object(map) = &mut value {
            let all = kluis_app::processors::PERSON_FIELDS;
            map.retain(|key, _| !all.contains(&key.as_str()) || fields.contains(&key.as_str()));
        }
        value.serialize(serializer)
    }
}
