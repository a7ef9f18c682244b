//! Restriction of processing (Art. 18, `requests:admin`): set with a
//! reason, read, lifted. While it stands, every consent check about the
//! person answers `allowed: false` with `restricted: true` (see
//! [`crate::consent`]). Setting and lifting are audited in their
//! transaction, reading as a read of the person's data.

use kluis_audit::{Action, Target};
use kluis_core::PersonId;
use kluis_people::persons;
use kluis_rights::restriction::{self, Restriction};

use crate::{App, AppResult, Scoped};

/// Restrict `person` with `reason` (or change the reason); with
/// `if_version`, only while the restriction is that version. Whether it
/// is new, and the restriction. 404 for a person the tenant does not have.
pub async fn set(
    app: &App,
    caller: &Scoped<'_>,
    person: PersonId,
    reason: String,
    if_version: Option<i64>,
) -> AppResult<(bool, Restriction)> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::RestrictionSet, vec!["reason"], move |conn| {
        persons::version(conn, &tenant, &person)?;
        let set = restriction::set(conn, &tenant, &person, &reason, None, if_version)?;
        Ok((set, Target::person("restriction", &person)))
    })
    .await
}

/// The restriction of `person` (404 when they are not restricted); an audited read.
pub async fn get(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Restriction> {
    let tenant = caller.tenant.clone();
    let target = Target::person("restriction", &person);
    let found = app
        .read(move |conn| {
            persons::version(conn, &tenant, &person)?;
            restriction::get(conn, &tenant, &person)?.ok_or(kluis_core::DomainError::NotFound)
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &["restriction"], None).await;
    Ok(found)
}

/// Lift the restriction of `person`: the consent checks answer as before.
pub async fn lift(app: &App, caller: &Scoped<'_>, person: PersonId, if_version: Option<i64>) -> AppResult<Restriction> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::RestrictionLift, Vec::new(), move |conn| {
        let lifted = restriction::lift(conn, &tenant, &person, if_version)?;
        Ok((lifted, Target::person("restriction", &person)))
    })
    .await
}
