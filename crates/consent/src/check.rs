//! The hot path: may this person's data be processed for this purpose now?
//! One read of the purposes named and one of the current-state table for
//! all pairs, whatever their number. Checks and feed pages are not audited
//! one by one (a processor may make thousands a second); they are counted
//! per client and day instead.

use std::collections::BTreeSet;

use diesel::prelude::*;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::error::{TxError, is_unique_violation};
use kluis_store::schema::consent_usage as u;
use kluis_store::{Db, write_tx};

use crate::model::{Decision, decide};
use crate::{ledger, purposes, setup};

/// The most pairs one batch may ask about.
pub const MAX_BATCH: usize = 1000;

/// One question: a person and a purpose key.
#[derive(Clone, Debug)]
pub struct Pair {
    /// The person (one kluis does not know has no consent).
    pub person: PersonId,
    /// Purpose key.
    pub purpose: String,
}

/// Answer `pairs` in order. `field` names the wire field of the i-th
/// purpose, for the 422 an unknown purpose gets.
pub fn check(
    conn: &mut Db,
    tenant: &TenantId,
    pairs: &[Pair],
    field: impl Fn(usize) -> String,
) -> Result<Vec<Decision>> {
    let keys: Vec<&str> = pairs.iter().map(|p| p.purpose.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut bases = purposes::bases(conn, tenant, &keys)?;
    if bases.len() < keys.len() {
        // Perhaps the tenant's first touch: make its default purposes, then look again.
        setup::ensure(conn, tenant)?;
        bases = purposes::bases(conn, tenant, &keys)?;
    }
    let unknown: Vec<FieldError> = pairs
        .iter()
        .enumerate()
        .filter(|(_, p)| !bases.contains_key(&p.purpose))
        .map(|(i, _)| FieldError::new(field(i), "no such purpose"))
        .collect();
    if !unknown.is_empty() {
        return Err(DomainError::Validation(unknown));
    }
    let persons: Vec<&str> = pairs.iter().map(|p| p.person.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let states = ledger::states(conn, tenant, &persons, &keys)?;
    let now = kluis_core::time::now();
    Ok(pairs
        .iter()
        .map(|p| {
            let basis = bases[&p.purpose];
            decide(basis, states.get(&(p.person.0.clone(), p.purpose.clone())), now)
        })
        .collect())
}

/// What a usage counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Checked pairs.
    Check,
    /// Pages of the changes feed.
    Changes,
}

impl Usage {
    fn as_str(self) -> &'static str {
        match self {
            Usage::Check => "check",
            Usage::Changes => "changes",
        }
    }
}

/// Add `n` to the client's counter of today (UTC).
pub fn count(conn: &mut Db, tenant: &TenantId, client_id: &str, usage: Usage, n: i64) -> Result<()> {
    let day = kluis_core::time::now().date().to_string();
    let key = u::table.find((tenant.as_str(), day.as_str(), client_id, usage.as_str()));
    write_tx(conn, |conn| -> Result<(), TxError> {
        if diesel::update(key).set(u::count.eq(u::count + n)).execute(conn)? == 1 {
            return Ok(());
        }
        // A savepoint: when a racing request made the row first, add to it instead.
        let inserted = write_tx(conn, |conn| {
            diesel::insert_into(u::table)
                .values((
                    u::tenant_id.eq(tenant.as_str()),
                    u::day.eq(&day),
                    u::client_id.eq(client_id),
                    u::kind.eq(usage.as_str()),
                    u::count.eq(n),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                diesel::update(key).set(u::count.eq(u::count + n)).execute(conn)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    })
    .map_err(DomainError::from)
}

/// A client's count of today, for tests and reports.
pub fn counted(conn: &mut Db, tenant: &TenantId, client_id: &str, usage: Usage) -> Result<i64> {
    let day = kluis_core::time::now().date().to_string();
    let n: Option<i64> = u::table
        .find((tenant.as_str(), day.as_str(), client_id, usage.as_str()))
        .select(u::count)
        .first(conn)
        .optional()
        .map_err(kluis_store::error::from_diesel)?;
    Ok(n.unwrap_or(0))
}
