//! A person's contacts (e-mails, phones, addresses, websites), each kind its
//! own resource: added, listed, changed and removed by a client or staff
//! member (`people:read` / `people:write`) or by the person themselves
//! (`/v1/me`). The same four use cases serve both; the [`Owner`] says whose
//! contacts they are and who acts.

use kluis_audit::{Action, Target};
use kluis_core::{PersonId, TenantId};
use kluis_people::{Contact, ContactKind, ContactPatch, NewContact, contacts};

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Context, Scoped};

/// Whose contacts a use case acts on, and who acts (for the audit log).
#[derive(Debug)]
pub struct Owner {
    tenant: TenantId,
    person: PersonId,
    audit: kluis_audit::Context,
    /// Reads by the person themselves are not audited; a client's are.
    audit_reads: bool,
    /// A client or staff member: what binds its reads (its purposes).
    reader: Option<kluis_core::Actor>,
}

impl Owner {
    /// `person`'s contacts, for a caller already authorised for the
    /// operation (`people:read` or `people:write`).
    pub fn of(caller: &Scoped<'_>, person: PersonId) -> Owner {
        let reader = Some(caller.actor().clone());
        Owner { tenant: caller.tenant.clone(), person, audit: caller.audit(), audit_reads: true, reader }
    }

    /// The signed-in person's own contacts (403 for any other token).
    pub fn me(ctx: &Context) -> AppResult<Owner> {
        let (tenant, person) = ctx.person()?;
        Ok(Owner { tenant, person, audit: ctx.audit()?, audit_reads: false, reader: None })
    }
}

/// A new contact's audit entry names its kind (`emails`).
impl AuditFields for NewContact {
    fn audit_fields(&self) -> Vec<&'static str> {
        vec![self.data.kind().plural()]
    }
}

/// A change to one contact: its kind (which names the changed value) and
/// the patch.
#[derive(Debug, Clone)]
pub struct ContactChange {
    /// The kind of contact changed.
    pub kind: ContactKind,
    /// What changes.
    pub patch: ContactPatch,
}

impl AuditFields for ContactChange {
    /// The value's wire name for its kind (`address`, `number`, `url`, or
    /// each address field), then `label` and `primary`.
    fn audit_fields(&self) -> Vec<&'static str> {
        let (p, a) = (&self.patch, &self.patch.address);
        let mut fields = match self.kind {
            ContactKind::Email => present(&[("address", p.value.is_some())]),
            ContactKind::Phone => present(&[("number", p.value.is_some())]),
            ContactKind::Website => present(&[("url", p.value.is_some())]),
            ContactKind::Address => present(&[
                ("street", a.street.is_some()),
                ("house_number", a.house_number.is_some()),
                ("addition", a.addition.is_some()),
                ("postal_code", a.postal_code.is_some()),
                ("city", a.city.is_some()),
                ("region", a.region.is_some()),
                ("country", a.country.is_some()),
            ]),
        };
        fields.extend(present(&[("label", p.label.is_some()), ("primary", p.primary.is_some())]));
        fields
    }
}

/// Add a contact, and its audit entry, in one transaction.
pub async fn create(app: &App, owner: Owner, new: NewContact) -> AppResult<Contact> {
    let kind = new.data.kind();
    let fields = new.audit_fields();
    let Owner { tenant, person, audit, .. } = owner;
    app.audited(audit, Action::ContactCreate, fields, move |conn| {
        let contact = contacts::create(conn, &tenant, &person, new)?;
        crate::webhooks::person_updated(conn, &tenant, &person, &[kind.plural()])?;
        Ok((contact, Target::person(kind.singular(), &person)))
    })
    .await
}

/// The owner's contacts of one kind, oldest first; a client's read is
/// audited. A purpose-bound client reads them only of a person its purposes
/// allow and cover this kind for (see [`crate::processors`]); else not found.
pub async fn list(app: &App, owner: Owner, kind: ContactKind) -> AppResult<Vec<Contact>> {
    let Owner { tenant, person, audit, audit_reads, reader } = owner;
    let target = Target::person(kind.singular(), &person);
    let (items, purpose) = app
        .read(move |conn| {
            let purpose = match &reader {
                Some(actor) => match crate::processors::access_to(conn, &tenant, actor, &person)? {
                    Some(access) if access.shows(kind.plural()) => Some(access.purpose),
                    Some(_) => return Err(kluis_core::DomainError::NotFound),
                    None => None,
                },
                None => None,
            };
            Ok((contacts::list(conn, &tenant, &person, kind)?, purpose))
        })
        .await?;
    if audit_reads {
        app.audit_reads.read(&audit, Action::PersonRead, target, &[kind.plural()], purpose.as_deref()).await;
    }
    Ok(items)
}

/// Change contact `id`; with `if_version`, only while it is still that version.
pub async fn update(
    app: &App,
    owner: Owner,
    id: String,
    if_version: Option<i64>,
    change: ContactChange,
) -> AppResult<Contact> {
    let fields = change.audit_fields();
    let Owner { tenant, person, audit, .. } = owner;
    app.audited(audit, Action::ContactUpdate, fields, move |conn| {
        let ContactChange { kind, patch } = change;
        let contact = contacts::update(conn, &tenant, &person, kind, &id, if_version, &patch)?;
        crate::webhooks::person_updated(conn, &tenant, &person, &[kind.plural()])?;
        Ok((contact, Target::person(kind.singular(), &person)))
    })
    .await
}

/// Remove contact `id` for good; with `if_version`, only while it is still that version.
pub async fn delete(app: &App, owner: Owner, kind: ContactKind, id: String, if_version: Option<i64>) -> AppResult<()> {
    let Owner { tenant, person, audit, .. } = owner;
    app.audited(audit, Action::ContactDelete, vec![kind.plural()], move |conn| {
        contacts::delete(conn, &tenant, &person, kind, &id, if_version)?;
        crate::webhooks::person_updated(conn, &tenant, &person, &[kind.plural()])?;
        Ok(((), Target::person(kind.singular(), &person)))
    })
    .await
}
