//! Recipients (`consent:read` / `consent:write`): who personal data is
//! disclosed to, with transfers outside the EEA flagged and their safeguard
//! required.

use kluis_audit::{Action, Target};
use kluis_consent::{NewRecipient, Recipient, RecipientPatch, recipients};
use kluis_core::page::Page;

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewRecipient {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("name", true),
            ("role", true),
            ("country", true),
            ("transfer_mechanism", self.transfer_mechanism.is_some()),
        ])
    }
}

impl AuditFields for RecipientPatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("name", self.name.is_some()),
            ("role", self.role.is_some()),
            ("country", self.country.is_some()),
            ("transfer_mechanism", self.transfer_mechanism.is_some()),
        ])
    }
}

/// Register a recipient, with its audit entry.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewRecipient) -> AppResult<Recipient> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::RecipientCreate, fields, move |conn| {
        let recipient = recipients::create(conn, &tenant, &new)?;
        let target = Target::resource("recipient", &recipient.id);
        Ok((recipient, target))
    })
    .await
}

/// The tenant's recipients in registration order, `limit` at a time after the id `after`.
pub async fn list(app: &App, caller: &Scoped<'_>, limit: i64, after: Option<String>) -> AppResult<Page<Recipient>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| recipients::list(conn, &tenant, limit, after.as_deref())).await
}

/// One recipient of the tenant.
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<Recipient> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| recipients::get(conn, &tenant, &id)).await
}

/// Change a recipient, at `if_version` when given, with its audit entry.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    patch: RecipientPatch,
) -> AppResult<Recipient> {
    let tenant = caller.tenant.clone();
    let fields = patch.audit_fields();
    app.audited(caller.audit(), Action::RecipientUpdate, fields, move |conn| {
        let recipient = recipients::update(conn, &tenant, &id, if_version, &patch)?;
        Ok((recipient, Target::resource("recipient", &id)))
    })
    .await
}

/// Remove a recipient, at `if_version` when given, with its audit entry.
/// One a purpose still names stays (a conflict).
pub async fn delete(app: &App, caller: &Scoped<'_>, id: String, if_version: Option<i64>) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::RecipientDelete, Vec::new(), move |conn| {
        recipients::delete(conn, &tenant, &id, if_version)?;
        Ok(((), Target::resource("recipient", &id)))
    })
    .await
}
