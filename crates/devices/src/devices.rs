//! Device rows: one per device a person signed in from and trusted. The
//! device key the client keeps is stored only as its SHA-256 hash.

use std::net::IpAddr;

use diesel::prelude::*;
use kluis_core::category::Category;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::crypto;
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::personal::{Idle, Purge, PurgeAction};
use kluis_store::schema::devices as d;
use serde::{Deserialize, Serialize};
use time::PrimitiveDateTime;
use zeroize::Zeroizing;

use crate::estimate::{ClientHints, Estimate, estimate};

const KEY_PREFIX: &str = "kdev_";

/// What one sign-in tells about the device.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Observation {
    /// The device key the client kept from an earlier sign-in.
    pub key: Option<String>,
    /// The connection's IP (or the client's, behind a trusted proxy).
    pub ip: Option<IpAddr>,
    /// The User-Agent.
    pub user_agent: Option<String>,
    /// The `Sec-CH-UA*` values.
    pub client_hints: ClientHints,
    /// Screen width and height in CSS pixels.
    pub screen: Option<(i64, i64)>,
    /// The device's language (BCP 47).
    pub language: Option<String>,
}

/// A trusted device.
#[derive(Clone, Debug)]
pub struct Device {
    /// Device id.
    pub id: String,
    /// Whose.
    pub person_id: PersonId,
    /// The last IP it signed in from.
    pub ip: Option<String>,
    /// The last User-Agent.
    pub user_agent: Option<String>,
    /// The last client hints.
    pub client_hints: Option<ClientHints>,
    /// Screen size.
    pub screen: Option<(i64, i64)>,
    /// Device language.
    pub language: Option<String>,
    /// The estimate.
    pub estimate: Estimate,
    /// First sign-in.
    pub first_seen_at: PrimitiveDateTime,
    /// Last sign-in.
    pub last_login_at: PrimitiveDateTime,
    /// Last authenticated request (written at most once a minute).
    pub last_activity_at: PrimitiveDateTime,
}

/// How a sign-in's device relates to the person's devices.
#[derive(Debug)]
pub enum Recognition {
    /// It presented the key of this trusted device.
    Known(Box<Device>),
    /// The person's first device: trusted.
    First,
    /// Like one of the person's devices: trusted.
    Familiar,
    /// Unlike any of them: step up first.
    Unfamiliar,
}

type Row = (
    (String, String, Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<String>),
    (Option<String>, Option<String>, Option<String>, Option<String>, String, Option<String>, Option<String>),
    (PrimitiveDateTime, PrimitiveDateTime, PrimitiveDateTime),
);

macro_rules! columns {
    () => {
        (
            (
                d::id,
                d::person_id,
                d::ip,
                d::user_agent,
                d::client_hints,
                d::screen_width,
                d::screen_height,
                d::language,
            ),
            (d::browser, d::browser_version, d::os, d::os_version, d::device_type, d::vendor, d::model),
            (d::first_seen_at, d::last_login_at, d::last_activity_at),
        )
    };
}

fn device(row: Row) -> Device {
    let (
        (id, person, ip, user_agent, hints, width, height, language),
        (browser, browser_version, os, os_version, device_type, vendor, model),
        (first, login, activity),
    ) = row;
    Device {
        id,
        person_id: PersonId(person),
        ip,
        user_agent,
        client_hints: hints.and_then(|h| serde_json::from_str(&h).ok()),
        screen: width.zip(height),
        language,
        estimate: Estimate { browser, browser_version, os, os_version, device_type, vendor, model },
        first_seen_at: first,
        last_login_at: login,
        last_activity_at: activity,
    }
}

/// A person's devices, most recently used first.
pub fn list(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Device>> {
    let rows: Vec<Row> = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::person_id.eq(person.as_str()))
        .order(d::last_login_at.desc())
        .select(columns!())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(device).collect())
}

/// Recognise the device of a sign-in.
pub fn recognize(conn: &mut Db, tenant: &TenantId, person: &PersonId, seen: &Observation) -> Result<Recognition> {
    if let Some(key) = &seen.key {
        let row: Option<Row> = d::table
            .filter(d::tenant_id.eq(tenant.as_str()))
            .filter(d::key_hash.eq(crypto::hash_secret(key)))
            .filter(d::person_id.eq(person.as_str()))
            .select(columns!())
            .first(conn)
            .optional()
            .domain()?;
        if let Some(row) = row {
            return Ok(Recognition::Known(Box::new(device(row))));
        }
    }
    let devices = list(conn, tenant, person)?;
    if devices.is_empty() {
        return Ok(Recognition::First);
    }
    let this = estimate(seen.user_agent.as_deref(), &seen.client_hints);
    Ok(if devices.iter().any(|d| d.estimate.familiar(&this)) { Recognition::Familiar } else { Recognition::Unfamiliar })
}

fn clip(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).collect())
}

/// Trust a device: store it with a new key, returned this once for the
/// client to keep.
pub fn trust(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    seen: &Observation,
) -> Result<(Device, Zeroizing<String>), TxError> {
    let key = crypto::new_secret(KEY_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = kluis_core::time::now();
    let id = kluis_core::new_id();
    let e = estimate(seen.user_agent.as_deref(), &seen.client_hints);
    let hints = serde_json::to_string(&seen.client_hints).ok();
    diesel::insert_into(d::table)
        .values((
            (
                d::tenant_id.eq(tenant.as_str()),
                d::id.eq(&id),
                d::person_id.eq(person.as_str()),
                d::key_hash.eq(crypto::hash_secret(&key)),
                d::ip.eq(seen.ip.map(|ip| ip.to_string())),
                d::user_agent.eq(clip(seen.user_agent.as_deref(), 512)),
                d::client_hints.eq(&hints),
                d::screen_width.eq(seen.screen.map(|s| s.0)),
                d::screen_height.eq(seen.screen.map(|s| s.1)),
                d::language.eq(clip(seen.language.as_deref(), 35)),
            ),
            (
                d::browser.eq(&e.browser),
                d::browser_version.eq(&e.browser_version),
                d::os.eq(&e.os),
                d::os_version.eq(&e.os_version),
                d::device_type.eq(&e.device_type),
                d::vendor.eq(&e.vendor),
                d::model.eq(&e.model),
            ),
            (d::first_seen_at.eq(now), d::last_login_at.eq(now), d::last_activity_at.eq(now)),
        ))
        .execute(conn)?;
    let device = Device {
        id,
        person_id: person.clone(),
        ip: seen.ip.map(|ip| ip.to_string()),
        user_agent: clip(seen.user_agent.as_deref(), 512),
        client_hints: Some(seen.client_hints.clone()),
        screen: seen.screen,
        language: seen.language.clone(),
        estimate: e,
        first_seen_at: now,
        last_login_at: now,
        last_activity_at: now,
    };
    Ok((device, key))
}

/// A known device signed in again: its last sign-in, IP and agent move.
pub fn signed_in(conn: &mut Db, tenant: &TenantId, id: &str, seen: &Observation) -> Result<(), TxError> {
    let now = kluis_core::time::now();
    diesel::update(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::id.eq(id)))
        .set((
            d::last_login_at.eq(now),
            d::last_activity_at.eq(now),
            d::ip.eq(seen.ip.map(|ip| ip.to_string())),
            d::user_agent.eq(clip(seen.user_agent.as_deref(), 512)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Record activity (the caller throttles this to once a minute per device).
pub fn active(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<()> {
    diesel::update(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::id.eq(id)))
        .set(d::last_activity_at.eq(kluis_core::time::now()))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// Remove a person's device.
pub fn remove(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<(), TxError> {
    let n = diesel::delete(
        d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::person_id.eq(person.as_str())).filter(d::id.eq(id)),
    )
    .execute(conn)?;
    if n == 1 { Ok(()) } else { Err(DomainError::NotFound.into()) }
}

/// Delete or anonymise the devices a retention purge reaches (see
/// [`Purge`]), at most `purge.limit` of them; dry, count them all.
/// `user.device` deletes a device, or anonymised clears what identifies it
/// (IP, User-Agent, client hints, screen, language) and keeps the coarse
/// estimate; `user.device.ip_address` clears the IP only. "Created" is when
/// the device was first seen; "idle" is its own last activity.
pub fn purge(conn: &mut Db, tenant: &TenantId, purge: &Purge<'_>) -> Result<u64> {
    let ip_only = match purge.category {
        Category::Device => false,
        Category::IpAddress => true,
        _ => return Ok(0),
    };
    if purge.due.is_unbounded() || purge.due.idle == Some(Idle::OfPersons) {
        return Ok(0);
    }
    let anonymise = ip_only || purge.action == PurgeAction::Anonymise;
    let persons: Option<Vec<&str>> = purge.due.persons.map(|p| p.iter().map(PersonId::as_str).collect());
    let skip: Vec<&str> = purge.skip.iter().map(PersonId::as_str).collect();
    let due = || {
        let mut query = d::table.filter(d::tenant_id.eq(tenant.as_str())).into_boxed();
        if let Some(at) = purge.due.created_before {
            query = query.filter(d::first_seen_at.lt(at));
        }
        if let Some(at) = purge.due.idle_before() {
            query = query.filter(d::last_activity_at.lt(at));
        }
        if let Some(persons) = &persons {
            query = query.filter(d::person_id.eq_any(persons));
        }
        if !skip.is_empty() {
            query = query.filter(d::person_id.ne_all(&skip));
        }
        if ip_only {
            query = query.filter(d::ip.is_not_null());
        } else if anonymise {
            query = query.filter(
                d::ip
                    .is_not_null()
                    .or(d::user_agent.is_not_null())
                    .or(d::client_hints.is_not_null())
                    .or(d::screen_width.is_not_null())
                    .or(d::language.is_not_null()),
            );
        }
        query
    };
    if purge.dry_run {
        let n: i64 = due().count().get_result(conn).domain()?;
        return Ok(n.unsigned_abs());
    }
    let ids: Vec<String> = due().select(d::id).limit(purge.limit_i64()).load(conn).domain()?;
    let batch = d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::id.eq_any(&ids));
    let n = if ip_only {
        diesel::update(batch).set(d::ip.eq(None::<String>)).execute(conn)
    } else if anonymise {
        diesel::update(batch)
            .set((
                d::ip.eq(None::<String>),
                d::user_agent.eq(None::<String>),
                d::client_hints.eq(None::<String>),
                d::screen_width.eq(None::<i64>),
                d::screen_height.eq(None::<i64>),
                d::language.eq(None::<String>),
            ))
            .execute(conn)
    } else {
        diesel::delete(batch).execute(conn)
    }
    .domain()?;
    Ok(n as u64)
}

/// The people of `persons` with a device active since `since`: the devices'
/// part of a person's last activity.
pub fn active_since(
    conn: &mut Db,
    tenant: &TenantId,
    persons: &[PersonId],
    since: PrimitiveDateTime,
) -> Result<Vec<PersonId>> {
    let persons: Vec<&str> = persons.iter().map(PersonId::as_str).collect();
    let active: Vec<String> = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .filter(d::person_id.eq_any(&persons))
        .filter(d::last_activity_at.ge(since))
        .select(d::person_id)
        .distinct()
        .load(conn)
        .domain()?;
    Ok(active.into_iter().map(PersonId).collect())
}

/// Delete every device of a person (erasure).
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// The people of the tenant with a device kept here, in id order (whom a
/// breach of device data concerns).
pub fn persons(conn: &mut Db, tenant: &TenantId) -> Result<Vec<PersonId>> {
    let ids: Vec<String> = d::table
        .filter(d::tenant_id.eq(tenant.as_str()))
        .select(d::person_id)
        .distinct()
        .order(d::person_id.asc())
        .load(conn)
        .domain()?;
    Ok(ids.into_iter().map(PersonId).collect())
}
