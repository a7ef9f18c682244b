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

/// What a retention purge does to the rows it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeAction {
    /// The rows go.
    Delete,
    /// What identifies the person is cleared and the rest stays; a row that
    /// would keep nothing once cleared (a contact, a reference) goes.
    Anonymise,
}

/// Which rows of a category a purge reaches: every condition given must hold.
/// A purge with no condition at all reaches nothing (never everything).
#[derive(Debug, Clone, Copy, Default)]
pub struct Due<'a> {
    /// Recorded before this moment.
    pub created_before: Option<PrimitiveDateTime>,
    /// Idle: see [`Idle`].
    pub idle: Option<Idle>,
    /// Restored or returned before this moment (event-based retention):
    /// only rows that record such an event are reached, and a holder whose
    /// rows record none reaches nothing while this is set.
    pub ended_before: Option<PrimitiveDateTime>,
    /// About one of these persons (the caller found their moment passed);
    /// rows about nobody (visit statistics) are not reached while this is set.
    pub persons: Option<&'a [PersonId]>,
}

impl Due<'_> {
    /// True when no condition is given: such a purge must reach nothing.
    pub fn is_unbounded(&self) -> bool {
        self.created_before.is_none() && self.idle.is_none() && self.ended_before.is_none() && self.persons.is_none()
    }

    /// The moment of [`Idle::Before`], if that is asked.
    pub fn idle_before(&self) -> Option<PrimitiveDateTime> {
        match self.idle {
            Some(Idle::Before(at)) => Some(at),
            _ => None,
        }
    }
}

/// How a purge counting from the last activity reaches rows. A row that
/// records its own last use (a device, a session) goes by that; the others
/// go by their person's, which the caller works out across domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Rows that record their own last use, idle since before this moment;
    /// rows that record none are not reached.
    Before(PrimitiveDateTime),
    /// Rows that record no use of their own, of the persons given in
    /// [`Due::persons`] (the caller found them idle); rows that record their
    /// own are not reached (they went by [`Idle::Before`]).
    OfPersons,
}

/// One call of [`PersonalData::purge`].
#[derive(Debug, Clone, Copy)]
pub struct Purge<'a> {
    /// The category whose rows are due.
    pub category: Category,
    /// Which of them.
    pub due: Due<'a>,
    /// What happens to them.
    pub action: PurgeAction,
    /// Persons whose rows stay whatever is due (legal holds).
    pub skip: &'a [PersonId],
    /// At most this many rows per table in one call (one short
    /// transaction); the caller calls again while a table reports `limit`.
    pub limit: u64,
    /// Only count what is due now, whatever `limit`, and change nothing.
    pub dry_run: bool,
}

impl Purge<'_> {
    /// The limit as SQL wants it.
    pub fn limit_i64(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX)
    }
}

/// What a purge removed or anonymised (or, dry, would): rows per table.
pub type PurgeReport = BTreeMap<&'static str, u64>;

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
    /// Delete or anonymise the rows of `purge.category` that are due, at
    /// most `purge.limit` per table, never of a person in `purge.skip`
    /// (Art. 5(1)(e)); with `dry_run`, count them all and change nothing.
    /// A holder whose data lives exactly as long as its person (consent
    /// proofs, subject keys) keeps this default: nothing of it ages alone.
    fn purge(&self, conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
        let _ = (conn, tenant, purge);
        Ok(PurgeReport::new())
    }
}
