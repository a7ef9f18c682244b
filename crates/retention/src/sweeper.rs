//! The sweeper: a tenant's policies become rules ([`plan`]), and each rule
//! runs through every personal-data holder in batches ([`run`]): at most
//! `batch` rows per table in one short transaction, fewer when a batch
//! takes longer than `batch_time`, with a pause between batches, so reads
//! and writes go on during a sweep of a million rows. Each sweep is
//! recorded ([`record`]) with the rows it removed per category and table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use kluis_core::category::Category;
use kluis_core::page::Page;
use kluis_core::{DomainError, PersonId, Result, TenantId};
use kluis_store::error::{StoreResultExt, TxError};
use kluis_store::personal::{Due, Idle, PersonalData, Purge, PurgeAction};
use kluis_store::schema::retention_sweeps as rs;
use kluis_store::{Db, write_tx};
use serde::{Deserialize, Serialize};
use time::PrimitiveDateTime;

use crate::policies::{Period, Policy, PurposeFacts, Start, Target};

/// A condition about persons, which the use case works out across domains
/// (consent, activity) into the persons it holds for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Moment {
    /// No consent to any of `purposes` stands, and the last of them ended
    /// (by `start`: withdrawal or expiry) before `cutoff`.
    ConsentEnded {
        /// Purpose keys.
        purposes: Vec<String>,
        /// [`Start::ConsentWithdrawn`] or [`Start::ConsentExpired`].
        start: Start,
        /// The end must be before this.
        cutoff: PrimitiveDateTime,
    },
    /// The person's last activity is before `cutoff`.
    Inactive {
        /// The activity must be before this.
        cutoff: PrimitiveDateTime,
    },
}

/// One rule of a sweep: the rows of a category for which every condition
/// holds, and what happens to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The category.
    pub category: Category,
    /// Delete or anonymise.
    pub action: PurgeAction,
    /// Recorded before this.
    pub created_before: Option<PrimitiveDateTime>,
    /// Last activity before this (rows by their own, the rest by their person's).
    pub idle_before: Option<PrimitiveDateTime>,
    /// Restored or returned before this (rows that record such an event).
    pub ended_before: Option<PrimitiveDateTime>,
    /// Conditions about persons (all must hold).
    pub moments: Vec<Moment>,
}

impl Rule {
    fn new(category: Category, action: PurgeAction) -> Rule {
        Rule { category, action, created_before: None, idle_before: None, ended_before: None, moments: Vec::new() }
    }

    /// Add a policy's condition: its period (capped by the ceiling) counted from its start.
    fn and(&mut self, start: Start, cutoff: PrimitiveDateTime, consent_purposes: Vec<String>) {
        let earliest = |current: Option<PrimitiveDateTime>| Some(current.map_or(cutoff, |c| c.min(cutoff)));
        match start {
            Start::Created => self.created_before = earliest(self.created_before),
            Start::LastActivity => self.idle_before = earliest(self.idle_before),
            Start::RestoredOrReturned => self.ended_before = earliest(self.ended_before),
            Start::ConsentWithdrawn | Start::ConsentExpired => {
                self.moments.push(Moment::ConsentEnded { purposes: consent_purposes, start, cutoff });
            }
        }
    }
}

/// The moment a policy's period (capped by the ceiling) reaches back to
/// from `now`; `None` when its period is unusable (a purpose's retention
/// stored before it was checked) or unknown.
fn cutoff(
    policy: &Policy,
    facts: &[PurposeFacts],
    ceiling: Option<Period>,
    now: PrimitiveDateTime,
) -> Option<PrimitiveDateTime> {
    let text = policy.period_in(facts)?;
    let Ok(period) = text.parse::<Period>() else {
        tracing::warn!(policy.id = %policy.id, "retention policy with an unusable period skipped");
        return None;
    };
    let own = period.before(now);
    Some(ceiling.map_or(own, |c| own.max(c.before(now))))
}

/// The rules of a tenant's policies at `now`. A category policy is a hard
/// maximum: one rule. A category named by purposes with policies gets one
/// rule only when every purpose naming it has one, with all their
/// conditions together: data two purposes share lives until the last is
/// done with it (and goes anonymised if any of them says so).
pub fn plan(policies: &[Policy], facts: &[PurposeFacts], ceiling: Option<Period>, now: PrimitiveDateTime) -> Vec<Rule> {
    let mut rules = Vec::new();
    for policy in policies {
        let Target::Category(category) = policy.target else { continue };
        let Some(cutoff) = cutoff(policy, facts, ceiling, now) else { continue };
        let consent: Vec<String> =
            facts.iter().filter(|f| f.consent && f.categories.contains(&category)).map(|f| f.key.clone()).collect();
        if policy.start.is_consent() && consent.is_empty() {
            continue;
        }
        let mut rule = Rule::new(category, policy.action);
        rule.and(policy.start, cutoff, consent);
        rules.push(rule);
    }
    let by_purpose: BTreeMap<&str, &Policy> = policies
        .iter()
        .filter_map(|p| match &p.target {
            Target::Purpose(key) => Some((key.as_str(), p)),
            Target::Category(_) => None,
        })
        .collect();
    let categories: BTreeSet<Category> = facts
        .iter()
        .filter(|f| by_purpose.contains_key(f.key.as_str()))
        .flat_map(|f| f.categories.iter().copied())
        .collect();
    'category: for category in categories {
        let mut rule = Rule::new(category, PurgeAction::Delete);
        for purpose in facts.iter().filter(|f| f.categories.contains(&category)) {
            let Some(policy) = by_purpose.get(purpose.key.as_str()) else { continue 'category };
            let Some(cutoff) = cutoff(policy, facts, ceiling, now) else { continue 'category };
            rule.and(policy.start, cutoff, vec![purpose.key.clone()]);
            if policy.action == PurgeAction::Anonymise {
                rule.action = PurgeAction::Anonymise;
            }
        }
        rules.push(rule);
    }
    rules
}

/// How a sweep runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// At most this many rows per table in one transaction.
    pub batch: u64,
    /// A batch taking longer than this halves the next one (down to 10 rows).
    pub batch_time: Duration,
    /// Wait this long between batches, so other writers get their turn.
    pub pause: Duration,
    /// Persons per purge call when a rule reaches listed persons.
    pub chunk: usize,
    /// Count what is due and change nothing.
    pub dry_run: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 1000,
            batch_time: Duration::from_millis(200),
            pause: Duration::from_millis(5),
            chunk: 500,
            dry_run: false,
        }
    }
}

/// What a sweep removed (or, dry, would): rows per category and table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Category name to table name to rows.
    pub rows: BTreeMap<String, BTreeMap<String, u64>>,
    /// All of them.
    pub total: u64,
    /// Persons inactive for longer than the tenant's ceiling (`None`: no ceiling).
    pub inactive_persons: Option<u64>,
}

impl Report {
    fn add(&mut self, category: Category, table: &str, n: u64) {
        if n == 0 {
            return;
        }
        *self.rows.entry(category.as_str().to_owned()).or_default().entry(table.to_owned()).or_default() += n;
        self.total += n;
    }
}

/// What the sweeper asks of its caller while it runs.
pub trait Sweeping {
    /// The persons a [`Moment`] holds for.
    fn persons(&mut self, conn: &mut Db, moment: &Moment) -> Result<Vec<PersonId>>;
    /// Called after every batch with the rows it reached: report progress,
    /// renew the lease (an error stops the sweep).
    fn batch_done(&mut self, conn: &mut Db, rows: u64) -> Result<()>;
}

/// Run `rules` through `holders` for `tenant`, never touching a person in
/// `skip` (legal holds).
pub fn run(
    conn: &mut Db,
    tenant: &TenantId,
    holders: &[Arc<dyn PersonalData>],
    rules: &[Rule],
    skip: &BTreeSet<PersonId>,
    options: &Options,
    caller: &mut dyn Sweeping,
) -> Result<Report> {
    let mut report = Report::default();
    let skip_list: Vec<PersonId> = skip.iter().cloned().collect();
    let mut runner =
        Runner { tenant, holders, skip: &skip_list, options, batch: options.batch.max(1), report: &mut report };
    for rule in rules {
        let mut listed: Option<Vec<PersonId>> = None;
        let mut inactive = None;
        for moment in &rule.moments {
            let found: BTreeSet<PersonId> = caller.persons(conn, moment)?.into_iter().collect();
            listed = Some(match listed {
                None => found.into_iter().collect(),
                Some(before) => before.into_iter().filter(|p| found.contains(p)).collect(),
            });
        }
        if let Some(cutoff) = rule.idle_before {
            inactive = Some(caller.persons(conn, &Moment::Inactive { cutoff })?);
        }
        let without_held =
            |list: Vec<PersonId>| -> Vec<PersonId> { list.into_iter().filter(|p| !skip.contains(p)).collect() };
        let listed = listed.map(without_held);
        let due = Due {
            created_before: rule.created_before,
            idle: rule.idle_before.map(Idle::Before),
            ended_before: rule.ended_before,
            persons: None,
        };
        runner.pass(conn, rule, due, listed.as_deref(), caller)?;
        if let Some(inactive) = inactive {
            let mut inactive = without_held(inactive);
            if let Some(listed) = &listed {
                let listed: BTreeSet<&PersonId> = listed.iter().collect();
                inactive.retain(|p| listed.contains(p));
            }
            let due = Due {
                created_before: rule.created_before,
                idle: Some(Idle::OfPersons),
                ended_before: rule.ended_before,
                persons: None,
            };
            runner.pass(conn, rule, due, Some(&inactive), caller)?;
        }
    }
    Ok(report)
}

struct Runner<'a> {
    tenant: &'a TenantId,
    holders: &'a [Arc<dyn PersonalData>],
    skip: &'a [PersonId],
    options: &'a Options,
    batch: u64,
    report: &'a mut Report,
}

impl Runner<'_> {
    /// One pass of a rule: over every holder, in chunks of the listed persons if any.
    fn pass(
        &mut self,
        conn: &mut Db,
        rule: &Rule,
        due: Due<'_>,
        persons: Option<&[PersonId]>,
        caller: &mut dyn Sweeping,
    ) -> Result<()> {
        match persons {
            None if due.is_unbounded() => Ok(()),
            None => self.holders_batched(conn, rule, due, caller),
            Some(persons) => {
                for chunk in persons.chunks(self.options.chunk.max(1)) {
                    self.holders_batched(conn, rule, Due { persons: Some(chunk), ..due }, caller)?;
                }
                Ok(())
            }
        }
    }

    fn holders_batched(&mut self, conn: &mut Db, rule: &Rule, due: Due<'_>, caller: &mut dyn Sweeping) -> Result<()> {
        for holder in self.holders {
            loop {
                let purge = Purge {
                    category: rule.category,
                    due,
                    action: rule.action,
                    skip: self.skip,
                    limit: self.batch,
                    dry_run: self.options.dry_run,
                };
                let started = Instant::now();
                let rows = if self.options.dry_run {
                    holder.purge(conn, self.tenant, &purge)?
                } else {
                    write_tx(conn, |conn| holder.purge(conn, self.tenant, &purge).map_err(TxError))
                        .map_err(DomainError::from)?
                };
                let reached: u64 = rows.values().sum();
                for (table, n) in &rows {
                    self.report.add(rule.category, table, *n);
                }
                caller.batch_done(conn, reached)?;
                let full = rows.values().any(|n| *n >= purge.limit);
                if self.options.dry_run || !full {
                    break;
                }
                if started.elapsed() > self.options.batch_time {
                    self.batch = (self.batch / 2).max(10);
                } else if started.elapsed() < self.options.batch_time / 4 {
                    self.batch = (self.batch * 2).min(self.options.batch.max(1));
                }
                std::thread::sleep(self.options.pause);
            }
        }
        Ok(())
    }
}

/// How a sweep was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `POST /v1/retention/sweeps`.
    Api,
    /// The server's sweeper worker.
    Schedule,
    /// `kluis retention sweep`.
    Cli,
}

impl Trigger {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Api => "api",
            Trigger::Schedule => "schedule",
            Trigger::Cli => "cli",
        }
    }

    fn parse(s: &str) -> Result<Trigger> {
        match s {
            "api" => Ok(Trigger::Api),
            "schedule" => Ok(Trigger::Schedule),
            "cli" => Ok(Trigger::Cli),
            other => Err(DomainError::Internal(format!("stored sweep trigger {other} is unknown"))),
        }
    }
}

/// A recorded sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// Its id.
    pub id: String,
    /// How it was started.
    pub trigger: Trigger,
    /// Who started it (a client id, `kluis` for the worker and the CLI).
    pub actor_id: String,
    /// Whether it only counted.
    pub dry_run: bool,
    /// When it started.
    pub started_at: PrimitiveDateTime,
    /// When it ended.
    pub finished_at: PrimitiveDateTime,
    /// How long it took.
    pub duration_ms: i64,
    /// What it removed.
    pub report: Report,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = rs)]
struct SweepRow {
    tenant_id: String,
    id: String,
    trigger: String,
    actor_id: String,
    dry_run: bool,
    started_at: PrimitiveDateTime,
    finished_at: PrimitiveDateTime,
    duration_ms: i64,
    total: i64,
    report: String,
}

impl TryFrom<SweepRow> for Sweep {
    type Error = DomainError;

    fn try_from(row: SweepRow) -> Result<Sweep> {
        Ok(Sweep {
            report: serde_json::from_str(&row.report).map_err(|e| DomainError::Internal(e.to_string()))?,
            id: row.id,
            trigger: Trigger::parse(&row.trigger)?,
            actor_id: row.actor_id,
            dry_run: row.dry_run,
            started_at: row.started_at,
            finished_at: row.finished_at,
            duration_ms: row.duration_ms,
        })
    }
}

/// Record a sweep that ran.
pub fn record(conn: &mut Db, tenant: &TenantId, sweep: &Sweep) -> Result<()> {
    let row = SweepRow {
        tenant_id: tenant.0.clone(),
        id: sweep.id.clone(),
        trigger: sweep.trigger.as_str().to_owned(),
        actor_id: sweep.actor_id.clone(),
        dry_run: sweep.dry_run,
        started_at: sweep.started_at,
        finished_at: sweep.finished_at,
        duration_ms: sweep.duration_ms,
        total: i64::try_from(sweep.report.total).unwrap_or(i64::MAX),
        report: serde_json::to_string(&sweep.report).map_err(|e| DomainError::Internal(e.to_string()))?,
    };
    diesel::insert_into(rs::table).values(&row).execute(conn).domain()?;
    Ok(())
}

/// One recorded sweep of the tenant.
pub fn get(conn: &mut Db, tenant: &TenantId, id: &str) -> Result<Sweep> {
    rs::table
        .filter(rs::tenant_id.eq(tenant.as_str()))
        .filter(rs::id.eq(id))
        .select(SweepRow::as_select())
        .first(conn)
        .domain()?
        .try_into()
}

/// The tenant's sweeps, newest first, `limit` at a time after the id `after`.
pub fn list(conn: &mut Db, tenant: &TenantId, limit: i64, after: Option<&str>) -> Result<Page<Sweep>> {
    let mut query = rs::table
        .filter(rs::tenant_id.eq(tenant.as_str()))
        .select(SweepRow::as_select())
        .order(rs::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(rs::id.lt(after.to_owned()));
    }
    let rows = query.load(conn).domain()?;
    let sweeps = rows.into_iter().map(Sweep::try_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(sweeps, limit, |s| s.id.clone()))
}
