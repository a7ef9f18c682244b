//! Retention policies: what a tenant keeps how long. A policy names a data
//! category from the catalogue, or a purpose (then its period is the
//! purpose's retention unless it gives one), the moment the period starts
//! and what happens then. The periods are ISO 8601 durations, parsed
//! strictly; none may exceed the tenant's ceiling (`max_retention`).

use std::fmt;
use std::str::FromStr;

use diesel::prelude::*;
use kluis_core::category::{Category, is_special};
use kluis_core::page::Page;
use kluis_core::{DomainError, FieldError, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::personal::PurgeAction;
use kluis_store::schema::retention_policies as rp;
use kluis_store::{Db, write_tx};
use time::{Date, Month, PrimitiveDateTime};

/// An ISO 8601 duration of whole units: `P3Y`, `P18M`, `P4W`, `P30D`,
/// `PT12H`, `P1Y6M`, ... (`P`, then years, months, weeks and days, then
/// after a `T` hours, minutes and seconds; each at most once, in that
/// order, no fractions or signs, not zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Period {
    /// Calendar months (years count 12).
    pub months: u32,
    /// Seconds (weeks, days, hours and minutes in seconds).
    pub seconds: u64,
}

/// Why a period was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPeriod;

impl fmt::Display for BadPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("must be an ISO 8601 duration longer than zero, such as P3Y, P18M, P30D or PT12H")
    }
}

impl FromStr for Period {
    type Err = BadPeriod;

    fn from_str(s: &str) -> std::result::Result<Period, BadPeriod> {
        if !kluis_core::validate::is_iso8601_duration(s) {
            return Err(BadPeriod);
        }
        let mut period = Period::default();
        let mut in_time = false;
        let mut number: u64 = 0;
        for b in s.bytes().skip(1) {
            match b {
                b'T' => in_time = true,
                b'0'..=b'9' => number = number * 10 + u64::from(b - b'0'),
                unit => {
                    let (months, seconds) = match (in_time, unit) {
                        (false, b'Y') => (number * 12, 0),
                        (false, b'M') => (number, 0),
                        (false, b'W') => (0, number * 7 * 86_400),
                        (false, b'D') => (0, number * 86_400),
                        (true, b'H') => (0, number * 3_600),
                        (true, b'M') => (0, number * 60),
                        (true, b'S') => (0, number),
                        _ => return Err(BadPeriod),
                    };
                    period.months = period.months.saturating_add(u32::try_from(months).map_err(|_| BadPeriod)?);
                    period.seconds = period.seconds.saturating_add(seconds);
                    number = 0;
                }
            }
        }
        if period == Period::default() { Err(BadPeriod) } else { Ok(period) }
    }
}

impl Period {
    /// The moment this period before `at` (months by the calendar: a day
    /// past the end of the month lands on its last day), never earlier than
    /// [`Period::EARLIEST`]: a period of a hundred million years is a valid policy,
    /// and its moment must still be one both backends can compare with.
    pub fn before(self, at: PrimitiveDateTime) -> PrimitiveDateTime {
        let total = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 - i64::from(self.months);
        let year = i32::try_from(total.div_euclid(12)).unwrap_or(i32::MIN);
        if year < Self::EARLIEST.year() {
            return Self::EARLIEST;
        }
        let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).unwrap_or(1)).unwrap_or(Month::January);
        let day = at.day().min(time::util::days_in_month(month, year));
        let date = Date::from_calendar_date(year, month, day).unwrap_or(Self::EARLIEST.date());
        let moved = PrimitiveDateTime::new(date, at.time());
        let seconds = i64::try_from(self.seconds).unwrap_or(i64::MAX);
        moved.checked_sub(time::Duration::seconds(seconds)).unwrap_or(Self::EARLIEST).max(Self::EARLIEST)
    }

    /// The earliest moment a period reaches back to: 1 January of the year 1.
    /// PostgreSQL's `timestamp` stops at 4713 BC (the `time` crate goes to
    /// -9999), and nothing kluis keeps is older.
    pub const EARLIEST: PrimitiveDateTime = time::macros::datetime!(0001-01-01 00:00);

    /// True when this period reaches further back than `other` from `now`.
    pub fn exceeds(self, other: Period, now: PrimitiveDateTime) -> bool {
        self.before(now) < other.before(now)
    }
}

/// The moment a policy's period starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Start {
    /// When the data was recorded.
    Created,
    /// When the person was last active: a device's or session's own last
    /// use for device and session rows; for the rest, the latest of the
    /// person's profile change, session use and device activity.
    LastActivity,
    /// When the person's last consent covering the data was withdrawn (or
    /// objected to), no consent covering it standing since.
    ConsentWithdrawn,
    /// When the person's last consent covering the data ran out.
    ConsentExpired,
    /// Event-based: when the data was put back on the repaired equipment
    /// (a customer-data backup marked restored) or the serviced item was
    /// returned. Only for the serviced-device categories; rows still
    /// waiting for their event are never reached.
    RestoredOrReturned,
}

impl Start {
    /// Every start, in a stable order.
    pub const ALL: [Start; 5] = [
        Start::Created,
        Start::LastActivity,
        Start::ConsentWithdrawn,
        Start::ConsentExpired,
        Start::RestoredOrReturned,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Start::Created => "created",
            Start::LastActivity => "last_activity",
            Start::ConsentWithdrawn => "consent_withdrawn",
            Start::ConsentExpired => "consent_expired",
            Start::RestoredOrReturned => "restored_or_returned",
        }
    }

    fn parse(s: &str) -> Result<Start> {
        Start::ALL
            .into_iter()
            .find(|start| start.as_str() == s)
            .ok_or_else(|| DomainError::Internal(format!("stored retention start {s} is unknown")))
    }

    /// True for the starts that count from a consent's end.
    pub fn is_consent(self) -> bool {
        matches!(self, Start::ConsentWithdrawn | Start::ConsentExpired)
    }

    /// True for the start that counts from a serviced item's event.
    pub fn is_event(self) -> bool {
        self == Start::RestoredOrReturned
    }
}

/// The categories whose rows record a restore or a return: the only ones a
/// [`Start::RestoredOrReturned`] policy may name.
pub fn has_events(category: Category) -> bool {
    matches!(category, Category::Service | Category::ServiceCredential | Category::ServiceBackup)
}

/// The wire name of an action.
pub fn action_name(action: PurgeAction) -> &'static str {
    match action {
        PurgeAction::Delete => "delete",
        PurgeAction::Anonymise => "anonymise",
    }
}

fn parse_action(s: &str) -> Result<PurgeAction> {
    match s {
        "delete" => Ok(PurgeAction::Delete),
        "anonymise" => Ok(PurgeAction::Anonymise),
        other => Err(DomainError::Internal(format!("stored retention action {other} is unknown"))),
    }
}

/// What a policy governs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every row of a catalogue category, whatever the purposes say: a hard maximum.
    Category(Category),
    /// The data a purpose keeps: each category it names, once every purpose
    /// naming that category lets it go (data two purposes share lives until
    /// the last of them is done with it).
    Purpose(String),
}

/// A retention policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Its id.
    pub id: String,
    /// What it governs.
    pub target: Target,
    /// Its own period; `None` for a purpose policy that follows the purpose's retention.
    pub period: Option<String>,
    /// When the period starts.
    pub start: Start,
    /// What happens then.
    pub action: PurgeAction,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Created.
    pub created_at: PrimitiveDateTime,
    /// Last changed.
    pub updated_at: PrimitiveDateTime,
}

impl Policy {
    /// The period in force: its own, or its purpose's retention.
    pub fn period_in<'a>(&'a self, facts: &'a [PurposeFacts]) -> Option<&'a str> {
        match (&self.period, &self.target) {
            (Some(period), _) => Some(period),
            (None, Target::Purpose(key)) => facts.iter().find(|f| &f.key == key).map(|f| f.retention.as_str()),
            (None, Target::Category(_)) => None,
        }
    }
}

/// What the consent domain knows of a purpose, as retention needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurposeFacts {
    /// Its key.
    pub key: String,
    /// Whether its legal basis is consent.
    pub consent: bool,
    /// The categories it names.
    pub categories: Vec<Category>,
    /// Its retention (ISO 8601).
    pub retention: String,
}

/// A new policy.
#[derive(Clone, Debug)]
pub struct NewPolicy {
    /// A catalogue category (or `purpose`).
    pub category: Option<String>,
    /// A purpose key (or `category`).
    pub purpose: Option<String>,
    /// ISO 8601 duration; optional for a purpose (its retention then).
    pub period: Option<String>,
    /// When the period starts.
    pub start: Start,
    /// What happens then.
    pub action: PurgeAction,
}

/// A change to a policy; `None` leaves a field as it is. What it governs
/// does not change (make another policy).
#[derive(Clone, Debug, Default)]
pub struct PolicyPatch {
    /// A new period; `Some(None)` makes a purpose policy follow its purpose again.
    pub period: Option<Option<String>>,
    /// A new start.
    pub start: Option<Start>,
    /// A new action.
    pub action: Option<PurgeAction>,
}

/// Check a policy against the catalogue, the purposes and the ceiling.
/// Every broken rule is reported, each naming its field.
pub fn check(
    target: &std::result::Result<Target, FieldError>,
    period: Option<&str>,
    start: Start,
    facts: &[PurposeFacts],
    ceiling: Option<&str>,
    now: PrimitiveDateTime,
) -> Result<Target> {
    let mut errors = Vec::new();
    let target = match target {
        Ok(target) => Some(target.clone()),
        Err(e) => {
            errors.push(e.clone());
            None
        }
    };
    let purpose = match &target {
        Some(Target::Purpose(key)) => match facts.iter().find(|f| &f.key == key) {
            Some(facts) => Some(facts),
            None => {
                errors.push(FieldError::new("purpose", "no such purpose"));
                None
            }
        },
        _ => None,
    };
    let in_force = match (period, purpose) {
        (Some(period), _) => Some(("period", period)),
        (None, Some(purpose)) => Some(("period", purpose.retention.as_str())),
        (None, None) => {
            if matches!(target, Some(Target::Category(_))) {
                errors.push(FieldError::new("period", "is required for a category policy"));
            }
            None
        }
    };
    if let Some((field, text)) = in_force {
        match text.parse::<Period>() {
            Err(e) => errors.push(FieldError::new(field, e.to_string())),
            Ok(period) => {
                let ceiling = ceiling.and_then(|c| c.parse::<Period>().ok().map(|p| (c, p)));
                if let Some((text, max)) = ceiling
                    && period.exceeds(max, now)
                {
                    errors.push(FieldError::new(field, format!("exceeds the tenant's max_retention {text}")));
                }
            }
        }
    }
    if start.is_consent() {
        let consent_based = match &target {
            Some(Target::Purpose(_)) => purpose.is_none_or(|p| p.consent),
            Some(Target::Category(category)) => facts.iter().any(|f| f.consent && f.categories.contains(category)),
            None => true,
        };
        if !consent_based {
            errors.push(FieldError::new(
                "start",
                "counts from a consent's end, but no purpose based on consent covers this data",
            ));
        }
    }
    if start.is_event() && !matches!(&target, Some(Target::Category(category)) if has_events(*category)) {
        errors.push(FieldError::new(
            "start",
            "restored_or_returned counts from a serviced item's event: only for a category policy of user.service, user.service.credential or user.service.backup",
        ));
    }
    match target {
        Some(target) if errors.is_empty() => Ok(target),
        _ => Err(DomainError::Validation(errors)),
    }
}

/// The target a new policy names: a catalogue category or a purpose key, exactly one.
pub fn target_of(new: &NewPolicy) -> std::result::Result<Target, FieldError> {
    match (&new.category, &new.purpose) {
        (Some(_), Some(_)) => Err(FieldError::new("purpose", "give a category or a purpose, not both")),
        (None, None) => Err(FieldError::new("category", "is required unless a purpose is given")),
        (Some(name), None) => match name.parse::<Category>() {
            Ok(category) => Ok(Target::Category(category)),
            Err(_) if is_special(name) => Err(FieldError::new(
                "category",
                "names a special category of personal data, which kluis never processes",
            )),
            Err(_) => Err(FieldError::new("category", "is not a category of the catalogue")),
        },
        (None, Some(key)) => Ok(Target::Purpose(key.clone())),
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = rp)]
struct Row {
    tenant_id: String,
    id: String,
    category: Option<String>,
    purpose: Option<String>,
    period: Option<String>,
    start: String,
    action: String,
    version: i64,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl TryFrom<Row> for Policy {
    type Error = DomainError;

    fn try_from(row: Row) -> Result<Policy> {
        let target = match (row.category, row.purpose) {
            (Some(category), None) => Target::Category(
                category
                    .parse()
                    .map_err(|e: kluis_core::category::UnknownCategory| DomainError::Internal(e.to_string()))?,
            ),
            (None, Some(purpose)) => Target::Purpose(purpose),
            _ => return Err(DomainError::Internal(format!("retention policy {} has no single target", row.id))),
        };
        Ok(Policy {
            id: row.id,
            target,
            period: row.period,
            start: Start::parse(&row.start)?,
            action: parse_action(&row.action)?,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn purpose_taken() -> DomainError {
    DomainError::Conflict {
        code: "purpose_has_policy",
        message: "this purpose has a retention policy already: change that one".into(),
    }
}

/// Store a checked policy (see [`check`]). A purpose has at most one.
pub fn insert(
    conn: &mut Db,
    tenant: &TenantId,
    target: &Target,
    period: Option<&str>,
    start: Start,
    action: PurgeAction,
) -> Result<Policy> {
    let now = kluis_core::time::now();
    let (category, purpose) = match target {
        Target::Category(c) => (Some(c.as_str().to_owned()), None),
        Target::Purpose(key) => (None, Some(key.clone())),
    };
    let row = Row {
        tenant_id: tenant.0.clone(),
        id: kluis_core::new_id(),
        category,
        purpose,
        period: period.map(str::to_owned),
        start: start.as_str().to_owned(),
        action: action_name(action).to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    write_tx(conn, |conn| -> std::result::Result<(), TxError> {
        if let Some(purpose) = &row.purpose {
            let taken: i64 = rp::table
                .filter(rp::tenant_id.eq(tenant.as_str()))
                .filter(rp::purpose.eq(purpose))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(purpose_taken().into());
            }
        }
        diesel::insert_into(rp::table).values(&row).execute(conn)?;
        Ok(())
    })
    .map_err(DomainError::from)?;
    Policy::try_from(row)
}

/// One policy of the tenant.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Policy> {
    rp::table
        .filter(rp::tenant_id.eq(tenant.as_str()))
        .filter(rp::id.eq(id))
        .select(Row::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// The tenant's policies in creation order, `limit` at a time after the id `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Policy>> {
    let mut query = rp::table
        .filter(rp::tenant_id.eq(tenant.as_str()))
        .select(Row::as_select())
        .order(rp::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(rp::id.gt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let policies = rows.into_iter().map(Policy::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(policies, limit, |p| p.id.clone()))
}

/// Every policy of the tenant (a sweep's plan).
pub fn all(conn: &mut Db, tenant: &TenantId) -> Result<Vec<Policy>> {
    let rows: Vec<Row> = rp::table
        .filter(rp::tenant_id.eq(tenant.as_str()))
        .select(Row::as_select())
        .order(rp::id.asc())
        .load(conn)
        .domain()?;
    rows.into_iter().map(Policy::try_from).collect()
}

/// Store a checked change, at `if_version` when given.
pub fn update(
    conn: &mut Db,
    tenant: &TenantId,
    current: &Policy,
    if_version: Option<i64>,
    patch: &PolicyPatch,
) -> Result<Policy> {
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    let now = kluis_core::time::now();
    let next = Policy {
        period: patch.period.clone().unwrap_or_else(|| current.period.clone()),
        start: patch.start.unwrap_or(current.start),
        action: patch.action.unwrap_or(current.action),
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    let n = diesel::update(
        rp::table
            .filter(rp::tenant_id.eq(tenant.as_str()))
            .filter(rp::id.eq(&current.id))
            .filter(rp::version.eq(current.version)),
    )
    .set((
        rp::period.eq(&next.period),
        rp::start.eq(next.start.as_str()),
        rp::action.eq(action_name(next.action)),
        rp::version.eq(next.version),
        rp::updated_at.eq(now),
    ))
    .execute(conn)
    .domain()?;
    if n == 0 {
        return Err(DomainError::VersionMismatch);
    }
    Ok(next)
}

/// Delete a policy, at `if_version` when given.
pub fn delete(conn: &mut Db, tenant: &TenantId, id: &str, if_version: Option<i64>) -> Result<()> {
    let current = get(conn, tenant, id)?;
    if if_version.is_some_and(|v| v != current.version) {
        return Err(DomainError::VersionMismatch);
    }
    diesel::delete(rp::table.filter(rp::tenant_id.eq(tenant.as_str())).filter(rp::id.eq(id))).execute(conn).domain()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn periods_parse_strictly() {
        assert_eq!("P3Y".parse::<Period>(), Ok(Period { months: 36, seconds: 0 }));
        assert_eq!("P1Y6M".parse::<Period>(), Ok(Period { months: 18, seconds: 0 }));
        assert_eq!("P30D".parse::<Period>(), Ok(Period { months: 0, seconds: 30 * 86_400 }));
        assert_eq!("P1W".parse::<Period>(), Ok(Period { months: 0, seconds: 7 * 86_400 }));
        assert_eq!("PT12H".parse::<Period>(), Ok(Period { months: 0, seconds: 12 * 3_600 }));
        assert_eq!("P1DT2M3S".parse::<Period>(), Ok(Period { months: 0, seconds: 86_400 + 123 }));
        assert_eq!("PT2M".parse::<Period>(), Ok(Period { months: 0, seconds: 120 }));
        for bad in ["", "P", "3Y", "P3X", "P1.5Y", "P-1D", "PT", "P0D", "P0Y0M", "p3y", "P3Y ", "P1D2Y"] {
            assert_eq!(bad.parse::<Period>(), Err(BadPeriod), "{bad}");
        }
    }

    #[test]
    fn periods_go_back_by_the_calendar() {
        let at = datetime!(2026-03-31 10:00);
        assert_eq!("P1M".parse::<Period>().unwrap().before(at), datetime!(2026-02-28 10:00));
        assert_eq!("P3Y".parse::<Period>().unwrap().before(at), datetime!(2023-03-31 10:00));
        assert_eq!("P1YT1H".parse::<Period>().unwrap().before(at), datetime!(2025-03-31 09:00));
        assert_eq!("P30D".parse::<Period>().unwrap().before(at), datetime!(2026-03-01 10:00));
        for far in ["P99999999Y", "P9999Y", "P2027Y", "PT999999999H", "P999999999D"] {
            assert_eq!(far.parse::<Period>().unwrap().before(at), Period::EARLIEST, "{far}");
        }
        assert_eq!("P2025Y".parse::<Period>().unwrap().before(at), datetime!(0001-03-31 10:00));
        let (three_years, five_years) = ("P3Y".parse::<Period>().unwrap(), "P5Y".parse::<Period>().unwrap());
        assert!(five_years.exceeds(three_years, at) && !three_years.exceeds(five_years, at));
        assert!(!three_years.exceeds("P36M".parse().unwrap(), at));
    }

    fn facts() -> Vec<PurposeFacts> {
        vec![
            PurposeFacts {
                key: "phone_contact".into(),
                consent: true,
                categories: vec![Category::Name, Category::Phone],
                retention: "P2Y".into(),
            },
            PurposeFacts {
                key: "account".into(),
                consent: false,
                categories: vec![Category::Name, Category::Account],
                retention: "P3Y".into(),
            },
        ]
    }

    #[test]
    fn policies_are_checked_naming_the_field() {
        let now = datetime!(2026-12-03 10:00);
        let field = |r: Result<Target>| match r {
            Err(DomainError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let phone = Ok(Target::Category(Category::Phone));
        assert!(check(&phone, Some("P30D"), Start::ConsentWithdrawn, &facts(), Some("P5Y"), now).is_ok());
        assert_eq!(field(check(&phone, Some("P3X"), Start::Created, &facts(), None, now)), ["period"]);
        assert_eq!(field(check(&phone, Some("P6Y"), Start::Created, &facts(), Some("P5Y"), now)), ["period"]);
        assert_eq!(field(check(&phone, None, Start::Created, &facts(), None, now)), ["period"]);
        let account = Ok(Target::Category(Category::Account));
        assert_eq!(field(check(&account, Some("P1Y"), Start::ConsentExpired, &facts(), None, now)), ["start"]);
        let unknown = Ok(Target::Purpose("nope".into()));
        assert_eq!(field(check(&unknown, None, Start::Created, &facts(), None, now)), ["purpose"]);
        let purpose = Ok(Target::Purpose("account".into()));
        assert_eq!(field(check(&purpose, None, Start::Created, &facts(), Some("P2Y"), now)), ["period"]);
        assert!(check(&purpose, None, Start::LastActivity, &facts(), Some("P3Y"), now).is_ok());
        let new = |category: Option<&str>, purpose: Option<&str>| NewPolicy {
            category: category.map(Into::into),
            purpose: purpose.map(Into::into),
            period: None,
            start: Start::Created,
            action: PurgeAction::Delete,
        };
        assert_eq!(target_of(&new(Some("user.health"), None)).unwrap_err().field, "category");
        assert_eq!(target_of(&new(Some("user.nope"), None)).unwrap_err().field, "category");
        assert_eq!(target_of(&new(None, None)).unwrap_err().field, "category");
        assert_eq!(target_of(&new(Some("user.name"), Some("account"))).unwrap_err().field, "purpose");
    }
}
