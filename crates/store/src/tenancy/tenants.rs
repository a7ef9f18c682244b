//! Tenants: the businesses that run kluis for their customers. Only the
//! operator manages them; deleting one deletes all its data (every tenant
//! table cascades from `tenants`).

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, Result, Scope, TenantId};
use time::PrimitiveDateTime;

use super::clients::{self, IssuedClient, NewClient};
use super::rules;
use crate::db::{Db, write_tx};
use crate::error::{StoreResultExt, TxError, UniqueRow, is_unique_violation};
use crate::schema::tenants;

/// Whether a tenant's tokens work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Serving.
    Active,
    /// Kept, but every token of the tenant is refused.
    Suspended,
}

impl TenantStatus {
    /// Whether a tenant with this status is served: its tokens work, its
    /// people can sign in, its public pages answer. The one place that says
    /// which statuses are; every check of a tenant's standing asks it.
    pub fn is_active(self) -> bool {
        matches!(self, TenantStatus::Active)
    }

    fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<TenantStatus> {
        match text {
            "active" => Ok(TenantStatus::Active),
            "suspended" => Ok(TenantStatus::Suspended),
            other => Err(DomainError::Internal(format!("unknown tenant status {other}"))),
        }
    }
}

/// What sign-in does with an unfamiliar device when the person has neither
/// a verified e-mail address to mail a code to nor TOTP to ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnverifiedDevice {
    /// Refuse the sign-in until the address is verified (fail closed; the default).
    #[default]
    Refuse,
    /// Trust the device as it is (the lenient behaviour, chosen explicitly).
    Trust,
}

impl UnverifiedDevice {
    /// Wire and column name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnverifiedDevice::Refuse => "refuse",
            UnverifiedDevice::Trust => "trust",
        }
    }

    fn parse(text: &str) -> Result<UnverifiedDevice> {
        match text {
            "refuse" => Ok(UnverifiedDevice::Refuse),
            "trust" => Ok(UnverifiedDevice::Trust),
            other => Err(DomainError::Internal(format!("unknown unverified_device {other}"))),
        }
    }
}

/// A tenant.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Its id (`tid` in tokens).
    pub id: TenantId,
    /// Its URL name, unique across the platform.
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// Active or suspended.
    pub status: TenantStatus,
    /// Optimistic-concurrency version, bumped by every change.
    pub version: i64,
    /// When it was created.
    pub created_at: PrimitiveDateTime,
    /// When it last changed.
    pub updated_at: PrimitiveDateTime,
    /// Staff scopes are granted only once a staff account has TOTP.
    pub require_staff_totp: bool,
    /// A sign-in from an unfamiliar device needs a code mailed to the person.
    pub device_step_up: bool,
    /// An unfamiliar device of a person without a verified address or TOTP.
    pub unverified_device: UnverifiedDevice,
    /// How long a person's own erasure request waits before it is carried
    /// out (they may cancel within it); 0 erases at once.
    pub self_erasure_grace_seconds: i64,
    /// The longest any of the tenant's data may be kept (an ISO 8601
    /// duration agreed with the operator); `None`: no ceiling.
    pub max_retention: Option<String>,
    /// Where the tenant's privacy questions go (data-subject requests,
    /// reminders of their deadlines, breaches); `None`: not set.
    pub privacy_contact_email: Option<String>,
    /// Requests are taken only from the tenant itself: a person's own and
    /// public requests are refused, naming the privacy contact.
    pub requests_via_tenant_only: bool,
    /// The IANA time zone whose days count a request's deadline.
    pub time_zone: String,
    /// Where the e-mail verification mail links to, `{token}` marking the
    /// token's place; `None`: the mail carries only the code.
    pub verify_email_url: Option<String>,
    /// Where the password reset mail links to, likewise.
    pub reset_password_url: Option<String>,
    /// The WebAuthn relying party ID (a domain); `None`: passkeys are off.
    pub passkey_rp_id: Option<String>,
    /// The origins allowed to use passkeys (each on the RP ID's domain).
    pub passkey_origins: Vec<String>,
    /// kluis serves the tenant's privacy centre at `/privacy/{slug}/`, and
    /// its mails link there unless the tenant set its own link bases.
    pub privacy_centre: bool,
}

/// The time zone a tenant starts with.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Amsterdam";

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
struct TenantRow {
    id: String,
    slug: String,
    name: String,
    status: String,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
    require_staff_totp: bool,
    device_step_up: bool,
    unverified_device: String,
    self_erasure_grace_seconds: i64,
    max_retention: Option<String>,
    privacy_contact_email: Option<String>,
    requests_via_tenant_only: bool,
    time_zone: String,
    verify_email_url: Option<String>,
    reset_password_url: Option<String>,
    passkey_rp_id: Option<String>,
    passkey_origins: Option<String>,
    privacy_centre: bool,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = DomainError;

    fn try_from(row: TenantRow) -> Result<Tenant> {
        Ok(Tenant {
            id: TenantId(row.id),
            slug: row.slug,
            name: row.name,
            status: TenantStatus::parse(&row.status)?,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            require_staff_totp: row.require_staff_totp,
            device_step_up: row.device_step_up,
            unverified_device: UnverifiedDevice::parse(&row.unverified_device)?,
            self_erasure_grace_seconds: row.self_erasure_grace_seconds,
            max_retention: row.max_retention,
            privacy_contact_email: row.privacy_contact_email,
            requests_via_tenant_only: row.requests_via_tenant_only,
            time_zone: row.time_zone,
            verify_email_url: row.verify_email_url,
            reset_password_url: row.reset_password_url,
            passkey_rp_id: row.passkey_rp_id,
            passkey_origins: row
                .passkey_origins
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| DomainError::Internal(format!("passkey_origins: {e}")))?
                .unwrap_or_default(),
            privacy_centre: row.privacy_centre,
        })
    }
}

/// What the operator gives to create a tenant.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Display name.
    pub name: String,
    /// URL name.
    pub slug: String,
}

/// A change to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    /// New display name.
    pub name: Option<String>,
    /// New URL name.
    pub slug: Option<String>,
    /// Suspend or reactivate.
    pub status: Option<TenantStatus>,
    /// Require TOTP before staff scopes are granted.
    pub require_staff_totp: Option<bool>,
    /// Step up unfamiliar devices by e-mail.
    pub device_step_up: Option<bool>,
    /// Refuse or trust an unfamiliar device that cannot step up.
    pub unverified_device: Option<UnverifiedDevice>,
    /// The grace period of self-service erasure, in seconds (0 to [`MAX_SELF_ERASURE_GRACE`]).
    pub self_erasure_grace_seconds: Option<i64>,
    /// The retention ceiling; `Some(None)` removes it.
    pub max_retention: Option<Option<String>>,
    /// The privacy contact's address; `Some(None)` removes it.
    pub privacy_contact_email: Option<Option<String>>,
    /// Take requests only from the tenant itself.
    pub requests_via_tenant_only: Option<bool>,
    /// The IANA time zone of deadlines (the caller checks that the zone exists).
    pub time_zone: Option<String>,
    /// The verification mail's link base; `Some(None)` removes it.
    pub verify_email_url: Option<Option<String>>,
    /// The reset mail's link base; `Some(None)` removes it.
    pub reset_password_url: Option<Option<String>>,
    /// The passkey relying party ID; `Some(None)` turns passkeys off.
    pub passkey_rp_id: Option<Option<String>>,
    /// The origins allowed to use passkeys; `Some(vec![])` removes them.
    pub passkey_origins: Option<Vec<String>>,
    /// Serve the privacy centre.
    pub privacy_centre: Option<bool>,
}

/// The longest grace period of a self-service erasure: 30 days (Art. 12(3)
/// asks an answer within a month).
pub const MAX_SELF_ERASURE_GRACE: i64 = 30 * 24 * 3600;

fn slug_taken() -> DomainError {
    DomainError::Conflict { code: "slug_taken", message: "a tenant with this slug exists".into() }
}

/// Create a tenant and its first admin client (every tenant scope) in one
/// transaction; the client's secret is returned once, here.
pub fn create(conn: &mut Db, new: &NewTenant) -> Result<(Tenant, IssuedClient)> {
    let mut errors = Vec::new();
    rules::check_name("name", &new.name, &mut errors);
    rules::check_slug(&new.slug, &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let now = kluis_core::time::now();
    let row = TenantRow {
        id: kluis_core::new_id(),
        slug: new.slug.clone(),
        name: new.name.trim().to_owned(),
        status: TenantStatus::Active.as_str().to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        require_staff_totp: true,
        device_step_up: true,
        unverified_device: UnverifiedDevice::default().as_str().to_owned(),
        self_erasure_grace_seconds: 0,
        max_retention: None,
        privacy_contact_email: None,
        requests_via_tenant_only: false,
        time_zone: DEFAULT_TIME_ZONE.to_owned(),
        verify_email_url: None,
        reset_password_url: None,
        passkey_rp_id: None,
        passkey_origins: None,
        privacy_centre: false,
    };
    let admin =
        NewClient { name: "admin".to_owned(), scopes: Scope::tenant_client_scopes().collect(), purposes: Vec::new() };
    write_tx(conn, |conn| -> Result<_, TxError> {
        diesel::insert_into(tenants::table)
            .values(&row)
            .execute(conn)
            .map_err(|e| if is_unique_violation(&e) { TxError(slug_taken()) } else { TxError::from(e) })?;
        let tenant_id = TenantId(row.id.clone());
        let issued = clients::insert(conn, &tenant_id, &admin)?;
        Ok(issued)
    })
    .map_err(DomainError::from)
    .and_then(|issued| Ok((Tenant::try_from(row)?, issued)))
}

/// One tenant by id.
pub fn get(conn: &mut Db, id: &TenantId) -> Result<Tenant> {
    tenants::table.find(id.as_str()).select(TenantRow::as_select()).first(conn).domain()?.try_into()
}

/// One tenant by slug.
pub fn get_by_slug(conn: &mut Db, slug: &str) -> Result<Tenant> {
    tenants::table.filter(tenants::slug.eq(slug)).select(TenantRow::as_select()).first(conn).domain()?.try_into()
}

/// The ids of every tenant, in creation order (for per-tenant setup at migration).
pub fn all_ids(conn: &mut Db) -> Result<Vec<TenantId>> {
    let ids: Vec<String> = tenants::table.select(tenants::id).order(tenants::id.asc()).load(conn).domain()?;
    Ok(ids.into_iter().map(TenantId).collect())
}

/// Tenants in creation order, `limit` at a time after the id `after`.
pub fn list(conn: &mut Db, limit: i64, after: Option<&str>) -> Result<Page<Tenant>> {
    let mut query =
        tenants::table.select(TenantRow::as_select()).order(tenants::id.asc()).limit(limit + 1).into_boxed();
    if let Some(after) = after {
        query = query.filter(tenants::id.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let tenants = rows.into_iter().map(Tenant::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(tenants, limit, |t| t.id.0.clone()))
}

/// Change a tenant. With `if_version`, only when it is still that version.
pub fn update(conn: &mut Db, id: &TenantId, if_version: Option<i64>, changes: &TenantChanges) -> Result<Tenant> {
    let mut errors: Vec<FieldError> = Vec::new();
    if let Some(name) = &changes.name {
        rules::check_name("name", name, &mut errors);
    }
    if let Some(slug) = &changes.slug {
        rules::check_slug(slug, &mut errors);
    }
    if changes.self_erasure_grace_seconds.is_some_and(|s| !(0..=MAX_SELF_ERASURE_GRACE).contains(&s)) {
        errors.push(FieldError::new("self_erasure_grace_seconds", "must be 0 to 2592000 (30 days)"));
    }
    if let Some(Some(ceiling)) = &changes.max_retention {
        rules::check_retention("max_retention", ceiling, &mut errors);
    }
    if let Some(Some(address)) = &changes.privacy_contact_email
        && (address.len() > 254 || !kluis_core::validate::is_email(address))
    {
        errors.push(FieldError::new("privacy_contact_email", "must be an e-mail address"));
    }
    for (field, link) in
        [("verify_email_url", &changes.verify_email_url), ("reset_password_url", &changes.reset_password_url)]
    {
        if let Some(Some(link)) = link {
            rules::check_link(field, link, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    write_tx(conn, |conn| -> Result<Tenant, TxError> {
        let current = get(conn, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        let now = kluis_core::time::now();
        let name = changes.name.as_deref().map(str::trim).unwrap_or(&current.name).to_owned();
        let slug = changes.slug.clone().unwrap_or_else(|| current.slug.clone());
        let status = changes.status.unwrap_or(current.status);
        let require_staff_totp = changes.require_staff_totp.unwrap_or(current.require_staff_totp);
        let device_step_up = changes.device_step_up.unwrap_or(current.device_step_up);
        let unverified_device = changes.unverified_device.unwrap_or(current.unverified_device);
        let grace = changes.self_erasure_grace_seconds.unwrap_or(current.self_erasure_grace_seconds);
        let max_retention = changes.max_retention.clone().unwrap_or_else(|| current.max_retention.clone());
        let privacy_contact_email = changes
            .privacy_contact_email
            .clone()
            .map(|a| a.map(|a| a.trim().to_owned()))
            .unwrap_or_else(|| current.privacy_contact_email.clone());
        let via_tenant_only = changes.requests_via_tenant_only.unwrap_or(current.requests_via_tenant_only);
        let time_zone = changes.time_zone.clone().unwrap_or_else(|| current.time_zone.clone());
        let verify_email_url = changes.verify_email_url.clone().unwrap_or_else(|| current.verify_email_url.clone());
        let reset_password_url =
            changes.reset_password_url.clone().unwrap_or_else(|| current.reset_password_url.clone());
        let passkey_rp_id = changes.passkey_rp_id.clone().unwrap_or_else(|| current.passkey_rp_id.clone());
        let passkey_origins = changes.passkey_origins.clone().unwrap_or_else(|| current.passkey_origins.clone());
        let privacy_centre = changes.privacy_centre.unwrap_or(current.privacy_centre);
        if changes.passkey_rp_id.is_some() || changes.passkey_origins.is_some() {
            let mut errors = Vec::new();
            rules::check_relying_party(passkey_rp_id.as_deref(), &passkey_origins, &mut errors);
            if !errors.is_empty() {
                return Err(DomainError::Validation(errors).into());
            }
        }
        let origins_text = if passkey_origins.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&passkey_origins).map_err(|e| DomainError::Internal(e.to_string()))?)
        };
        diesel::update(tenants::table.find(id.as_str()).filter(tenants::version.eq(current.version)))
            .set((
                tenants::name.eq(&name),
                tenants::slug.eq(&slug),
                tenants::status.eq(status.as_str()),
                tenants::require_staff_totp.eq(require_staff_totp),
                tenants::device_step_up.eq(device_step_up),
                tenants::unverified_device.eq(unverified_device.as_str()),
                tenants::self_erasure_grace_seconds.eq(grace),
                tenants::max_retention.eq(&max_retention),
                tenants::privacy_contact_email.eq(&privacy_contact_email),
                tenants::requests_via_tenant_only.eq(via_tenant_only),
                tenants::time_zone.eq(&time_zone),
                tenants::verify_email_url.eq(&verify_email_url),
                tenants::reset_password_url.eq(&reset_password_url),
                tenants::passkey_rp_id.eq(&passkey_rp_id),
                tenants::passkey_origins.eq(&origins_text),
                tenants::privacy_centre.eq(privacy_centre),
                tenants::version.eq(current.version + 1),
                tenants::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(|e| if is_unique_violation(&e) { TxError(slug_taken()) } else { TxError::from(e) })?;
        Ok(Tenant {
            name,
            slug,
            status,
            require_staff_totp,
            device_step_up,
            unverified_device,
            self_erasure_grace_seconds: grace,
            max_retention,
            privacy_contact_email,
            requests_via_tenant_only: via_tenant_only,
            time_zone,
            verify_email_url,
            reset_password_url,
            passkey_rp_id,
            passkey_origins,
            privacy_centre,
            version: current.version + 1,
            updated_at: now,
            ..current
        })
    })
    .map_err(DomainError::from)
}

/// Delete a tenant and, through the cascade, everything it holds.
pub fn delete(conn: &mut Db, id: &TenantId, if_version: Option<i64>) -> Result<()> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let current = get(conn, id)?;
        if if_version.is_some_and(|v| v != current.version) {
            return Err(DomainError::VersionMismatch.into());
        }
        diesel::delete(tenants::table.find(id.as_str())).execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)
}

/// True when the tenant exists and is active.
pub fn is_active(conn: &mut Db, id: &TenantId) -> Result<bool> {
    let status: Option<String> = tenants::table.find(id.as_str()).select(tenants::status).unique_row(conn).domain()?;
    Ok(status.as_deref().map(TenantStatus::parse).transpose()?.is_some_and(TenantStatus::is_active))
}
