//! Persons (`people:read` / `people:write`): profiles with their contacts,
//! created in one request, listed, read, changed and erased. Every read by
//! a client is audited, every change in the change's own transaction (in
//! `kluis_app::people` and `kluis_app::erasure`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_core::Scope;
use kluis_people::{NewContact, NewPerson, PeopleQuery, Profile};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::views::{NewAddress, NewEmail, NewPhone, NewWebsite, PersonView, ShownPerson, UpdatePerson};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::erasures::ErasureReceipt;
use crate::routes::person_id;
use crate::routes::{created, versioned};
use crate::state::AppState;

/// A page of people.
#[derive(Serialize, ToSchema)]
pub struct PersonPage {
    /// People in creation order (for a purpose-bound client: those its
    /// purposes allow, with the fields they cover; a page may be short).
    #[schema(value_type = Vec<PersonView>)]
    pub items: Vec<ShownPerson>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Create a person, optionally with contacts. Free text never holds a
/// payment card number; special categories of data have no field at all.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreatePerson {
    /// `Dhr.`, `Mevr.`, `Dr.`, ... (at most 200 characters, as every text field).
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub salutation: Option<String>,
    /// First name.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub first_name: Option<String>,
    /// Last name, with prefixes (`van der Berg`).
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub last_name: Option<String>,
    /// Nickname.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub nickname: Option<String>,
    /// `YYYY-MM-DD`; not in the future, not over 150 years ago.
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    /// BCP 47 language tag, e.g. `nl` or `nl-NL`.
    #[schema(pattern = "^(?:[A-Za-z]{2,3}|[A-Za-z]{5,8})(?:-[A-Za-z0-9]{1,8})*$", max_length = 35)]
    pub language: Option<String>,
    /// Company name.
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    #[schema(pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub company_name: Option<String>,
    /// Dutch Chamber of Commerce (KvK) number: 8 digits.
    #[schema(pattern = "^[0-9]{8}$")]
    pub coc_number: Option<String>,
    /// EU VAT number; Dutch: `NL` + 9 digits + `B` + 2 digits.
    #[schema(
        pattern = "^(?:ATU[0-9]{8}|BE[01][0-9]{9}|BG[0-9]{9,10}|CY[0-9]{8}[A-Z]|CZ[0-9]{8,10}|(?:DE|EE|EL|PT)[0-9]{9}|(?:DK|FI|HU|LU|MT|SI)[0-9]{8}|ES(?:[A-Z][0-9]{7}[0-9A-Z]|[0-9]{8}[A-Z])|FR[0-9A-HJ-NP-Z]{2}[0-9]{9}|(?:HR|IT|LV)[0-9]{11}|IE(?:[0-9]{7}[A-Z]{1,2}|[0-9][A-Z+*][0-9]{5}[A-Z])|LT(?:[0-9]{9}|[0-9]{12})|NL[0-9]{9}B[0-9]{2}|(?:PL|SK)[0-9]{10}|RO[0-9]{2,10}|SE[0-9]{12}|XI(?:[0-9]{9}|[0-9]{12}|(?:GD|HA)[0-9]{3}))$"
    )]
    pub vat_number: Option<String>,
    /// E-mail addresses.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    #[schema(max_items = 20)]
    pub emails: Vec<NewEmail>,
    /// Phone numbers.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    #[schema(max_items = 20)]
    pub phones: Vec<NewPhone>,
    /// Postal addresses.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    #[schema(max_items = 20)]
    pub addresses: Vec<NewAddress>,
    /// Websites.
    #[serde(default)]
    #[validate(length(max = 20, message = "at most 20"))]
    #[schema(max_items = 20)]
    pub websites: Vec<NewWebsite>,
    /// Values of tenant-defined attributes (`{"sector": "logistics"}`).
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 attributes"))]
    #[schema(value_type = Option<crate::contract::AttributeValues>)]
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
}

impl From<CreatePerson> for NewPerson {
    fn from(b: CreatePerson) -> Self {
        let mut contacts: Vec<NewContact> = Vec::new();
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
        NewPerson { profile, contacts, attributes: b.attributes }
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
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// What erasing a person removed: the erasure's receipt, with the id the
/// caller asked about (the stored receipt never holds it).
#[derive(Serialize, ToSchema)]
pub struct PersonErased {
    /// The erased person.
    pub person_id: String,
    /// The receipt (also at `GET /v1/erasures/{id}`).
    #[serde(flatten)]
    pub receipt: ErasureReceipt,
}

/// Create a person, with contacts, in one transaction.
#[utoipa::path(
    tag = "people",
    request_body = CreatePerson,
    responses((status = 201, body = PersonView, headers(("ETag" = String), ("Location" = String)), description = "Created: the person; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people")]
pub async fn create_person(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePerson>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    body.0.validate()?;
    let person = kluis_app::people::create(&state.app, &scoped, body.0.into()).await?;
    Ok(created(format!("/v1/people/{}", person.id), person.version, &PersonView::from(person)))
}

/// List people; find them by name or company prefix (`q`) or by e-mail address.
#[utoipa::path(
    tag = "people",
    params(PeopleListQuery),
    responses((status = 200, body = PersonPage, description = "One page of people"), AuthErrors),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people")]
pub async fn list_people(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PeopleListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let PeopleListQuery { q, email, limit, cursor } = query.into_inner();
    let (limit, after) = ListQuery { limit, cursor }.page()?;
    let page = kluis_app::people::list(&state.app, &scoped, PeopleQuery { q, email }, limit, after).await?;
    let page = page.map(ShownPerson::from);
    Ok(HttpResponse::Ok().json(PersonPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a person with their contacts. A client bound to purposes reads
/// only people whose standing for one of them allows it (never a restricted
/// person), and only the fields those purposes cover; anyone else is 404,
/// exactly like an absent id.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = PersonView, headers(("ETag" = String)), description = "The person, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}")]
pub async fn get_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let shown = kluis_app::people::get(&state.app, &scoped, person_id(path.into_inner())?).await?;
    let version = shown.person.version;
    Ok(versioned(StatusCode::OK, version, &ShownPerson::from(shown)))
}

/// Change a person's profile.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdatePerson,
    responses((status = 200, body = PersonView, headers(("ETag" = String)), description = "The person, its version in `ETag`"), BodyErrors, NotFound, Precondition),
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
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    body.0.validate()?;
    let id = person_id(path.into_inner())?;
    let person = kluis_app::people::update(&state.app, &scoped, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, person.version, &PersonView::from(person)))
}

/// Erase a person: every domain's data about them, in one transaction, with
/// a receipt; their audit entries stay but can no longer be linked to them.
/// A person under a legal hold is not erased (409 `legal_hold`, naming the
/// hold's reason).
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this erasure is based on"),
    ),
    responses((status = 200, body = PersonErased, description = "Erased; the receipt"), AuthErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[delete("/v1/people/{person_id}")]
pub async fn delete_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let id = person_id(path.into_inner())?;
    let receipt = kluis_app::erasure::erase_person(&state.app, &scoped, id.clone(), if_match.0).await?;
    Ok(HttpResponse::Ok().json(PersonErased { person_id: id.0, receipt: receipt.into() }))
}
