//! Consent, policies and the processing register: the ledger and its check,
//! objections, expiry, the batch check, the changes feed under concurrent
//! writers, purposes and recipients with their rules, policy versions and
//! acceptances, one-click unsubscribe, the Art. 30 register, audit,
//! erasure, tenant isolation and scopes.

use std::collections::BTreeSet;

use diesel::prelude::*;
use kluis_store::schema::{consent_events, consent_purposes, consent_recipients};
use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

async fn new_person(app: &TestApp, tenant: &Tenant) -> String {
    let response = app.post("/v1/people", &tenant.token, &json!({"first_name": "Consenting"})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// Record an event; returns the response.
async fn record(app: &TestApp, token: &str, person: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/people/{person}/consents")))
        .bearer_auth(token)
        .header("user-agent", "Mozilla/5.0 (kluis test)")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Record an event that must be accepted; returns it.
async fn recorded(app: &TestApp, token: &str, person: &str, purpose: &str, action: &str) -> Value {
    let response = record(app, token, person, json!({"purpose": purpose, "action": action, "source": "web"})).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    response.json().await.unwrap()
}

async fn check(app: &TestApp, token: &str, person: &str, purpose: &str) -> Value {
    let response = app.get(&format!("/v1/consents/check?person_id={person}&purpose={purpose}"), token).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.text().await);
    response.json().await.unwrap()
}

fn events_in(app: &TestApp, tenant: &Tenant) -> i64 {
    let mut conn = app.conn();
    consent_events::table.filter(consent_events::tenant_id.eq(&tenant.id)).count().get_result(&mut *conn).unwrap()
}

fn field_names(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

/// The tenant's audit entries with `action` (every entry when empty), newest first.
async fn audit_events(app: &TestApp, tenant: &Tenant, action: &str) -> Vec<Value> {
    app.state.audit_reads.flush();
    let filter = if action.is_empty() { String::new() } else { format!("&action={action}") };
    let page: Value =
        app.get(&format!("/v1/audit/events?limit=200{filter}"), &tenant.token).await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

both_backends! {
    async fn grant_allows_withdraw_and_objection_do_not_and_a_client_grant_does_not_lift_an_objection(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant).await;
        let before = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!(before, json!({"allowed": false, "basis": "consent", "since": null, "restricted": false}));

        let grant = recorded(&app, &tenant.token, &person, "marketing_email", "grant").await;
        assert_eq!(grant["action"], "grant");
        assert_eq!(grant["source"], "web");
        assert_eq!(grant["actor_kind"], "client");
        assert_eq!(grant["ip_prefix"], "127.0.0.0", "the caller's IP, truncated");
        assert_eq!(grant["user_agent"], "Mozilla/5.0 (kluis test)");
        let allowed = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!(allowed["allowed"], true);
        assert_eq!(allowed["since"], grant["occurred_at"]);

        let withdrawal = recorded(&app, &tenant.token, &person, "marketing_email", "withdraw").await;
        let withdrawn = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!((withdrawn["allowed"].clone(), withdrawn["since"].clone()), (json!(false), withdrawal["occurred_at"].clone()));
        recorded(&app, &tenant.token, &person, "marketing_email", "grant").await;
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["allowed"], true, "withdrawing is one call, like giving");

        let objection = recorded(&app, &tenant.token, &person, "marketing_email", "object").await;
        let objected = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!((objected["allowed"].clone(), objected["since"].clone()), (json!(false), objection["occurred_at"].clone()));
        // A client's later grant is kept in the ledger but does not override the objection.
        recorded(&app, &tenant.token, &person, "marketing_email", "grant").await;
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["allowed"], false);
        let standings: Value = app.get(&format!("/v1/people/{person}/consents"), &tenant.token).await.json().await.unwrap();
        let mail = standings["items"].as_array().unwrap().iter().find(|s| s["purpose"] == "marketing_email").unwrap().clone();
        assert_eq!(mail["status"], "objected");
        let account = standings["items"].as_array().unwrap().iter().find(|s| s["purpose"] == "account").unwrap().clone();
        assert_eq!((account["allowed"].clone(), account["legal_basis"].clone()), (json!(true), json!("contract")));
        assert_eq!(check(&app, &tenant.token, &person, "account").await, json!({"allowed": true, "basis": "contract", "since": null, "restricted": false}));

        let history: Value = app.get(&format!("/v1/people/{person}/consents/history?limit=2"), &tenant.token).await.json().await.unwrap();
        assert_eq!(history["items"].as_array().unwrap().len(), 2);
        let rest: Value = app.get(&format!("/v1/people/{person}/consents/history?cursor={}", history["next_cursor"].as_str().unwrap()), &tenant.token).await.json().await.unwrap();
        let actions: Vec<&str> = history["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap())
            .map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["grant", "withdraw", "grant", "object", "grant"]);

        // Audited by field name, with the person only as their subject reference.
        let grants = audit_events(&app, &tenant, "consent.grant").await;
        assert_eq!(grants.len(), 3);
        assert_eq!(grants[0]["target_kind"], "consent");
        assert!(grants[0]["target_id"].is_null() && grants[0]["subject_ref"].is_string());
        assert_eq!(grants[0]["purpose"], "marketing_email");
        assert_eq!(grants[0]["fields"], json!(["purpose", "action", "source"]));
        assert_eq!(audit_events(&app, &tenant, "consent.withdraw").await.len(), 1);
        assert_eq!(audit_events(&app, &tenant, "consent.object").await.len(), 1);
        let reads = audit_events(&app, &tenant, "consent.read").await;
        assert_eq!(reads.len(), 3, "the standings and two history pages");
        let text = serde_json::to_string(&audit_events(&app, &tenant, "").await).unwrap();
        assert!(!text.contains(&person) && !text.contains("Mozilla"), "no values, no person id in the audit log");
    }

    async fn bad_consent_input_is_422_naming_the_field_and_stores_nothing(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant).await;
        let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
        let cases = [
            (json!({"purpose": "nope", "action": "grant", "source": "web"}), "purpose"),
            (json!({"purpose": "account", "action": "grant", "source": "web"}), "action"),
            (json!({"purpose": "invoicing", "action": "object", "source": "web"}), "action"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "unsubscribe"}), "source"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "self"}), "source"),
            (json!({"purpose": "marketing_email", "action": "maybe", "source": "web"}), "action"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "web", "policy_version": 0}), "policy_version"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "web", "occurred_at": tomorrow}), "occurred_at"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "web", "occurred_at": "yesterday"}), "occurred_at"),
            (json!({"purpose": "marketing_email", "action": "withdraw", "source": "web", "expires_at": tomorrow}), "expires_at"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "web", "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
            (json!({"purpose": "marketing_email", "action": "grant", "source": "web", "ip": "10.0.0.1"}), "ip"),
        ];
        for (body, field) in cases {
            let response = record(&app, &tenant.token, &person, body.clone()).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(field_names(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
        }
        assert_eq!(events_in(&app, &tenant), 0, "nothing was stored");
        let absent = kluis_core::new_id();
        let response = record(&app, &tenant.token, &absent, json!({"purpose": "marketing_email", "action": "grant", "source": "web"})).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.get("/v1/consents/check?person_id=x&purpose=marketing_email", &tenant.token).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["person_id"]);
        let response = app.get(&format!("/v1/consents/check?person_id={person}&purpose=nope"), &tenant.token).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["purpose"]);
    }

    async fn an_expired_grant_is_not_allowed_and_a_batch_of_1000_pairs_is_answered_in_order(app) {
        let tenant = app.new_tenant().await;
        let lapsed = new_person(&app, &tenant).await;
        let granted = new_person(&app, &tenant).await;
        let now = time::OffsetDateTime::now_utc();
        let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
        let body = json!({"purpose": "marketing_email", "action": "grant", "source": "import",
            "occurred_at": rfc(now - time::Duration::days(10)), "expires_at": rfc(now - time::Duration::days(1))});
        let response = record(&app, &tenant.token, &lapsed, body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let event: Value = response.json().await.unwrap();
        let expired = check(&app, &tenant.token, &lapsed, "marketing_email").await;
        assert_eq!(expired["allowed"], false);
        assert_eq!(expired["since"], event["expires_at"], "not allowed since it lapsed");
        let body = json!({"purpose": "marketing_email", "action": "grant", "source": "web", "expires_at": rfc(now + time::Duration::days(365))});
        assert_eq!(record(&app, &tenant.token, &granted, body).await.status(), StatusCode::CREATED);
        assert_eq!(check(&app, &tenant.token, &granted, "marketing_email").await["allowed"], true);

        let stranger = kluis_core::new_id();
        let kinds = [(&lapsed, "marketing_email", false), (&granted, "marketing_email", true), (&stranger, "marketing_email", false),
            (&granted, "analytics", false), (&stranger, "invoicing", true)];
        let pairs: Vec<(String, &str, bool)> = (0..1000).map(|i| { let (p, k, a) = kinds[i % kinds.len()]; (p.clone(), k, a) }).collect();
        let body = json!({"checks": pairs.iter().map(|(p, k, _)| json!({"person_id": p, "purpose": k})).collect::<Vec<_>>()});
        let response = app.post("/v1/consents/check", &tenant.token, &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 1000);
        for ((person, purpose, allowed), result) in pairs.iter().zip(results) {
            assert_eq!(result["person_id"], person.as_str());
            assert_eq!(result["purpose"], *purpose);
            assert_eq!(result["allowed"], *allowed, "{result}");
        }
        assert_eq!(results[4]["basis"], "legal_obligation");

        let too_many = json!({"checks": (0..1001).map(|_| json!({"person_id": granted, "purpose": "analytics"})).collect::<Vec<_>>()});
        let problem = assert_problem(app.post("/v1/consents/check", &tenant.token, &too_many).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(field_names(&problem), ["checks"]);
        let bad = json!({"checks": [{"person_id": granted, "purpose": "analytics"}, {"person_id": "nope", "purpose": "analytics"}, {"person_id": granted, "purpose": "health"}]});
        let problem = assert_problem(app.post("/v1/consents/check", &tenant.token, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(field_names(&problem), ["checks[1].person_id"]);
        let bad = json!({"checks": [{"person_id": granted, "purpose": "analytics"}, {"person_id": granted, "purpose": "health"}]});
        let problem = assert_problem(app.post("/v1/consents/check", &tenant.token, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(field_names(&problem), ["checks[1].purpose"]);

        // Checks are counted per client and day, not audited one by one
        // (in memory, written every second and on shutdown).
        app.state.usage.flush();
        let mut conn = app.conn();
        let counted = kluis_consent::usage::counted(&mut conn, &kluis_core::TenantId(tenant.id.clone()), &tenant.admin.client_id, kluis_consent::usage::Usage::Check).unwrap();
        drop(conn);
        assert_eq!(counted, 2 + 1000, "two single checks and a batch of 1000");
        let audited = audit_events(&app, &tenant, "").await;
        assert!(audited.iter().all(|e| !e["action"].as_str().unwrap().contains("check")));
    }

    async fn five_concurrent_writers_and_a_reader_see_every_event_once_in_commit_order(app) {
        let tenant = app.new_tenant().await;
        let mut persons = Vec::new();
        for _ in 0..5 {
            persons.push(new_person(&app, &tenant).await);
        }
        const PER_WRITER: usize = 8;
        let total = persons.len() * PER_WRITER;
        let writers = persons.iter().map(|person| {
            let (app, token, person) = (&app, tenant.token.clone(), person.clone());
            async move {
                for i in 0..PER_WRITER {
                    let action = if i % 2 == 0 { "grant" } else { "withdraw" };
                    recorded(app, &token, &person, "marketing_email", action).await;
                }
            }
        });
        let reader = async {
            let mut seen: Vec<Value> = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..100_000 {
                let path = match &cursor {
                    Some(after) => format!("/v1/consents/changes?limit=7&after={after}"),
                    None => "/v1/consents/changes?limit=7".to_owned(),
                };
                let page: Value = app.get(&path, &tenant.token).await.json().await.unwrap();
                let items = page["items"].as_array().unwrap();
                seen.extend(items.iter().cloned());
                cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
                if seen.len() >= total {
                    break;
                }
                if items.is_empty() {
                    actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            }
            (seen, cursor)
        };
        let (_, (seen, cursor)) = futures_util::future::join(futures_util::future::join_all(writers), reader).await;
        let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>(), "every event once, gapless, in commit order");
        let ids: BTreeSet<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), total);
        for person in &persons {
            let actions: Vec<&str> = seen.iter().filter(|e| e["person_id"] == person.as_str()).map(|e| e["action"].as_str().unwrap()).collect();
            let expected: Vec<&str> = (0..PER_WRITER).map(|i| if i % 2 == 0 { "grant" } else { "withdraw" }).collect();
            assert_eq!(actions, expected, "each writer's events in its order");
        }
        assert!(seen.iter().all(|e| e.get("ip_prefix").is_none() && e.get("user_agent").is_none()), "no proof in the feed");
        // At the end the cursor stays usable for polling.
        let end: Value = app.get(&format!("/v1/consents/changes?after={}", cursor.clone().unwrap()), &tenant.token).await.json().await.unwrap();
        assert!(end["items"].as_array().unwrap().is_empty());
        assert_eq!((end["has_more"].clone(), end["next_cursor"].clone()), (json!(false), json!(cursor.unwrap())));
        recorded(&app, &tenant.token, &persons[0], "analytics", "grant").await;
        let all: Value = app.get("/v1/consents/changes?limit=200&purpose=analytics", &tenant.token).await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 1);
        assert_eq!(all["items"][0]["seq"], total as i64 + 1);
        let marketing: Value = app.get("/v1/consents/changes?limit=200&purpose=marketing_email", &tenant.token).await.json().await.unwrap();
        assert_eq!(marketing["items"].as_array().unwrap().len(), total);
        for query in ["purpose=nope", "after=%21%21", "limit=0", "limit=201", "since=1"] {
            let response = app.get(&format!("/v1/consents/changes?{query}"), &tenant.token).await;
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        }
        app.state.usage.flush();
        let mut conn = app.conn();
        let pages = kluis_consent::usage::counted(&mut conn, &kluis_core::TenantId(tenant.id.clone()), &tenant.admin.client_id, kluis_consent::usage::Usage::Changes).unwrap();
        assert!(pages >= 4, "feed pages are counted: {pages}");
    }

    async fn purposes_start_with_the_defaults_and_never_name_a_special_category(app) {
        let tenant = app.new_tenant().await;
        let page: Value = app.get("/v1/purposes", &tenant.token).await.json().await.unwrap();
        let purposes = page["items"].as_array().unwrap();
        let bases: Vec<(&str, &str, bool)> = purposes.iter()
            .map(|p| (p["key"].as_str().unwrap(), p["legal_basis"].as_str().unwrap(), p["requires_consent"].as_bool().unwrap()))
            .collect();
        assert_eq!(bases, [
            ("account", "contract", false), ("analytics", "consent", true), ("event_sharing", "consent", true),
            ("invoicing", "legal_obligation", false), ("marketing_email", "consent", true), ("phone_contact", "consent", true),
            ("session_recording", "consent", true),
        ]);
        assert_eq!(purposes[5]["data_categories"], json!(["user.name", "user.contact.phone"]));
        assert_eq!(purposes[6]["retention"], "P30D");
        assert_eq!(audit_events(&app, &tenant, "purpose.create").await.len(), 7, "the defaults are recorded, by kluis");

        let good = json!({"key": "newsletter", "name": "Newsletter", "description": "Monthly news.", "legal_basis": "consent",
            "data_categories": ["user.name", "user.contact.email"], "retention": "P2Y"});
        let with = |field: &str, value: Value| { let mut body = good.clone(); body[field] = value; body };
        let cases = [
            (with("data_categories", json!(["user.name", "user.health"])), "data_categories[1]"),
            (with("data_categories", json!(["user.demographic.religious_belief"])), "data_categories[0]"),
            (with("data_categories", json!(["user.shoe_size"])), "data_categories[0]"),
            (with("data_categories", json!([])), "data_categories"),
            (with("retention", json!("2 years")), "retention"),
            (with("retention", json!("P")), "retention"),
            (with("key", json!("News Letter")), "key"),
            (with("legal_basis", json!("because")), "legal_basis"),
            (with("recipients", json!([kluis_core::new_id()])), "recipients[0]"),
            (with("name", json!("")), "name"),
            (with("description", json!("Card 4111 1111 1111 1111")), "description"),
        ];
        for (body, field) in cases {
            let response = app.post("/v1/purposes", &tenant.token, &body).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(field_names(&problem).contains(&field.to_owned()), "{body} should name {field}: {problem}");
        }
        let response = app.post("/v1/purposes", &tenant.token, &with("data_categories", json!(["user.health"]))).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("special category"));
        let stored: i64 = consent_purposes::table.filter(consent_purposes::tenant_id.eq(&tenant.id)).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(stored, 7, "nothing was stored");

        let response = app.post("/v1/purposes", &tenant.token, &good).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers().get("location").unwrap(), "/v1/purposes/newsletter");
        assert_problem(app.post("/v1/purposes", &tenant.token, &good).await, StatusCode::CONFLICT, "purpose_exists").await;
        let response = app.client.patch(app.url("/v1/purposes/newsletter")).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"legal_basis": "legitimate_interests", "data_categories": ["user.contact.email"]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let changed: Value = response.json().await.unwrap();
        assert_eq!((changed["requires_consent"].clone(), changed["version"].clone()), (json!(false), json!(2)));
        let response = app.client.patch(app.url("/v1/purposes/newsletter")).bearer_auth(&tenant.token).header("if-match", "\"1\"")
            .json(&json!({"name": "Stale"})).send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let response = app.patch("/v1/purposes/newsletter", &tenant.token, &json!({"data_categories": ["user.criminal_history"]})).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let updates = audit_events(&app, &tenant, "purpose.update").await;
        assert_eq!(updates[0]["fields"], json!(["legal_basis", "data_categories"]));

        let person = new_person(&app, &tenant).await;
        recorded(&app, &tenant.token, &person, "newsletter", "object").await;
        assert_eq!(check(&app, &tenant.token, &person, "newsletter").await["allowed"], false, "objected to a legitimate interest");
        assert_problem(app.delete("/v1/purposes/newsletter", &tenant.token).await, StatusCode::CONFLICT, "purpose_in_use").await;
        assert_eq!(app.delete("/v1/purposes/analytics", &tenant.token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.get("/v1/purposes/analytics", &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let page: Value = app.get("/v1/purposes?limit=3", &tenant.token).await.json().await.unwrap();
        let next: Value = app.get(&format!("/v1/purposes?limit=10&cursor={}", page["next_cursor"].as_str().unwrap()), &tenant.token).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len() + next["items"].as_array().unwrap().len(), 7, "a deleted default does not come back");
        assert_eq!(audit_events(&app, &tenant, "purpose.delete").await.len(), 1);
    }

    async fn recipients_outside_the_eea_need_a_transfer_mechanism_and_show_in_the_register(app) {
        let tenant = app.new_tenant().await;
        let response = app.post("/v1/recipients", &tenant.token, &json!({"name": "MailCloud Inc.", "role": "processor", "country": "US"})).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(field_names(&problem), ["transfer_mechanism"]);
        let response = app.post("/v1/recipients", &tenant.token, &json!({"name": "X", "role": "processor", "country": "XX"})).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["country"]);
        let response = app.post("/v1/recipients", &tenant.token, &json!({"name": "X", "role": "friend", "country": "NL"})).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["role"]);
        let stored: i64 = consent_recipients::table.filter(consent_recipients::tenant_id.eq(&tenant.id)).count().get_result(&mut *app.conn()).unwrap();
        assert_eq!(stored, 0, "nothing was stored");

        let response = app.post("/v1/recipients", &tenant.token,
            &json!({"name": "MailCloud Inc.", "role": "processor", "country": "US", "transfer_mechanism": "SCC"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let us: Value = response.json().await.unwrap();
        assert_eq!((us["in_eea"].clone(), us["transfer_mechanism"].clone()), (json!(false), json!("SCC")));
        let response = app.post("/v1/recipients", &tenant.token, &json!({"name": "Betaal B.V.", "role": "processor", "country": "nl"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let nl: Value = response.json().await.unwrap();
        assert_eq!((nl["in_eea"].clone(), nl["country"].clone()), (json!(true), json!("NL")));
        let norway: Value = app.post("/v1/recipients", &tenant.token, &json!({"name": "Fjord AS", "role": "controller", "country": "NO"})).await.json().await.unwrap();
        assert_eq!(norway["in_eea"], true, "the EEA, not only the EU");
        let us_id = us["id"].as_str().unwrap();
        let nl_id = nl["id"].as_str().unwrap();

        let response = app.patch(&format!("/v1/recipients/{nl_id}"), &tenant.token, &json!({"country": "GB"})).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["transfer_mechanism"]);
        let response = app.patch(&format!("/v1/recipients/{us_id}"), &tenant.token, &json!({"transfer_mechanism": null})).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["transfer_mechanism"]);
        let moved: Value = app.patch(&format!("/v1/recipients/{nl_id}"), &tenant.token, &json!({"country": "GB", "transfer_mechanism": "adequacy decision"})).await.json().await.unwrap();
        assert_eq!((moved["in_eea"].clone(), moved["version"].clone()), (json!(false), json!(2)));
        let moved: Value = app.patch(&format!("/v1/recipients/{nl_id}"), &tenant.token, &json!({"country": "NL", "transfer_mechanism": null})).await.json().await.unwrap();
        assert_eq!(moved["in_eea"], true);

        let body = json!({"key": "newsletter", "name": "Newsletter | monthly", "description": "Monthly news by e-mail.", "legal_basis": "consent",
            "data_categories": ["user.name", "user.contact.email"], "recipients": [us_id, nl_id], "retention": "P2Y"});
        let response = app.post("/v1/purposes", &tenant.token, &body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_problem(app.delete(&format!("/v1/recipients/{us_id}"), &tenant.token).await, StatusCode::CONFLICT, "recipient_in_use").await;
        assert_eq!(app.delete(&format!("/v1/recipients/{}", norway["id"].as_str().unwrap()), &tenant.token).await.status(), StatusCode::NO_CONTENT);

        let register: Value = app.get("/v1/register", &tenant.token).await.json().await.unwrap();
        assert_eq!(register["controller"], "Test tenant");
        assert_eq!(register["special_categories"], false);
        let newsletter = register["activities"].as_array().unwrap().iter().find(|a| a["purpose"] == "newsletter").unwrap().clone();
        assert_eq!(newsletter["legal_basis"], "consent");
        assert_eq!(newsletter["retention"], "P2Y");
        assert_eq!(newsletter["data_categories"][1], json!({"name": "user.contact.email", "fields": ["emails"]}));
        assert_eq!(newsletter["recipients"].as_array().unwrap().len(), 2);
        assert_eq!(newsletter["transfers"], json!([{"recipient_id": us_id, "name": "MailCloud Inc.", "country": "US", "transfer_mechanism": "SCC"}]));
        assert_eq!(register["transfers"].as_array().unwrap().len(), 1, "one transfer outside the EEA");
        assert_eq!(register["activities"].as_array().unwrap().len(), 8);

        let response = app.client.get(app.url("/v1/register")).bearer_auth(&tenant.token).header("accept", "text/markdown").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get("content-type").unwrap(), "text/markdown; charset=utf-8");
        let markdown = response.text().await.unwrap();
        assert!(markdown.starts_with("# Record of processing activities"));
        for purpose in register["activities"].as_array().unwrap() {
            let key = purpose["purpose"].as_str().unwrap();
            let row = markdown.lines().find(|l| l.starts_with('|') && l.contains(&format!("(`{key}`)"))).unwrap_or_else(|| panic!("{key} has a row"));
            assert!(row.contains(purpose["retention"].as_str().unwrap()), "{row}");
            for category in purpose["data_categories"].as_array().unwrap() {
                assert!(row.contains(&format!("`{}`", category["name"].as_str().unwrap())), "{row}");
            }
        }
        let row = markdown.lines().find(|l| l.contains("(`newsletter`)") && l.starts_with('|')).unwrap();
        assert!(row.contains("Newsletter \\| monthly"), "pipes are escaped: {row}");
        assert!(row.contains("Art. 6(1)(a) consent"));
        assert!(row.contains("MailCloud Inc. (processor; US, outside the EEA: SCC)"), "{row}");
        assert!(row.contains("Betaal B.V. (processor; NL, EEA)"), "{row}");
        assert!(markdown.lines().any(|l| l.contains("(`invoicing`)") && l.contains("Art. 6(1)(c) legal obligation")));
        let transfers = markdown.split("## Transfers outside the EEA").nth(1).unwrap();
        assert!(transfers.contains("- MailCloud Inc. (processor, US): SCC"));
        assert!(!transfers.contains("Betaal"));
        assert_eq!(audit_events(&app, &tenant, "recipient.create").await.len(), 3);
        assert_eq!(audit_events(&app, &tenant, "recipient.update").await[0]["fields"], json!(["country", "transfer_mechanism"]));
    }

    async fn policies_are_versioned_public_and_a_material_change_makes_reacceptance_due(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant).await;
        let public = |path: &str| app.client.get(app.url(&format!("/v1/public/{}/policies/{path}", tenant.slug))).send();
        assert_problem(public("privacy").await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;

        let response = app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "We keep little.\n\nVersion one."})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let v1: Value = response.json().await.unwrap();
        assert_eq!((v1["version"].clone(), v1["material"].clone(), v1["kind"].clone()), (json!(1), json!(false), json!("privacy")));
        assert!(v1["published_at"].is_string());
        let accept = |version: i64| app.client.post(app.url(&format!("/v1/people/{person}/acceptances"))).bearer_auth(&tenant.token)
            .header("user-agent", "kluis test").json(&json!({"kind": "privacy", "version": version, "source": "web"})).send();
        let response = accept(1).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let accepted: Value = response.json().await.unwrap();
        assert_eq!((accepted["version"].clone(), accepted["ip_prefix"].clone()), (json!(1), json!("127.0.0.0")));
        let list: Value = app.get(&format!("/v1/people/{person}/acceptances"), &tenant.token).await.json().await.unwrap();
        assert_eq!(list["reacceptance_due"], json!({"cookies": false, "privacy": false, "terms": false}));

        let v2: Value = app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "Version two.", "material": true})).await.json().await.unwrap();
        assert_eq!(v2["version"], 2);
        let list: Value = app.get(&format!("/v1/people/{person}/acceptances"), &tenant.token).await.json().await.unwrap();
        assert_eq!(list["reacceptance_due"]["privacy"], true, "a material change after their acceptance");
        let privacy = list["policies"].as_array().unwrap().iter().find(|p| p["kind"] == "privacy").unwrap().clone();
        assert_eq!((privacy["accepted_version"].clone(), privacy["current_version"].clone()), (json!(1), json!(2)));

        // Anyone can read the current and archived texts, without a token.
        let response = public("privacy").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("cache-control").unwrap().to_str().unwrap().starts_with("public"));
        let current: Value = response.json().await.unwrap();
        assert_eq!((current["version"].clone(), current["body"].clone()), (json!(2), json!("Version two.")));
        let archived: Value = public("privacy/versions/1").await.unwrap().json().await.unwrap();
        assert_eq!(archived["body"], "We keep little.\n\nVersion one.");
        let versions: Value = public("privacy/versions").await.unwrap().json().await.unwrap();
        let numbers: Vec<i64> = versions["items"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
        assert_eq!(numbers, [1, 2]);
        assert!(versions["items"][0].get("body").is_none(), "lists carry no texts");
        let listed: Value = app.get("/v1/policies/privacy/versions", &tenant.token).await.json().await.unwrap();
        assert_eq!(listed, versions);
        for path in ["privacy/versions/3", "privacy/versions/x", "terms", "imprint", "cookies/versions"] {
            let response = public(path).await.unwrap();
            if path == "cookies/versions" {
                assert_eq!(response.json::<Value>().await.unwrap()["items"], json!([]));
            } else {
                assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
            }
        }
        let unknown = app.client.get(app.url("/v1/public/no-such-tenant/policies/privacy")).send().await.unwrap();
        let other = app.new_tenant().await;
        let empty = app.client.get(app.url(&format!("/v1/public/{}/policies/privacy", other.slug))).send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(unknown.bytes().await.unwrap(), empty.bytes().await.unwrap(), "an unknown tenant looks like one without a policy");

        let problem = assert_problem(accept(3).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(field_names(&problem), ["version"]);
        let response = app.post(&format!("/v1/people/{person}/acceptances"), &tenant.token, &json!({"kind": "privacy", "version": 2, "source": "unsubscribe"})).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["source"]);
        let problem = assert_problem(app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "", "body": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(field_names(&problem), ["title"]);
        assert_eq!(accept(2).await.unwrap().status(), StatusCode::CREATED);
        app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "Typo fixed."})).await;
        let list: Value = app.get(&format!("/v1/people/{person}/acceptances"), &tenant.token).await.json().await.unwrap();
        assert_eq!(list["reacceptance_due"]["privacy"], false, "re-accepted; the later change is not material");
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert_eq!(audit_events(&app, &tenant, "policy.publish").await.len(), 3);
        let acceptances = audit_events(&app, &tenant, "acceptance.create").await;
        assert_eq!(acceptances.len(), 2);
        assert_eq!(acceptances[0]["fields"], json!(["kind", "version", "source"]));
    }

    async fn one_click_unsubscribe_works_once_and_refuses_altered_and_expired_links(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant).await;
        recorded(&app, &tenant.token, &person, "marketing_email", "grant").await;
        let response = app.get(&format!("/v1/people/{person}/unsubscribe-link?purpose=marketing_email"), &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link: Value = response.json().await.unwrap();
        let url = link["url"].as_str().unwrap().to_owned();
        let (base, token) = url.split_once("/v1/unsubscribe/").unwrap();
        assert_eq!(base, app.settings.public_url());
        let one_click = |token: String| app.client.post(app.url(&format!("/v1/unsubscribe/{token}")))
            .header("content-type", "application/x-www-form-urlencoded").body("List-Unsubscribe=One-Click").send();

        let mut altered = token.to_owned().into_bytes();
        altered[5] = if altered[5] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        let before = events_in(&app, &tenant);
        for bad in [altered, format!("{token}x"), "nonsense".to_owned(), kluis_core::new_id()] {
            assert_problem(one_click(bad).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_link").await;
        }
        let past = {
            let mut conn = app.conn();
            let expired = kluis_core::time::now() - time::Duration::days(1);
            kluis_consent::unsubscribe::issue(&mut conn, &kluis_core::TenantId(tenant.id.clone()), &kluis_core::PersonId(person.clone()), "marketing_email", expired).unwrap()
        };
        assert_problem(one_click(past).await.unwrap(), StatusCode::GONE, "link_expired").await;
        assert_eq!(events_in(&app, &tenant), before, "nothing recorded");
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["allowed"], true);

        let response = one_click(token.to_owned()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let done: Value = response.json().await.unwrap();
        assert_eq!((done["purpose"].clone(), done["action"].clone()), (json!("marketing_email"), json!("withdraw")));
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["allowed"], false);
        let history: Value = app.get(&format!("/v1/people/{person}/consents/history"), &tenant.token).await.json().await.unwrap();
        let last = history["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["source"].clone(), last["action"].clone(), last["actor_kind"].clone()), (json!("unsubscribe"), json!("withdraw"), json!("system")));
        assert_problem(one_click(token.to_owned()).await.unwrap(), StatusCode::GONE, "link_used").await;
        assert_eq!(events_in(&app, &tenant), before + 1, "recorded once");
        let withdrawals = audit_events(&app, &tenant, "consent.withdraw").await;
        assert_eq!((withdrawals.len(), withdrawals[0]["actor_id"].clone()), (1, json!("unsubscribe")));

        let response = app.get(&format!("/v1/people/{person}/unsubscribe-link?purpose=invoicing"), &tenant.token).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["purpose"]);
        let response = app.get(&format!("/v1/people/{}/unsubscribe-link?purpose=marketing_email", kluis_core::new_id()), &tenant.token).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(audit_events(&app, &tenant, "unsubscribe.link").await.len(), 1);
    }

    async fn erasing_a_person_removes_their_consents_acceptances_and_used_links(app) {
        let tenant = app.new_tenant().await;
        let person = new_person(&app, &tenant).await;
        let other = new_person(&app, &tenant).await;
        recorded(&app, &tenant.token, &person, "marketing_email", "grant").await;
        recorded(&app, &tenant.token, &other, "marketing_email", "grant").await;
        app.post("/v1/policies/terms/versions", &tenant.token, &json!({"title": "Terms", "body": "Be nice."})).await;
        let response = app.post(&format!("/v1/people/{person}/acceptances"), &tenant.token, &json!({"kind": "terms", "version": 1, "source": "app"})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let link: Value = app.get(&format!("/v1/people/{person}/unsubscribe-link?purpose=marketing_email"), &tenant.token).await.json().await.unwrap();
        let path = link["url"].as_str().unwrap().split_once("/v1/").unwrap().1.to_owned();
        assert_eq!(app.client.post(app.url(&format!("/v1/{path}"))).send().await.unwrap().status(), StatusCode::OK);

        let response = app.delete(&format!("/v1/people/{person}"), &tenant.token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let receipt: Value = response.json().await.unwrap();
        assert_eq!(receipt["rows"]["consent_events"], 2);
        assert_eq!(receipt["rows"]["consent_states"], 1);
        assert_eq!(receipt["rows"]["consent_acceptances"], 1);
        assert_eq!(receipt["rows"]["consent_unsubscribes"], 1);
        assert_eq!(events_in(&app, &tenant), 1, "only the other person's event is left");
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["allowed"], false);
        let feed: Value = app.get("/v1/consents/changes", &tenant.token).await.json().await.unwrap();
        assert!(feed["items"].as_array().unwrap().iter().all(|e| e["person_id"] == other.as_str()));
        // A used link of an erased person is simply gone.
        assert_problem(app.client.post(app.url(&format!("/v1/{path}"))).send().await.unwrap(), StatusCode::GONE, "link_gone").await;
        // Deleting the tenant takes all its consent data with it.
        let operator = app.operator_token().await;
        assert_eq!(app.delete(&format!("/v1/tenants/{}", tenant.id), &operator).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(events_in(&app, &tenant), 0);
    }

    async fn tenants_cannot_reach_each_others_consent_data_and_scopes_are_enforced(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let person = new_person(&app, &a).await;
        recorded(&app, &a.token, &person, "marketing_email", "grant").await;
        let recipient: Value = app.post("/v1/recipients", &a.token, &json!({"name": "Mail B.V.", "role": "processor", "country": "NL"})).await.json().await.unwrap();
        let recipient_id = recipient["id"].as_str().unwrap().to_owned();
        let purpose = json!({"key": "a_only", "name": "A only", "description": "A's own.", "legal_basis": "consent", "data_categories": ["user.name"], "retention": "P1Y"});
        assert_eq!(app.post("/v1/purposes", &a.token, &purpose).await.status(), StatusCode::CREATED);

        let pairs = [
            ("/v1/purposes/a_only".to_owned(), "/v1/purposes/not_there".to_owned()),
            (format!("/v1/recipients/{recipient_id}"), format!("/v1/recipients/{}", kluis_core::new_id())),
            (format!("/v1/people/{person}/consents"), format!("/v1/people/{}/consents", kluis_core::new_id())),
            (format!("/v1/people/{person}/consents/history"), format!("/v1/people/{}/consents/history", kluis_core::new_id())),
            (format!("/v1/people/{person}/acceptances"), format!("/v1/people/{}/acceptances", kluis_core::new_id())),
            (format!("/v1/people/{person}/unsubscribe-link?purpose=marketing_email"), format!("/v1/people/{}/unsubscribe-link?purpose=marketing_email", kluis_core::new_id())),
        ];
        for (foreign, absent) in pairs {
            let response = app.get(&foreign, &b.token).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{foreign}");
            assert_eq!(response.bytes().await.unwrap(), app.get(&absent, &b.token).await.bytes().await.unwrap(), "{foreign}");
        }
        for response in [
            record(&app, &b.token, &person, json!({"purpose": "marketing_email", "action": "withdraw", "source": "web"})).await,
            app.post(&format!("/v1/people/{person}/acceptances"), &b.token, &json!({"kind": "terms", "version": 1, "source": "web"})).await,
            app.patch("/v1/purposes/a_only", &b.token, &json!({"name": "Mine"})).await,
            app.delete("/v1/purposes/a_only", &b.token).await,
            app.patch(&format!("/v1/recipients/{recipient_id}"), &b.token, &json!({"name": "Mine"})).await,
            app.delete(&format!("/v1/recipients/{recipient_id}"), &b.token).await,
        ] {
            assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        }
        let response = app.post("/v1/purposes", &b.token, &json!({"key": "b_mail", "name": "B", "description": "B.", "legal_basis": "consent",
            "data_categories": ["user.name"], "recipients": [recipient_id], "retention": "P1Y"})).await;
        assert_eq!(field_names(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await), ["recipients[0]"]);
        assert_eq!(check(&app, &b.token, &person, "marketing_email").await["allowed"], false, "B learns nothing of A's person");
        let response = app.get(&format!("/v1/consents/check?person_id={person}&purpose=a_only"), &b.token).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let feed: Value = app.get("/v1/consents/changes", &b.token).await.json().await.unwrap();
        assert!(feed["items"].as_array().unwrap().is_empty());
        let register: Value = app.get("/v1/register", &b.token).await.json().await.unwrap();
        assert!(register["recipients"].as_array().unwrap().is_empty());
        assert_eq!(check(&app, &a.token, &person, "marketing_email").await["allowed"], true, "untouched");

        let reader = app.token(&app.new_client(&a, &["consent:read"]).await).await;
        for path in ["/v1/purposes", "/v1/recipients", "/v1/register", "/v1/consents/changes", "/v1/policies/privacy/versions",
            &format!("/v1/consents/check?person_id={person}&purpose=marketing_email"), &format!("/v1/people/{person}/consents")] {
            assert_eq!(app.get(path, &reader).await.status(), StatusCode::OK, "{path}");
        }
        for response in [
            record(&app, &reader, &person, json!({"purpose": "marketing_email", "action": "withdraw", "source": "web"})).await,
            app.post("/v1/purposes", &reader, &purpose).await,
            app.patch("/v1/purposes/a_only", &reader, &json!({"name": "X"})).await,
            app.delete("/v1/purposes/a_only", &reader).await,
            app.post("/v1/recipients", &reader, &json!({"name": "X", "role": "processor", "country": "NL"})).await,
            app.post("/v1/policies/privacy/versions", &reader, &json!({"title": "X", "body": "X"})).await,
            app.post(&format!("/v1/people/{person}/acceptances"), &reader, &json!({"kind": "terms", "version": 1, "source": "web"})).await,
        ] {
            assert_problem(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
        }
        let people_reader = app.token(&app.new_client(&a, &["people:read", "people:write"]).await).await;
        for path in ["/v1/purposes", "/v1/register", "/v1/consents/changes", &format!("/v1/consents/check?person_id={person}&purpose=marketing_email")] {
            assert_problem(app.get(path, &people_reader).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        }
        let response = app.post("/v1/consents/check", &people_reader, &json!({"checks": [{"person_id": person, "purpose": "marketing_email"}]})).await;
        assert_problem(response, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let operator = app.operator_token().await;
        assert_problem(app.get("/v1/register", &operator).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        let anonymous = app.client.get(app.url("/v1/consents/changes")).send().await.unwrap();
        assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;
    }
}
