//! The devices domain as a personal-data holder.

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, Export, PersonalData, Purge, PurgeReport};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::{devices, visits};

/// The devices a person signed in from.
#[derive(Debug, Clone, Copy, Default)]
pub struct DevicesData;

fn time(at: PrimitiveDateTime) -> Value {
    Value::String(at.assume_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default())
}

impl PersonalData for DevicesData {
    fn categories(&self) -> &'static [Category] {
        &[Category::Device, Category::IpAddress, Category::Behavior]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["devices"]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let list = devices::list(conn, tenant, person)?;
        let mut out = Export::default();
        out.add("devices", list.iter().map(|d| json!({
            "id": d.id, "ip": d.ip, "user_agent": d.user_agent, "client_hints": d.client_hints,
            "screen": d.screen.map(|(w, h)| json!({"width": w, "height": h})), "language": d.language,
            "estimate": d.estimate,
            "first_seen_at": time(d.first_seen_at), "last_login_at": time(d.last_login_at), "last_activity_at": time(d.last_activity_at),
        })).collect());
        Ok(out)
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        report.add("devices", devices::erase(conn, tenant, person)?);
        Ok(report)
    }

    /// Devices (`user.device`, and their IP for `user.device.ip_address`)
    /// and visit statistics (`user.behavior`, `user.device.ip_address`).
    fn purge(&self, conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
        let mut report = PurgeReport::new();
        if matches!(purge.category, Category::Device | Category::IpAddress) {
            report.insert("devices", devices::purge(conn, tenant, purge)?);
        }
        if matches!(purge.category, Category::Behavior | Category::IpAddress) {
            report.insert("visits", visits::purge(conn, tenant, purge)?);
        }
        Ok(report)
    }
}
