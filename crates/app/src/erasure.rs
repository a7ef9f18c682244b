//! Erasure (Art. 17): a person's data removed from every holder in one
//! transaction. Their audit entries stay, but can no longer be linked to them.

use kluis_audit::{Action, Target};
use kluis_core::{DomainError, PersonId};
use kluis_people::persons;
use kluis_store::personal::{ErasureReport, ErasureStage};
use time::PrimitiveDateTime;

use crate::{App, AppResult, Scoped};

/// What an erasure removed, and when.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The erased person.
    pub person: PersonId,
    /// When the erasure committed.
    pub erased_at: PrimitiveDateTime,
    /// Rows removed per table.
    pub report: ErasureReport,
}

/// Erase `person`: every holder's data about them, then the erasure's own
/// audit entry, then what links audit entries to them ([`ErasureStage`]),
/// all in one transaction. With `if_version`, only while their profile is
/// still that version.
pub async fn erase_person(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    if_version: Option<i64>,
) -> AppResult<Receipt> {
    let tenant = caller.tenant.clone();
    let audit = caller.audit();
    let holders = app.holders.clone();
    let id = person.clone();
    let report = app
        .in_transaction(move |conn| {
            let version = persons::version(conn, &tenant, &id)?;
            if if_version.is_some_and(|v| v != version) {
                return Err(DomainError::VersionMismatch.into());
            }
            // Lock order as in every other write: the data first, the audit
            // chain last (the other order can deadlock on PostgreSQL).
            let (unlink, data): (Vec<_>, Vec<_>) =
                holders.iter().partition(|h| h.erasure_stage() == ErasureStage::Unlink);
            let mut report = ErasureReport::default();
            for holder in data {
                report.merge(holder.erase(conn, &tenant, &id)?);
            }
            kluis_audit::record(conn, &audit, Action::PersonDelete, Target::person("person", &id), &[], None)?;
            for holder in unlink {
                report.merge(holder.erase(conn, &tenant, &id)?);
            }
            Ok(report)
        })
        .await?;
    Ok(Receipt { person, erased_at: kluis_core::time::now(), report })
}
