//! Processors (issue 17, sections 1 and 2): purpose-bound reads of people,
//! client purposes that must exist, Global Privacy Control, and the people
//! changes feed.

use std::time::{Duration, Instant};

use kluis_tests::{Credentials, StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

use crate::lifecycle::{ERASURE_NOTICE, signed_in, text_columns_holding};

/// POST/GET/... that must answer `status`; the body.
async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// A person with every profile field and a contact of each kind; their id.
async fn full_person(app: &TestApp, tenant: &Tenant, first_name: &str, email: &str) -> String {
    let body = json!({
        "salutation": "Mevr.", "first_name": first_name, "last_name": "Jansen", "nickname": "Jo",
        "date_of_birth": "1985-06-01", "language": "nl", "company_name": "Jansen B.V.", "coc_number": "12345678",
        "emails": [{"address": email, "label": "work"}],
        "phones": [{"number": "+31612345678", "label": "private"}],
        "addresses": [{"street": "Kerkstraat", "house_number": "2", "postal_code": "1234 AB", "city": "Utrecht", "country": "NL", "label": "private"}],
        "websites": [{"url": "https://jansen.example", "label": "work"}],
    });
    let person = expect(app.post("/v1/people", &tenant.token, &body).await, StatusCode::CREATED).await;
    person["id"].as_str().unwrap().to_owned()
}

async fn consent(app: &TestApp, tenant: &Tenant, person: &str, purpose: &str, action: &str) {
    let body = json!({"purpose": purpose, "action": action, "source": "web"});
    expect(app.post(&format!("/v1/people/{person}/consents"), &tenant.token, &body).await, StatusCode::CREATED).await;
}

/// A client bound to `purposes` with `scopes`; its token.
async fn processor(app: &TestApp, tenant: &Tenant, scopes: &[&str], purposes: &[&str]) -> String {
    let body = json!({"name": "event organiser", "scopes": scopes, "purposes": purposes});
    let made = expect(app.post("/v1/clients", &tenant.token, &body).await, StatusCode::CREATED).await;
    let creds = Credentials {
        client_id: made["client_id"].as_str().unwrap().to_owned(),
        client_secret: made["client_secret"].as_str().unwrap().to_owned(),
    };
    app.token(&creds).await
}

/// The status and exact bytes of a response.
async fn raw(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The 404 a random id gets: what every person a processor may not see must get too.
async fn absent(app: &TestApp, path: impl Fn(&str) -> String, token: &str) -> (StatusCode, String) {
    let (status, body) = raw(app.get(&path(&kluis_core::new_id()), token).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    (status, body)
}

/// The person fields of the view (those a purpose must cover).
const PERSON_FIELDS: [&str; 13] = [
    "salutation",
    "first_name",
    "last_name",
    "nickname",
    "date_of_birth",
    "language",
    "company_name",
    "coc_number",
    "vat_number",
    "emails",
    "phones",
    "addresses",
    "websites",
];

/// What `event_sharing` covers: user.name, user.contact.email, user.business.
const EVENT_SHARING: [&str; 8] =
    ["salutation", "first_name", "last_name", "nickname", "company_name", "coc_number", "vat_number", "emails"];

fn shown_fields(person: &Value) -> Vec<&str> {
    PERSON_FIELDS.into_iter().filter(|f| person.get(*f).is_some()).collect()
}

/// The tenant's audit entries, waiting (up to 10 s) until `pred` holds for one.
async fn audit_entry(app: &TestApp, tenant: &Tenant, pred: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let page: Value = app.get("/v1/audit/events?limit=200", &tenant.token).await.json().await.unwrap();
        if let Some(entry) = page["items"].as_array().unwrap().iter().find(|e| pred(e)) {
            return entry.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no such audit entry");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A person's ledger events, oldest first.
async fn history(app: &TestApp, tenant: &Tenant, person: &str) -> Vec<Value> {
    let url = format!("/v1/people/{person}/consents/history?limit=200");
    expect(app.get(&url, &tenant.token).await, StatusCode::OK).await["items"].as_array().unwrap().clone()
}

/// Every item of the people feed from the start, `limit` at a time.
async fn whole_feed(app: &TestApp, token: &str, limit: i64) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(cursor) => format!("/v1/people/changes?limit={limit}&after={cursor}"),
            None => format!("/v1/people/changes?limit={limit}"),
        };
        let page = expect(app.get(&query, token).await, StatusCode::OK).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        after = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            return items;
        }
    }
}

both_backends! {
    async fn a_processor_sees_only_the_covered_fields_of_consented_people(app) {
        let tenant = app.new_tenant().await;
        let consented = full_person(&app, &tenant, "Anna", "anna@proc.example").await;
        let silent = full_person(&app, &tenant, "Bert", "bert@proc.example").await;
        let restricted = full_person(&app, &tenant, "Carla", "carla@proc.example").await;
        consent(&app, &tenant, &consented, "event_sharing", "grant").await;
        consent(&app, &tenant, &restricted, "event_sharing", "grant").await;
        let body = json!({"reason": "The person contests the accuracy of their data"});
        let url = format!("/v1/people/{restricted}/restriction");
        let response = app.client.put(app.url(&url)).bearer_auth(&tenant.token).json(&body).send().await.unwrap();
        expect(response, StatusCode::CREATED).await;
        let token = processor(&app, &tenant, &["people:read"], &["event_sharing"]).await;

        // The consented person: only what event_sharing covers.
        let read = expect(app.get(&format!("/v1/people/{consented}"), &token).await, StatusCode::OK).await;
        assert_eq!(shown_fields(&read), EVENT_SHARING, "{read}");
        assert_eq!(read["first_name"], "Anna");
        assert_eq!(read["emails"][0]["address"], "anna@proc.example");
        assert_eq!(read["id"], consented.as_str());
        let text = read.to_string();
        for hidden in ["+31612345678", "Kerkstraat", "1985-06-01", "jansen.example"] {
            assert!(!text.contains(hidden), "{hidden} leaked: {text}");
        }
        // The tenant's own tools (no purposes) still see everything.
        let whole = expect(app.get(&format!("/v1/people/{consented}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(shown_fields(&whole), PERSON_FIELDS);

        // No consent, or restricted: exactly the 404 of an id that never existed.
        let person_path = |id: &str| format!("/v1/people/{id}");
        let nobody = absent(&app, person_path, &token).await;
        for id in [&silent, &restricted] {
            assert_eq!(raw(app.get(&person_path(id), &token).await).await, nobody, "{id}");
        }
        let export_path = |id: &str| format!("/v1/people/{id}/export");
        let no_export = absent(&app, export_path, &token).await;
        for id in [&silent, &restricted] {
            assert_eq!(raw(app.get(&export_path(id), &token).await).await, no_export, "{id}");
        }

        // Contacts as their own resources: only the kinds covered, only of people allowed.
        let emails = expect(app.get(&format!("/v1/people/{consented}/emails"), &token).await, StatusCode::OK).await;
        assert_eq!(emails["items"][0]["address"], "anna@proc.example", "{emails}");
        let phones_path = |id: &str| format!("/v1/people/{id}/phones");
        let no_phones = absent(&app, phones_path, &token).await;
        assert_eq!(raw(app.get(&phones_path(&consented), &token).await).await, no_phones);
        let emails_path = |id: &str| format!("/v1/people/{id}/emails");
        let no_emails = absent(&app, emails_path, &token).await;
        for id in [&silent, &restricted] {
            assert_eq!(raw(app.get(&emails_path(id), &token).await).await, no_emails, "{id}");
        }

        // References: registered only to people it may read; listed only through a purpose covering them.
        let reference = json!({"app": "events", "external_ref": "guest-1"});
        let refs_path = |id: &str| format!("/v1/people/{id}/references");
        expect(app.post(&refs_path(&consented), &token, &reference).await, StatusCode::CREATED).await;
        let (status, body) = raw(app.post(&refs_path(&kluis_core::new_id()), &token, &reference).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(raw(app.post(&refs_path(&silent), &token, &reference).await).await, (status, body));
        let no_refs = absent(&app, refs_path, &token).await;
        assert_eq!(raw(app.get(&refs_path(&consented), &token).await).await, no_refs, "event_sharing covers no user.reference");
        let held = expect(app.get(&refs_path(&consented), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(held["items"].as_array().unwrap().len(), 1, "{held}");

        // The list holds only the consented person, masked alike.
        let list = expect(app.get("/v1/people?limit=200", &token).await, StatusCode::OK).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{list}");
        assert_eq!(items[0]["id"], consented.as_str());
        assert_eq!(shown_fields(&items[0]), EVENT_SHARING);
        let everyone = expect(app.get("/v1/people?limit=200", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(everyone["items"].as_array().unwrap().len(), 3);

        // The export to it: the covered fields and contact tables only.
        let export = expect(app.get(&export_path(&consented), &token).await, StatusCode::OK).await;
        assert_eq!(export["purpose"], "event_sharing");
        let profile = &export["data"]["people"][0];
        assert_eq!(profile["first_name"], "Anna");
        assert!(profile.get("date_of_birth").is_none() && profile.get("language").is_none(), "{export}");
        assert_eq!(export["data"]["person_emails"][0]["address"], "anna@proc.example");
        let tables: Vec<&String> = export["data"].as_object().unwrap().keys().collect();
        assert_eq!(tables, ["people", "person_emails"], "{export}");

        // Each read is audited with the purpose that allowed it and the fields shown.
        let entry = audit_entry(&app, &tenant, |e| {
            e["action"] == "person.read" && e["purpose"] == "event_sharing" && e["target_kind"] == "person"
        })
        .await;
        let fields: Vec<&str> = entry["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(fields, EVENT_SHARING);
        audit_entry(&app, &tenant, |e| e["action"] == "person.export" && e["purpose"] == "event_sharing").await;
        audit_entry(&app, &tenant, |e| e["action"] == "person.read" && e["target_kind"] == "email" && e["purpose"] == "event_sharing").await;

        // Withdrawing consent removes access at once.
        consent(&app, &tenant, &consented, "event_sharing", "withdraw").await;
        assert_eq!(raw(app.get(&person_path(&consented), &token).await).await, nobody);
        let list = expect(app.get("/v1/people?limit=200", &token).await, StatusCode::OK).await;
        assert!(list["items"].as_array().unwrap().is_empty(), "{list}");

        // A purpose on another basis: allowed until an objection stands.
        let body = json!({"key": "customer_survey", "name": "Survey", "description": "Asking how we did.",
                          "legal_basis": "legitimate_interests", "data_categories": ["user.contact.phone"], "retention": "P1Y"});
        expect(app.post("/v1/purposes", &tenant.token, &body).await, StatusCode::CREATED).await;
        let surveyor = processor(&app, &tenant, &["people:read"], &["customer_survey"]).await;
        let read = expect(app.get(&person_path(&silent), &surveyor).await, StatusCode::OK).await;
        assert_eq!(shown_fields(&read), ["phones"]);
        consent(&app, &tenant, &silent, "customer_survey", "object").await;
        assert_eq!(raw(app.get(&person_path(&silent), &surveyor).await).await, absent(&app, person_path, &surveyor).await);
        // Never a restricted person, whatever the basis.
        assert_eq!(raw(app.get(&person_path(&restricted), &surveyor).await).await, absent(&app, person_path, &surveyor).await);
    }

    async fn a_processor_of_another_tenant_or_without_the_scope_gets_nothing(app) {
        let tenant = app.new_tenant().await;
        let person = full_person(&app, &tenant, "Dirk", "dirk@proc.example").await;
        consent(&app, &tenant, &person, "event_sharing", "grant").await;
        let other = app.new_tenant().await;
        let foreign = processor(&app, &other, &["people:read"], &["event_sharing"]).await;
        let person_path = |id: &str| format!("/v1/people/{id}");
        let nobody = absent(&app, person_path, &foreign).await;
        assert_eq!(raw(app.get(&person_path(&person), &foreign).await).await, nobody);
        let feed = expect(app.get("/v1/people/changes", &foreign).await, StatusCode::OK).await;
        assert!(feed["items"].as_array().unwrap().is_empty(), "{feed}");
        let feed = expect(app.get("/v1/people/changes", &other.token).await, StatusCode::OK).await;
        assert!(feed["items"].as_array().unwrap().is_empty(), "another tenant's feed is its own: {feed}");

        let unscoped = processor(&app, &tenant, &["consent:read"], &["event_sharing"]).await;
        assert_problem(app.get(&person_path(&person), &unscoped).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get("/v1/people/changes", &unscoped).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let response = app.client.get(app.url("/v1/people/changes")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_client_names_only_purposes_of_its_tenant(app) {
        let tenant = app.new_tenant().await;
        let body = json!({"name": "organiser", "scopes": ["people:read"], "purposes": ["nonexistent"]});
        let problem = assert_problem(app.post("/v1/clients", &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "purposes[0]");
        let list = expect(app.get("/v1/clients", &tenant.token).await, StatusCode::OK).await;
        assert!(list["items"].as_array().unwrap().iter().all(|c| c["name"] != "organiser"), "nothing stored");

        let body = json!({"name": "organiser", "scopes": ["people:read"], "purposes": ["event_sharing"]});
        let made = expect(app.post("/v1/clients", &tenant.token, &body).await, StatusCode::CREATED).await;
        let id = made["client_id"].as_str().unwrap();
        let patch = json!({"purposes": ["event_sharing", "nope"]});
        let problem = assert_problem(app.patch(&format!("/v1/clients/{id}"), &tenant.token, &patch).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "purposes[1]");
        let kept = expect(app.get(&format!("/v1/clients/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(kept["purposes"], json!(["event_sharing"]));
        // Another tenant's purpose key is no purpose of this one.
        let other = app.new_tenant().await;
        let body = json!({"key": "only_there", "name": "Only there", "description": "One tenant's purpose.",
                          "legal_basis": "consent", "data_categories": ["user.name"], "retention": "P1Y"});
        expect(app.post("/v1/purposes", &other.token, &body).await, StatusCode::CREATED).await;
        let patch = json!({"purposes": ["only_there"]});
        assert_problem(app.patch(&format!("/v1/clients/{id}"), &tenant.token, &patch).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn global_privacy_control_records_an_objection_once_with_source_gpc(app) {
        let tenant = app.new_tenant().await;
        let marked = expect(app.patch("/v1/purposes/event_sharing", &tenant.token, &json!({"gpc": true})).await, StatusCode::OK).await;
        assert_eq!(marked["gpc"], true);
        let listed = expect(app.get("/v1/purposes/marketing_email", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(listed["gpc"], false, "false by default");
        assert_problem(app.patch("/v1/purposes/event_sharing", &tenant.token, &json!({"gpc": "yes"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let (person, session) = signed_in(&app, &tenant, "gpc@proc.example", "en").await;
        consent(&app, &tenant, &person, "event_sharing", "grant").await;

        // Without the signal nothing happens.
        expect(app.get("/v1/me", &session).await, StatusCode::OK).await;
        assert_eq!(history(&app, &tenant, &person).await.len(), 1);
        for _ in 0..3 {
            let response = app.client.get(app.url("/v1/me")).bearer_auth(&session).header("Sec-GPC", "1").send().await.unwrap();
            expect(response, StatusCode::OK).await;
        }
        let events = history(&app, &tenant, &person).await;
        let gpc: Vec<&Value> = events.iter().filter(|e| e["source"] == "gpc").collect();
        assert_eq!(gpc.len(), 1, "once, however many requests: {events:?}");
        assert_eq!((gpc[0]["purpose"].clone(), gpc[0]["action"].clone()), (json!("event_sharing"), json!("object")));
        let check = expect(app.get(&format!("/v1/consents/check?person_id={person}&purpose=event_sharing"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(check["allowed"], false);
        let unmarked = expect(app.get(&format!("/v1/consents/check?person_id={person}&purpose=marketing_email"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(unmarked["basis"], "consent");
        assert!(events.iter().all(|e| e["purpose"] != "marketing_email"), "only purposes marked gpc");
        audit_entry(&app, &tenant, |e| e["action"] == "consent.object" && e["purpose"] == "event_sharing").await;

        // The person's own later choice outranks the browser's standing signal.
        let response = app.client.put(app.url("/v1/me/consents/event_sharing")).bearer_auth(&session).json(&json!({"action": "grant"})).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
        let response = app.client.get(app.url("/v1/me")).bearer_auth(&session).header("Sec-GPC", "1").send().await.unwrap();
        expect(response, StatusCode::OK).await;
        assert_eq!(history(&app, &tenant, &person).await.iter().filter(|e| e["source"] == "gpc").count(), 1);

        // A public consent call: an unsubscribe link followed with the signal.
        let other = full_person(&app, &tenant, "Eva", "eva@proc.example").await;
        let link = expect(app.get(&format!("/v1/people/{other}/unsubscribe-link?purpose=marketing_email"), &tenant.token).await, StatusCode::OK).await;
        let url = link["url"].as_str().unwrap();
        let path = &url[url.find("/v1/unsubscribe/").unwrap()..];
        let response = app.client.post(app.url(path)).header("Sec-GPC", "1").send().await.unwrap();
        expect(response, StatusCode::OK).await;
        let url = format!("/v1/people/{other}/consents/history?limit=200");
        let events = expect(app.get(&url, &tenant.token).await, StatusCode::OK).await["items"].as_array().unwrap().clone();
        let sources: Vec<(&str, &str)> = events.iter().map(|e| (e["purpose"].as_str().unwrap(), e["source"].as_str().unwrap())).collect();
        assert_eq!(sources, [("marketing_email", "unsubscribe"), ("event_sharing", "gpc")]);
    }

    async fn the_people_feed_is_ordered_gapless_filtered_and_carries_no_values(app) {
        let tenant = app.new_tenant().await;
        let shared = full_person(&app, &tenant, "Femke", "femke@proc.example").await;
        let private = full_person(&app, &tenant, "Gijs", "gijs@proc.example").await;
        consent(&app, &tenant, &shared, "event_sharing", "grant").await;
        let person = |id: &str| format!("/v1/people/{id}");
        expect(app.patch(&person(&shared), &tenant.token, &json!({"first_name": "Femmy", "date_of_birth": "1986-01-02"})).await, StatusCode::OK).await;
        expect(app.patch(&person(&shared), &tenant.token, &json!({"language": "en"})).await, StatusCode::OK).await;
        expect(app.post(&format!("/v1/people/{shared}/phones"), &tenant.token, &json!({"number": "+31687654321", "label": "work"})).await, StatusCode::CREATED).await;
        expect(app.patch(&person(&private), &tenant.token, &json!({"last_name": "de Boer"})).await, StatusCode::OK).await;

        // The tenant's own view: every change, in order, gapless, in pages.
        let all = whole_feed(&app, &tenant.token, 2).await;
        let seqs: Vec<i64> = all.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>(), "{all:?}");
        let kinds: Vec<(&str, &str)> = all.iter().map(|c| (c["type"].as_str().unwrap(), c["person_id"].as_str().unwrap())).collect();
        assert_eq!(kinds, [
            ("person.created", shared.as_str()), ("person.created", private.as_str()),
            ("person.updated", shared.as_str()), ("person.updated", shared.as_str()),
            ("person.updated", shared.as_str()), ("person.updated", private.as_str()),
        ]);
        assert_eq!(all[2]["fields"], json!(["first_name", "date_of_birth"]));
        assert_eq!(all[4]["fields"], json!(["phones"]));
        let text = serde_json::to_string(&all).unwrap();
        for value in ["Femke", "Femmy", "femke@proc.example", "1986-01-02", "+31687654321", "de Boer", "Jansen"] {
            assert!(!text.contains(value), "the feed carries no values: {value} in {text}");
        }
        // Polling at the end answers nothing new and the same cursor.
        let end = expect(app.get("/v1/people/changes?limit=200", &tenant.token).await, StatusCode::OK).await;
        let cursor = end["next_cursor"].as_str().unwrap().to_owned();
        let after_end = expect(app.get(&format!("/v1/people/changes?after={cursor}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!((after_end["items"].clone(), after_end["next_cursor"].clone(), after_end["has_more"].clone()), (json!([]), json!(cursor), json!(false)));

        // A processor: only the consented person, only field names it may see.
        let token = processor(&app, &tenant, &["people:read"], &["event_sharing"]).await;
        let seen = whole_feed(&app, &token, 1).await;
        let summary: Vec<(i64, &str, Value)> = seen.iter().map(|c| (c["seq"].as_i64().unwrap(), c["type"].as_str().unwrap(), c["fields"].clone())).collect();
        // Created with every field but a VAT number: the names it may see of those.
        let created: Vec<&str> = EVENT_SHARING.into_iter().filter(|f| *f != "vat_number").collect();
        assert_eq!(summary, [
            (1, "person.created", json!(created)),
            (3, "person.updated", json!(["first_name"])),
        ], "{seen:?}");
        assert!(seen.iter().all(|c| c["person_id"] == shared.as_str()));

        // Erasure: the person's earlier changes go, `person.erased` tells the processor.
        expect(app.delete(&person(&shared), &tenant.token).await, StatusCode::OK).await;
        expect(app.delete(&person(&private), &tenant.token).await, StatusCode::OK).await;
        let all = whole_feed(&app, &tenant.token, 50).await;
        let kinds: Vec<(i64, &str, &str)> = all.iter().map(|c| (c["seq"].as_i64().unwrap(), c["type"].as_str().unwrap(), c["person_id"].as_str().unwrap())).collect();
        assert_eq!(kinds, [(7, "person.erased", shared.as_str()), (8, "person.erased", private.as_str())]);
        assert_eq!(all[0]["fields"], json!([]));
        let seen = whole_feed(&app, &token, 50).await;
        let kinds: Vec<(&str, &str)> = seen.iter().map(|c| (c["type"].as_str().unwrap(), c["person_id"].as_str().unwrap())).collect();
        assert_eq!(kinds, [("person.erased", shared.as_str())], "only the erasure of a person it could read");
    }

    async fn an_erasure_row_goes_after_three_days(app) {
        let tenant = app.new_tenant().await;
        let person = full_person(&app, &tenant, "Hanne", "hanne@proc.example").await;
        expect(app.delete(&format!("/v1/people/{person}"), &tenant.token).await, StatusCode::OK).await;
        let feed = whole_feed(&app, &tenant.token, 50).await;
        assert_eq!(feed.len(), 1);
        assert_eq!((feed[0]["type"].clone(), feed[0]["person_id"].clone()), (json!("person.erased"), json!(person)));
        assert_eq!(text_columns_holding(&app, &person), ERASURE_NOTICE, "only the feed's notice names them");
        // Three days and more later (the clock moved back on the row): no longer shown, then pruned.
        {
            use diesel::prelude::*;
            use kluis_store::schema::people_changes as c;
            let mut conn = app.conn();
            let conn: &mut kluis_store::Db = &mut conn;
            let then = kluis_core::time::now() - time::Duration::days(3) - time::Duration::minutes(1);
            diesel::update(c::table.filter(c::tenant_id.eq(&tenant.id))).set(c::occurred_at.eq(then)).execute(conn).unwrap();
        }
        let feed = whole_feed(&app, &tenant.token, 50).await;
        assert!(feed.is_empty(), "{feed:?}");
        assert!(kluis_app::processors::prune_erased(&app.state.app).unwrap() >= 1);
        assert_eq!(text_columns_holding(&app, &person), Vec::<String>::new(), "nothing names them now");
    }

    async fn a_bad_feed_position_is_a_422_problem(app) {
        let tenant = app.new_tenant().await;
        for query in ["after=%21%21", "after=bm90LWEtbnVtYmVy", "limit=0", "limit=201", "limit=-3"] {
            let response = app.get(&format!("/v1/people/changes?{query}"), &tenant.token).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let field = if query.starts_with("after") { "after" } else { "limit" };
            assert_eq!(problem["errors"][0]["field"], field, "{query}");
        }
        let response = app.get("/v1/people/changes?limit=ten", &tenant.token).await;
        assert!(response.status().is_client_error());
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let response = app.get("/v1/people/changes?since=1", &tenant.token).await;
        assert!(response.status().is_client_error());
    }
}
