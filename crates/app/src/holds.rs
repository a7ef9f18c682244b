//! Legal holds (`retention:admin`): placed on a person with a reason and an
//! optional end, listed, lifted. A held person cannot be erased, by request
//! or by a retention sweep. Placing and lifting are audited in the change's
//! transaction, listing as a read of the person's data.

use kluis_audit::{Action, Target};
use kluis_core::PersonId;
use kluis_people::persons;
use kluis_retention::holds::{self, Hold, NewHold};

use crate::fields::{AuditFields, present};
use crate::{App, AppResult, Scoped};

impl AuditFields for NewHold {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[("reason", true), ("until", self.until.is_some())])
    }
}

/// Place a hold on `person` (404 when they do not exist in the tenant).
pub async fn create(app: &App, caller: &Scoped<'_>, person: PersonId, new: NewHold) -> AppResult<Hold> {
    let tenant = caller.tenant.clone();
    let fields = new.audit_fields();
    app.audited(caller.audit(), Action::HoldCreate, fields, move |conn| {
        persons::version(conn, &tenant, &person)?;
        let hold = holds::create(conn, &tenant, &person, &new)?;
        Ok((hold, Target::person("hold", &person)))
    })
    .await
}

/// Every hold of `person`, active or ended, oldest first; the read is audited.
pub async fn list(app: &App, caller: &Scoped<'_>, person: PersonId) -> AppResult<Vec<Hold>> {
    let tenant = caller.tenant.clone();
    let target = Target::person("hold", &person);
    let items = app
        .read(move |conn| {
            persons::version(conn, &tenant, &person)?;
            holds::list(conn, &tenant, &person)
        })
        .await?;
    app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &["holds"], None).await;
    Ok(items)
}

/// Lift hold `id` of `person`: from now on they can be erased (unless
/// another hold stands).
pub async fn lift(app: &App, caller: &Scoped<'_>, person: PersonId, id: String) -> AppResult<Hold> {
    let tenant = caller.tenant.clone();
    app.audited(caller.audit(), Action::HoldLift, Vec::new(), move |conn| {
        let hold = holds::lift(conn, &tenant, &person, &id)?;
        Ok((hold, Target::person("hold", &person)))
    })
    .await
}
