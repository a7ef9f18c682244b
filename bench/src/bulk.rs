//! Seeding in bulk: persons with their contacts, consents and devices,
//! written straight into kluis's database through the domain functions the
//! handlers compose (with the same audit entries), a batch per
//! transaction. Over HTTP, a million persons would take hours.
//!
//! PostgreSQL is seeded through a staging SQLite file: the tenant's rows
//! are copied into it, the persons are written there by the same domain
//! functions, and the tenant is copied back with multi-row `INSERT`s
//! (`kluis_store::dump`, what tenant archives use). Written straight into
//! PostgreSQL, every statement is a round trip and two per-tenant chain
//! heads are locked per person: ~75 persons/s, four hours for a million.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use kluis_audit::{Action, Context, Target};
use kluis_consent::{ConsentAction, NewEvent, Proof, Source};
use kluis_core::{Actor, ActorKind, PersonId, TenantId};
use kluis_devices::{ClientHints, Observation};
use kluis_people::{AddressData, ContactData, Label, NewContact, NewPerson, Profile};
use kluis_store::dump::{self, DumpError};
use kluis_store::error::TxError;
use kluis_store::{Db, PoolOptions, build_pool, write_tx};

use crate::Res;
use crate::seed::PURPOSES;

/// Persons per transaction.
const BATCH: usize = 500;

/// What the handlers audit for a person created with these fields, and for a grant.
const PERSON_FIELDS: [&str; 6] = ["first_name", "last_name", "language", "emails", "phones", "addresses"];
const CONSENT_FIELDS: [&str; 3] = ["purpose", "action", "source"];

/// The two devices every person has signed in with.
const DEVICES: [(&str, &str); 2] = [
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "nl-NL"),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "nl",
    ),
];

fn person(run: &str, i: usize) -> NewPerson {
    let email = |address: String, label| NewContact { label, primary: false, data: ContactData::Email(address) };
    NewPerson {
        profile: Profile {
            first_name: Some("Bench".to_owned()),
            last_name: Some(format!("Person {i}")),
            language: Some("nl-NL".to_owned()),
            ..Profile::default()
        },
        contacts: vec![
            email(format!("p{i}.{run}@bench.example"), Label::Private),
            email(format!("p{i}.{run}@work.bench.example"), Label::Work),
            NewContact {
                label: Label::Home,
                primary: false,
                data: ContactData::Phone(format!("+316{:08}", i % 100_000_000)),
            },
            NewContact {
                label: Label::Private,
                primary: false,
                data: ContactData::Address(AddressData {
                    street: Some("Dorpsstraat".to_owned()),
                    house_number: Some(format!("{}", i % 999 + 1)),
                    postal_code: Some("1234 AB".to_owned()),
                    city: Some("Utrecht".to_owned()),
                    country: "NL".to_owned(),
                    ..AddressData::default()
                }),
            },
        ],
        attributes: Default::default(),
    }
}

fn grant(purpose: &str) -> NewEvent {
    NewEvent {
        purpose: purpose.to_owned(),
        action: ConsentAction::Grant,
        source: Source::Web,
        policy_version: None,
        occurred_at: None,
        expires_at: None,
        proof: Proof {
            ip_prefix: Some(kluis_core::net::ip_prefix(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1))).to_string()),
            user_agent: Some(DEVICES[0].0.to_owned()),
        },
    }
}

fn observation(i: usize, (agent, language): (&str, &str)) -> Observation {
    let [a, b] = u16::try_from(i % 65_536).unwrap_or(0).to_be_bytes();
    Observation {
        key: None,
        ip: Some(IpAddr::V4(Ipv4Addr::new(198, 18, a, b))),
        user_agent: Some(agent.to_owned()),
        client_hints: ClientHints::default(),
        screen: Some((1280, 800)),
        language: Some(language.to_owned()),
    }
}

/// Write `people` persons into the tenant, as its admin client would over
/// HTTP: each with 2 e-mails, a phone, an address, grants on the three
/// [`PURPOSES`] and 2 trusted devices. Returns their ids in order.
pub fn seed(database_url: &str, tenant: &str, client_id: &str, run: &str, people: usize) -> Res<Vec<String>> {
    let pool = build_pool(database_url, PoolOptions { max_size: 1, ..PoolOptions::default() })?;
    let mut conn = pool.get()?;
    if let Db::Sqlite(_) = &mut *conn {
        return write_persons(&mut conn, tenant, client_id, run, people);
    }
    let stage_dir = tempfile::tempdir()?;
    let stage_url = format!("sqlite://{}", stage_dir.path().join("stage.db").display());
    let stage_pool = build_pool(&stage_url, PoolOptions { max_size: 1, ..PoolOptions::default() })?;
    let mut stage = stage_pool.get()?;
    kluis_store::migrate::run_pending(&mut stage).map_err(|e| format!("migrating the staging database: {e}"))?;
    // A file thrown away at the end: what a crash would cost is a new seed.
    diesel::RunQueryDsl::execute(diesel::sql_query("PRAGMA synchronous = OFF"), &mut *stage)?;
    copy_tenant(&mut conn, &mut stage, tenant, "rows staged")?;
    let ids = write_persons(&mut stage, tenant, client_id, run, people)?;
    let copied = Instant::now();
    let rows = copy_tenant(&mut stage, &mut conn, tenant, "rows into PostgreSQL")?;
    eprintln!("  {rows} rows copied into PostgreSQL in {:.1} s", copied.elapsed().as_secs_f64());
    // The server's prepared statements are planned from the statistics of
    // when they first run: without them, on tables that looked empty,
    // sequential scans. What autovacuum would do a minute later.
    diesel::RunQueryDsl::execute(diesel::sql_query("ANALYZE"), &mut *conn)?;
    Ok(ids)
}

/// Replace what `to` holds of `tenant` with its rows in `from`, table by
/// table in foreign-key order, in one transaction of `to`. The `tenants`
/// row itself is kept where `to` has it (deleting it would cascade to the
/// platform's records of the tenant, its export jobs and backup schedule),
/// and must then be the same on both sides. Returns the rows copied.
fn copy_tenant(from: &mut Db, to: &mut Db, tenant: &str, what: &str) -> Res<u64> {
    /// Rows read a page (each written in multi-row INSERTs of at most 16,000 values).
    const PAGE: usize = 5_000;
    let mut tables = dump::in_fk_order(to, dump::tenant_tables())?;
    let Some(at) = tables.iter().position(|t| t.name == "tenants") else {
        return Err("the catalogue has no tenants table".into());
    };
    let ours = dump::RowReader::new(to, tables[at].clone(), tenant)?.next_page(to, 1)?;
    if !ours.is_empty() {
        let theirs = dump::RowReader::new(from, tables[at].clone(), tenant)?.next_page(from, 1)?;
        if theirs != ours {
            return Err(format!("copying the tenant ({what}): its tenants row differs on the two sides").into());
        }
        tables.remove(at);
    }
    let mut total = 0;
    for table in &tables {
        total += dump::count(from, table, tenant)?;
    }
    let started = Instant::now();
    let copied = write_tx(to, |to| -> Result<u64, DumpError> {
        for table in tables.iter().rev() {
            dump::delete_rows(to, table, tenant)?;
        }
        let mut copied = 0u64;
        for table in &tables {
            let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
            let mut reader = dump::RowReader::new(from, table.clone(), tenant)?;
            loop {
                let page = reader.next_page(from, PAGE)?;
                if page.is_empty() {
                    break;
                }
                dump::insert_rows(to, table, &names, &page)?;
                copied += page.len() as u64;
                progress_of(usize::try_from(copied).unwrap_or(usize::MAX), total as usize, started, what);
            }
        }
        Ok(copied)
    })
    .map_err(|e| format!("copying the tenant ({what}): {e}"))?;
    eprintln!();
    if copied != total {
        return Err(format!("copying the tenant ({what}): {copied} rows copied of {total}").into());
    }
    Ok(copied)
}

/// [`seed`] on one connection.
fn write_persons(conn: &mut Db, tenant: &str, client_id: &str, run: &str, people: usize) -> Res<Vec<String>> {
    if let Db::Sqlite(_) = conn {
        // This connection only: a page cache the size of a 1M-person
        // database's hot indexes, so the seed does not slow down as it grows.
        diesel::RunQueryDsl::execute(diesel::sql_query("PRAGMA cache_size = -262144"), conn)?;
    }
    let tenant = TenantId(tenant.to_owned());
    let client = Actor {
        kind: ActorKind::Client,
        id: client_id.to_owned(),
        tenant: Some(tenant.clone()),
        scopes: Vec::new(),
        purposes: Vec::new(),
    };
    let ctx = Context::new(&client, tenant.clone(), None, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let mut ids = Vec::with_capacity(people);
    let started = Instant::now();
    for start in (0..people).step_by(BATCH) {
        let end = (start + BATCH).min(people);
        let batch = write_tx(conn, |conn| -> Result<Vec<String>, TxError> {
            let mut ids = Vec::with_capacity(end - start);
            // The batch's audit entries, appended at its end with one lock of the chain's head.
            let mut audited: Vec<(Action, PersonId, &[&str], Option<&str>)> = Vec::new();
            for i in start..end {
                let created = kluis_people::persons::create(conn, &tenant, person(run, i))?;
                let id: PersonId = created.id;
                audited.push((Action::PersonCreate, id.clone(), &PERSON_FIELDS, None));
                for purpose in PURPOSES {
                    kluis_consent::ledger::record(conn, &tenant, &id, &client, &grant(purpose))?;
                    audited.push((Action::ConsentGrant, id.clone(), &CONSENT_FIELDS, Some(purpose)));
                }
                for device in DEVICES {
                    kluis_devices::devices::trust(conn, &tenant, &id, &observation(i, device))?;
                    audited.push((Action::DeviceTrusted, id.clone(), &[], None));
                }
                ids.push(id.0);
            }
            let entries = audited.iter().map(|(action, id, fields, purpose)| {
                let kind = match action {
                    Action::PersonCreate => "person",
                    Action::ConsentGrant => "consent",
                    _ => "device",
                };
                (&ctx, *action, Target::person(kind, id), *fields, *purpose)
            });
            kluis_audit::record_many(conn, &tenant, entries)?;
            Ok(ids)
        })
        .map_err(|e| format!("seeding persons {start}..{end}: {}", kluis_core::DomainError::from(e)))?;
        ids.extend(batch);
        progress_of(ids.len(), people, started, "persons");
    }
    eprintln!();
    Ok(ids)
}

/// `[#########...........]  45% 4500/10000 persons, 1520/s, 4 s left`
fn progress_of(done: usize, total: usize, started: Instant, what: &str) {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH / total.max(1)).min(WIDTH);
    let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
    let left = total.saturating_sub(done) as f64 / rate.max(0.001);
    eprint!(
        "\r  [{}{}] {:>3}% {done}/{total} {what}, {rate:.0}/s, {left:.0} s left   ",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        done * 100 / total.max(1)
    );
    let _ = std::io::stderr().flush();
}

/// Add `rows` devices to the tenant that a sweep's default device policy
/// (3 years after last activity) removes: copies of the persons' own
/// devices with new ids and keys, last active 3 years and 30 days ago, as a
/// tenant that has kept kluis for years would have. Straight SQL, one
/// statement per round of copies: through the domain functions a million
/// devices would take as long as seeding a million persons. Returns the
/// rows added.
pub fn stale_devices(database_url: &str, tenant: &str, rows: u64) -> Res<u64> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{BigInt, Text, Timestamp};

    const COLUMNS: &str = "ip, user_agent, client_hints, screen_width, screen_height, language, browser, \
        browser_version, os, os_version, device_type, vendor, model";
    let pool = build_pool(database_url, PoolOptions { max_size: 1, ..PoolOptions::default() })?;
    let mut conn = pool.get()?;
    let (id, key, placeholders) = match &*conn {
        Db::Sqlite(_) => ("lower(hex(randomblob(16)))", "randomblob(32)", ["?", "?", "?", "?", "?", "?"]),
        Db::Pg(_) => (
            "gen_random_uuid()::text",
            "decode(md5(random()::text) || md5(random()::text), 'hex')",
            ["$1", "$2", "$3", "$4", "$5", "$6"],
        ),
    };
    let [first_seen, last_login, last_activity, tenant_p, fresh_after, limit] = placeholders;
    let sql = format!(
        "INSERT INTO devices (tenant_id, id, person_id, key_hash, {COLUMNS}, first_seen_at, last_login_at, last_activity_at) \
         SELECT tenant_id, {id}, person_id, {key}, {COLUMNS}, {first_seen}, {last_login}, {last_activity} \
         FROM devices WHERE tenant_id = {tenant_p} AND last_activity_at > {fresh_after} LIMIT {limit}"
    );
    let now = time::OffsetDateTime::now_utc();
    let now = time::PrimitiveDateTime::new(now.date(), now.time());
    let stale = now - time::Duration::days(3 * 365 + 30);
    let mut added = 0u64;
    let started = Instant::now();
    while added < rows {
        let round = i64::try_from((rows - added).min(50_000)).unwrap_or(50_000);
        let n = write_tx(&mut conn, |conn| -> Result<usize, TxError> {
            Ok(diesel::sql_query(&sql)
                .bind::<Timestamp, _>(stale - time::Duration::days(30))
                .bind::<Timestamp, _>(stale)
                .bind::<Timestamp, _>(stale)
                .bind::<Text, _>(tenant)
                .bind::<Timestamp, _>(stale)
                .bind::<BigInt, _>(round)
                .execute(conn)?)
        })
        .map_err(|e| format!("adding stale devices: {}", kluis_core::DomainError::from(e)))?;
        if n == 0 {
            return Err("adding stale devices: the tenant has no devices to copy".into());
        }
        added += n as u64;
        progress_of(added as usize, rows as usize, started, "stale devices");
    }
    eprintln!();
    if let Db::Pg(_) = &mut *conn {
        diesel::RunQueryDsl::execute(diesel::sql_query("ANALYZE devices"), &mut *conn)?;
    }
    Ok(added)
}
