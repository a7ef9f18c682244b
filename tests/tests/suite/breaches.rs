//! The breach register (issue 16, section 2): the 72-hour clock and the
//! overdue list, breaches at the platform recorded by the operator for
//! each tenant they reached (and no other), telling the people of a
//! high-risk breach in their language, and `breach.created` on webhooks.

use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::webhooks::Receiver;

/// `hours` ago, RFC 3339, whole seconds.
fn ago(hours: i64) -> String {
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - Duration::hours(hours);
    at.format(&Rfc3339).unwrap()
}

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

/// A response that must have `status`; its body.
async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

fn breach_body(detected_at: &str, risk: &str) -> Value {
    json!({
        "detected_at": detected_at,
        "description": "A laptop with the customer list was stolen from a car",
        "data_categories": ["user.name", "user.contact.email"],
        "people_affected": 120,
        "records_affected": 130,
        "consequences": "Phishing mails to the customers",
        "measures": "Laptop wiped remotely; passwords reset",
        "risk": risk,
    })
}

async fn new_breach(app: &TestApp, tenant: &Tenant, detected_at: &str, risk: &str) -> Value {
    expect(app.post("/v1/breaches", &tenant.token, &breach_body(detected_at, risk)).await, StatusCode::CREATED).await
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect()
}

/// Wait (up to 10 s) for a mail to `to` holding `needle`; it.
async fn mail_containing(app: &TestApp, to: &str, needle: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        if let Some(mail) = app.mails_to(to).into_iter().find(|m| m.contains(needle)) {
            return mail;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no mail to {to} with {needle}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn person(app: &TestApp, tenant: &Tenant, body: Value) -> String {
    expect(app.post("/v1/people", &tenant.token, &body).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

both_backends! {
    async fn the_report_is_due_72_hours_after_detection_and_the_overdue_ones_are_listed(app) {
        let tenant = app.new_tenant().await;
        let detected = ago(10);
        let fresh = new_breach(&app, &tenant, &detected, "risk").await;
        assert_eq!(fresh["source"], "tenant");
        assert_eq!(fresh["status"], "open");
        assert_eq!(fresh["overdue"], false);
        assert_eq!(fresh["data_categories"], json!(["user.name", "user.contact.email"]));
        assert_eq!(at(&fresh["detected_at"]), at(&json!(detected)));
        assert_eq!(at(&fresh["authority_due_at"]) - at(&fresh["detected_at"]), Duration::hours(72));
        let old = new_breach(&app, &tenant, &ago(80), "high_risk").await;
        assert_eq!(old["overdue"], true);
        assert_eq!(at(&old["authority_due_at"]) - at(&old["detected_at"]), Duration::hours(72));
        let explained = new_breach(&app, &tenant, &ago(100), "none").await;
        let (fresh_id, old_id, explained_id) =
            (fresh["id"].as_str().unwrap(), old["id"].as_str().unwrap(), explained["id"].as_str().unwrap());
        let reason = json!({"no_report_reason": "The data was encrypted; the key was not taken"});
        let explained = expect(app.patch(&format!("/v1/breaches/{explained_id}"), &tenant.token, &reason).await, StatusCode::OK).await;
        assert_eq!(explained["overdue"], false);

        // The overdue list: due, not reported, no reason recorded.
        let overdue = expect(app.get("/v1/breaches?overdue=true", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(ids(&overdue), [old_id]);
        let others = expect(app.get("/v1/breaches?overdue=false", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(ids(&others), [fresh_id, explained_id]);
        let high = expect(app.get("/v1/breaches?risk=high_risk&status=open", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(ids(&high), [old_id]);
        // Pages, as every list.
        let first = expect(app.get("/v1/breaches?limit=2", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(ids(&first), [fresh_id, old_id]);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = expect(app.get(&format!("/v1/breaches?limit=2&cursor={cursor}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(ids(&second), [explained_id]);
        assert_eq!(second["next_cursor"], Value::Null);

        // Reported: off the overdue list; closing needs a report or a reason.
        let path = format!("/v1/breaches/{old_id}");
        let problem = assert_problem(app.patch(&path, &tenant.token, &json!({"status": "closed"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "status");
        let reported = ago(1);
        let body = json!({"reported_to_authority_at": reported, "authority_reference": "AP-2026-123", "status": "closed"});
        let stale = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("If-Match", "\"7\"").json(&body).send().await.unwrap();
        assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let closed = app.client.patch(app.url(&path)).bearer_auth(&tenant.token).header("If-Match", "\"1\"").json(&body).send().await.unwrap();
        assert_eq!(closed.headers().get("etag").unwrap(), "\"2\"");
        let closed = expect(closed, StatusCode::OK).await;
        assert_eq!((&closed["status"], &closed["overdue"]), (&json!("closed"), &json!(false)));
        assert!(closed["closed_at"].is_string());
        assert_eq!(at(&closed["reported_to_authority_at"]), at(&json!(reported)));
        let overdue = expect(app.get("/v1/breaches?overdue=true", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(overdue["items"], json!([]));
        // Moving detection later moves the clock with it.
        let moved = expect(app.patch(&format!("/v1/breaches/{fresh_id}"), &tenant.token, &json!({"detected_at": ago(5)})).await, StatusCode::OK).await;
        assert_eq!(at(&moved["authority_due_at"]) - at(&moved["detected_at"]), Duration::hours(72));
        let read = expect(app.get(&format!("/v1/breaches/{fresh_id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(read["version"], 2);

        // Every change is audited, naming fields, never values.
        let page = expect(app.get("/v1/audit/events?action=breach.create", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        let page = expect(app.get("/v1/audit/events?action=breach.update", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        assert!(!page.to_string().contains("AP-2026-123"), "{page}");
    }

    async fn bad_breach_input_is_a_422_naming_the_field_and_records_nothing(app) {
        let tenant = app.new_tenant().await;
        let future = (OffsetDateTime::now_utc() + Duration::hours(2)).format(&Rfc3339).unwrap();
        let detected = ago(10);
        let cases = [
            (json!({"detected_at": future}), "detected_at"),
            (json!({"detected_at": "9999-12-31T23:59:59Z"}), "detected_at"),
            (json!({"data_categories": ["user.health"]}), "data_categories[0]"),
            (json!({"data_categories": ["user.name", "user.name"]}), "data_categories[1]"),
            (json!({"data_categories": []}), "data_categories"),
            (json!({"description": ""}), "description"),
            (json!({"description": "card 4111 1111 1111 1111 leaked"}), "description"),
            (json!({"risk": "catastrophic"}), "risk"),
            (json!({"people_affected": -1}), "people_affected"),
            (json!({"reported_to_authority_at": ago(20)}), "reported_to_authority_at"),
            (json!({"reported_to_authority_at": future}), "reported_to_authority_at"),
            (json!({"authority_due_at": ago(1)}), "authority_due_at"),
        ];
        for (change, field) in cases {
            let mut body = breach_body(&detected, "risk");
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let problem = assert_problem(app.post("/v1/breaches", &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{field}: {problem}");
        }
        let problem = assert_problem(app.post("/v1/breaches", &tenant.token, &json!({"description": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"].is_array(), "{problem}");
        let list = expect(app.get("/v1/breaches", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(list["items"], json!([]), "nothing recorded");
        let problem = assert_problem(app.get("/v1/breaches?overdue=yes", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "overdue");
        // A change keeps the rules, and loses nothing when refused.
        let breach = new_breach(&app, &tenant, &detected, "risk").await;
        let path = format!("/v1/breaches/{}", breach["id"].as_str().unwrap());
        for (body, field) in [
            (json!({"subjects_notified_at": ago(11)}), "subjects_notified_at"),
            (json!({"detected_at": future}), "detected_at"),
            (json!({"detected_at": "9999-12-31T23:59:59Z"}), "detected_at"),
            (json!({"no_report_reason": ""}), "no_report_reason"),
            (json!({"status": "closed"}), "status"),
        ] {
            let problem = assert_problem(app.patch(&path, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let reported = json!({"reported_to_authority_at": ago(2)});
        expect(app.patch(&path, &tenant.token, &reported).await, StatusCode::OK).await;
        let problem = assert_problem(app.patch(&path, &tenant.token, &json!({"detected_at": ago(1)})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "reported_to_authority_at", "a report before detection");
        let read = expect(app.get(&path, &tenant.token).await, StatusCode::OK).await;
        assert_eq!(read["version"], 2);
        assert_eq!(at(&read["detected_at"]), at(&json!(detected)));
    }

    async fn another_tenants_breach_is_404_and_scopes_are_checked(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let breach = new_breach(&app, &a, &ago(3), "high_risk").await;
        let path = format!("/v1/breaches/{}", breach["id"].as_str().unwrap());
        assert_problem(app.get(&path, &b.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.patch(&path, &b.token, &json!({"risk": "none"})).await, StatusCode::NOT_FOUND, "not_found").await;
        let notify = json!({"data_categories": ["user.contact.email"]});
        assert_problem(app.post(&format!("{path}/notify-subjects"), &b.token, &notify).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(expect(app.get("/v1/breaches", &b.token).await, StatusCode::OK).await["items"], json!([]));
        assert_eq!(expect(app.get(&path, &a.token).await, StatusCode::OK).await["risk"], "high_risk", "unchanged");
        // Scope: breaches:admin; the operator has its own route; no token.
        let reader = app.new_client(&a, &["people:read", "requests:admin"]).await;
        let reader = app.token(&reader).await;
        assert_problem(app.get("/v1/breaches", &reader).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.post("/v1/breaches", &reader, &breach_body(&ago(1), "risk")).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.patch(&path, &reader, &json!({})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let operator = app.operator_token().await;
        assert_problem(app.get("/v1/breaches", &operator).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        let platform = json!({"tenant_ids": [a.id], "breach": breach_body(&ago(1), "risk")});
        assert_problem(app.post("/v1/operator/breaches", &a.token, &platform).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.client.get(app.url("/v1/breaches")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "missing_token").await;
        let anonymous = app.client.post(app.url("/v1/operator/breaches")).json(&platform).send().await.unwrap();
        assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;
    }

    async fn a_platform_breach_lands_in_each_affected_register_and_mails_each_contact_and_no_other(app) {
        let operator = app.operator_token().await;
        let mut tenants = Vec::new();
        for contact in ["dpo@alpha.example", "privacy@beta.example", "dpo@gamma.example"] {
            let tenant = app.new_tenant().await;
            expect(app.patch("/v1/tenant", &tenant.token, &json!({"privacy_contact_email": contact})).await, StatusCode::OK).await;
            tenants.push((tenant, contact));
        }
        let quiet = app.new_tenant().await; // affected, but without a privacy contact
        let receiver = Receiver::start(&[]);
        let hook = json!({"url": receiver.url, "event_types": ["breach.created"]});
        expect(app.post("/v1/webhooks", &tenants[0].0.token, &hook).await, StatusCode::CREATED).await;
        let (alpha, beta, gamma) = (&tenants[0], &tenants[1], &tenants[2]);

        // Bad input and an unknown tenant: 422, nothing recorded anywhere.
        let body = |ids: Vec<&str>| json!({"tenant_ids": ids, "breach": breach_body(&ago(6), "high_risk")});
        let unknown = body(vec![alpha.0.id.as_str(), "0190a0a0-0000-7000-8000-000000000000"]);
        let problem = assert_problem(app.post("/v1/operator/breaches", &operator, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "tenant_ids[1]");
        for (ids, field) in [(vec![], "tenant_ids"), (vec![alpha.0.id.as_str(), alpha.0.id.as_str()], "tenant_ids[1]"), (vec!["nope"], "tenant_ids[0]")] {
            let problem = assert_problem(app.post("/v1/operator/breaches", &operator, &body(ids)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let mut bad = body(vec![alpha.0.id.as_str()]);
        bad["breach"]["data_categories"] = json!(["user.religion"]);
        let problem = assert_problem(app.post("/v1/operator/breaches", &operator, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(problem["errors"][0]["field"].as_str().unwrap().contains("data_categories"), "{problem}");
        assert_eq!(expect(app.get("/v1/breaches", &alpha.0.token).await, StatusCode::OK).await["items"], json!([]));

        let recorded = expect(app.post("/v1/operator/breaches", &operator, &body(vec![&alpha.0.id, &beta.0.id, &quiet.id])).await, StatusCode::CREATED).await;
        let platform_ref = recorded["platform_ref"].as_str().unwrap().to_owned();
        let landed = recorded["tenants"].as_array().unwrap();
        assert_eq!(landed.len(), 3);
        // The operator gets ids back, not the tenants' contacts.
        assert!(!recorded.to_string().contains("@"), "{recorded}");
        for ((tenant, contact), entry) in [alpha, beta].into_iter().zip(landed) {
            assert_eq!(entry["tenant_id"], tenant.id.as_str());
            assert_eq!(entry["contact_mailed"], true);
            let id = entry["breach_id"].as_str().unwrap();
            let register = expect(app.get("/v1/breaches", &tenant.token).await, StatusCode::OK).await;
            assert_eq!(ids(&register), [id]);
            let breach = &register["items"][0];
            assert_eq!((&breach["source"], &breach["platform_ref"]), (&json!("platform"), &json!(platform_ref)));
            assert_eq!(at(&breach["authority_due_at"]) - at(&breach["detected_at"]), Duration::hours(72));
            assert_eq!(breach["risk"], "high_risk");
            let mail = mail_containing(&app, contact, id).await;
            assert!(mail.contains("Datalek") && mail.contains("breach register"), "EN and NL: {mail}");
            // Audited in the tenant's own log, by the operator.
            let audit = expect(app.get("/v1/audit/events?action=breach.create", &tenant.token).await, StatusCode::OK).await;
            assert_eq!(audit["items"].as_array().unwrap().len(), 1);
            assert_eq!(audit["items"][0]["actor_kind"], "operator");
        }
        assert_eq!(landed[2]["tenant_id"], quiet.id.as_str());
        assert_eq!(landed[2]["contact_mailed"], false);
        assert_eq!(expect(app.get("/v1/breaches", &quiet.token).await, StatusCode::OK).await["items"].as_array().unwrap().len(), 1);
        // Not in any other tenant's register, and its contact is not mailed.
        assert_eq!(expect(app.get("/v1/breaches", &gamma.0.token).await, StatusCode::OK).await["items"], json!([]));
        let beta_breach = landed[1]["breach_id"].as_str().unwrap();
        assert_problem(app.get(&format!("/v1/breaches/{beta_breach}"), &alpha.0.token).await, StatusCode::NOT_FOUND, "not_found").await;
        // The webhook of the affected tenant gets `breach.created`, ids and the clock only.
        let got = receiver.wait_for(1).await;
        let event: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(event["type"], "breach.created");
        assert_eq!(event["data"]["breach_id"], landed[0]["breach_id"]);
        assert_eq!((&event["data"]["source"], &event["data"]["risk"]), (&json!("platform"), &json!("high_risk")));
        assert!(event["data"]["authority_due_at"].is_string());
        assert!(!got[0].body.contains("laptop"), "{}", got[0].body);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(app.mails_to(gamma.1).is_empty(), "an unaffected tenant's contact is not mailed");
    }

    async fn a_tenants_own_breach_is_a_breach_created_event(app) {
        let tenant = app.new_tenant().await;
        let receiver = Receiver::start(&[]);
        let hook = json!({"url": receiver.url, "event_types": ["breach.created"]});
        expect(app.post("/v1/webhooks", &tenant.token, &hook).await, StatusCode::CREATED).await;
        let breach = new_breach(&app, &tenant, &ago(2), "risk").await;
        let got = receiver.wait_for(1).await;
        let event: Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(event["type"], "breach.created");
        assert_eq!(event["data"], json!({
            "breach_id": breach["id"], "source": "tenant", "risk": "risk",
            "detected_at": breach["detected_at"], "authority_due_at": breach["authority_due_at"],
        }));
    }

    async fn notify_subjects_mails_the_selected_people_in_their_language_once(app) {
        let tenant = app.new_tenant().await;
        expect(app.patch("/v1/tenant", &tenant.token, &json!({"privacy_contact_email": "fg@notify.example"})).await, StatusCode::OK).await;
        let anouk = person(&app, &tenant, json!({"first_name": "Anouk", "language": "nl", "emails": [{"address": "anouk@notify.example", "label": "private"}]})).await;
        let brian = person(&app, &tenant, json!({"first_name": "Brian", "language": "en", "emails": [{"address": "brian@notify.example", "label": "work"}]})).await;
        let phone_only = person(&app, &tenant, json!({"first_name": "Cees", "phones": [{"number": "+31612345678", "label": "private"}]})).await;
        let breach = new_breach(&app, &tenant, &ago(4), "risk").await;
        let path = format!("/v1/breaches/{}/notify-subjects", breach["id"].as_str().unwrap());
        let by_category = json!({"data_categories": ["user.contact.email"]});
        // Only a high-risk breach is told to the people (Art. 34).
        assert_problem(app.post(&path, &tenant.token, &by_category).await, StatusCode::CONFLICT, "breach_not_high_risk").await;
        expect(app.patch(&format!("/v1/breaches/{}", breach["id"].as_str().unwrap()), &tenant.token, &json!({"risk": "high_risk"})).await, StatusCode::OK).await;
        // Bad selections.
        let other = app.new_tenant().await;
        let stranger = person(&app, &other, json!({"first_name": "Dirk", "emails": [{"address": "dirk@notify.example", "label": "private"}]})).await;
        for (body, field) in [
            (json!({}), "person_ids"),
            (json!({"person_ids": ["not-an-id"]}), "person_ids[0]"),
            (json!({"person_ids": [stranger]}), "person_ids[0]"),
            (json!({"data_categories": ["user.health"]}), "data_categories[0]"),
        ] {
            let problem = assert_problem(app.post(&path, &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }

        let told = expect(app.post(&path, &tenant.token, &by_category).await, StatusCode::OK).await;
        assert_eq!((&told["selected"], &told["notified"], &told["already_notified"], &told["unreachable"]), (&json!(2), &json!(2), &json!(0), &json!(0)), "{told}");
        assert_eq!(told["breach"]["subjects_notified"], 2);
        assert!(told["breach"]["subjects_notified_at"].is_string());
        let dutch = mail_containing(&app, "anouk@notify.example", "datalek").await;
        assert!(dutch.contains("Mogelijke gevolgen: Phishing mails") && dutch.contains("fg@notify.example"), "{dutch}");
        let english = mail_containing(&app, "brian@notify.example", "data breach").await;
        assert!(english.contains("Likely consequences: Phishing mails") && english.contains("Write to fg@notify.example"), "{english}");
        assert!(app.mails_to("dirk@notify.example").is_empty(), "another tenant's person is not told");

        // Once each: a second round tells only whom it has not told, and counts who has no address.
        let again = json!({"person_ids": [anouk, phone_only]});
        let told = expect(app.post(&path, &tenant.token, &again).await, StatusCode::OK).await;
        assert_eq!((&told["selected"], &told["notified"], &told["already_notified"], &told["unreachable"]), (&json!(2), &json!(0), &json!(1), &json!(1)), "{told}");
        assert_eq!(told["breach"]["subjects_notified"], 2);
        assert_eq!(app.mails_to("anouk@notify.example").len(), 1);
        let audit = expect(app.get("/v1/audit/events?action=breach.notify", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 2);
        // A retry with the same Idempotency-Key replays the first answer and does nothing again.
        let retry = || app.client.post(app.url(&path)).bearer_auth(&tenant.token).header("Idempotency-Key", "notify-1")
            .json(&json!({"person_ids": [brian]})).send();
        let first = retry().await.unwrap();
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first = expect(first, StatusCode::OK).await;
        let second = retry().await.unwrap();
        assert_eq!(second.headers().get("idempotent-replayed").unwrap(), "true");
        assert_eq!(expect(second, StatusCode::OK).await, first);
        let audit = expect(app.get("/v1/audit/events?action=breach.notify", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(audit["items"].as_array().unwrap().len(), 3, "the replay ran nothing");
        assert_eq!(app.mails_to("brian@notify.example").len(), 1);

        // Being told is the person's data: in their export, gone with their erasure.
        let export = expect(app.get(&format!("/v1/people/{anouk}/export"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(export["data"]["breach_notifications"][0]["breach_id"], breach["id"], "{export}");
        let receipt = expect(app.delete(&format!("/v1/people/{anouk}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(receipt["rows"]["breach_notifications"], 1, "{receipt}");
        let read = expect(app.get(&format!("/v1/breaches/{}", breach["id"].as_str().unwrap()), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(read["subjects_notified"], 2, "the breach keeps its count");
    }
}
