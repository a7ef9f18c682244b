//! The platform operator's clients. The first is created on first start and
//! written to `<data_dir>/operator-client.json`; more come from the CLI.
//! They manage tenants and can never read a tenant's data.

use diesel::prelude::*;
use kluis_core::{ClientId, DomainError, Result};
use time::PrimitiveDateTime;
use zeroize::Zeroizing;

use super::{CLIENT_SECRET_PREFIX, rules};
use crate::crypto;
use crate::db::{Db, write_tx};
use crate::error::{StoreResultExt, TxError, UniqueRow};
use crate::schema::operator_clients;

/// An operator client with its secret, shown once.
#[derive(Debug)]
pub struct IssuedOperatorClient {
    /// Its id.
    pub client_id: ClientId,
    /// Its secret, in clear, this once.
    pub secret: Zeroizing<String>,
}

#[derive(Insertable)]
#[diesel(table_name = operator_clients)]
struct OperatorInsert<'a> {
    id: &'a str,
    name: &'a str,
    secret_hash: Vec<u8>,
    tokens_valid_after: PrimitiveDateTime,
    created_at: PrimitiveDateTime,
}

/// Create an operator client.
pub fn create(conn: &mut Db, name: &str) -> Result<IssuedOperatorClient> {
    let mut errors = Vec::new();
    rules::check_name("name", name, &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let secret = crypto::new_secret(CLIENT_SECRET_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))?;
    let client_id = ClientId::generate();
    let now = kluis_core::time::now();
    let row = OperatorInsert {
        id: client_id.as_str(),
        name: name.trim(),
        secret_hash: crypto::hash_secret(&secret),
        tokens_valid_after: now,
        created_at: now,
    };
    write_tx(conn, |conn| -> Result<(), TxError> {
        diesel::insert_into(operator_clients::table).values(&row).execute(conn)?;
        Ok(())
    })?;
    Ok(IssuedOperatorClient { client_id, secret })
}

/// True when no operator client exists yet (first start).
pub fn none_exist(conn: &mut Db) -> Result<bool> {
    let count: i64 = operator_clients::table.count().get_result(conn).domain()?;
    Ok(count == 0)
}

pub(super) fn find_for_auth(conn: &mut Db, id: &str) -> Result<Option<Vec<u8>>> {
    operator_clients::table
        .find(id)
        .filter(operator_clients::revoked_at.is_null())
        .select(operator_clients::secret_hash)
        .first(conn)
        .optional()
        .domain()
}

pub(super) fn is_live(conn: &mut Db, id: &str, issued_at_ms: i64) -> Result<bool> {
    let valid_after: Option<PrimitiveDateTime> = operator_clients::table
        .find(id)
        .filter(operator_clients::revoked_at.is_null())
        .select(operator_clients::tokens_valid_after)
        .unique_row(conn)
        .domain()?;
    Ok(valid_after.is_some_and(|after| issued_at_ms >= kluis_core::time::unix_millis(after)))
}
