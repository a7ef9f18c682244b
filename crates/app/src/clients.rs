//! A tenant's API clients (`clients:admin`): create, list, read, change,
//! revoke, rotate a secret. A caller grants only scopes it holds itself
//! ([`kluis_core::scope::check_held`]), so `clients:admin` alone is no path
//! to more.

use kluis_audit::{Action, Target};
use kluis_core::page::Page;
use kluis_core::scope::check_held;
use kluis_core::{DomainError, FieldError, TenantId};
use kluis_store::Db;
use kluis_store::tenancy::{ApiClient, ClientChanges, IssuedClient, NewClient, clients};

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewClient {
    fn audit_fields(&self) -> Vec<&'static str> {
        // A new client's purposes are set too, to none when none are given.
        present(&[("name", true), ("scopes", true), ("purposes", true)])
    }
}

impl AuditFields for ClientChanges {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("name", self.name.is_some()),
            ("scopes", self.scopes.is_some()),
            ("purposes", self.purposes.is_some()),
        ])
    }
}

/// A client's purposes must be purposes of its tenant: what binds its reads
/// (see [`crate::processors`]) cannot name nothing. 422 on `purposes[i]`.
fn check_purposes(conn: &mut Db, tenant: &TenantId, purposes: &[String]) -> Result<(), DomainError> {
    let unknown = kluis_consent::purposes::unknown(conn, tenant, purposes)?;
    if unknown.is_empty() {
        return Ok(());
    }
    Err(DomainError::Validation(
        unknown.into_iter().map(|i| FieldError::new(format!("purposes[{i}]"), "no such purpose")).collect(),
    ))
}

/// Create a client, with only scopes the caller holds and purposes of the
/// tenant, and its audit entry; its secret is in the result, once.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewClient) -> AppResult<IssuedClient> {
    check_held(&caller.actor().scopes, &new.scopes)?;
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ClientCreate, fields, move |conn| {
        check_purposes(conn, &tenant, &new.purposes)?;
        let issued = clients::create(conn, &tenant, &new)?;
        let target = Target::client(issued.client.id.as_str());
        Ok((issued, target))
    })
    .await
}

/// The tenant's live clients, `limit` at a time after the id `after`.
pub async fn list(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<ApiClient>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| clients::list(conn, &tenant, limit, after.as_deref())).await
}

/// One live client of the tenant; the read is audited.
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<ApiClient> {
    let tenant = caller.tenant.clone();
    let client = app.read(move |conn| clients::get(conn, &tenant, &id)).await?;
    app.audit_reads.read(&caller.audit(), Action::ClientRead, Target::client(client.id.as_str()), &[], None).await;
    Ok(client)
}

/// Change a client's name, scopes (only ones the caller holds) or purposes
/// (of the tenant),
/// at `if_version` when given; with its audit entry.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    changes: ClientChanges,
) -> AppResult<ApiClient> {
    if let Some(scopes) = &changes.scopes {
        check_held(&caller.actor().scopes, scopes)?;
    }
    let tenant = caller.tenant.clone();
    let fields = changes.audit_fields();
    app.audited(caller.audit(), Action::ClientUpdate, fields, move |conn| {
        if let Some(purposes) = &changes.purposes {
            check_purposes(conn, &tenant, purposes)?;
        }
        let client = clients::update(conn, &tenant, &id, if_version, &changes)?;
        Ok((client, Target::client(&id)))
    })
    .await
}

/// Revoke a client, at `if_version` when given: it can no longer get tokens,
/// and its tokens stop working at once.
pub async fn revoke(app: &App, caller: &Scoped<'_>, id: String, if_version: Option<i64>) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ClientDelete, Vec::new(), move |conn| {
        clients::revoke(conn, &tenant, &id, if_version)?;
        Ok(((), Target::client(&id)))
    })
    .await
}

/// Replace a client's secret, at `if_version` when given: the old one and
/// every token issued with it stop working at once. The new secret is in
/// the result, once.
pub async fn rotate_secret(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
) -> AppResult<IssuedClient> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ClientRotateSecret, vec!["client_secret"], move |conn| {
        let issued = clients::rotate_secret(conn, &tenant, &id, if_version)?;
        Ok((issued, Target::client(&id)))
    })
    .await
}
