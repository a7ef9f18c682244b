//! The record of processing activities (Art. 30 GDPR, `consent:read`),
//! built from the tenant's purposes and recipients.

use kluis_consent::register::{self, Register};

use crate::{App, AppResult, Scoped};

/// The caller's tenant's record: every purpose with its basis, categories,
/// recipients and retention, and the transfers outside the EEA.
pub async fn get(app: &App, caller: &Scoped<'_>) -> AppResult<Register> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| register::build(conn, &tenant)).await
}
