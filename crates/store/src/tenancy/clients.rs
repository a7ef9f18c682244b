//! A tenant's API clients: back offices, SPA backends and processors that
//! obtain tokens with the client-credentials grant. Secrets are returned once
//! and stored only as SHA-256 hashes. Deleting a client revokes it: its row
//! stays (the audit log names it) but it no longer authenticates or lists.

use diesel::prelude::*;
use kluis_core::page::Page;
use kluis_core::{ClientId, DomainError, FieldError, Result, Scope, TenantId};
use time::PrimitiveDateTime;
use zeroize::Zeroizing;

use super::tenants::TenantStatus;
use super::{CLIENT_SECRET_PREFIX, rules};
use crate::crypto;
use crate::db::{Db, write_tx};
use crate::error::{StoreResultExt, TxError, UniqueRow};
use crate::schema::{api_clients, tenants};

/// A tenant's API client, without its secret.
#[derive(Clone, Debug)]
pub struct ApiClient {
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its id, the OAuth `client_id`.
    pub id: ClientId,
    /// Display name.
    pub name: String,
    /// Scopes its tokens may carry.
    pub scopes: Vec<Scope>,
    /// Processing purposes it is bound to (processors).
    pub purposes: Vec<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When it was created.
    pub created_at: PrimitiveDateTime,
    /// When it last changed.
    pub updated_at: PrimitiveDateTime,
}

/// A client together with a secret that is shown this once.
#[derive(Debug)]
pub struct IssuedClient {
    /// The client.
    pub client: ApiClient,
    /// Its secret, in clear, for this response only.
    pub secret: Zeroizing<String>,
}

/// What a tenant gives to create a client.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Display name.
    pub name: String,
    /// Scopes its tokens may carry (tenant scopes only).
    pub scopes: Vec<Scope>,
    /// Processing purposes it is bound to.
    pub purposes: Vec<String>,
}

/// A change to a client; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    /// New display name.
    pub name: Option<String>,
    /// New scope set.
    pub scopes: Option<Vec<Scope>>,
    /// New purpose set.
    pub purposes: Option<Vec<String>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_clients)]
struct ClientRow {
    tenant_id: String,
    id: String,
    name: String,
    scopes: String,
    purposes: String,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = api_clients)]
struct ClientInsert<'a> {
    tenant_id: &'a str,
    id: &'a str,
    name: &'a str,
    scopes: String,
    purposes: String,
    secret_hash: Vec<u8>,
    tokens_valid_after: PrimitiveDateTime,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl TryFrom<ClientRow> for ApiClient {
    type Error = DomainError;

    fn try_from(row: ClientRow) -> Result<ApiClient> {
        let scopes = Scope::parse_list(&row.scopes).map_err(|e| DomainError::Internal(e.to_string()))?;
        let purposes: Vec<String> =
            serde_json::from_str(&row.purposes).map_err(|e| DomainError::Internal(e.to_string()))?;
        Ok(ApiClient {
            tenant_id: TenantId(row.tenant_id),
            id: ClientId(row.id),
            name: row.name,
            scopes,
            purposes,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn check_scopes(scopes: &[Scope], errors: &mut Vec<FieldError>) {
    if scopes.is_empty() {
        errors.push(FieldError::new("scopes", "at least one scope"));
    }
    for (i, scope) in scopes.iter().enumerate() {
        if !Scope::tenant_client_scopes().any(|s| s == *scope) {
            errors.push(FieldError::new(format!("scopes[{i}]"), "not a scope a tenant client can hold"));
        }
    }
}

fn sorted(mut scopes: Vec<Scope>) -> Vec<Scope> {
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Insert a client inside the caller's transaction (tenant creation uses it).
pub(super) fn insert(conn: &mut Db, tenant: &TenantId, new: &NewClient) -> Result<IssuedClient, TxError> {
    let mut errors = Vec::new();
    rules::check_name("name", &new.name, &mut errors);
    check_scopes(&new.scopes, &mut errors);
    rules::check_purposes(&new.purposes, &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let secret = crypto::new_secret(CLIENT_SECRET_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = kluis_core::time::now();
    let id = ClientId::generate();
    let scopes = sorted(new.scopes.clone());
    let mut purposes = new.purposes.clone();
    purposes.sort();
    purposes.dedup();
    let row = ClientInsert {
        tenant_id: tenant.as_str(),
        id: id.as_str(),
        name: new.name.trim(),
        scopes: Scope::join(&scopes),
        purposes: serde_json::to_string(&purposes).map_err(|e| DomainError::Internal(e.to_string()))?,
        secret_hash: crypto::hash_secret(&secret),
        tokens_valid_after: now,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(api_clients::table).values(&row).execute(conn)?;
    let client = ApiClient {
        tenant_id: tenant.clone(),
        id: id.clone(),
        name: row.name.to_owned(),
        scopes,
        purposes,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    Ok(IssuedClient { client, secret })
}

/// Create a client; its secret is returned once.
pub fn create(conn: &mut Db, tenant: &TenantId, new: &NewClient) -> Result<IssuedClient> {
    write_tx(conn, |conn| insert(conn, tenant, new)).map_err(DomainError::from)
}

/// One live client of `tenant`. Another tenant's client is `NotFound`.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<ApiClient> {
    api_clients::table
        .filter(api_clients::tenant_id.eq(tenant.as_str()))
        .filter(api_clients::id.eq(id))
        .filter(api_clients::revoked_at.is_null())
        .select(ClientRow::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// Live clients of `tenant` in creation order.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<ApiClient>> {
    let mut query = api_clients::table
        .filter(api_clients::tenant_id.eq(tenant.as_str()))
        .filter(api_clients::revoked_at.is_null())
        .select(ClientRow::as_select())
        .order(api_clients::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_clients::id.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let clients = rows.into_iter().map(ApiClient::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(clients, limit, |c| c.id.0.clone()))
}

fn current(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<ApiClient, TxError> {
    let client = get(conn, tenant, id)?;
    if if_version.is_some_and(|v| v != client.version) {
        return Err(DomainError::VersionMismatch.into());
    }
    Ok(client)
}

/// Change a client's name, scopes or purposes.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    if_version: Option<i64>,
    changes: &ClientChanges,
) -> Result<ApiClient> {
    let mut errors = Vec::new();
    if let Some(name) = &changes.name {
        rules::check_name("name", name, &mut errors);
    }
    if let Some(scopes) = &changes.scopes {
        check_scopes(scopes, &mut errors);
    }
    if let Some(purposes) = &changes.purposes {
        rules::check_purposes(purposes, &mut errors);
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    write_tx(conn, |conn| -> Result<ApiClient, TxError> {
        let client = current(conn, tenant, id, if_version)?;
        let now = kluis_core::time::now();
        let name = changes.name.as_deref().map(str::trim).unwrap_or(&client.name).to_owned();
        let scopes = changes.scopes.clone().map(sorted).unwrap_or_else(|| client.scopes.clone());
        let mut purposes = changes.purposes.clone().unwrap_or_else(|| client.purposes.clone());
        purposes.sort();
        purposes.dedup();
        let purposes_json = serde_json::to_string(&purposes).map_err(|e| DomainError::Internal(e.to_string()))?;
        diesel::update(api_clients::table)
            .filter(api_clients::tenant_id.eq(tenant.as_str()))
            .filter(api_clients::id.eq(id))
            .set((
                api_clients::name.eq(&name),
                api_clients::scopes.eq(Scope::join(&scopes)),
                api_clients::purposes.eq(purposes_json),
                api_clients::version.eq(client.version + 1),
                api_clients::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(ApiClient { name, scopes, purposes, version: client.version + 1, updated_at: now, ..client })
    })
    .map_err(DomainError::from)
}

/// Revoke a client: it stops authenticating and its tokens stop working at once.
pub fn revoke(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<()> {
    write_tx(conn, |conn| -> Result<(), TxError> {
        let client = current(conn, tenant, id, if_version)?;
        let now = kluis_core::time::now();
        diesel::update(api_clients::table)
            .filter(api_clients::tenant_id.eq(tenant.as_str()))
            .filter(api_clients::id.eq(id))
            .set((
                api_clients::revoked_at.eq(Some(now)),
                api_clients::version.eq(client.version + 1),
                api_clients::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)
}

/// Replace a client's secret. The old secret stops working, and so do the
/// tokens issued before now: a rotation is what one does after a leak.
pub fn rotate_secret(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<IssuedClient> {
    write_tx(conn, |conn| -> Result<IssuedClient, TxError> {
        let client = current(conn, tenant, id, if_version)?;
        let secret = crypto::new_secret(CLIENT_SECRET_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))?;
        let now = kluis_core::time::now();
        diesel::update(api_clients::table)
            .filter(api_clients::tenant_id.eq(tenant.as_str()))
            .filter(api_clients::id.eq(id))
            .set((
                api_clients::secret_hash.eq(crypto::hash_secret(&secret)),
                api_clients::tokens_valid_after.eq(now),
                api_clients::version.eq(client.version + 1),
                api_clients::updated_at.eq(now),
            ))
            .execute(conn)?;
        let client = ApiClient { version: client.version + 1, updated_at: now, ..client };
        Ok(IssuedClient { client, secret })
    })
    .map_err(DomainError::from)
}

/// For the token endpoint: a live client by id alone, its secret hash, and
/// whether its tenant is active.
pub(super) fn find_for_auth(conn: &mut Db, id: &str) -> Result<Option<(ApiClient, Vec<u8>, bool)>> {
    let found: Option<(ClientRow, Vec<u8>, String)> = api_clients::table
        .inner_join(tenants::table)
        .filter(api_clients::id.eq(id))
        .filter(api_clients::revoked_at.is_null())
        .select((ClientRow::as_select(), api_clients::secret_hash, tenants::status))
        .first(conn)
        .optional()
        .domain()?;
    found
        .map(|(row, hash, status)| Ok((ApiClient::try_from(row)?, hash, TenantStatus::parse(&status)?.is_active())))
        .transpose()
}

/// True while the client is live, its tenant active, and the token was not
/// issued before the client's last secret rotation.
pub(super) fn is_live(conn: &mut Db, tenant: &TenantId, id: &str, issued_at_ms: i64) -> Result<bool> {
    let found: Option<(PrimitiveDateTime, String)> = api_clients::table
        .inner_join(tenants::table)
        .filter(api_clients::tenant_id.eq(tenant.as_str()))
        .filter(api_clients::id.eq(id))
        .filter(api_clients::revoked_at.is_null())
        .select((api_clients::tokens_valid_after, tenants::status))
        .unique_row(conn)
        .domain()?;
    let Some((valid_after, status)) = found else { return Ok(false) };
    Ok(TenantStatus::parse(&status)?.is_active() && issued_at_ms >= kluis_core::time::unix_millis(valid_after))
}
