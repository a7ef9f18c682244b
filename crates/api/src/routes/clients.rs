//! A tenant's API clients (`clients:admin`). A client can hand out only
//! scopes it holds itself, so `clients:admin` alone is no path to more.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_core::Scope;
use kluis_store::tenancy::{ApiClient, ClientChanges, IssuedClient, NewClient};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{check_id, created, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::state::AppState;

/// The scopes a tenant client can hold (for the schema; the wire form is the string).
#[derive(ToSchema)]
#[schema(as = Scope)]
pub enum ScopeSchema {
    /// Manage API clients.
    #[schema(rename = "clients:admin")]
    ClientsAdmin,
    /// Read people.
    #[schema(rename = "people:read")]
    PeopleRead,
    /// Create, change and delete people.
    #[schema(rename = "people:write")]
    PeopleWrite,
    /// Define the tenant's own person attributes.
    #[schema(rename = "people:admin")]
    PeopleAdmin,
    /// Manage accounts.
    #[schema(rename = "accounts:admin")]
    AccountsAdmin,
    /// Read consents, purposes and the register.
    #[schema(rename = "consent:read")]
    ConsentRead,
    /// Record consents; manage purposes, recipients and policies.
    #[schema(rename = "consent:write")]
    ConsentWrite,
    /// Read devices and visit statistics.
    #[schema(rename = "devices:read")]
    DevicesRead,
    /// Remove devices; record visits.
    #[schema(rename = "devices:write")]
    DevicesWrite,
    /// Retention, export, erasure, backups.
    #[schema(rename = "retention:admin")]
    RetentionAdmin,
    /// Data-subject requests and restriction.
    #[schema(rename = "requests:admin")]
    RequestsAdmin,
    /// The breach register.
    #[schema(rename = "breaches:admin")]
    BreachesAdmin,
    /// Webhook endpoints and deliveries.
    #[schema(rename = "webhooks:admin")]
    WebhooksAdmin,
    /// Read serviced devices, their credentials' labels, backups and notes.
    #[schema(rename = "service:read")]
    ServiceRead,
    /// Take in, change and return serviced devices; store credentials, record backups, write service notes.
    #[schema(rename = "service:write")]
    ServiceWrite,
    /// Reveal a sealed customer credential, with a reason (never implied by another scope).
    #[schema(rename = "service:reveal")]
    ServiceReveal,
    /// Read the audit log.
    #[schema(rename = "audit:read")]
    AuditRead,
}

/// An API client of the tenant.
#[derive(Serialize, ToSchema)]
pub struct ClientView {
    /// The OAuth `client_id`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// Scopes its tokens may carry.
    #[schema(value_type = Vec<ScopeSchema>)]
    pub scopes: Vec<Scope>,
    /// Processing purposes it is bound to (processors).
    pub purposes: Vec<String>,
    /// Version for `If-Match`.
    pub version: i64,
    /// Created (RFC 3339).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::PrimitiveDateTime,
    /// Last changed (RFC 3339).
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::PrimitiveDateTime,
}

impl From<ApiClient> for ClientView {
    fn from(c: ApiClient) -> Self {
        ClientView {
            client_id: c.id.0,
            name: c.name,
            scopes: c.scopes,
            purposes: c.purposes,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client with its new secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct ClientWithSecret {
    /// The client.
    #[serde(flatten)]
    pub client: ClientView,
    /// The secret; kluis keeps only its hash and cannot show it again.
    pub client_secret: String,
}

/// A page of clients.
#[derive(Serialize, ToSchema)]
pub struct ClientPage {
    /// Clients in creation order.
    pub items: Vec<ClientView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Create a client.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: String,
    /// At least one scope, each held by the caller.
    #[schema(value_type = Vec<ScopeSchema>, min_items = 1)]
    #[validate(length(min = 1, message = "at least one scope"), custom(function = "tenant_scopes"))]
    pub scopes: Vec<Scope>,
    /// Processing purposes it is bound to, at most 50: each a purpose key of
    /// the tenant (422 otherwise). A client with purposes reads people only
    /// through them (see `GET /v1/people/{person_id}`); without, it reads as
    /// the tenant's own tools do.
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50 purposes"))]
    #[schema(max_items = 50, value_type = Vec<crate::contract::ClientPurpose>)]
    pub purposes: Vec<String>,
}

/// Change a client; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateClient {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// The new scope set, each held by the caller; tokens already issued keep theirs until they expire.
    #[schema(value_type = Option<Vec<ScopeSchema>>, min_items = 1)]
    #[validate(length(min = 1, message = "at least one scope"), custom(function = "tenant_scopes"))]
    pub scopes: Option<Vec<Scope>>,
    /// The new purpose set, each a purpose key of the tenant (422 otherwise);
    /// tokens already issued keep theirs until they expire.
    #[validate(length(max = 50, message = "at most 50 purposes"))]
    #[schema(max_items = 50, value_type = Option<Vec<crate::contract::ClientPurpose>>)]
    pub purposes: Option<Vec<String>>,
}

/// Only tenant scopes: never the operator's `tenants:admin` nor a person's `self`.
fn tenant_scopes(scopes: &[Scope]) -> Result<(), validator::ValidationError> {
    if scopes.iter().all(|s| Scope::tenant_client_scopes().any(|t| t == *s)) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("tenant_scope")
            .with_message("a tenant client can hold only tenant scopes".into()))
    }
}

impl From<CreateClient> for NewClient {
    fn from(b: CreateClient) -> Self {
        NewClient { name: b.name, scopes: b.scopes, purposes: b.purposes }
    }
}

impl From<UpdateClient> for ClientChanges {
    fn from(b: UpdateClient) -> Self {
        ClientChanges { name: b.name, scopes: b.scopes, purposes: b.purposes }
    }
}

impl From<IssuedClient> for ClientWithSecret {
    fn from(issued: IssuedClient) -> Self {
        ClientWithSecret { client_secret: issued.secret.to_string(), client: issued.client.into() }
    }
}

/// Create an API client.
#[utoipa::path(
    tag = "clients",
    request_body = CreateClient,
    responses((status = 201, body = ClientWithSecret, description = "Created; `client_secret` is shown only now"), BodyErrors),
    security(("bearer" = ["clients:admin"]))
)]
#[post("/v1/clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateClient>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    body.0.validate()?;
    let issued = kluis_app::clients::create(&state.app, &scoped, body.0.into()).await?;
    let location = format!("/v1/clients/{}", issued.client.id);
    let version = issued.client.version;
    Ok(created(location, version, &ClientWithSecret::from(issued)))
}

/// List the tenant's API clients.
#[utoipa::path(
    tag = "clients",
    params(ListQuery),
    responses((status = 200, body = ClientPage, description = "One page of clients"), AuthErrors),
    security(("bearer" = ["clients:admin"]))
)]
#[get("/v1/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::clients::list(&state.app, &scoped, limit, after).await?.map(ClientView::from);
    Ok(HttpResponse::Ok().json(ClientPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read an API client.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientView, headers(("ETag" = String)), description = "The client, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["clients:admin"]))
)]
#[get("/v1/clients/{client_id}")]
pub async fn get_client(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let client = kluis_app::clients::get(&state.app, &scoped, id).await?;
    Ok(versioned(StatusCode::OK, client.version, &ClientView::from(client)))
}

/// Change an API client's name, scopes or purposes.
#[utoipa::path(
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "Client id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateClient,
    responses((status = 200, body = ClientView, headers(("ETag" = String)), description = "The client, its version in `ETag`"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["clients:admin"]))
)]
#[patch("/v1/clients/{client_id}")]
pub async fn update_client(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateClient>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    body.0.validate()?;
    let id = path.into_inner();
    check_id(&id)?;
    let client = kluis_app::clients::update(&state.app, &scoped, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, client.version, &ClientView::from(client)))
}

/// Revoke an API client: it can no longer get tokens, and its tokens stop working at once.
#[utoipa::path(
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "Client id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Revoked"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["clients:admin"]))
)]
#[delete("/v1/clients/{client_id}")]
pub async fn delete_client(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    kluis_app::clients::revoke(&state.app, &scoped, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate an API client's secret: the old one and every token issued with it stop working at once.
#[utoipa::path(
    tag = "clients",
    params(
        ("client_id" = String, Path, description = "Client id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this rotation is based on"),
    ),
    responses((status = 200, body = ClientWithSecret, description = "The new secret, shown only now"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["clients:admin"]))
)]
#[post("/v1/clients/{client_id}/secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    let id = path.into_inner();
    check_id(&id)?;
    let issued = kluis_app::clients::rotate_secret(&state.app, &scoped, id, if_match.0).await?;
    Ok(versioned(StatusCode::OK, issued.client.version, &ClientWithSecret::from(issued)))
}
