//! Access tokens: EdDSA JWTs signed with the current key of
//! `signing_keys`, and [`authenticate`], which turns one into a caller.
//!
//! Validation pins the algorithm to EdDSA, needs a known `kid`, and checks
//! `exp`, `nbf`, `iss` and `aud` (jsonwebtoken checks neither `nbf` nor
//! `aud` unless told to). Then the database must still agree: the tenant
//! exists and is active, the client is not revoked, and the token is not
//! older than the client's last secret rotation (for a person: the session
//! is live and the account active).
//!
//! Both answers are kept, so the hot path needs no database round trip: a
//! token's verified claims until it expires, and its liveness for at most
//! [`LIVENESS_TTL`]. Every request that may change liveness (any write but
//! a few hot ones that cannot, the HTTP layer's list of writes that cannot revoke) moves a
//! generation counter before its answer is sent, and answers kept under an
//! older generation are not used: in this process a revocation holds from
//! the next request on. A revocation made by another process (a second
//! instance, the `kluis` CLI) holds within [`LIVENESS_TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kluis_core::{Actor, ActorKind, DomainError, Scope, TenantId};
use kluis_store::tenancy::{self, keys};
use kluis_store::{Db, MasterKey};
use serde::{Deserialize, Serialize};

use crate::context::{Context, Origin};
use crate::error::AppError;
use crate::{App, Settings};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// The `typ` of kluis access tokens (RFC 9068).
pub const TOKEN_TYPE: &str = "at+jwt";

/// How long a retired key stays published: the longest a token it signed
/// can still be accepted (its lifetime plus the clock-skew leeway).
pub fn publication_window(access_token_ttl: Duration) -> time::Duration {
    let ttl = access_token_ttl.min(Duration::from_secs(900));
    time::Duration::seconds(i64::try_from(ttl.as_secs() + LEEWAY_SECS).unwrap_or(i64::MAX))
}

/// The claims of a kluis access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the public base URL.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The client id (or, for people, the person id).
    pub sub: String,
    /// Tenant id; absent for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// Space-separated scopes.
    pub scope: String,
    /// Processing purposes the client is bound to.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Session id: present exactly on a signed-in person's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// Unique token id: a UUIDv7, so it also records the issue instant to the
    /// millisecond (what a secret rotation is compared against).
    pub jti: String,
}

/// A freshly issued access token.
#[derive(Debug)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Space-separated scopes it carries.
    pub scope: String,
}

#[derive(Default)]
struct KeyRing {
    signing: Option<(String, EncodingKey)>,
    verifying: HashMap<String, DecodingKey>,
    loaded_at: Option<Instant>,
}

/// Issues and verifies access tokens; caches the keys, reloading when the
/// database names a newer current key or a token names an unknown `kid`.
pub struct TokenService {
    master: Arc<MasterKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
    ring: RwLock<KeyRing>,
    verified: RwLock<HashMap<String, Claims>>,
}

/// Verified tokens remembered, so a token's signature is checked once, not
/// on every request. Past this many the expired ones are dropped, and if
/// that is not enough, all.
const VERIFIED_CAPACITY: usize = 10_000;

/// An unknown `kid` triggers at most one reload per this interval, so forged
/// kids cannot make every request hit the database twice.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

impl TokenService {
    /// A service signing with keys opened by `master`.
    pub fn new(master: Arc<MasterKey>, config: &Settings) -> Self {
        TokenService {
            master,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.access_token_ttl.min(Duration::from_secs(900)),
            ring: RwLock::new(KeyRing::default()),
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// How long a retired key stays published.
    pub fn max_token_ttl(&self) -> time::Duration {
        publication_window(self.ttl)
    }

    fn reload(&self, conn: &mut Db) -> Result<(), DomainError> {
        let current = keys::current(conn, &self.master)?;
        let published = keys::published(conn, self.max_token_ttl())?;
        let mut verifying = HashMap::new();
        for key in published {
            let decoding =
                DecodingKey::from_ed_components(&key.x()).map_err(|e| DomainError::Internal(e.to_string()))?;
            verifying.insert(key.kid, decoding);
        }
        let encoding = EncodingKey::from_ed_der(&current.pkcs8_der);
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        *ring = KeyRing { signing: Some((current.kid, encoding)), verifying, loaded_at: Some(Instant::now()) };
        Ok(())
    }

    /// Sign `claims` with the current key (reloading if another process rotated it).
    pub fn sign(&self, conn: &mut Db, claims: &Claims) -> Result<String, DomainError> {
        let current_kid = keys::current_kid(conn)?;
        let stale = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            ring.signing.as_ref().is_none_or(|(kid, _)| *kid != current_kid)
        };
        if stale {
            self.reload(conn)?;
        }
        let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let (kid, key) = ring.signing.as_ref().ok_or_else(|| DomainError::Internal("no signing key".into()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        header.typ = Some(TOKEN_TYPE.to_owned());
        jsonwebtoken::encode(&header, claims, key).map_err(|e| DomainError::Internal(e.to_string()))
    }

    /// Issue a token for a client (`tenant` is `None` for the operator).
    pub fn issue(
        &self,
        conn: &mut Db,
        tenant: Option<&TenantId>,
        subject: &str,
        scopes: &[Scope],
        purposes: &[String],
    ) -> Result<IssuedToken, DomainError> {
        self.issue_with_session(conn, tenant, subject, scopes, purposes, None)
    }

    /// Issue a signed-in person's token: `sub` is the person, `sid` the session.
    pub fn issue_for_session(
        &self,
        conn: &mut Db,
        tenant: &TenantId,
        person: &str,
        session: &str,
        scopes: &[Scope],
    ) -> Result<IssuedToken, DomainError> {
        self.issue_with_session(conn, Some(tenant), person, scopes, &[], Some(session))
    }

    fn issue_with_session(
        &self,
        conn: &mut Db,
        tenant: Option<&TenantId>,
        subject: &str,
        scopes: &[Scope],
        purposes: &[String],
        session: Option<&str>,
    ) -> Result<IssuedToken, DomainError> {
        let jti = kluis_core::new_id();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(900);
        let scope = Scope::join(scopes);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            tid: tenant.map(|t| t.0.clone()),
            scope: scope.clone(),
            purposes: purposes.to_vec(),
            sid: session.map(str::to_owned),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti,
        };
        let access_token = self.sign(conn, &claims)?;
        Ok(IssuedToken { access_token, expires_in: self.ttl.as_secs(), scope })
    }

    fn decoding_key(&self, conn: &mut Db, kid: &str) -> Result<Option<DecodingKey>, DomainError> {
        let (found, may_reload) = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            let may_reload = ring.loaded_at.is_none_or(|at| at.elapsed() >= RELOAD_INTERVAL);
            (ring.verifying.get(kid).cloned(), may_reload)
        };
        if found.is_some() || !may_reload {
            return Ok(found);
        }
        self.reload(conn)?;
        let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
        Ok(ring.verifying.get(kid).cloned())
    }

    /// Validate a token's signature and claims; `None` when it is not valid.
    /// A token verified before is only checked for expiry again (its
    /// signature, issuer and audience cannot have changed).
    pub fn verify(&self, conn: &mut Db, token: &str) -> Result<Option<Claims>, DomainError> {
        if let Some(claims) = self.verified(token) {
            return Ok(Some(claims));
        }
        let claims = self.verify_signed(conn, token)?;
        if let Some(claims) = &claims {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
            let mut verified = self.verified.write().unwrap_or_else(|p| p.into_inner());
            if verified.len() >= VERIFIED_CAPACITY {
                verified.retain(|_, c| c.exp + leeway > now);
                if verified.len() >= VERIFIED_CAPACITY {
                    verified.clear();
                }
            }
            verified.insert(token.to_owned(), claims.clone());
        }
        Ok(claims)
    }

    /// The claims of a token verified before and not expired, without the
    /// database (`None`: verify it with [`TokenService::verify`]).
    pub fn verified(&self, token: &str) -> Option<Claims> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let verified = self.verified.read().unwrap_or_else(|p| p.into_inner());
        verified.get(token).filter(|c| c.exp + leeway > now).cloned()
    }

    fn verify_signed(&self, conn: &mut Db, token: &str) -> Result<Option<Claims>, DomainError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(None);
        };
        if header.alg != Algorithm::EdDSA {
            return Ok(None);
        }
        let Some(kid) = header.kid else {
            return Ok(None);
        };
        let Some(key) = self.decoding_key(conn, &kid)? else {
            return Ok(None);
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &validation).ok().map(|data| data.claims))
    }
}

/// How long a token's liveness is taken from memory before the database is
/// asked again (when no write of this process moved the generation first).
pub const LIVENESS_TTL: Duration = Duration::from_secs(1);

/// Tokens whose liveness is kept; past this many, all are dropped.
const LIVENESS_CAPACITY: usize = 10_000;

struct Live {
    /// The session's device (people's tokens).
    device: Option<String>,
    generation: u64,
    at: Instant,
}

/// Whether recent tokens are still live (not revoked): see the module docs.
#[derive(Default)]
pub struct TokenStates {
    generation: AtomicU64,
    live: RwLock<HashMap<String, Live>>,
}

impl TokenStates {
    /// A write may have revoked something: answers kept so far are stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// `Some(device)` when `token` was found live under the current
    /// generation less than [`LIVENESS_TTL`] ago.
    pub(crate) fn get(&self, token: &str) -> Option<Option<String>> {
        let generation = self.generation();
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        live.get(token)
            .filter(|l| l.generation == generation && l.at.elapsed() < LIVENESS_TTL)
            .map(|l| l.device.clone())
    }

    /// Keep a live answer read under `generation` (unless a write moved it since).
    pub(crate) fn put(&self, token: &str, device: Option<String>, generation: u64) {
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        if generation != self.generation() {
            return;
        }
        if live.len() >= LIVENESS_CAPACITY {
            live.clear();
        }
        live.insert(token.to_owned(), Live { device, generation, at: Instant::now() });
    }
}

fn actor_from(claims: Claims) -> Option<(Actor, Option<String>)> {
    let scopes = Scope::parse_list(&claims.scope).ok()?;
    let kind = match (&claims.tid, &claims.sid) {
        (Some(_), Some(_)) => ActorKind::Subject,
        (Some(_), None) => ActorKind::Client,
        (None, None) => ActorKind::Operator,
        (None, Some(_)) => return None,
    };
    let actor = Actor { kind, id: claims.sub, tenant: claims.tid.map(TenantId), scopes, purposes: claims.purposes };
    Some((actor, claims.sid))
}

/// Authenticate a bearer token: the caller's context, or `None` when the
/// token is not valid (now). The hot path, claims and liveness both kept,
/// asks no database.
pub async fn authenticate(app: &Arc<App>, token: String, origin: Origin) -> Result<Option<Context>, AppError> {
    let kept =
        app.tokens.verified(&token).and_then(|claims| app.token_states.get(&token).map(|device| (claims, device)));
    let found = match kept {
        Some((claims, device)) => {
            if let (Some(device), Some(tenant)) = (device, claims.tid.clone())
                && app.activity_due(&device)
            {
                let app2 = app.clone();
                app.read(move |conn| write_activity(&app2, conn, &TenantId(tenant), &device)).await?;
            }
            actor_from(claims)
        }
        None => check_in_database(app, token).await?,
    };
    Ok(found.map(|(actor, session)| Context { actor, session, origin }))
}

/// Write a signed-in person's device activity; callers ask
/// [`App::activity_due`] first, so it is written at most once a minute
/// per device, not per request.
fn write_activity(app: &App, conn: &mut Db, tenant: &TenantId, device: &str) -> Result<(), DomainError> {
    kluis_devices::devices::active(conn, tenant, device)?;
    app.stats.device_activity_writes.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Verify a token and ask the database whether it is still live; keep
/// both answers.
async fn check_in_database(app: &Arc<App>, token: String) -> Result<Option<(Actor, Option<String>)>, AppError> {
    let app2 = app.clone();
    let generation = app.token_states.generation();
    app.read(move |conn| {
        let app = app2;
        let Some(claims) = app.tokens.verify(conn, &token)? else {
            return Ok(None);
        };
        let tenant = claims.tid.clone().map(TenantId);
        let live = match (&tenant, &claims.sid) {
            // A person: their session must be live and the tenant active.
            (Some(tenant), Some(sid)) => {
                let person = kluis_core::PersonId(claims.sub.clone());
                match kluis_people::accounts::sessions::live(conn, tenant, &person, sid)? {
                    Some(device) if kluis_store::tenancy::tenants::is_active(conn, tenant)? => {
                        if let Some(device) = &device
                            && app.activity_due(device)
                        {
                            write_activity(&app, conn, tenant, device)?;
                        }
                        Some(device)
                    }
                    _ => None,
                }
            }
            _ => {
                let subject = tenancy::TokenSubject {
                    tenant: tenant.as_ref(),
                    client_id: &claims.sub,
                    issued_at_ms: kluis_core::ids::v7_millis(&claims.jti).unwrap_or(i64::MIN),
                };
                tenancy::token_subject_is_live(conn, &subject)?.then_some(None)
            }
        };
        let Some(device) = live else {
            return Ok(None);
        };
        app.token_states.put(&token, device, generation);
        Ok(actor_from(claims))
    })
    .await
}
