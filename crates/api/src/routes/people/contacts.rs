//! A person's contacts as their own resources (`people:read` /
//! `people:write`): e-mails, phones, addresses and websites, four routes
//! each. A client's reads are audited, every change in its own transaction
//! (in `kluis_app::contacts`, shared with the `/v1/me` routes).
//!
//! The handlers carry `//` comments, not doc comments: utoipa would publish
//! a doc comment as the operation's summary, and these operations were
//! published without one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_app::contacts::{self, Owner};
use kluis_core::Scope;
use kluis_people::ContactKind;

use super::views::{
    AddressPatchBody, AddressView, ContactList, EmailPatch, EmailView, NewAddress, NewEmail, NewPhone, NewWebsite,
    PhonePatch, PhoneView, WebsitePatch, WebsiteView,
};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json};
use crate::routes::person_id;
use crate::routes::{check_id, created, versioned};
use crate::state::AppState;

// Add to a person's emails.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = NewEmail,
    responses((status = 201, body = EmailView, headers(("ETag" = String), ("Location" = String)), description = "Created: the e-mail address; `Location` names it"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people/{person_id}/emails")]
pub async fn create_email(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NewEmail>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/people/{}/emails/{}", contact.person_id, contact.id);
    Ok(created(location, contact.version, &EmailView::from(contact)))
}

// A person's emails, oldest first.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = ContactList<EmailView>, description = "The e-mail addresses"), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/emails")]
pub async fn list_emails(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let items = contacts::list(&state.app, owner, ContactKind::Email).await?;
    Ok(HttpResponse::Ok().json(ContactList::<EmailView>::from(items)))
}

// Change one of a person's emails.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = EmailPatch,
    responses((status = 200, body = EmailView, headers(("ETag" = String)), description = "The e-mail address, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[patch("/v1/people/{person_id}/emails/{contact_id}")]
pub async fn update_email(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Json<EmailPatch>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &EmailView::from(contact)))
}

// Remove one of a person's emails for good.
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
#[delete("/v1/people/{person_id}/emails/{contact_id}")]
pub async fn delete_email(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Email, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Add to a person's phones.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = NewPhone,
    responses((status = 201, body = PhoneView, headers(("ETag" = String), ("Location" = String)), description = "Created: the phone number; `Location` names it"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people/{person_id}/phones")]
pub async fn create_phone(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NewPhone>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/people/{}/phones/{}", contact.person_id, contact.id);
    Ok(created(location, contact.version, &PhoneView::from(contact)))
}

// A person's phones, oldest first.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = ContactList<PhoneView>, description = "The phone numbers"), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/phones")]
pub async fn list_phones(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let items = contacts::list(&state.app, owner, ContactKind::Phone).await?;
    Ok(HttpResponse::Ok().json(ContactList::<PhoneView>::from(items)))
}

// Change one of a person's phones.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = PhonePatch,
    responses((status = 200, body = PhoneView, headers(("ETag" = String)), description = "The phone number, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[patch("/v1/people/{person_id}/phones/{contact_id}")]
pub async fn update_phone(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Json<PhonePatch>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &PhoneView::from(contact)))
}

// Remove one of a person's phones for good.
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
#[delete("/v1/people/{person_id}/phones/{contact_id}")]
pub async fn delete_phone(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Phone, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Add to a person's addresses.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = NewAddress,
    responses((status = 201, body = AddressView, headers(("ETag" = String), ("Location" = String)), description = "Created: the postal address; `Location` names it"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people/{person_id}/addresses")]
pub async fn create_address(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NewAddress>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/people/{}/addresses/{}", contact.person_id, contact.id);
    Ok(created(location, contact.version, &AddressView::from(contact)))
}

// A person's addresses, oldest first.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = ContactList<AddressView>, description = "The postal addresses"), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/addresses")]
pub async fn list_addresses(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let items = contacts::list(&state.app, owner, ContactKind::Address).await?;
    Ok(HttpResponse::Ok().json(ContactList::<AddressView>::from(items)))
}

// Change one of a person's addresses.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = AddressPatchBody,
    responses((status = 200, body = AddressView, headers(("ETag" = String)), description = "The postal address, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[patch("/v1/people/{person_id}/addresses/{contact_id}")]
pub async fn update_address(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Json<AddressPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &AddressView::from(contact)))
}

// Remove one of a person's addresses for good.
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
#[delete("/v1/people/{person_id}/addresses/{contact_id}")]
pub async fn delete_address(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Address, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Add to a person's websites.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = NewWebsite,
    responses((status = 201, body = WebsiteView, headers(("ETag" = String), ("Location" = String)), description = "Created: the website; `Location` names it"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["people:write"]))
)]
#[post("/v1/people/{person_id}/websites")]
pub async fn create_website(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<NewWebsite>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/people/{}/websites/{}", contact.person_id, contact.id);
    Ok(created(location, contact.version, &WebsiteView::from(contact)))
}

// A person's websites, oldest first.
#[utoipa::path(
    tag = "people",
    params(("person_id" = String, Path, description = "Person id")),
    responses((status = 200, body = ContactList<WebsiteView>, description = "The websites"), AuthErrors, NotFound),
    security(("bearer" = ["people:read"]))
)]
#[get("/v1/people/{person_id}/websites")]
pub async fn list_websites(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleRead)?;
    let owner = Owner::of(&scoped, person_id(path.into_inner())?);
    let items = contacts::list(&state.app, owner, ContactKind::Website).await?;
    Ok(HttpResponse::Ok().json(ContactList::<WebsiteView>::from(items)))
}

// Change one of a person's websites.
#[utoipa::path(
    tag = "people",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = WebsitePatch,
    responses((status = 200, body = WebsiteView, headers(("ETag" = String)), description = "The website, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["people:write"]))
)]
#[patch("/v1/people/{person_id}/websites/{contact_id}")]
pub async fn update_website(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Json<WebsitePatch>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &WebsiteView::from(contact)))
}

// Remove one of a person's websites for good.
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
#[delete("/v1/people/{person_id}/websites/{contact_id}")]
pub async fn delete_website(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::PeopleWrite)?;
    let (person, id) = path.into_inner();
    let owner = Owner::of(&scoped, person_id(person)?);
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Website, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
