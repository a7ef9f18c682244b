//! The audit log: what is recorded, tamper evidence, erasable subjects,
//! concurrency, tenant isolation, and that no entry holds a value.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use kluis_audit::{Action, Context, Target};
use kluis_core::{Actor, ActorKind, PersonId, TenantId};
use kluis_store::schema::audit_events;
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

/// The tenant's entries (newest first), waiting up to 5 s for `action` to
/// appear: reads are written by the group-commit appender.
async fn events_with(app: &TestApp, token: &str, query: &str, action: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let page: Value = app.get(&format!("/v1/audit/events?limit=200{query}"), token).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap().clone();
        if items.iter().any(|e| e["action"] == action) || started.elapsed() > Duration::from_secs(5) {
            return items;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn verify(app: &TestApp, token: &str) -> Value {
    let response = app.get("/v1/audit/verify", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn context(tenant: &Tenant) -> Context {
    let actor = Actor {
        kind: ActorKind::Client,
        id: tenant.admin.client_id.clone(),
        tenant: Some(TenantId(tenant.id.clone())),
        scopes: vec![],
        purposes: vec![],
    };
    Context::new(&actor, TenantId(tenant.id.clone()), Some("test".into()), None)
}

/// A tenant whose chain has a few entries (tenant.create, client.create x2, token.issue x2, ...).
async fn tenant_with_history(app: &TestApp) -> Tenant {
    let tenant = app.new_tenant().await;
    app.new_client(&tenant, &["people:read"]).await;
    app.new_client(&tenant, &["audit:read"]).await;
    tenant
}

both_backends! {
    async fn creating_then_reading_a_client_is_recorded_with_actor_action_and_request_id(app) {
        let tenant = app.new_tenant().await;
        let response = app.client.post(app.url("/v1/clients")).bearer_auth(&tenant.token)
            .header("x-request-id", "req-create-1")
            .json(&json!({"name": "reader", "scopes": ["people:read"]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let client_id = response.json::<Value>().await.unwrap()["client_id"].as_str().unwrap().to_owned();
        let response = app.client.get(app.url(&format!("/v1/clients/{client_id}"))).bearer_auth(&tenant.token)
            .header("x-request-id", "req-read-1").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);

        let events = events_with(&app, &tenant.token, "", "client.read").await;
        let find = |action: &str, request: &str| {
            events.iter().find(|e| e["action"] == action && e["request_id"] == request).cloned()
                .unwrap_or_else(|| panic!("no {action} entry for {request} in {events:?}"))
        };
        for (action, request) in [("client.create", "req-create-1"), ("client.read", "req-read-1")] {
            let entry = find(action, request);
            assert_eq!(entry["actor_kind"], "client");
            assert_eq!(entry["actor_id"], tenant.admin.client_id.as_str());
            assert_eq!(entry["target_kind"], "client");
            assert_eq!(entry["target_id"], client_id.as_str());
            assert_eq!(entry["ip_prefix"], "127.0.0.0");
        }
        assert_eq!(find("client.create", "req-create-1")["fields"], json!(["name", "scopes", "purposes"]));

        // The chain starts with the operator creating the tenant.
        let first = events.last().unwrap();
        assert_eq!(first["seq"], 1);
        assert_eq!(first["action"], "tenant.create");
        assert_eq!(first["actor_kind"], "operator");
        assert_eq!(first["prev_hash"], kluis_audit::GENESIS);
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        let expected: Vec<i64> = (1..=seqs.len() as i64).rev().collect();
        assert_eq!(seqs, expected, "gapless, newest first");

        // Filters.
        let only: Value = app.get("/v1/audit/events?action=client.create", &tenant.token).await.json().await.unwrap();
        assert!(only["items"].as_array().unwrap().iter().all(|e| e["action"] == "client.create"));
        let page: Value = app.get("/v1/audit/events?limit=2", &tenant.token).await.json().await.unwrap();
        let cursor = page["next_cursor"].as_str().unwrap();
        let next: Value = app.get(&format!("/v1/audit/events?limit=2&cursor={cursor}"), &tenant.token).await.json().await.unwrap();
        assert_eq!(next["items"][0]["seq"].as_i64().unwrap(), page["items"][1]["seq"].as_i64().unwrap() - 1);
        let future: Value = app.get("/v1/audit/events?from=2999-01-01T00:00:00Z", &tenant.token).await.json().await.unwrap();
        assert!(future["items"].as_array().unwrap().is_empty());
        assert_problem(app.get("/v1/audit/events?from=yesterday", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(app.get("/v1/audit/events?cursor=xyz", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn a_failed_token_request_is_recorded_as_token_denied(app) {
        let tenant = app.new_tenant().await;
        let mut wrong = tenant.admin.clone();
        wrong.client_secret = "ksec_wrong".into();
        assert_eq!(app.request_token(&wrong, None).await.status(), StatusCode::UNAUTHORIZED);
        let events = events_with(&app, &tenant.token, "&action=token.denied", "token.denied").await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["actor_id"], tenant.admin.client_id.as_str());
        assert_eq!(events[0]["target_id"], tenant.admin.client_id.as_str());
        let issued: Value = app.get("/v1/audit/events?action=token.issue", &tenant.token).await.json().await.unwrap();
        assert!(!issued["items"].as_array().unwrap().is_empty(), "issued tokens are recorded too");
    }

    async fn verify_finds_any_changed_column_a_deleted_row_and_swapped_rows(app) {
        let tenant = tenant_with_history(&app).await;
        let ok = verify(&app, &tenant.token).await;
        assert_eq!(ok["ok"], true);
        let total = ok["checked"].as_i64().unwrap();
        assert!(total >= 5, "{ok}");
        assert!(ok["first_broken_seq"].is_null());

        // Each column of one row, changed directly in the database, each in a chain of its own.
        let target = 3i64;
        let later = time::PrimitiveDateTime::new(time::macros::date!(2030 - 01 - 01), time::macros::time!(0:00));
        for column in ["id", "at", "actor_kind", "actor_id", "action", "target_kind", "target_id", "subject_ref",
            "fields", "purpose", "request_id", "ip_prefix", "prev_hash", "hash"] {
            let victim = tenant_with_history(&app).await;
            {
                let mut conn = app.conn();
                let row = audit_events::table.filter(audit_events::tenant_id.eq(victim.id.clone())).filter(audit_events::seq.eq(target));
                let changed = match column {
                    "id" => diesel::update(row).set(audit_events::id.eq("x")).execute(&mut *conn),
                    "at" => diesel::update(row).set(audit_events::at.eq(later)).execute(&mut *conn),
                    "actor_kind" => diesel::update(row).set(audit_events::actor_kind.eq("operator")).execute(&mut *conn),
                    "actor_id" => diesel::update(row).set(audit_events::actor_id.eq("x")).execute(&mut *conn),
                    "action" => diesel::update(row).set(audit_events::action.eq("client.read")).execute(&mut *conn),
                    "target_kind" => diesel::update(row).set(audit_events::target_kind.eq("x")).execute(&mut *conn),
                    "target_id" => diesel::update(row).set(audit_events::target_id.eq("x")).execute(&mut *conn),
                    "subject_ref" => diesel::update(row).set(audit_events::subject_ref.eq("x")).execute(&mut *conn),
                    "fields" => diesel::update(row).set(audit_events::fields.eq("[\"changed\"]")).execute(&mut *conn),
                    "purpose" => diesel::update(row).set(audit_events::purpose.eq("x")).execute(&mut *conn),
                    "request_id" => diesel::update(row).set(audit_events::request_id.eq("x")).execute(&mut *conn),
                    "ip_prefix" => diesel::update(row).set(audit_events::ip_prefix.eq("10.0.0.0")).execute(&mut *conn),
                    "prev_hash" => diesel::update(row).set(audit_events::prev_hash.eq("0")).execute(&mut *conn),
                    _ => diesel::update(row).set(audit_events::hash.eq("0")).execute(&mut *conn),
                };
                assert_eq!(changed.unwrap(), 1);
            }
            let broken = verify(&app, &victim.token).await;
            assert_eq!(broken["ok"], false, "changing {column}");
            assert_eq!(broken["first_broken_seq"], target, "changing {column}");
            assert_eq!(broken["checked"], target - 1);
        }

        // Swapping two rows (their places in the chain).
        let other = tenant_with_history(&app).await;
        {
            let mut conn = app.conn();
            let seq_of = |s: i64| audit_events::table.filter(audit_events::tenant_id.eq(other.id.clone())).filter(audit_events::seq.eq(s));
            diesel::update(seq_of(2)).set(audit_events::seq.eq(-1)).execute(&mut *conn).unwrap();
            diesel::update(seq_of(3)).set(audit_events::seq.eq(2)).execute(&mut *conn).unwrap();
            diesel::update(seq_of(-1)).set(audit_events::seq.eq(3)).execute(&mut *conn).unwrap();
        }
        let swapped = verify(&app, &other.token).await;
        assert_eq!((swapped["ok"].clone(), swapped["first_broken_seq"].clone()), (json!(false), json!(2)), "{swapped}");

        // Deleting a row in the middle, and another tenant's last row.
        let third = tenant_with_history(&app).await;
        let fourth = tenant_with_history(&app).await;
        let last = verify(&app, &fourth.token).await["checked"].as_i64().unwrap();
        {
            let mut conn = app.conn();
            diesel::delete(audit_events::table.filter(audit_events::tenant_id.eq(third.id.clone())).filter(audit_events::seq.eq(4)))
                .execute(&mut *conn).unwrap();
            diesel::delete(audit_events::table.filter(audit_events::tenant_id.eq(fourth.id.clone())).filter(audit_events::seq.eq(last)))
                .execute(&mut *conn).unwrap();
        }
        let deleted = verify(&app, &third.token).await;
        assert_eq!((deleted["ok"].clone(), deleted["first_broken_seq"].clone()), (json!(false), json!(4)), "{deleted}");
        let tail = verify(&app, &fourth.token).await;
        assert_eq!((tail["ok"].clone(), tail["first_broken_seq"].clone()), (json!(false), json!(last)), "{tail}");

        // One tenant's tampering leaves the others intact.
        assert_eq!(verify(&app, &tenant.token).await["ok"], true);
    }

    async fn a_forgotten_subject_leaves_a_verifying_chain_and_no_trace(app) {
        let tenant = app.new_tenant().await;
        let person = PersonId(kluis_core::new_id());
        let bystander = PersonId(kluis_core::new_id());
        {
            let mut conn = app.conn();
            let ctx = context(&tenant);
            for p in [&person, &bystander, &person] {
                kluis_audit::record(&mut conn, &ctx, Action::ClientRead, Target::person("person", p), &["first_name"], Some("account")).unwrap();
            }
        }
        let about: Value = app.get(&format!("/v1/audit/events?person_id={person}"), &tenant.token).await.json().await.unwrap();
        let about = about["items"].as_array().unwrap().clone();
        assert_eq!(about.len(), 2);
        let reference = about[0]["subject_ref"].as_str().unwrap().to_owned();
        assert_ne!(reference, person.0, "the person id is never stored");
        assert!(about.iter().all(|e| e["target_id"].is_null()));

        let forgotten = {
            let mut conn = app.conn();
            kluis_audit::forget_subject(&mut conn, &TenantId(tenant.id.clone()), &person).unwrap()
        };
        assert!(forgotten);
        let after: Value = app.get(&format!("/v1/audit/events?person_id={person}"), &tenant.token).await.json().await.unwrap();
        assert!(after["items"].as_array().unwrap().is_empty(), "no longer findable");
        let result = verify(&app, &tenant.token).await;
        assert_eq!(result["ok"], true, "{result}");
        // The entries are still there, just unlinkable; the bystander is still findable.
        let all: Value = app.get("/v1/audit/events?limit=200", &tenant.token).await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().iter().filter(|e| e["subject_ref"] == reference.as_str()).count(), 2);
        let other: Value = app.get(&format!("/v1/audit/events?person_id={bystander}"), &tenant.token).await.json().await.unwrap();
        assert_eq!(other["items"].as_array().unwrap().len(), 1);
    }

    async fn a_group_of_entries_naming_people_is_appended_whole_with_each_persons_reference(app) {
        // More entries than one multi-row INSERT on PostgreSQL holds, naming
        // five people (each many times, some acting themselves): one append.
        let tenant = app.new_tenant().await;
        let tenant_id = TenantId(tenant.id.clone());
        let people: Vec<PersonId> = (0..5).map(|_| PersonId(kluis_core::new_id())).collect();
        let staff = context(&tenant);
        let acting: Vec<Context> = people.iter().map(|p| Context::person(tenant_id.clone(), Some(p), None, None)).collect();
        const ENTRIES: usize = 2345;
        let before = verify(&app, &tenant.token).await["checked"].as_i64().unwrap();
        {
            let mut conn = app.conn();
            let entries = (0..ENTRIES).map(|i| {
                let ctx = if i % 3 == 0 { &acting[(i + 1) % 5] } else { &staff };
                (ctx, Action::PersonRead, Target::person("person", &people[i % 5]), &["first_name"][..], None)
            });
            kluis_audit::record_many(&mut conn, &tenant_id, entries).unwrap();
        }
        let result = verify(&app, &tenant.token).await;
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["checked"].as_i64().unwrap(), before + ENTRIES as i64, "gapless, every entry there");

        let mut conn = app.conn();
        let refs: Vec<String> = people.iter().map(|p| kluis_audit::subject_ref(&mut conn, &tenant_id, p).unwrap().expect("a key made")).collect();
        for (k, reference) in refs.iter().enumerate() {
            let about: i64 = audit_events::table.filter(audit_events::tenant_id.eq(&tenant.id))
                .filter(audit_events::subject_ref.eq(reference)).count().get_result(&mut conn).unwrap();
            assert_eq!(about, (0..ENTRIES).filter(|i| i % 5 == k).count() as i64, "person {k} is named by their own reference");
            let by: i64 = audit_events::table.filter(audit_events::tenant_id.eq(&tenant.id))
                .filter(audit_events::actor_id.eq(reference)).count().get_result(&mut conn).unwrap();
            assert_eq!(by, (0..ENTRIES).filter(|i| i % 3 == 0 && (i + 1) % 5 == k).count() as i64, "person {k} acting too");
        }

        // The reads appender makes no key: a person without one (erased in
        // between) stays unnamed, one with a key is named, in one group.
        let unknown = PersonId(kluis_core::new_id());
        for person in [&people[0], &unknown, &people[0]] {
            app.state.audit_reads.read(&staff, Action::PersonRead, Target::person("person", person), &["first_name"], None).await;
        }
        app.state.audit_reads.flush();
        assert_eq!(kluis_audit::subject_ref(&mut conn, &tenant_id, &unknown).unwrap(), None, "no key made for a read");
        let latest: Vec<Option<String>> = audit_events::table.filter(audit_events::tenant_id.eq(&tenant.id))
            .order(audit_events::seq.desc()).limit(3).select(audit_events::subject_ref).load(&mut conn).unwrap();
        assert_eq!(latest, vec![Some(refs[0].clone()), None, Some(refs[0].clone())]);
        drop(conn);
        let result = verify(&app, &tenant.token).await;
        assert_eq!(result["ok"], true, "{result}");
        // Another tenant sees none of it.
        let other = app.new_tenant().await;
        let theirs: Value = app.get(&format!("/v1/audit/events?person_id={}", people[0]), &other.token).await.json().await.unwrap();
        assert!(theirs["items"].as_array().unwrap().is_empty());
    }

    async fn twenty_concurrent_writers_make_a_gapless_verifying_chain(app) {
        let tenant = app.new_tenant().await;
        let client_id = tenant.admin.client_id.clone();
        let writes = (0..20).map(|i| {
            let body = json!({"name": format!("writer {i}"), "scopes": ["people:read"]});
            let request = app.client.post(app.url("/v1/clients")).bearer_auth(&tenant.token).json(&body).send();
            let read = app.client.get(app.url(&format!("/v1/clients/{client_id}"))).bearer_auth(&tenant.token).send();
            async move { (request.await.unwrap().status(), read.await.unwrap().status()) }
        });
        let statuses = futures_util::future::join_all(writes).await;
        assert!(statuses.iter().all(|(w, r)| *w == StatusCode::CREATED && *r == StatusCode::OK), "{statuses:?}");
        app.state.audit_reads.flush();
        let result = verify(&app, &tenant.token).await;
        assert_eq!(result["ok"], true, "{result}");
        let events: Value = app.get("/v1/audit/events?limit=200", &tenant.token).await.json().await.unwrap();
        let events = events["items"].as_array().unwrap();
        let count = |action: &str| events.iter().filter(|e| e["action"] == action).count();
        assert_eq!(count("client.create"), 21, "20 writers and the admin");
        assert_eq!(count("client.read"), 20);
        assert_eq!(result["checked"].as_i64().unwrap(), events.len() as i64);
    }

    async fn tenants_cannot_see_each_others_events(app) {
        let a = app.new_tenant().await;
        let b = tenant_with_history(&app).await;
        let a_events: Value = app.get("/v1/audit/events?limit=200", &a.token).await.json().await.unwrap();
        assert!(a_events["items"].as_array().unwrap().iter().all(|e| e["actor_id"] != b.admin.client_id.as_str()
            && e["target_id"] != b.id.as_str()));
        let filtered: Value = app.get(&format!("/v1/audit/events?actor_id={}", b.admin.client_id), &a.token).await.json().await.unwrap();
        assert!(filtered["items"].as_array().unwrap().is_empty());
        let a_verify = verify(&app, &a.token).await;
        let b_verify = verify(&app, &b.token).await;
        assert_eq!(a_verify["checked"].as_i64().unwrap(), a_events["items"].as_array().unwrap().len() as i64);
        assert!(b_verify["checked"].as_i64().unwrap() > a_verify["checked"].as_i64().unwrap());
    }

    async fn audit_needs_audit_read_and_a_tenant(app) {
        let tenant = app.new_tenant().await;
        let reader = app.new_client(&tenant, &["people:read"]).await;
        let token = app.token(&reader).await;
        assert_problem(app.get("/v1/audit/events", &token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get("/v1/audit/verify", &token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let operator = app.operator_token().await;
        assert_problem(app.get("/v1/audit/events", &operator).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        let response = app.client.get(app.url("/v1/audit/verify")).send().await.unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    }

    async fn no_entry_holds_a_name_secret_token_or_full_ip(app) {
        let operator = app.operator_token().await;
        let response = app.post("/v1/tenants", &operator, &json!({"name": "Jan Jansen Reparaties", "slug": "jan-jansen"})).await;
        let created: Value = response.json().await.unwrap();
        let admin = kluis_tests::Credentials {
            client_id: created["admin_client"]["client_id"].as_str().unwrap().to_owned(),
            client_secret: created["admin_client"]["client_secret"].as_str().unwrap().to_owned(),
        };
        let token = app.token(&admin).await;
        let response = app.post("/v1/clients", &token,
            &json!({"name": "jan.jansen@example.nl +31612345678", "scopes": ["people:read"]})).await;
        let client: Value = response.json().await.unwrap();
        let secret = client["client_secret"].as_str().unwrap().to_owned();
        let path = format!("/v1/clients/{}", client["client_id"].as_str().unwrap());
        app.patch(&path, &token, &json!({"name": "Piet Pietersen"})).await;
        app.get(&path, &token).await;
        let rotated: Value = app.client.post(app.url(&format!("{path}/secret"))).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        let mut wrong = admin.clone();
        wrong.client_secret = "ksec_Password123!".into();
        app.request_token(&wrong, None).await;
        app.state.audit_reads.flush();

        let mut stored = String::new();
        {
            let mut conn = app.conn();
            kluis_audit::for_each(&mut conn, &TenantId(created["id"].as_str().unwrap().to_owned()), |e| {
                stored.push_str(&format!("{e:?}\n"));
            }).unwrap();
        }
        assert!(stored.lines().count() >= 7, "{stored}");
        for forbidden in ["Jan Jansen", "jan-jansen", "jan.jansen@example.nl", "+31612345678", "Piet", &admin.client_secret,
            &secret, rotated["client_secret"].as_str().unwrap(), "ksec_", "Password123", &token, "127.0.0.1"] {
            assert!(!stored.contains(forbidden), "an audit entry holds `{forbidden}`:\n{stored}");
        }
        assert!(stored.contains("127.0.0.0"), "the truncated IP is kept");
    }
}
