//! A signed-in person's own contacts (`/v1/me`, scope `self`): e-mails,
//! phones, addresses and websites, four routes each, through the same use
//! cases as an administrator's (`kluis_app::contacts`); a person's reads of
//! their own contacts are not audited.
//!
//! The handlers carry `//` comments, not doc comments: utoipa would publish
//! a doc comment as the operation's summary, and these operations were
//! published without one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_app::contacts::{self, Owner};
use kluis_people::ContactKind;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json};
use crate::routes::people::views::{
    AddressPatchBody, AddressView, ContactList, EmailPatch, EmailView, NewAddress, NewEmail, NewPhone, NewWebsite,
    PhonePatch, PhoneView, WebsitePatch, WebsiteView,
};
use crate::routes::{check_id, created, versioned};
use crate::state::AppState;

// Add to one's own emails.
#[utoipa::path(
    tag = "me",
    request_body = NewEmail,
    responses((status = 201, body = EmailView, headers(("ETag" = String), ("Location" = String)), description = "Created: the e-mail address; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/emails")]
pub async fn me_create_email(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewEmail>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/me/emails/{}", contact.id);
    Ok(created(location, contact.version, &EmailView::from(contact)))
}

// One's own emails, oldest first.
#[utoipa::path(tag = "me", responses((status = 200, body = ContactList<EmailView>, description = "The e-mail addresses"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/emails")]
pub async fn me_list_emails(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let items = contacts::list(&state.app, owner, ContactKind::Email).await?;
    Ok(HttpResponse::Ok().json(ContactList::<EmailView>::from(items)))
}

// Change one of one's own emails.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = EmailPatch,
    responses((status = 200, body = EmailView, headers(("ETag" = String)), description = "The e-mail address, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me/emails/{contact_id}")]
pub async fn me_update_email(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<EmailPatch>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &EmailView::from(contact)))
}

// Remove one of one's own emails for good.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/emails/{contact_id}")]
pub async fn me_delete_email(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Email, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Add to one's own phones.
#[utoipa::path(
    tag = "me",
    request_body = NewPhone,
    responses((status = 201, body = PhoneView, headers(("ETag" = String), ("Location" = String)), description = "Created: the phone number; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/phones")]
pub async fn me_create_phone(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewPhone>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/me/phones/{}", contact.id);
    Ok(created(location, contact.version, &PhoneView::from(contact)))
}

// One's own phones, oldest first.
#[utoipa::path(tag = "me", responses((status = 200, body = ContactList<PhoneView>, description = "The phone numbers"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/phones")]
pub async fn me_list_phones(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let items = contacts::list(&state.app, owner, ContactKind::Phone).await?;
    Ok(HttpResponse::Ok().json(ContactList::<PhoneView>::from(items)))
}

// Change one of one's own phones.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = PhonePatch,
    responses((status = 200, body = PhoneView, headers(("ETag" = String)), description = "The phone number, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me/phones/{contact_id}")]
pub async fn me_update_phone(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<PhonePatch>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &PhoneView::from(contact)))
}

// Remove one of one's own phones for good.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/phones/{contact_id}")]
pub async fn me_delete_phone(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Phone, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Add to one's own addresses.
#[utoipa::path(
    tag = "me",
    request_body = NewAddress,
    responses((status = 201, body = AddressView, headers(("ETag" = String), ("Location" = String)), description = "Created: the postal address; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/addresses")]
pub async fn me_create_address(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewAddress>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/me/addresses/{}", contact.id);
    Ok(created(location, contact.version, &AddressView::from(contact)))
}

// One's own addresses, oldest first.
#[utoipa::path(tag = "me", responses((status = 200, body = ContactList<AddressView>, description = "The postal addresses"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/addresses")]
pub async fn me_list_addresses(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let items = contacts::list(&state.app, owner, ContactKind::Address).await?;
    Ok(HttpResponse::Ok().json(ContactList::<AddressView>::from(items)))
}

// Change one of one's own addresses.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = AddressPatchBody,
    responses((status = 200, body = AddressView, headers(("ETag" = String)), description = "The postal address, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me/addresses/{contact_id}")]
pub async fn me_update_address(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<AddressPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &AddressView::from(contact)))
}

// Remove one of one's own addresses for good.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/addresses/{contact_id}")]
pub async fn me_delete_address(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Address, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// Add to one's own websites.
#[utoipa::path(
    tag = "me",
    request_body = NewWebsite,
    responses((status = 201, body = WebsiteView, headers(("ETag" = String), ("Location" = String)), description = "Created: the website; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["self"]))
)]
#[post("/v1/me/websites")]
pub async fn me_create_website(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewWebsite>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let contact = contacts::create(&state.app, owner, body.0.into()).await?;
    let location = format!("/v1/me/websites/{}", contact.id);
    Ok(created(location, contact.version, &WebsiteView::from(contact)))
}

// One's own websites, oldest first.
#[utoipa::path(tag = "me", responses((status = 200, body = ContactList<WebsiteView>, description = "The websites"), AuthErrors), security(("bearer" = ["self"])))]
#[get("/v1/me/websites")]
pub async fn me_list_websites(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let items = contacts::list(&state.app, owner, ContactKind::Website).await?;
    Ok(HttpResponse::Ok().json(ContactList::<WebsiteView>::from(items)))
}

// Change one of one's own websites.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = WebsitePatch,
    responses((status = 200, body = WebsiteView, headers(("ETag" = String)), description = "The website, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["self"]))
)]
#[patch("/v1/me/websites/{contact_id}")]
pub async fn me_update_website(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<WebsitePatch>,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    let contact = contacts::update(&state.app, owner, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, contact.version, &WebsiteView::from(contact)))
}

// Remove one of one's own websites for good.
#[utoipa::path(
    tag = "me",
    params(
        ("contact_id" = String, Path, description = "Contact id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["self"]))
)]
#[delete("/v1/me/websites/{contact_id}")]
pub async fn me_delete_website(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::me(&caller)?;
    let id = path.into_inner();
    check_id(&id)?;
    contacts::delete(&state.app, owner, ContactKind::Website, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
