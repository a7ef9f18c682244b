//! Domain tests on SQLite: the plan a tenant's policies make, the sweeper's
//! batches, dry runs and skipped (held) persons, and the sweep lease.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use kluis_core::category::Category;
use kluis_core::{PersonId, Result, TenantId};
use kluis_store::db::PooledDb;
use kluis_store::personal::{ErasureReport, Idle, PersonalData, Purge, PurgeAction, PurgeReport};
use kluis_store::tenancy::{NewTenant, tenants};
use kluis_store::{Db, PoolOptions, build_pool, migrate};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::lease;
use crate::policies::{Period, Policy, PurposeFacts, Start, Target};
use crate::sweeper::{self, Moment, Options, Rule, Sweeping};

struct Fixture {
    _dir: tempfile::TempDir,
    conn: PooledDb,
    tenant: TenantId,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pool = build_pool(&format!("sqlite://{}/r.db", dir.path().display()), PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    migrate::run_pending(&mut conn).unwrap();
    let (tenant, _) = tenants::create(&mut conn, &NewTenant { name: "Shop".into(), slug: "shop".into() }).unwrap();
    Fixture { _dir: dir, conn, tenant: tenant.id }
}

/// A row a test holder keeps: whose, recorded when, last used when.
#[derive(Clone, Debug)]
struct Kept {
    person: PersonId,
    created: PrimitiveDateTime,
    used: Option<PrimitiveDateTime>,
}

/// A holder of `user.device` rows in memory, purging them as a real one does.
#[derive(Default)]
struct Memory {
    rows: Mutex<Vec<Kept>>,
    calls: Mutex<u32>,
}

impl Memory {
    fn with(rows: Vec<Kept>) -> Arc<Memory> {
        Arc::new(Memory { rows: Mutex::new(rows), calls: Mutex::new(0) })
    }

    fn due(purge: &Purge<'_>, row: &Kept) -> bool {
        let clock_ok = match (purge.due.idle, row.used) {
            (None, _) => true,
            (Some(Idle::Before(at)), Some(used)) => used < at,
            (Some(Idle::Before(_)), None) => false,
            (Some(Idle::OfPersons), used) => used.is_none(),
        };
        clock_ok
            && purge.due.created_before.is_none_or(|at| row.created < at)
            && purge.due.persons.is_none_or(|p| p.contains(&row.person))
            && !purge.skip.contains(&row.person)
    }
}

impl PersonalData for Memory {
    fn categories(&self) -> &'static [Category] {
        &[Category::Device]
    }
    fn tables(&self) -> &'static [&'static str] {
        &["memory"]
    }
    fn export(&self, _: &mut Db, _: &TenantId, _: &PersonId) -> Result<kluis_store::personal::Export> {
        Ok(kluis_store::personal::Export::default())
    }
    fn erase(&self, _: &mut Db, _: &TenantId, _: &PersonId) -> Result<ErasureReport> {
        Ok(ErasureReport::default())
    }
    fn purge(&self, _: &mut Db, _: &TenantId, purge: &Purge<'_>) -> Result<PurgeReport> {
        *self.calls.lock().unwrap() += 1;
        let mut rows = self.rows.lock().unwrap();
        if purge.category != Category::Device || purge.due.is_unbounded() {
            return Ok(PurgeReport::new());
        }
        let due = rows.iter().filter(|r| Self::due(purge, r)).count() as u64;
        if purge.dry_run {
            return Ok(PurgeReport::from([("memory", due)]));
        }
        let mut left = purge.limit;
        rows.retain(|r| {
            if left > 0 && Self::due(purge, r) {
                left -= 1;
                false
            } else {
                true
            }
        });
        Ok(PurgeReport::from([("memory", due.min(purge.limit))]))
    }
}

/// Answers moments from fixed lists; counts batches.
#[derive(Default)]
struct Caller {
    inactive: Vec<PersonId>,
    ended: Vec<PersonId>,
    batches: u32,
    rows: u64,
}

impl Sweeping for Caller {
    fn persons(&mut self, _: &mut Db, moment: &Moment) -> Result<Vec<PersonId>> {
        Ok(match moment {
            Moment::Inactive { .. } => self.inactive.clone(),
            Moment::ConsentEnded { .. } => self.ended.clone(),
        })
    }
    fn batch_done(&mut self, _: &mut Db, rows: u64) -> Result<()> {
        self.batches += 1;
        self.rows += rows;
        Ok(())
    }
}

fn person(n: u8) -> PersonId {
    PersonId(format!("0190aaaa-0000-7000-8000-0000000000{n:02}"))
}

const NOW: PrimitiveDateTime = datetime!(2026-12-03 12:00);

fn idle_rule(before: PrimitiveDateTime) -> Rule {
    Rule {
        category: Category::Device,
        action: PurgeAction::Delete,
        created_before: None,
        idle_before: Some(before),
        ended_before: None,
        moments: vec![],
    }
}

#[test]
fn a_sweep_purges_in_batches_what_is_due_skips_held_persons_and_a_dry_run_counts_the_same() {
    let mut f = fixture();
    let old = NOW - Duration::days(3 * 365 + 1);
    let recent = NOW - Duration::days(10);
    let mut rows: Vec<Kept> = (0..25).map(|i| Kept { person: person(i % 5), created: old, used: Some(old) }).collect();
    rows.push(Kept { person: person(1), created: old, used: Some(recent) });
    let holder = Memory::with(rows);
    let holders: Vec<Arc<dyn PersonalData>> = vec![holder.clone()];
    let rules = vec![idle_rule(NOW - Duration::days(3 * 365))];
    let held: BTreeSet<PersonId> = [person(0)].into();
    let options = Options { batch: 4, pause: std::time::Duration::ZERO, ..Options::default() };

    let dry = Options { dry_run: true, ..options.clone() };
    let mut caller = Caller::default();
    let counted = sweeper::run(&mut f.conn, &f.tenant, &holders, &rules, &held, &dry, &mut caller).unwrap();
    assert_eq!(counted.total, 20, "25 idle rows less the held person's 5");
    assert_eq!(holder.rows.lock().unwrap().len(), 26, "a dry run removes nothing");

    let mut caller = Caller::default();
    let swept = sweeper::run(&mut f.conn, &f.tenant, &holders, &rules, &held, &options, &mut caller).unwrap();
    assert_eq!(swept, counted);
    assert_eq!(swept.rows["user.device"]["memory"], 20);
    assert!(caller.batches >= 5, "at most 4 rows a batch: {} batches", caller.batches);
    let left = holder.rows.lock().unwrap().clone();
    assert_eq!(left.len(), 6);
    assert!(left.iter().all(|r| r.person == person(0) || r.used == Some(recent)));
}

#[test]
fn rows_without_a_clock_go_by_their_persons_inactivity_and_listed_persons_by_consent() {
    let mut f = fixture();
    let old = NOW - Duration::days(800);
    let rows = vec![
        Kept { person: person(1), created: old, used: None },
        Kept { person: person(2), created: old, used: None },
        Kept { person: person(3), created: old, used: None },
    ];
    let holder = Memory::with(rows);
    let holders: Vec<Arc<dyn PersonalData>> = vec![holder.clone()];
    let options = Options { pause: std::time::Duration::ZERO, ..Options::default() };
    let mut caller = Caller { inactive: vec![person(1), person(3)], ..Caller::default() };
    let held: BTreeSet<PersonId> = [person(3)].into();
    let report =
        sweeper::run(&mut f.conn, &f.tenant, &holders, &[idle_rule(NOW)], &held, &options, &mut caller).unwrap();
    assert_eq!(report.total, 1);
    let left: Vec<PersonId> = holder.rows.lock().unwrap().iter().map(|r| r.person.clone()).collect();
    assert_eq!(left, [person(2), person(3)]);

    let consent = Rule {
        moments: vec![Moment::ConsentEnded {
            purposes: vec!["phone_contact".into()],
            start: Start::ConsentWithdrawn,
            cutoff: NOW,
        }],
        idle_before: None,
        ..idle_rule(NOW)
    };
    let mut caller = Caller { ended: vec![person(2), person(3)], ..Caller::default() };
    let report = sweeper::run(&mut f.conn, &f.tenant, &holders, &[consent], &held, &options, &mut caller).unwrap();
    assert_eq!(report.total, 1, "person 3 is held");
    assert_eq!(holder.rows.lock().unwrap().len(), 1);
}

fn policy(target: Target, period: Option<&str>, start: Start) -> Policy {
    Policy {
        id: kluis_core::new_id(),
        target,
        period: period.map(Into::into),
        start,
        action: PurgeAction::Delete,
        version: 1,
        created_at: NOW,
        updated_at: NOW,
    }
}

fn facts(key: &str, consent: bool, categories: &[Category], retention: &str) -> PurposeFacts {
    PurposeFacts { key: key.into(), consent, categories: categories.to_vec(), retention: retention.into() }
}

#[test]
fn the_plan_keeps_shared_data_until_every_purpose_lets_it_go_and_caps_at_the_ceiling() {
    let purposes = vec![
        facts("session_recording", true, &[Category::Behavior, Category::Device], "P30D"),
        facts("analytics", true, &[Category::Behavior, Category::IpAddress], "P1Y"),
        facts("account", false, &[Category::Device, Category::IpAddress], "P3Y"),
    ];
    let policies = vec![
        policy(Target::Category(Category::Device), Some("P3Y"), Start::LastActivity),
        policy(Target::Purpose("session_recording".into()), None, Start::Created),
        policy(Target::Purpose("analytics".into()), None, Start::Created),
    ];
    let rules = sweeper::plan(&policies, &purposes, None, NOW);
    let year_ago = "P1Y".parse::<Period>().unwrap().before(NOW);
    assert_eq!(
        rules,
        vec![
            Rule { idle_before: Some("P3Y".parse::<Period>().unwrap().before(NOW)), ..idle_rule(NOW) },
            Rule {
                category: Category::Behavior,
                action: PurgeAction::Delete,
                created_before: Some(year_ago),
                idle_before: None,
                ended_before: None,
                moments: vec![]
            },
        ],
        "behaviour goes when both purposes are done with it; device and IP data also serve the account"
    );
    let capped = sweeper::plan(&policies, &purposes, Some("P6M".parse().unwrap()), NOW);
    let half_year_ago = "P6M".parse::<Period>().unwrap().before(NOW);
    assert_eq!(capped[0].idle_before, Some(half_year_ago));
    assert_eq!(capped[1].created_before, Some(half_year_ago));
}

#[test]
fn one_holder_of_the_lease_at_a_time_until_it_expires_or_is_released() {
    let mut f = fixture();
    assert!(lease::ensure_head(&mut f.conn, &f.tenant).unwrap());
    assert!(!lease::ensure_head(&mut f.conn, &f.tenant).unwrap(), "made once");
    let ttl = Duration::minutes(5);
    assert!(lease::acquire(&mut f.conn, &f.tenant, "a", ttl).unwrap());
    assert!(!lease::acquire(&mut f.conn, &f.tenant, "b", ttl).unwrap());
    assert!(lease::renew(&mut f.conn, &f.tenant, "a", ttl).unwrap());
    assert!(!lease::renew(&mut f.conn, &f.tenant, "b", ttl).unwrap());
    lease::release(&mut f.conn, &f.tenant, "b").unwrap();
    assert!(!lease::acquire(&mut f.conn, &f.tenant, "b", ttl).unwrap(), "only the holder releases");
    lease::release(&mut f.conn, &f.tenant, "a").unwrap();
    assert!(lease::acquire(&mut f.conn, &f.tenant, "b", Duration::seconds(-1)).unwrap());
    assert!(lease::acquire(&mut f.conn, &f.tenant, "a", ttl).unwrap(), "an expired lease is free");
}

#[test]
fn an_event_based_policy_counts_from_the_event_and_nothing_else() {
    let policies = vec![policy(Target::Category(Category::ServiceBackup), Some("P7D"), Start::RestoredOrReturned)];
    let rules = sweeper::plan(&policies, &[], None, NOW);
    let week_ago = "P7D".parse::<Period>().unwrap().before(NOW);
    assert_eq!(
        rules,
        vec![Rule {
            category: Category::ServiceBackup,
            action: PurgeAction::Delete,
            created_before: None,
            idle_before: None,
            ended_before: Some(week_ago),
            moments: vec![]
        }],
        "rows still waiting for their event are never reached"
    );
}
