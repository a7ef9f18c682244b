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

/// What a holder keeps about a person, per table, each row a JSON object of
/// its columns (secrets left out): the machine-readable copy of Art. 15 and
/// 20, and, one CSV per table, what a spreadsheet opens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Export {
    /// Table name to the person's rows in it (a table may be present and empty).
    pub tables: BTreeMap<&'static str, Vec<serde_json::Value>>,
}

impl Export {
    /// Add `rows` of `table` (an empty list still names the table).
    pub fn add(&mut self, table: &'static str, rows: Vec<serde_json::Value>) {
        self.tables.entry(table).or_default().extend(rows);
    }

    /// Fold another export into this one.
    pub fn merge(&mut self, other: Export) {
        for (table, rows) in other.tables {
            self.add(table, rows);
        }
    }
}

/// Someone who must be told that a person was erased (Art. 17(2) and 19):
/// named, never with the person's data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Notice {
    /// `reference` (an app that holds an id for the person) or `recipient`
    /// (a processor or third party the tenant shares data with).
    pub kind: String,
    /// The client that registered the reference, or the recipient's id.
    pub id: String,
    /// The app's or the recipient's name.
    pub name: String,
}

/// When an erasure runs a holder's [`PersonalData::erase`], relative to the
/// other holders and to the erasure's own audit entry. Stages run in this
/// order, so that no row vanishes by a cascade and goes uncounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErasureStage {
    /// First: data that hangs off the person's row (devices, consents, holds).
    Data,
    /// Then: the person's row itself, which the rows above reference.
    Person,
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
    /// Everything kept about one person, machine-readable (Art. 15/20): every
    /// table of [`PersonalData::tables`] that holds rows about people, with
    /// the person's rows (a test fails when a table holding a `person_id`
    /// is in no holder's export).
    fn export(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Export>;
    /// Remove all that identifies the person; report rows removed per table (Art. 17).
    fn erase(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<ErasureReport>;
    /// Who must be told when the person is erased (read before erasing).
    fn notify(&self, conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Notice>> {
        let _ = (conn, tenant, person);
        Ok(Vec::new())
    }
    /// Delete or anonymise rows of `category` older than `cutoff` (Art. 5(1)(e)).
    fn purge(&self, conn: &mut Db, tenant: &TenantId, category: Category, cutoff: PrimitiveDateTime) -> Result<u64>;
}
