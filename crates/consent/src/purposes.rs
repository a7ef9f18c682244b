//! Processing purposes: what a tenant does with personal data, on which
//! legal basis, with which categories, recipients and retention. A purpose
//! can name only catalogue categories, so never a special category.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use kluis_core::category::Category;
use kluis_core::page::Page;
use kluis_core::{DomainError, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::{
    consent_events as e, consent_purpose_recipients as pr, consent_purposes as p, consent_recipients as r,
};
use kluis_store::{Db, write_tx};
use time::PrimitiveDateTime;

use crate::model::{LegalBasis, NewPurpose, Purpose, PurposePatch};
use crate::rules::{Check, MAX_DESCRIPTION, MAX_NAME, is_key};

#[derive(Queryable, Selectable)]
#[diesel(table_name = p)]
struct PurposeRow {
    key: String,
    name: String,
    description: String,
    legal_basis: String,
    data_categories: String,
    retention: String,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
    gpc: bool,
}

impl PurposeRow {
    fn into_purpose(self, recipients: Vec<String>) -> Result<Purpose> {
        let legal_basis = LegalBasis::parse(&self.legal_basis)
            .ok_or_else(|| DomainError::Internal(format!("unknown legal basis {}", self.legal_basis)))?;
        let names: Vec<String> =
            serde_json::from_str(&self.data_categories).map_err(|e| DomainError::Internal(e.to_string()))?;
        let data_categories = names
            .iter()
            .map(|n| n.parse::<Category>().map_err(|e| DomainError::Internal(e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Purpose {
            key: self.key,
            name: self.name,
            description: self.description,
            legal_basis,
            data_categories,
            recipients,
            retention: self.retention,
            gpc: self.gpc,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The recipient ids of the given purposes, with one query.
fn links(conn: &mut Db, tenant: &TenantId, keys: &[String]) -> Result<BTreeMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = pr::table
        .filter(pr::tenant_id.eq(tenant.as_str()))
        .filter(pr::purpose_key.eq_any(keys))
        .order((pr::purpose_key.asc(), pr::recipient_id.asc()))
        .select((pr::purpose_key, pr::recipient_id))
        .load(conn)
        .domain()?;
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, recipient) in rows {
        map.entry(key).or_default().push(recipient);
    }
    Ok(map)
}

fn with_links(conn: &mut Db, tenant: &TenantId, rows: Vec<PurposeRow>) -> Result<Vec<Purpose>> {
    let keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    let mut links = links(conn, tenant, &keys)?;
    rows.into_iter()
        .map(|row| {
            let recipients = links.remove(&row.key).unwrap_or_default();
            row.into_purpose(recipients)
        })
        .collect()
}

/// One purpose by key, `None` when absent.
pub(crate) fn find(conn: &mut Db, tenant: &TenantId, key: &str) -> Result<Option<Purpose>> {
    let row: Option<PurposeRow> = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::key.eq(key))
        .select(PurposeRow::as_select())
        .first(conn)
        .optional()
        .domain()?;
    match row {
        Some(row) => Ok(with_links(conn, tenant, vec![row])?.pop()),
        None => Ok(None),
    }
}

/// The legal bases of the named purposes (absent ones are left out), with one query.
pub(crate) fn bases(conn: &mut Db, tenant: &TenantId, keys: &[&str]) -> Result<HashMap<String, LegalBasis>> {
    let rows: Vec<(String, String)> = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::key.eq_any(keys))
        .select((p::key, p::legal_basis))
        .load(conn)
        .domain()?;
    rows.into_iter()
        .map(|(key, basis)| {
            let basis = LegalBasis::parse(&basis)
                .ok_or_else(|| DomainError::Internal(format!("unknown legal basis {basis}")))?;
            Ok((key, basis))
        })
        .collect()
}

/// One purpose by key.
pub fn get(conn: &mut Db, tenant: &TenantId, key: &str) -> Result<Purpose> {
    if !is_key(key) {
        return Err(DomainError::NotFound);
    }
    find(conn, tenant, key)?.ok_or(DomainError::NotFound)
}

/// The tenant's purposes by key, `limit` at a time after the key `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Purpose>> {
    let mut query = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .select(PurposeRow::as_select())
        .order(p::key.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(p::key.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let page = Page::from_rows(rows, limit, |r| r.key.clone());
    let items = with_links(conn, tenant, page.items)?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Those of `keys` that name no purpose of the tenant, by their index.
pub fn unknown(conn: &mut Db, tenant: &TenantId, keys: &[String]) -> Result<Vec<usize>> {
    let known: Vec<String> = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::key.eq_any(keys))
        .select(p::key)
        .load(conn)
        .domain()?;
    Ok(keys.iter().enumerate().filter(|(_, k)| !known.contains(k)).map(|(i, _)| i).collect())
}

/// The tenant's purposes among `keys`, in the order of `keys` (absent ones left out).
pub fn named(conn: &mut Db, tenant: &TenantId, keys: &[String]) -> Result<Vec<Purpose>> {
    let rows = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::key.eq_any(keys))
        .select(PurposeRow::as_select())
        .load(conn)
        .domain()?;
    let mut found = with_links(conn, tenant, rows)?;
    found.sort_by_key(|p| keys.iter().position(|k| *k == p.key));
    Ok(found)
}

/// The tenant's purposes people object to by sending Global Privacy Control.
pub fn gpc(conn: &mut Db, tenant: &TenantId) -> Result<Vec<Purpose>> {
    let rows = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .filter(p::gpc.eq(true))
        .select(PurposeRow::as_select())
        .order(p::key.asc())
        .load(conn)
        .domain()?;
    with_links(conn, tenant, rows)
}

/// Every purpose of the tenant, by key.
pub fn all(conn: &mut Db, tenant: &TenantId) -> Result<Vec<Purpose>> {
    let rows = p::table
        .filter(p::tenant_id.eq(tenant.as_str()))
        .select(PurposeRow::as_select())
        .order(p::key.asc())
        .load(conn)
        .domain()?;
    with_links(conn, tenant, rows)
}

/// Check the recipient ids: each an existing recipient of the tenant, none twice.
fn check_recipients(
    conn: &mut Db,
    tenant: &TenantId,
    check: &mut Check,
    field: &str,
    ids: &[String],
) -> Result<Vec<String>> {
    let known: Vec<String> = r::table
        .filter(r::tenant_id.eq(tenant.as_str()))
        .filter(r::id.eq_any(ids))
        .select(r::id)
        .load(conn)
        .domain()?;
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if !known.contains(id) {
            check.fail(format!("{field}[{i}]"), "no such recipient");
        } else if out.contains(id) {
            check.fail(format!("{field}[{i}]"), "named twice");
        } else {
            out.push(id.clone());
        }
    }
    Ok(out)
}

fn categories_json(categories: &[Category]) -> Result<String> {
    let names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    serde_json::to_string(&names).map_err(|e| DomainError::Internal(e.to_string()))
}

fn set_links(conn: &mut Db, tenant: &TenantId, key: &str, recipients: &[String]) -> Result<(), TxError> {
    diesel::delete(pr::table.filter(pr::tenant_id.eq(tenant.as_str())).filter(pr::purpose_key.eq(key)))
        .execute(conn)?;
    // One statement per row: MultiBackend has no multi-row INSERT.
    for recipient in recipients {
        diesel::insert_into(pr::table)
            .values((pr::tenant_id.eq(tenant.as_str()), pr::purpose_key.eq(key), pr::recipient_id.eq(recipient)))
            .execute(conn)?;
    }
    Ok(())
}

/// Create a purpose; nothing is stored when any field breaks a rule.
pub fn create(conn: &mut Db, tenant: &TenantId, new: &NewPurpose) -> Result<Purpose> {
    let mut check = Check::default();
    check.key("key", &new.key);
    check.text("name", &new.name, MAX_NAME, false);
    check.text("description", &new.description, MAX_DESCRIPTION, true);
    let categories = check.categories("data_categories", &new.data_categories);
    check.retention("retention", &new.retention);
    let now = kluis_core::time::now();
    write_tx(conn, |conn| -> Result<(), TxError> {
        let recipients = check_recipients(conn, tenant, &mut check, "recipients", &new.recipients)?;
        std::mem::take(&mut check).into_result()?;
        diesel::insert_into(p::table)
            .values((
                p::tenant_id.eq(tenant.as_str()),
                p::key.eq(&new.key),
                p::name.eq(new.name.trim()),
                p::description.eq(new.description.trim()),
                p::legal_basis.eq(new.legal_basis.as_str()),
                p::data_categories.eq(categories_json(&categories)?),
                p::retention.eq(&new.retention),
                p::gpc.eq(new.gpc),
                p::version.eq(1i64),
                p::created_at.eq(now),
                p::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| {
                if is_unique_violation(&e) {
                    TxError(DomainError::Conflict {
                        code: "purpose_exists",
                        message: "the tenant already has a purpose with this key".into(),
                    })
                } else {
                    TxError::from(e)
                }
            })?;
        set_links(conn, tenant, &new.key, &recipients)?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, &new.key)
}

/// Change a purpose; with `if_version`, only when it is still that version.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    key: &str,
    if_version: Option<i64>,
    patch: &PurposePatch,
) -> Result<Purpose> {
    let mut check = Check::default();
    if let Some(name) = &patch.name {
        check.text("name", name, MAX_NAME, false);
    }
    if let Some(description) = &patch.description {
        check.text("description", description, MAX_DESCRIPTION, true);
    }
    let categories = patch.data_categories.as_ref().map(|names| check.categories("data_categories", names));
    if let Some(retention) = &patch.retention {
        check.retention("retention", retention);
    }
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, key)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let recipients = match &patch.recipients {
            Some(ids) => Some(check_recipients(conn, tenant, &mut check, "recipients", ids)?),
            None => None,
        };
        std::mem::take(&mut check).into_result()?;
        let categories = categories.unwrap_or(current.data_categories);
        diesel::update(p::table.filter(p::tenant_id.eq(tenant.as_str())).filter(p::key.eq(key)))
            .set((
                p::name.eq(patch.name.as_deref().map(str::trim).unwrap_or(&current.name)),
                p::description.eq(patch.description.as_deref().map(str::trim).unwrap_or(&current.description)),
                p::legal_basis.eq(patch.legal_basis.unwrap_or(current.legal_basis).as_str()),
                p::data_categories.eq(categories_json(&categories)?),
                p::retention.eq(patch.retention.as_deref().unwrap_or(&current.retention)),
                p::gpc.eq(patch.gpc.unwrap_or(current.gpc)),
                p::version.eq(current.version + 1),
                p::updated_at.eq(kluis_core::time::now()),
            ))
            .execute(conn)?;
        if let Some(recipients) = recipients {
            set_links(conn, tenant, key, &recipients)?;
        }
        Ok(())
    })
    .map_err(DomainError::from)?;
    get(conn, tenant, key)
}

/// Delete a purpose nobody's consent was recorded for; the ledger keeps its
/// events as proof, so a purpose in use stays (409).
pub fn delete(conn: &mut Db, tenant: &TenantId, key: &str, if_version: Option<i64>) -> Result<()> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, tenant, key)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let used: i64 =
            e::table.filter(e::tenant_id.eq(tenant.as_str())).filter(e::purpose.eq(key)).count().get_result(conn)?;
        if used > 0 {
            return Err(DomainError::Conflict {
                code: "purpose_in_use",
                message: "consents were recorded for this purpose; the ledger keeps them as proof".into(),
            }
            .into());
        }
        diesel::delete(p::table.filter(p::tenant_id.eq(tenant.as_str())).filter(p::key.eq(key))).execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)
}
