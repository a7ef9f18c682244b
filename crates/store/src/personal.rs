//! The contract between domains that keep personal data and the retention
//! and rights machinery: every domain holding personal data implements
//! [`PersonalData`], and reaches no other domain's tables.

use std::collections::BTreeMap;

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use serde::Serialize;
use time::PrimitiveDateTime;

use crate::Db;

/// What an erasure removed: rows per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// Table name to rows removed.
    pub rows: BTreeMap<&'static str, u64>,
}

impl ErasureReport {
    /// Count `n` rows removed from `table`.
    pub fn add(&mut self, table: &'static str, n: u64) {
        *self.rows.entry(table).or_default() += n;
    }

    /// Fold another report into this one.
    pub fn merge(&mut self, other: ErasureReport) {
        for (table, n) in other.rows {
            self.add(table, n);
        }
    }
}

/// When an erasure runs a holder's [`PersonalData::erase`], relative to the
/// erasure's own audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureStage {
    /// Before the entry: the person's data itself.
    Data,
    /// After the entry: what links audit entries to the person. The entry is
    /// written linked like every other, then made unlinkable with them.
    Unlink,
}

/// Implemented by every domain that stores personal data; retention and
/// rights requests reach that data only through it.
pub trait PersonalData: Send + Sync {
    /// Catalogue categories this domain keeps.
    fn categories(&self) -> &'static [Category];
    /// When an erasure runs this holder (most hold data: [`ErasureStage::Data`]).
    fn erasure_stage(&self) -> ErasureStage {
        ErasureStage::Data
    }
    /// The tables whose rows about a person [`PersonalData::erase`] removes
    /// (a schema test checks every table with a `person_id` is named by some holder).
    fn tables(&self) -> &'static [&'static str];
    /// Everything kept about one person, machine-readable (Art. 15/20).
    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<serde_json::Value>;
    /// Remove all that identifies the person; report rows removed per table (Art. 17).
    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport>;
    /// Delete or anonymise rows of `category` older than `cutoff` (Art. 5(1)(e)).
    fn purge(&self, conn: &mut Db, tenant: &TenantId, category: Category, cutoff: PrimitiveDateTime) -> Result<u64>;
}
