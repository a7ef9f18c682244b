//! The breach register (Art. 33, 34): every personal-data breach of the
//! tenant, its own (`source: tenant`) or one at the platform the operator
//! recorded for it (`source: platform`), with what happened, the data
//! categories and approximate numbers affected, likely consequences,
//! measures taken, the risk, and the duty's clock: the supervisory
//! authority is due a report 72 hours after detection
//! (`authority_due_at`), unless the register says why none is made. With
//! a high risk the people affected are told (Art. 34); who was told is kept
//! in `breach_notifications`, which an erasure clears.

use diesel::prelude::*;
use kluis_core::category::Category;
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, PersonId, Result, TenantId};
use kluis_store::Db;
use kluis_store::error::StoreResultExt;
use kluis_store::schema::{breach_notifications as n, breaches as b};
use time::{Duration, PrimitiveDateTime};

use crate::requests::{check_text, wire_enum};

/// Art. 33(1): the report is due this long after the breach became known.
pub const REPORT_WITHIN: Duration = Duration::hours(72);
/// Longest description, consequences or measures, in characters.
pub const MAX_TEXT: usize = 4000;
/// Longest reason for not reporting, in characters.
pub const MAX_REASON: usize = 2000;
/// Longest reference the authority gave the report, in characters.
pub const MAX_REFERENCE: usize = 200;
/// Largest count of people or records a breach can name.
pub const MAX_COUNT: i64 = 1_000_000_000_000;

wire_enum! {
    /// How likely the breach harms the people affected.
    Risk {
        /// Unlikely to result in a risk: recorded, no report needed (Art. 33(1)).
        None = "none",
        /// A risk: the authority is told within 72 hours.
        Risk = "risk",
        /// A high risk: the people affected are told too (Art. 34).
        HighRisk = "high_risk",
    }
}

wire_enum! {
    /// Where the breach happened.
    Source {
        /// At the tenant (entered by the tenant).
        Tenant = "tenant",
        /// At the platform, recorded by its operator (the processor, Art. 33(2)).
        Platform = "platform",
    }
}

wire_enum! {
    /// Whether the register still has work to do on it.
    Status {
        /// Being handled.
        Open = "open",
        /// Handled: reported, or the reason why not recorded.
        Closed = "closed",
    }
}

/// A breach in the register.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// Breach id.
    pub id: String,
    /// The tenant's own, or the platform's.
    pub source: Source,
    /// For a platform breach: the operator's id of it, the same in every tenant it reached.
    pub platform_ref: Option<String>,
    /// When it became known (the 72 hours count from here).
    pub detected_at: PrimitiveDateTime,
    /// What happened.
    pub description: String,
    /// The catalogue categories of data concerned.
    pub data_categories: Vec<Category>,
    /// Approximately how many people.
    pub people_affected: Option<i64>,
    /// Approximately how many records.
    pub records_affected: Option<i64>,
    /// Likely consequences.
    pub consequences: Option<String>,
    /// Measures taken or proposed.
    pub measures: Option<String>,
    /// The risk.
    pub risk: Risk,
    /// `detected_at` + 72 hours.
    pub authority_due_at: PrimitiveDateTime,
    /// When it was reported to the supervisory authority.
    pub reported_to_authority_at: Option<PrimitiveDateTime>,
    /// The authority's reference of the report.
    pub authority_reference: Option<String>,
    /// Why no report is made (e.g. unlikely to result in a risk).
    pub no_report_reason: Option<String>,
    /// When the people affected were (first) told.
    pub subjects_notified_at: Option<PrimitiveDateTime>,
    /// How many people were told through kluis.
    pub subjects_notified: i64,
    /// Open or closed.
    pub status: Status,
    /// When it was closed.
    pub closed_at: Option<PrimitiveDateTime>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Recorded.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

impl Breach {
    /// Whether its report is overdue at `now`: due, not reported, and no
    /// reason recorded why none is made.
    pub fn overdue_at(&self, now: PrimitiveDateTime) -> bool {
        self.reported_to_authority_at.is_none() && self.no_report_reason.is_none() && now >= self.authority_due_at
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = b)]
struct Row {
    id: String,
    source: String,
    platform_ref: Option<String>,
    detected_at: PrimitiveDateTime,
    description: String,
    data_categories: String,
    people_affected: Option<i64>,
    records_affected: Option<i64>,
    consequences: Option<String>,
    measures: Option<String>,
    risk: String,
    authority_due_at: PrimitiveDateTime,
    reported_to_authority_at: Option<PrimitiveDateTime>,
    authority_reference: Option<String>,
    no_report_reason: Option<String>,
    subjects_notified_at: Option<PrimitiveDateTime>,
    subjects_notified: i64,
    status: String,
    closed_at: Option<PrimitiveDateTime>,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

fn corrupt(what: &str, value: &str) -> DomainError {
    DomainError::Internal(format!("breaches: unknown {what} {value}"))
}

impl TryFrom<Row> for Breach {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Breach> {
        let names: Vec<String> =
            serde_json::from_str(&row.data_categories).map_err(|e| DomainError::Internal(e.to_string()))?;
        let data_categories = names
            .iter()
            .map(|name| name.parse::<Category>().map_err(|_| corrupt("category", name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Breach {
            source: Source::parse(&row.source).ok_or_else(|| corrupt("source", &row.source))?,
            risk: Risk::parse(&row.risk).ok_or_else(|| corrupt("risk", &row.risk))?,
            status: Status::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
            data_categories,
            id: row.id,
            platform_ref: row.platform_ref,
            detected_at: row.detected_at,
            description: row.description,
            people_affected: row.people_affected,
            records_affected: row.records_affected,
            consequences: row.consequences,
            measures: row.measures,
            authority_due_at: row.authority_due_at,
            reported_to_authority_at: row.reported_to_authority_at,
            authority_reference: row.authority_reference,
            no_report_reason: row.no_report_reason,
            subjects_notified_at: row.subjects_notified_at,
            subjects_notified: row.subjects_notified,
            closed_at: row.closed_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A breach to record.
#[derive(Debug, Clone)]
pub struct NewBreach {
    /// When it became known.
    pub detected_at: PrimitiveDateTime,
    /// What happened.
    pub description: String,
    /// Catalogue category names (checked here).
    pub data_categories: Vec<String>,
    /// Approximately how many people.
    pub people_affected: Option<i64>,
    /// Approximately how many records.
    pub records_affected: Option<i64>,
    /// Likely consequences.
    pub consequences: Option<String>,
    /// Measures taken or proposed.
    pub measures: Option<String>,
    /// The risk.
    pub risk: Risk,
    /// When it was reported, if it was already.
    pub reported_to_authority_at: Option<PrimitiveDateTime>,
    /// The authority's reference.
    pub authority_reference: Option<String>,
    /// Why no report is made.
    pub no_report_reason: Option<String>,
}

/// The categories named, each of the catalogue and once (422 naming the entry).
fn categories(names: &[String], errors: &mut Vec<FieldError>) -> Vec<Category> {
    let mut out = Vec::new();
    if names.is_empty() {
        errors.push(FieldError::new("data_categories", "name at least one data category"));
    }
    for (i, name) in names.iter().enumerate() {
        match name.parse::<Category>() {
            Ok(c) if out.contains(&c) => {
                errors.push(FieldError::new(format!("data_categories[{i}]"), "is named twice"));
            }
            Ok(c) => out.push(c),
            Err(_) => errors.push(FieldError::new(
                format!("data_categories[{i}]"),
                "must be a category of the catalogue (user.name, user.contact.email, ...)",
            )),
        }
    }
    out
}

fn count(field: &str, value: Option<i64>, errors: &mut Vec<FieldError>) {
    if value.is_some_and(|n| !(0..=MAX_COUNT).contains(&n)) {
        errors.push(FieldError::new(field, format!("must be 0 to {MAX_COUNT}")));
    }
}

fn optional_text(field: &str, text: Option<&str>, min: usize, max: usize, errors: &mut Vec<FieldError>) {
    if let Some(text) = text {
        check_text(field, text, min, max, errors);
    }
}

/// The timestamps' rules: nothing in the future, nothing before detection.
fn check_times(
    detected_at: PrimitiveDateTime,
    later: [(&str, Option<PrimitiveDateTime>); 2],
    now: PrimitiveDateTime,
    errors: &mut Vec<FieldError>,
) {
    if detected_at > now {
        errors.push(FieldError::new("detected_at", "must not be in the future"));
    }
    for (field, at) in later {
        match at {
            Some(at) if at > now => errors.push(FieldError::new(field, "must not be in the future")),
            Some(at) if at < detected_at => errors.push(FieldError::new(field, "must not be before detected_at")),
            _ => {}
        }
    }
}

fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

fn json_categories(categories: &[Category]) -> Result<String> {
    let names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    serde_json::to_string(&names).map_err(|e| DomainError::Internal(e.to_string()))
}

/// The rules of a new breach, each broken one named by its field; its categories.
pub fn check(new: &NewBreach, now: PrimitiveDateTime) -> Result<Vec<Category>> {
    let mut errors = Vec::new();
    check_text("description", &new.description, 1, MAX_TEXT, &mut errors);
    let categories = categories(&new.data_categories, &mut errors);
    count("people_affected", new.people_affected, &mut errors);
    count("records_affected", new.records_affected, &mut errors);
    optional_text("consequences", new.consequences.as_deref(), 0, MAX_TEXT, &mut errors);
    optional_text("measures", new.measures.as_deref(), 0, MAX_TEXT, &mut errors);
    optional_text("authority_reference", new.authority_reference.as_deref(), 1, MAX_REFERENCE, &mut errors);
    optional_text("no_report_reason", new.no_report_reason.as_deref(), 1, MAX_REASON, &mut errors);
    let times = [("reported_to_authority_at", new.reported_to_authority_at), ("subjects_notified_at", None)];
    check_times(new.detected_at, times, now, &mut errors);
    if errors.is_empty() { Ok(categories) } else { Err(DomainError::Validation(errors)) }
}

/// Record a breach (open) in the tenant's register: its own, or, with
/// `platform_ref`, one at the platform.
pub fn create(conn: &mut Db, tenant: &TenantId, new: &NewBreach, platform_ref: Option<&str>) -> Result<Breach> {
    let now = kluis_core::time::now();
    let categories = check(new, now)?;
    let id = kluis_core::new_id();
    let source = if platform_ref.is_some() { Source::Platform } else { Source::Tenant };
    diesel::insert_into(b::table)
        .values((
            b::tenant_id.eq(tenant.as_str()),
            b::id.eq(&id),
            b::source.eq(source.as_str()),
            b::platform_ref.eq(platform_ref),
            b::detected_at.eq(new.detected_at),
            b::description.eq(new.description.trim()),
            b::data_categories.eq(json_categories(&categories)?),
            b::people_affected.eq(new.people_affected),
            b::records_affected.eq(new.records_affected),
            b::consequences.eq(clean(new.consequences.as_deref())),
            b::measures.eq(clean(new.measures.as_deref())),
            b::risk.eq(new.risk.as_str()),
            b::authority_due_at.eq(new.detected_at + REPORT_WITHIN),
            b::reported_to_authority_at.eq(new.reported_to_authority_at),
            b::authority_reference.eq(clean(new.authority_reference.as_deref())),
            b::no_report_reason.eq(clean(new.no_report_reason.as_deref())),
            b::subjects_notified.eq(0i64),
            b::status.eq(Status::Open.as_str()),
            b::version.eq(1i64),
            b::created_at.eq(now),
            b::updated_at.eq(now),
        ))
        .execute(conn)
        .domain()?;
    get(conn, tenant, &id)
}

/// One breach of the tenant.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Breach> {
    b::table
        .find((tenant.as_str(), id))
        .select(Row::as_select())
        .first(conn)
        .optional()
        .domain()?
        .ok_or(DomainError::NotFound)?
        .try_into()
}

/// Breach `id` at `if_version` (when given): another tenant's is not found
/// before its version is compared.
pub fn load(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<Breach> {
    let breach = get(conn, tenant, id)?;
    if if_version.is_some_and(|v| v != breach.version) {
        return Err(DomainError::VersionMismatch);
    }
    Ok(breach)
}

/// Which breaches a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `true`: only those whose report is overdue; `false`: only the others.
    pub overdue: Option<bool>,
    /// Only of this risk.
    pub risk: Option<Risk>,
    /// Only open or only closed ones.
    pub status: Option<Status>,
    /// Only the tenant's own, or only the platform's.
    pub source: Option<Source>,
}

/// A page of the tenant's breaches, oldest first, `limit` at a time after the id `after`.
pub fn list(
    conn: &mut Db,
    tenant: &TenantId,
    filter: &Filter,
    limit: i64,
    after: Option<&str>,
) -> Result<Page<Breach>> {
    let now = kluis_core::time::now();
    let mut query = b::table
        .filter(b::tenant_id.eq(tenant.as_str()))
        .select(Row::as_select())
        .order(b::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(b::id.gt(after.to_owned()));
    }
    if let Some(risk) = filter.risk {
        query = query.filter(b::risk.eq(risk.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(b::status.eq(status.as_str()));
    }
    if let Some(source) = filter.source {
        query = query.filter(b::source.eq(source.as_str()));
    }
    match filter.overdue {
        Some(true) => {
            query = query
                .filter(b::reported_to_authority_at.is_null())
                .filter(b::no_report_reason.is_null())
                .filter(b::authority_due_at.le(now));
        }
        Some(false) => {
            query = query.filter(
                b::reported_to_authority_at
                    .is_not_null()
                    .or(b::no_report_reason.is_not_null())
                    .or(b::authority_due_at.gt(now)),
            );
        }
        None => {}
    }
    let rows = query.load(conn).domain()?;
    let breaches = rows.into_iter().map(Breach::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(breaches, limit, |b| b.id.clone()))
}

/// A change to a breach (`PATCH`); `None` leaves a field as it is,
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// When it became known (moves the clock).
    pub detected_at: Option<PrimitiveDateTime>,
    /// What happened.
    pub description: Option<String>,
    /// The categories (catalogue names).
    pub data_categories: Option<Vec<String>>,
    /// Approximately how many people.
    pub people_affected: Option<Option<i64>>,
    /// Approximately how many records.
    pub records_affected: Option<Option<i64>>,
    /// Likely consequences.
    pub consequences: Option<Option<String>>,
    /// Measures taken or proposed.
    pub measures: Option<Option<String>>,
    /// The risk.
    pub risk: Option<Risk>,
    /// When it was reported to the authority.
    pub reported_to_authority_at: Option<Option<PrimitiveDateTime>>,
    /// The authority's reference.
    pub authority_reference: Option<Option<String>>,
    /// Why no report is made.
    pub no_report_reason: Option<Option<String>>,
    /// When the people affected were told (by other means than kluis).
    pub subjects_notified_at: Option<Option<PrimitiveDateTime>>,
    /// Close or reopen it.
    pub status: Option<Status>,
}

/// Apply `changes` at the breach's version, bumping it. Closing needs a
/// report or a reason why none is made (422 on `status`); the timestamps
/// keep their rules after the change.
pub fn update(conn: &mut Db, tenant: &TenantId, breach: &mut Breach, changes: &Changes) -> Result<()> {
    let now = kluis_core::time::now();
    let mut errors = Vec::new();
    if let Some(description) = &changes.description {
        check_text("description", description, 1, MAX_TEXT, &mut errors);
    }
    let new_categories = changes.data_categories.as_ref().map(|names| categories(names, &mut errors));
    count("people_affected", changes.people_affected.flatten(), &mut errors);
    count("records_affected", changes.records_affected.flatten(), &mut errors);
    optional_text("consequences", changes.consequences.as_ref().and_then(Option::as_deref), 0, MAX_TEXT, &mut errors);
    optional_text("measures", changes.measures.as_ref().and_then(Option::as_deref), 0, MAX_TEXT, &mut errors);
    let reference = changes.authority_reference.as_ref().and_then(Option::as_deref);
    optional_text("authority_reference", reference, 1, MAX_REFERENCE, &mut errors);
    let reason = changes.no_report_reason.as_ref().and_then(Option::as_deref);
    optional_text("no_report_reason", reason, 1, MAX_REASON, &mut errors);
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    let mut next = breach.clone();
    if let Some(at) = changes.detected_at {
        // Not in the future (checked again below): the clock is added only to a past time.
        let Some(due) = at.checked_add(REPORT_WITHIN).filter(|_| at <= now) else {
            return Err(DomainError::invalid("detected_at", "must not be in the future"));
        };
        next.detected_at = at;
        next.authority_due_at = due;
    }
    if let Some(description) = &changes.description {
        description.trim().clone_into(&mut next.description);
    }
    if let Some(categories) = new_categories {
        next.data_categories = categories;
    }
    if let Some(n) = changes.people_affected {
        next.people_affected = n;
    }
    if let Some(n) = changes.records_affected {
        next.records_affected = n;
    }
    if let Some(text) = &changes.consequences {
        next.consequences = clean(text.as_deref());
    }
    if let Some(text) = &changes.measures {
        next.measures = clean(text.as_deref());
    }
    if let Some(risk) = changes.risk {
        next.risk = risk;
    }
    if let Some(at) = changes.reported_to_authority_at {
        next.reported_to_authority_at = at;
    }
    if let Some(text) = &changes.authority_reference {
        next.authority_reference = clean(text.as_deref());
    }
    if let Some(text) = &changes.no_report_reason {
        next.no_report_reason = clean(text.as_deref());
    }
    if let Some(at) = changes.subjects_notified_at {
        next.subjects_notified_at = at;
    }
    match changes.status {
        Some(Status::Closed) if next.status == Status::Open => {
            next.status = Status::Closed;
            next.closed_at = Some(now);
        }
        Some(Status::Open) if next.status == Status::Closed => {
            next.status = Status::Open;
            next.closed_at = None;
        }
        _ => {}
    }
    // The rules hold for the breach as it would be, whatever the change touched.
    let times = [
        ("reported_to_authority_at", next.reported_to_authority_at),
        ("subjects_notified_at", next.subjects_notified_at),
    ];
    let mut errors = Vec::new();
    check_times(next.detected_at, times, now, &mut errors);
    if next.status == Status::Closed && next.reported_to_authority_at.is_none() && next.no_report_reason.is_none() {
        errors.push(FieldError::new(
            "status",
            "a breach is closed once reported to the authority (reported_to_authority_at) or with the reason why no report is made (no_report_reason)",
        ));
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    next.updated_at = now;
    save(conn, tenant, &next)?;
    *breach = next;
    breach.version += 1;
    Ok(())
}

/// Write a breach's fields at its version, bumping it (409-free: a lost
/// race is a version mismatch).
fn save(conn: &mut Db, tenant: &TenantId, breach: &Breach) -> Result<()> {
    let n = diesel::update(b::table.find((tenant.as_str(), breach.id.as_str())).filter(b::version.eq(breach.version)))
        .set((
            b::detected_at.eq(breach.detected_at),
            b::description.eq(&breach.description),
            b::data_categories.eq(json_categories(&breach.data_categories)?),
            b::people_affected.eq(breach.people_affected),
            b::records_affected.eq(breach.records_affected),
            b::consequences.eq(breach.consequences.as_deref()),
            b::measures.eq(breach.measures.as_deref()),
            b::risk.eq(breach.risk.as_str()),
            b::authority_due_at.eq(breach.authority_due_at),
            b::reported_to_authority_at.eq(breach.reported_to_authority_at),
            b::authority_reference.eq(breach.authority_reference.as_deref()),
            b::no_report_reason.eq(breach.no_report_reason.as_deref()),
            b::subjects_notified_at.eq(breach.subjects_notified_at),
            b::subjects_notified.eq(breach.subjects_notified),
            b::status.eq(breach.status.as_str()),
            b::closed_at.eq(breach.closed_at),
            b::version.eq(breach.version + 1),
            b::updated_at.eq(breach.updated_at),
        ))
        .execute(conn)
        .domain()?;
    if n == 0 { Err(DomainError::VersionMismatch) } else { Ok(()) }
}

/// Only a high-risk breach is told to the people affected (409 otherwise).
pub fn check_notifiable(breach: &Breach) -> Result<()> {
    if breach.risk == Risk::HighRisk {
        Ok(())
    } else {
        Err(DomainError::Conflict {
            code: "breach_not_high_risk",
            message: format!(
                "the people affected are told of a breach with risk `high_risk` (Art. 34); this one has `{}`",
                breach.risk.as_str()
            ),
        })
    }
}

/// Of `persons`, those already told of breach `id`.
pub fn already_notified(conn: &mut Db, tenant: &TenantId, id: &str, persons: &[PersonId]) -> Result<Vec<PersonId>> {
    let mut told = Vec::new();
    for chunk in persons.chunks(500) {
        let ids: Vec<&str> = chunk.iter().map(PersonId::as_str).collect();
        let rows: Vec<String> = n::table
            .filter(n::tenant_id.eq(tenant.as_str()))
            .filter(n::breach_id.eq(id))
            .filter(n::person_id.eq_any(ids))
            .select(n::person_id)
            .load(conn)
            .domain()?;
        told.extend(rows.into_iter().map(PersonId));
    }
    Ok(told)
}

/// Record that `persons` were told of the breach now: their rows, the
/// count, and `subjects_notified_at` when it is the first time.
pub fn record_notified(conn: &mut Db, tenant: &TenantId, breach: &mut Breach, persons: &[PersonId]) -> Result<()> {
    let now = kluis_core::time::now();
    for person in persons {
        diesel::insert_into(n::table)
            .values((
                n::tenant_id.eq(tenant.as_str()),
                n::breach_id.eq(&breach.id),
                n::person_id.eq(person.as_str()),
                n::notified_at.eq(now),
            ))
            .execute(conn)
            .domain()?;
    }
    let mut next = breach.clone();
    next.subjects_notified += i64::try_from(persons.len()).unwrap_or(i64::MAX);
    if next.subjects_notified_at.is_none() && !persons.is_empty() {
        next.subjects_notified_at = Some(now);
    }
    next.updated_at = now;
    save(conn, tenant, &next)?;
    *breach = next;
    breach.version += 1;
    Ok(())
}

/// The breaches a person was told of: (breach id, when), oldest first.
pub fn notifications_of(
    conn: &mut Db,
    tenant: &TenantId,
    person: &PersonId,
) -> Result<Vec<(String, PrimitiveDateTime)>> {
    n::table
        .filter(n::tenant_id.eq(tenant.as_str()))
        .filter(n::person_id.eq(person.as_str()))
        .order(n::breach_id.asc())
        .select((n::breach_id, n::notified_at))
        .load(conn)
        .domain()
}

/// Forget that a person was told of any breach (erasure); rows removed.
/// The breaches keep their counts.
pub(crate) fn erase_notifications(conn: &mut Db, tenant: &TenantId, person: &PersonId) -> Result<u64> {
    let n = diesel::delete(n::table.filter(n::tenant_id.eq(tenant.as_str())).filter(n::person_id.eq(person.as_str())))
        .execute(conn)
        .domain()?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> PrimitiveDateTime {
        let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
        PrimitiveDateTime::new(t.date(), t.time())
    }

    fn breach(detected: &str) -> Breach {
        let detected_at = at(detected);
        Breach {
            id: "b".into(),
            source: Source::Tenant,
            platform_ref: None,
            detected_at,
            description: "x".into(),
            data_categories: vec![Category::Email],
            people_affected: None,
            records_affected: None,
            consequences: None,
            measures: None,
            risk: Risk::Risk,
            authority_due_at: detected_at + REPORT_WITHIN,
            reported_to_authority_at: None,
            authority_reference: None,
            no_report_reason: None,
            subjects_notified_at: None,
            subjects_notified: 0,
            status: Status::Open,
            closed_at: None,
            version: 1,
            created_at: detected_at,
            updated_at: detected_at,
        }
    }

    #[test]
    fn the_report_is_overdue_72_hours_after_detection_unless_made_or_explained() {
        let b = breach("2026-12-01T10:00:00Z");
        assert_eq!(b.authority_due_at, at("2026-12-04T10:00:00Z"));
        assert!(!b.overdue_at(at("2026-12-04T09:59:59Z")));
        assert!(b.overdue_at(at("2026-12-04T10:00:00Z")));
        let reported = Breach { reported_to_authority_at: Some(at("2026-12-02T10:00:00Z")), ..b.clone() };
        assert!(!reported.overdue_at(at("2026-12-10T00:00:00Z")));
        let explained = Breach { no_report_reason: Some("encrypted, key safe".into()), ..b };
        assert!(!explained.overdue_at(at("2026-12-10T00:00:00Z")));
    }

    #[test]
    fn categories_must_be_known_and_named_once() {
        let mut errors = Vec::new();
        let names = ["user.contact.email", "user.health", "user.contact.email"].map(String::from);
        let found = categories(&names, &mut errors);
        assert_eq!(found, [Category::Email]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["data_categories[1]", "data_categories[2]"]);
        let mut errors = Vec::new();
        categories(&[], &mut errors);
        assert_eq!(errors[0].field, "data_categories");
    }
}
