//! The processing register (`consent:read` / `consent:write`): purposes with
//! their legal basis, data categories, recipients and retention; the
//! recipients, with transfers outside the EEA flagged; and the Art. 30 record
//! built from both, as JSON or Markdown. Every change is audited.

use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use kluis_audit::{Action, Target};
use kluis_consent::register::{self, Register};
use kluis_consent::{
    LegalBasis, NewPurpose, NewRecipient, Purpose, PurposePatch, Recipient, RecipientPatch, RecipientRole, purposes,
    recipients,
};
use kluis_core::Scope;
use kluis_people::accounts::mail::PurposeNotice;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{check_id, created, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::state::AppState;

type Time = time::PrimitiveDateTime;

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The lawful basis of a purpose (Art. 6(1) GDPR).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasisView {
    /// (a) consent: asked and recorded per person.
    Consent,
    /// (b) a contract with the person.
    Contract,
    /// (c) a legal obligation.
    LegalObligation,
    /// (d) vital interests.
    VitalInterests,
    /// (e) a task in the public interest.
    PublicTask,
    /// (f) legitimate interests.
    LegitimateInterests,
}

impl From<LegalBasisView> for LegalBasis {
    fn from(b: LegalBasisView) -> Self {
        match b {
            LegalBasisView::Consent => LegalBasis::Consent,
            LegalBasisView::Contract => LegalBasis::Contract,
            LegalBasisView::LegalObligation => LegalBasis::LegalObligation,
            LegalBasisView::VitalInterests => LegalBasis::VitalInterests,
            LegalBasisView::PublicTask => LegalBasis::PublicTask,
            LegalBasisView::LegitimateInterests => LegalBasis::LegitimateInterests,
        }
    }
}

impl From<LegalBasis> for LegalBasisView {
    fn from(b: LegalBasis) -> Self {
        match b {
            LegalBasis::Consent => LegalBasisView::Consent,
            LegalBasis::Contract => LegalBasisView::Contract,
            LegalBasis::LegalObligation => LegalBasisView::LegalObligation,
            LegalBasis::VitalInterests => LegalBasisView::VitalInterests,
            LegalBasis::PublicTask => LegalBasisView::PublicTask,
            LegalBasis::LegitimateInterests => LegalBasisView::LegitimateInterests,
        }
    }
}

/// What a recipient is to the tenant.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleView {
    /// Processes on the tenant's behalf (mail, payment, hosting).
    Processor,
    /// Decides its own purposes (event organisers, sponsors).
    Controller,
    /// A public authority.
    Authority,
}

impl From<RoleView> for RecipientRole {
    fn from(r: RoleView) -> Self {
        match r {
            RoleView::Processor => RecipientRole::Processor,
            RoleView::Controller => RecipientRole::Controller,
            RoleView::Authority => RecipientRole::Authority,
        }
    }
}

impl From<RecipientRole> for RoleView {
    fn from(r: RecipientRole) -> Self {
        match r {
            RecipientRole::Processor => RoleView::Processor,
            RecipientRole::Controller => RoleView::Controller,
            RecipientRole::Authority => RoleView::Authority,
        }
    }
}

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
    pub name: String,
    /// What is done with the data and why, 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasisView,
    /// 1 to 50 catalogue category names, e.g. `user.contact.email`.
    #[validate(length(min = 1, max = 50, message = "must name 1 to 50 data categories"))]
    pub data_categories: Vec<String>,
    /// Ids of the tenant's recipients (at most 50).
    #[serde(default)]
    #[validate(length(max = 50, message = "at most 50"))]
    pub recipients: Vec<String>,
    /// ISO 8601 duration: `P2Y`, `P6M`, `P30D`, `PT12H`.
    pub retention: String,
}

/// Change a purpose; absent fields stay. Lists replace the old ones.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurpose {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    /// Description, 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000, message = "must be 1 to 2000 characters"))]
    pub description: Option<String>,
    /// The lawful basis.
    pub legal_basis: Option<LegalBasisView>,
    /// 1 to 50 catalogue category names.
    #[validate(length(min = 1, max = 50, message = "must name 1 to 50 data categories"))]
    pub data_categories: Option<Vec<String>>,
    /// Recipient ids (at most 50).
    #[validate(length(max = 50, message = "at most 50"))]
    pub recipients: Option<Vec<String>>,
    /// ISO 8601 duration.
    pub retention: Option<String>,
}

/// Someone personal data is disclosed to.
#[derive(Serialize, ToSchema)]
pub struct RecipientView {
    /// Recipient id.
    pub id: String,
    /// Organisation name.
    pub name: String,
    /// `processor`, `controller` or `authority`.
    pub role: RoleView,
    /// ISO 3166-1 alpha-2 country the data goes to.
    pub country: String,
    /// Whether that country is in the EEA (derived from it).
    pub in_eea: bool,
    /// The safeguard of a transfer outside the EEA.
    pub transfer_mechanism: Option<String>,
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

impl From<Recipient> for RecipientView {
    fn from(r: Recipient) -> Self {
        RecipientView {
            id: r.id,
            name: r.name,
            role: r.role.into(),
            country: r.country,
            in_eea: r.in_eea,
            transfer_mechanism: r.transfer_mechanism,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
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
    pub name: String,
    /// `processor`, `controller` or `authority`.
    pub role: RoleView,
    /// ISO 3166-1 alpha-2 country code, e.g. `NL` or `US`.
    pub country: String,
    /// Required outside the EEA: the safeguard, e.g. `SCC` or `adequacy decision`; 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub transfer_mechanism: Option<String>,
}

/// Change a recipient; absent fields stay, a `null` mechanism clears it
/// (refused outside the EEA).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateRecipient {
    /// Organisation name.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    /// Role.
    pub role: Option<RoleView>,
    /// Country.
    pub country: Option<String>,
    /// Transfer mechanism.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub transfer_mechanism: Option<Option<String>>,
}

fn purpose_key(path: web::Path<String>) -> String {
    path.into_inner()
}

fn recipient_path(path: web::Path<String>) -> Result<String, ApiError> {
    let id = path.into_inner();
    check_id(&id)?;
    Ok(id)
}

/// Create a purpose.
#[utoipa::path(
    tag = "register",
    request_body = CreatePurpose,
    responses((status = 201, body = PurposeView, headers(("ETag" = String), ("Location" = String))), BodyErrors, Conflict),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/purposes")]
pub async fn create_purpose(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreatePurpose>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    body.0.validate()?;
    let b = body.0;
    let new = NewPurpose {
        key: b.key,
        name: b.name,
        description: b.description,
        legal_basis: b.legal_basis.into(),
        data_categories: b.data_categories,
        recipients: b.recipients,
        retention: b.retention,
    };
    let ctx = caller.audit()?;
    let app = state.clone();
    let purpose = state
        .write(move |conn| {
            let purpose = purposes::create(conn, &tenant, &new)?;
            announce(&app, conn, &tenant, &purpose)?;
            let fields = ["key", "name", "description", "legal_basis", "data_categories", "recipients", "retention"];
            kluis_audit::record(
                conn,
                &ctx,
                Action::PurposeCreate,
                Target::resource("purpose", &purpose.key),
                &fields,
                None,
            )?;
            Ok(purpose)
        })
        .await?;
    let location = format!("/v1/purposes/{}", purpose.key);
    Ok(created(location, purpose.version, &PurposeView::from(purpose)))
}

/// A new purpose people may object to (legitimate interests, public task)
/// is announced to everyone with a primary e-mail address, with their own
/// one-click objection link, in the transaction that creates it.
fn announce(
    state: &AppState,
    conn: &mut kluis_store::Db,
    tenant: &kluis_core::TenantId,
    purpose: &kluis_consent::Purpose,
) -> Result<(), kluis_store::error::TxError> {
    if !matches!(
        purpose.legal_basis,
        kluis_consent::LegalBasis::LegitimateInterests | kluis_consent::LegalBasis::PublicTask
    ) {
        return Ok(());
    }
    let expires_at = kluis_core::time::now() + kluis_consent::unsubscribe::LINK_TTL;
    for (person, address, language) in kluis_people::contacts::primary_addresses(conn, tenant)? {
        let token = kluis_consent::unsubscribe::issue(conn, tenant, &person, &purpose.key, expires_at)?;
        let link = format!("{}/v1/unsubscribe/{token}", state.config.issuer.trim_end_matches('/'));
        let notice = PurposeNotice { to: &address, language: language.as_deref(), purpose: &purpose.name, link: &link };
        kluis_people::accounts::mail::queue_purpose_notice(conn, &state.master, tenant, &person, notice)?;
    }
    Ok(())
}

/// The tenant's purposes. A tenant starts with `marketing_email`,
/// `phone_contact`, `event_sharing`, `session_recording` and `analytics`
/// (consent), `account` (contract) and `invoicing` (legal obligation).
#[utoipa::path(
    tag = "register",
    params(ListQuery),
    responses((status = 200, body = PurposePage), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/purposes")]
pub async fn list_purposes(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let (limit, after) = query.page()?;
    let page = state.db(move |conn| purposes::list(conn, &tenant, limit, after.as_deref())).await?;
    let page = page.map(PurposeView::from);
    Ok(HttpResponse::Ok().json(PurposePage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a purpose.
#[utoipa::path(
    tag = "register",
    params(("key" = String, Path, description = "Purpose key")),
    responses((status = 200, body = PurposeView, headers(("ETag" = String))), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/purposes/{key}")]
pub async fn get_purpose(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let key = purpose_key(path);
    let purpose = state.db(move |conn| purposes::get(conn, &tenant, &key)).await?;
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
    responses((status = 200, body = PurposeView, headers(("ETag" = String))), BodyErrors, NotFound, Precondition),
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
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    body.0.validate()?;
    let key = purpose_key(path);
    let b = body.0;
    let patch = PurposePatch {
        name: b.name,
        description: b.description,
        legal_basis: b.legal_basis.map(Into::into),
        data_categories: b.data_categories,
        recipients: b.recipients,
        retention: b.retention,
    };
    let ctx = caller.audit()?;
    let purpose = state
        .write(move |conn| {
            let purpose = purposes::update(conn, &tenant, &key, if_match.0, &patch)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::PurposeUpdate,
                Target::resource("purpose", &key),
                &patch.fields(),
                None,
            )?;
            Ok(purpose)
        })
        .await?;
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
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    let key = purpose_key(path);
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            purposes::delete(conn, &tenant, &key, if_match.0)?;
            kluis_audit::record(conn, &ctx, Action::PurposeDelete, Target::resource("purpose", &key), &[], None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Register a recipient. Outside the EEA a transfer mechanism is required.
#[utoipa::path(
    tag = "register",
    request_body = CreateRecipient,
    responses((status = 201, body = RecipientView, headers(("ETag" = String), ("Location" = String))), BodyErrors),
    security(("bearer" = ["consent:write"]))
)]
#[post("/v1/recipients")]
pub async fn create_recipient(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateRecipient>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    body.0.validate()?;
    let b = body.0;
    let fields = super::present(&[
        ("name", true),
        ("role", true),
        ("country", true),
        ("transfer_mechanism", b.transfer_mechanism.is_some()),
    ]);
    let new = NewRecipient {
        name: b.name,
        role: b.role.into(),
        country: b.country,
        transfer_mechanism: b.transfer_mechanism,
    };
    let ctx = caller.audit()?;
    let recipient = state
        .write(move |conn| {
            let recipient = recipients::create(conn, &tenant, &new)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::RecipientCreate,
                Target::resource("recipient", &recipient.id),
                &fields,
                None,
            )?;
            Ok(recipient)
        })
        .await?;
    let location = format!("/v1/recipients/{}", recipient.id);
    Ok(created(location, recipient.version, &RecipientView::from(recipient)))
}

/// The tenant's recipients.
#[utoipa::path(
    tag = "register",
    params(ListQuery),
    responses((status = 200, body = RecipientPage), AuthErrors),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/recipients")]
pub async fn list_recipients(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let (limit, after) = query.page()?;
    let page = state.db(move |conn| recipients::list(conn, &tenant, limit, after.as_deref())).await?;
    let page = page.map(RecipientView::from);
    Ok(HttpResponse::Ok().json(RecipientPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a recipient.
#[utoipa::path(
    tag = "register",
    params(("recipient_id" = String, Path, description = "Recipient id")),
    responses((status = 200, body = RecipientView, headers(("ETag" = String))), AuthErrors, NotFound),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/recipients/{recipient_id}")]
pub async fn get_recipient(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let id = recipient_path(path)?;
    let recipient = state.db(move |conn| recipients::get(conn, &tenant, &id)).await?;
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
    responses((status = 200, body = RecipientView, headers(("ETag" = String))), BodyErrors, NotFound, Precondition),
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
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    body.0.validate()?;
    let id = recipient_path(path)?;
    let b = body.0;
    let patch = RecipientPatch {
        name: b.name,
        role: b.role.map(Into::into),
        country: b.country,
        transfer_mechanism: b.transfer_mechanism,
    };
    let ctx = caller.audit()?;
    let recipient = state
        .write(move |conn| {
            let recipient = recipients::update(conn, &tenant, &id, if_match.0, &patch)?;
            kluis_audit::record(
                conn,
                &ctx,
                Action::RecipientUpdate,
                Target::resource("recipient", &id),
                &patch.fields(),
                None,
            )?;
            Ok(recipient)
        })
        .await?;
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
    let tenant = caller.tenant_with(Scope::ConsentWrite)?;
    let id = recipient_path(path)?;
    let ctx = caller.audit()?;
    state
        .write(move |conn| {
            recipients::delete(conn, &tenant, &id, if_match.0)?;
            kluis_audit::record(conn, &ctx, Action::RecipientDelete, Target::resource("recipient", &id), &[], None)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A data category and the person fields it covers.
#[derive(Serialize, ToSchema)]
pub struct CategoryView {
    /// Dotted catalogue name, e.g. `user.contact.email`.
    pub name: String,
    /// The person fields it covers.
    pub fields: Vec<String>,
}

/// A transfer of personal data outside the EEA.
#[derive(Serialize, ToSchema)]
pub struct TransferView {
    /// The recipient.
    pub recipient_id: String,
    /// Its name.
    pub name: String,
    /// Its country (outside the EEA).
    pub country: String,
    /// The safeguard.
    pub transfer_mechanism: Option<String>,
}

/// One processing activity of the register.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    /// Purpose key.
    pub purpose: String,
    /// Purpose name.
    pub name: String,
    /// What is done and why.
    pub description: String,
    /// The lawful basis.
    pub legal_basis: LegalBasisView,
    /// True when consent is asked and recorded per person.
    pub requires_consent: bool,
    /// Categories of personal data, with the fields they cover.
    pub data_categories: Vec<CategoryView>,
    /// Who receives the data.
    pub recipients: Vec<RecipientView>,
    /// Transfers outside the EEA among them.
    pub transfers: Vec<TransferView>,
    /// Retention, an ISO 8601 duration.
    pub retention: String,
}

/// The record of processing activities (Art. 30 GDPR).
#[derive(Serialize, ToSchema)]
pub struct RegisterView {
    /// The controller: the tenant.
    pub controller: String,
    /// When this record was made.
    #[serde(with = "kluis_core::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub generated_at: Time,
    /// Always false: kluis refuses special categories of personal data.
    pub special_categories: bool,
    /// One activity per purpose.
    pub activities: Vec<ActivityView>,
    /// Every recipient.
    pub recipients: Vec<RecipientView>,
    /// Every transfer outside the EEA.
    pub transfers: Vec<TransferView>,
}

fn transfer(r: &Recipient) -> TransferView {
    TransferView {
        recipient_id: r.id.clone(),
        name: r.name.clone(),
        country: r.country.clone(),
        transfer_mechanism: r.transfer_mechanism.clone(),
    }
}

impl From<&Register> for RegisterView {
    fn from(register: &Register) -> Self {
        let activities = register
            .activities
            .iter()
            .map(|a| {
                let p = &a.purpose;
                ActivityView {
                    purpose: p.key.clone(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    legal_basis: p.legal_basis.into(),
                    requires_consent: p.requires_consent(),
                    data_categories: p
                        .data_categories
                        .iter()
                        .map(|c| CategoryView {
                            name: c.as_str().to_owned(),
                            fields: c.fields().iter().map(|f| (*f).to_owned()).collect(),
                        })
                        .collect(),
                    transfers: a.transfers().map(transfer).collect(),
                    recipients: a.recipients.iter().cloned().map(RecipientView::from).collect(),
                    retention: p.retention.clone(),
                }
            })
            .collect();
        RegisterView {
            controller: register.controller.clone(),
            generated_at: register.generated_at,
            special_categories: false,
            activities,
            transfers: register.transfers().map(transfer).collect(),
            recipients: register.recipients.iter().cloned().map(RecipientView::from).collect(),
        }
    }
}

/// True when the request's `Accept` names `text/markdown`.
fn wants_markdown(req: &HttpRequest) -> bool {
    req.headers().get_all(ACCEPT).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|range| {
        range.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/markdown"))
    })
}

/// The record of processing activities (Art. 30 GDPR): every purpose with
/// its basis, categories, recipients and retention, and the transfers
/// outside the EEA. JSON, or Markdown with `Accept: text/markdown`.
#[utoipa::path(
    tag = "register",
    responses(
        (status = 200, content(
            (RegisterView = "application/json"),
            (String = "text/markdown", example = "# Record of processing activities\n..."),
        )),
        AuthErrors,
    ),
    security(("bearer" = ["consent:read"]))
)]
#[get("/v1/register")]
pub async fn get_register(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.tenant_with(Scope::ConsentRead)?;
    let register = state.db(move |conn| register::build(conn, &tenant)).await?;
    if wants_markdown(&req) {
        return Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, "text/markdown; charset=utf-8"))
            .body(register::markdown(&register)));
    }
    Ok(HttpResponse::Ok().json(RegisterView::from(&register)))
}
