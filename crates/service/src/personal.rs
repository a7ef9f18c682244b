//! The serviced-devices domain as a personal-data holder: items, their
//! credentials (never their secrets), backup records and notes are in the
//! export; an erasure removes them all; retention reaches each by its
//! category (notes by their own).

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::personal::{ErasureReport, Export, PersonalData, Purge, PurgeReport};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::{backups, credentials, items, notes};

/// Serviced devices, sealed credentials, customer-data backups, service notes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceData;

fn time(at: PrimitiveDateTime) -> Value {
    Value::String(kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default())
}

fn time_opt(at: Option<PrimitiveDateTime>) -> Value {
    at.map_or(Value::Null, time)
}

impl PersonalData for ServiceData {
    fn categories(&self) -> &'static [Category] {
        &[Category::Service, Category::ServiceCredential, Category::ServiceBackup]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["service_items", "service_credentials", "service_backups", "service_notes"]
    }

    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export> {
        let mut out = Export::default();
        out.add("service_items", items::all(conn, tenant, person)?.iter().map(|i| json!({
            "id": i.id, "kind": i.kind.as_str(), "make": i.make, "model": i.model, "serial": i.serial,
            "request": i.request, "status": i.status.as_str(), "received_at": time(i.received_at),
            "ready_at": time_opt(i.ready_at), "returned_at": time_opt(i.returned_at), "created_at": time(i.created_at),
        })).collect());
        // The secret is sealed and never exported: only that there is one.
        out.add(
            "service_credentials",
            credentials::of_person(conn, tenant, person)?
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id, "item_id": c.item_id, "kind": c.kind.as_str(), "label": c.label, "login": c.login,
                        "revealed_at": time_opt(c.revealed_at), "created_at": time(c.created_at),
                    })
                })
                .collect(),
        );
        out.add(
            "service_backups",
            backups::of_person(conn, tenant, person)?
                .iter()
                .map(|b| {
                    json!({
                        "id": b.id, "item_id": b.item_id, "location": b.location, "size_bytes": b.size_bytes,
                        "checksum": b.checksum, "encrypted": b.encrypted, "made_at": time(b.made_at),
                        "restored_at": time_opt(b.restored_at), "created_at": time(b.created_at),
                    })
                })
                .collect(),
        );
        out.add("service_notes", notes::all(conn, tenant, person)?.iter().map(|n| json!({
            "id": n.id, "kind": n.kind.as_str(), "category": n.category.as_str(), "title": n.title, "body": n.body,
            "created_at": time(n.created_at), "updated_at": time(n.updated_at),
        })).collect());
        Ok(out)
    }

    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport> {
        let mut report = ErasureReport::default();
        report.add("service_credentials", credentials::erase(conn, tenant, person)?);
        report.add("service_backups", backups::erase(conn, tenant, person)?);
        report.add("service_notes", notes::erase(conn, tenant, person)?);
        report.add("service_items", items::erase(conn, tenant, person)?);
        Ok(report)
    }

    /// Items (`user.service`, with their credentials and backup records),
    /// credentials (`user.service.credential`), backup records
    /// (`user.service.backup`, by `restored_or_returned` among others),
    /// and notes of whatever category they are in.
    fn purge(&self, conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
        let mut report = PurgeReport::new();
        match purge.category {
            Category::Service => {
                let ids = items::due_ids(conn, tenant, purge)?;
                if purge.dry_run {
                    report.insert("service_credentials", credentials::count_for_items(conn, tenant, &ids)?);
                    report.insert("service_backups", backups::count_for_items(conn, tenant, &ids)?);
                    report.insert("service_items", ids.len() as u64);
                } else {
                    report.insert("service_credentials", credentials::delete_for_items(conn, tenant, &ids)?);
                    report.insert("service_backups", backups::delete_for_items(conn, tenant, &ids)?);
                    report.insert("service_items", items::delete_ids(conn, tenant, &ids)?);
                }
            }
            Category::ServiceCredential => {
                report.insert("service_credentials", credentials::purge(conn, tenant, purge)?);
            }
            Category::ServiceBackup => {
                report.insert("service_backups", backups::purge(conn, tenant, purge)?);
            }
            _ => {}
        }
        let n = notes::purge(conn, tenant, purge)?;
        if n > 0 {
            report.insert("service_notes", n);
        }
        Ok(report)
    }
}
