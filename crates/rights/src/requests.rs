//! Data-subject requests (Art. 12, 15-22): a person (or, for one made from
//! outside, the e-mail address it came from until it is verified), a kind,
//! details, a channel and a state:
//! `received -> verified -> in_progress -> completed | refused`, plus
//! `extended` (the deadline moved once, within the first month). Every step
//! is an event in `rights_request_events`, which the person sees too.
//! What completing does to the person's data is the use cases' (`kluis-app`):
//! this module keeps the request, its deadline and its history.

use diesel::prelude::*;
use jiff::tz::TimeZone;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId, validate};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::{rights_request_events as e, rights_requests as q};
use time::{Date, PrimitiveDateTime};

use crate::deadline::{self, Deadline};

/// Longest `details`, in characters.
pub const MAX_DETAILS: usize = 2000;
/// Longest free text of a refusal or an extension, in characters.
pub const MAX_TEXT: usize = 2000;
/// A reminder goes to the privacy contact this many days before the due day ends.
pub const DUE_SOON_DAYS: i64 = 7;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Wire and column name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value named `text`.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum! {
    /// What the person asks for.
    Kind {
        /// Art. 15: a copy of their data.
        Access = "access",
        /// Art. 16: correct what is wrong.
        Rectification = "rectification",
        /// Art. 17: erase them.
        Erasure = "erasure",
        /// Art. 18: keep but do not use.
        Restriction = "restriction",
        /// Art. 21: object to processing (always possible for direct marketing).
        Objection = "objection",
        /// Art. 20: their data, machine-readable, to take elsewhere.
        Portability = "portability",
    }
}

wire_enum! {
    /// How the request came in.
    Channel {
        /// The signed-in person, through `/v1/me/requests`.
        OwnData = "self",
        /// Entered by the tenant (a letter, a phone call, the tenant's desk).
        Tenant = "tenant",
        /// From outside, by e-mail address, through the tenant's public page.
        Email = "email",
    }
}

wire_enum! {
    /// Where a request is.
    State {
        /// In, identity not yet verified.
        Received = "received",
        /// The requester is known to be the person.
        Verified = "verified",
        /// Being worked on.
        InProgress = "in_progress",
        /// The deadline was extended (once, Art. 12(3)); being worked on.
        Extended = "extended",
        /// Done: what was asked happened.
        Completed = "completed",
        /// Refused, with a reason; the person may complain to the authority.
        Refused = "refused",
    }
}

wire_enum! {
    /// Why a request is refused: the grounds the GDPR gives.
    RefusalReason {
        /// Art. 12(5): manifestly unfounded.
        ManifestlyUnfounded = "manifestly_unfounded",
        /// Art. 12(5): excessive, in particular repetitive.
        Excessive = "excessive",
        /// Art. 12(6) and 11(2): the requester could not be identified as the person.
        IdentityNotVerified = "identity_not_verified",
        /// Art. 17(3)(b): a legal obligation requires the processing.
        LegalObligation = "legal_obligation",
        /// Art. 17(3)(e), 18(2), 21(1): legal claims (e.g. a legal hold).
        LegalClaims = "legal_claims",
        /// Art. 15(4), 20(4): it would harm the rights and freedoms of others.
        RightsOfOthers = "rights_of_others",
        /// The right does not apply to this processing (e.g. portability of
        /// data not processed on consent or contract, Art. 20(1)).
        NotApplicable = "not_applicable",
    }
}

impl State {
    /// Whether the request is still open (its deadline counts).
    pub fn is_open(self) -> bool {
        !matches!(self, State::Completed | State::Refused)
    }

    /// The open states, for queries.
    pub const OPEN: [&'static str; 4] = ["received", "verified", "in_progress", "extended"];
}

/// A request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Request id.
    pub id: String,
    /// The person; `None` while an e-mailed request is unverified, when its
    /// address belongs to nobody kluis knows, or after the person was erased.
    pub person_id: Option<PersonId>,
    /// The address an outside request came from (or a tenant entered).
    pub email: Option<String>,
    /// What is asked.
    pub kind: Kind,
    /// How it came in.
    pub channel: Channel,
    /// Where it is.
    pub state: State,
    /// What the person wrote (which data is wrong, what to object to, ...).
    pub details: Option<String>,
    /// For an objection: the purposes objected to (empty: every purpose that allows one).
    pub purposes: Vec<String>,
    /// When it was received (the deadline counts from its day).
    pub received_at: PrimitiveDateTime,
    /// The last day to answer, in the tenant's time zone.
    pub due_on: Date,
    /// The end of that day, UTC: overdue from then on while open.
    pub due_at: PrimitiveDateTime,
    /// Why the deadline was extended.
    pub extension_reason: Option<String>,
    /// When it was extended.
    pub extended_at: Option<PrimitiveDateTime>,
    /// When the requester was verified.
    pub verified_at: Option<PrimitiveDateTime>,
    /// When it was completed or refused.
    pub closed_at: Option<PrimitiveDateTime>,
    /// Why it was refused.
    pub refusal_reason: Option<RefusalReason>,
    /// The refusal in words.
    pub refusal_text: Option<String>,
    /// What completing did (JSON: the erasure receipt, the objections, the reference).
    pub outcome: Option<serde_json::Value>,
    /// An export waits to be downloaded (once).
    pub download_ready: bool,
    /// When the export was downloaded.
    pub downloaded_at: Option<PrimitiveDateTime>,
    /// When the privacy contact was reminded that it is due soon.
    pub reminded_due_soon_at: Option<PrimitiveDateTime>,
    /// When the privacy contact was told it is overdue.
    pub reminded_overdue_at: Option<PrimitiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

impl Request {
    /// Whether it is open past its deadline at `now`.
    pub fn overdue_at(&self, now: PrimitiveDateTime) -> bool {
        self.state.is_open() && now >= self.due_at
    }
}

/// One step in a request's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// 1, 2, ... per request.
    pub seq: i64,
    /// `received`, `verified`, `updated`, `in_progress`, `extended`,
    /// `completed`, `refused`, `downloaded`, `reminded_due_soon`, `reminded_overdue`.
    pub action: String,
    /// The state after it.
    pub state: State,
    /// Who: `client`, `subject`, `system`, ...
    pub actor_kind: String,
    /// When.
    pub at: PrimitiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = q)]
struct Row {
    id: String,
    person_id: Option<String>,
    email: Option<String>,
    kind: String,
    channel: String,
    state: String,
    details: Option<String>,
    purposes: Option<String>,
    received_at: PrimitiveDateTime,
    due_on: String,
    due_at: PrimitiveDateTime,
    extension_reason: Option<String>,
    extended_at: Option<PrimitiveDateTime>,
    verified_at: Option<PrimitiveDateTime>,
    closed_at: Option<PrimitiveDateTime>,
    refusal_reason: Option<String>,
    refusal_text: Option<String>,
    outcome: Option<String>,
    download_hash: Option<String>,
    download_expires_at: Option<PrimitiveDateTime>,
    downloaded_at: Option<PrimitiveDateTime>,
    reminded_due_soon_at: Option<PrimitiveDateTime>,
    reminded_overdue_at: Option<PrimitiveDateTime>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

fn corrupt(what: &str, value: &str) -> DomainError {
    DomainError::Internal(format!("rights_requests: unknown {what} {value}"))
}

const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A date as `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, DATE).ok()
}

impl TryFrom<Row> for Request {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Request> {
        let now = kluis_core::time::now();
        let purposes: Vec<String> = match row.purposes.as_deref() {
            Some(json) => serde_json::from_str(json).map_err(|e| DomainError::Internal(e.to_string()))?,
            None => Vec::new(),
        };
        let outcome = match row.outcome.as_deref() {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| DomainError::Internal(e.to_string()))?),
            None => None,
        };
        Ok(Request {
            kind: Kind::parse(&row.kind).ok_or_else(|| corrupt("kind", &row.kind))?,
            channel: Channel::parse(&row.channel).ok_or_else(|| corrupt("channel", &row.channel))?,
            state: State::parse(&row.state).ok_or_else(|| corrupt("state", &row.state))?,
            refusal_reason: match row.refusal_reason.as_deref() {
                Some(r) => Some(RefusalReason::parse(r).ok_or_else(|| corrupt("refusal reason", r))?),
                None => None,
            },
            due_on: parse_date(&row.due_on).ok_or_else(|| corrupt("due_on", &row.due_on))?,
            download_ready: row.download_hash.is_some()
                && row.downloaded_at.is_none()
                && row.download_expires_at.is_some_and(|at| at > now),
            id: row.id,
            person_id: row.person_id.map(PersonId),
            email: row.email,
            details: row.details,
            purposes,
            received_at: row.received_at,
            due_at: row.due_at,
            extension_reason: row.extension_reason,
            extended_at: row.extended_at,
            verified_at: row.verified_at,
            closed_at: row.closed_at,
            refusal_text: row.refusal_text,
            outcome,
            downloaded_at: row.downloaded_at,
            reminded_due_soon_at: row.reminded_due_soon_at,
            reminded_overdue_at: row.reminded_overdue_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// What is asked.
    pub kind: Kind,
    /// How it came in.
    pub channel: Channel,
    /// The person, when known.
    pub person: Option<PersonId>,
    /// The requester's address (an outside request; or one a tenant enters
    /// for someone it cannot name yet).
    pub email: Option<String>,
    /// What the person wrote.
    pub details: Option<String>,
    /// For an objection: the purposes (empty: every one that allows one).
    pub purposes: Vec<String>,
    /// When it was received, if earlier than now (a letter entered later).
    pub received_at: Option<PrimitiveDateTime>,
}

/// A free text: within `max` characters, no control characters but line
/// breaks and tabs, no payment card number.
pub fn check_text(field: &str, text: &str, min: usize, max: usize, errors: &mut Vec<FieldError>) {
    let count = text.trim().chars().count();
    if count < min || count > max {
        errors.push(FieldError::new(field, format!("must be {min} to {max} characters")));
    } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    } else if validate::contains_card_number(text) {
        errors.push(FieldError::new(field, "looks like a payment card number, which kluis never stores"));
    }
}

fn is_purpose_key(key: &str) -> bool {
    let mut chars = key.chars();
    (2..=64).contains(&key.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The rules of a new request, each broken one named by its field.
pub fn check(new: &NewRequest, now: PrimitiveDateTime) -> Result<()> {
    let mut errors = Vec::new();
    if let Some(details) = &new.details {
        check_text("details", details, 0, MAX_DETAILS, &mut errors);
    }
    if let Some(email) = &new.email
        && (email.len() > 254 || !validate::is_email(email))
    {
        errors.push(FieldError::new("email", "must be an e-mail address"));
    }
    if !new.purposes.is_empty() && new.kind != Kind::Objection {
        errors.push(FieldError::new("purposes", "only an objection names purposes"));
    }
    if new.purposes.len() > 100 {
        errors.push(FieldError::new("purposes", "must hold at most 100 purposes"));
    }
    for (i, key) in new.purposes.iter().enumerate() {
        if !is_purpose_key(key) {
            errors.push(FieldError::new(format!("purposes[{i}]"), "must be a purpose key"));
        }
    }
    if new.person.is_none() && new.email.is_none() {
        errors.push(FieldError::new("person_id", "name the person, or the e-mail address the request came from"));
    }
    if new.received_at.is_some_and(|at| at > now) {
        errors.push(FieldError::new("received_at", "must not be in the future"));
    }
    if errors.is_empty() { Ok(()) } else { Err(DomainError::Validation(errors)) }
}

/// Record a request in `state` (`received`, or `verified` when the
/// requester is known: a signed-in person), due one month after its
/// receipt in `zone`, with its first events.
pub fn create(
    conn: &mut Db,
    tenant: &TenantId,
    new: &NewRequest,
    zone: &TimeZone,
    state: State,
    actor_kind: &str,
) -> Result<Request> {
    let now = kluis_core::time::now();
    check(new, now)?;
    let received_at = new.received_at.unwrap_or(now);
    let Deadline { due_on, due_at } = deadline::due(received_at, zone, 1)?;
    let id = kluis_core::new_id();
    let purposes = if new.purposes.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&new.purposes).map_err(|e| DomainError::Internal(e.to_string()))?)
    };
    let details = new.details.as_deref().map(str::trim).filter(|d| !d.is_empty());
    let email = new.email.as_deref().map(str::trim);
    let verified_at = (state == State::Verified).then_some(now);
    diesel::insert_into(q::table)
        .values((
            q::tenant_id.eq(tenant.as_str()),
            q::id.eq(&id),
            q::person_id.eq(new.person.as_ref().map(PersonId::as_str)),
            q::email.eq(email),
            q::kind.eq(new.kind.as_str()),
            q::channel.eq(new.channel.as_str()),
            q::state.eq(state.as_str()),
            q::details.eq(details),
            q::purposes.eq(purposes),
            q::received_at.eq(received_at),
            q::due_on.eq(format_date(due_on)),
            q::due_at.eq(due_at),
            q::verified_at.eq(verified_at),
            q::version.eq(1i64),
            q::created_at.eq(now),
            q::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    record_event(conn, tenant, &id, "received", State::Received, actor_kind, now)?;
    if state == State::Verified {
        record_event(conn, tenant, &id, "verified", State::Verified, actor_kind, now)?;
    }
    get(conn, tenant, &id)
}

/// One request of the tenant.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Request> {
    q::table
        .find((tenant.as_str(), id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .domain()?
        .ok_or(DomainError::NotFound)?
        .try_into()
}

/// One request of `person` (another's is not found).
pub fn get_for_person(conn: &mut Db, tenant: &TenantId, person: &PersonId, id: &str) -> Result<Request> {
    let request = get(conn, tenant, id)?;
    if request.person_id.as_ref() == Some(person) { Ok(request) } else { Err(DomainError::NotFound) }
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only in this state.
    pub state: Option<State>,
    /// Only of this kind.
    pub kind: Option<Kind>,
    /// `true`: only open ones past their deadline; `false`: only the others.
    pub overdue: Option<bool>,
    /// Only those due before this day (in the tenant's zone).
    pub due_before: Option<Date>,
    /// Only this person's.
    pub person: Option<PersonId>,
}

/// A page of the tenant's requests, oldest first, `limit` at a time after the id `after`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    filter: &Filter,
    limit: i64,
    after: Option<&str>,
) -> Result<Page<Request>> {
    let now = kluis_core::time::now();
    let mut query = q::table
        .filter(q::tenant_id.eq(tenant.as_str()))
        .select(Row::as_select())
        .order(q::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(q::id.gt(after.to_owned()));
    }
    if let Some(state) = filter.state {
        query = query.filter(q::state.eq(state.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(q::kind.eq(kind.as_str()));
    }
    if let Some(person) = &filter.person {
        query = query.filter(q::person_id.eq(person.as_str().to_owned()));
    }
    match filter.overdue {
        Some(true) => query = query.filter(q::state.eq_any(State::OPEN)).filter(q::due_at.le(now)),
        Some(false) => query = query.filter(q::state.ne_all(State::OPEN).or(q::due_at.gt(now))),
        None => {}
    }
    if let Some(day) = filter.due_before {
        query = query.filter(q::due_on.lt(format_date(day)));
    }
    let rows = query.load(conn).domain()?;
    let requests = rows.into_iter().map(Request::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(requests, limit, |r| r.id.clone()))
}

/// A request's history, oldest first.
pub fn events(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Vec<Event>> {
    let rows: Vec<(i64, String, String, String, PrimitiveDateTime)> = e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::request_id.eq(id))
        .order(e::seq.asc())
        .select((e::seq, e::action, e::state, e::actor_kind, e::at))
        .load(conn)
        .domain()?;
    rows.into_iter()
        .map(|(seq, action, state, actor_kind, at)| {
            let state = State::parse(&state).ok_or_else(|| corrupt("state", &state))?;
            Ok(Event { seq, action, state, actor_kind, at })
        })
        .collect()
}

/// Append a step to a request's history.
pub fn record_event(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    action: &str,
    state: State,
    actor_kind: &str,
    at: PrimitiveDateTime,
) -> Result<()> {
    let last: Option<i64> = e::table
        .filter(e::tenant_id.eq(tenant.as_str()))
        .filter(e::request_id.eq(id))
        .select(diesel::dsl::max(e::seq))
        .first(conn)
        .domain()?;
    diesel::insert_into(e::table)
        .values((
            e::tenant_id.eq(tenant.as_str()),
            e::request_id.eq(id),
            e::seq.eq(last.unwrap_or(0) + 1),
            e::action.eq(action),
            e::state.eq(state.as_str()),
            e::actor_kind.eq(actor_kind),
            e::at.eq(at),
        ))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// The refusal of a step the request's state does not allow (409).
fn wrong_state(request: &Request, step: &str) -> DomainError {
    DomainError::Conflict {
        code: "request_state",
        message: format!("a request in state `{}` cannot be {step}", request.state.as_str()),
    }
}

/// Write the request's changed fields (state, person, texts, deadline,
/// outcome) at its `version`, bumping it, and append `action` to its history.
fn save(conn: &mut Db, tenant: &TenantId, request: &mut Request, action: &str, actor_kind: &str) -> Result<()> {
    let now = kluis_core::time::now();
    let outcome = match &request.outcome {
        Some(v) => Some(serde_json::to_string(v).map_err(|e| DomainError::Internal(e.to_string()))?),
        None => None,
    };
    let n =
        diesel::update(q::table.find((tenant.as_str(), request.id.as_str())).filter(q::version.eq(request.version)))
            .set((
                q::person_id.eq(request.person_id.as_ref().map(PersonId::as_str)),
                q::state.eq(request.state.as_str()),
                q::details.eq(request.details.as_deref()),
                q::due_on.eq(format_date(request.due_on)),
                q::due_at.eq(request.due_at),
                q::extension_reason.eq(request.extension_reason.as_deref()),
                q::extended_at.eq(request.extended_at),
                q::verified_at.eq(request.verified_at),
                q::closed_at.eq(request.closed_at),
                q::refusal_reason.eq(request.refusal_reason.map(RefusalReason::as_str)),
                q::refusal_text.eq(request.refusal_text.as_deref()),
                q::outcome.eq(outcome),
                q::version.eq(request.version + 1),
                q::updated_at.eq(now),
            ))
            .execute(conn)
            .domain()?;
    if n == 0 {
        return Err(DomainError::VersionMismatch);
    }
    request.version += 1;
    request.updated_at = now;
    record_event(conn, tenant, &request.id, action, request.state, actor_kind, now)
}

/// Load request `id` at `if_version` (when given).
pub fn load(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<Request> {
    let request = get(conn, tenant, id)?;
    if if_version.is_some_and(|v| v != request.version) {
        return Err(DomainError::VersionMismatch);
    }
    Ok(request)
}

/// A change to a request's own fields (`PATCH`); `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// New details; `Some(None)` clears them.
    pub details: Option<Option<String>>,
    /// Link the person (only while none is linked).
    pub person: Option<PersonId>,
    /// Start working on it: `in_progress` (from `verified` or `extended`).
    pub state: Option<State>,
}

/// Apply `changes`; the person must exist (the caller checks).
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    request: &mut Request,
    changes: &Changes,
    actor_kind: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    if let Some(Some(details)) = &changes.details {
        check_text("details", details, 0, MAX_DETAILS, &mut errors);
    }
    if changes.state.is_some_and(|s| s != State::InProgress) {
        errors.push(FieldError::new("state", "only `in_progress` can be set; the other states have their own steps"));
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    if let Some(person) = &changes.person {
        match &request.person_id {
            Some(linked) if linked != person => {
                return Err(DomainError::Conflict {
                    code: "request_person",
                    message: "the request names another person already".into(),
                });
            }
            _ => request.person_id = Some(person.clone()),
        }
    }
    if let Some(details) = &changes.details {
        request.details = details.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned);
    }
    let mut action = "updated";
    if changes.state == Some(State::InProgress) && request.state != State::InProgress {
        if !matches!(request.state, State::Verified | State::Extended) || request.verified_at.is_none() {
            return Err(wrong_state(request, "started (verify it first)"));
        }
        request.state = State::InProgress;
        action = "in_progress";
    }
    save(conn, tenant, request, action, actor_kind)
}

/// Verify the requester (staff checked who they are, or the mailed link
/// was used), linking `person` when given: from any open state, once.
pub fn verify(
    conn: &mut Db,
    tenant: &TenantId,
    request: &mut Request,
    person: Option<PersonId>,
    actor_kind: &str,
) -> Result<()> {
    if !request.state.is_open() || request.verified_at.is_some() {
        return Err(wrong_state(request, "verified"));
    }
    if let Some(person) = person {
        request.person_id = Some(person);
    }
    // An extension made before the requester was verified stays: the
    // request keeps its state `extended` (and its later deadline).
    if request.state == State::Received {
        request.state = State::Verified;
    }
    request.verified_at = Some(kluis_core::time::now());
    save(conn, tenant, request, "verified", actor_kind)
}

/// Extend the deadline by `months` (1 or 2) with a reason, once, within the
/// first month; counted in `zone` from the day of receipt.
pub fn extend(
    conn: &mut Db,
    tenant: &TenantId,
    request: &mut Request,
    months: i64,
    reason: &str,
    zone: &TimeZone,
    actor_kind: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    check_text("reason", reason, 1, MAX_TEXT, &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    if !request.state.is_open() {
        return Err(wrong_state(request, "extended"));
    }
    let now = kluis_core::time::now();
    let first = deadline::due(request.received_at, zone, 1)?;
    deadline::check_extension(months, request.extended_at.is_some(), first.due_at, now)?;
    let Deadline { due_on, due_at } = deadline::due(request.received_at, zone, 1 + months)?;
    request.due_on = due_on;
    request.due_at = due_at;
    request.extension_reason = Some(reason.trim().to_owned());
    request.extended_at = Some(now);
    request.state = State::Extended;
    save(conn, tenant, request, "extended", actor_kind)
}

/// Open, and its requester verified: it can be worked on and completed
/// (an extension before verification does not count as one).
fn workable(request: &Request) -> bool {
    matches!(request.state, State::Verified | State::InProgress | State::Extended) && request.verified_at.is_some()
}

/// Whether the request may be completed now: verified (or further) and open,
/// naming a person. The caller then does what completing means and calls
/// [`complete`].
pub fn check_completable(request: &Request) -> Result<PersonId> {
    if !workable(request) {
        return Err(wrong_state(request, "completed (verify it first)"));
    }
    request.person_id.clone().ok_or_else(|| DomainError::Conflict {
        code: "request_without_person",
        message: "the request names nobody kluis knows: link a person (PATCH person_id) or refuse it".into(),
    })
}

/// Mark the request completed with `outcome` (after [`check_completable`]:
/// an erasure request no longer names its person by now).
pub fn mark_completed(
    conn: &mut Db,
    tenant: &TenantId,
    request: &mut Request,
    outcome: serde_json::Value,
    actor_kind: &str,
) -> Result<()> {
    if !workable(request) {
        return Err(wrong_state(request, "completed (verify it first)"));
    }
    request.state = State::Completed;
    request.closed_at = Some(kluis_core::time::now());
    request.outcome = Some(outcome);
    save(conn, tenant, request, "completed", actor_kind)
}

/// Refuse the request with a reason from the fixed list and its explanation.
pub fn refuse(
    conn: &mut Db,
    tenant: &TenantId,
    request: &mut Request,
    reason: RefusalReason,
    text: &str,
    actor_kind: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    check_text("text", text, 1, MAX_TEXT, &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    if !request.state.is_open() {
        return Err(wrong_state(request, "refused"));
    }
    request.state = State::Refused;
    request.closed_at = Some(kluis_core::time::now());
    request.refusal_reason = Some(reason);
    request.refusal_text = Some(text.trim().to_owned());
    save(conn, tenant, request, "refused", actor_kind)
}

/// Keep the hash of a mailed single-use token (hex SHA-256), valid until `expires_at`.
pub fn set_token(conn: &mut Db, tenant: &TenantId, id: &str, hash: &str, expires_at: PrimitiveDateTime) -> Result<()> {
    diesel::update(q::table.find((tenant.as_str(), id)))
        .set((q::token_hash.eq(hash), q::token_expires_at.eq(expires_at)))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// The request whose unexpired verification token hashes to `hash`; the token is spent.
pub fn take_token(conn: &mut Db, tenant: &TenantId, hash: &str) -> Result<Option<Request>> {
    let now = kluis_core::time::now();
    let id: Option<String> = q::table
        .filter(q::tenant_id.eq(tenant.as_str()))
        .filter(q::token_hash.eq(hash))
        .filter(q::token_expires_at.gt(now))
        .select(q::id)
        .first(conn)
        .optional()
        .domain()?;
    let Some(id) = id else { return Ok(None) };
    let n = diesel::update(q::table.find((tenant.as_str(), id.as_str())).filter(q::token_hash.eq(hash)))
        .set((q::token_hash.eq(None::<String>), q::token_expires_at.eq(None::<PrimitiveDateTime>)))
        .execute(conn)
        .domain()?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, tenant, &id).map(Some)
}

/// Make the export downloadable once, by the signed-in person or with the
/// token whose hash is `hash`, until `expires_at`.
pub fn offer_download(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    hash: &str,
    expires_at: PrimitiveDateTime,
) -> Result<()> {
    diesel::update(q::table.find((tenant.as_str(), id)))
        .set((
            q::download_hash.eq(hash),
            q::download_expires_at.eq(expires_at),
            q::downloaded_at.eq(None::<PrimitiveDateTime>),
        ))
        .execute(conn)
        .domain()?;
    Ok(())
}

/// Spend the download of request `id` (by the signed-in person); false when
/// none is waiting (never offered, used, or expired).
pub fn take_download(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<bool> {
    let now = kluis_core::time::now();
    let n = diesel::update(
        q::table
            .find((tenant.as_str(), id))
            .filter(q::download_hash.is_not_null())
            .filter(q::downloaded_at.is_null())
            .filter(q::download_expires_at.gt(now)),
    )
    .set((q::downloaded_at.eq(now), q::download_hash.eq(None::<String>)))
    .execute(conn)
    .domain()?;
    Ok(n == 1)
}

/// The request whose waiting download token hashes to `hash`, spent.
pub fn take_download_token(conn: &mut Db, tenant: &TenantId, hash: &str) -> Result<Option<Request>> {
    let id: Option<String> = q::table
        .filter(q::tenant_id.eq(tenant.as_str()))
        .filter(q::download_hash.eq(hash))
        .select(q::id)
        .first(conn)
        .optional()
        .domain()?;
    let Some(id) = id else { return Ok(None) };
    if !take_download(conn, tenant, &id)? {
        return Ok(None);
    }
    get(conn, tenant, &id).map(Some)
}

/// Which reminder the privacy contact gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// [`DUE_SOON_DAYS`] days or fewer left.
    DueSoon,
    /// Past its deadline.
    Overdue,
}

/// The tenant's open requests that need a reminder at `now` (each kind once).
pub fn reminders_due(conn: &mut Db, tenant: &TenantId, now: PrimitiveDateTime) -> Result<Vec<(Request, Reminder)>> {
    let soon = now + time::Duration::days(DUE_SOON_DAYS);
    let rows = q::table
        .filter(q::tenant_id.eq(tenant.as_str()))
        .filter(q::state.eq_any(State::OPEN))
        .filter(q::due_at.le(soon))
        .filter(q::reminded_due_soon_at.is_null().or(q::reminded_overdue_at.is_null()))
        .order(q::due_at.asc())
        .select(Row::as_select())
        .limit(500)
        .load(conn)
        .domain()?;
    let mut due = Vec::new();
    for row in rows {
        let request = Request::try_from(row)?;
        if request.due_at <= now {
            if request.reminded_overdue_at.is_none() {
                due.push((request, Reminder::Overdue));
            }
        } else if request.reminded_due_soon_at.is_none() {
            due.push((request, Reminder::DueSoon));
        }
    }
    Ok(due)
}

/// Record that `reminder` was sent for request `id` (false when another
/// instance did first).
pub fn mark_reminded(
    conn: &mut Db,
    tenant: &TenantId,
    id: &str,
    reminder: Reminder,
    now: PrimitiveDateTime,
) -> Result<bool> {
    let target = q::table.find((tenant.as_str(), id));
    let n = match reminder {
        Reminder::DueSoon => diesel::update(target.filter(q::reminded_due_soon_at.is_null()))
            .set(q::reminded_due_soon_at.eq(now))
            .execute(conn),
        Reminder::Overdue => diesel::update(target.filter(q::reminded_overdue_at.is_null()))
            .set((q::reminded_overdue_at.eq(now), q::reminded_due_soon_at.eq(Some(now))))
            .execute(conn),
    }
    .domain()?;
    Ok(n == 1)
}

/// Every request of `person`, oldest first.
pub fn of_person(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<Vec<Request>> {
    let rows = q::table
        .filter(q::tenant_id.eq(tenant.as_str()))
        .filter(q::person_id.eq(person.as_str()))
        .order(q::id.asc())
        .select(Row::as_select())
        .load(conn)
        .domain()?;
    rows.into_iter().map(Request::try_from).collect()
}

/// Unlink a person's requests from them (erasure): the requests stay as the
/// record that they were answered, without the person, their address or
/// what they wrote. Rows changed.
pub(crate) fn anonymise(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::update(q::table.filter(q::tenant_id.eq(tenant.as_str())).filter(q::person_id.eq(person.as_str())))
        .set((
            q::person_id.eq(None::<String>),
            q::email.eq(None::<String>),
            q::details.eq(None::<String>),
            q::purposes.eq(None::<String>),
            q::refusal_text.eq(None::<String>),
            q::extension_reason.eq(None::<String>),
            q::token_hash.eq(None::<String>),
            q::download_hash.eq(None::<String>),
        ))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

/// How a mailed single-use token is kept: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(kluis_store::crypto::hash_secret(token))
}
