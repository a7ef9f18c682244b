//! The retention domain as a [`PersonalData`] holder: a person's legal holds
//! and their pending erasure request name them, so they are exported and
//! erased with them. (An active hold refuses the erasure before any holder
//! runs; ended holds go with the person.)

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, Export, PersonalData};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::{erasure, holds};

/// Legal holds and pending self-service erasures.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetentionData;

fn time(at: PrimitiveDateTime) -> Value {
    Value::String(kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default())
}

impl PersonalData for RetentionData {
    fn categories(&self) -> &'static [Category] {
        &[]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["person_holds", "self_erasures"]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let mut out = Export::default();
        let holds = holds::list(conn, tenant, person)?;
        out.add(
            "person_holds",
            holds
                .iter()
                .map(|h| json!({"id": h.id, "reason": h.reason, "until": h.until.map(time), "created_at": time(h.created_at)}))
                .collect(),
        );
        let pending = erasure::pending(conn, tenant, person)?;
        out.add(
            "self_erasures",
            pending.iter().map(|p| json!({"requested_at": time(p.requested_at), "due_at": time(p.due_at)})).collect(),
        );
        Ok(out)
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        report.add("person_holds", holds::erase_all(conn, tenant, person)?);
        report.add("self_erasures", erasure::erase_pending(conn, tenant, person)?);
        Ok(report)
    }
    // `purge` keeps the default: holds and requests live as long as their
    // person (an ended hold is kept as the record that the person was held).
}
