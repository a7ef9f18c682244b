//! Domain tests on SQLite: the ledger's rules with actors of every kind
//! (subject tokens reach the API only with the accounts feature, so the rule
//! that only the person lifts an objection is proved here), the default
//! purposes, unsubscribe tokens and erasure.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should panic")]

use diesel::prelude::*;
use kluis_core::{Actor, ActorKind, DomainError, PersonId, TenantId};
use kluis_store::db::PooledDb;
use kluis_store::personal::PersonalData;
use kluis_store::schema::{audit_events, consent_purposes, people};
use kluis_store::tenancy::{NewTenant, tenants};
use kluis_store::{PoolOptions, build_pool, migrate};
use time::Duration;

use crate::check::{self, Pair};
use crate::model::*;
use crate::unsubscribe::{self, Opened, Pending, Redeemed};
use crate::{ConsentData, ledger, purposes, setup};

struct Fixture {
    _dir: tempfile::TempDir,
    conn: PooledDb,
    tenant: TenantId,
    person: PersonId,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pool = build_pool(&format!("sqlite://{}/c.db", dir.path().display()), PoolOptions::default()).unwrap();
    let mut conn = pool.get().unwrap();
    migrate::run_pending(&mut conn).unwrap();
    let (tenant, _) = tenants::create(&mut conn, &NewTenant { name: "Shop".into(), slug: "shop".into() }).unwrap();
    kluis_audit::init_chain(&mut conn, &tenant.id).unwrap();
    setup::init(&mut conn, &tenant.id).unwrap();
    // Events cite privacy policy version 1, which must be published.
    let privacy = NewPolicyVersion { title: "Privacy".into(), body: "We keep little.".into(), material: true };
    crate::policies::publish(&mut conn, &tenant.id, PolicyKind::Privacy, &privacy).unwrap();
    let person = add_person(&mut conn, &tenant.id);
    Fixture { _dir: dir, conn, tenant: tenant.id, person }
}

fn add_person(conn: &mut PooledDb, tenant: &TenantId) -> PersonId {
    let id = PersonId::generate();
    let now = kluis_core::time::now();
    diesel::insert_into(people::table)
        .values((
            people::tenant_id.eq(tenant.as_str()),
            people::id.eq(id.as_str()),
            people::version.eq(1i64),
            people::created_at.eq(now),
            people::updated_at.eq(now),
        ))
        .execute(&mut **conn)
        .unwrap();
    id
}

fn actor(kind: ActorKind, id: &str, tenant: &TenantId) -> Actor {
    Actor { kind, id: id.to_owned(), tenant: Some(tenant.clone()), scopes: Vec::new(), purposes: Vec::new() }
}

fn event(purpose: &str, action: ConsentAction) -> NewEvent {
    NewEvent {
        purpose: purpose.to_owned(),
        action,
        source: Source::Web,
        policy_version: Some(1),
        occurred_at: None,
        expires_at: None,
        proof: Proof { ip_prefix: Some("192.168.0.0".into()), user_agent: Some("test".into()) },
    }
}

fn decision(f: &mut Fixture, purpose: &str) -> Decision {
    let pair = Pair { person: f.person.clone(), purpose: purpose.to_owned() };
    check::check(&mut f.conn, &f.tenant, &[pair], |_| "purpose".into()).unwrap()[0]
}

fn invalid_fields(error: DomainError) -> Vec<String> {
    match error {
        DomainError::Validation(fields) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn an_objection_stands_against_client_grants_until_the_person_lifts_it() {
    let mut f = fixture();
    let client = actor(ActorKind::Client, "back-office", &f.tenant);
    let person = actor(ActorKind::Subject, f.person.as_str(), &f.tenant);
    let (tenant, who) = (f.tenant.clone(), f.person.clone());

    ledger::record(&mut f.conn, &tenant, &who, &client, &event("marketing_email", ConsentAction::Grant)).unwrap();
    assert!(decision(&mut f, "marketing_email").allowed);

    ledger::record(&mut f.conn, &tenant, &who, &client, &event("marketing_email", ConsentAction::Object)).unwrap();
    let objected = decision(&mut f, "marketing_email");
    assert_eq!((objected.allowed, objected.status), (false, Status::Objected));

    let grant = ledger::record(&mut f.conn, &tenant, &who, &client, &event("marketing_email", ConsentAction::Grant));
    assert_eq!(grant.unwrap().action, ConsentAction::Grant, "the grant is kept in the ledger");
    let still = decision(&mut f, "marketing_email");
    assert_eq!((still.allowed, still.status), (false, Status::Objected), "a client's grant does not lift it");

    let system = actor(ActorKind::System, "import", &f.tenant);
    ledger::record(&mut f.conn, &tenant, &who, &system, &event("marketing_email", ConsentAction::Grant)).unwrap();
    assert!(!decision(&mut f, "marketing_email").allowed, "nor does kluis itself");

    let lifted = ledger::record(&mut f.conn, &tenant, &who, &person, &event("marketing_email", ConsentAction::Grant));
    assert_eq!(lifted.unwrap().actor_kind, ActorKind::Subject);
    let allowed = decision(&mut f, "marketing_email");
    assert_eq!((allowed.allowed, allowed.status), (true, Status::Granted), "the person's own grant lifts it");

    // Every event kept, gapless, in order.
    let history = ledger::history(&mut f.conn, &tenant, &who, 50, None).unwrap();
    let seqs: Vec<i64> = history.items.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

#[test]
fn the_latest_event_decides_and_a_backdated_import_does_not_override_it() {
    let mut f = fixture();
    let client = actor(ActorKind::Client, "c", &f.tenant);
    let (tenant, who) = (f.tenant.clone(), f.person.clone());
    ledger::record(&mut f.conn, &tenant, &who, &client, &event("phone_contact", ConsentAction::Grant)).unwrap();
    let old = NewEvent {
        occurred_at: Some(kluis_core::time::now() - Duration::days(30)),
        source: Source::Import,
        ..event("phone_contact", ConsentAction::Withdraw)
    };
    ledger::record(&mut f.conn, &tenant, &who, &client, &old).unwrap();
    assert!(decision(&mut f, "phone_contact").allowed, "an older withdrawal does not undo a newer grant");
    ledger::record(&mut f.conn, &tenant, &who, &client, &event("phone_contact", ConsentAction::Withdraw)).unwrap();
    let withdrawn = decision(&mut f, "phone_contact");
    assert_eq!((withdrawn.allowed, withdrawn.status), (false, Status::Withdrawn));
}

#[test]
fn an_expired_grant_is_not_allowed() {
    let mut f = fixture();
    let client = actor(ActorKind::Client, "c", &f.tenant);
    let (tenant, who) = (f.tenant.clone(), f.person.clone());
    let now = kluis_core::time::now();
    let lapsed = NewEvent {
        occurred_at: Some(now - Duration::days(2)),
        expires_at: Some(now - Duration::days(1)),
        ..event("analytics", ConsentAction::Grant)
    };
    ledger::record(&mut f.conn, &tenant, &who, &client, &lapsed).unwrap();
    let d = decision(&mut f, "analytics");
    assert_eq!((d.allowed, d.status, d.since), (false, Status::Expired, lapsed.expires_at));
}

#[test]
fn bases_decide_what_can_be_granted_withdrawn_or_objected() {
    let mut f = fixture();
    let client = actor(ActorKind::Client, "c", &f.tenant);
    let person = actor(ActorKind::Subject, f.person.as_str(), &f.tenant);
    let (tenant, who) = (f.tenant.clone(), f.person.clone());
    for (purpose, action) in [
        ("account", ConsentAction::Grant),
        ("account", ConsentAction::Withdraw),
        ("account", ConsentAction::Object),
        ("invoicing", ConsentAction::Object),
    ] {
        let error = ledger::record(&mut f.conn, &tenant, &who, &client, &event(purpose, action)).unwrap_err();
        assert_eq!(invalid_fields(error), ["action"], "{purpose} {action}");
    }
    let error = ledger::record(&mut f.conn, &tenant, &who, &client, &event("nope", ConsentAction::Grant)).unwrap_err();
    assert_eq!(invalid_fields(error), ["purpose"]);
    assert!(ledger::history(&mut f.conn, &tenant, &who, 50, None).unwrap().items.is_empty(), "nothing stored");
    assert!(decision(&mut f, "account").allowed, "a contract needs no consent");

    let interest = NewPurpose {
        key: "customer_survey".into(),
        name: "Customer survey".into(),
        description: "Asking customers how we did.".into(),
        legal_basis: LegalBasis::LegitimateInterests,
        data_categories: vec!["user.contact.email".into()],
        recipients: Vec::new(),
        retention: "P1Y".into(),
        gpc: false,
    };
    purposes::create(&mut f.conn, &tenant, &interest).unwrap();
    assert!(decision(&mut f, "customer_survey").allowed);
    ledger::record(&mut f.conn, &tenant, &who, &client, &event("customer_survey", ConsentAction::Object)).unwrap();
    assert!(!decision(&mut f, "customer_survey").allowed);
    let error = ledger::record(&mut f.conn, &tenant, &who, &client, &event("customer_survey", ConsentAction::Grant))
        .unwrap_err();
    assert_eq!(invalid_fields(error), ["action"], "a client cannot lift an objection to legitimate interests");
    ledger::record(&mut f.conn, &tenant, &who, &person, &event("customer_survey", ConsentAction::Grant)).unwrap();
    assert!(decision(&mut f, "customer_survey").allowed, "the person can");
}

#[test]
fn default_purposes_are_made_once_and_deleted_ones_stay_deleted() {
    let mut f = fixture();
    let (tenant, _) = tenants::create(&mut f.conn, &NewTenant { name: "New".into(), slug: "new".into() }).unwrap();
    kluis_audit::init_chain(&mut f.conn, &tenant.id).unwrap();
    let tenant = tenant.id;
    let count = |conn: &mut PooledDb| -> i64 {
        consent_purposes::table
            .filter(consent_purposes::tenant_id.eq(tenant.as_str()))
            .count()
            .get_result(&mut **conn)
            .unwrap()
    };
    assert_eq!(count(&mut f.conn), 0, "made by init, not before");
    setup::init(&mut f.conn, &tenant).unwrap();
    setup::init(&mut f.conn, &tenant).unwrap();
    assert_eq!(count(&mut f.conn), 7);
    let all = purposes::all(&mut f.conn, &tenant).unwrap();
    let mut keys: Vec<&str> = all.iter().map(|p| p.key.as_str()).collect();
    keys.sort_unstable();
    let mut expected = setup::default_keys();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let consent: Vec<&str> = all.iter().filter(|p| p.requires_consent()).map(|p| p.key.as_str()).collect();
    assert_eq!(consent, ["analytics", "event_sharing", "marketing_email", "phone_contact", "session_recording"]);
    purposes::delete(&mut f.conn, &tenant, "analytics", None).unwrap();
    setup::init(&mut f.conn, &tenant).unwrap();
    assert_eq!(count(&mut f.conn), 6, "a deleted default does not come back");
    let recorded: i64 = audit_events::table
        .filter(audit_events::tenant_id.eq(tenant.as_str()))
        .filter(audit_events::action.eq("purpose.create"))
        .filter(audit_events::actor_kind.eq("system"))
        .count()
        .get_result(&mut *f.conn)
        .unwrap();
    assert_eq!(recorded, 7);
    assert!(kluis_audit::verify(&mut f.conn, &tenant).unwrap().ok);
}

#[test]
fn an_unsubscribe_token_works_once_and_only_as_signed() {
    let mut f = fixture();
    let (tenant, who) = (f.tenant.clone(), f.person.clone());
    let expires = kluis_core::time::now() + Duration::days(1);
    let token = unsubscribe::issue(&mut f.conn, &tenant, &who, "marketing_email", expires).unwrap();
    let error = unsubscribe::issue(&mut f.conn, &tenant, &who, "invoicing", expires).unwrap_err();
    assert_eq!(invalid_fields(error), ["purpose"]);

    let mut tampered = token.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered.as_str(), "x", "x.y", "", &format!("{token}x")] {
        assert!(matches!(unsubscribe::open(&mut f.conn, bad).unwrap(), Opened::Invalid), "{bad}");
    }
    let past = unsubscribe::issue(&mut f.conn, &tenant, &who, "marketing_email", expires - Duration::days(2)).unwrap();
    assert!(matches!(unsubscribe::open(&mut f.conn, &past).unwrap(), Opened::Expired));

    let Opened::Valid(valid) = unsubscribe::open(&mut f.conn, &token).unwrap() else { panic!("valid") };
    assert_eq!((valid.person.clone(), valid.purpose.as_str()), (who.clone(), "marketing_email"));
    let system = actor(ActorKind::System, "unsubscribe", &tenant);
    for _ in 0..2 {
        let Pending::Ready { purpose, action } = unsubscribe::pending(&mut f.conn, &valid).unwrap() else {
            panic!("ready")
        };
        assert_eq!((purpose.key.as_str(), action), ("marketing_email", ConsentAction::Withdraw));
    }
    assert!(ledger::history(&mut f.conn, &tenant, &who, 50, None).unwrap().items.is_empty(), "looking records nothing");
    let Redeemed::Recorded(event) = unsubscribe::redeem(&mut f.conn, &valid, &system, Proof::default()).unwrap() else {
        panic!("recorded")
    };
    assert_eq!((event.action, event.source), (ConsentAction::Withdraw, Source::Unsubscribe));
    assert!(matches!(unsubscribe::pending(&mut f.conn, &valid).unwrap(), Pending::Used));
    assert!(matches!(unsubscribe::redeem(&mut f.conn, &valid, &system, Proof::default()).unwrap(), Redeemed::Used));
    assert_eq!(ledger::history(&mut f.conn, &tenant, &who, 50, None).unwrap().items.len(), 1, "recorded once");
}

#[test]
fn erasure_removes_every_row_that_identifies_the_person() {
    let mut f = fixture();
    let (tenant, who) = (f.tenant.clone(), f.person.clone());
    let other = add_person(&mut f.conn, &tenant);
    let client = actor(ActorKind::Client, "c", &tenant);
    for person in [&who, &other] {
        ledger::record(&mut f.conn, &tenant, person, &client, &event("marketing_email", ConsentAction::Grant)).unwrap();
    }
    let token =
        unsubscribe::issue(&mut f.conn, &tenant, &who, "marketing_email", kluis_core::time::now() + Duration::days(1))
            .unwrap();
    let Opened::Valid(valid) = unsubscribe::open(&mut f.conn, &token).unwrap() else { panic!("valid") };
    unsubscribe::redeem(&mut f.conn, &valid, &client, Proof::default()).unwrap();
    crate::policies::publish(
        &mut f.conn,
        &tenant,
        PolicyKind::Privacy,
        &NewPolicyVersion { title: "Privacy".into(), body: "Text".into(), material: false },
    )
    .unwrap();
    let accepted =
        NewAcceptance { kind: PolicyKind::Privacy, version: 1, source: Source::Web, proof: Proof::default() };
    crate::policies::accept(&mut f.conn, &tenant, &who, &accepted).unwrap();

    let export = ConsentData.export(&mut f.conn, &tenant, &who).unwrap();
    assert_eq!(export.tables["consent_events"].len(), 2);
    assert_eq!(export.tables["consent_states"][0]["status"], "withdrawn");
    assert_eq!(export.tables["consent_acceptances"][0]["version"], 1);
    assert_eq!(export.tables["consent_unsubscribes"].len(), 1);

    let report = ConsentData.erase(&mut f.conn, &tenant, &who).unwrap();
    assert_eq!(report.rows["consent_events"], 2);
    assert_eq!(report.rows["consent_states"], 1);
    assert_eq!(report.rows["consent_acceptances"], 1);
    assert_eq!(report.rows["consent_unsubscribes"], 1);
    let export = ConsentData.export(&mut f.conn, &tenant, &who).unwrap();
    assert!(export.tables["consent_events"].is_empty());
    assert!(export.tables["consent_acceptances"].is_empty());
    assert_eq!(ledger::history(&mut f.conn, &tenant, &other, 50, None).unwrap().items.len(), 1, "others stay");
}

#[test]
fn the_markdown_register_keeps_its_table_whole_whatever_the_names() {
    let mut f = fixture();
    let tenant = f.tenant.clone();
    let new = NewRecipient {
        name: "Mail | Co".into(),
        role: RecipientRole::Processor,
        country: "US".into(),
        transfer_mechanism: Some("SCC | 2021".into()),
    };
    let recipient = crate::recipients::create(&mut f.conn, &tenant, &new).unwrap();
    let patch = PurposePatch { recipients: Some(vec![recipient.id]), ..PurposePatch::default() };
    purposes::update(&mut f.conn, &tenant, "marketing_email", None, &patch).unwrap();
    let register = crate::register::build(&mut f.conn, &tenant).unwrap();
    let markdown = crate::register::markdown(&register);
    let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| ") && l.contains("(`")).collect();
    assert_eq!(rows.len(), 7, "one row per purpose");
    for row in rows {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "five cells: {row}");
    }
    let transfers = markdown.split("## Transfers outside the EEA").nth(1).unwrap();
    assert!(transfers.contains("Mail \\| Co (processor, US): SCC \\| 2021"), "{transfers}");
}

#[test]
fn usage_tallies_in_memory_and_adds_to_the_written_count() {
    use crate::usage::{Tally, Usage, count, counted};
    let mut f = fixture();
    count(&mut f.conn, &f.tenant, "client-a", Usage::Check, 5).unwrap();
    let tally = Tally::default();
    tally.add(&f.tenant, "client-a", Usage::Check, 2);
    tally.add(&f.tenant, "client-a", Usage::Check, 3);
    tally.add(&f.tenant, "client-b", Usage::Changes, 1);
    // Nothing is written until the tally is.
    assert_eq!(counted(&mut f.conn, &f.tenant, "client-a", Usage::Check).unwrap(), 5);
    tally.write(&mut f.conn).unwrap();
    assert_eq!(counted(&mut f.conn, &f.tenant, "client-a", Usage::Check).unwrap(), 10);
    assert_eq!(counted(&mut f.conn, &f.tenant, "client-b", Usage::Changes).unwrap(), 1);
    assert_eq!(counted(&mut f.conn, &f.tenant, "client-b", Usage::Check).unwrap(), 0);
    // Written counts are not written twice.
    tally.write(&mut f.conn).unwrap();
    assert_eq!(counted(&mut f.conn, &f.tenant, "client-a", Usage::Check).unwrap(), 10);
    // A deleted tenant's counts are dropped, not retried for ever.
    tally.add(&TenantId("0190f0f0-0000-7000-8000-000000000000".into()), "client-a", Usage::Check, 1);
    tally.write(&mut f.conn).unwrap();
    tally.write(&mut f.conn).unwrap();
}
