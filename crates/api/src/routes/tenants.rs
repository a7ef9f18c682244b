//! Tenants, for the platform operator (`tenants:admin`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use kluis_audit::{Action, Target};
use kluis_core::{Scope, TenantId};
use kluis_store::tenancy::{self, NewTenant, Tenant, TenantChanges, TenantStatus, tenants};
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
    pub name: String,
    /// URL name: 3 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit.
    #[validate(length(min = 3, max = 63, message = "must be 3 to 63 characters"))]
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    pub slug: String,
}

/// Change a tenant; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// Display name, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    /// URL name (see create).
    #[validate(length(min = 3, max = 63, message = "must be 3 to 63 characters"))]
    pub slug: Option<String>,
    /// `suspended` refuses every token of the tenant at once; `active` restores them.
    pub status: Option<TenantStatusView>,
    /// `false` grants staff scopes without TOTP (not recommended).
    pub require_staff_totp: Option<bool>,
    /// `false` trusts unfamiliar devices without an e-mailed code.
    pub device_step_up: Option<bool>,
}

/// A page of tenants.
#[derive(Serialize, ToSchema)]
pub struct TenantPage {
    /// Tenants in creation order.
    pub items: Vec<TenantView>,
    /// Cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
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
    let new = NewTenant { name: body.0.name, slug: body.0.slug };
    let (tenant, admin) = state
        .write(move |conn| {
            let (tenant, admin) = tenants::create(conn, &new)?;
            // The chain first, so the tenant's log opens with its creation;
            // then the rest of the per-tenant setup.
            kluis_audit::ensure_chain(conn, &tenant.id)?;
            let ctx = caller.audit_in(tenant.id.clone());
            kluis_audit::record(conn, &ctx, Action::TenantCreate, Target::tenant(&tenant.id), &["name", "slug"], None)?;
            let admin_id = admin.client.id.as_str();
            kluis_audit::record(conn, &ctx, Action::ClientCreate, Target::client(admin_id), &["name", "scopes"], None)?;
            kluis_app::setup::init_tenant(conn, &tenant.id)?;
            Ok((tenant, admin))
        })
        .await?;
    let location = format!("/v1/tenants/{}", tenant.id);
    let version = tenant.version;
    let body = TenantCreated { tenant: tenant.into(), admin_client: admin.into() };
    Ok(created(location, version, &body))
}

/// List tenants.
#[utoipa::path(
    tag = "tenants",
    params(ListQuery),
    responses((status = 200, body = TenantPage), AuthErrors),
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
    let page = state.db(move |conn| tenants::list(conn, limit, after.as_deref())).await?;
    let page = page.map(TenantView::from);
    Ok(HttpResponse::Ok().json(TenantPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Read a tenant.
#[utoipa::path(
    tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView, headers(("ETag" = String))), AuthErrors, NotFound),
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
    let tenant = state.db(move |conn| tenants::get(conn, &id)).await?;
    Ok(versioned(StatusCode::OK, tenant.version, &TenantView::from(tenant)))
}

/// Change a tenant: rename, change its slug, suspend or reactivate it.
#[utoipa::path(
    tag = "tenants",
    params(
        ("tenant_id" = String, Path, description = "Tenant id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version this change is based on"),
    ),
    request_body = UpdateTenant,
    responses((status = 200, body = TenantView, headers(("ETag" = String))), BodyErrors, NotFound, Conflict, Precondition),
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
    let b = body.0;
    let changes = TenantChanges {
        name: b.name,
        slug: b.slug,
        status: b.status.map(Into::into),
        require_staff_totp: b.require_staff_totp,
        device_step_up: b.device_step_up,
    };
    let fields = super::present(&[
        ("name", changes.name.is_some()),
        ("slug", changes.slug.is_some()),
        ("status", changes.status.is_some()),
        ("require_staff_totp", changes.require_staff_totp.is_some()),
        ("device_step_up", changes.device_step_up.is_some()),
    ]);
    let tenant = state
        .write(move |conn| {
            let tenant = tenants::update(conn, &id, if_match.0, &changes)?;
            let ctx = caller.audit_in(id.clone());
            kluis_audit::record(conn, &ctx, Action::TenantUpdate, Target::tenant(&id), &fields, None)?;
            Ok(tenant)
        })
        .await?;
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
    state.db(move |conn| tenants::delete(conn, &id, if_match.0)).await?;
    Ok(HttpResponse::NoContent().finish())
}

impl From<tenancy::IssuedClient> for ClientSecret {
    fn from(issued: tenancy::IssuedClient) -> Self {
        ClientSecret { client_id: issued.client.id.0, client_secret: issued.secret.to_string() }
    }
}
