//! Processing purposes (`consent:read` / `consent:write`): what is done with
//! which data, on which legal basis, shared with whom, kept how long. A new
//! purpose people may object to is announced to them in the transaction
//! that creates it.

use kluis_audit::{Action, Target};
use kluis_consent::{LegalBasis, NewPurpose, Purpose, PurposePatch, purposes};
use kluis_core::TenantId;
use kluis_core::page::Page;
use kluis_people::accounts::mail::{self, PurposeNotice};
use kluis_store::error::TxError;
use kluis_store::{Db, MasterKey};

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewPurpose {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("key", true),
            ("name", true),
            ("description", true),
            ("legal_basis", true),
            ("data_categories", true),
            ("recipients", true),
            ("retention", true),
            ("gpc", true),
        ])
    }
}

impl AuditFields for PurposePatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("name", self.name.is_some()),
            ("description", self.description.is_some()),
            ("legal_basis", self.legal_basis.is_some()),
            ("data_categories", self.data_categories.is_some()),
            ("recipients", self.recipients.is_some()),
            ("retention", self.retention.is_some()),
            ("gpc", self.gpc.is_some()),
        ])
    }
}

/// Create a purpose, announce it (see [`announce`]) and record it, in one
/// transaction.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewPurpose) -> AppResult<Purpose> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    let issuer = app.settings.issuer.clone();
    let master = app.master.clone();
    app.audited(caller.audit(), Action::PurposeCreate, fields, move |conn| {
        let purpose = purposes::create(conn, &tenant, &new)?;
        announce(conn, &issuer, &master, &tenant, &purpose)?;
        let target = Target::resource("purpose", &purpose.key);
        Ok((purpose, target))
    })
    .await
}

/// A new purpose people may object to (legitimate interests, public task)
/// is announced to everyone with a primary e-mail address, with their own
/// one-click objection link, inside the transaction that creates it.
fn announce(
    conn: &mut Db,
    issuer: &str,
    master: &MasterKey,
    tenant: &TenantId,
    purpose: &Purpose,
) -> Result<(), TxError> {
    if !matches!(purpose.legal_basis, LegalBasis::LegitimateInterests | LegalBasis::PublicTask) {
        return Ok(());
    }
    let expires_at = kluis_core::time::now() + kluis_consent::unsubscribe::LINK_TTL;
    for (person, address, language) in kluis_people::contacts::primary_addresses(conn, tenant)? {
        let token = kluis_consent::unsubscribe::issue(conn, tenant, &person, &purpose.key, expires_at)?;
        let link = format!("{}/v1/unsubscribe/{token}", issuer.trim_end_matches('/'));
        let notice = PurposeNotice { to: &address, language: language.as_deref(), purpose: &purpose.name, link: &link };
        mail::queue_purpose_notice(conn, master, tenant, &person, notice)?;
    }
    Ok(())
}

/// The tenant's purposes by key, `limit` at a time after the key `after`.
pub async fn list(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Purpose>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| purposes::list(conn, &tenant, limit, after.as_deref())).await
}

/// One purpose of the tenant, by key.
pub async fn get(app: &App, caller: &Scoped<'_>, key: String) -> AppResult<Purpose> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| purposes::get(conn, &tenant, &key)).await
}

/// Change a purpose, at `if_version` when given, with its audit entry.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    key: String,
    if_version: Option<i64>,
    patch: PurposePatch,
) -> AppResult<Purpose> {
    let tenant = caller.tenant.clone();
    let fields = patch.audit_fields();
    app.audited(caller.audit(), Action::PurposeUpdate, fields, move |conn| {
        let purpose = purposes::update(conn, &tenant, &key, if_version, &patch)?;
        Ok((purpose, Target::resource("purpose", &key)))
    })
    .await
}

/// Delete a purpose, at `if_version` when given, with its audit entry. One
/// that consents were recorded for stays (a conflict): the ledger keeps
/// them as proof.
pub async fn delete(app: &App, caller: &Scoped<'_>, key: String, if_version: Option<i64>) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::PurposeDelete, Vec::new(), move |conn| {
        purposes::delete(conn, &tenant, &key, if_version)?;
        Ok(((), Target::resource("purpose", &key)))
    })
    .await
}
