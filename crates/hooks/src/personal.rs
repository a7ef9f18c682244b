//! The webhooks domain as a [`PersonalData`] holder: deliveries about a
//! person name them (by id, with the names of changed fields; never values),
//! so they are exported and erased with them. The `person.erased` an erasure
//! queues is written after this holder ran and names nobody by column.

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, Export, PersonalData};
use serde_json::json;

use crate::deliveries;

/// Webhook deliveries about people.
#[derive(Debug, Clone, Copy, Default)]
pub struct HooksData;

impl PersonalData for HooksData {
    fn categories(&self) -> &'static [Category] {
        &[]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["webhook_deliveries"]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let mut out = Export::default();
        let rows = deliveries::of_person(conn, tenant, person)?;
        out.add(
            "webhook_deliveries",
            rows.into_iter()
                .map(|(id, webhook_id, event_type, status, created_at)| {
                    json!({"id": id, "webhook_id": webhook_id, "event_type": event_type, "status": status,
                           "created_at": kluis_core::time::utc(created_at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()})
                })
                .collect(),
        );
        Ok(out)
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        report.add("webhook_deliveries", deliveries::erase_person(conn, tenant, person)?);
        Ok(report)
    }
}
