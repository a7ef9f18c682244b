//! Subject keys: each person's entries carry `HMAC-SHA256(key, person_id)`
//! with a random key of their own. While the key exists their entries can be
//! found; once it is deleted they cannot be linked to them by anyone.

use std::collections::HashMap;

use diesel::prelude::*;
use hmac::{Hmac, Mac};
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::{StoreResultExt, TxError, UniqueRow};
use kluis_store::schema::subject_keys;
use sha2::Sha256;

fn hmac_hex(key: &[u8], person: &PersonId) -> Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| DomainError::Internal(e.to_string()))?;
    mac.update(person.as_str().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn key_of(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<Vec<u8>>> {
    subject_keys::table.find((tenant.as_str(), person.as_str())).select(subject_keys::key).unique_row(conn).domain()
}

/// The person's subject reference, or `None` once their key is gone (or
/// before anything about them was recorded).
pub fn subject_ref(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Option<String>> {
    key_of(conn, tenant, person)?.map(|key| hmac_hex(&key, person)).transpose()
}

/// The subject references of those of `persons` who have a key, by person
/// id: one query per [`REFS_PER_QUERY`] of them (a group of appended
/// entries names its people at once).
pub(crate) fn subject_refs(conn: &mut Db, tenant: &TenantId, persons: &[&PersonId]) -> Result<HashMap<String, String>> {
    let mut ids: Vec<&str> = persons.iter().map(|person| person.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut refs = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(REFS_PER_QUERY) {
        let keys: Vec<(String, Vec<u8>)> = subject_keys::table
            .filter(subject_keys::tenant_id.eq(tenant.as_str()))
            .filter(subject_keys::person_id.eq_any(chunk))
            .select((subject_keys::person_id, subject_keys::key))
            .load(conn)
            .domain()?;
        for (person, key) in keys {
            let person = PersonId(person);
            let reference = hmac_hex(&key, &person)?;
            refs.insert(person.0, reference);
        }
    }
    Ok(refs)
}

/// People named per lookup in [`subject_refs`] (well under SQLite's and
/// PostgreSQL's bound-parameter limits).
const REFS_PER_QUERY: usize = 500;

/// The reference, making the person's key on first use. Runs under the
/// chain's lock, so two appenders never race to make the same key.
pub(crate) fn ref_creating_key(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<String, TxError> {
    if let Some(key) = key_of(conn, tenant, person)? {
        return Ok(hmac_hex(&key, person)?);
    }
    let mut key = [0u8; 32];
    kluis_store::crypto::fill_random(&mut key).map_err(|e| DomainError::Internal(e.to_string()))?;
    diesel::insert_into(subject_keys::table)
        .values((
            subject_keys::tenant_id.eq(tenant.as_str()),
            subject_keys::person_id.eq(person.as_str()),
            subject_keys::key.eq(key.to_vec()),
            subject_keys::created_at.eq(kluis_core::time::now()),
        ))
        .execute(conn)?;
    Ok(hmac_hex(&key, person)?)
}

/// Delete the person's key: their entries stay, unlinkable. Returns whether
/// a key existed. Erasure (Art. 17) calls this.
pub fn forget_subject(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<bool> {
    let deleted =
        diesel::delete(subject_keys::table.find((tenant.as_str(), person.as_str()))).execute(conn).domain()?;
    Ok(deleted > 0)
}

/// The audit log as a personal-data holder: it keeps no values, only each
/// person's subject key; erasing the key makes their entries unlinkable.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditSubjects;

impl kluis_store::personal::PersonalData for AuditSubjects {
    fn categories(&self) -> &'static [kluis_core::category::Category] {
        &[]
    }

    fn erasure_stage(&self) -> kluis_store::personal::ErasureStage {
        kluis_store::personal::ErasureStage::Unlink
    }

    fn tables(&self) -> &'static [&'static str] {
        &["subject_keys"]
    }

    /// The entries about the person or by them (while their key exists),
    /// and their key's reference (never the key).
    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<kluis_store::personal::Export> {
        let mut out = kluis_store::personal::Export::default();
        let created: Option<time::PrimitiveDateTime> = subject_keys::table
            .find((tenant.as_str(), person.as_str()))
            .select(subject_keys::created_at)
            .unique_row(conn)
            .domain()?;
        let reference = subject_ref(conn, tenant, person)?;
        let key_row = match (&reference, created) {
            (Some(reference), Some(created)) => vec![serde_json::json!({
                "subject_ref": reference,
                "created_at": kluis_core::time::utc(created).format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            })],
            _ => Vec::new(),
        };
        out.add("subject_keys", key_row);
        let entries = match &reference {
            Some(reference) => crate::query::about(conn, tenant, reference)?,
            None => Vec::new(),
        };
        out.add("audit_events", entries.iter().map(crate::query::entry_json).collect());
        Ok(out)
    }

    fn erase(
        &self,
        conn: &mut Db,
        tenant: &TenantId,
        person: &PersonId,
    ) -> Result<kluis_store::personal::ErasureReport> {
        let mut report = kluis_store::personal::ErasureReport::default();
        report.add("subject_keys", u64::from(forget_subject(conn, tenant, person)?));
        Ok(report)
    }

    // `purge` keeps the default: a key lives exactly as long as its person.
}
