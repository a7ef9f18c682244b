//! References: an app records that it holds a reference to a person (its own
//! id for them) instead of a copy of their data. When the person changes or
//! is erased, the apps that hold references are the ones to tell.

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::person_references as r;
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::model::Reference;
use crate::persons;
use crate::rules::Check;

type Row = (String, String, String, String, String, PrimitiveDateTime);

fn reference((id, person, client_id, app, external_ref, created_at): Row) -> Reference {
    Reference { id, person_id: PersonId(person), client_id, app, external_ref, created_at }
}

/// Record that `client_id`'s `app` holds `external_ref` for the person.
pub fn add(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    client_id: &str,
    app: &str,
    external_ref: &str,
) -> Result<Reference> {
    let mut check = Check::default();
    check.text("app", Some(app));
    check.text("external_ref", Some(external_ref));
    check.into_result()?;
    let now = kluis_core::time::now();
    let id = kluis_core::new_id();
    write_tx(conn, |conn| -> Result<(), TxError> {
        persons::exists(conn, tenant, person)?;
        diesel::insert_into(r::table)
            .values((
                r::tenant_id.eq(tenant.as_str()),
                r::id.eq(&id),
                r::person_id.eq(person.as_str()),
                r::client_id.eq(client_id),
                r::app.eq(app.trim()),
                r::external_ref.eq(external_ref.trim()),
                r::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    TxError(DomainError::Conflict {
                        code: "reference_exists",
                        message: "this app already holds this reference to the person".into(),
                    })
                } else {
                    TxError::from(e)
                }
            })?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    Ok(Reference {
        id,
        person_id: person.clone(),
        client_id: client_id.to_owned(),
        app: app.trim().to_owned(),
        external_ref: external_ref.trim().to_owned(),
        created_at: now,
    })
}

/// The references held to a person, oldest first.
pub fn list(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Reference>> {
    persons::exists(conn, tenant, person).map_err(DomainError::from)?;
    let rows: Vec<Row> = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .filter(r::person_id.eq(person.as_str()))
        .order(r::id.asc())
        .select((r::id, r::person_id, r::client_id, r::app, r::external_ref, r::created_at))
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(reference).collect())
}

/// Remove a reference.
pub fn delete(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<()> {
    let n = diesel::delete(
        r::table.filter(r::tenant_id.eq(tenant.as_str())).filter(r::person_id.eq(person.as_str())).filter(r::id.eq(id)),
    )
    .execute(conn)
    .domain()?;
    if n == 1 { Ok(()) } else { Err(DomainError::NotFound) }
}

/// Delete every reference to a person; rows removed.
pub(crate) fn erase_all(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(r::table.filter(r::tenant_id.eq(tenant.as_str())).filter(r::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}
