//! Policy documents (terms, privacy, cookies), versioned 1, 2, ... per kind
//! and never changed once published, so the text a person accepted stays
//! readable; and acceptances: which person accepted which version, when,
//! from where. After a material change a person's re-acceptance is due.

use std::collections::BTreeMap;

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::schema::{consent_acceptances as a, consent_policy_versions as v};
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::model::{Acceptance, NewAcceptance, NewPolicyVersion, PolicyKind, PolicyStanding, PolicyVersion, Source};
use crate::rules::{Check, MAX_BODY, MAX_NAME, clean_user_agent};
use crate::setup;

#[derive(Queryable, Selectable)]
#[diesel(table_name = v)]
struct VersionRow {
    kind: String,
    version: i64,
    title: String,
    body: String,
    material: bool,
    published_at: PrimitiveDateTime,
}

impl TryFrom<VersionRow> for PolicyVersion {
    type Error = DomainError;

    fn try_from(row: VersionRow) -> Result<PolicyVersion> {
        Ok(PolicyVersion {
            kind: PolicyKind::parse(&row.kind)
                .ok_or_else(|| DomainError::Internal(format!("stored policy kind {} is unknown", row.kind)))?,
            version: row.version,
            title: row.title,
            body: row.body,
            material: row.material,
            published_at: row.published_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = a)]
struct AcceptanceRow {
    id: String,
    person_id: String,
    kind: String,
    version: i64,
    source: String,
    ip_prefix: Option<String>,
    user_agent: Option<String>,
    accepted_at: PrimitiveDateTime,
}

impl TryFrom<AcceptanceRow> for Acceptance {
    type Error = DomainError;

    fn try_from(row: AcceptanceRow) -> Result<Acceptance> {
        let bad = |what: &str, value: &str| DomainError::Internal(format!("stored {what} {value} is unknown"));
        Ok(Acceptance {
            kind: PolicyKind::parse(&row.kind).ok_or_else(|| bad("policy kind", &row.kind))?,
            source: Source::parse(&row.source).ok_or_else(|| bad("source", &row.source))?,
            id: row.id,
            person_id: PersonId(row.person_id),
            version: row.version,
            ip_prefix: row.ip_prefix,
            user_agent: row.user_agent,
            accepted_at: row.accepted_at,
        })
    }
}

/// Publish the next version of a kind of document.
pub fn publish(conn: &mut Db, tenant: &TenantId, kind: PolicyKind, new: &NewPolicyVersion) -> Result<PolicyVersion> {
    let mut check = Check::default();
    check.text("title", &new.title, MAX_NAME, false);
    check.text("body", &new.body, MAX_BODY, true);
    check.into_result()?;
    write_tx(conn, |conn| -> Result<PolicyVersion, TxError> {
        // Under the tenant's head lock, two publications cannot take the same number.
        setup::lock(conn, tenant, 0)?;
        let last: Option<i64> = v::table
            .filter(v::tenant_id.eq(tenant.as_str()))
            .filter(v::kind.eq(kind.as_str()))
            .select(diesel::dsl::max(v::version))
            .first(conn)?;
        let published = PolicyVersion {
            kind,
            version: last.unwrap_or(0) + 1,
            title: new.title.trim().to_owned(),
            body: new.body.clone(),
            material: new.material,
            published_at: kluis_core::time::now(),
        };
        diesel::insert_into(v::table)
            .values((
                v::tenant_id.eq(tenant.as_str()),
                v::kind.eq(kind.as_str()),
                v::version.eq(published.version),
                v::title.eq(&published.title),
                v::body.eq(&published.body),
                v::material.eq(published.material),
                v::published_at.eq(published.published_at),
            ))
            .execute(conn)?;
        Ok(published)
    })
    .map_err(DomainError::from)
}

/// The current (newest) version of a kind; `NotFound` before the first.
pub fn current(conn: &mut Db, tenant: &TenantId, kind: PolicyKind) -> Result<PolicyVersion> {
    v::table
        .filter(v::tenant_id.eq(tenant.as_str()))
        .filter(v::kind.eq(kind.as_str()))
        .order(v::version.desc())
        .select(VersionRow::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// One version, current or archived.
pub fn get(conn: &mut Db, tenant: &TenantId, kind: PolicyKind, version: i64) -> Result<PolicyVersion> {
    v::table
        .find((tenant.as_str(), kind.as_str(), version))
        .select(VersionRow::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// Every version of a kind, oldest first.
pub fn versions(conn: &mut Db, tenant: &TenantId, kind: PolicyKind) -> Result<Vec<PolicyVersion>> {
    let rows = v::table
        .filter(v::tenant_id.eq(tenant.as_str()))
        .filter(v::kind.eq(kind.as_str()))
        .order(v::version.asc())
        .select(VersionRow::as_select())
        .load(conn)
        .domain()?;
    rows.into_iter().map(PolicyVersion::try_from).collect()
}

/// Whether the tenant published version `version` of its `kind` policy.
pub fn is_published(conn: &mut Db, tenant: &TenantId, kind: PolicyKind, version: i64) -> Result<bool> {
    let count: i64 = v::table
        .filter(v::tenant_id.eq(tenant.as_str()))
        .filter(v::kind.eq(kind.as_str()))
        .filter(v::version.eq(version))
        .count()
        .get_result(conn)
        .domain()?;
    Ok(count > 0)
}

/// Record that a person (who must exist: the caller checks) accepted a published version.
pub fn accept(conn: &mut Db, tenant: &TenantId, person: &PersonId, new: &NewAcceptance) -> Result<Acceptance> {
    let mut check = Check::default();
    if new.source == Source::Unsubscribe {
        check.fail("source", "an unsubscribe link accepts nothing");
    }
    if !is_published(conn, tenant, new.kind, new.version)? {
        check.fail("version", format!("no published {} policy has this version", new.kind));
    }
    check.into_result()?;
    let acceptance = Acceptance {
        id: kluis_core::new_id(),
        person_id: person.clone(),
        kind: new.kind,
        version: new.version,
        source: new.source,
        ip_prefix: new.proof.ip_prefix.clone(),
        user_agent: new.proof.user_agent.as_deref().and_then(clean_user_agent),
        accepted_at: kluis_core::time::now(),
    };
    diesel::insert_into(a::table)
        .values((
            a::tenant_id.eq(tenant.as_str()),
            a::id.eq(&acceptance.id),
            a::person_id.eq(acceptance.person_id.as_str()),
            a::kind.eq(acceptance.kind.as_str()),
            a::version.eq(acceptance.version),
            a::source.eq(acceptance.source.as_str()),
            a::ip_prefix.eq(&acceptance.ip_prefix),
            a::user_agent.eq(&acceptance.user_agent),
            a::accepted_at.eq(acceptance.accepted_at),
        ))
        .execute(conn)
        .domain()?;
    Ok(acceptance)
}

/// A person's acceptances, oldest first.
pub fn acceptances(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Acceptance>> {
    let rows = a::table
        .filter(a::tenant_id.eq(tenant.as_str()))
        .filter(a::person_id.eq(person.as_str()))
        .order(a::id.asc())
        .select(AcceptanceRow::as_select())
        .load(conn)
        .domain()?;
    rows.into_iter().map(Acceptance::try_from).collect()
}

/// Where the person stands with each kind: the newest version they
/// accepted, the current one, and whether a material version newer than
/// theirs was published since (re-acceptance due). Someone who never
/// accepted a kind has nothing to re-accept.
pub fn standings(conn: &mut Db, tenant: &TenantId, accepted: &[Acceptance]) -> Result<Vec<PolicyStanding>> {
    let rows: Vec<(String, i64, bool)> = v::table
        .filter(v::tenant_id.eq(tenant.as_str()))
        .select((v::kind, v::version, v::material))
        .load(conn)
        .domain()?;
    let mut published: BTreeMap<&str, Vec<(i64, bool)>> = BTreeMap::new();
    for (kind, version, material) in &rows {
        published.entry(kind.as_str()).or_default().push((*version, *material));
    }
    Ok(PolicyKind::ALL
        .iter()
        .map(|&kind| {
            let versions = published.get(kind.as_str()).map(Vec::as_slice).unwrap_or_default();
            let accepted_version = accepted.iter().filter(|a| a.kind == kind).map(|a| a.version).max();
            let current_version = versions.iter().map(|(v, _)| *v).max();
            let reacceptance_due = accepted_version
                .is_some_and(|mine| versions.iter().any(|(version, material)| *material && *version > mine));
            PolicyStanding { kind, accepted_version, current_version, reacceptance_due }
        })
        .collect())
}

/// Delete a person's acceptances; rows removed.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(a::table.filter(a::tenant_id.eq(tenant.as_str())).filter(a::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}
