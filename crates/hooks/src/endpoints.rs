//! Webhook endpoints (`webhooks`): a URL, the event types it receives, the
//! purposes it narrows consent events to, and the app (client) it speaks
//! for. The signing secret is sealed under the master key, bound to its row;
//! a rotation keeps the previous secret signing for [`ROTATION_OVERLAP`].
//! An endpoint that answers 410 or keeps failing is disabled; PATCH
//! `enabled: true` turns it on again.

use std::net::{IpAddr, ToSocketAddrs};

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, Result, TenantId};
use kluis_store::Db;
use kluis_store::MasterKey;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::{webhook_deliveries as d, webhooks as w};
use time::{Duration, PrimitiveDateTime};
use zeroize::Zeroizing;

use crate::events::EVENT_TYPES;
use crate::{Policy, guard, signing};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// Longest URL, in characters.
pub const MAX_URL: usize = 2048;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 200;
/// Most purposes one endpoint narrows to.
pub const MAX_PURPOSES: usize = 50;

/// Why an endpoint is disabled.
pub const DISABLED_GONE: &str = "gone";
/// An endpoint whose delivery failed for [`crate::schedule::GIVE_UP_AFTER`].
pub const DISABLED_FAILING: &str = "failing";
/// Turned off through the API.
pub const DISABLED_MANUALLY: &str = "manual";

/// A webhook endpoint (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Endpoint id.
    pub id: String,
    /// The app (client) it speaks for.
    pub client_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// What it is for, in words.
    pub description: Option<String>,
    /// The event types it receives.
    pub event_types: Vec<String>,
    /// When not empty: consent events only of these purposes.
    pub purposes: Vec<String>,
    /// Whether deliveries go out.
    pub enabled: bool,
    /// Why it was disabled: `gone` (410), `failing`, `manual`.
    pub disabled_reason: Option<String>,
    /// Until when the previous secret still signs, after a rotation.
    pub previous_secret_until: Option<PrimitiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Made.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

impl Webhook {
    /// Whether it receives `event_type` (about `purpose`, for consent events).
    pub fn wants(&self, event_type: &str, purpose: Option<&str>) -> bool {
        self.enabled
            && self.event_types.iter().any(|t| t == event_type)
            && (self.purposes.is_empty() || purpose.is_none_or(|p| self.purposes.iter().any(|x| x == p)))
    }
}

/// An endpoint to register.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The app it speaks for (a client of the tenant).
    pub client_id: String,
    /// The URL.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// Event types, each of [`EVENT_TYPES`], at least one.
    pub event_types: Vec<String>,
    /// Purpose keys (the use case checks they exist).
    pub purposes: Vec<String>,
}

/// A change to an endpoint; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// New URL.
    pub url: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// New purposes.
    pub purposes: Option<Vec<String>>,
    /// Turn deliveries on or off.
    pub enabled: Option<bool>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = w)]
struct Row {
    id: String,
    client_id: String,
    url: String,
    description: Option<String>,
    event_types: String,
    purposes: String,
    status: String,
    disabled_reason: Option<String>,
    previous_secret_until: Option<PrimitiveDateTime>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

fn list_json(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| DomainError::Internal(format!("stored webhook list: {e}")))
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

impl TryFrom<Row> for Webhook {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Webhook> {
        Ok(Webhook {
            event_types: list_json(&row.event_types)?,
            purposes: list_json(&row.purposes)?,
            enabled: row.status == "active",
            id: row.id,
            client_id: row.client_id,
            url: row.url,
            description: row.description,
            disabled_reason: row.disabled_reason,
            previous_secret_until: row.previous_secret_until,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn secret_context(id: &str, previous: bool) -> String {
    if previous { format!("webhook_secret_previous:{id}") } else { format!("webhook_secret:{id}") }
}

/// The rules of a URL under `policy` that need no network: http(s) as
/// allowed, a host, no credentials, no fragment, at most [`MAX_URL`]
/// characters, and no forbidden IP literal. The parsed URL.
pub fn check_url(text: &str, policy: &Policy) -> std::result::Result<url::Url, FieldError> {
    let bad = |message: &str| FieldError::new("url", message);
    if text.chars().count() > MAX_URL {
        return Err(bad(&format!("must be at most {MAX_URL} characters")));
    }
    let url = url::Url::parse(text).map_err(|_| bad("must be an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(bad("must use https (the operator does not allow http endpoints)")),
        _ => return Err(bad("must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials; verify kluis's signature instead"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    let private = || bad("must not point at a loopback, private, link-local or metadata address");
    match url.host() {
        None => return Err(bad("must name a host")),
        Some(url::Host::Ipv4(ip)) if !policy.allow_private && guard::forbidden(IpAddr::V4(ip)) => return Err(private()),
        Some(url::Host::Ipv6(ip)) if !policy.allow_private && guard::forbidden(IpAddr::V6(ip)) => return Err(private()),
        _ => {}
    }
    Ok(url)
}

/// [`check_url`], then the addresses its host resolves to now (blocking
/// DNS): any forbidden one refuses it. A name that does not resolve yet is
/// accepted; every delivery checks again.
pub fn check_url_resolved(text: &str, policy: &Policy) -> std::result::Result<(), FieldError> {
    let url = check_url(text, policy)?;
    if policy.allow_private {
        return Ok(());
    }
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        if let Ok(addresses) = (host, port).to_socket_addrs()
            && addresses.into_iter().any(|a| guard::forbidden(a.ip()))
        {
            return Err(FieldError::new("url", "resolves to a loopback, private, link-local or metadata address"));
        }
    }
    Ok(())
}

fn check_event_types(types: &[String], errors: &mut Vec<FieldError>) {
    if types.is_empty() {
        errors.push(FieldError::new("event_types", "must name at least one event type"));
    }
    for (i, t) in types.iter().enumerate() {
        if !EVENT_TYPES.contains(&t.as_str()) {
            errors.push(FieldError::new(
                format!("event_types[{i}]"),
                format!("must be one of {}", EVENT_TYPES.join(", ")),
            ));
        } else if types[..i].contains(t) {
            errors.push(FieldError::new(format!("event_types[{i}]"), "is listed twice"));
        }
    }
}

fn check_description(description: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(d) = description {
        if d.chars().count() > MAX_DESCRIPTION {
            errors.push(FieldError::new("description", format!("must be at most {MAX_DESCRIPTION} characters")));
        } else if d.chars().any(char::is_control) {
            errors.push(FieldError::new("description", "must not contain control characters"));
        }
    }
}

fn check_purposes(purposes: &[String], errors: &mut Vec<FieldError>) {
    if purposes.len() > MAX_PURPOSES {
        errors.push(FieldError::new("purposes", format!("must name at most {MAX_PURPOSES} purposes")));
    }
    for (i, p) in purposes.iter().enumerate() {
        if purposes[..i].contains(p) {
            errors.push(FieldError::new(format!("purposes[{i}]"), "is listed twice"));
        }
    }
}

/// The rules of a new endpoint (those that need no stored data or network).
pub fn check(new: &NewWebhook, policy: &Policy) -> Result<()> {
    let mut errors = Vec::new();
    if let Err(e) = check_url(&new.url, policy) {
        errors.push(e);
    }
    check_description(new.description.as_deref(), &mut errors);
    check_event_types(&new.event_types, &mut errors);
    check_purposes(&new.purposes, &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// The rules of a change.
pub fn check_patch(patch: &WebhookPatch, policy: &Policy) -> Result<()> {
    let mut errors = Vec::new();
    if let Some(url) = &patch.url
        && let Err(e) = check_url(url, policy)
    {
        errors.push(e);
    }
    if let Some(description) = &patch.description {
        check_description(description.as_deref(), &mut errors);
    }
    if let Some(types) = &patch.event_types {
        check_event_types(types, &mut errors);
    }
    if let Some(purposes) = &patch.purposes {
        check_purposes(purposes, &mut errors);
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// Register an endpoint; it and its secret, shown this once.
pub fn create(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    new: &NewWebhook,
    policy: &Policy,
) -> Result<(Webhook, Zeroizing<String>)> {
    check(new, policy)?;
    let id = kluis_core::new_id();
    let secret = signing::new_secret()?;
    let sealed = master
        .seal(&secret_context(&id, false), secret.as_bytes())
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = kluis_core::time::now();
    let description = new.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned);
    diesel::insert_into(w::table)
        .values((
            w::tenant_id.eq(tenant.as_str()),
            w::id.eq(&id),
            w::client_id.eq(&new.client_id),
            w::url.eq(&new.url),
            w::description.eq(&description),
            w::event_types.eq(to_json(&new.event_types)),
            w::purposes.eq(to_json(&new.purposes)),
            w::secret.eq(sealed),
            w::status.eq("active"),
            w::version.eq(1i64),
            w::created_at.eq(now),
            w::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    Ok((get(conn, tenant, &id)?, secret))
}

/// One endpoint of the tenant.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Webhook> {
    w::table
        .filter(w::tenant_id.eq(tenant.as_str()))
        .filter(w::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// The tenant's endpoints, oldest first, `limit` at a time after the id `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Webhook>> {
    let mut query = w::table
        .filter(w::tenant_id.eq(tenant.as_str()))
        .order(w::id.asc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(w::id.gt(after.to_owned()));
    }
    let rows: Vec<Row> = query.load(conn).domain()?;
    let hooks = rows.into_iter().map(Webhook::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(hooks, limit, |h| h.id.clone()))
}

/// The tenant's enabled endpoints that receive `event_type` (about `purpose`).
pub fn subscribed(conn: &mut Db, tenant: &TenantId, event_type: &str, purpose: Option<&str>) -> Result<Vec<Webhook>> {
    let rows: Vec<Row> = w::table
        .filter(w::tenant_id.eq(tenant.as_str()))
        .filter(w::status.eq("active"))
        .order(w::id.asc())
        .select(Row::as_select())
        .load(conn)
        .domain()?;
    let hooks = rows.into_iter().map(Webhook::try_from).collect::<Result<Vec<_>>>()?;
    Ok(hooks.into_iter().filter(|h| h.wants(event_type, purpose)).collect())
}

/// Change an endpoint; with `if_version`, only while it is that version.
/// Turning it off fails its pending deliveries (a replay sends one again);
/// turning it on clears why it was off.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    if_version: Option<i64>,
    patch: &WebhookPatch,
    policy: &Policy,
) -> Result<Webhook> {
    check_patch(patch, policy)?;
    let current = get(conn, tenant, id)?;
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    let now = kluis_core::time::now();
    let description = match &patch.description {
        Some(d) => d.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned),
        None => current.description.clone(),
    };
    let enabled = patch.enabled.unwrap_or(current.enabled);
    let (status, reason) = match (enabled, current.enabled) {
        (true, _) => ("active", None),
        (false, false) => ("disabled", current.disabled_reason.clone()),
        (false, true) => ("disabled", Some(DISABLED_MANUALLY.to_owned())),
    };
    diesel::update(w::table.filter(w::tenant_id.eq(tenant.as_str())).filter(w::id.eq(id)))
        .set((
            w::url.eq(patch.url.as_ref().unwrap_or(&current.url)),
            w::description.eq(description),
            w::event_types.eq(to_json(patch.event_types.as_ref().unwrap_or(&current.event_types))),
            w::purposes.eq(to_json(patch.purposes.as_ref().unwrap_or(&current.purposes))),
            w::status.eq(status),
            w::disabled_reason.eq(reason),
            w::version.eq(current.version + 1),
            w::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    if !enabled && current.enabled {
        crate::deliveries::fail_pending(conn, tenant, id, "endpoint disabled")?;
    }
    get(conn, tenant, id)
}

/// Delete an endpoint with its deliveries.
pub fn delete(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<Webhook> {
    let current = get(conn, tenant, id)?;
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    // Attempts go with their deliveries, deliveries with the endpoint (cascades).
    diesel::delete(d::table.filter(d::tenant_id.eq(tenant.as_str())).filter(d::webhook_id.eq(id)))
        .execute(conn)
        .domain()?;
    diesel::delete(w::table.filter(w::tenant_id.eq(tenant.as_str())).filter(w::id.eq(id))).execute(conn).domain()?;
    Ok(current)
}

/// A new secret for an endpoint, shown this once; the one it replaces keeps
/// signing for [`ROTATION_OVERLAP`] (a secret replaced within that time by
/// another rotation stops at once).
pub fn rotate(conn: &mut Db, master: &MasterKey, tenant: &TenantId, id: &str) -> Result<(Webhook, Zeroizing<String>)> {
    let current = get(conn, tenant, id)?;
    let old: Vec<u8> = w::table
        .filter(w::tenant_id.eq(tenant.as_str()))
        .filter(w::id.eq(id))
        .select(w::secret)
        .first(conn)
        .domain()?;
    let opened = master.open(&secret_context(id, false), &old).map_err(|e| DomainError::Internal(e.to_string()))?;
    let previous = master.seal(&secret_context(id, true), &opened).map_err(|e| DomainError::Internal(e.to_string()))?;
    let secret = signing::new_secret()?;
    let sealed =
        master.seal(&secret_context(id, false), secret.as_bytes()).map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = kluis_core::time::now();
    diesel::update(w::table.filter(w::tenant_id.eq(tenant.as_str())).filter(w::id.eq(id)))
        .set((
            w::secret.eq(sealed),
            w::previous_secret.eq(Some(previous)),
            w::previous_secret_until.eq(Some(now + ROTATION_OVERLAP)),
            w::version.eq(current.version + 1),
            w::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    Ok((get(conn, tenant, id)?, secret))
}

/// The secrets that sign at `now`: the current one, and the previous one
/// while its overlap lasts.
pub fn secrets(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    id: &str,
    now: PrimitiveDateTime,
) -> Result<Vec<Zeroizing<String>>> {
    let (current, previous, until): (Vec<u8>, Option<Vec<u8>>, Option<PrimitiveDateTime>) = w::table
        .filter(w::tenant_id.eq(tenant.as_str()))
        .filter(w::id.eq(id))
        .select((w::secret, w::previous_secret, w::previous_secret_until))
        .first(conn)
        .domain()?;
    let open = |sealed: &[u8], previous: bool| -> Result<Zeroizing<String>> {
        let bytes =
            master.open(&secret_context(id, previous), sealed).map_err(|e| DomainError::Internal(e.to_string()))?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| DomainError::Internal("a webhook secret is not UTF-8".into()))
    };
    let mut out = vec![open(&current, false)?];
    if let (Some(previous), Some(until)) = (previous, until)
        && until > now
    {
        out.push(open(&previous, true)?);
    }
    Ok(out)
}

/// Disable an endpoint for `reason` (kluis's own decision: a 410, repeated
/// failure) and fail its pending deliveries; false when it was already off.
pub fn disable(conn: &mut Db, tenant: &TenantId, id: &str, reason: &str) -> Result<bool> {
    let n = diesel::update(
        w::table.filter(w::tenant_id.eq(tenant.as_str())).filter(w::id.eq(id)).filter(w::status.eq("active")),
    )
    .set((
        w::status.eq("disabled"),
        w::disabled_reason.eq(Some(reason)),
        w::version.eq(w::version + 1),
        w::updated_at.eq(kluis_core::time::now()),
    ))
    .execute(conn)
    .domain()?;
    if n == 1 {
        crate::deliveries::fail_pending(conn, tenant, id, "endpoint disabled")?;
    }
    Ok(n == 1)
}
