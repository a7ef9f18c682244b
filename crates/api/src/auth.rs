//! Access tokens: EdDSA JWTs signed with the current key of
//! `signing_keys`, and the [`Caller`] extractor that validates them.
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
//! a few hot ones that cannot, [`Liveness::unaffected_by`]) moves a
//! generation counter before its answer is sent, and answers kept under an
//! older generation are not used: in this process a revocation holds from
//! the next request on. A revocation made by another process (a second
//! instance, the `kluis` CLI) holds within [`LIVENESS_TTL`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kluis_core::{Actor, ActorKind, DomainError, Scope, TenantId};
use kluis_store::tenancy::{self, keys};
use kluis_store::{Db, MasterKey};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::state::{ApiConfig, AppState};

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
    pub fn new(master: Arc<MasterKey>, config: &ApiConfig) -> Self {
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

/// Liveness answers of recent tokens: see the module docs.
#[derive(Default)]
pub struct Liveness {
    generation: AtomicU64,
    live: RwLock<HashMap<String, Live>>,
}

impl Liveness {
    /// A write may have revoked something: answers kept so far are stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// `Some(device)` when `token` was found live under the current
    /// generation less than [`LIVENESS_TTL`] ago.
    fn get(&self, token: &str) -> Option<Option<String>> {
        let generation = self.generation();
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        live.get(token)
            .filter(|l| l.generation == generation && l.at.elapsed() < LIVENESS_TTL)
            .map(|l| l.device.clone())
    }

    /// Keep a live answer read under `generation` (unless a write moved it since).
    fn put(&self, token: &str, device: Option<String>, generation: u64) {
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        if generation != self.generation() {
            return;
        }
        if live.len() >= LIVENESS_CAPACITY {
            live.clear();
        }
        live.insert(token.to_owned(), Live { device, generation, at: Instant::now() });
    }

    /// Requests that cannot revoke anything, so they leave the kept answers
    /// alone (the hot writes: with them a processor's check would go back to
    /// the database after every grant).
    pub fn unaffected_by(method: &actix_web::http::Method, route: &str) -> bool {
        if method.is_safe() {
            return true;
        }
        matches!(
            (method.as_str(), route),
            ("POST", "/v1/consents/check")
                | ("POST", "/v1/people/{person_id}/consents")
                | ("POST", "/v1/people")
                | ("POST", "/v1/auth/login")
                | ("POST", "/v1/visits")
        )
    }
}

impl Caller {
    /// For `/v1/me`: the signed-in person and their tenant.
    pub fn person(&self) -> Result<(TenantId, kluis_core::PersonId), ApiError> {
        match (&self.actor.kind, &self.actor.tenant) {
            (ActorKind::Subject, Some(tenant)) if self.actor.has(Scope::OwnData) => {
                Ok((tenant.clone(), kluis_core::PersonId(self.actor.id.clone())))
            }
            _ => Err(ApiError::Forbidden {
                code: "not_a_person",
                detail: "this endpoint is for a signed-in person's own token (scope `self`)".to_owned(),
            }),
        }
    }

    /// The session of a signed-in person's token.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

/// The authenticated caller of a request, with what its audit entries need.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub actor: Actor,
    /// The request id.
    pub request_id: Option<String>,
    /// The connection's IP (truncated before it is stored anywhere).
    pub ip: Option<std::net::IpAddr>,
    /// The session of a signed-in person.
    pub session: Option<String>,
}

impl Caller {
    /// The audit context of this caller in its own tenant; the operator has
    /// none (use [`Caller::audit_in`]).
    pub fn audit(&self) -> Result<kluis_audit::Context, ApiError> {
        let tenant = self.actor.tenant.clone().ok_or_else(|| ApiError::Internal("no tenant for audit".into()))?;
        Ok(self.audit_in(tenant))
    }

    /// The audit context of this caller recorded in `tenant`'s chain.
    pub fn audit_in(&self, tenant: TenantId) -> kluis_audit::Context {
        kluis_audit::Context::new(&self.actor, tenant, self.request_id.clone(), self.ip)
    }

    /// 403 unless the token grants `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.actor.has(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "insufficient_scope",
                detail: format!("this endpoint needs the `{scope}` scope"),
            })
        }
    }

    /// For tenant endpoints: the caller's tenant, once it holds `scope`.
    /// The operator has no tenant and is refused here, whatever it holds.
    pub fn tenant_with(&self, scope: Scope) -> Result<TenantId, ApiError> {
        let Some(tenant) = self.actor.tenant.clone() else {
            return Err(ApiError::Forbidden {
                code: "operator_not_allowed",
                detail: "operator tokens cannot use tenant endpoints".to_owned(),
            });
        };
        self.require(scope)?;
        Ok(tenant)
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized { code: "missing_token", detail: "this endpoint needs a bearer token" });
    };
    let text = value.to_str().map_err(|_| ApiError::invalid_token())?;
    let (scheme, token) = text.split_once(' ').ok_or_else(ApiError::invalid_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() || token.len() > 8192 {
        return Err(ApiError::invalid_token());
    }
    Ok(token.trim().to_owned())
}

fn actor_from(claims: Claims) -> Option<Actor> {
    let scopes = Scope::parse_list(&claims.scope).ok()?;
    let kind = match (&claims.tid, &claims.sid) {
        (Some(_), Some(_)) => ActorKind::Subject,
        (Some(_), None) => ActorKind::Client,
        (None, None) => ActorKind::Operator,
        (None, Some(_)) => return None,
    };
    Some(Actor { kind, id: claims.sub, tenant: claims.tid.map(TenantId), scopes, purposes: claims.purposes })
}

/// Authenticate the request's bearer token (once per request: the result is
/// kept in the request's extensions for every later extractor).
pub async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    if let Some(caller) = req.extensions().get::<Caller>() {
        return Ok(caller.clone());
    }
    let token = bearer(req)?;
    let state =
        req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::Internal("app state missing".into()))?;
    let request_id = crate::middleware::request_id(req);
    let ip = req.peer_addr().map(|addr| addr.ip());
    // The hot path: claims and liveness both known, no database.
    let kept =
        state.tokens.verified(&token).and_then(|claims| state.liveness.get(&token).map(|device| (claims, device)));
    let actor = match kept {
        Some((claims, device)) => {
            if let (Some(device), Some(tenant)) = (device, claims.tid.clone())
                && state.activity_due(&device)
            {
                let app = state.clone();
                state.db(move |conn| write_activity(&app, conn, &TenantId(tenant), &device)).await?;
            }
            let sid = claims.sid.clone();
            actor_from(claims).map(|a| (a, sid))
        }
        None => check_in_database(&state, token).await?,
    }
    .ok_or_else(ApiError::invalid_token)?;
    let (actor, session) = actor;
    let span = tracing::Span::current();
    span.record("client.id", tracing::field::display(&actor.id));
    if let Some(tenant) = &actor.tenant {
        span.record("tenant.id", tracing::field::display(tenant));
    }
    let caller = Caller { actor, request_id, ip, session };
    req.extensions_mut().insert(caller.clone());
    Ok(caller)
}

/// Write a signed-in person's device activity; callers ask
/// [`AppState::activity_due`] first, so it is written at most once a minute
/// per device, not per request.
fn write_activity(app: &AppState, conn: &mut Db, tenant: &TenantId, device: &str) -> Result<(), DomainError> {
    kluis_devices::devices::active(conn, tenant, device)?;
    app.metrics.device_activity_writes.inc();
    Ok(())
}

/// Verify a token and ask the database whether it is still live; keep
/// both answers.
async fn check_in_database(
    state: &web::Data<AppState>,
    token: String,
) -> Result<Option<(Actor, Option<String>)>, ApiError> {
    let app = state.clone();
    let generation = state.liveness.generation();
    state
        .db(move |conn| {
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
            app.liveness.put(&token, device, generation);
            let sid = claims.sid.clone();
            Ok(actor_from(claims).map(|a| (a, sid)))
        })
        .await
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}
