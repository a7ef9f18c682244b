//! Policy documents and acceptances. Publishing a version of the terms,
//! privacy or cookie policy stamps its number, time and whether it is a
//! material change; anyone may read the current and archived texts of an
//! active tenant. An acceptance records which version a person accepted,
//! when and from where; after a material change their re-acceptance is due.

use kluis_audit::{Action, Target};
use kluis_consent::{Acceptance, NewAcceptance, NewPolicyVersion, PolicyKind, PolicyStanding, PolicyVersion, policies};
use kluis_core::{DomainError, PersonId, TenantId};
use kluis_people::persons;
use kluis_store::Db;
use kluis_store::tenancy::{TenantStatus, tenants};

use crate::fields::{AuditFields, present};
use crate::limiter::Flow;
use crate::{App, AppResult, Origin, Scoped};

impl AuditFields for NewPolicyVersion {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[("title", true), ("body", true), ("material", true)])
    }
}

impl AuditFields for NewAcceptance {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[("kind", true), ("version", true), ("source", true)])
    }
}

/// Publish the next version of a kind, with its audit entry.
pub async fn publish(
    app: &App,
    caller: &Scoped<'_>,
    kind: PolicyKind,
    new: NewPolicyVersion,
) -> AppResult<PolicyVersion> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::PolicyPublish, fields, move |conn| {
        let published = policies::publish(conn, &tenant, kind, &new)?;
        let target = Target::resource("policy", &format!("{kind}:{}", published.version));
        Ok((published, target))
    })
    .await
}

/// Every published version of a kind in the caller's tenant, oldest first.
pub async fn versions(app: &App, caller: &Scoped<'_>, kind: PolicyKind) -> AppResult<Vec<PolicyVersion>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| policies::versions(conn, &tenant, kind)).await
}

/// The active tenant a public slug names; a suspended or absent one is 404.
fn public_tenant(conn: &mut Db, slug: &str) -> Result<TenantId, DomainError> {
    let tenant = tenants::get_by_slug(conn, slug)?;
    if tenant.status == TenantStatus::Active { Ok(tenant.id) } else { Err(DomainError::NotFound) }
}

/// The current version of a kind of an active tenant, for anyone
/// (rate-limited per client IP, as are the two reads below).
pub async fn public_current(app: &App, origin: &Origin, slug: String, kind: PolicyKind) -> AppResult<PolicyVersion> {
    app.rates.hit_ip(Flow::PublicReadPerIp, origin.ip)?;
    app.read(move |conn| {
        let tenant = public_tenant(conn, &slug)?;
        policies::current(conn, &tenant, kind)
    })
    .await
}

/// Every published version of a kind of an active tenant, for anyone.
pub async fn public_versions(
    app: &App,
    origin: &Origin,
    slug: String,
    kind: PolicyKind,
) -> AppResult<Vec<PolicyVersion>> {
    app.rates.hit_ip(Flow::PublicReadPerIp, origin.ip)?;
    app.read(move |conn| {
        let tenant = public_tenant(conn, &slug)?;
        policies::versions(conn, &tenant, kind)
    })
    .await
}

/// One version of a kind of an active tenant, current or archived, for anyone.
pub async fn public_version(
    app: &App,
    origin: &Origin,
    slug: String,
    kind: PolicyKind,
    version: i64,
) -> AppResult<PolicyVersion> {
    app.rates.hit_ip(Flow::PublicReadPerIp, origin.ip)?;
    app.read(move |conn| {
        let tenant = public_tenant(conn, &slug)?;
        policies::get(conn, &tenant, kind, version)
    })
    .await
}

/// Record that a person of the caller's tenant (404 for one it does not
/// know) accepted a published version, with its audit entry.
pub async fn accept(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewAcceptance) -> AppResult<Acceptance> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::AcceptanceCreate, fields, move |conn| {
        persons::version(conn, &tenant, &person)?;
        let acceptance = policies::accept(conn, &tenant, &person, &new)?;
        Ok((acceptance, Target::person("acceptance", &person)))
    })
    .await
}

/// A person's acceptances and where they stand per kind.
#[derive(Debug, Clone)]
pub struct Acceptances {
    /// Oldest first.
    pub items: Vec<Acceptance>,
    /// Per kind: accepted and current versions, and whether re-acceptance is due.
    pub standings: Vec<PolicyStanding>,
}

/// A person's acceptances and whether re-acceptance is due per kind; an
/// audited read.
pub async fn acceptances(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Acceptances> {
    let tenant = caller.tenant.clone();
    let target = Target::person("acceptance", &person);
    let found = app
        .read(move |conn| {
            persons::version(conn, &tenant, &person)?;
            let items = policies::acceptances(conn, &tenant, &person)?;
            let standings = policies::standings(conn, &tenant, &items)?;
            Ok(Acceptances { items, standings })
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::ConsentRead, target, &["acceptances"], None).await;
    Ok(found)
}
