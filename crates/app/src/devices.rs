//! The devices people sign in from: an administrator's view
//! (`devices:read` / `devices:write`) and a person's own (`/v1/me`).
//! Removing a device ends the sessions started on it.

use kluis_audit::{Action, Target};
use kluis_core::{PersonId, TenantId};
use kluis_devices::{Device, devices};
use kluis_people::accounts::sessions;

use crate::{App, AppResult, Context, Scoped};

/// A person's devices, most recently signed in first; the read is audited.
pub async fn list(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Vec<Device>> {
    let target = Target::person("device", &person);
    let items = list_of(app, caller.tenant.clone(), person).await?;
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &["devices"], None).await;
    Ok(items)
}

/// The signed-in person's own devices.
pub async fn list_mine(app: &App, ctx: &Context) -> AppResult<Vec<Device>> {
    let (tenant, person) = ctx.person()?;
    list_of(app, tenant, person).await
}

/// Remove a person's device; its sessions end.
pub async fn remove(app: &App, caller: &Scoped<'_>, person: PersonId, device: String) -> AppResult<()> {
    remove_of(app, caller.audit(), caller.tenant.clone(), person, device).await
}

/// Remove one of the signed-in person's own devices; its sessions end.
pub async fn remove_mine(app: &App, ctx: &Context, device: String) -> AppResult<()> {
    let (tenant, person) = ctx.person()?;
    remove_of(app, ctx.audit()?, tenant, person, device).await
}

/// The devices of a person who exists (404 otherwise, even with none).
async fn list_of(app: &App, tenant: TenantId, person: PersonId) -> AppResult<Vec<Device>> {
    app.read(move |conn| {
        kluis_people::persons::version(conn, &tenant, &person)?;
        devices::list(conn, &tenant, &person)
    })
    .await
}

async fn remove_of(
    app: &App,
    audit: kluis_audit::Context,
    tenant: TenantId,
    person: PersonId,
    device: String,
) -> AppResult<()> {
    app.audited(audit, Action::DeviceRemoved, Vec::new(), move |conn| {
        devices::remove(conn, &tenant, &person, &device)?;
        sessions::revoke_device(conn, &tenant, &person, &device)?;
        Ok(((), Target::person("device", &person)))
    })
    .await
}
