//! People (`people:read` / `people:write`): profiles with their contacts,
//! created in one request; contacts as their own resources; references held
//! by apps. Every read by a client is audited (through the group-commit
//! appender), every change in the change's own transaction.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_audit::{Action, Target};
use kluis_core::{PersonId, Scope};
use kluis_people::{
    AddressData, AddressPatch, Contact, ContactData, ContactKind, ContactPatch, Label, NewContact, NewPerson,
    PeopleQuery, Person, Profile, ProfilePatch, Reference, contacts, persons, references,
};
use kluis_store::personal::ErasureReport;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::{check_id, created, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json};
use crate::state::AppState;

/// Every field a person read returns, as named in the audit log.
const PERSON_FIELDS: [&str; 13] = [
    "salutation",
    "first_name",
    "last_name",
    "nickname",
    "date_of_birth",
    "language",
    "company_name",
    "coc_number",
    "vat_number",
    "emails",
    "phones",
    "addresses",
    "websites",
];

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

fn email_view(c: Contact) -> EmailView {
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

fn phone_view(c: Contact) -> PhoneView {
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

fn address_view(c: Contact) -> AddressView {
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

fn website_view(c: Contact) -> WebsiteView {
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

/// A person with their contacts.
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
    pub emails: Vec<EmailView>,
    /// Phone numbers.
    pub phones: Vec<PhoneView>,
    /// Postal addresses.
    pub addresses: Vec<AddressView>,
    /// Websites.
    pub websites: Vec<WebsiteView>,
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
            emails: p.emails.into_iter().map(email_view).collect(),
            phones: p.phones.into_iter().map(phone_view).collect(),
            addresses: p.addresses.into_iter().map(address_view).collect(),
            websites: p.websites.into_iter().map(website_view).collect(),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A page of people.
#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    /// People in creation order.
    pub items: Vec<PersonView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A new e-mail address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmail {
    /// An e-mail address, stored as given; unique in the tenant, in any case.
    pub address: String,
    /// `work`, `private` or `other`.
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
    pub street: Option<String>,
    /// House number.
    pub house_number: Option<String>,
    /// Addition.
    pub addition: Option<String>,
    /// Postal code; in the Netherlands `1234 AB`.
    pub postal_code: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region or province.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `NL`.
    pub country: String,
    /// `work`, `private` or `other`.
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
    pub url: String,
    /// `work`, `private` or `other`.
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

/// Create a person, optionally with contacts. Free text never holds a
/// payment card number; special categories of data have no field at all.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreatePerson {
    /// `Dhr.`, `Mevr.`, `Dr.`, ... (at most 200 characters, as every text field).
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub salutation: Option<String>,
    /// First name.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub first_name: Option<String>,
    /// Last name, with prefixes (`van der Berg`).
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub last_name: Option<String>,
    /// Nickname.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub nickname: Option<String>,
    /// `YYYY-MM-DD`; not in the future, not over 150 years ago.
    pub date_of_birth: Option<String>,
    /// BCP 47 language tag, e.g. `nl` or `nl-NL`.
    pub language: Option<String>,
    /// Company name.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub company_name: Option<String>,
    /// Dutch Chamber of Commerce (KvK) number: 8 digits.
    pub coc_number: Option<String>,
    /// EU VAT number; Dutch: `NL` + 9 digits + `B` + 2 digits.
    pub vat_number: Option<String>,
    /// E-mail addresses.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    pub emails: Vec<NewEmail>,
    /// Phone numbers.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    pub phones: Vec<NewPhone>,
    /// Postal addresses.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    pub addresses: Vec<NewAddress>,
    /// Websites.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    pub websites: Vec<NewWebsite>,
}

/// Change a person's profile; absent fields stay, `null` clears a field.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdatePerson {
    /// Salutation.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub salutation: Option<Option<String>>,
    /// First name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    /// Last name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// Nickname.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub nickname: Option<Option<String>>,
    /// Date of birth.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub date_of_birth: Option<Option<String>>,
    /// Language.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub language: Option<Option<String>>,
    /// Company name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub company_name: Option<Option<String>>,
    /// KvK number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub coc_number: Option<Option<String>>,
    /// VAT number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub vat_number: Option<Option<String>>,
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
        }
    }
}

/// `?q=&email=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleListQuery {
    /// Prefix of first name, last name, full name or company name, any case.
    pub q: Option<String>,
    /// An exact e-mail address, any case.
    pub email: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// What an erasure removed.
#[derive(Serialize, ToSchema)]
pub struct ErasureReceipt {
    /// The erased person.
    pub person_id: String,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub erased_at: Time,
    /// Rows removed per table.
    #[schema(value_type = Object)]
    pub rows: std::collections::BTreeMap<&'static str, u64>,
}

fn person_path(path: web::Path<String>) -> Result<PersonId, ApiError> {
    let id = path.into_inner();
    check_id(&id)?;
    Ok(PersonId(id))
}

/// Create a person, with contacts, in one transaction.
#[utoipa::path(
    tag = "people",
    request_body = CreatePerson,
    responses((status = 201, body = PersonView, headers(("ETag" = String), ("Location" = String))), BodyErrors, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people")]
pub async fn create_person(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePerson>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleWrite)?;
    body.0.validate()?;
    let b = body.0;
    let mut contacts: Vec<NewContact> = Vec::new();
    let kinds = [
        ("emails", !b.emails.is_empty()),
        ("phones", !b.phones.is_empty()),
        ("addresses", !b.addresses.is_empty()),
        ("websites", !b.websites.is_empty()),
    ];
    contacts.extend(b.emails.into_iter().map(NewContact::from));
    contacts.extend(b.phones.into_iter().map(NewContact::from));
    contacts.extend(b.addresses.into_iter().map(NewContact::from));
    contacts.extend(b.websites.into_iter().map(NewContact::from));
    let profile = Profile {
        salutation: b.salutation,
        first_name: b.first_name,
        last_name: b.last_name,
        nickname: b.nickname,
        date_of_birth: b.date_of_birth,
        language: b.language,
        company_name: b.company_name,
        coc_number: b.coc_number,
        vat_number: b.vat_number,
    };
    let mut fields: Vec<&'static str> = PERSON_FIELDS[..9]
        .iter()
        .zip(profile_values(&profile))
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
    fields.extend(kinds.iter().filter(|(_, any)| *any).map(|(name, _)| *name));
    let ctx = caller.audit()?;
    let person = state
        .write(move |conn| {
            let person = persons::create(conn, &tenant, NewPerson { profile, contacts })?;
            kluis_audit::record(conn, &ctx, Action::PersonCreate, Target::person("person", &person.id), &fields, None)?;
            Ok(person)
        })
        .await?;
    let location = format!("/v1/people/{}", person.id);
    let version = person.version;
    Ok(created(location, version, &PersonView::from(person)))
}

fn profile_values(p: &Profile) -> [bool; 9] {
    [
        p.salutation.is_some(),
        p.first_name.is_some(),
        p.last_name.is_some(),
        p.nickname.is_some(),
        p.date_of_birth.is_some(),
        p.language.is_some(),
        p.company_name.is_some(),
        p.coc_number.is_some(),
        p.vat_number.is_some(),
    ]
}

/// List people; find them by name or company prefix (`q`) or by e-mail address.
#[utoipa::path(
    tag = "people",
    params(PeopleListQuery),
    responses((status = 200, body = PersonPage), AuthErrors),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people")]
pub async fn list_people(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PeopleListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleRead)?;
    let paging = crate::extract::ListQuery { limit: query.limit, cursor: query.cursor.clone() };
    let (limit, after) = paging.page()?;
    let filter = PeopleQuery { q: query.q.clone(), email: query.email.clone() };
    let page = state.db(move |conn| persons::list(conn, &tenant, &filter, limit, after.as_deref())).await?;
    let ctx = caller.audit()?;
    for person in &page.items {
        state
            .audit_reads
            .read(&ctx, Action::PersonRead, Target::person("person", &person.id), &PERSON_FIELDS, None)
            .await;
    }
    let page = page.map(PersonView::from);
    Ok(HttpResponse::Ok().json(PersonPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a person with their contacts.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonView, headers(("ETag" = String))), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}")]
pub async fn get_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleRead)?;
    let id = person_path(path)?;
    let person = state.db(move |conn| persons::get(conn, &tenant, &id)).await?;
    state
        .audit_reads
        .read(&caller.audit()?, Action::PersonRead, Target::person("person", &person.id), &PERSON_FIELDS, None)
        .await;
    Ok(versioned(StatusCode::OK, person.version, &PersonView::from(person)))
}

/// Change a person's profile.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdatePerson,
    responses((status = 200, body = PersonView, headers(("ETag" = String))), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[patch("/v1/people/{person_id}")]
pub async fn update_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdatePerson>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleWrite)?;
    body.0.validate()?;
    let id = person_path(path)?;
    let patch = ProfilePatch::from(body.0);
    let ctx = caller.audit()?;
    let person = state
        .write(move |conn| {
            let person = persons::update(conn, &tenant, &id, if_match.0, &patch)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::PersonUpdate,
                Target::person("person", &id),
                &patch.fields(),
                None,
            )?;
            Ok(person)
        })
        .await?;
    Ok(versioned(StatusCode::OK, person.version, &PersonView::from(person)))
}

/// Erase a person: every domain's data about them, in one transaction; their
/// audit entries stay but can no longer be linked to them.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this erasure is based on"),
    ),
    responses((status = 200, body = ErasureReceipt), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[delete("/v1/people/{person_id}")]
pub async fn delete_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleWrite)?;
    let id = person_path(path)?;
    let ctx = caller.audit()?;
    let holders = state.holders.clone();
    let person = id.clone();
    let report = state
        .write(move |conn| {
            let version = persons::version(conn, &tenant, &person)?;
            if if_match.0.is_some_and(|v| v != version) {
                return Err(kluis_core::DomainError::VersionMismatch.into());
            }
            // Lock order as in every other write: the data first, the audit
            // chain last (the other order can deadlock on PostgreSQL). The
            // entry is linked with the subject key, which the audit holder
            // then forgets.
            let (keys, data): (Vec<_>, Vec<_>) = holders.iter().partition(|h| h.tables().contains(&"subject_keys"));
            let mut report = ErasureReport::default();
            for holder in data {
                report.merge(holder.erase(conn, &tenant, &person)?);
            }
            kluis_audit::record(conn, &ctx, Action::PersonDelete, Target::person("person", &person), &[], None)?;
            for holder in keys {
                report.merge(holder.erase(conn, &tenant, &person)?);
            }
            Ok(report)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ErasureReceipt {
        person_id: id.0,
        erased_at: kluis_core::time::now(),
        rows: report.rows,
    }))
}

/// A reference an app holds to a person.
#[derive(Serialize, ToSchema)]
pub struct ReferenceView {
    /// Reference id.
    pub id: String,
    /// The app's name.
    pub app: String,
    /// The app's own id for the person.
    pub external_ref: String,
    /// The client that registered it.
    pub client_id: String,
    /// When.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
}

impl From<Reference> for ReferenceView {
    fn from(r: Reference) -> Self {
        ReferenceView {
            id: r.id,
            app: r.app,
            external_ref: r.external_ref,
            client_id: r.client_id,
            created_at: r.created_at,
        }
    }
}

/// Register that an app holds a reference to a person.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewReference {
    /// The app's name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub app: String,
    /// The app's own id for the person, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub external_ref: String,
}

/// The references apps hold to a person.
#[derive(Serialize, ToSchema)]
pub struct ReferenceList {
    /// Oldest first.
    pub items: Vec<ReferenceView>,
}

/// Register that the calling client's app holds a reference to the person.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = NewReference,
    responses((status = 201, body = ReferenceView), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people/{person_id}/references")]
pub async fn create_reference(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NewReference>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleWrite)?;
    body.0.validate()?;
    let person = person_path(path)?;
    let ctx = caller.audit()?;
    let client_id = caller.actor.id.clone();
    let reference = state
        .write(move |conn| {
            let reference = references::add(conn, &tenant, &person, &client_id, &body.0.app, &body.0.external_ref)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::ReferenceCreate,
                Target::person("reference", &person),
                &["app", "external_ref"],
                None,
            )?;
            Ok(reference)
        })
        .await?;
    let location = format!("/v1/people/{}/references/{}", reference.person_id, reference.id);
    Ok(HttpResponse::Created().insert_header(("Location", location)).json(ReferenceView::from(reference)))
}

/// The references apps hold to a person.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = ReferenceList), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/references")]
pub async fn list_references(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleRead)?;
    let person = person_path(path)?;
    let target = Target::person("reference", &person);
    let items = state.db(move |conn| references::list(conn, &tenant, &person)).await?;
    state.audit_reads.read(&caller.audit()?, Action::PersonRead, target, &["references"], None).await;
    Ok(HttpResponse::Ok().json(ReferenceList { items: items.into_iter().map(ReferenceView::from).collect() }))
}

/// Remove a reference.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("reference_id" = String, Path, description = "Reference id"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound),
    security(("bearer" = ["people:write"]))
)]
#[delete("/v1/people/{person_id}/references/{reference_id}")]
pub async fn delete_reference(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::PeopleWrite)?;
    let (person, reference) = path.into_inner();
    check_id(&person)?;
    check_id(&reference)?;
    let person = PersonId(person);
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            references::delete(conn, &tenant, &person, &reference)?;
            kluis_audit::record(conn, &ctx, Action::ReferenceDelete, Target::person("reference", &person), &[], None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Shared bodies of the contact handlers: the administrator's routes and a
/// person's own (`/v1/me`) resolve whose contacts they are, then call these.
mod contact_ops {
    use super::*;

    /// Whose contacts, and who acts (for the audit log).
    pub struct Owner {
        pub tenant: kluis_core::TenantId,
        pub person: PersonId,
        pub ctx: kluis_audit::Context,
        /// Reads by the person themselves are not audited; a client's are.
        pub audit_reads: bool,
    }

    impl Owner {
        /// An administrator's route: `people:read`/`people:write` on `{person_id}`.
        pub fn admin(caller: &Caller, scope: Scope, person: String) -> Result<Owner, ApiError> {
            let tenant = caller.tenant_with(scope)?;
            check_id(&person)?;
            Ok(Owner { tenant, person: PersonId(person), ctx: caller.audit()?, audit_reads: true })
        }

        /// A person's own route.
        pub fn me(caller: &Caller) -> Result<Owner, ApiError> {
            let (tenant, person) = caller.person()?;
            Ok(Owner { tenant, person, ctx: caller.audit()?, audit_reads: false })
        }
    }

    pub async fn create(
        state: web::Data<AppState>,
        owner: Owner,
        new: NewContact,
        fields: &'static [&'static str],
    ) -> Result<Contact, ApiError> {
        let kind = new.data.kind();
        let Owner { tenant, person, ctx, .. } = owner;
        state
            .write(move |conn| {
                let contact = contacts::create(conn, &tenant, &person, new)?;
                kluis_audit::record(
                    conn,
                    &ctx,
                    Action::ContactCreate,
                    Target::person(kind.singular(), &person),
                    fields,
                    None,
                )?;
                Ok(contact)
            })
            .await
    }

    pub async fn list(state: web::Data<AppState>, owner: Owner, kind: ContactKind) -> Result<Vec<Contact>, ApiError> {
        let Owner { tenant, person, ctx, audit_reads } = owner;
        let target = Target::person(kind.singular(), &person);
        let items = state.db(move |conn| contacts::list(conn, &tenant, &person, kind)).await?;
        if audit_reads {
            state.audit_reads.read(&ctx, Action::PersonRead, target, &[kind.plural()], None).await;
        }
        Ok(items)
    }

    pub async fn update(
        state: web::Data<AppState>,
        owner: Owner,
        id: String,
        if_match: IfMatch,
        kind: ContactKind,
        patch: ContactPatch,
        fields: Vec<&'static str>,
    ) -> Result<Contact, ApiError> {
        check_id(&id)?;
        let Owner { tenant, person, ctx, .. } = owner;
        state
            .write(move |conn| {
                let contact = contacts::update(conn, &tenant, &person, kind, &id, if_match.0, &patch)?;
                kluis_audit::record(
                    conn,
                    &ctx,
                    Action::ContactUpdate,
                    Target::person(kind.singular(), &person),
                    &fields,
                    None,
                )?;
                Ok(contact)
            })
            .await
    }

    pub async fn delete(
        state: web::Data<AppState>,
        owner: Owner,
        id: String,
        if_match: IfMatch,
        kind: ContactKind,
    ) -> Result<HttpResponse, ApiError> {
        check_id(&id)?;
        let Owner { tenant, person, ctx, .. } = owner;
        state
            .write(move |conn| {
                contacts::delete(conn, &tenant, &person, kind, &id, if_match.0)?;
                kluis_audit::record(
                    conn,
                    &ctx,
                    Action::ContactDelete,
                    Target::person(kind.singular(), &person),
                    &[kind.plural()],
                    None,
                )?;
                Ok(())
            })
            .await?;
        Ok(HttpResponse::NoContent().finish())
    }
}

/// A list of one kind of contact.
#[derive(Serialize, ToSchema)]
pub struct ContactList<T: ToSchema> {
    /// Oldest first.
    pub items: Vec<T>,
}

/// A change to a contact's fields, naming what it touches.
trait IntoPatch {
    fn into_patch(self) -> (ContactPatch, Vec<&'static str>);
}

/// Change an e-mail address; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailPatch {
    /// The address (a changed address is no longer verified).
    pub address: Option<String>,
    /// `work`, `private` or `other`.
    pub label: Option<LabelView>,
    /// `true` makes it the primary e-mail address.
    pub primary: Option<bool>,
}

/// Change a phone number; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhonePatch {
    /// E.164 number (a changed number is no longer verified).
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
    pub url: Option<String>,
    /// `work`, `private` or `other`.
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
    #[schema(value_type = Option<String>)]
    pub street: Option<Option<String>>,
    /// House number.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub house_number: Option<Option<String>>,
    /// Addition.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub addition: Option<Option<String>>,
    /// Postal code.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Option<String>>,
    /// City.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    /// Region.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// `work`, `private` or `other`.
    pub label: Option<LabelView>,
    /// `true` makes it the primary address.
    pub primary: Option<bool>,
}

fn value_patch(
    value: Option<String>,
    label: Option<LabelView>,
    primary: Option<bool>,
    name: &'static str,
) -> (ContactPatch, Vec<&'static str>) {
    let fields = super::present(&[(name, value.is_some()), ("label", label.is_some()), ("primary", primary.is_some())]);
    (ContactPatch { label: label.map(Into::into), primary, value, ..ContactPatch::default() }, fields)
}

impl IntoPatch for EmailPatch {
    fn into_patch(self) -> (ContactPatch, Vec<&'static str>) {
        value_patch(self.address, self.label, self.primary, "address")
    }
}

impl IntoPatch for PhonePatch {
    fn into_patch(self) -> (ContactPatch, Vec<&'static str>) {
        value_patch(self.number, self.label, self.primary, "number")
    }
}

impl IntoPatch for WebsitePatch {
    fn into_patch(self) -> (ContactPatch, Vec<&'static str>) {
        value_patch(self.url, self.label, self.primary, "url")
    }
}

impl IntoPatch for AddressPatchBody {
    fn into_patch(self) -> (ContactPatch, Vec<&'static str>) {
        let fields = super::present(&[
            ("street", self.street.is_some()),
            ("house_number", self.house_number.is_some()),
            ("addition", self.addition.is_some()),
            ("postal_code", self.postal_code.is_some()),
            ("city", self.city.is_some()),
            ("region", self.region.is_some()),
            ("country", self.country.is_some()),
            ("label", self.label.is_some()),
            ("primary", self.primary.is_some()),
        ]);
        let address = AddressPatch {
            street: self.street,
            house_number: self.house_number,
            addition: self.addition,
            postal_code: self.postal_code,
            city: self.city,
            region: self.region,
            country: self.country,
        };
        (ContactPatch { label: self.label.map(Into::into), primary: self.primary, value: None, address }, fields)
    }
}

/// The four routes of one contact kind.
macro_rules! contact_routes {
    (
        $kind:expr, $plural:literal, $collection:literal, $item:literal,
        $New:ty, $Patch:ty, $View:ty, $view:ident,
        $create:ident, $list:ident, $update:ident, $delete:ident
    ) => {
        #[doc = concat!("Add to a person's ", $plural, ".")]
        #[utoipa::path(
            tag = "people",
            params(("person_id" = String, Path, description = "Person id")),
            request_body = $New,
            responses((status = 201, body = $View, headers(("ETag" = String), ("Location" = String))), BodyErrors, NotFound, Conflict),
            security(("bearer" = ["people:write"]))
        )]
        #[post($collection)]
        pub async fn $create(
            state: web::Data<AppState>,
            caller: Caller,
            path: web::Path<String>,
            body: Json<$New>,
        ) -> Result<HttpResponse, ApiError> {
            let owner = contact_ops::Owner::admin(&caller, Scope::PeopleWrite, path.into_inner())?;
            let contact = contact_ops::create(state, owner, body.0.into(), &[$plural]).await?;
            let location = format!("/v1/people/{}/{}/{}", contact.person_id, $plural, contact.id);
            Ok(created(location, contact.version, &$view(contact)))
        }

        #[doc = concat!("A person's ", $plural, ", oldest first.")]
        #[utoipa::path(
            tag = "people",
            params(("person_id" = String, Path, description = "Person id")),
            responses((status = 200, body = ContactList<$View>), AuthErrors, NotFound),
            security(("bearer" = ["people:read"]))
        )]
        #[get($collection)]
        pub async fn $list(
            state: web::Data<AppState>,
            caller: Caller,
            path: web::Path<String>,
        ) -> Result<HttpResponse, ApiError> {
            let owner = contact_ops::Owner::admin(&caller, Scope::PeopleRead, path.into_inner())?;
            let items = contact_ops::list(state, owner, $kind).await?;
            Ok(HttpResponse::Ok().json(ContactList { items: items.into_iter().map($view).collect::<Vec<$View>>() }))
        }

        #[doc = concat!("Change one of a person's ", $plural, ".")]
        #[utoipa::path(
            tag = "people",
            params(
                ("person_id" = String, Path, description = "Person id"),
                ("contact_id" = String, Path, description = "Contact id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
            ),
            request_body = $Patch,
            responses((status = 200, body = $View, headers(("ETag" = String))), BodyErrors, NotFound, Conflict, Precondition),
            security(("bearer" = ["people:write"]))
        )]
        #[patch($item)]
        pub async fn $update(
            state: web::Data<AppState>,
            caller: Caller,
            path: web::Path<(String, String)>,
            if_match: IfMatch,
            body: Json<$Patch>,
        ) -> Result<HttpResponse, ApiError> {
            let (person, id) = path.into_inner();
            let owner = contact_ops::Owner::admin(&caller, Scope::PeopleWrite, person)?;
            let (patch, fields) = body.0.into_patch();
            let contact = contact_ops::update(state, owner, id, if_match, $kind, patch, fields).await?;
            Ok(versioned(StatusCode::OK, contact.version, &$view(contact)))
        }

        #[doc = concat!("Remove one of a person's ", $plural, " for good.")]
        #[utoipa::path(
            tag = "people",
            params(
                ("person_id" = String, Path, description = "Person id"),
                ("contact_id" = String, Path, description = "Contact id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
            ),
            responses((status = 204, description = "Removed"), AuthErrors, NotFound, Precondition),
            security(("bearer" = ["people:write"]))
        )]
        #[delete($item)]
        pub async fn $delete(
            state: web::Data<AppState>,
            caller: Caller,
            path: web::Path<(String, String)>,
            if_match: IfMatch,
        ) -> Result<HttpResponse, ApiError> {
            let (person, id) = path.into_inner();
            let owner = contact_ops::Owner::admin(&caller, Scope::PeopleWrite, person)?;
            contact_ops::delete(state, owner, id, if_match, $kind).await
        }
    };
}

/// The four routes of one contact kind under `/v1/me`.
macro_rules! me_contact_routes {
    (
        $kind:expr, $plural:literal, $collection:literal, $item:literal,
        $New:ty, $Patch:ty, $View:ty, $view:ident,
        $create:ident, $list:ident, $update:ident, $delete:ident
    ) => {
        #[doc = concat!("Add to one's own ", $plural, ".")]
        #[utoipa::path(
            tag = "me",
            request_body = $New,
            responses((status = 201, body = $View, headers(("ETag" = String), ("Location" = String))), BodyErrors, Conflict),
            security(("bearer" = ["self"]))
        )]
        #[post($collection)]
        pub async fn $create(state: web::Data<AppState>, caller: Caller, body: Json<$New>) -> Result<HttpResponse, ApiError> {
            let owner = contact_ops::Owner::me(&caller)?;
            let contact = contact_ops::create(state, owner, body.0.into(), &[$plural]).await?;
            let location = format!("/v1/me/{}/{}", $plural, contact.id);
            Ok(created(location, contact.version, &$view(contact)))
        }

        #[doc = concat!("One's own ", $plural, ", oldest first.")]
        #[utoipa::path(tag = "me", responses((status = 200, body = ContactList<$View>), AuthErrors), security(("bearer" = ["self"])))]
        #[get($collection)]
        pub async fn $list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
            let items = contact_ops::list(state, contact_ops::Owner::me(&caller)?, $kind).await?;
            Ok(HttpResponse::Ok().json(ContactList { items: items.into_iter().map($view).collect::<Vec<$View>>() }))
        }

        #[doc = concat!("Change one of one's own ", $plural, ".")]
        #[utoipa::path(
            tag = "me",
            params(
                ("contact_id" = String, Path, description = "Contact id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
            ),
            request_body = $Patch,
            responses((status = 200, body = $View, headers(("ETag" = String))), BodyErrors, NotFound, Conflict, Precondition),
            security(("bearer" = ["self"]))
        )]
        #[patch($item)]
        pub async fn $update(
            state: web::Data<AppState>,
            caller: Caller,
            path: web::Path<String>,
            if_match: IfMatch,
            body: Json<$Patch>,
        ) -> Result<HttpResponse, ApiError> {
            let (patch, fields) = body.0.into_patch();
            let owner = contact_ops::Owner::me(&caller)?;
            let contact = contact_ops::update(state, owner, path.into_inner(), if_match, $kind, patch, fields).await?;
            Ok(versioned(StatusCode::OK, contact.version, &$view(contact)))
        }

        #[doc = concat!("Remove one of one's own ", $plural, " for good.")]
        #[utoipa::path(
            tag = "me",
            params(
                ("contact_id" = String, Path, description = "Contact id"),
                ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
            ),
            responses((status = 204, description = "Removed"), AuthErrors, NotFound, Precondition),
            security(("bearer" = ["self"]))
        )]
        #[delete($item)]
        pub async fn $delete(state: web::Data<AppState>, caller: Caller, path: web::Path<String>, if_match: IfMatch) -> Result<HttpResponse, ApiError> {
            contact_ops::delete(state, contact_ops::Owner::me(&caller)?, path.into_inner(), if_match, $kind).await
        }
    };
}

contact_routes!(
    ContactKind::Email,
    "emails",
    "/v1/people/{person_id}/emails",
    "/v1/people/{person_id}/emails/{contact_id}",
    NewEmail,
    EmailPatch,
    EmailView,
    email_view,
    create_email,
    list_emails,
    update_email,
    delete_email
);
contact_routes!(
    ContactKind::Phone,
    "phones",
    "/v1/people/{person_id}/phones",
    "/v1/people/{person_id}/phones/{contact_id}",
    NewPhone,
    PhonePatch,
    PhoneView,
    phone_view,
    create_phone,
    list_phones,
    update_phone,
    delete_phone
);
contact_routes!(
    ContactKind::Address,
    "addresses",
    "/v1/people/{person_id}/addresses",
    "/v1/people/{person_id}/addresses/{contact_id}",
    NewAddress,
    AddressPatchBody,
    AddressView,
    address_view,
    create_address,
    list_addresses,
    update_address,
    delete_address
);
contact_routes!(
    ContactKind::Website,
    "websites",
    "/v1/people/{person_id}/websites",
    "/v1/people/{person_id}/websites/{contact_id}",
    NewWebsite,
    WebsitePatch,
    WebsiteView,
    website_view,
    create_website,
    list_websites,
    update_website,
    delete_website
);

me_contact_routes!(
    ContactKind::Email,
    "emails",
    "/v1/me/emails",
    "/v1/me/emails/{contact_id}",
    NewEmail,
    EmailPatch,
    EmailView,
    email_view,
    me_create_email,
    me_list_emails,
    me_update_email,
    me_delete_email
);
me_contact_routes!(
    ContactKind::Phone,
    "phones",
    "/v1/me/phones",
    "/v1/me/phones/{contact_id}",
    NewPhone,
    PhonePatch,
    PhoneView,
    phone_view,
    me_create_phone,
    me_list_phones,
    me_update_phone,
    me_delete_phone
);
me_contact_routes!(
    ContactKind::Address,
    "addresses",
    "/v1/me/addresses",
    "/v1/me/addresses/{contact_id}",
    NewAddress,
    AddressPatchBody,
    AddressView,
    address_view,
    me_create_address,
    me_list_addresses,
    me_update_address,
    me_delete_address
);
me_contact_routes!(
    ContactKind::Website,
    "websites",
    "/v1/me/websites",
    "/v1/me/websites/{contact_id}",
    NewWebsite,
    WebsitePatch,
    WebsiteView,
    website_view,
    me_create_website,
    me_list_websites,
    me_update_website,
    me_delete_website
);
