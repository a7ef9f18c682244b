//! The record of processing activities (Art. 30 GDPR, `consent:read`),
//! built from the tenant's purposes and recipients.

use kluis_consent::register::{self, Register};

use crate::{App, AppResult, Scoped};

/// The caller's tenant's record: every purpose with its basis, categories,
/// recipients and retention, the tenant-defined attributes that serve it,
/// and the transfers outside the EEA.
pub async fn get(app: &App, caller: &Scoped<'_>) -> AppResult<Register> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| {
        let mut register = register::build(conn, &tenant)?;
        let definitions = kluis_people::attributes::all(conn, &tenant)?;
        for activity in &mut register.activities {
            activity.attributes = definitions
                .iter()
                .filter(|d| d.purposes.contains(&activity.purpose.key))
                .map(|d| (d.key.clone(), d.category))
                .collect();
        }
        Ok(register)
    })
    .await
}
