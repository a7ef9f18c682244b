//! Processing purposes, with their legal basis, data categories,
//! recipients and retention.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_consent::{NewPurpose, Purpose, PurposePatch};
use kluis_core::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::Time;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::{LegalBasisView, created, versioned};
use crate::state::AppState;

/// A processing purpose.
#[derive(Serialize, ToSchema)]
pub struct PurposeView {
    /// Stable key, e.g. `marketing_email`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What is done with the data and why.
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasisView,
    /// True exactly when the basis is `consent`: processing needs a recorded grant.
    pub requires_consent: bool,
    /// Catalogue categories processed, e.g. `user.contact.email`.
    pub data_categories: Vec<String>,
    /// Ids of the recipients the data goes to.
    pub recipients: Vec<String>,
    /// How long the data may be kept: an ISO 8601 duration such as `P2Y`.
    pub retention: String,
    /// Global Privacy Control: a person whose browser sends `Sec-GPC: 1` on
    /// a self-service request or an unsubscribe link objects to it (source
    /// `gpc`), once. For sale or sharing of data; only where the basis can
    /// be objected to (consent, legitimate interests, public task).
    pub gpc: bool,
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

impl From<Purpose> for PurposeView {
    fn from(p: Purpose) -> Self {
        PurposeView {
            requires_consent: p.requires_consent(),
            key: p.key,
            name: p.name,
            description: p.description,
            legal_basis: p.legal_basis.into(),
            data_categories: p.data_categories.iter().map(|c| c.as_str().to_owned()).collect(),
            recipients: p.recipients,
            retention: p.retention,
            gpc: p.gpc,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A page of purposes.
#[derive(Serialize, ToSchema)]
pub struct PurposePage {
    /// Purposes by key.
    pub items: Vec<PurposeView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Create a purpose. A special category of personal data (health,
/// religion, ...) or a name outside the catalogue is refused.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreatePurpose {
    /// 2 to 64 characters of a-z, 0-9 and _, starting with a letter; unique in the tenant.
    #[schema(pattern = "^[a-z][a-z0-9_]{1,63}$")]
    pub key: String,
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: String,
    /// What is done with the data and why, 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasisView,
    /// 1 to 50 catalogue category names, e.g. `user.contact.email`.
    #[validate(length(min = 1, max = 50, message = "must name 1 to 50 data categories"))]
    #[schema(min_items = 1, max_items = 50, value_type = Vec<crate::contract::DataCategory>)]
    pub data_categories: Vec<String>,
    /// Ids of the tenant's recipients (at most 50).
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50"))]
    #[schema(max_items = 50, value_type = Vec<crate::contract::RecipientId>)]
    pub recipients: Vec<String>,
    /// ISO 8601 duration: `P2Y`, `P6M`, `P30D`, `PT12H`.
    #[schema(
        pattern = "^P(?:(?:[0-9]{1,9}Y(?:[0-9]{1,9}M)?(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}M(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}W(?:[0-9]{1,9}D)?|[0-9]{1,9}D)(?:T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))?|T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))$"
    )]
    pub retention: String,
    /// Mark it for Global Privacy Control (default false): people whose
    /// browser sends `Sec-GPC: 1` object to it.
    #[serde(default)]
    pub gpc: bool,
}

/// Change a purpose; absent fields stay. Lists replace the old ones.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurpose {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// Description, 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub description: Option<String>,
    /// The lawful basis.
    pub legal_basis: Option<LegalBasisView>,
    /// 1 to 50 catalogue category names.
    #[validate(length(min = 1, max = 50, message = "must name 1 to 50 data categories"))]
    #[schema(min_items = 1, max_items = 50, value_type = Option<Vec<crate::contract::DataCategory>>)]
    pub data_categories: Option<Vec<String>>,
    /// Recipient ids (at most 50).
    #[validate(length(max = 50, message = "at most 50"))]
    #[schema(max_items = 50, value_type = Option<Vec<crate::contract::RecipientId>>)]
    pub recipients: Option<Vec<String>>,
    /// ISO 8601 duration.
    #[schema(
        pattern = "^P(?:(?:[0-9]{1,9}Y(?:[0-9]{1,9}M)?(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}M(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}W(?:[0-9]{1,9}D)?|[0-9]{1,9}D)(?:T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))?|T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))$"
    )]
    pub retention: Option<String>,
    /// Mark it for Global Privacy Control, or not.
    pub gpc: Option<bool>,
}

impl From<CreatePurpose> for NewPurpose {
    fn from(b: CreatePurpose) -> Self {
        NewPurpose {
            key: b.key,
            name: b.name,
            description: b.description,
            legal_basis: b.legal_basis.into(),
            data_categories: b.data_categories,
            recipients: b.recipients,
            retention: b.retention,
            gpc: b.gpc,
        }
    }
}

impl From<UpdatePurpose> for PurposePatch {
    fn from(b: UpdatePurpose) -> Self {
        PurposePatch {
            name: b.name,
            description: b.description,
            legal_basis: b.legal_basis.map(Into::into),
            data_categories: b.data_categories,
            recipients: b.recipients,
            retention: b.retention,
            gpc: b.gpc,
        }
    }
}

/// Create a purpose.
#[utoipa::path(
    tag = "register",
    request_body = CreatePurpose,
    responses((status = 201, body = PurposeView, headers(("ETag" = String), ("Location" = String)), description = "Created: the purpose; `Location` names it"), BodyErrors, Conflict),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/purposes")]
pub async fn create_purpose(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePurpose>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let purpose = kluis_app::purposes::create(&state.app, &scoped, body.0.into()).await?;
    let location = format!("/v1/purposes/{}", purpose.key);
    Ok(created(location, purpose.version, &PurposeView::from(purpose)))
}

/// The tenant's purposes. A tenant starts with `marketing_email`,
/// `phone_contact`, `event_sharing`, `session_recording` and `analytics`
/// (consent), `account` (contract) and `invoicing` (legal obligation).
#[utoipa::path(
    tag = "register",
    params(ListQuery),
    responses((status = 200, body = PurposePage, description = "One page of purposes"), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/purposes")]
pub async fn list_purposes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::purposes::list(&state.app, &scoped, limit, after).await?.map(PurposeView::from);
    Ok(HttpResponse::Ok().json(PurposePage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a purpose.
#[utoipa::path(
    tag = "register",
    params(("key" = String, Path, description = "Purpose key")),
    responses((status = 200, body = PurposeView, headers(("ETag" = String)), description = "The purpose, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/purposes/{key}")]
pub async fn get_purpose(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let purpose = kluis_app::purposes::get(&state.app, &scoped, path.into_inner()).await?;
    Ok(versioned(StatusCode::OK, purpose.version, &PurposeView::from(purpose)))
}

/// Change a purpose.
#[utoipa::path(
    tag = "register",
    params(
        ("key" = String, Path, description = "Purpose key"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdatePurpose,
    responses((status = 200, body = PurposeView, headers(("ETag" = String)), description = "The purpose, its version in `ETag`"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["consent:write"]))
)]
#[patch("/v1/purposes/{key}")]
pub async fn update_purpose(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdatePurpose>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let key = path.into_inner();
    let purpose = kluis_app::purposes::update(&state.app, &scoped, key, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, purpose.version, &PurposeView::from(purpose)))
}

/// Delete a purpose. One that consents were recorded for stays (409): the
/// ledger keeps them as proof.
#[utoipa::path(
    tag = "register",
    params(
        ("key" = String, Path, description = "Purpose key"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["consent:write"]))
)]
#[delete("/v1/purposes/{key}")]
pub async fn delete_purpose(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    kluis_app::purposes::delete(&state.app, &scoped, path.into_inner(), if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
