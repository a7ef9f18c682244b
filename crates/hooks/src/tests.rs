//! Domain tests on SQLite: the fan-out, the claim (order per person, one
//! claimer at a time), the outcomes of an attempt, rotation.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

use std::time::Duration as StdDuration;

use kluis_core::{PersonId, TenantId};
use kluis_store::db::PooledDb;
use kluis_store::tenancy::{NewTenant, tenants};
use kluis_store::{MasterKey, PoolOptions, build_pool, migrate};
use serde_json::json;
use time::Duration;

use crate::deliveries::{self, After, Outcome, Status};
use crate::endpoints::{self, NewWebhook};
use crate::events::{self, Event};
use crate::{Policy, signing};

struct Fixture {
    _dir: tempfile::TempDir,
    conn: PooledDb,
    tenant: TenantId,
    master: MasterKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pool = build_pool(&format!("sqlite://{}/h.db", dir.path().display()), PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    migrate::run_pending(&mut conn).unwrap();
    let (tenant, _) = tenants::create(&mut conn, &NewTenant { name: "Shop".into(), slug: "shop".into() }).unwrap();
    Fixture { _dir: dir, conn, tenant: tenant.id, master: MasterKey::generate().unwrap() }
}

fn policy() -> Policy {
    Policy { allow_http: true, allow_private: true, retry_base: StdDuration::from_secs(1) }
}

fn hook(f: &mut Fixture, types: &[&str]) -> endpoints::Webhook {
    let new = NewWebhook {
        client_id: "c1".into(),
        url: "http://127.0.0.1:9/hook".into(),
        description: None,
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        purposes: vec![],
    };
    endpoints::create(&mut f.conn, &f.master, &f.tenant, &new, &policy()).unwrap().0
}

fn outcome(status: Option<u16>) -> Outcome {
    Outcome { attempted_at: kluis_core::time::now(), latency_ms: 3, status, body: Some("ok".into()), error: None }
}

#[test]
fn url_rules_follow_the_operators_policy() {
    let strict = Policy::default();
    assert!(endpoints::check_url("https://hooks.example.com/x", &strict).is_ok());
    assert!(endpoints::check_url("http://hooks.example.com/x", &strict).is_err());
    assert!(endpoints::check_url("https://127.0.0.1/x", &strict).is_err());
    assert!(endpoints::check_url("https://[::1]/x", &strict).is_err());
    assert!(endpoints::check_url("https://169.254.169.254/latest", &strict).is_err());
    assert!(endpoints::check_url("https://user:pw@hooks.example.com/", &strict).is_err());
    assert!(endpoints::check_url("ftp://hooks.example.com/", &strict).is_err());
    assert!(endpoints::check_url_resolved("https://localhost/x", &strict).is_err());
    assert!(endpoints::check_url("http://127.0.0.1:9/x", &policy()).is_ok());
}

#[test]
fn an_event_reaches_only_the_endpoints_that_receive_it() {
    let mut f = fixture();
    let updates = hook(&mut f, &["person.updated"]);
    hook(&mut f, &["person.erased"]);
    let person = PersonId("p1".into());
    let event = Event {
        event_type: events::PERSON_UPDATED,
        person: Some(&person),
        purpose: None,
        data: json!({"person_id": "p1"}),
    };
    assert_eq!(events::emit(&mut f.conn, &f.tenant, &event).unwrap(), 1);
    let page = deliveries::list(&mut f.conn, &f.tenant, &updates.id, 10, None).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].status, Status::Pending);
}

#[test]
fn a_persons_events_go_out_in_order_and_one_claimer_wins() {
    let mut f = fixture();
    let h = hook(&mut f, &["person.updated"]);
    let person = PersonId("p1".into());
    let other = PersonId("p2".into());
    for p in [&person, &person, &other] {
        let event = Event { event_type: events::PERSON_UPDATED, person: Some(p), purpose: None, data: json!({}) };
        events::emit(&mut f.conn, &f.tenant, &event).unwrap();
    }
    let now = kluis_core::time::now() + Duration::seconds(1);
    let first = deliveries::claim_due(&mut f.conn, "a", now, 10, Duration::minutes(1)).unwrap();
    // p1's second event waits for its first; p2's goes.
    assert_eq!(first.len(), 2);
    assert!(deliveries::claim_due(&mut f.conn, "b", now, 10, Duration::minutes(1)).unwrap().is_empty());
    let p1 = first.iter().find(|c| c.attempts == 0 && c.id < first[1].id).unwrap().clone();
    let after = deliveries::record(&mut f.conn, "a", &p1, &outcome(Some(500)), StdDuration::from_secs(1)).unwrap();
    assert!(matches!(after, After::Retry(_)));
    let later = now + Duration::seconds(10);
    let again = deliveries::claim_due(&mut f.conn, "b", later, 10, Duration::minutes(1)).unwrap();
    assert_eq!(again.len(), 1, "only p1's first again: its second still waits");
    assert_eq!(again[0].id, p1.id);
    assert_eq!(
        deliveries::record(&mut f.conn, "b", &again[0], &outcome(Some(204)), StdDuration::from_secs(1)).unwrap(),
        After::Succeeded
    );
    let last = deliveries::claim_due(&mut f.conn, "b", later, 10, Duration::minutes(1)).unwrap();
    assert_eq!(last.len(), 1);
    let log = deliveries::get(&mut f.conn, &f.tenant, &h.id, &p1.id).unwrap();
    assert_eq!((log.status, log.attempts), (Status::Succeeded, 2));
    assert!(log.acknowledged_at.is_some());
    assert_eq!(deliveries::attempts(&mut f.conn, &f.tenant, &p1.id).unwrap().len(), 2);
}

#[test]
fn a_410_disables_the_endpoint_and_fails_what_waits() {
    let mut f = fixture();
    let h = hook(&mut f, &["person.created"]);
    for _ in 0..2 {
        let event = Event { event_type: events::PERSON_CREATED, person: None, purpose: None, data: json!({}) };
        events::emit(&mut f.conn, &f.tenant, &event).unwrap();
    }
    let now = kluis_core::time::now() + Duration::seconds(1);
    let claimed = deliveries::claim_due(&mut f.conn, "a", now, 1, Duration::minutes(1)).unwrap();
    assert_eq!(
        deliveries::record(&mut f.conn, "a", &claimed[0], &outcome(Some(410)), StdDuration::from_secs(1)).unwrap(),
        After::Gone
    );
    let hook = endpoints::get(&mut f.conn, &f.tenant, &h.id).unwrap();
    assert!(!hook.enabled);
    assert_eq!(hook.disabled_reason.as_deref(), Some("gone"));
    let page = deliveries::list(&mut f.conn, &f.tenant, &h.id, 10, None).unwrap();
    assert!(page.items.iter().all(|d| d.status == Status::Failed));
}

#[test]
fn a_rotation_signs_with_both_secrets() {
    let mut f = fixture();
    let h = hook(&mut f, &["person.created"]);
    let (_, fresh) = endpoints::rotate(&mut f.conn, &f.master, &f.tenant, &h.id).unwrap();
    let now = kluis_core::time::now();
    let secrets = endpoints::secrets(&mut f.conn, &f.master, &f.tenant, &h.id, now).unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(*secrets[0], *fresh);
    let after_a_day = endpoints::secrets(&mut f.conn, &f.master, &f.tenant, &h.id, now + Duration::hours(25)).unwrap();
    assert_eq!(after_a_day.len(), 1);
    assert!(signing::header(&secrets, "m", 1, b"{}").unwrap().contains(' '));
}
