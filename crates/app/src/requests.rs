//! Data-subject requests (Art. 12, 15-22) as use cases: entered by the
//! tenant (`requests:admin`), made by the signed-in person (`self`), or
//! from outside with an e-mail address (no token; a mailed code verifies
//! it). Completing one does what it asks, composed here over the domains:
//! access and portability offer the person's export for one download,
//! erasure runs the erasure (refused under a legal hold), objection records
//! objections in the consent ledger, restriction restricts the person,
//! rectification records the reference of the change made. A refusal has a
//! reason from a fixed list and tells the person they may complain. Every
//! step is audited in its transaction and kept in the request's history;
//! receiving, verifying, extending, completing and refusing one are
//! `request.*` webhook events in the same transaction (ids and kind only).

use std::sync::Arc;

use kluis_audit::{Action, Target};
use kluis_consent::{ConsentAction, NewEvent, Proof, Source};
use kluis_core::page::Page;
use kluis_core::{Actor, ActorKind, DomainError, FieldError, PersonId, TenantId};
use kluis_hooks::events;
use kluis_people::{contacts, persons};
use kluis_retention::erasure::Erasure;
use kluis_retention::receipts::Reason;
use kluis_rights::requests::{
    self, Changes, Channel, Event, Filter, Kind, NewRequest, RefusalReason, Reminder, Request, State,
};
use kluis_rights::{deadline, mail, restriction};
use kluis_store::personal::PersonalData;
use kluis_store::tenancy::{Tenant, tenants};
use kluis_store::{Db, MasterKey};
use serde_json::json;
use time::PrimitiveDateTime;
use zeroize::Zeroizing;

use crate::export::Document;
use crate::fields::{AuditFields, present};
use crate::limiter::Flow;
use crate::{App, AppError, AppResult, Context, Origin, Scoped, webhooks};

/// How long a mailed verification code works.
const VERIFY_TTL_DAYS: i64 = 7;
/// How long an export waits for its one download.
const DOWNLOAD_TTL_DAYS: i64 = 30;
/// The prefix of request tokens (secret scanners recognise a leaked one).
const TOKEN_PREFIX: &str = "klr_";

impl AuditFields for NewRequest {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("kind", true),
            ("person_id", self.person.is_some()),
            ("email", self.email.is_some()),
            ("details", self.details.is_some()),
            ("purposes", !self.purposes.is_empty()),
            ("received_at", self.received_at.is_some()),
        ])
    }
}

impl AuditFields for Changes {
    fn audit_fields(&self) -> Vec<&'static str> {
        present(&[
            ("details", self.details.is_some()),
            ("person_id", self.person.is_some()),
            ("state", self.state.is_some()),
        ])
    }
}

/// A request with its history.
#[derive(Debug, Clone)]
pub struct WithHistory {
    /// The request.
    pub request: Request,
    /// Its steps, oldest first.
    pub events: Vec<Event>,
}

/// The actor kind as the history records it.
fn actor_kind(actor: &Actor) -> &'static str {
    match actor.kind {
        ActorKind::Operator => "operator",
        ActorKind::Client => "client",
        ActorKind::Subject => "subject",
        ActorKind::System => "system",
    }
}

/// What an audit entry about a request names: the person when known.
fn target(request: &Request) -> Target {
    match &request.person_id {
        Some(person) => Target::person("request", person),
        None => Target::resource("request", &request.id),
    }
}

/// The time zone of the tenant's deadlines.
fn zone_of(tenant: &Tenant) -> Result<jiff::tz::TimeZone, DomainError> {
    deadline::zone(&tenant.time_zone)
        .map_err(|_| DomainError::Internal(format!("tenant {} has an unknown time zone", tenant.id)))
}

/// The refusal of a person's own or a public request where the tenant takes
/// them only itself: 403, naming whom to ask.
fn via_tenant_only(tenant: &Tenant) -> DomainError {
    let whom = match &tenant.privacy_contact_email {
        Some(contact) => format!("ask {} at {contact}", tenant.name),
        None => format!("ask {} directly", tenant.name),
    };
    DomainError::Forbidden {
        code: "requests_via_tenant",
        message: format!("{} takes requests about personal data only directly: {whom}", tenant.name),
    }
}

fn new_token() -> Result<Zeroizing<String>, DomainError> {
    kluis_store::crypto::new_secret(TOKEN_PREFIX).map_err(|e| DomainError::Internal(e.to_string()))
}

/// `{issuer}/v1/{path}`.
fn url(app: &App, path: &str) -> String {
    format!("{}/v1/{path}", app.settings.issuer.trim_end_matches('/'))
}

// --- The tenant (`requests:admin`) ---

/// Record a request the tenant received (a letter, a call, the desk):
/// channel `tenant`, state `received` until it verifies the requester. The
/// person, when named, must exist (404).
pub async fn create(app: &App, caller: &Scoped<'_>, mut new: NewRequest) -> AppResult<Request> {
    let tenant = caller.tenant.clone();
    let kind = actor_kind(caller.actor());
    new.channel = Channel::Tenant;
    let fields = new.audit_fields();
    let audit = caller.audit();
    app.in_transaction(move |conn| {
        if let Some(person) = &new.person {
            persons::version(conn, &tenant, person)?;
        }
        let zone = zone_of(&tenants::get(conn, &tenant)?)?;
        let request = requests::create(conn, &tenant, &new, &zone, State::Received, kind)?;
        webhooks::request_event(conn, &tenant, events::REQUEST_CREATED, &request)?;
        kluis_audit::record(conn, &audit, Action::RequestCreate, target(&request), &fields, None)?;
        Ok(request)
    })
    .await
}

/// A page of the tenant's requests, oldest first.
pub async fn list(
    app: &App,
    caller: &Scoped<'_>,
    filter: Filter,
    limit: i64,
    after: Option<String>,
) -> AppResult<Page<Request>> {
    let tenant = caller.tenant.clone();
    app.read(move |conn| requests::list(conn, &tenant, &filter, limit, after.as_deref())).await
}

/// One request with its history; an audited read when it names a person.
pub async fn get(app: &App, caller: &Scoped<'_>, id: String) -> AppResult<WithHistory> {
    let tenant = caller.tenant.clone();
    let found = app
        .read(move |conn| {
            let request = requests::get(conn, &tenant, &id)?;
            let events = requests::events(conn, &tenant, &id)?;
            Ok(WithHistory { request, events })
        })
        .await?;
    if let Some(person) = &found.request.person_id {
        let target = Target::person("request", person);
        app.audit_reads.read(&caller.audit(), Action::PersonRead, target, &["request"], None).await;
    }
    Ok(found)
}

/// Run one step on request `id` (at `if_version`) with its audit entry.
async fn step<F>(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    action: Action,
    fields: Vec<&'static str>,
    change: F,
) -> AppResult<Request>
where
    F: FnOnce(&mut Db, &Tenant, &mut Request, &'static str) -> Result<(), DomainError> + Send + 'static,
{
    let tenant = caller.tenant.clone();
    let kind = actor_kind(caller.actor());
    let audit = caller.audit();
    app.in_transaction(move |conn| {
        let mut request = requests::load(conn, &tenant, &id, if_version)?;
        let settings = tenants::get(conn, &tenant)?;
        change(conn, &settings, &mut request, kind)?;
        kluis_audit::record(conn, &audit, action, target(&request), &fields, None)?;
        Ok(request)
    })
    .await
}

/// Change a request's details, link its person (who must exist), or start
/// working on it (`in_progress`).
pub async fn update(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    changes: Changes,
) -> AppResult<Request> {
    let fields = changes.audit_fields();
    step(app, caller, id, if_version, Action::RequestUpdate, fields, move |conn, tenant, request, kind| {
        if let Some(person) = &changes.person {
            persons::version(conn, &tenant.id, person)?;
        }
        requests::update(conn, &tenant.id, request, &changes, kind)
    })
    .await
}

/// The tenant verified who the requester is; `person` links them (who must
/// exist) where the request named nobody yet.
pub async fn verify(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    person: Option<PersonId>,
) -> AppResult<Request> {
    let fields = present(&[("person_id", person.is_some())]);
    step(app, caller, id, if_version, Action::RequestVerify, fields, move |conn, tenant, request, kind| {
        if let Some(person) = &person {
            persons::version(conn, &tenant.id, person)?;
        }
        requests::verify(conn, &tenant.id, request, person, kind)?;
        webhooks::request_event(conn, &tenant.id, events::REQUEST_VERIFIED, request)
    })
    .await
}

/// Extend the deadline by 1 or 2 months with a reason: once, and only
/// within the first month (422 on `months` otherwise).
pub async fn extend(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    months: i64,
    reason: String,
) -> AppResult<Request> {
    let fields = vec!["months", "reason"];
    step(app, caller, id, if_version, Action::RequestExtend, fields, move |conn, tenant, request, kind| {
        let zone = zone_of(tenant)?;
        requests::extend(conn, &tenant.id, request, months, &reason, &zone, kind)?;
        webhooks::request_event(conn, &tenant.id, events::REQUEST_EXTENDED, request)
    })
    .await
}

/// Refuse a request with a reason from the fixed list and an explanation;
/// the person is mailed both, with their right to complain to the
/// supervisory authority (Art. 12(4)).
pub async fn refuse(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    reason: RefusalReason,
    text: String,
) -> AppResult<Request> {
    let master = app.master.clone();
    let fields = vec!["reason", "text"];
    step(app, caller, id, if_version, Action::RequestRefuse, fields, move |conn, tenant, request, kind| {
        requests::refuse(conn, &tenant.id, request, reason, &text, kind)?;
        webhooks::request_event(conn, &tenant.id, events::REQUEST_REFUSED, request)?;
        tell_refusal(conn, &master, &tenant.id, request)
    })
    .await
}

/// Mail a refusal to the person's primary address, or to the address the
/// request came from.
fn tell_refusal(conn: &mut Db, master: &MasterKey, tenant: &TenantId, request: &Request) -> Result<(), DomainError> {
    let address = match &request.person_id {
        Some(person) => contacts::primary_address(conn, tenant, person)?,
        None => None,
    };
    let address = address.or_else(|| request.email.clone().map(|e| (e, None)));
    if let Some((to, language)) = address {
        mail::queue_refusal(conn, master, tenant, request.person_id.as_ref(), &to, language.as_deref(), request)?;
    }
    Ok(())
}

/// What completing a request may need besides the request itself.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// Rectification: a reference to the change made (a ticket, an audit
    /// entry id, a note); required for that kind.
    pub reference: Option<String>,
}

/// Complete a verified request: do what it asks (see the module), record
/// the outcome, audit it.
pub async fn complete(
    app: &App,
    caller: &Scoped<'_>,
    id: String,
    if_version: Option<i64>,
    completion: Completion,
) -> AppResult<Request> {
    let holders = app.holders.clone();
    let master = app.master.clone();
    let actor = caller.actor().clone();
    let audit = caller.audit();
    let download = url(app, "");
    let tenant = caller.tenant.clone();
    let kind = actor_kind(caller.actor());
    app.in_transaction(move |conn| {
        let mut request = requests::load(conn, &tenant, &id, if_version)?;
        let person = requests::check_completable(&request)?;
        let settings = tenants::get(conn, &tenant)?;
        let done = Done { holders: &holders, master: &master, actor: &actor, audit: &audit, base: &download };
        let outcome = done.carry_out(conn, &settings, &mut request, &person, &completion)?;
        requests::mark_completed(conn, &tenant, &mut request, outcome, kind)?;
        webhooks::request_event(conn, &tenant, events::REQUEST_COMPLETED, &request)?;
        let fields = present(&[("reference", completion.reference.is_some())]);
        kluis_audit::record(conn, &audit, Action::RequestComplete, target(&request), &fields, None)?;
        Ok(request)
    })
    .await
}

/// What carrying out a request needs, inside its transaction.
struct Done<'a> {
    holders: &'a [Arc<dyn PersonalData>],
    master: &'a MasterKey,
    actor: &'a Actor,
    audit: &'a kluis_audit::Context,
    /// `{issuer}/v1/`.
    base: &'a str,
}

impl Done<'_> {
    /// Do what `request` asks of `person`; the outcome to record. An erasure
    /// reloads the request (the erasure unlinked it from the person).
    fn carry_out(
        &self,
        conn: &mut Db,
        tenant: &Tenant,
        request: &mut Request,
        person: &PersonId,
        completion: &Completion,
    ) -> Result<serde_json::Value, DomainError> {
        let id = &tenant.id;
        match request.kind {
            Kind::Access | Kind::Portability => {
                let token = new_token()?;
                let expires = kluis_core::time::now() + time::Duration::days(DOWNLOAD_TTL_DAYS);
                requests::offer_download(conn, id, &request.id, &requests::token_hash(&token), expires)?;
                request.download_ready = true;
                let address = contacts::primary_address(conn, id, person)?;
                let address = address.or_else(|| request.email.clone().map(|e| (e, None)));
                let mailed = address.is_some();
                if let Some((to, language)) = address {
                    let link = format!("{}public/{}/requests/download/{}", self.base, tenant.slug, token.as_str());
                    mail::queue_download(conn, self.master, id, person, &to, language.as_deref(), &link)?;
                }
                Ok(json!({"export": "offered", "mailed": mailed, "download_expires_at": rfc3339(expires)}))
            }
            Kind::Erasure => {
                if let Some(hold) = kluis_retention::holds::active(conn, id, person)? {
                    return Err(kluis_retention::holds::refusal(&hold));
                }
                let address = contacts::primary_address(conn, id, person)?;
                let by = crate::erasure::erased_by(conn, self.actor, id, person)?;
                let erasure = Erasure { reason: Reason::Request, by };
                let receipt = crate::erasure::erase_in(conn, self.holders, self.audit, person, &erasure)?;
                if let Some((to, language)) = address {
                    kluis_people::accounts::mail::queue_erasure_confirmation(
                        conn,
                        self.master,
                        id,
                        &to,
                        language.as_deref(),
                        &receipt.id,
                    )?;
                }
                *request = requests::get(conn, id, &request.id)?;
                Ok(json!({"erasure_receipt": receipt.id}))
            }
            Kind::Objection => {
                let purposes = if request.purposes.is_empty() {
                    kluis_consent::purposes::all(conn, id)?
                        .into_iter()
                        .filter(|p| p.legal_basis.objectable())
                        .map(|p| p.key)
                        .collect()
                } else {
                    request.purposes.clone()
                };
                for (i, purpose) in purposes.iter().enumerate() {
                    let found = kluis_consent::purposes::get(conn, id, purpose);
                    let purpose_row = match found {
                        Err(DomainError::NotFound) => {
                            let field = format!("purposes[{i}]");
                            return Err(DomainError::Validation(vec![FieldError::new(field, "no such purpose")]));
                        }
                        other => other?,
                    };
                    if !purpose_row.legal_basis.objectable() {
                        let field = format!("purposes[{i}]");
                        let message =
                            "its legal basis allows no objection (Art. 21): refuse the request as not_applicable";
                        return Err(DomainError::Validation(vec![FieldError::new(field, message)]));
                    }
                    let new = NewEvent {
                        purpose: purpose.clone(),
                        action: ConsentAction::Object,
                        source: Source::Admin,
                        policy_version: None,
                        occurred_at: None,
                        expires_at: None,
                        proof: Proof::default(),
                    };
                    let event = kluis_consent::ledger::record(conn, id, person, self.actor, &new)?;
                    let target = Target::person("consent", person);
                    let fields = new.audit_fields();
                    let action = crate::consent::audit_action(event.action);
                    kluis_audit::record(conn, self.audit, action, target, &fields, Some(&event.purpose))?;
                }
                Ok(json!({"objections": purposes}))
            }
            Kind::Restriction => {
                // The person's own words, or a fixed text: never one made
                // from the request's id, whose random digits can read as a
                // card number and fail the check (a 422 on a field the
                // caller never sent). The restriction keeps the request's id.
                let reason = request
                    .details
                    .clone()
                    .filter(|d| restriction::check_reason("reason", d).is_ok())
                    .unwrap_or_else(|| "restriction request".to_owned());
                let existing = restriction::get(conn, id, person)?;
                if existing.is_none() {
                    restriction::set(conn, id, person, &reason, Some(&request.id), None)?;
                    let target = Target::person("restriction", person);
                    kluis_audit::record(conn, self.audit, Action::RestrictionSet, target, &["reason"], None)?;
                }
                Ok(json!({"restricted": true}))
            }
            Kind::Rectification => {
                let Some(reference) = completion.reference.as_deref() else {
                    let message = "name the change made (a ticket, an audit entry id, a note)";
                    return Err(DomainError::Validation(vec![FieldError::new("reference", message)]));
                };
                let mut errors = Vec::new();
                requests::check_text("reference", reference, 1, 500, &mut errors);
                if !errors.is_empty() {
                    return Err(DomainError::Validation(errors));
                }
                Ok(json!({"reference": reference.trim()}))
            }
        }
    }
}

fn rfc3339(at: PrimitiveDateTime) -> String {
    kluis_core::time::utc(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// --- The person (`self`) ---

/// What a person asks for themselves.
#[derive(Debug, Clone)]
pub struct OwnRequest {
    /// What.
    pub kind: Kind,
    /// Their words.
    pub details: Option<String>,
    /// For an objection: the purposes (empty: all that allow one).
    pub purposes: Vec<String>,
}

/// The signed-in person makes a request: channel `self`, verified at once
/// (they are signed in). Refused (403 `requests_via_tenant`) where the
/// tenant takes requests only itself.
pub async fn create_own(app: &App, ctx: &Context, own: OwnRequest) -> AppResult<Request> {
    let (tenant, person) = ctx.person()?;
    let audit = ctx.audit_in(tenant.clone());
    let new = NewRequest {
        kind: own.kind,
        channel: Channel::OwnData,
        person: Some(person),
        email: None,
        details: own.details,
        purposes: own.purposes,
        received_at: None,
    };
    let fields = new.audit_fields();
    app.in_transaction(move |conn| {
        let settings = tenants::get(conn, &tenant)?;
        if settings.requests_via_tenant_only {
            return Err(via_tenant_only(&settings).into());
        }
        let zone = zone_of(&settings)?;
        let request = requests::create(conn, &tenant, &new, &zone, State::Verified, "subject")?;
        webhooks::request_event(conn, &tenant, events::REQUEST_CREATED, &request)?;
        kluis_audit::record(conn, &audit, Action::RequestCreate, target(&request), &fields, None)?;
        Ok(request)
    })
    .await
}

/// The signed-in person's own requests, oldest first.
pub async fn list_own(app: &App, ctx: &Context, limit: i64, after: Option<String>) -> AppResult<Page<Request>> {
    let (tenant, person) = ctx.person()?;
    let filter = Filter { person: Some(person), ..Filter::default() };
    app.read(move |conn| requests::list(conn, &tenant, &filter, limit, after.as_deref())).await
}

/// One of the signed-in person's requests with its history (another's is 404).
pub async fn get_own(app: &App, ctx: &Context, id: String) -> AppResult<WithHistory> {
    let (tenant, person) = ctx.person()?;
    app.read(move |conn| {
        let request = requests::get_for_person(conn, &tenant, &person, &id)?;
        let events = requests::events(conn, &tenant, &id)?;
        Ok(WithHistory { request, events })
    })
    .await
}

/// The gone-for-good answer of a download that is not waiting.
fn no_download() -> AppError {
    AppError::Gone {
        code: "download_gone",
        detail: "no export is waiting: it was downloaded before, has expired, or the request is not completed".into(),
    }
}

/// The export of the signed-in person's completed access or portability
/// request, once (410 after that).
pub async fn download_own(app: &App, ctx: &Context, id: String) -> AppResult<Document> {
    let (tenant, person) = ctx.person()?;
    let audit = ctx.audit_in(tenant.clone());
    let taken = {
        let (tenant, person, audit) = (tenant.clone(), person.clone(), audit.clone());
        app.in_transaction(move |conn| {
            let request = requests::get_for_person(conn, &tenant, &person, &id)?;
            if !requests::take_download(conn, &tenant, &request.id)? {
                return Ok(false);
            }
            let now = kluis_core::time::now();
            requests::record_event(conn, &tenant, &request.id, "downloaded", request.state, "subject", now)?;
            kluis_audit::record(conn, &audit, Action::RequestDownload, target(&request), &[], None)?;
            Ok(true)
        })
        .await?
    };
    if !taken {
        return Err(no_download());
    }
    crate::export::export(app, audit, tenant, person).await
}

// --- From outside (no token) ---

/// A request from outside: the tenant's slug, the requester's address.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    /// The tenant's slug.
    pub tenant: String,
    /// The requester's e-mail address.
    pub email: String,
    /// What.
    pub kind: Kind,
    /// Their words.
    pub details: Option<String>,
}

/// Record a request from outside and mail its verification code to the
/// address given, whether or not the address belongs to anyone the tenant
/// knows (the caller learns nothing either way: the same 202). Throttled
/// per client IP and per address (429). A tenant that takes requests only
/// itself refuses (403, naming whom to ask); an unknown slug is 404.
pub async fn create_public(app: &App, origin: &Origin, new: PublicRequest) -> AppResult<()> {
    app.rates.hit_ip(Flow::RequestsPerIp, origin.ip)?;
    let key = format!("{}\n{}", new.tenant.to_lowercase(), new.email.trim().to_lowercase());
    app.rates.hit(Flow::RequestsPerAddress, &key)?;
    let master = app.master.clone();
    let origin = origin.clone();
    let confirm = url(app, &format!("public/{}/requests/verify", new.tenant));
    app.in_transaction(move |conn| {
        let settings = tenants::get_by_slug(conn, &new.tenant)?;
        if !settings.status.is_active() {
            return Err(DomainError::NotFound.into());
        }
        if settings.requests_via_tenant_only {
            return Err(via_tenant_only(&settings).into());
        }
        let zone = zone_of(&settings)?;
        let request = NewRequest {
            kind: new.kind,
            channel: Channel::Email,
            person: None,
            email: Some(new.email.trim().to_owned()),
            details: new.details,
            purposes: Vec::new(),
            received_at: None,
        };
        let fields = request.audit_fields();
        let made = requests::create(conn, &settings.id, &request, &zone, State::Received, "anonymous")?;
        webhooks::request_event(conn, &settings.id, events::REQUEST_CREATED, &made)?;
        let token = new_token()?;
        let expires = kluis_core::time::now() + time::Duration::days(VERIFY_TTL_DAYS);
        requests::set_token(conn, &settings.id, &made.id, &requests::token_hash(&token), expires)?;
        let to = new.email.trim();
        let mail = mail::Verification {
            organisation: &settings.name,
            to,
            kind: new.kind,
            code: &token,
            confirm_url: &confirm,
        };
        mail::queue_verification(conn, &master, &settings.id, mail)?;
        let audit = origin.person_audit(settings.id.clone(), None);
        kluis_audit::record(conn, &audit, Action::RequestCreate, target(&made), &fields, None)?;
        Ok(())
    })
    .await
}

/// A view of the mailed link's page: counted against the per-IP limit of
/// mailed links (it acts on nothing and tells nothing of the link).
pub fn link_viewed(app: &App, origin: &Origin) -> AppResult<()> {
    app.rates.hit_ip(Flow::LinkPerIp, origin.ip)
}

/// The mailed code confirms a request from outside: it becomes `verified`
/// and names the person whose address it is, if the tenant knows one.
/// A code unknown, used or expired is a 400. Throttled per client IP.
pub async fn verify_public(app: &App, origin: &Origin, slug: String, token: Zeroizing<String>) -> AppResult<()> {
    app.rates.hit_ip(Flow::LinkPerIp, origin.ip)?;
    let origin = origin.clone();
    let verified = app
        .in_transaction(move |conn| {
            let settings = tenants::get_by_slug(conn, &slug)?;
            let Some(mut request) = requests::take_token(conn, &settings.id, &requests::token_hash(&token))? else {
                return Ok(false);
            };
            let person = match &request.email {
                Some(email) => contacts::person_with_email(conn, &settings.id, email)?.map(PersonId),
                None => None,
            };
            requests::verify(conn, &settings.id, &mut request, person.clone(), "anonymous")?;
            webhooks::request_event(conn, &settings.id, events::REQUEST_VERIFIED, &request)?;
            let audit = origin.person_audit(settings.id.clone(), person.as_ref());
            kluis_audit::record(conn, &audit, Action::RequestVerify, target(&request), &[], None)?;
            Ok(true)
        })
        .await?;
    if verified {
        Ok(())
    } else {
        Err(AppError::BadRequest { code: "token_invalid", detail: "the code is unknown, used or expired".to_owned() })
    }
}

/// The export of a completed request, with the one-time link that was
/// mailed to the person (410 once used or expired). Throttled per client IP.
pub async fn download_public(
    app: &App,
    origin: &Origin,
    slug: String,
    token: Zeroizing<String>,
) -> AppResult<Document> {
    app.rates.hit_ip(Flow::LinkPerIp, origin.ip)?;
    let origin = origin.clone();
    let taken = app
        .in_transaction(move |conn| {
            let settings = tenants::get_by_slug(conn, &slug)?;
            let Some(request) = requests::take_download_token(conn, &settings.id, &requests::token_hash(&token))?
            else {
                return Ok(None);
            };
            let Some(person) = request.person_id.clone() else { return Ok(None) };
            let now = kluis_core::time::now();
            requests::record_event(conn, &settings.id, &request.id, "downloaded", request.state, "subject", now)?;
            let audit = origin.person_audit(settings.id.clone(), Some(&person));
            kluis_audit::record(conn, &audit, Action::RequestDownload, target(&request), &[], None)?;
            Ok(Some((settings.id, person, audit)))
        })
        .await?;
    let Some((tenant, person, audit)) = taken else { return Err(no_download()) };
    crate::export::export(app, audit, tenant, person).await
}

// --- Reminders (the worker) ---

/// Mail each active tenant's privacy contact about its requests due within
/// a week and those overdue, once each (recorded on the request); a tenant
/// without a contact gets none (and is reminded once it sets one). How many
/// reminders were queued.
pub fn send_reminders(app: &App, now: PrimitiveDateTime) -> Result<usize, DomainError> {
    let mut conn = app.pool.get().map_err(kluis_store::error::from_pool)?;
    let mut sent = 0;
    for tenant in tenants::all_ids(&mut conn)? {
        let settings = tenants::get(&mut conn, &tenant)?;
        let Some(contact) = settings.privacy_contact_email.clone() else { continue };
        if !settings.status.is_active() {
            continue;
        }
        for (request, reminder) in requests::reminders_due(&mut conn, &tenant, now)? {
            let done = kluis_store::write_tx(&mut conn, |conn| {
                remind(conn, &app.master, &tenant, &contact, &request, reminder, now)
                    .map_err(kluis_store::error::TxError)
            });
            match done {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(kluis_store::error::TxError(e)) => return Err(e),
            }
        }
    }
    Ok(sent)
}

/// One reminder, in its transaction: claimed on the request first, so two
/// instances never send it twice.
fn remind(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    contact: &str,
    request: &Request,
    reminder: Reminder,
    now: PrimitiveDateTime,
) -> Result<bool, DomainError> {
    if !requests::mark_reminded(conn, tenant, &request.id, reminder, now)? {
        return Ok(false);
    }
    mail::queue_reminder(conn, master, tenant, contact, request, reminder)?;
    let action = match reminder {
        Reminder::DueSoon => "reminded_due_soon",
        Reminder::Overdue => "reminded_overdue",
    };
    requests::record_event(conn, tenant, &request.id, action, request.state, "system", now)?;
    let audit = kluis_audit::Context {
        tenant: tenant.clone(),
        actor_kind: ActorKind::System,
        actor_id: "request-reminders".to_owned(),
        request_id: None,
        ip_prefix: None,
    };
    kluis_audit::record(conn, &audit, Action::RequestRemind, Target::resource("request", &request.id), &[], None)?;
    Ok(true)
}
