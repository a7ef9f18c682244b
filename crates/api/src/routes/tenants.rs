//! Tenants, for the platform operator (`tenants:admin`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_app::tenants::CreatedTenant;
use kluis_core::{Scope, TenantId};
use kluis_store::tenancy::{IssuedClient, NewTenant, Tenant, TenantChanges, TenantStatus, UnverifiedDevice};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{check_id, created, versioned};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::responses::{AuthErrors, BodyErrors, Conflict, NotFound, Precondition};
use crate::extract::{IfMatch, Json, ListQuery};
use crate::state::AppState;

/// Whether a tenant's tokens work.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatusView {
    /// Serving.
    Active,
    /// Every token of the tenant is refused until it is reactivated.
    Suspended,
}

impl From<TenantStatus> for TenantStatusView {
    fn from(status: TenantStatus) -> Self {
        match status {
            TenantStatus::Active => TenantStatusView::Active,
            TenantStatus::Suspended => TenantStatusView::Suspended,
        }
    }
}

impl From<TenantStatusView> for TenantStatus {
    fn from(status: TenantStatusView) -> Self {
        match status {
            TenantStatusView::Active => TenantStatus::Active,
            TenantStatusView::Suspended => TenantStatus::Suspended,
        }
    }
}

/// What sign-in does with an unfamiliar device (with `device_step_up` on)
/// when the person has neither a verified e-mail address to mail a code to
/// nor TOTP to ask for.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnverifiedDeviceView {
    /// Refuse the sign-in (403 `device_unverifiable`) until the address is verified: the default.
    Refuse,
    /// Trust the device as it is, without a second factor (lenient; choose it explicitly).
    Trust,
}

impl From<UnverifiedDevice> for UnverifiedDeviceView {
    fn from(v: UnverifiedDevice) -> Self {
        match v {
            UnverifiedDevice::Refuse => UnverifiedDeviceView::Refuse,
            UnverifiedDevice::Trust => UnverifiedDeviceView::Trust,
        }
    }
}

impl From<UnverifiedDeviceView> for UnverifiedDevice {
    fn from(v: UnverifiedDeviceView) -> Self {
        match v {
            UnverifiedDeviceView::Refuse => UnverifiedDevice::Refuse,
            UnverifiedDeviceView::Trust => UnverifiedDevice::Trust,
        }
    }
}

/// A tenant.
#[derive(Serialize, ToSchema)]
pub struct TenantView {
    /// Tenant id (`tid` in its tokens).
    pub id: String,
    /// URL name, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// `active` or `suspended`.
    pub status: TenantStatusView,
    /// Staff scopes are granted only once a staff account has TOTP (default true).
    pub require_staff_totp: bool,
    /// A sign-in from an unfamiliar device needs a code mailed to the person (default true).
    pub device_step_up: bool,
    /// An unfamiliar device of a person without a verified e-mail address or
    /// TOTP: `refuse` (default) or `trust`.
    pub unverified_device: UnverifiedDeviceView,
    /// Seconds a person's own erasure request (`POST /v1/me/erasure`) waits,
    /// cancellable, before it is carried out (default 0: at once).
    pub self_erasure_grace_seconds: i64,
    /// The longest any of the tenant's data may be kept (ISO 8601, agreed
    /// with the operator), or null: no retention policy may exceed it.
    pub max_retention: Option<String>,
    /// Where the tenant's privacy questions go: data-subject requests, the
    /// reminders of their deadlines, breaches; null: not set.
    pub privacy_contact_email: Option<String>,
    /// Requests are taken only from the tenant itself: a person's own and
    /// public requests are refused (403), naming the privacy contact.
    pub requests_via_tenant_only: bool,
    /// The IANA time zone whose days count a request's deadline (default `Europe/Amsterdam`).
    pub time_zone: String,
    /// Where the e-mail verification mail links to, `{token}` marking the
    /// token's place (the mail keeps the code as a fallback); null: only the code.
    pub verify_email_url: Option<String>,
    /// Where the password reset mail links to, likewise; null: only the code.
    pub reset_password_url: Option<String>,
    /// The WebAuthn relying party ID (a domain such as `example.nl`); null:
    /// passkeys are off for the tenant.
    pub passkey_rp_id: Option<String>,
    /// The origins allowed to register and use passkeys (e.g.
    /// `https://app.example.nl`); each host is the RP ID or a subdomain of it.
    pub passkey_origins: Vec<String>,
    /// kluis serves the tenant's privacy centre at `/privacy/{slug}/` (a
    /// page where people sign in and see, change, download or erase their
    /// data), and its verification and reset mails link there unless the
    /// link bases above are set. Default `false`.
    pub privacy_centre: bool,
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

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        TenantView {
            id: t.id.0,
            slug: t.slug,
            name: t.name,
            status: t.status.into(),
            require_staff_totp: t.require_staff_totp,
            device_step_up: t.device_step_up,
            unverified_device: t.unverified_device.into(),
            self_erasure_grace_seconds: t.self_erasure_grace_seconds,
            max_retention: t.max_retention,
            privacy_contact_email: t.privacy_contact_email,
            requests_via_tenant_only: t.requests_via_tenant_only,
            time_zone: t.time_zone,
            verify_email_url: t.verify_email_url,
            reset_password_url: t.reset_password_url,
            passkey_rp_id: t.passkey_rp_id,
            passkey_origins: t.passkey_origins,
            privacy_centre: t.privacy_centre,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A client id with its secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct ClientSecret {
    /// The OAuth `client_id`.
    pub client_id: String,
    /// The OAuth `client_secret`; kluis keeps only its hash and cannot show it again.
    pub client_secret: String,
}

impl From<IssuedClient> for ClientSecret {
    fn from(issued: IssuedClient) -> Self {
        ClientSecret { client_id: issued.client.id.0, client_secret: issued.secret.to_string() }
    }
}

/// A new tenant and the credentials of its first admin client.
#[derive(Serialize, ToSchema)]
pub struct TenantCreated {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: TenantView,
    /// Its admin client (every tenant scope); the secret is shown only here.
    pub admin_client: ClientSecret,
}

/// Create a tenant.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: String,
    /// URL name: 3 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit.
    #[validate(length(min = 3, max = 63, message = "must be 3 to 63 characters"))]
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", min_length = 3, max_length = 63)]
    pub slug: String,
}

/// Change a tenant; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// URL name (see create).
    #[validate(length(min = 3, max = 63, message = "must be 3 to 63 characters"))]
    #[schema(min_length = 3, max_length = 63, pattern = "^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    pub slug: Option<String>,
    /// `suspended` refuses every token of the tenant at once; `active` restores them.
    pub status: Option<TenantStatusView>,
    /// `false` grants staff scopes without TOTP (not recommended).
    pub require_staff_totp: Option<bool>,
    /// `false` trusts unfamiliar devices without an e-mailed code.
    pub device_step_up: Option<bool>,
    /// `refuse` (default): a person with neither a verified e-mail address nor
    /// TOTP cannot sign in from an unfamiliar device until the address is
    /// verified; `trust`: the device is trusted without a second factor.
    pub unverified_device: Option<UnverifiedDeviceView>,
    /// Seconds a person's own erasure request waits, cancellable, before it
    /// is carried out: 0 (at once) to 2592000 (30 days).
    #[schema(minimum = 0, maximum = 2592000)]
    pub self_erasure_grace_seconds: Option<i64>,
    /// The retention ceiling agreed with the tenant, an ISO 8601 duration
    /// such as `P5Y`; null removes it. Refused (422) while one of the
    /// tenant's policies keeps data longer.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^P(?:(?:[0-9]{1,9}Y(?:[0-9]{1,9}M)?(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}M(?:[0-9]{1,9}W)?(?:[0-9]{1,9}D)?|[0-9]{1,9}W(?:[0-9]{1,9}D)?|[0-9]{1,9}D)(?:T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))?|T(?:[0-9]{1,9}H(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?|[0-9]{1,9}M(?:[0-9]{1,9}S)?|[0-9]{1,9}S))$")]
    pub max_retention: Option<Option<String>>,
    /// The privacy contact's e-mail address; null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub privacy_contact_email: Option<Option<String>>,
    /// `true`: requests only through the tenant (self and public channels refused).
    pub requests_via_tenant_only: Option<bool>,
    /// IANA time zone of request deadlines, e.g. `Europe/Amsterdam`.
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9/_+-]+$")]
    pub time_zone: Option<String>,
    /// Where the e-mail verification mail links to, e.g.
    /// `https://app.example.nl/verify?token={token}`: an absolute https URL
    /// (http only on localhost) with `{token}` exactly once, where the mailed
    /// token goes (percent-encoded), no credentials; the mail keeps the code as
    /// a fallback. Null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2048, message = "must be at most 2048 characters"))]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^(https://|http://localhost[:/]|http://127\\.0\\.0\\.1[:/])[^\\s{}]*\\{token\\}[^\\s{}]*$")]
    pub verify_email_url: Option<Option<String>>,
    /// Where the password reset mail links to, e.g.
    /// `https://app.example.nl/reset?token={token}`; the same rules. Null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2048, message = "must be at most 2048 characters"))]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^(https://|http://localhost[:/]|http://127\\.0\\.0\\.1[:/])[^\\s{}]*\\{token\\}[^\\s{}]*$")]
    pub reset_password_url: Option<Option<String>>,
    /// `true`: serve the tenant's privacy centre at `/privacy/{slug}/`.
    pub privacy_centre: Option<bool>,
}

/// `Some(None)` for an explicit null, `None` for an absent field.
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A page of tenants.
#[derive(Serialize, ToSchema)]
pub struct TenantPage {
    /// Tenants in creation order.
    pub items: Vec<TenantView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl From<CreatedTenant> for TenantCreated {
    fn from(created: CreatedTenant) -> Self {
        TenantCreated { tenant: created.tenant.into(), admin_client: created.admin.into() }
    }
}

impl From<CreateTenant> for NewTenant {
    fn from(b: CreateTenant) -> Self {
        NewTenant { name: b.name, slug: b.slug }
    }
}

impl From<UpdateTenant> for TenantChanges {
    fn from(b: UpdateTenant) -> Self {
        TenantChanges {
            name: b.name,
            slug: b.slug,
            status: b.status.map(Into::into),
            require_staff_totp: b.require_staff_totp,
            device_step_up: b.device_step_up,
            unverified_device: b.unverified_device.map(Into::into),
            self_erasure_grace_seconds: b.self_erasure_grace_seconds,
            max_retention: b.max_retention,
            privacy_contact_email: b.privacy_contact_email,
            requests_via_tenant_only: b.requests_via_tenant_only,
            time_zone: b.time_zone,
            verify_email_url: b.verify_email_url,
            reset_password_url: b.reset_password_url,
            passkey_rp_id: None,
            passkey_origins: None,
            privacy_centre: b.privacy_centre,
        }
    }
}

/// Change one's own tenant's settings; absent fields stay as they are. The
/// slug, status and retention ceiling are the operator's to change.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateOwnTenant {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
    /// The privacy contact's e-mail address (requests, reminders, breaches); null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    #[schema(value_type = Option<String>, format = Email, max_length = 254)]
    pub privacy_contact_email: Option<Option<String>>,
    /// `true`: requests only through the tenant; a person's own and public
    /// requests are refused (403), naming the privacy contact.
    pub requests_via_tenant_only: Option<bool>,
    /// IANA time zone of request deadlines, e.g. `Europe/Amsterdam`.
    #[validate(length(min = 1, max = 64, message = "must be 1 to 64 characters"))]
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9/_+-]+$")]
    pub time_zone: Option<String>,
    /// `false` grants staff scopes without TOTP (not recommended).
    pub require_staff_totp: Option<bool>,
    /// `false` trusts unfamiliar devices without an e-mailed code.
    pub device_step_up: Option<bool>,
    /// `refuse` (default) or `trust` an unfamiliar device that cannot step up.
    pub unverified_device: Option<UnverifiedDeviceView>,
    /// Seconds a person's own erasure request waits, cancellable: 0 to 2592000 (30 days).
    #[schema(minimum = 0, maximum = 2592000)]
    pub self_erasure_grace_seconds: Option<i64>,
    /// Where the e-mail verification mail links to, e.g.
    /// `https://app.example.nl/verify?token={token}`: an absolute https URL
    /// (http only on localhost) with `{token}` exactly once, where the mailed
    /// token goes (percent-encoded), no credentials; the mail keeps the code as
    /// a fallback. Null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2048, message = "must be at most 2048 characters"))]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^(https://|http://localhost[:/]|http://127\\.0\\.0\\.1[:/])[^\\s{}]*\\{token\\}[^\\s{}]*$")]
    pub verify_email_url: Option<Option<String>>,
    /// Where the password reset mail links to, e.g.
    /// `https://app.example.nl/reset?token={token}`; the same rules. Null removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(max = 2048, message = "must be at most 2048 characters"))]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^(https://|http://localhost[:/]|http://127\\.0\\.0\\.1[:/])[^\\s{}]*\\{token\\}[^\\s{}]*$")]
    pub reset_password_url: Option<Option<String>>,
    /// The WebAuthn relying party ID: a lowercase domain with at least two
    /// labels (`example.nl`), or `localhost`; it must be the host, or a
    /// parent domain of the host, of every origin in `passkey_origins`.
    /// Null turns passkeys off (registered passkeys stay, unusable).
    #[serde(default, deserialize_with = "nullable")]
    #[validate(length(min = 1, max = 253, message = "must be 1 to 253 characters"))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 253, pattern = "^[a-z0-9-]+(\\.[a-z0-9-]+)*$")]
    pub passkey_rp_id: Option<Option<String>>,
    /// The origins allowed to use passkeys, 1 to 10 bare origins such as
    /// `https://app.example.nl` (https; http only on localhost; no path),
    /// each on `passkey_rp_id`'s domain. `[]` removes them (set together
    /// with a null `passkey_rp_id`).
    #[schema(max_items = 10)]
    pub passkey_origins: Option<Vec<String>>,
    /// `true`: serve the tenant's privacy centre at `/privacy/{slug}/`
    /// (people sign in there with their account); `false` takes it down.
    pub privacy_centre: Option<bool>,
}

impl From<UpdateOwnTenant> for TenantChanges {
    fn from(b: UpdateOwnTenant) -> Self {
        TenantChanges {
            name: b.name,
            privacy_contact_email: b.privacy_contact_email,
            requests_via_tenant_only: b.requests_via_tenant_only,
            time_zone: b.time_zone,
            require_staff_totp: b.require_staff_totp,
            device_step_up: b.device_step_up,
            unverified_device: b.unverified_device.map(Into::into),
            self_erasure_grace_seconds: b.self_erasure_grace_seconds,
            verify_email_url: b.verify_email_url,
            reset_password_url: b.reset_password_url,
            passkey_rp_id: b.passkey_rp_id,
            passkey_origins: b.passkey_origins,
            privacy_centre: b.privacy_centre,
            ..TenantChanges::default()
        }
    }
}

/// Create a tenant with its first admin client.
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenant,
    responses((status = 201, body = TenantCreated, description = "Created; `admin_client.client_secret` is shown only now"), BodyErrors, Conflict),
    security(("bearer" = ["tenants:admin"]))
)]
#[post("/v1/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TenantsAdmin)?;
    body.0.validate()?;
    let made = kluis_app::tenants::create(&state.app, &caller, body.0.into()).await?;
    let location = format!("/v1/tenants/{}", made.tenant.id);
    let version = made.tenant.version;
    Ok(created(location, version, &TenantCreated::from(made)))
}

/// List tenants.
#[utoipa::path(
    tag = "tenants",
    params(ListQuery),
    responses((status = 200, body = TenantPage, description = "One page of tenants"), AuthErrors),
    security(("bearer" = ["tenants:admin"]))
)]
#[get("/v1/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TenantsAdmin)?;
    let (limit, after) = query.page()?;
    let page = kluis_app::tenants::list(&state.app, limit, after).await?.map(TenantView::from);
    Ok(HttpResponse::Ok().json(TenantPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a tenant.
#[utoipa::path(
    tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView, headers(("ETag" = String)), description = "The tenant, its version in `ETag`"), AuthErrors, NotFound),
    security(("bearer" = ["tenants:admin"]))
)]
#[get("/v1/tenants/{tenant_id}")]
pub async fn get_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TenantsAdmin)?;
    let id = TenantId(path.into_inner());
    check_id(id.as_str())?;
    let tenant = kluis_app::tenants::get(&state.app, id).await?;
    Ok(versioned(StatusCode::OK, tenant.version, &TenantView::from(tenant)))
}

/// Change a tenant: rename, change its slug, suspend or reactivate it, or
/// change its sign-in settings.
#[utoipa::path(
    tag = "tenants",
    params(
        ("tenant_id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateTenant,
    responses((status = 200, body = TenantView, headers(("ETag" = String)), description = "The tenant, its version in `ETag`"), BodyErrors, NotFound, Conflict, Precondition),
    security(("bearer" = ["tenants:admin"]))
)]
#[patch("/v1/tenants/{tenant_id}")]
pub async fn update_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
    body: Json<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TenantsAdmin)?;
    body.0.validate()?;
    let id = TenantId(path.into_inner());
    check_id(id.as_str())?;
    let tenant = kluis_app::tenants::update(&state.app, &caller, id, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, tenant.version, &TenantView::from(tenant)))
}

/// Delete a tenant and everything it holds; its tokens stop working at once.
#[utoipa::path(
    tag = "tenants",
    params(
        ("tenant_id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this deletion is based on"),
    ),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, Precondition),
    security(("bearer" = ["tenants:admin"]))
)]
#[delete("/v1/tenants/{tenant_id}")]
pub async fn delete_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::TenantsAdmin)?;
    let id = TenantId(path.into_inner());
    check_id(id.as_str())?;
    kluis_app::tenants::delete(&state.app, id, if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// One's own tenant: its name, privacy contact, request settings, time
/// zone, sign-in settings and self-erasure grace period (and, to read, what
/// the operator set: slug, status, retention ceiling).
#[utoipa::path(
    tag = "tenants",
    responses((status = 200, body = TenantView, headers(("ETag" = String)), description = "Your tenant, its version in `ETag`"), AuthErrors),
    security(("bearer" = ["clients:admin"]))
)]
#[get("/v1/tenant")]
pub async fn get_own_tenant(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    let tenant = kluis_app::tenants::get_own(&state.app, &scoped).await?;
    Ok(versioned(StatusCode::OK, tenant.version, &TenantView::from(tenant)))
}

/// Change one's own tenant's settings. The slug, status and retention
/// ceiling stay the operator's (`PATCH /v1/tenants/{tenant_id}`).
#[utoipa::path(
    tag = "tenants",
    params(("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on")),
    request_body = UpdateOwnTenant,
    responses((status = 200, body = TenantView, headers(("ETag" = String)), description = "Your tenant, its version in `ETag`"), BodyErrors, Precondition),
    security(("bearer" = ["clients:admin"]))
)]
#[patch("/v1/tenant")]
pub async fn update_own_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    body: Json<UpdateOwnTenant>,
) -> Result<HttpResponse, ApiError> {
    let scoped = caller.scoped(Scope::ClientsAdmin)?;
    body.0.validate()?;
    let tenant = kluis_app::tenants::update_own(&state.app, &scoped, if_match.0, body.0.into()).await?;
    Ok(versioned(StatusCode::OK, tenant.version, &TenantView::from(tenant)))
}
