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

/// Register that the calling client's app holds a reference to `person`.
pub async fn create(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewReference) -> AppResult<Reference> {
    let tenant = caller.tenant.clone();
    let client = caller.actor().id.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::ReferenceCreate, fields, move |conn| {
        let reference = references::add(conn, &tenant, &person, &client, &new.app, &new.external_ref)?;
        Ok((reference, Target::person("reference", &person)))
    })
    .await
}

/// The references apps hold to `person`, oldest first; the read is audited.
pub async fn list(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Vec<Reference>> {
    let tenant = caller.tenant.clone();
    let target = Target::person("reference", &person);
    let items = app.read(move |conn| references::list(conn, &tenant, &person)).await?;
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &["references"], None).await;
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
