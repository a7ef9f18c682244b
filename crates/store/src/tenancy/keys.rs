//! Token signing keys (Ed25519). The private half is sealed under the master
//! key; the public half is published in the JWKS. Rotation retires the
//! current key, which stays published until every token it signed has
//! expired, and is deleted after that.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use kluis_core::{DomainError, Result};
use sha2::{Digest, Sha256};
use time::{Duration, PrimitiveDateTime};
use zeroize::Zeroizing;

use crate::crypto::{self, MasterKey};
use crate::db::{Db, write_tx};
use crate::error::{StoreResultExt, TxError};
use crate::schema::signing_keys;

/// The only signing algorithm kluis uses.
pub const ALGORITHM: &str = "EdDSA";

/// A published verification key.
#[derive(Clone, Debug)]
pub struct PublicKey {
    /// Key id (`kid`): the RFC 7638 JWK thumbprint.
    pub kid: String,
    /// The raw 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    /// When it was retired; `None` for the current key.
    pub retired_at: Option<PrimitiveDateTime>,
}

impl PublicKey {
    /// The public key as JWK `x` (base64url, no padding).
    pub fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.public_key)
    }
}

/// The current signing key, opened.
pub struct SigningKey {
    /// Key id.
    pub kid: String,
    /// The private key as PKCS#8 DER (what JWT libraries load).
    pub pkcs8_der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    id: String,
    algorithm: String,
    public_key: Vec<u8>,
    private_key: Vec<u8>,
    created_at: PrimitiveDateTime,
    retired_at: Option<PrimitiveDateTime>,
}

fn context(kid: &str) -> String {
    format!("signing_key:{kid}")
}

/// RFC 7638 thumbprint of an Ed25519 JWK.
fn thumbprint(public_key: &[u8]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public_key));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn generate(master: &MasterKey) -> Result<KeyRow> {
    let mut seed = Zeroizing::new([0u8; 32]);
    crypto::fill_random(seed.as_mut()).map_err(|e| DomainError::Internal(e.to_string()))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public_key = key.verifying_key().to_bytes().to_vec();
    let kid = thumbprint(&public_key);
    let sealed = master.seal(&context(&kid), seed.as_ref()).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(KeyRow {
        id: kid,
        algorithm: ALGORITHM.to_owned(),
        public_key,
        private_key: sealed,
        created_at: kluis_core::time::now(),
        retired_at: None,
    })
}

/// Make sure a current signing key exists (first start); returns its kid.
pub fn ensure_current(conn: &mut Db, master: &MasterKey) -> Result<String> {
    write_tx(conn, |conn| -> Result<String, TxError> {
        let existing: Option<String> = signing_keys::table
            .filter(signing_keys::retired_at.is_null())
            .select(signing_keys::id)
            .order(signing_keys::created_at.desc())
            .first(conn)
            .optional()?;
        if let Some(kid) = existing {
            return Ok(kid);
        }
        let row = generate(master)?;
        diesel::insert_into(signing_keys::table).values(&row).execute(conn)?;
        Ok(row.id)
    })
    .map_err(DomainError::from)
}

/// Retire the current key and make a new one current. Keys retired longer
/// than `max_token_ttl` ago can verify nothing any more and are deleted.
pub fn rotate(conn: &mut Db, master: &MasterKey, max_token_ttl: Duration) -> Result<String> {
    write_tx(conn, |conn| -> Result<String, TxError> {
        let now = kluis_core::time::now();
        diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
            .set(signing_keys::retired_at.eq(Some(now)))
            .execute(conn)?;
        diesel::delete(signing_keys::table.filter(signing_keys::retired_at.lt(now - max_token_ttl))).execute(conn)?;
        let row = generate(master)?;
        diesel::insert_into(signing_keys::table).values(&row).execute(conn)?;
        Ok(row.id)
    })
    .map_err(DomainError::from)
}

/// The id of the current key.
pub fn current_kid(conn: &mut Db) -> Result<String> {
    signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .select(signing_keys::id)
        .order(signing_keys::created_at.desc())
        .first(conn)
        .domain()
}

/// The current key, opened with the master key.
pub fn current(conn: &mut Db, master: &MasterKey) -> Result<SigningKey> {
    let row: KeyRow = signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .select(KeyRow::as_select())
        .order(signing_keys::created_at.desc())
        .first(conn)
        .domain()?;
    let seed = master
        .open(&context(&row.id), &row.private_key)
        .map_err(|e| DomainError::Internal(format!("signing key {}: {e}", row.id)))?;
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| DomainError::Internal(format!("signing key {} has a bad length", row.id)))?;
    let seed = Zeroizing::new(seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let der = key.to_pkcs8_der().map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(SigningKey { kid: row.id, pkcs8_der: Zeroizing::new(der.as_bytes().to_vec()) })
}

/// Keys that may still verify a token: the current one and those retired
/// less than `max_token_ttl` ago.
pub fn published(conn: &mut Db, max_token_ttl: Duration) -> Result<Vec<PublicKey>> {
    let horizon = kluis_core::time::now() - max_token_ttl;
    let rows: Vec<(String, Vec<u8>, Option<PrimitiveDateTime>)> = signing_keys::table
        .filter(signing_keys::retired_at.is_null().or(signing_keys::retired_at.gt(horizon)))
        .select((signing_keys::id, signing_keys::public_key, signing_keys::retired_at))
        .order(signing_keys::created_at.desc())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(|(kid, public_key, retired_at)| PublicKey { kid, public_key, retired_at }).collect())
}
