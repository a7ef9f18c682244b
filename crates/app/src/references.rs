//! References: "apps reference the person, never copy it". A client
//! registers that its app holds an id for a person, so that a change or an
//! erasure of the person can reach every app that referenced them.

use kluis_audit::{Action, Target};
use kluis_core::PersonId;
use kluis_people::{Reference, references};

use crate::fields::AuditFields;
use crate::{App, AppResult, Scoped};

/// A reference to register for the calling client.
#[derive(Debug, Clone)]
pub struct NewReference {
    /// The app's name.
    pub app: String,
    /// The app's own id for the person.
    pub external_ref: String,
}

impl AuditFields for NewReference {
    fn audit_fields(&self) -> Vec<&'static str> {
        // Both are required: always set.
        vec!["app", "external_ref"]
    }
}

/// Register that the calling client's app holds a reference to `person`
/// (for a purpose-bound client: a person its purposes allow, else not found).
pub async fn create(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewReference) -> AppResult<Reference> {
    let tenant = caller.tenant.clone();
    let client = caller.actor().id.clone();
    let actor = caller.actor().clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ReferenceCreate, fields, move |conn| {
        // A purpose-bound client holds references only to people it may read.
        crate::processors::access_to(conn, &tenant, &actor, &person)?;
        let reference = references::add(conn, &tenant, &person, &client, &new.app, &new.external_ref)?;
        Ok((reference, Target::person("reference", &person)))
    })
    .await
}

/// The references apps hold to `person`, oldest first; the read is audited.
/// A purpose-bound client lists them only of a person its purposes allow
/// through one that covers `user.reference`; else not found.
pub async fn list(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Vec<Reference>> {
    let tenant = caller.tenant.clone();
    let actor = caller.actor().clone();
    let target = Target::person("reference", &person);
    let (items, purpose) = app
        .read(move |conn| {
            // A purpose-bound client: only of a person its purposes allow, through one covering user.reference.
            let purpose = match crate::processors::access_to(conn, &tenant, &actor, &person)? {
                Some(access) if access.categories.contains(&kluis_core::category::Category::Reference) => {
                    Some(access.purpose)
                }
                Some(_) => return Err(kluis_core::DomainError::NotFound),
                None => None,
            };
            Ok((references::list(conn, &tenant, &person)?, purpose))
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &["references"], purpose.as_deref()).await;
    Ok(items)
}

/// Remove reference `id` of `person`.
pub async fn delete(app: &App, caller: &Scoped<'_>, person: PersonId, id: String) -> AppResult<()> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::ReferenceDelete, Vec::new(), move |conn| {
        references::delete(conn, &tenant, &person, &id)?;
        Ok(((), Target::person("reference", &person)))
    })
    .await
}
