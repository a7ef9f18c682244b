//! Serviced devices (`service:read` / `service:write`): devices and
//! accounts taken in for a person, their sealed credentials (a secret is
//! never in a list or read; `service:reveal` with a reason reveals it),
//! records of customer-data backups kept until restored, and notes per
//! customer (contracts, configuration).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_core::{PersonId, Scope};
use kluis_service::backups::{Backup, NewBackup};
use kluis_service::credentials::{self, Credential, NewCredential};
use kluis_service::items::{self, Item, NewItem};
use kluis_service::notes::{self, NewNote, Note};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use zeroize::Zeroizing;

use super::{check_id, created, person_id, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition, RateLimited};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn ids(path: (String, String)) -> Result<(PersonId, String), ApiError> {
    let (person, id) = path;
    let person = person_id(person)?;
    check_id(&id)?;
    Ok((person, id))
}

fn ids3(path: (String, String, String)) -> Result<(PersonId, String, String), ApiError> {
    let (person, item, id) = path;
    let person = person_id(person)?;
    check_id(&item)?;
    check_id(&id)?;
    Ok((person, item, id))
}

// --- Items ---

/// What was taken in.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceItemKind {
    /// A laptop.
    Laptop,
    /// A desktop computer.
    Desktop,
    /// A phone.
    Phone,
    /// A tablet.
    Tablet,
    /// A printer.
    Printer,
    /// A server.
    Server,
    /// A router, switch or access point.
    Network,
    /// A disk, NAS or other storage.
    Storage,
    /// An online account (Google account, Apple ID, ...) to configure.
    Account,
    /// Anything else.
    Other,
}

impl From<ServiceItemKind> for items::Kind {
    fn from(k: ServiceItemKind) -> Self {
        match k {
            ServiceItemKind::Laptop => items::Kind::Laptop,
            ServiceItemKind::Desktop => items::Kind::Desktop,
            ServiceItemKind::Phone => items::Kind::Phone,
            ServiceItemKind::Tablet => items::Kind::Tablet,
            ServiceItemKind::Printer => items::Kind::Printer,
            ServiceItemKind::Server => items::Kind::Server,
            ServiceItemKind::Network => items::Kind::Network,
            ServiceItemKind::Storage => items::Kind::Storage,
            ServiceItemKind::Account => items::Kind::Account,
            ServiceItemKind::Other => items::Kind::Other,
        }
    }
}

/// Where a serviced item stands: `received -> in_progress -> ready -> returned`
/// (`ready -> in_progress` when more work is found; `returned` from any
/// other; nothing after `returned`, nothing back to `received`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceItemStatus {
    /// Taken in.
    Received,
    /// Being worked on.
    InProgress,
    /// Done, waiting for the customer.
    Ready,
    /// Back with the customer: its credentials are deleted.
    Returned,
}

impl From<ServiceItemStatus> for items::Status {
    fn from(s: ServiceItemStatus) -> Self {
        match s {
            ServiceItemStatus::Received => items::Status::Received,
            ServiceItemStatus::InProgress => items::Status::InProgress,
            ServiceItemStatus::Ready => items::Status::Ready,
            ServiceItemStatus::Returned => items::Status::Returned,
        }
    }
}

impl From<items::Status> for ServiceItemStatus {
    fn from(s: items::Status) -> Self {
        match s {
            items::Status::Received => ServiceItemStatus::Received,
            items::Status::InProgress => ServiceItemStatus::InProgress,
            items::Status::Ready => ServiceItemStatus::Ready,
            items::Status::Returned => ServiceItemStatus::Returned,
        }
    }
}

/// A serviced item.
#[derive(Serialize, ToSchema)]
pub struct ServiceItemView {
    /// Item id.
    pub id: String,
    /// The customer.
    pub person_id: String,
    /// What it is.
    #[schema(value_type = ServiceItemKind)]
    pub kind: &'static str,
    /// Make (brand).
    pub make: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// What the customer asked for.
    pub request: String,
    /// Where it stands.
    pub status: ServiceItemStatus,
    /// When it was taken in.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Time,
    /// When it was (last) made ready.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ready_at: Option<Time>,
    /// When it went back to the customer.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub returned_at: Option<Time>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Recorded.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Item> for ServiceItemView {
    fn from(i: Item) -> Self {
        ServiceItemView {
            id: i.id,
            person_id: i.person_id.0,
            kind: i.kind.as_str(),
            make: i.make,
            model: i.model,
            serial: i.serial,
            request: i.request,
            status: i.status.into(),
            received_at: i.received_at,
            ready_at: i.ready_at,
            returned_at: i.returned_at,
            version: i.version,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A page of serviced items.
#[derive(Serialize, ToSchema)]
pub struct ServiceItemPage {
    /// Oldest first.
    pub items: Vec<ServiceItemView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Take in a device or account.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceItem {
    /// What it is.
    pub kind: ServiceItemKind,
    /// Make (brand): 1 to 100 characters.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub make: Option<String>,
    /// Model: 1 to 100 characters.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub model: Option<String>,
    /// Serial number: 1 to 100 characters.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub serial: Option<String>,
    /// What the customer asked for (repair, installation, configuration): 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub request: String,
    /// When it was taken in (RFC 3339, not in the future); now when absent.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub received_at: Option<Time>,
}

impl From<CreateServiceItem> for NewItem {
    fn from(b: CreateServiceItem) -> Self {
        NewItem {
            kind: b.kind.into(),
            make: b.make,
            model: b.model,
            serial: b.serial,
            request: b.request,
            received_at: b.received_at,
        }
    }
}

/// Change a serviced item; absent fields stay, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceItem {
    /// What it is.
    pub kind: Option<ServiceItemKind>,
    /// Make: 1 to 100 characters; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub make: Option<Option<String>>,
    /// Model: 1 to 100 characters; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub model: Option<Option<String>>,
    /// Serial number: 1 to 100 characters; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub serial: Option<Option<String>>,
    /// What the customer asked for: 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub request: Option<String>,
    /// A new status (409 `service_status_transition` for a move that cannot
    /// be); `returned` deletes the item's credentials.
    pub status: Option<ServiceItemStatus>,
}

impl From<UpdateServiceItem> for items::Changes {
    fn from(b: UpdateServiceItem) -> Self {
        items::Changes {
            kind: b.kind.map(Into::into),
            make: b.make,
            model: b.model,
            serial: b.serial,
            request: b.request,
            status: b.status.map(Into::into),
        }
    }
}

/// Take in a device or account for a person (`received`).
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = CreateServiceItem,
    responses((status = 201, body = ServiceItemView, headers(("ETag" = String)), description = "The item"), BodyErrors, NotFound),
    security(("bearer" = ["service:write"]))
)]
#[post("/v1/people/{person_id}/service-items")]
pub async fn create_service_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<CreateServiceItem>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    body.0.validate()?;
    let person = person_id(path.into_inner())?;
    let item = kluis_app::service::create_item(&state.app, &scoped, person, body.0.into()).await?;
    let location = format!("/v1/people/{}/service-items/{}", item.person_id, item.id);
    let version = item.version;
    Ok(created(location, version, &ServiceItemView::from(item)))
}

/// A person's serviced items, oldest first.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ListQuery),
    responses((status = 200, body = ServiceItemPage, description = "One page of items"), AuthErrors, NotFound),
    security(("bearer" = ["service:read"]))
)]
#[get("/v1/people/{person_id}/service-items")]
pub async fn list_service_items(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceRead)?;
    let (limit, after) = query.page()?;
    let person = person_id(path.into_inner())?;
    let page = kluis_app::service::list_items(&state.app, &scoped, person, limit, after).await?;
    let page = page.map(ServiceItemView::from);
    Ok(HttpResponse::Ok().json(ServiceItemPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One serviced item.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ("item_id" = String, Path, description = "Item id")),
    responses((status = 200, body = ServiceItemView, headers(("ETag" = String)), description = "The item"), AuthErrors, NotFound),
    security(("bearer" = ["service:read"]))
)]
#[get("/v1/people/{person_id}/service-items/{item_id}")]
pub async fn get_service_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceRead)?;
    let (person, id) = ids(path.into_inner())?;
    let item = kluis_app::service::get_item(&state.app, &scoped, person, id).await?;
    Ok(versioned(StatusCode::OK, item.version, &ServiceItemView::from(item)))
}

/// Change a serviced item: its facts, or its status. Returning it
/// (`status: returned`) deletes its credentials and starts the retention
/// of its backup records.
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("item_id" = String, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateServiceItem,
    responses((status = 200, body = ServiceItemView, headers(("ETag" = String)), description = "The item"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["service:write"]))
)]
#[patch("/v1/people/{person_id}/service-items/{item_id}")]
pub async fn update_service_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Json<UpdateServiceItem>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    body.0.validate()?;
    let (person, id) = ids(path.into_inner())?;
    let item = kluis_app::service::update_item(&state.app, &scoped, person, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, item.version, &ServiceItemView::from(item)))
}

/// Delete a serviced item, with its credentials and backup records.
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("item_id" = String, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["service:write"]))
)]
#[delete("/v1/people/{person_id}/service-items/{item_id}")]
pub async fn delete_service_item(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    let (person, id) = ids(path.into_inner())?;
    kluis_app::service::delete_item(&state.app, &scoped, person, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Credentials ---

/// What a credential opens.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceCredentialKind {
    /// A Google account.
    GoogleAccount,
    /// An Apple ID.
    AppleId,
    /// A Microsoft account.
    MicrosoftAccount,
    /// A server the firm can reach.
    Server,
    /// The device itself (local account, PIN, BIOS password).
    Device,
    /// A mailbox.
    Email,
    /// A wireless network.
    Wifi,
    /// Anything else.
    Other,
}

impl From<ServiceCredentialKind> for credentials::Kind {
    fn from(k: ServiceCredentialKind) -> Self {
        match k {
            ServiceCredentialKind::GoogleAccount => credentials::Kind::GoogleAccount,
            ServiceCredentialKind::AppleId => credentials::Kind::AppleId,
            ServiceCredentialKind::MicrosoftAccount => credentials::Kind::MicrosoftAccount,
            ServiceCredentialKind::Server => credentials::Kind::Server,
            ServiceCredentialKind::Device => credentials::Kind::Device,
            ServiceCredentialKind::Email => credentials::Kind::Email,
            ServiceCredentialKind::Wifi => credentials::Kind::Wifi,
            ServiceCredentialKind::Other => credentials::Kind::Other,
        }
    }
}

/// A stored credential: never its secret.
#[derive(Serialize, ToSchema)]
pub struct ServiceCredentialView {
    /// Credential id.
    pub id: String,
    /// The item it belongs to.
    pub item_id: String,
    /// What it opens.
    #[schema(value_type = ServiceCredentialKind)]
    pub kind: &'static str,
    /// Its label.
    pub label: String,
    /// The login (user name, account address).
    pub login: String,
    /// When its secret was last revealed.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revealed_at: Option<Time>,
    /// Stored.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
}

impl From<Credential> for ServiceCredentialView {
    fn from(c: Credential) -> Self {
        ServiceCredentialView {
            id: c.id,
            item_id: c.item_id,
            kind: c.kind.as_str(),
            label: c.label,
            login: c.login,
            revealed_at: c.revealed_at,
            created_at: c.created_at,
        }
    }
}

/// An item's credentials.
#[derive(Serialize, ToSchema)]
pub struct ServiceCredentialList {
    /// Oldest first, without secrets.
    pub items: Vec<ServiceCredentialView>,
}

/// Store a customer credential; its secret is sealed and never shown again
/// but through `.../reveal`.
#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceCredential {
    /// What it opens.
    pub kind: ServiceCredentialKind,
    /// A label ("Apple ID of the MacBook"): 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub label: String,
    /// The login (user name, account address): 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub login: String,
    /// The secret (password, PIN, passphrase): 1 to 1000 characters.
    #[validate(length(min = 1, max = 1000, message = "must be 1 to 1000 characters"))]
    #[schema(min_length = 1, max_length = 1000, format = Password, write_only)]
    pub secret: String,
}

impl std::fmt::Debug for CreateServiceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateServiceCredential").field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// Why a secret is revealed.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RevealServiceCredential {
    /// Why the secret is needed (kept in the audit entry): 1 to 500 characters.
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub reason: String,
}

/// A revealed credential.
#[derive(Serialize, ToSchema)]
pub struct RevealedServiceCredential {
    /// The credential.
    pub credential: ServiceCredentialView,
    /// Its secret, in this response only.
    pub secret: String,
}

/// Store a credential of a serviced item (Google account, Apple ID, server
/// login); the secret is sealed with AES-256-GCM under the tenant's key and
/// no list or read returns it. 409 for a returned item.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ("item_id" = String, Path, description = "Item id")),
    request_body = CreateServiceCredential,
    responses((status = 201, body = ServiceCredentialView, description = "The credential, without its secret"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["service:write"]))
)]
#[post("/v1/people/{person_id}/service-items/{item_id}/credentials")]
pub async fn create_service_credential(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Json<CreateServiceCredential>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    body.0.validate()?;
    let (person, item) = ids(path.into_inner())?;
    let body = body.0;
    let new = NewCredential {
        kind: body.kind.into(),
        label: body.label,
        login: body.login,
        secret: Zeroizing::new(body.secret),
    };
    let credential = kluis_app::service::create_credential(&state.app, &scoped, person.clone(), item, new).await?;
    let location = format!("/v1/people/{}/service-items/{}/credentials/{}", person, credential.item_id, credential.id);
    Ok(HttpResponse::Created().insert_header(("Location", location)).json(ServiceCredentialView::from(credential)))
}

/// The credentials of a serviced item, never their secrets.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ("item_id" = String, Path, description = "Item id")),
    responses((status = 200, body = ServiceCredentialList, description = "The item's credentials"), AuthErrors, NotFound),
    security(("bearer" = ["service:read"]))
)]
#[get("/v1/people/{person_id}/service-items/{item_id}/credentials")]
pub async fn list_service_credentials(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceRead)?;
    let (person, item) = ids(path.into_inner())?;
    let list = kluis_app::service::list_credentials(&state.app, &scoped, person, item).await?;
    Ok(HttpResponse::Ok().json(ServiceCredentialList { items: list.into_iter().map(Into::into).collect() }))
}

/// Reveal a credential's secret, with a reason (422 without one), which
/// the audit entry keeps (never the secret). Needs `service:reveal`, a
/// scope no other implies and only the tenant's admin client holds by
/// default; a staff member needs 2FA (403 `totp_required`). Rate limited
/// per caller (429).
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("item_id" = String, Path, description = "Item id"),
        ("credential_id" = String, Path, description = "Credential id"),
    ),
    request_body = RevealServiceCredential,
    responses((status = 200, body = RevealedServiceCredential, description = "The credential and its secret"), BodyErrors, NotFound, RateLimited),
    security(("bearer" = ["service:reveal"]))
)]
#[post("/v1/people/{person_id}/service-items/{item_id}/credentials/{credential_id}/reveal")]
pub async fn reveal_service_credential(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
    body: Json<RevealServiceCredential>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceReveal)?;
    body.0.validate()?;
    let (person, item, id) = ids3(path.into_inner())?;
    let (credential, secret) =
        kluis_app::service::reveal_credential(&state.app, &scoped, person, item, id, Some(body.0.reason)).await?;
    let body = RevealedServiceCredential { credential: credential.into(), secret: secret.as_str().to_owned() };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(body))
}

/// Delete a credential of a serviced item.
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("item_id" = String, Path, description = "Item id"),
        ("credential_id" = String, Path, description = "Credential id"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound),
    security(("bearer" = ["service:write"]))
)]
#[delete("/v1/people/{person_id}/service-items/{item_id}/credentials/{credential_id}")]
pub async fn delete_service_credential(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    let (person, item, id) = ids3(path.into_inner())?;
    kluis_app::service::delete_credential(&state.app, &scoped, person, item, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Backups ---

/// A record of a backup of the customer's data.
#[derive(Serialize, ToSchema)]
pub struct ServiceBackupView {
    /// Backup id.
    pub id: String,
    /// The item whose data it holds.
    pub item_id: String,
    /// Where it is.
    pub location: String,
    /// Its size in bytes.
    pub size_bytes: Option<i64>,
    /// Its checksum.
    pub checksum: Option<String>,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// When it was made.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub made_at: Time,
    /// When its data was put back on the repaired equipment: its retention runs from here.
    #[serde(with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub restored_at: Option<Time>,
    /// Recorded.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
}

impl From<Backup> for ServiceBackupView {
    fn from(b: Backup) -> Self {
        ServiceBackupView {
            id: b.id,
            item_id: b.item_id,
            location: b.location,
            size_bytes: b.size_bytes,
            checksum: b.checksum,
            encrypted: b.encrypted,
            made_at: b.made_at,
            restored_at: b.restored_at,
            created_at: b.created_at,
        }
    }
}

/// An item's backup records.
#[derive(Serialize, ToSchema)]
pub struct ServiceBackupList {
    /// Oldest first.
    pub items: Vec<ServiceBackupView>,
}

/// Record a backup of the customer's disk or partitions.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceBackup {
    /// Where it is (a disk label, a share, a path): 1 to 500 characters.
    #[validate(length(min = 1, max = 500, message = "must be 1 to 500 characters"))]
    #[schema(min_length = 1, max_length = 500, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub location: String,
    /// Its size in bytes (at least 0).
    #[serde(default, deserialize_with = "crate::contract::option_integer")]
    #[validate(range(min = 0, message = "must be at least 0"))]
    #[schema(minimum = 0)]
    pub size_bytes: Option<i64>,
    /// Its checksum (e.g. `sha256:...`): 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub checksum: Option<String>,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// When it was made (RFC 3339, not in the future); now when absent.
    #[serde(default, with = "kluis_core::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub made_at: Option<Time>,
}

impl From<CreateServiceBackup> for NewBackup {
    fn from(b: CreateServiceBackup) -> Self {
        NewBackup {
            location: b.location,
            size_bytes: b.size_bytes,
            checksum: b.checksum,
            encrypted: b.encrypted,
            made_at: b.made_at,
        }
    }
}

/// Record a backup of a serviced item's data. It is kept until the data is
/// restored or the item returned; then the retention start
/// `restored_or_returned` lets a sweep delete it. 409 for a returned item.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ("item_id" = String, Path, description = "Item id")),
    request_body = CreateServiceBackup,
    responses((status = 201, body = ServiceBackupView, description = "The backup record"), BodyErrors, NotFound, Conflict),
    security(("bearer" = ["service:write"]))
)]
#[post("/v1/people/{person_id}/service-items/{item_id}/backups")]
pub async fn create_service_backup(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Json<CreateServiceBackup>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    body.0.validate()?;
    let (person, item) = ids(path.into_inner())?;
    let backup = kluis_app::service::create_backup(&state.app, &scoped, person.clone(), item, body.0.into()).await?;
    let location = format!("/v1/people/{}/service-items/{}/backups/{}", person, backup.item_id, backup.id);
    Ok(HttpResponse::Created().insert_header(("Location", location)).json(ServiceBackupView::from(backup)))
}

/// The backup records of a serviced item.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ("item_id" = String, Path, description = "Item id")),
    responses((status = 200, body = ServiceBackupList, description = "The item's backup records"), AuthErrors, NotFound),
    security(("bearer" = ["service:read"]))
)]
#[get("/v1/people/{person_id}/service-items/{item_id}/backups")]
pub async fn list_service_backups(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceRead)?;
    let (person, item) = ids(path.into_inner())?;
    let list = kluis_app::service::list_backups(&state.app, &scoped, person, item).await?;
    Ok(HttpResponse::Ok().json(ServiceBackupList { items: list.into_iter().map(Into::into).collect() }))
}

/// Mark a backup's data put back on the repaired equipment: its retention
/// runs from now (409 `service_backup_restored` when it was already).
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("item_id" = String, Path, description = "Item id"),
        ("backup_id" = String, Path, description = "Backup record id"),
    ),
    responses((status = 200, body = ServiceBackupView, description = "The backup record, restored"), AuthErrors, NotFound, Conflict),
    security(("bearer" = ["service:write"]))
)]
#[post("/v1/people/{person_id}/service-items/{item_id}/backups/{backup_id}/restored")]
pub async fn restored_service_backup(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    let (person, item, id) = ids3(path.into_inner())?;
    let backup = kluis_app::service::mark_restored(&state.app, &scoped, person, item, id).await?;
    Ok(HttpResponse::Ok().json(ServiceBackupView::from(backup)))
}

// --- Notes ---

/// What a service note is about.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceNoteKind {
    /// A contract with the customer.
    Contract,
    /// The configuration of the customer's work environment.
    Configuration,
    /// An installation done for the customer.
    Installation,
    /// What user data the customer has where.
    UserData,
    /// Anything else.
    Other,
}

impl From<ServiceNoteKind> for notes::Kind {
    fn from(k: ServiceNoteKind) -> Self {
        match k {
            ServiceNoteKind::Contract => notes::Kind::Contract,
            ServiceNoteKind::Configuration => notes::Kind::Configuration,
            ServiceNoteKind::Installation => notes::Kind::Installation,
            ServiceNoteKind::UserData => notes::Kind::UserData,
            ServiceNoteKind::Other => notes::Kind::Other,
        }
    }
}

/// A note about a customer.
#[derive(Serialize, ToSchema)]
pub struct ServiceNoteView {
    /// Note id.
    pub id: String,
    /// The customer.
    pub person_id: String,
    /// What it is about.
    #[schema(value_type = ServiceNoteKind)]
    pub kind: &'static str,
    /// Its data category.
    #[schema(value_type = crate::contract::DataCategory)]
    pub category: &'static str,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Version for `If-Match`.
    pub version: i64,
    /// Written.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Time,
    /// Last changed.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Time,
}

impl From<Note> for ServiceNoteView {
    fn from(n: Note) -> Self {
        ServiceNoteView {
            id: n.id,
            person_id: n.person_id.0,
            kind: n.kind.as_str(),
            category: n.category.as_str(),
            title: n.title,
            body: n.body,
            version: n.version,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// A page of service notes.
#[derive(Serialize, ToSchema)]
pub struct ServiceNotePage {
    /// Oldest first.
    pub items: Vec<ServiceNoteView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Write a note about a customer.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceNote {
    /// What it is about.
    pub kind: ServiceNoteKind,
    /// Its data category, from the catalogue (default `user.service`); a special category is refused.
    #[schema(value_type = Option<crate::contract::DataCategory>)]
    pub category: Option<String>,
    /// Title: 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub title: String,
    /// Text: 1 to 10000 characters.
    #[validate(length(min = 1, max = 10000, message = "must be 1 to 10000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub body: String,
}

impl From<CreateServiceNote> for NewNote {
    fn from(b: CreateServiceNote) -> Self {
        NewNote { kind: b.kind.into(), category: b.category, title: b.title, body: b.body }
    }
}

/// Change a service note; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateServiceNote {
    /// What it is about.
    pub kind: Option<ServiceNoteKind>,
    /// Its data category, from the catalogue.
    #[schema(value_type = Option<crate::contract::DataCategory>)]
    pub category: Option<String>,
    /// Title: 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub title: Option<String>,
    /// Text: 1 to 10000 characters.
    #[validate(length(min = 1, max = 10000, message = "must be 1 to 10000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub body: Option<String>,
}

impl From<UpdateServiceNote> for notes::Changes {
    fn from(b: UpdateServiceNote) -> Self {
        notes::Changes { kind: b.kind.map(Into::into), category: b.category, title: b.title, body: b.body }
    }
}

/// Write a note about a customer (a contract, the configuration of their
/// work environment, ...), in a data category of the catalogue.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id")),
    request_body = CreateServiceNote,
    responses((status = 201, body = ServiceNoteView, headers(("ETag" = String)), description = "The note"), BodyErrors, NotFound),
    security(("bearer" = ["service:write"]))
)]
#[post("/v1/people/{person_id}/service-notes")]
pub async fn create_service_note(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<CreateServiceNote>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    body.0.validate()?;
    let person = person_id(path.into_inner())?;
    let note = kluis_app::service::create_note(&state.app, &scoped, person, body.0.into()).await?;
    let location = format!("/v1/people/{}/service-notes/{}", note.person_id, note.id);
    let version = note.version;
    Ok(created(location, version, &ServiceNoteView::from(note)))
}

/// A person's service notes, oldest first.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ListQuery),
    responses((status = 200, body = ServiceNotePage, description = "One page of notes"), AuthErrors, NotFound),
    security(("bearer" = ["service:read"]))
)]
#[get("/v1/people/{person_id}/service-notes")]
pub async fn list_service_notes(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceRead)?;
    let (limit, after) = query.page()?;
    let person = person_id(path.into_inner())?;
    let page = kluis_app::service::list_notes(&state.app, &scoped, person, limit, after).await?;
    let page = page.map(ServiceNoteView::from);
    Ok(HttpResponse::Ok().json(ServiceNotePage { items: page.items, next_cursor: page.next_cursor }))
}

/// One service note.
#[utoipa::path(
    tag = "service",
    params(("person_id" = String, Path, description = "Person id"), ("note_id" = String, Path, description = "Note id")),
    responses((status = 200, body = ServiceNoteView, headers(("ETag" = String)), description = "The note"), AuthErrors, NotFound),
    security(("bearer" = ["service:read"]))
)]
#[get("/v1/people/{person_id}/service-notes/{note_id}")]
pub async fn get_service_note(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceRead)?;
    let (person, id) = ids(path.into_inner())?;
    let note = kluis_app::service::get_note(&state.app, &scoped, person, id).await?;
    Ok(versioned(StatusCode::OK, note.version, &ServiceNoteView::from(note)))
}

/// Change a service note.
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("note_id" = String, Path, description = "Note id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateServiceNote,
    responses((status = 200, body = ServiceNoteView, headers(("ETag" = String)), description = "The note"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["service:write"]))
)]
#[patch("/v1/people/{person_id}/service-notes/{note_id}")]
pub async fn update_service_note(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Json<UpdateServiceNote>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    body.0.validate()?;
    let (person, id) = ids(path.into_inner())?;
    let note = kluis_app::service::update_note(&state.app, &scoped, person, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, note.version, &ServiceNoteView::from(note)))
}

/// Delete a service note.
#[utoipa::path(
    tag = "service",
    params(
        ("person_id" = String, Path, description = "Person id"),
        ("note_id" = String, Path, description = "Note id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["service:write"]))
)]
#[delete("/v1/people/{person_id}/service-notes/{note_id}")]
pub async fn delete_service_note(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ServiceWrite)?;
    let (person, id) = ids(path.into_inner())?;
    kluis_app::service::delete_note(&state.app, &scoped, person, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
