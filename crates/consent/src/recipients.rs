//! Recipients: the processors, controllers and authorities personal data is
//! disclosed to. Whether one is in the EEA follows from its country; outside
//! it, a transfer mechanism (SCC, adequacy decision, BCR) is required.

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::validate::is_eea_country;
use kluis_core::{DomainError, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::schema::{consent_purpose_recipients as pr, consent_recipients as r};
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::model::{NewRecipient, Recipient, RecipientPatch, RecipientRole};
use crate::rules::{Check, MAX_NAME};

#[derive(Queryable, Selectable)]
#[diesel(table_name = r)]
struct RecipientRow {
    id: String,
    name: String,
    role: String,
    country: String,
    in_eea: bool,
    transfer_mechanism: Option<String>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl TryFrom<RecipientRow> for Recipient {
    type Error = DomainError;

    fn try_from(row: RecipientRow) -> Result<Recipient> {
        Ok(Recipient {
            role: RecipientRole::parse(&row.role)
                .ok_or_else(|| DomainError::Internal(format!("unknown recipient role {}", row.role)))?,
            id: row.id,
            name: row.name,
            country: row.country,
            in_eea: row.in_eea,
            transfer_mechanism: row.transfer_mechanism,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The rules a recipient's fields keep, whole: a country code, and a
/// transfer mechanism outside the EEA.
fn check(name: &str, country: &str, transfer_mechanism: Option<&str>) -> Result<()> {
    let mut check = Check::default();
    check.text("name", name, MAX_NAME, false);
    check.country("country", country);
    match transfer_mechanism {
        Some(mechanism) => check.text("transfer_mechanism", mechanism, MAX_NAME, false),
        None if kluis_core::validate::is_country_code(country) && !is_eea_country(country) => check.fail(
            "transfer_mechanism",
            "required for a recipient outside the EEA: name the safeguard, e.g. SCC or an adequacy decision",
        ),
        None => {}
    }
    check.into_result()
}

/// Country codes are kept uppercase.
fn normalize_country(country: &str) -> String {
    country.trim().to_ascii_uppercase()
}

/// Register a recipient.
pub fn create(conn: &mut Db, tenant: &TenantId, new: &NewRecipient) -> Result<Recipient> {
    let country = normalize_country(&new.country);
    let mechanism = new.transfer_mechanism.as_deref().map(str::trim);
    check(&new.name, &country, mechanism)?;
    let now = kluis_core::time::now();
    let recipient = Recipient {
        id: kluis_core::new_id(),
        name: new.name.trim().to_owned(),
        role: new.role,
        in_eea: is_eea_country(&country),
        country,
        transfer_mechanism: mechanism.map(str::to_owned),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(r::table)
        .values((
            r::tenant_id.eq(tenant.as_str()),
            r::id.eq(&recipient.id),
            r::name.eq(&recipient.name),
            r::role.eq(recipient.role.as_str()),
            r::country.eq(&recipient.country),
            r::in_eea.eq(recipient.in_eea),
            r::transfer_mechanism.eq(&recipient.transfer_mechanism),
            r::version.eq(recipient.version),
            r::created_at.eq(now),
            r::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    Ok(recipient)
}

/// One recipient.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Recipient> {
    r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .filter(r::id.eq(id))
        .select(RecipientRow::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// The tenant's recipients in creation order, `limit` at a time after the id `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Recipient>> {
    let mut query = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .select(RecipientRow::as_select())
        .order(r::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(r::id.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let recipients = rows.into_iter().map(Recipient::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(recipients, limit, |r| r.id.clone()))
}

/// Every recipient of the tenant, in creation order.
pub fn all(conn: &mut Db, tenant: &TenantId) -> Result<Vec<Recipient>> {
    let rows = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .select(RecipientRow::as_select())
        .order(r::id.asc())
        .load(conn)
        .domain()?;
    rows.into_iter().map(Recipient::try_from).collect()
}

/// Change a recipient; with `if_version`, only when it is still that version.
/// The result must keep the rules: moving a recipient outside the EEA needs
/// a transfer mechanism.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    if_version: Option<i64>,
    patch: &RecipientPatch,
) -> Result<Recipient> {
    write_tx(conn, |conn| -> Result<Recipient, TxError> {
        let current = get(conn, tenant, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let name = patch.name.as_deref().map(str::trim).unwrap_or(&current.name).to_owned();
        let country = patch.country.as_deref().map(normalize_country).unwrap_or_else(|| current.country.clone());
        let mechanism = match &patch.transfer_mechanism {
            Some(new) => new.as_deref().map(|m| m.trim().to_owned()),
            None => current.transfer_mechanism.clone(),
        };
        check(&name, &country, mechanism.as_deref())?;
        let updated = Recipient {
            name,
            role: patch.role.unwrap_or(current.role),
            in_eea: is_eea_country(&country),
            country,
            transfer_mechanism: mechanism,
            version: current.version + 1,
            updated_at: kluis_core::time::now(),
            ..current
        };
        diesel::update(r::table.filter(r::tenant_id.eq(tenant.as_str())).filter(r::id.eq(id)))
            .set((
                r::name.eq(&updated.name),
                r::role.eq(updated.role.as_str()),
                r::country.eq(&updated.country),
                r::in_eea.eq(updated.in_eea),
                r::transfer_mechanism.eq(&updated.transfer_mechanism),
                r::version.eq(updated.version),
                r::updated_at.eq(updated.updated_at),
            ))
            .execute(conn)?;
        Ok(updated)
    })
    .map_err(DomainError::from)
}

/// Remove a recipient no purpose names any more (409 while one does: the
/// register would lose who receives that purpose's data).
pub fn delete(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<()> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let used: i64 = pr::table
            .filter(pr::tenant_id.eq(tenant.as_str()))
            .filter(pr::recipient_id.eq(id))
            .count()
            .get_result(conn)?;
        if used > 0 {
            return Err(DomainError::Conflict {
                code: "recipient_in_use",
                message: "a purpose names this recipient; change the purpose first".into(),
            }
            .into());
        }
        diesel::delete(r::table.filter(r::tenant_id.eq(tenant.as_str())).filter(r::id.eq(id))).execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)
}
