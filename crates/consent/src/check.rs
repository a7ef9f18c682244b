//! The hot path: may this person's data be processed for this purpose now?
//! One read of the purposes named and one of the current-state table for
//! all pairs, whatever their number. Checks and feed pages are not audited
//! one by one (a processor may make thousands a second); they are counted
//! per client and day instead ([`crate::usage`]).

use std::collections::{BTreeSet, HashMap};

use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::Db;

use crate::model::{Decision, decide};
use crate::{ledger, purposes};

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
    if let [pair] = pairs {
        return check_one(conn, tenant, pair, field(0)).map(|decision| vec![decision]);
    }
    let keys: Vec<&str> = pairs.iter().map(|p| p.purpose.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    let bases = purposes::bases(conn, tenant, &keys)?;
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

/// One pair, the processor's hot path: one indexed query (a primary-key
/// read of the purpose joined to the person's current state).
fn check_one(conn: &mut Db, tenant: &TenantId, pair: &Pair, field: String) -> Result<Decision> {
    let found = ledger::basis_and_state(conn, tenant, pair.person.as_str(), &pair.purpose)?;
    let Some((basis, state)) = found else {
        return Err(DomainError::Validation(vec![FieldError::new(field, "no such purpose")]));
    };
    let basis = crate::LegalBasis::parse(&basis)
        .ok_or_else(|| DomainError::Internal(format!("unknown legal basis {basis}")))?;
    Ok(decide(basis, state.as_ref(), kluis_core::time::now()))
}

/// For each of `persons`, those of `keys` (purpose keys, in that order) for
/// which processing is allowed now; purposes the tenant does not have are
/// allowed for nobody. Restriction is the caller's to apply (it lives in
/// another domain). One read of the bases and one of the states.
pub fn allowed(
    conn: &mut Db,
    tenant: &TenantId,
    persons: &[&str],
    keys: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let bases = purposes::bases(conn, tenant, &key_refs)?;
    let known: Vec<&str> = key_refs.iter().copied().filter(|k| bases.contains_key(*k)).collect();
    let states = if known.is_empty() || persons.is_empty() {
        Default::default()
    } else {
        ledger::states(conn, tenant, persons, &known)?
    };
    let now = kluis_core::time::now();
    let mut out = HashMap::new();
    for person in persons {
        let allowed: Vec<String> = known
            .iter()
            .filter(|key| {
                let state = states.get(&((*person).to_owned(), (**key).to_owned()));
                decide(bases[**key], state, now).allowed
            })
            .map(|key| (*key).to_owned())
            .collect();
        out.insert((*person).to_owned(), allowed);
    }
    Ok(out)
}
