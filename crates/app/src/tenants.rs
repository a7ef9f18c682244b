//! Tenants, for the platform operator (the HTTP layer asks for
//! `tenants:admin` first): create one with its first admin client and its
//! per-tenant setup, list, read, change, suspend, delete.

use kluis_audit::{Action, Target};
use kluis_core::page::Page;
use kluis_core::{DomainError, TenantId};
use kluis_store::tenancy::{IssuedClient, NewTenant, Tenant, TenantChanges, TenantStatus, tenants};

use crate::fields::{AuditFields, present};
use crate::limiter::Flow;
use crate::{App, AppResult, Context, Origin, Scoped, setup};

impl AuditFields for NewTenant {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[("name", true), ("slug", true)])
    }
}

impl AuditFields for TenantChanges {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("name", self.name.is_some()),
            ("slug", self.slug.is_some()),
            ("status", self.status.is_some()),
            ("require_staff_totp", self.require_staff_totp.is_some()),
            ("device_step_up", self.device_step_up.is_some()),
            ("unverified_device", self.unverified_device.is_some()),
            ("self_erasure_grace_seconds", self.self_erasure_grace_seconds.is_some()),
            ("max_retention", self.max_retention.is_some()),
            ("privacy_contact_email", self.privacy_contact_email.is_some()),
            ("requests_via_tenant_only", self.requests_via_tenant_only.is_some()),
            ("time_zone", self.time_zone.is_some()),
            ("verify_email_url", self.verify_email_url.is_some()),
            ("reset_password_url", self.reset_password_url.is_some()),
            ("passkey_rp_id", self.passkey_rp_id.is_some()),
            ("passkey_origins", self.passkey_origins.is_some()),
            ("privacy_centre", self.privacy_centre.is_some()),
        ])
    }
}

/// What the store sets on a tenant's first admin client: a name and every
/// tenant scope.
const ADMIN_CLIENT_FIELDS: [&str; 2] = ["name", "scopes"];

/// A new tenant and its first admin client, whose secret is shown once.
#[derive(Debug)]
pub struct CreatedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its admin client (every tenant scope), with its secret.
    pub admin: IssuedClient,
}

/// Create a tenant in one transaction: the tenant and its admin client, the
/// tenant's audit chain, the entries of both creations (so the tenant's log
/// opens with `tenant.create`), then the rest of the per-tenant setup.
pub async fn create(app: &App, ctx: &Context, new: NewTenant) -> AppResult<CreatedTenant> {
    let ctx = ctx.clone();
    let fields = new.audit_fields();
    app.in_transaction(move |conn| {
        let (tenant, admin) = tenants::create(conn, &new)?;
        kluis_audit::ensure_chain(conn, &tenant.id)?;
        let audit = ctx.audit_in(tenant.id.clone());
        kluis_audit::record(conn, &audit, Action::TenantCreate, Target::tenant(&tenant.id), &fields, None)?;
        let admin_target = Target::client(admin.client.id.as_str());
        kluis_audit::record(conn, &audit, Action::ClientCreate, admin_target, &ADMIN_CLIENT_FIELDS, None)?;
        setup::init_tenant(conn, &tenant.id)?;
        Ok(CreatedTenant { tenant, admin })
    })
    .await
}

/// Tenants in creation order, `limit` at a time after the id `after`.
pub async fn list(app: &App, limit: i64, after: Option<String>) -> AppResult<Page<Tenant>> {
    app.read(move |conn| tenants::list(conn, limit, after.as_deref())).await
}

/// One tenant.
pub async fn get(app: &App, id: TenantId) -> AppResult<Tenant> {
    app.read(move |conn| tenants::get(conn, &id)).await
}

/// Change a tenant (rename, new slug, suspend or reactivate, its sign-in
/// settings, its retention ceiling: refused while a policy keeps data
/// longer) at `if_version` when given, with its entry in the tenant's log.
pub async fn update(
    app: &App,
    ctx: &Context,
    id: TenantId,
    if_version: Option<i64>,
    changes: TenantChanges,
) -> AppResult<Tenant> {
    let audit = ctx.audit_in(id.clone());
    let fields = changes.audit_fields();
    check_zone(&changes)?;
    app.audited(audit, Action::TenantUpdate, fields, move |conn| {
        if let Some(Some(ceiling)) = &changes.max_retention {
            crate::retention::check_ceiling(conn, &id, ceiling)?;
        }
        let tenant = tenants::update(conn, &id, if_version, &changes)?;
        Ok((tenant, Target::tenant(&id)))
    })
    .await
}

/// Delete a tenant, at `if_version` when given, and everything it holds
/// (its audit log too: nothing is left to record the deletion in). Its
/// tokens stop working at once.
pub async fn delete(app: &App, id: TenantId, if_version: Option<i64>) -> AppResult<()> {
    app.with_conn(move |conn| tenants::delete(conn, &id, if_version)).await
}

/// A time zone must be one kluis knows (422 on `time_zone`).
fn check_zone(changes: &TenantChanges) -> AppResult<()> {
    if let Some(zone) = &changes.time_zone {
        kluis_rights::deadline::zone(zone)?;
    }
    Ok(())
}

/// The caller's own tenant (`GET /v1/tenant`, `clients:admin`).
pub async fn get_own(app: &App, caller: &Scoped<'_>) -> AppResult<Tenant> {
    let id = caller.tenant.clone();
    app.read(move |conn| tenants::get(conn, &id)).await
}

/// Change the caller's own tenant's settings (`PATCH /v1/tenant`): its
/// name, privacy contact, request channels, time zone, sign-in settings
/// and self-erasure grace period. What the operator agrees with the tenant
/// (its slug, status and retention ceiling) stays the operator's: those
/// fields are dropped here whatever the caller sent.
pub async fn update_own(
    app: &App,
    caller: &Scoped<'_>,
    if_version: Option<i64>,
    changes: TenantChanges,
) -> AppResult<Tenant> {
    let changes = TenantChanges { slug: None, status: None, max_retention: None, ..changes };
    let id = caller.tenant.clone();
    let fields = changes.audit_fields();
    check_zone(&changes)?;
    app.audited(caller.audit(), Action::TenantUpdate, fields, move |conn| {
        let tenant = tenants::update(conn, &id, if_version, &changes)?;
        Ok((tenant, Target::tenant(&id)))
    })
    .await
}

/// The tenant whose privacy centre `slug` names (`GET /privacy/{slug}/`),
/// for anyone: an absent or suspended tenant, and one that has not turned
/// its centre on, are all the same 404. Rate-limited per client IP like the
/// other public reads.
pub async fn privacy_centre(app: &App, origin: &Origin, slug: String) -> AppResult<Tenant> {
    app.rates.hit_ip(Flow::PublicReadPerIp, origin.ip)?;
    app.read(move |conn| {
        let tenant = tenants::get_by_slug(conn, &slug)?;
        if tenant.status == TenantStatus::Active && tenant.privacy_centre {
            Ok(tenant)
        } else {
            Err(DomainError::NotFound)
        }
    })
    .await
}
