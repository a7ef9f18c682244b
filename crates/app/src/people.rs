//! People: create, list, read and change persons (`people:read` /
//! `people:write`), and a signed-in person's own profile (`/v1/me`). Every
//! read by a client or staff member is audited through the group-commit
//! appender; every change in its own transaction. Contacts, references and
//! erasure have their own modules.

use kluis_audit::{Action, Target};
use kluis_consent::PolicyStanding;
use kluis_consent::policies;
use kluis_core::page::Page;
use kluis_core::{DomainError, PersonId, TenantId};
use kluis_people::accounts::{self, Account};
use kluis_people::attributes::Writer;
use kluis_people::{ContactKind, NewPerson, PeopleQuery, Person, Profile, ProfilePatch, persons};
use kluis_store::Db;

use crate::fields::{AuditFields, present};
use crate::processors::{self, Shown};
use crate::{App, AppResult, Context, Scoped};

impl AuditFields for Profile {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("salutation", self.salutation.is_some()),
            ("first_name", self.first_name.is_some()),
            ("last_name", self.last_name.is_some()),
            ("nickname", self.nickname.is_some()),
            ("date_of_birth", self.date_of_birth.is_some()),
            ("language", self.language.is_some()),
            ("company_name", self.company_name.is_some()),
            ("coc_number", self.coc_number.is_some()),
            ("vat_number", self.vat_number.is_some()),
        ])
    }
}

impl AuditFields for NewPerson {
    /// The profile fields given, then each kind of contact given.
    fn audit_fields(&self) -> Vec<&'static str> {
        let has = |kind| self.contacts.iter().any(|c| c.data.kind() == kind);
        let mut fields = self.profile.audit_fields();
        fields.extend(present(&[
            ("emails", has(ContactKind::Email)),
            ("phones", has(ContactKind::Phone)),
            ("addresses", has(ContactKind::Address)),
            ("websites", has(ContactKind::Website)),
            ("attributes", !self.attributes.is_empty()),
        ]));
        fields
    }
}

impl AuditFields for ProfilePatch {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("salutation", self.salutation.is_some()),
            ("first_name", self.first_name.is_some()),
            ("last_name", self.last_name.is_some()),
            ("nickname", self.nickname.is_some()),
            ("date_of_birth", self.date_of_birth.is_some()),
            ("language", self.language.is_some()),
            ("company_name", self.company_name.is_some()),
            ("coc_number", self.coc_number.is_some()),
            ("vat_number", self.vat_number.is_some()),
            ("attributes", !self.attributes.is_empty()),
        ])
    }
}

/// Create a person with their contacts, and its audit entry, in one transaction.
pub async fn create(app: &App, caller: &Scoped<'_>, new: NewPerson) -> AppResult<Person> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    let created = fields.clone();
    app.audited(caller.audit(), Action::PersonCreate, fields, move |conn| {
        let person = persons::create(conn, &tenant, new)?;
        crate::webhooks::person_created(conn, &tenant, &person.id, &created)?;
        let target = Target::person("person", &person.id);
        Ok((person, target))
    })
    .await
}

/// A page of the tenant's people, narrowed by `filter`; each person on it
/// is a read in the audit log. A purpose-bound caller sees only the people
/// its purposes allow, with only the fields they cover (a page may hold
/// fewer than `limit`; its cursor still moves on).
pub async fn list(
    app: &App,
    caller: &Scoped<'_>,
    filter: PeopleQuery,
    limit: i64,
    after: Option<String>,
) -> AppResult<Page<Shown>> {
    let tenant = caller.tenant.clone();
    let actor = caller.actor().clone();
    let page = app
        .read(move |conn| {
            let page = persons::list(conn, &tenant, &filter, limit, after.as_deref())?;
            let items = processors::show(conn, &tenant, &actor, page.items)?;
            Ok(Page { items, next_cursor: page.next_cursor })
        })
        .await?;
    let audit = caller.audit();
    for shown in &page.items {
        let target = Target::person("person", &shown.person.id);
        app.audit_reads.read(&audit, Action::PersonRead, target, &shown.fields(), shown.purpose()).await;
    }
    Ok(page)
}

/// One person with their contacts; the read is audited (with the purpose
/// that allowed it, for a purpose-bound caller). A person a purpose-bound
/// caller may not see is not found, like an absent one.
pub async fn get(app: &App, caller: &Scoped<'_>, id: PersonId) -> AppResult<Shown> {
    let tenant = caller.tenant.clone();
    let actor = caller.actor().clone();
    let shown = app
        .read(move |conn| {
            let person = persons::get(conn, &tenant, &id)?;
            processors::show(conn, &tenant, &actor, vec![person])?.pop().ok_or(DomainError::NotFound)
        })
        .await?;
    let target = Target::person("person", &shown.person.id);
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &shown.fields(), shown.purpose()).await;
    Ok(shown)
}

/// Change a person's profile; with `if_version`, only while it is still that version.
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    id: PersonId,
    if_version: Option<i64>,
    patch: ProfilePatch,
) -> AppResult<Person> {
    update_profile(app, caller.audit(), caller.tenant.clone(), id, if_version, patch, Writer::Staff).await
}

/// What a signed-in person sees of themselves: profile and contacts, their
/// account, and where they stand with each kind of policy.
#[derive(Debug)]
pub struct OwnProfile {
    /// Profile and contacts.
    pub person: Person,
    /// The account.
    pub account: Account,
    /// Per policy kind: the accepted and current versions.
    pub policies: Vec<PolicyStanding>,
}

/// The signed-in person's own profile, account and policy standings (their
/// reads of their own data are not audited).
pub async fn get_own(app: &App, ctx: &Context) -> AppResult<OwnProfile> {
    let (tenant, person) = ctx.person()?;
    app.read(move |conn| own_profile(conn, &tenant, &person)).await
}

/// Change one's own profile (the same rules as for administrators, and
/// only the attributes the tenant made self-editable: another is 422
/// naming `attributes.<key>`), then read it back whole.
pub async fn update_own(
    app: &App,
    ctx: &Context,
    if_version: Option<i64>,
    patch: ProfilePatch,
) -> AppResult<OwnProfile> {
    let (tenant, person) = ctx.person()?;
    update_profile(app, ctx.audit()?, tenant.clone(), person.clone(), if_version, patch, Writer::Person).await?;
    app.read(move |conn| own_profile(conn, &tenant, &person)).await
}

/// A profile change and its audit entry, by whoever makes it.
async fn update_profile(
    app: &App,
    audit: kluis_audit::Context,
    tenant: TenantId,
    id: PersonId,
    if_version: Option<i64>,
    patch: ProfilePatch,
    writer: Writer,
) -> AppResult<Person> {
    let fields = patch.audit_fields();
    let changed = fields.clone();
    app.audited(audit, Action::PersonUpdate, fields, move |conn| {
        let person = persons::update(conn, &tenant, &id, if_version, &patch, writer)?;
        crate::webhooks::person_updated(conn, &tenant, &id, &changed)?;
        Ok((person, Target::person("person", &id)))
    })
    .await
}

fn own_profile(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<OwnProfile, DomainError> {
    let accepted = policies::acceptances(conn, tenant, person)?;
    let policies = policies::standings(conn, tenant, &accepted)?;
    Ok(OwnProfile {
        person: persons::get(conn, tenant, person)?,
        account: accounts::get(conn, tenant, person)?,
        policies,
    })
}
