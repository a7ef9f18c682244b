//! Recipients: who personal data is disclosed to, with transfers outside
//! the EEA flagged.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_consent::{NewRecipient, RecipientPatch};
use kluis_core::Scope;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{RecipientView, RoleView};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::routes::{check_id, created, versioned};
use crate::state::AppState;

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A page of recipients.
#[derive(Serialize, ToSchema)]
pub struct RecipientPage {
    /// Recipients in registration order.
    pub items: Vec<RecipientView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Register a recipient.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateRecipient {
    /// Organisation name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: String,
    /// `processor`, `controller` or `authority`.
    pub role: RoleView,
    /// ISO 3166-1 alpha-2 country code, e.g. `NL` or `US`.
    #[schema(value_type = crate::contract::CountryCode)]
    pub country: String,
    /// Required outside the EEA: the safeguard, e.g. `SCC` or `adequacy decision`; 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub transfer_mechanism: Option<String>,
}

/// Change a recipient; absent fields stay, a `null` mechanism clears it
/// (refused outside the EEA).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRecipient {
    /// Organisation name.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// Role.
    pub role: Option<RoleView>,
    /// Country.
    #[schema(value_type = Option<crate::contract::CountryCode>)]
    pub country: Option<String>,
    /// Transfer mechanism.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", max_length = 200)]
    pub transfer_mechanism: Option<Option<String>>,
}

fn recipient_path(path: web::Path<String>) -> Result<String, ApiError> {
    let id = path.into_inner();
    check_id(&id)?;
    Ok(id)
}

impl From<CreateRecipient> for NewRecipient {
    fn from(b: CreateRecipient) -> Self {
        NewRecipient { name: b.name, role: b.role.into(), country: b.country, transfer_mechanism: b.transfer_mechanism }
    }
}

impl From<UpdateRecipient> for RecipientPatch {
    fn from(b: UpdateRecipient) -> Self {
        RecipientPatch {
            name: b.name,
            role: b.role.map(Into::into),
            country: b.country,
            transfer_mechanism: b.transfer_mechanism,
        }
    }
}

/// Register a recipient. Outside the EEA a transfer mechanism is required.
#[utoipa::path(
    tag = "register",
    request_body = CreateRecipient,
    responses((status = 201, body = RecipientView, headers(("ETag" = String), ("Location" = String)), description = "Created: the recipient; `Location` names it"), BodyErrors),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/recipients")]
pub async fn create_recipient(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateRecipient>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let recipient = kluis_app::recipients::create(&state.app, &scoped, body.0.into()).await?;
    let location = format!("/v1/recipients/{}", recipient.id);
    Ok(created(location, recipient.version, &RecipientView::from(recipient)))
}

/// The tenant's recipients.
#[utoipa::path(
    tag = "register",
    params(ListQuery),
    responses((status = 200, body = RecipientPage, description = "One page of recipients"), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/recipients")]
pub async fn list_recipients(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::recipients::list(&state.app, &scoped, limit, after).await?.map(RecipientView::from);
    Ok(HttpResponse::Ok().json(RecipientPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a recipient.
#[utoipa::path(
    tag = "register",
    params(("recipient_id" = String, Path, description = "Recipient id")),
    responses((status = 200, body = RecipientView, headers(("ETag" = String)), description = "The recipient, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/recipients/{recipient_id}")]
pub async fn get_recipient(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentRead)?;
    let id = recipient_path(path)?;
    let recipient = kluis_app::recipients::get(&state.app, &scoped, id).await?;
    Ok(versioned(StatusCode::OK, recipient.version, &RecipientView::from(recipient)))
}

/// Change a recipient.
#[utoipa::path(
    tag = "register",
    params(
        ("recipient_id" = String, Path, description = "Recipient id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateRecipient,
    responses((status = 200, body = RecipientView, headers(("ETag" = String)), description = "The recipient, its version in `ETag`"), BodyErrors, NotFound, Precondition),
    security(("bearer" = ["consent:write"]))
)]
#[patch("/v1/recipients/{recipient_id}")]
pub async fn update_recipient(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateRecipient>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    body.0.validate()?;
    let id = recipient_path(path)?;
    let recipient = kluis_app::recipients::update(&state.app, &scoped, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, recipient.version, &RecipientView::from(recipient)))
}

/// Remove a recipient. One a purpose still names stays (409).
#[utoipa::path(
    tag = "register",
    params(
        ("recipient_id" = String, Path, description = "Recipient id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["consent:write"]))
)]
#[delete("/v1/recipients/{recipient_id}")]
pub async fn delete_recipient(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ConsentWrite)?;
    let id = recipient_path(path)?;
    kluis_app::recipients::delete(&state.app, &scoped, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
