//! Passkeys (WebAuthn, through `webauthn-rs`): discoverable credentials with
//! user verification, registered by a signed-in person and used to sign in
//! without a password. The tenant is the relying party (its RP ID and
//! allowed origins); passkeys are off until both are set.
//!
//! A ceremony (registration or sign-in) keeps its serialised state in
//! `passkey_ceremonies`, found by its tenant and the SHA-256 of its
//! challenge, which the client's `clientDataJSON` carries back: any
//! instance can finish what another started. A ceremony lives [`CEREMONY_TTL`] and is used once
//! (deleted when taken, whatever the outcome).
//!
//! Nothing here hands out key material: a [`PasskeyInfo`] has a name, dates
//! and the authenticator's AAGUID.

use diesel::prelude::*;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::{StoreResultExt, TxError, is_unique_violation};
use kluis_store::schema::{passkey_ceremonies as pc, passkeys as pk, sessions};
use kluis_store::tenancy::Tenant;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::{Duration, PrimitiveDateTime};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long a ceremony may be finished.
pub const CEREMONY_TTL: Duration = Duration::minutes(5);
/// Most passkeys one person may register.
pub const MAX_PER_PERSON: i64 = 20;
/// Longest passkey name.
pub const MAX_NAME: usize = 100;

const REGISTRATION: &str = "registration";
const AUTHENTICATION: &str = "authentication";

fn off() -> DomainError {
    DomainError::Conflict {
        code: "passkeys_not_configured",
        message: "passkeys are off for this tenant: set passkey_rp_id and passkey_origins (PATCH /v1/tenant)".into(),
    }
}

fn invalid(message: &str) -> DomainError {
    DomainError::invalid("credential", message)
}

/// The tenant's relying party; 409 `passkeys_not_configured` while its RP
/// ID or origins are unset.
pub fn relying_party(tenant: &Tenant) -> Result<Webauthn> {
    let Some(rp_id) = tenant.passkey_rp_id.as_deref() else { return Err(off()) };
    let origins: Vec<Url> = tenant.passkey_origins.iter().filter_map(|o| Url::parse(o).ok()).collect();
    let Some((first, rest)) = origins.split_first() else { return Err(off()) };
    let mut builder = WebauthnBuilder::new(rp_id, first)
        .map_err(|e| DomainError::Internal(format!("relying party: {e}")))?
        .rp_name(&tenant.name);
    for origin in rest {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| DomainError::Internal(format!("relying party: {e}")))
}

/// A registered passkey, as its owner and administrators see it.
#[derive(Debug, Clone)]
pub struct PasskeyInfo {
    /// Its id.
    pub id: String,
    /// Whose.
    pub person_id: PersonId,
    /// The name the person gave it.
    pub name: String,
    /// The authenticator model's AAGUID (all zeros when it does not say).
    pub aaguid: Option<String>,
    /// Registered.
    pub created_at: PrimitiveDateTime,
    /// Last signed in with.
    pub last_used_at: Option<PrimitiveDateTime>,
}

impl PasskeyInfo {
    /// The authenticator's name, where its AAGUID is a well-known one.
    pub fn authenticator(&self) -> Option<&'static str> {
        self.aaguid.as_deref().and_then(authenticator_name)
    }
}

/// Names of well-known authenticators by AAGUID (the passkey providers'
/// own published values).
pub fn authenticator_name(aaguid: &str) -> Option<&'static str> {
    Some(match aaguid {
        "fbfc3007-154e-4ecc-8c0b-6e020557d7bd" => "iCloud Keychain",
        "dd4ec289-e01d-41c9-bb89-70fa845d4bf2" => "iCloud Keychain (Managed)",
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4" => "Google Password Manager",
        "adce0002-35bc-c60a-648b-0b25f1f05503" => "Chrome on Mac",
        "08987058-cadc-4b81-b6e1-30de50dcbe96" => "Windows Hello",
        "9ddd1817-af5a-4672-a2b9-3e3dd95000a9" => "Windows Hello",
        "6028b017-b1d4-4c02-b4b3-afcdafc96bb2" => "Windows Hello",
        "bada5566-a7aa-401f-bd96-45619a55120d" => "1Password",
        "d548826e-79b4-db40-a3d8-11116f7e8349" => "Bitwarden",
        "531126d6-e717-415c-9320-3d9aa6981239" => "Dashlane",
        "b84e4048-15dc-4dd0-8640-f4f60813c8af" => "NordPass",
        "0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6" => "Keeper",
        "cb69481e-8ff7-4039-93ec-0a2729a154a8" => "YubiKey 5 Series",
        "ee882879-721c-4913-9775-3dfcce97072a" => "YubiKey 5 Series",
        _ => return None,
    })
}

type Row = (String, String, String, Option<String>, PrimitiveDateTime, Option<PrimitiveDateTime>);

fn info(row: Row) -> PasskeyInfo {
    let (id, person, name, aaguid, created_at, last_used_at) = row;
    PasskeyInfo { id, person_id: PersonId(person), name, aaguid, created_at, last_used_at }
}

macro_rules! info_columns {
    () => {
        (pk::id, pk::person_id, pk::name, pk::aaguid, pk::created_at, pk::last_used_at)
    };
}

/// Check a passkey's name: 1 to [`MAX_NAME`] characters, no control characters.
pub fn check_name(name: &str) -> Result<()> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME || trimmed.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be 1 to 100 characters, without control characters"));
    }
    Ok(())
}

/// The user handle kluis gives a person's passkeys: their id as a UUID.
fn user_handle(person: &PersonId) -> Result<Uuid> {
    Uuid::parse_str(person.as_str()).map_err(|e| DomainError::Internal(format!("person id is not a uuid: {e}")))
}

/// The SHA-256 of the challenge a client's response answers: its
/// `clientDataJSON` (base64url) names it. `None`: no readable challenge.
pub fn answered_challenge(credential: &Value) -> Option<Vec<u8>> {
    let client_data = credential.get("response")?.get("clientDataJSON")?.as_str()?;
    let bytes = decode_b64(client_data)?;
    let parsed: Value = serde_json::from_slice(&bytes).ok()?;
    let challenge = decode_b64(parsed.get("challenge")?.as_str()?)?;
    Some(Sha256::digest(challenge).to_vec())
}

fn decode_b64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed).ok())
}

fn challenge_hash(options: &Value) -> Result<Vec<u8>> {
    options
        .get("publicKey")
        .and_then(|p| p.get("challenge"))
        .and_then(Value::as_str)
        .and_then(decode_b64)
        .map(|c| Sha256::digest(c).to_vec())
        .ok_or_else(|| DomainError::Internal("options without a challenge".into()))
}

fn store_ceremony(
    conn: &mut Db,
    tenant: &TenantId,
    kind: &str,
    person: Option<&PersonId>,
    hash: Vec<u8>,
    state: String,
) -> Result<(), TxError> {
    let now = kluis_core::time::now();
    // Ceremonies left unfinished are swept as new ones start.
    diesel::delete(pc::table.filter(pc::tenant_id.eq(tenant.as_str())).filter(pc::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(pc::table)
        .values((
            pc::tenant_id.eq(tenant.as_str()),
            pc::challenge_hash.eq(hash),
            pc::kind.eq(kind),
            pc::person_id.eq(person.map(PersonId::as_str)),
            pc::state.eq(state),
            pc::expires_at.eq(now + CEREMONY_TTL),
            pc::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A taken ceremony: its person (registration) and state.
struct Taken {
    person: Option<String>,
    state: String,
}

/// Take (delete) `tenant`'s live ceremony of `kind` that `hash` names;
/// `None` when unknown (or another tenant's), of another kind, used or expired.
fn take_ceremony(conn: &mut Db, tenant: &TenantId, hash: &[u8], kind: &str) -> Result<Option<Taken>, TxError> {
    let found: Option<(String, Option<String>, String, PrimitiveDateTime)> = pc::table
        .filter(pc::tenant_id.eq(tenant.as_str()))
        .filter(pc::challenge_hash.eq(hash))
        .select((pc::kind, pc::person_id, pc::state, pc::expires_at))
        .first(conn)
        .optional()?;
    let Some((found_kind, person, state, expires_at)) = found else { return Ok(None) };
    let taken = diesel::delete(pc::table.filter(pc::tenant_id.eq(tenant.as_str())).filter(pc::challenge_hash.eq(hash)))
        .execute(conn)?;
    if taken != 1 || found_kind != kind || expires_at <= kluis_core::time::now() {
        return Ok(None);
    }
    Ok(Some(Taken { person, state }))
}

fn stored_passkeys(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Passkey>> {
    let rows: Vec<String> = pk::table
        .filter(pk::tenant_id.eq(tenant.as_str()))
        .filter(pk::person_id.eq(person.as_str()))
        .select(pk::credential)
        .load(conn)
        .domain()?;
    rows.iter()
        .map(|text| serde_json::from_str(text).map_err(|e| DomainError::Internal(format!("stored passkey: {e}"))))
        .collect()
}

/// Start registering a passkey for `person`: the creation options for
/// `navigator.credentials.create` (a discoverable credential, user
/// verification required, the person's passkeys excluded), inside the
/// caller's transaction.
pub fn start_registration(
    conn: &mut Db,
    tenant: &Tenant,
    person: &PersonId,
    user_name: &str,
    display_name: &str,
) -> Result<Value, TxError> {
    let webauthn = relying_party(tenant)?;
    let existing = stored_passkeys(conn, &tenant.id, person)?;
    if existing.len() as i64 >= MAX_PER_PERSON {
        return Err(DomainError::Conflict {
            code: "passkey_limit",
            message: format!("a person may register at most {MAX_PER_PERSON} passkeys"),
        }
        .into());
    }
    let exclude = existing.iter().map(|p| p.cred_id().clone()).collect::<Vec<_>>();
    let (ccr, state) = webauthn
        .start_passkey_registration(user_handle(person)?, user_name, display_name, Some(exclude))
        .map_err(|e| DomainError::Internal(format!("passkey registration: {e}")))?;
    let mut options = serde_json::to_value(&ccr).map_err(|e| DomainError::Internal(e.to_string()))?;
    // A passkey here is discoverable: sign-in names no account.
    if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(Value::as_object_mut) {
        selection.insert("residentKey".into(), Value::from("required"));
        selection.insert("requireResidentKey".into(), Value::from(true));
        selection.insert("userVerification".into(), Value::from("required"));
    }
    let state = serde_json::to_string(&state).map_err(|e| DomainError::Internal(e.to_string()))?;
    store_ceremony(conn, &tenant.id, REGISTRATION, Some(person), challenge_hash(&options)?, state)?;
    Ok(options)
}

/// Finish a registration with the authenticator's answer (the JSON of the
/// `PublicKeyCredential` that `create` gave): verified against the stored
/// ceremony (challenge, origin, RP ID, user verification), then kept under
/// `name`. The ceremony is spent whatever the outcome, so the refusal comes
/// back inside `Ok` for the caller to commit: 422 on `credential` for
/// anything that does not verify, 409 when the credential is registered.
pub fn finish_registration(
    conn: &mut Db,
    tenant: &Tenant,
    person: &PersonId,
    name: &str,
    credential: &Value,
) -> Result<Result<PasskeyInfo>, TxError> {
    check_name(name)?;
    let webauthn = relying_party(tenant)?;
    let hash = answered_challenge(credential).ok_or_else(|| invalid("has no readable clientDataJSON challenge"))?;
    let Some(taken) =
        take_ceremony(conn, &tenant.id, &hash, REGISTRATION)?.filter(|t| t.person.as_deref() == Some(person.as_str()))
    else {
        return Ok(Err(invalid("answers no open registration: unknown, used or expired challenge")));
    };
    let state: PasskeyRegistration =
        serde_json::from_str(&taken.state).map_err(|e| DomainError::Internal(format!("ceremony state: {e}")))?;
    let Ok(reg) = serde_json::from_value::<RegisterPublicKeyCredential>(credential.clone()) else {
        return Ok(Err(invalid("is not a PublicKeyCredential")));
    };
    let passkey = match webauthn.finish_passkey_registration(&reg, &state) {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            return Ok(Err(invalid("did not verify (origin, RP ID, challenge, signature or user verification)")));
        }
    };
    let aaguid = attested_aaguid(reg.response.attestation_object.as_ref());
    let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref() as &[u8]);
    let known: i64 = pk::table
        .filter(pk::tenant_id.eq(tenant.id.as_str()))
        .filter(pk::credential_id.eq(&credential_id))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(Err(DomainError::Conflict {
            code: "passkey_registered",
            message: "this credential is registered already".into(),
        }));
    }
    let stored = serde_json::to_string(&passkey).map_err(|e| DomainError::Internal(e.to_string()))?;
    let now = kluis_core::time::now();
    let id = kluis_core::new_id();
    diesel::insert_into(pk::table)
        .values((
            pk::tenant_id.eq(tenant.id.as_str()),
            pk::id.eq(&id),
            pk::person_id.eq(person.as_str()),
            pk::name.eq(name.trim()),
            pk::credential_id.eq(&credential_id),
            pk::user_handle.eq(user_handle(person)?.to_string()),
            pk::credential.eq(&stored),
            pk::aaguid.eq(&aaguid),
            pk::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                TxError(DomainError::Conflict {
                    code: "passkey_registered",
                    message: "this credential is registered already".into(),
                })
            } else {
                TxError::from(e)
            }
        })?;
    Ok(Ok(PasskeyInfo {
        id,
        person_id: person.clone(),
        name: name.trim().to_owned(),
        aaguid,
        created_at: now,
        last_used_at: None,
    }))
}

/// The AAGUID in an attestation object's authenticator data (bytes 37..53
/// of `authData`, after the RP ID hash, flags and counter).
fn attested_aaguid(attestation_object: &[u8]) -> Option<String> {
    let value: serde_cbor_2::Value = serde_cbor_2::from_slice(attestation_object).ok()?;
    let serde_cbor_2::Value::Map(map) = value else { return None };
    let auth_data = map.iter().find_map(|(k, v)| match (k, v) {
        (serde_cbor_2::Value::Text(k), serde_cbor_2::Value::Bytes(b)) if k == "authData" => Some(b),
        _ => None,
    })?;
    let aaguid = auth_data.get(37..53)?;
    Uuid::from_slice(aaguid).ok().map(|u| u.to_string())
}

/// Start a passkey sign-in: request options for a discoverable credential
/// (no account named; `mediation: conditional` lets a browser offer it in
/// autofill), inside the caller's transaction.
pub fn start_authentication(conn: &mut Db, tenant: &Tenant) -> Result<Value, TxError> {
    let webauthn = relying_party(tenant)?;
    let (rcr, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| DomainError::Internal(format!("passkey authentication: {e}")))?;
    let options = serde_json::to_value(&rcr).map_err(|e| DomainError::Internal(e.to_string()))?;
    let state = serde_json::to_string(&state).map_err(|e| DomainError::Internal(e.to_string()))?;
    store_ceremony(conn, &tenant.id, AUTHENTICATION, None, challenge_hash(&options)?, state)?;
    Ok(options)
}

/// How a passkey assertion ended.
#[derive(Debug)]
pub enum Assertion {
    /// Verified, with user verification: the person and the passkey.
    Verified {
        /// Whose.
        person: PersonId,
        /// Which passkey.
        passkey_id: String,
    },
    /// The signature counter did not advance: the key may be cloned. Refused.
    CloneSuspected {
        /// Whose.
        person: PersonId,
        /// Which passkey.
        passkey_id: String,
    },
    /// Anything else: unknown or used challenge, unknown credential, bad
    /// signature, wrong origin or RP ID, no user verification. Refused alike.
    Refused,
}

/// Verify a sign-in assertion (the JSON of the `PublicKeyCredential` that
/// `get` gave) for `tenant`: its ceremony is taken (once), its credential
/// found by id and user handle, its signature, origin, RP ID, user
/// verification and counter checked; the counter and last use are kept.
pub fn finish_authentication(conn: &mut Db, tenant: &Tenant, credential: &Value) -> Result<Assertion, TxError> {
    let Some(hash) = answered_challenge(credential) else { return Ok(Assertion::Refused) };
    let Some(taken) = take_ceremony(conn, &tenant.id, &hash, AUTHENTICATION)? else { return Ok(Assertion::Refused) };
    let webauthn = relying_party(tenant)?;
    let state: DiscoverableAuthentication =
        serde_json::from_str(&taken.state).map_err(|e| DomainError::Internal(format!("ceremony state: {e}")))?;
    let Ok(assertion) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
        return Ok(Assertion::Refused);
    };
    let Ok((handle, cred_id)) = webauthn.identify_discoverable_authentication(&assertion) else {
        return Ok(Assertion::Refused);
    };
    let credential_id = URL_SAFE_NO_PAD.encode(cred_id);
    let found: Option<(String, String, String)> = pk::table
        .filter(pk::tenant_id.eq(tenant.id.as_str()))
        .filter(pk::credential_id.eq(&credential_id))
        .filter(pk::user_handle.eq(handle.to_string()))
        .select((pk::id, pk::person_id, pk::credential))
        .first(conn)
        .optional()?;
    let Some((passkey_id, person, stored)) = found else { return Ok(Assertion::Refused) };
    let mut passkey: Passkey =
        serde_json::from_str(&stored).map_err(|e| DomainError::Internal(format!("stored passkey: {e}")))?;
    let person = PersonId(person);
    let result =
        match webauthn.finish_discoverable_authentication(&assertion, state, &[DiscoverableKey::from(&passkey)]) {
            Ok(result) => result,
            Err(WebauthnError::CredentialPossibleCompromise) => {
                return Ok(Assertion::CloneSuspected { person, passkey_id });
            }
            Err(e) => {
                tracing::info!(error = %e, "passkey assertion refused");
                return Ok(Assertion::Refused);
            }
        };
    if !result.user_verified() {
        return Ok(Assertion::Refused);
    }
    passkey.update_credential(&result);
    let stored = serde_json::to_string(&passkey).map_err(|e| DomainError::Internal(e.to_string()))?;
    diesel::update(pk::table.filter(pk::tenant_id.eq(tenant.id.as_str())).filter(pk::id.eq(&passkey_id)))
        .set((pk::credential.eq(&stored), pk::last_used_at.eq(Some(kluis_core::time::now()))))
        .execute(conn)?;
    Ok(Assertion::Verified { person, passkey_id })
}

/// A person's passkeys, oldest first.
pub fn list(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<PasskeyInfo>> {
    let rows: Vec<Row> = pk::table
        .filter(pk::tenant_id.eq(tenant.as_str()))
        .filter(pk::person_id.eq(person.as_str()))
        .order(pk::id.asc())
        .select(info_columns!())
        .load(conn)
        .domain()?;
    Ok(rows.into_iter().map(info).collect())
}

/// One of a person's passkeys; `NotFound` when not theirs.
pub fn get(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<PasskeyInfo> {
    let row: Row = pk::table
        .filter(pk::tenant_id.eq(tenant.as_str()))
        .filter(pk::person_id.eq(person.as_str()))
        .filter(pk::id.eq(id))
        .select(info_columns!())
        .first(conn)
        .domain()?;
    Ok(info(row))
}

/// Rename one of a person's passkeys (`None`: a change of nothing); the
/// passkey as it now is. `NotFound` when not theirs.
pub fn rename(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
    id: &str,
    name: Option<&str>,
) -> Result<PasskeyInfo> {
    if let Some(name) = name {
        check_name(name)?;
        diesel::update(
            pk::table
                .filter(pk::tenant_id.eq(tenant.as_str()))
                .filter(pk::person_id.eq(person.as_str()))
                .filter(pk::id.eq(id)),
        )
        .set(pk::name.eq(name.trim()))
        .execute(conn)
        .domain()?;
    }
    get(conn, tenant, person, id)
}

/// Remove one of a person's passkeys and end every session it started;
/// how many sessions ended. `NotFound` when not theirs.
pub fn revoke(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<usize, TxError> {
    let n = diesel::delete(
        pk::table
            .filter(pk::tenant_id.eq(tenant.as_str()))
            .filter(pk::person_id.eq(person.as_str()))
            .filter(pk::id.eq(id)),
    )
    .execute(conn)?;
    if n != 1 {
        return Err(DomainError::NotFound.into());
    }
    Ok(diesel::update(
        sessions::table
            .filter(sessions::tenant_id.eq(tenant.as_str()))
            .filter(sessions::person_id.eq(person.as_str()))
            .filter(sessions::passkey_id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(kluis_core::time::now())))
    .execute(conn)?)
}

/// A person's open registration ceremonies: (created, expires).
pub(crate) fn open_ceremonies(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Vec<(PrimitiveDateTime, PrimitiveDateTime)>> {
    pc::table
        .filter(pc::tenant_id.eq(tenant.as_str()))
        .filter(pc::person_id.eq(person.as_str()))
        .order(pc::created_at.asc())
        .select((pc::created_at, pc::expires_at))
        .load(conn)
        .domain()
}

/// Delete a person's passkeys and open ceremonies (erasure); rows per table.
pub(crate) fn erase(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<(&'static str, u64)>> {
    let ceremonies =
        diesel::delete(pc::table.filter(pc::tenant_id.eq(tenant.as_str())).filter(pc::person_id.eq(person.as_str())))
            .execute(conn)
            .domain()?;
    let keys =
        diesel::delete(pk::table.filter(pk::tenant_id.eq(tenant.as_str())).filter(pk::person_id.eq(person.as_str())))
            .execute(conn)
            .domain()?;
    Ok(vec![("passkey_ceremonies", ceremonies as u64), ("passkeys", keys as u64)])
}
