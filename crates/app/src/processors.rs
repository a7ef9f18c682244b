//! Purpose-bound access (issue 17): a client whose token names purposes
//! reads people only through them. It sees a person only while their
//! standing for at least one of its purposes is `allowed` (consent given,
//! or another basis without a standing objection) and their processing is
//! not restricted; anyone else is not found, exactly like an absent id. Of
//! those it sees, it gets only the fields whose data categories the
//! allowing purposes cover (the catalogue, `kluis_core::category`, says
//! which field is in which category). Standing is read on every request:
//! nothing is cached, so a withdrawal holds from the next read on.
//!
//! Global Privacy Control lives here too: a person whose browser sends
//! `Sec-GPC: 1` objects to the purposes the tenant marks `gpc`, once.

use std::collections::{BTreeSet, HashMap};

use kluis_audit::{Action, Target};
use kluis_consent::{ConsentAction, NewEvent, Proof, Purpose, Source};
use kluis_core::category::Category;
use kluis_core::{Actor, DomainError, PersonId, TenantId};
use kluis_people::Person;
use kluis_people::changes::{self, Change, ChangeKind, Changes};
use kluis_store::Db;

use crate::{App, AppResult, Context};

/// Every person field a read can answer, in the order of the person view.
pub const PERSON_FIELDS: [&str; 13] = [
    "salutation",
    "first_name",
    "last_name",
    "nickname",
    "date_of_birth",
    "language",
    "company_name",
    "coc_number",
    "vat_number",
    "emails",
    "phones",
    "addresses",
    "websites",
];

/// What a caller may see of one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The purpose that allowed the read (the first of the caller's that does).
    pub purpose: String,
    /// The person fields the allowing purposes cover, in [`PERSON_FIELDS`] order.
    pub fields: Vec<&'static str>,
    /// Every category the allowing purposes cover.
    pub categories: BTreeSet<Category>,
}

impl Access {
    /// Whether `field` is visible.
    pub fn shows(&self, field: &str) -> bool {
        self.fields.contains(&field)
    }
}

/// A person as a caller may see them: for a purpose-bound caller, the
/// hidden fields are emptied and `access` says which are shown.
#[derive(Clone, Debug)]
pub struct Shown {
    /// The person (hidden fields emptied).
    pub person: Person,
    /// `None` for a caller without purposes: everything is shown.
    pub access: Option<Access>,
}

impl Shown {
    /// The fields shown (what the read's audit entry lists), with
    /// `attributes` when any tenant-defined attribute is shown.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = match &self.access {
            Some(access) => access.fields.clone(),
            None => PERSON_FIELDS.to_vec(),
        };
        if !self.person.attributes.is_empty() {
            fields.push("attributes");
        }
        fields
    }

    /// The purpose that allowed the read, for a purpose-bound caller.
    pub fn purpose(&self) -> Option<&str> {
        self.access.as_ref().map(|a| a.purpose.as_str())
    }
}

/// The caller's purposes as the tenant has them, in the caller's order;
/// `None` for a caller bound to none (today's behaviour: everything).
/// A purpose deleted since the client was made binds to nothing.
pub(crate) fn binding(conn: &mut Db, tenant: &TenantId, actor: &Actor) -> Result<Option<Vec<Purpose>>, DomainError> {
    if actor.purposes.is_empty() {
        return Ok(None);
    }
    kluis_consent::purposes::named(conn, tenant, &actor.purposes).map(Some)
}

/// The categories `purposes` cover, and the fields of them in [`PERSON_FIELDS`] order.
fn covered<'a>(purposes: impl Iterator<Item = &'a Purpose>) -> (BTreeSet<Category>, Vec<&'static str>) {
    let categories: BTreeSet<Category> = purposes.flat_map(|p| p.data_categories.iter().copied()).collect();
    let fields =
        PERSON_FIELDS.into_iter().filter(|f| Category::of_field(f).is_some_and(|c| categories.contains(&c))).collect();
    (categories, fields)
}

/// For each of `persons` the caller bound to `purposes` may see, what it
/// may see; the others are absent from the map. One read of the standings,
/// one of the restrictions.
pub(crate) fn access(
    conn: &mut Db,
    tenant: &TenantId,
    purposes: &[Purpose],
    persons: &[&str],
) -> Result<HashMap<String, Access>, DomainError> {
    let keys: Vec<String> = purposes.iter().map(|p| p.key.clone()).collect();
    let allowed = kluis_consent::check::allowed(conn, tenant, persons, &keys)?;
    let restricted = kluis_rights::restriction::restricted_among(conn, tenant, persons)?;
    let mut out = HashMap::new();
    for (person, keys) in allowed {
        if keys.is_empty() || restricted.contains(&person) {
            continue;
        }
        let (categories, fields) = covered(purposes.iter().filter(|p| keys.contains(&p.key)));
        out.insert(person, Access { purpose: keys[0].clone(), fields, categories });
    }
    Ok(out)
}

/// The person with every field `access` does not show emptied.
fn mask(mut person: Person, access: &Access) -> Person {
    let profile = &mut person.profile;
    let hide = |field: &str, value: &mut Option<String>| {
        if !access.shows(field) {
            *value = None;
        }
    };
    hide("salutation", &mut profile.salutation);
    hide("first_name", &mut profile.first_name);
    hide("last_name", &mut profile.last_name);
    hide("nickname", &mut profile.nickname);
    hide("date_of_birth", &mut profile.date_of_birth);
    hide("language", &mut profile.language);
    hide("company_name", &mut profile.company_name);
    hide("coc_number", &mut profile.coc_number);
    hide("vat_number", &mut profile.vat_number);
    // A tenant-defined attribute is shown when the purposes cover its category.
    person.attributes.retain(|value| access.categories.contains(&value.category));
    for (field, list) in [
        ("emails", &mut person.emails),
        ("phones", &mut person.phones),
        ("addresses", &mut person.addresses),
        ("websites", &mut person.websites),
    ] {
        if !access.shows(field) {
            list.clear();
        }
    }
    person
}

/// Show `people` to the caller: all of them whole when it is bound to no
/// purpose; else only those it may see, masked. Keeps their order.
pub(crate) fn show(
    conn: &mut Db,
    tenant: &TenantId,
    actor: &Actor,
    people: Vec<Person>,
) -> Result<Vec<Shown>, DomainError> {
    let Some(purposes) = binding(conn, tenant, actor)? else {
        return Ok(people.into_iter().map(|person| Shown { person, access: None }).collect());
    };
    let ids: Vec<&str> = people.iter().map(|p| p.id.as_str()).collect();
    let mut access = access(conn, tenant, &purposes, &ids)?;
    Ok(people
        .into_iter()
        .filter_map(|person| {
            let access = access.remove(person.id.as_str())?;
            Some(Shown { person: mask(person, &access), access: Some(access) })
        })
        .collect())
}

/// What the caller may see of one person: `None` when bound to no purpose
/// (everything), else their access, or not found.
pub(crate) fn access_to(
    conn: &mut Db,
    tenant: &TenantId,
    actor: &Actor,
    person: &PersonId,
) -> Result<Option<Access>, DomainError> {
    let Some(purposes) = binding(conn, tenant, actor)? else { return Ok(None) };
    access(conn, tenant, &purposes, &[person.as_str()])?.remove(person.as_str()).map(Some).ok_or(DomainError::NotFound)
}

/// The purposes a person stands allowed for now (not restricted): what a
/// `person.erased` row keeps, read just before the erasure.
pub(crate) fn allowed_purposes(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Vec<String>, DomainError> {
    if kluis_rights::restriction::is_restricted(conn, tenant, person.as_str())? {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = kluis_consent::purposes::all(conn, tenant)?.into_iter().map(|p| p.key).collect();
    let mut allowed = kluis_consent::check::allowed(conn, tenant, &[person.as_str()], &keys)?;
    Ok(allowed.remove(person.as_str()).unwrap_or_default())
}

/// Record a change in the people feed (in the transaction of the change).
pub(crate) fn feed(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    kind: ChangeKind,
    fields: &[&str],
    purposes: &[String],
) -> Result<(), DomainError> {
    changes::record(conn, tenant, person, kind, fields, purposes)
}

/// Filter a page of the feed for a caller bound to `purposes`: changes of
/// people it may see now, with only the field names it may see (an update
/// of none of them is left out); an erasure when the person stood allowed
/// for one of its purposes just before it.
fn filter_changes(
    conn: &mut Db,
    tenant: &TenantId,
    purposes: &[Purpose],
    items: Vec<Change>,
) -> Result<Vec<Change>, DomainError> {
    let ids: BTreeSet<&str> =
        items.iter().filter(|c| c.kind != ChangeKind::Erased).map(|c| c.person_id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let access = access(conn, tenant, purposes, &ids)?;
    let keys: Vec<&str> = purposes.iter().map(|p| p.key.as_str()).collect();
    Ok(items
        .into_iter()
        .filter_map(|mut change| match change.kind {
            ChangeKind::Erased => {
                let seen = change.purposes.iter().any(|p| keys.contains(&p.as_str()));
                seen.then_some(change)
            }
            ChangeKind::Created | ChangeKind::Updated => {
                let access = access.get(change.person_id.as_str())?;
                change.fields.retain(|f| access.shows(f));
                let nothing = change.kind == ChangeKind::Updated && change.fields.is_empty();
                (!nothing).then_some(change)
            }
        })
        .map(|mut change| {
            change.purposes.clear();
            change
        })
        .collect())
}

/// A page of the people feed after the seq `after`, filtered by the
/// caller's purposes; counted per client and day, not audited one by one.
pub async fn changes(app: &App, caller: &crate::Scoped<'_>, after: i64, limit: i64) -> AppResult<Changes> {
    let tenant = caller.tenant.clone();
    let actor = caller.actor().clone();
    let page = app
        .read(move |conn| {
            let mut page = changes::after(conn, &tenant, after, limit)?;
            // An erasure's row keeps the id no longer than a webhook delivery may.
            let kept_since = kluis_core::time::now() - ERASED_KEPT;
            page.items.retain(|c| c.kind != ChangeKind::Erased || c.occurred_at >= kept_since);
            if let Some(purposes) = binding(conn, &tenant, &actor)? {
                page.items = filter_changes(conn, &tenant, &purposes, std::mem::take(&mut page.items))?;
            } else {
                page.items.iter_mut().for_each(|c| c.purposes.clear());
            }
            Ok(page)
        })
        .await?;
    app.usage.add(&caller.tenant, &caller.actor().id, kluis_consent::usage::Usage::Changes, 1);
    Ok(page)
}

/// How long the feed's `person.erased` row keeps the person's id: as long as
/// a `person.erased` webhook delivery may be retried with it.
pub const ERASED_KEPT: time::Duration = kluis_hooks::schedule::GIVE_UP_AFTER;

/// Remove the feed's `person.erased` rows older than [`ERASED_KEPT`] (the
/// server's webhook worker calls it now and then); how many went.
pub fn prune_erased(app: &App) -> Result<u64, DomainError> {
    let mut conn = app.pool.get().map_err(kluis_store::error::from_pool)?;
    let before = kluis_core::time::now() - ERASED_KEPT;
    changes::prune_erased(&mut conn, before, 1000)
}

/// Global Privacy Control: the signed-in person's browser sent
/// `Sec-GPC: 1`. An objection (source `gpc`) is recorded for each purpose
/// the tenant marks `gpc` that the law lets people object to, unless one
/// stands already or an earlier signal was recorded and the person lifted
/// it themselves since (their own choice outranks the browser's). Each
/// with its audit entry and `consent.changed` event, in one transaction.
/// Returns the purposes objected to now.
pub async fn honour_gpc(app: &App, ctx: &Context, proof: Proof) -> AppResult<Vec<String>> {
    let (tenant, person) = ctx.person()?;
    let actor = ctx.actor.clone();
    let audit = ctx.audit_in(tenant.clone());
    // The common case, nothing to do, costs one read and no write.
    let due = {
        let (tenant, person) = (tenant.clone(), person.clone());
        app.read(move |conn| gpc_due(conn, &tenant, &person)).await?
    };
    if due.is_empty() {
        return Ok(due);
    }
    app.in_transaction(move |conn| {
        // Read again in the transaction: another request may have done it.
        Ok(honour_gpc_in(conn, &audit, &actor, &tenant, &person, &proof)?)
    })
    .await
}

/// The gpc purposes a signal would object to now (see [`honour_gpc`]).
fn gpc_due(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<String>, DomainError> {
    let mut due = Vec::new();
    for purpose in kluis_consent::purposes::gpc(conn, tenant)? {
        if !purpose.legal_basis.objectable() {
            continue;
        }
        let state = kluis_consent::ledger::state_of(conn, tenant, person, &purpose.key)?;
        if state.as_ref().is_some_and(|s| s.objected()) {
            continue;
        }
        if kluis_consent::ledger::recorded_from(conn, tenant, person, &purpose.key, Source::Gpc)? {
            continue;
        }
        due.push(purpose.key);
    }
    Ok(due)
}

/// The signal on a public consent call (an unsubscribe link): the person the
/// link names objects as in [`honour_gpc`], inside the caller's transaction,
/// recorded by `actor` (kluis, on the person's behalf).
pub(crate) fn honour_gpc_in(
    conn: &mut Db,
    audit: &kluis_audit::Context,
    actor: &Actor,
    tenant: &TenantId,
    person: &PersonId,
    proof: &Proof,
) -> Result<Vec<String>, DomainError> {
    let mut recorded = Vec::new();
    for key in gpc_due(conn, tenant, person)? {
        let new = NewEvent {
            purpose: key.clone(),
            action: ConsentAction::Object,
            source: Source::Gpc,
            policy_version: None,
            occurred_at: None,
            expires_at: None,
            proof: proof.clone(),
        };
        let event = kluis_consent::ledger::record(conn, tenant, person, actor, &new)?;
        crate::webhooks::consent_changed(conn, tenant, &event)?;
        let target = Target::person("consent", person);
        kluis_audit::record(conn, audit, Action::ConsentObject, target, &["purpose", "action"], Some(&key))?;
        recorded.push(key);
    }
    Ok(recorded)
}
