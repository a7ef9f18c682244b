//! A tenant's consent setup: its head row (ledger seq, unsubscribe key) and
//! its default purposes, the ones the privacy statements name. [`init`] runs
//! in the transaction that creates the tenant (the app's tenant-setup
//! registry) and, for tenants made before, at migration. The head row marks
//! that this happened, so purposes a tenant deletes later do not come back.

use diesel::prelude::*;
use kluis_audit::{Action, Context, Target};
use kluis_core::category::Category;
use kluis_core::{Actor, ActorKind, DomainError, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, UniqueRow, is_unique_violation};
use kluis_store::schema::{consent_heads as h, consent_purposes as p};
use kluis_store::{Db, write_tx};

use crate::model::LegalBasis;

/// A default purpose.
struct Seed {
    key: &'static str,
    name: &'static str,
    description: &'static str,
    basis: LegalBasis,
    categories: &'static [Category],
    retention: &'static str,
}

/// What a new tenant starts with.
const DEFAULTS: [Seed; 7] = [
    Seed {
        key: "marketing_email",
        name: "Marketing e-mail",
        description: "Newsletters, offers and news by e-mail.",
        basis: LegalBasis::Consent,
        categories: &[Category::Name, Category::Email],
        retention: "P2Y",
    },
    Seed {
        key: "phone_contact",
        name: "Phone contact",
        description: "Calling the person about offers and services.",
        basis: LegalBasis::Consent,
        categories: &[Category::Name, Category::Phone],
        retention: "P2Y",
    },
    Seed {
        key: "event_sharing",
        name: "Sharing with event organisers and sponsors",
        description: "Passing name, e-mail address and company to the organisers and sponsors of events the person signs up for.",
        basis: LegalBasis::Consent,
        categories: &[Category::Name, Category::Email, Category::Business],
        retention: "P1Y",
    },
    Seed {
        key: "session_recording",
        name: "Session recording",
        description: "Recording how the person uses the site to find and fix problems.",
        basis: LegalBasis::Consent,
        categories: &[Category::Behavior, Category::Device],
        retention: "P30D",
    },
    Seed {
        key: "analytics",
        name: "Visit statistics",
        description: "Counting visits with a truncated IP address to improve the site.",
        basis: LegalBasis::Consent,
        categories: &[Category::Behavior, Category::IpAddress],
        retention: "P1Y",
    },
    Seed {
        key: "account",
        name: "Account",
        description: "The person's account: signing in, recognising devices, keeping the profile.",
        basis: LegalBasis::Contract,
        categories: &[
            Category::Name,
            Category::Email,
            Category::Account,
            Category::Device,
            Category::IpAddress,
            Category::Language,
        ],
        retention: "P3Y",
    },
    Seed {
        key: "invoicing",
        name: "Invoicing",
        description: "Invoices and the bookkeeping the tax authority requires.",
        basis: LegalBasis::LegalObligation,
        categories: &[Category::Name, Category::Email, Category::Address, Category::Business],
        retention: "P7Y",
    },
];

/// The keys of the purposes every tenant starts with.
pub fn default_keys() -> Vec<&'static str> {
    DEFAULTS.iter().map(|d| d.key).collect()
}

/// Make the tenant's consent setup unless it exists. Idempotent and safe
/// under concurrency: the head row's primary key decides who makes it (a
/// racing transaction waits for the first and then finds it).
pub fn init(conn: &mut Db, tenant: &TenantId) -> Result<()> {
    let exists: Option<i64> = h::table.find(tenant.as_str()).select(h::seq).first(conn).optional().domain()?;
    if exists.is_some() {
        return Ok(());
    }
    write_tx(conn, |conn| -> Result<(), TxError> {
        let mut key = [0u8; 32];
        kluis_store::crypto::fill_random(&mut key).map_err(|e| DomainError::Internal(e.to_string()))?;
        let now = kluis_core::time::now();
        // A savepoint: losing the race must not abort the caller's transaction.
        let inserted = write_tx(conn, |conn| {
            diesel::insert_into(h::table)
                .values((
                    h::tenant_id.eq(tenant.as_str()),
                    h::seq.eq(0i64),
                    h::unsubscribe_key.eq(key.to_vec()),
                    h::created_at.eq(now),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => seed(conn, tenant),
            Err(e) if is_unique_violation(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    })
    .map_err(DomainError::from)
}

/// Insert the default purposes and record each in the audit log as made by kluis.
fn seed(conn: &mut Db, tenant: &TenantId) -> Result<(), TxError> {
    let now = kluis_core::time::now();
    let system = Actor {
        kind: ActorKind::System,
        id: "kluis".to_owned(),
        tenant: Some(tenant.clone()),
        scopes: Vec::new(),
        purposes: Vec::new(),
    };
    let ctx = Context::new(&system, tenant.clone(), None, None);
    for d in &DEFAULTS {
        let categories: Vec<&str> = d.categories.iter().map(|c| c.as_str()).collect();
        let categories = serde_json::to_string(&categories).map_err(|e| DomainError::Internal(e.to_string()))?;
        diesel::insert_into(p::table)
            .values((
                p::tenant_id.eq(tenant.as_str()),
                p::key.eq(d.key),
                p::name.eq(d.name),
                p::description.eq(d.description),
                p::legal_basis.eq(d.basis.as_str()),
                p::data_categories.eq(categories),
                p::retention.eq(d.retention),
                p::version.eq(1i64),
                p::created_at.eq(now),
                p::updated_at.eq(now),
            ))
            .execute(conn)?;
        kluis_audit::record(
            conn,
            &ctx,
            Action::PurposeCreate,
            Target::resource("purpose", d.key),
            &["key", "name", "description", "legal_basis", "data_categories", "retention"],
            None,
        )?;
    }
    tracing::info!(tenant.id = %tenant, count = DEFAULTS.len(), "made the default purposes");
    Ok(())
}

/// Take the tenant's head-row lock:
/// serialises ledger appends and policy publications of one tenant. On
/// PostgreSQL the `UPDATE` locks the row until commit; on SQLite the write
/// transaction already holds the database lock.
pub(crate) fn lock(conn: &mut Db, tenant: &TenantId, advance: i64) -> Result<i64, TxError> {
    let locked = diesel::update(h::table.find(tenant.as_str())).set(h::seq.eq(h::seq + advance)).execute(conn)?;
    if locked == 0 {
        return Err(DomainError::Internal(format!("tenant {tenant} has no consent head")).into());
    }
    let seq = h::table.find(tenant.as_str()).select(h::seq).unique_row(conn)?;
    Ok(seq.ok_or(DomainError::NotFound)?)
}

/// The key that signs the tenant's unsubscribe links; `None` before its setup.
pub(crate) fn unsubscribe_key(conn: &mut Db, tenant: &TenantId) -> Result<Option<Vec<u8>>> {
    h::table.find(tenant.as_str()).select(h::unsubscribe_key).first(conn).optional().domain()
}
