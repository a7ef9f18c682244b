//! Data-subject requests with their deadlines, restriction of processing,
//! and the tenant's own settings (issue 16, section 1).

use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

use crate::lifecycle::{everything, rows_about, signed_in};

/// A person without an account; their id.
async fn person(app: &TestApp, tenant: &Tenant, email: &str) -> String {
    let body = json!({"first_name": "Rikke", "emails": [{"address": email, "label": "private"}]});
    let response = app.post("/v1/people", &tenant.token, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// POST that must answer `status`; the body.
async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }
}

/// A request the tenant entered, verified; its id.
async fn verified_request(app: &TestApp, tenant: &Tenant, person: &str, kind: &str) -> String {
    let body = json!({"kind": kind, "person_id": person, "details": "per letter of 1 December"});
    let made = expect(app.post("/v1/requests", &tenant.token, &body).await, StatusCode::CREATED).await;
    assert_eq!(made["state"], "received");
    assert_eq!(made["channel"], "tenant");
    let id = made["id"].as_str().unwrap().to_owned();
    let verified =
        expect(app.post(&format!("/v1/requests/{id}/verify"), &tenant.token, &json!({})).await, StatusCode::OK).await;
    assert_eq!(verified["state"], "verified");
    id
}

async fn complete(app: &TestApp, tenant: &Tenant, id: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/requests/{id}/complete"), &tenant.token, &body).await
}

async fn check(app: &TestApp, token: &str, person: &str, purpose: &str) -> Value {
    let response = app.get(&format!("/v1/consents/check?person_id={person}&purpose={purpose}"), token).await;
    expect(response, StatusCode::OK).await
}

async fn grant(app: &TestApp, tenant: &Tenant, person: &str, purpose: &str, action: &str) {
    let body = json!({"purpose": purpose, "action": action, "source": "web"});
    expect(app.post(&format!("/v1/people/{person}/consents"), &tenant.token, &body).await, StatusCode::CREATED).await;
}

/// Wait (up to 10 s) until `to` has `count` mails; them.
async fn mails(app: &TestApp, to: &str, count: usize) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let mails = app.mails_to(to);
        if mails.len() >= count {
            return mails;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "no mail #{count} to {to}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
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

fn code_in(mail: &str) -> String {
    mail.lines().find_map(|l| l.trim().strip_prefix("Code: ")).expect("a code in the mail").trim().to_owned()
}

/// Set `received_at` of a request in the past through the database (how
/// these tests move time): `days` ago, with its deadline recomputed by the
/// API from a fresh request received then.
async fn received_days_ago(app: &TestApp, tenant: &Tenant, person: &str, kind: &str, days: i64) -> Value {
    let at = kluis_core::time::utc(kluis_core::time::now() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = json!({"kind": kind, "person_id": person, "received_at": at});
    expect(app.post("/v1/requests", &tenant.token, &body).await, StatusCode::CREATED).await
}

both_backends! {
    async fn an_access_request_gives_the_person_their_export_once(app) {
        let tenant = app.new_tenant().await;
        let (person, token) = signed_in(&app, &tenant, "ines@rights.example", "en").await;
        let made = expect(app.post("/v1/me/requests", &token, &json!({"kind": "access", "details": "everything, please"})).await, StatusCode::CREATED).await;
        // Signed in: verified at once; due a calendar month on, in Amsterdam.
        assert_eq!(made["state"], "verified");
        assert_eq!(made["channel"], "self");
        assert_eq!(made["person_id"], person.as_str());
        let received = kluis_core::time::now();
        let zone = kluis_rights::deadline::zone("Europe/Amsterdam").unwrap();
        let expected = kluis_rights::deadline::due(received, &zone, 1).unwrap();
        assert_eq!(made["due_on"], kluis_rights::requests::format_date(expected.due_on));
        assert_eq!(made["overdue"], false);
        let id = made["id"].as_str().unwrap().to_owned();
        // Not yet completed: nothing to download.
        assert_problem(app.get(&format!("/v1/me/requests/{id}/export"), &token).await, StatusCode::GONE, "download_gone").await;

        let done = expect(complete(&app, &tenant, &id, json!({})).await, StatusCode::OK).await;
        assert_eq!(done["state"], "completed");
        assert_eq!(done["outcome"]["export"], "offered");
        assert_eq!(done["download_ready"], true);
        // The person is mailed the one-time link.
        mail_containing(&app, "ines@rights.example", "/requests/download/").await;

        let response = app.get(&format!("/v1/me/requests/{id}/export"), &token).await;
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
        let export = expect(response, StatusCode::OK).await;
        assert_eq!(export["person_id"], person.as_str());
        assert_eq!(export["format"], "kluis.export.v1");
        assert_eq!(export["data"]["rights_requests"][0]["kind"], "access");
        // Once.
        assert_problem(app.get(&format!("/v1/me/requests/{id}/export"), &token).await, StatusCode::GONE, "download_gone").await;

        // The person sees their request's history.
        let mine = expect(app.get(&format!("/v1/me/requests/{id}"), &token).await, StatusCode::OK).await;
        let actions: Vec<&str> = mine["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["received", "verified", "completed", "downloaded"]);
        assert_eq!(mine["download_ready"], false);
        let list = expect(app.get("/v1/me/requests", &token).await, StatusCode::OK).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        // Every step is audited.
        app.state.audit_reads.flush();
        for action in ["request.create", "request.complete", "request.download"] {
            let page = expect(app.get(&format!("/v1/audit/events?action={action}"), &tenant.token).await, StatusCode::OK).await;
            assert_eq!(page["items"].as_array().unwrap().len(), 1, "{action}");
        }
    }

    async fn the_mailed_link_downloads_the_export_once(app) {
        let tenant = app.new_tenant().await;
        let person = person(&app, &tenant, "jorn@rights.example").await;
        let id = verified_request(&app, &tenant, &person, "portability").await;
        expect(complete(&app, &tenant, &id, json!({})).await, StatusCode::OK).await;
        let mail = mail_containing(&app, "jorn@rights.example", "/requests/download/").await;
        let link = mail.split_whitespace().find(|w| w.contains("/requests/download/")).unwrap().to_owned();
        let path = &link[link.find("/v1/").unwrap()..];
        let export = expect(app.client.get(app.url(path)).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(export["person_id"], person.as_str());
        assert_problem(app.client.get(app.url(path)).send().await.unwrap(), StatusCode::GONE, "download_gone").await;
        let forged = format!("/v1/public/{}/requests/download/klr_forged", tenant.slug);
        assert_problem(app.client.get(app.url(&forged)).send().await.unwrap(), StatusCode::GONE, "download_gone").await;
    }

    async fn an_erasure_request_completed_leaves_no_rows_about_the_person(app) {
        let tenant = app.new_tenant().await;
        let person = everything(&app, &tenant).await;
        let id = verified_request(&app, &tenant, &person, "erasure").await;
        let before = rows_about(&app, &tenant, &person);
        assert!(before["rights_requests"] == 1 && before["people"] == 1, "{before:?}");
        let done = expect(complete(&app, &tenant, &id, json!({})).await, StatusCode::OK).await;
        assert_eq!(done["state"], "completed");
        assert!(done["outcome"]["erasure_receipt"].is_string(), "{done}");
        // The request stays as the record that it was answered, about nobody.
        assert_eq!(done["person_id"], Value::Null);
        assert_eq!(done["details"], Value::Null);
        let after = rows_about(&app, &tenant, &person);
        assert!(after.values().all(|n| *n == 0), "rows left: {after:?}");
        let receipt = done["outcome"]["erasure_receipt"].as_str().unwrap();
        let receipt = expect(app.get(&format!("/v1/erasures/{receipt}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(receipt["rows"]["rights_requests"], 1, "{receipt}");
    }

    async fn an_erasure_request_under_a_legal_hold_is_refused_with_409(app) {
        let tenant = app.new_tenant().await;
        let person = person(&app, &tenant, "holda@rights.example").await;
        expect(app.post(&format!("/v1/people/{person}/holds"), &tenant.token, &json!({"reason": "Claim 2026-9"})).await, StatusCode::CREATED).await;
        let id = verified_request(&app, &tenant, &person, "erasure").await;
        assert_problem(complete(&app, &tenant, &id, json!({})).await, StatusCode::CONFLICT, "legal_hold").await;
        let still = expect(app.get(&format!("/v1/requests/{id}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(still["state"], "verified");
        assert_eq!(rows_about(&app, &tenant, &person)["people"], 1);
    }

    async fn a_refusal_needs_a_reason_and_tells_of_the_right_to_complain(app) {
        let tenant = app.new_tenant().await;
        let person = person(&app, &tenant, "karel@rights.example").await;
        let id = verified_request(&app, &tenant, &person, "erasure").await;
        let url = format!("/v1/requests/{id}/refuse");
        let body = assert_problem(app.post(&url, &tenant.token, &json!({"text": "We must keep invoices"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "reason");
        let body = assert_problem(app.post(&url, &tenant.token, &json!({"reason": "because"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "reason");
        let body = assert_problem(app.post(&url, &tenant.token, &json!({"reason": "legal_obligation", "text": " "})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "text");
        let refused = expect(app.post(&url, &tenant.token, &json!({"reason": "legal_obligation", "text": "Invoices are kept 7 years (AWR 52)."})).await, StatusCode::OK).await;
        assert_eq!(refused["state"], "refused");
        assert_eq!(refused["refusal"]["reason"], "legal_obligation");
        assert!(refused["refusal"]["complaint"].as_str().unwrap().contains("Autoriteit Persoonsgegevens"));
        let mail = mail_containing(&app, "karel@rights.example", "AWR 52").await;
        assert!(mail.contains("Autoriteit Persoonsgegevens"), "{mail}");
        // Closed: no second answer.
        assert_problem(app.post(&url, &tenant.token, &json!({"reason": "excessive", "text": "again"})).await, StatusCode::CONFLICT, "request_state").await;
        assert_problem(complete(&app, &tenant, &id, json!({})).await, StatusCode::CONFLICT, "request_state").await;
    }

    async fn an_extension_is_possible_once_and_only_within_the_first_month(app) {
        let tenant = app.new_tenant().await;
        let person = person(&app, &tenant, "lot@rights.example").await;
        // Received 40 days ago: the first month is over, the request overdue.
        let old = received_days_ago(&app, &tenant, &person, "access", 40).await;
        assert_eq!(old["overdue"], true);
        let old_id = old["id"].as_str().unwrap();
        let body = json!({"months": 2, "reason": "Many systems to search"});
        let problem = assert_problem(app.post(&format!("/v1/requests/{old_id}/extend"), &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "months");

        let fresh = expect(app.post("/v1/requests", &tenant.token, &json!({"kind": "access", "person_id": person})).await, StatusCode::CREATED).await;
        let id = fresh["id"].as_str().unwrap();
        let url = format!("/v1/requests/{id}/extend");
        let problem = assert_problem(app.post(&url, &tenant.token, &json!({"months": 3, "reason": "x"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "months");
        let problem = assert_problem(app.post(&url, &tenant.token, &json!({"months": 1})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "reason");
        let extended = expect(app.post(&url, &tenant.token, &body).await, StatusCode::OK).await;
        assert_eq!(extended["state"], "extended");
        assert_eq!(extended["extension_reason"], "Many systems to search");
        let zone = kluis_rights::deadline::zone("Europe/Amsterdam").unwrap();
        let received = time::PrimitiveDateTime::parse(fresh["received_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
        let three = kluis_rights::deadline::due(received, &zone, 3).unwrap();
        assert_eq!(extended["due_on"], kluis_rights::requests::format_date(three.due_on));
        // Once.
        let problem = assert_problem(app.post(&url, &tenant.token, &json!({"months": 1, "reason": "more"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "months");

        // The list's filters.
        let overdue = expect(app.get("/v1/requests?overdue=true", &tenant.token).await, StatusCode::OK).await;
        let ids: Vec<&str> = overdue["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [old_id]);
        let extended_only = expect(app.get("/v1/requests?state=extended&kind=access", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(extended_only["items"].as_array().unwrap().len(), 1);
        let tomorrow = kluis_rights::requests::format_date(kluis_core::time::now().date().next_day().unwrap());
        let due_before = expect(app.get(&format!("/v1/requests?due_before={tomorrow}"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!(due_before["items"].as_array().unwrap().len(), 1);
        for bad in ["overdue=maybe", "due_before=tomorrow", "state=lost", "kind=gossip"] {
            let field = bad.split('=').next().unwrap();
            let problem = assert_problem(app.get(&format!("/v1/requests?{bad}"), &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field);
        }
    }

    async fn a_restriction_makes_every_check_false_and_lifting_restores_it(app) {
        let tenant = app.new_tenant().await;
        let (person, token) = signed_in(&app, &tenant, "mila@rights.example", "en").await;
        grant(&app, &tenant, &person, "marketing_email", "grant").await;
        let before = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!((before["allowed"].clone(), before["restricted"].clone()), (json!(true), json!(false)));
        let url = format!("/v1/people/{person}/restriction");
        assert_problem(app.get(&url, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.client.put(app.url(&url)).bearer_auth(&tenant.token).json(&json!({})).send().await.unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "reason");
        let body = json!({"reason": "The person contests the accuracy of their address"});
        let response = app.client.put(app.url(&url)).bearer_auth(&tenant.token).json(&body).send().await.unwrap();
        let set = expect(response, StatusCode::CREATED).await;
        assert_eq!(set["version"], 1);

        let during = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!((during["allowed"].clone(), during["restricted"].clone()), (json!(false), json!(true)));
        // A contract purpose is not allowed either while restricted.
        assert_eq!(check(&app, &tenant.token, &person, "account").await["allowed"], false);
        let batch = json!({"checks": [{"person_id": person, "purpose": "marketing_email"}, {"person_id": kluis_core::new_id(), "purpose": "account"}]});
        let answers = expect(app.post("/v1/consents/check", &tenant.token, &batch).await, StatusCode::OK).await;
        assert_eq!(answers["results"][0]["allowed"], false);
        assert_eq!(answers["results"][0]["restricted"], true);
        assert_eq!(answers["results"][1]["allowed"], true);
        assert_eq!(answers["results"][1]["restricted"], false);
        // The person's own view says so too.
        let mine = expect(app.get("/v1/me/consents", &token).await, StatusCode::OK).await;
        assert!(mine["items"].as_array().unwrap().iter().all(|s| s["allowed"] == false && s["restricted"] == true), "{mine}");

        let response = app.client.delete(app.url(&url)).bearer_auth(&tenant.token).header("If-Match", "\"7\"").send().await.unwrap();
        assert_problem(response, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        assert_eq!(app.delete(&url, &tenant.token).await.status(), StatusCode::NO_CONTENT);
        let after = check(&app, &tenant.token, &person, "marketing_email").await;
        assert_eq!(after, before);
        assert_problem(app.delete(&url, &tenant.token).await, StatusCode::NOT_FOUND, "not_found").await;

        // Completing a restriction request restricts the person as well.
        let id = verified_request(&app, &tenant, &person, "restriction").await;
        let done = expect(complete(&app, &tenant, &id, json!({})).await, StatusCode::OK).await;
        assert_eq!(done["outcome"]["restricted"], true);
        let restriction = expect(app.get(&url, &tenant.token).await, StatusCode::OK).await;
        assert_eq!(restriction["request_id"], id.as_str());
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["restricted"], true);
    }

    async fn objection_and_rectification_requests_do_what_they_ask(app) {
        let tenant = app.new_tenant().await;
        let person = person(&app, &tenant, "noor@rights.example").await;
        grant(&app, &tenant, &person, "marketing_email", "grant").await;
        let body = json!({"kind": "objection", "person_id": person, "purposes": ["marketing_email"]});
        let made = expect(app.post("/v1/requests", &tenant.token, &body).await, StatusCode::CREATED).await;
        let id = made["id"].as_str().unwrap();
        expect(app.post(&format!("/v1/requests/{id}/verify"), &tenant.token, &json!({})).await, StatusCode::OK).await;
        let started = expect(app.patch(&format!("/v1/requests/{id}"), &tenant.token, &json!({"state": "in_progress"})).await, StatusCode::OK).await;
        assert_eq!(started["state"], "in_progress");
        let done = expect(complete(&app, &tenant, id, json!({})).await, StatusCode::OK).await;
        assert_eq!(done["outcome"]["objections"], json!(["marketing_email"]));
        assert_eq!(check(&app, &tenant.token, &person, "marketing_email").await["allowed"], false);

        let body = json!({"kind": "access", "person_id": person, "purposes": ["marketing_email"]});
        let problem = assert_problem(app.post("/v1/requests", &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "purposes");

        let id = verified_request(&app, &tenant, &person, "rectification").await;
        let problem = assert_problem(complete(&app, &tenant, &id, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "reference");
        let done = expect(complete(&app, &tenant, &id, json!({"reference": "Address corrected, ticket 4711"})).await, StatusCode::OK).await;
        assert_eq!(done["outcome"]["reference"], "Address corrected, ticket 4711");
    }

    async fn a_public_request_answers_alike_and_only_the_mailed_code_verifies_it(app) {
        let tenant = app.new_tenant().await;
        let known = person(&app, &tenant, "known@rights.example").await;
        let url = format!("/v1/public/{}/requests", tenant.slug);
        let mut answers = Vec::new();
        for email in ["known@rights.example", "nobody@rights.example"] {
            let response = app.client.post(app.url(&url)).json(&json!({"email": email, "kind": "access"})).send().await.unwrap();
            answers.push((response.status(), response.text().await.unwrap()));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0].0, StatusCode::ACCEPTED);
        // Each address is mailed its code; neither request is verified yet.
        let known_code = code_in(&mails(&app, "known@rights.example", 1).await[0]);
        let unknown_code = code_in(&mails(&app, "nobody@rights.example", 1).await[0]);
        let list = expect(app.get("/v1/requests?state=received", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
        assert!(list["items"].as_array().unwrap().iter().all(|r| r["channel"] == "email" && r["person_id"].is_null()));

        let verify = format!("/v1/public/{}/requests/verify", tenant.slug);
        let wrong = app.client.post(app.url(&verify)).json(&json!({"token": "klr_guessed"})).send().await.unwrap();
        assert_problem(wrong, StatusCode::BAD_REQUEST, "token_invalid").await;
        let response = app.client.post(app.url(&verify)).json(&json!({"token": known_code})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let again = app.client.post(app.url(&verify)).json(&json!({"token": known_code})).send().await.unwrap();
        assert_problem(again, StatusCode::BAD_REQUEST, "token_invalid").await;
        let response = app.client.post(app.url(&verify)).json(&json!({"token": unknown_code})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let verified = expect(app.get("/v1/requests?state=verified", &tenant.token).await, StatusCode::OK).await;
        let people: Vec<&Value> = verified["items"].as_array().unwrap().iter().map(|r| &r["person_id"]).collect();
        assert!(people.contains(&&json!(known)) && people.contains(&&Value::Null), "{verified}");

        // Bad input, an unknown tenant, and the throttle per address.
        let bad = app.client.post(app.url(&url)).json(&json!({"email": "not an address", "kind": "access"})).send().await.unwrap();
        let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "email");
        let nowhere = app.client.post(app.url("/v1/public/no-such-tenant/requests")).json(&json!({"email": "a@b.example", "kind": "access"})).send().await.unwrap();
        assert_problem(nowhere, StatusCode::NOT_FOUND, "not_found").await;
        for _ in 0..2 {
            let response = app.client.post(app.url(&url)).json(&json!({"email": "known@rights.example", "kind": "erasure"})).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
        }
        let limited = app.client.post(app.url(&url)).json(&json!({"email": "Known@Rights.example", "kind": "erasure"})).send().await.unwrap();
        assert!(limited.headers().get("retry-after").is_some());
        assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }

    async fn the_mailed_link_opens_a_page_whose_button_confirms_the_request(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let url = format!("/v1/public/{}/requests", tenant.slug);
        let response = app.client.post(app.url(&url)).json(&json!({"email": "linked@rights.example", "kind": "erasure"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let mail = mails(&app, "linked@rights.example", 1).await.remove(0);
        let code = code_in(&mail);
        let base = format!("{}/v1/public/{}/requests/verify/", app.settings.public_url(), tenant.slug);
        let link = mail.lines().map(str::trim).find(|l| l.starts_with(&base)).unwrap_or_else(|| panic!("a link in the mail:\n{mail}")).to_owned();
        assert_eq!(link, format!("{base}{code}"));
        let path = link.strip_prefix(&app.settings.public_url()).unwrap().to_owned();

        // Opening it (a mail scanner does too) shows a question and changes nothing.
        let page = app.client.get(app.url(&path)).header("accept", "text/html").header("accept-language", "nl").send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("form-action 'self'") && !csp.contains("script-src"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains("<form method=\"post\">") && html.contains("Mijn verzoek bevestigen"), "{html}");
        let received = expect(app.get("/v1/requests?state=received", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(received["items"].as_array().unwrap().len(), 1);

        // Another tenant's address for the same code confirms nothing.
        let foreign = path.replace(&tenant.slug, &other.slug);
        let refused = app.client.post(app.url(&foreign)).send().await.unwrap();
        assert_problem(refused, StatusCode::BAD_REQUEST, "token_invalid").await;

        // The button: a form POST from a browser, answered with a page.
        let pressed = app.client.post(app.url(&path)).header("accept", "text/html").header("content-type", "application/x-www-form-urlencoded").body("List-Unsubscribe=One-Click").send().await.unwrap();
        assert_eq!(pressed.status(), StatusCode::OK);
        assert!(pressed.text().await.unwrap().contains("Request confirmed"));
        let verified = expect(app.get("/v1/requests?state=verified", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(verified["items"].as_array().unwrap().len(), 1);
        // Once only: a page for a browser, the problem for anyone else.
        let again = app.client.post(app.url(&path)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again.text().await.unwrap().contains("This link does not work"));
        let again = app.client.post(app.url(&path)).send().await.unwrap();
        assert_problem(again, StatusCode::BAD_REQUEST, "token_invalid").await;
        // A malformed tenant slug is not a page at all.
        let nowhere = app.client.get(app.url(&format!("/v1/public/NO/requests/verify/{code}"))).send().await.unwrap();
        assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    }

    async fn requests_via_the_tenant_only_refuse_the_self_and_public_channels(app) {
        let tenant = app.new_tenant().await;
        let (person, token) = signed_in(&app, &tenant, "olaf@rights.example", "en").await;
        let settings = json!({"privacy_contact_email": "privacy@tenant.example", "requests_via_tenant_only": true});
        let own = expect(app.patch("/v1/tenant", &tenant.token, &settings).await, StatusCode::OK).await;
        assert_eq!(own["requests_via_tenant_only"], true);
        let problem = assert_problem(app.post("/v1/me/requests", &token, &json!({"kind": "erasure"})).await, StatusCode::FORBIDDEN, "requests_via_tenant").await;
        assert!(problem["detail"].as_str().unwrap().contains("privacy@tenant.example"), "{problem}");
        let public = app.client.post(app.url(&format!("/v1/public/{}/requests", tenant.slug))).json(&json!({"email": "olaf@rights.example", "kind": "access"})).send().await.unwrap();
        assert_problem(public, StatusCode::FORBIDDEN, "requests_via_tenant").await;
        let made = expect(app.post("/v1/requests", &tenant.token, &json!({"kind": "erasure", "person_id": person})).await, StatusCode::CREATED).await;
        assert_eq!(made["channel"], "tenant");
        // The person still follows what the tenant entered for them.
        let mine = expect(app.get("/v1/me/requests", &token).await, StatusCode::OK).await;
        assert_eq!(mine["items"][0]["id"], made["id"]);
    }

    async fn the_tenant_keeps_its_own_settings_and_the_operator_can_set_them(app) {
        let tenant = app.new_tenant().await;
        let own = expect(app.get("/v1/tenant", &tenant.token).await, StatusCode::OK).await;
        assert_eq!(own["id"], tenant.id.as_str());
        assert_eq!(own["time_zone"], "Europe/Amsterdam");
        assert_eq!(own["requests_via_tenant_only"], false);
        assert_eq!(own["privacy_contact_email"], Value::Null);
        for (body, field) in [
            (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
            (json!({"privacy_contact_email": "nope"}), "privacy_contact_email"),
            (json!({"self_erasure_grace_seconds": -1}), "self_erasure_grace_seconds"),
            (json!({"max_retention": "P1Y"}), "max_retention"),
            (json!({"slug": "mine"}), "slug"),
        ] {
            let problem = assert_problem(app.patch("/v1/tenant", &tenant.token, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
        let changed = expect(app.patch("/v1/tenant", &tenant.token, &json!({"time_zone": "America/New_York", "name": "Renamed", "self_erasure_grace_seconds": 3600})).await, StatusCode::OK).await;
        assert_eq!(changed["time_zone"], "America/New_York");
        assert_eq!(changed["name"], "Renamed");
        let stale = app.client.patch(app.url("/v1/tenant")).bearer_auth(&tenant.token).header("If-Match", "\"1\"").json(&json!({"name": "Again"})).send().await.unwrap();
        assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
        let operator = app.operator_token().await;
        let by_operator = expect(app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"time_zone": "UTC", "privacy_contact_email": "dpo@tenant.example"})).await, StatusCode::OK).await;
        assert_eq!(by_operator["time_zone"], "UTC");
        assert_eq!(by_operator["privacy_contact_email"], "dpo@tenant.example");
        let problem = assert_problem(app.patch(&format!("/v1/tenants/{}", tenant.id), &operator, &json!({"time_zone": "Nowhere/Land"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "time_zone");
        // The operator has no own tenant; a client without clients:admin may not; nobody without a token.
        assert_problem(app.get("/v1/tenant", &operator).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        let reader = app.new_client(&tenant, &["people:read"]).await;
        let reader = app.token(&reader).await;
        assert_problem(app.get("/v1/tenant", &reader).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.client.get(app.url("/v1/tenant")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "missing_token").await;
        // The tenant's deadlines count in its zone.
        let person = person(&app, &tenant, "pim@rights.example").await;
        let made = expect(app.post("/v1/requests", &tenant.token, &json!({"kind": "access", "person_id": person})).await, StatusCode::CREATED).await;
        let received = time::PrimitiveDateTime::parse(made["received_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
        let utc = kluis_rights::deadline::due(received, &kluis_rights::deadline::zone("UTC").unwrap(), 1).unwrap();
        assert_eq!(made["due_on"], kluis_rights::requests::format_date(utc.due_on));
    }

    async fn a_request_extended_before_verification_can_still_be_verified(app) {
        let tenant = app.new_tenant().await;
        let person = person(&app, &tenant, "uma@rights.example").await;
        let made = expect(app.post("/v1/requests", &tenant.token, &json!({"kind": "access", "person_id": person})).await, StatusCode::CREATED).await;
        let id = made["id"].as_str().unwrap();
        let body = json!({"months": 1, "reason": "Records are in the archive"});
        let extended = expect(app.post(&format!("/v1/requests/{id}/extend"), &tenant.token, &body).await, StatusCode::OK).await;
        assert_eq!((&extended["state"], &extended["verified_at"]), (&json!("extended"), &Value::Null));
        // Extended is not verified: neither started nor completed yet.
        assert_problem(complete(&app, &tenant, id, json!({})).await, StatusCode::CONFLICT, "request_state").await;
        assert_problem(app.patch(&format!("/v1/requests/{id}"), &tenant.token, &json!({"state": "in_progress"})).await, StatusCode::CONFLICT, "request_state").await;
        // Verification works from any open state not yet verified, and keeps the extension.
        let verified = expect(app.post(&format!("/v1/requests/{id}/verify"), &tenant.token, &json!({})).await, StatusCode::OK).await;
        assert_eq!(verified["state"], "extended");
        assert!(verified["verified_at"].is_string());
        assert_eq!(verified["due_on"], extended["due_on"]);
        // Once.
        assert_problem(app.post(&format!("/v1/requests/{id}/verify"), &tenant.token, &json!({})).await, StatusCode::CONFLICT, "request_state").await;
        let done = expect(complete(&app, &tenant, id, json!({})).await, StatusCode::OK).await;
        assert_eq!(done["state"], "completed");
        let history = expect(app.get(&format!("/v1/requests/{id}"), &tenant.token).await, StatusCode::OK).await;
        let actions: Vec<&str> = history["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["received", "extended", "verified", "completed"]);
        // A closed request is not verified any more.
        assert_problem(app.post(&format!("/v1/requests/{id}/verify"), &tenant.token, &json!({})).await, StatusCode::CONFLICT, "request_state").await;
    }

    async fn request_steps_are_webhook_events_with_ids_and_kind_only(app) {
        let tenant = app.new_tenant().await;
        let receiver = crate::webhooks::Receiver::start(&[]);
        let types = ["request.created", "request.verified", "request.extended", "request.completed", "request.refused"];
        let hook = json!({"url": receiver.url, "event_types": types});
        expect(app.post("/v1/webhooks", &tenant.token, &hook).await, StatusCode::CREATED).await;
        let person = person(&app, &tenant, "vera@rights.example").await;
        let body = json!({"kind": "objection", "person_id": person, "details": "No more newsletters, secret words"});
        let made = expect(app.post("/v1/requests", &tenant.token, &body).await, StatusCode::CREATED).await;
        let id = made["id"].as_str().unwrap();
        expect(app.post(&format!("/v1/requests/{id}/extend"), &tenant.token, &json!({"months": 1, "reason": "Busy season"})).await, StatusCode::OK).await;
        expect(app.post(&format!("/v1/requests/{id}/verify"), &tenant.token, &json!({})).await, StatusCode::OK).await;
        expect(app.post(&format!("/v1/requests/{id}/refuse"), &tenant.token, &json!({"reason": "not_applicable", "text": "Contract basis"})).await, StatusCode::OK).await;
        let other = expect(app.post("/v1/requests", &tenant.token, &json!({"kind": "restriction", "person_id": person})).await, StatusCode::CREATED).await;
        let other_id = other["id"].as_str().unwrap();
        expect(app.post(&format!("/v1/requests/{other_id}/verify"), &tenant.token, &json!({})).await, StatusCode::OK).await;
        expect(complete(&app, &tenant, other_id, json!({})).await, StatusCode::OK).await;
        // Without details the restriction's reason is a fixed text (one made
        // from the request's id failed the card-number check now and then).
        let restriction = expect(app.get(&format!("/v1/people/{person}/restriction"), &tenant.token).await, StatusCode::OK).await;
        assert_eq!((restriction["reason"].as_str(), restriction["request_id"].as_str()), (Some("restriction request"), Some(other_id)));
        let got = receiver.wait_for(7).await;
        let events: Vec<Value> = got.iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
        let seen: Vec<(&str, &str, &str)> = events.iter().map(|e| (e["type"].as_str().unwrap(), e["data"]["request_id"].as_str().unwrap(), e["data"]["state"].as_str().unwrap())).collect();
        for expected in [
            ("request.created", id, "received"),
            ("request.extended", id, "extended"),
            ("request.verified", id, "extended"),
            ("request.refused", id, "refused"),
            ("request.created", other_id, "received"),
            ("request.verified", other_id, "verified"),
            ("request.completed", other_id, "completed"),
        ] {
            assert!(seen.contains(&expected), "{expected:?} in {seen:?}");
        }
        for event in &events {
            assert_eq!(event["data"]["person_id"], person.as_str());
            assert!(event["data"]["kind"] == "objection" || event["data"]["kind"] == "restriction");
            let keys: Vec<&String> = event["data"].as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 4, "ids, kind and state only: {event}");
        }
        assert!(got.iter().all(|r| !r.body.contains("secret words") && !r.body.contains("Busy season") && !r.body.contains("Contract basis")));
    }

    async fn another_tenants_requests_are_404_and_scopes_are_checked(app) {
        let a = app.new_tenant().await;
        let b = app.new_tenant().await;
        let person = person(&app, &a, "quinn@rights.example").await;
        let made = expect(app.post("/v1/requests", &a.token, &json!({"kind": "access", "person_id": person})).await, StatusCode::CREATED).await;
        let id = made["id"].as_str().unwrap();
        assert_problem(app.get(&format!("/v1/requests/{id}"), &b.token).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.post(&format!("/v1/requests/{id}/verify"), &b.token, &json!({})).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_problem(app.patch(&format!("/v1/requests/{id}"), &b.token, &json!({"details": "x"})).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(expect(app.get("/v1/requests", &b.token).await, StatusCode::OK).await["items"], json!([]));
        assert_problem(app.post("/v1/requests", &b.token, &json!({"kind": "access", "person_id": person})).await, StatusCode::NOT_FOUND, "not_found").await;
        let restriction = format!("/v1/people/{person}/restriction");
        let put = app.client.put(app.url(&restriction)).bearer_auth(&b.token).json(&json!({"reason": "x"})).send().await.unwrap();
        assert_problem(put, StatusCode::NOT_FOUND, "not_found").await;
        // A person sees only their own requests.
        let (_, token) = signed_in(&app, &a, "rosa@rights.example", "en").await;
        assert_problem(app.get(&format!("/v1/me/requests/{id}"), &token).await, StatusCode::NOT_FOUND, "not_found").await;
        // Scopes: requests:admin, self; no token.
        let other = app.new_client(&a, &["people:read"]).await;
        let other = app.token(&other).await;
        assert_problem(app.get("/v1/requests", &other).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.post(&format!("/v1/requests/{id}/complete"), &other, &json!({})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get(&restriction, &other).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.post("/v1/me/requests", &a.token, &json!({"kind": "access"})).await, StatusCode::FORBIDDEN, "not_a_person").await;
        let operator = app.operator_token().await;
        assert_problem(app.get("/v1/requests", &operator).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        assert_problem(app.client.get(app.url("/v1/requests")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "missing_token").await;
        assert_problem(app.client.get(app.url("/v1/me/requests")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "missing_token").await;
        // Bad input names its field; a step the state does not allow is 409.
        let problem = assert_problem(app.post("/v1/requests", &a.token, &json!({"kind": "gossip", "person_id": person})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "kind");
        let problem = assert_problem(app.post("/v1/requests", &a.token, &json!({"kind": "access"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "person_id");
        assert_problem(complete(&app, &a, id, json!({})).await, StatusCode::CONFLICT, "request_state").await;
        let stale = app.client.post(app.url(&format!("/v1/requests/{id}/verify"))).bearer_auth(&a.token).header("If-Match", "\"9\"").json(&json!({})).send().await.unwrap();
        assert_problem(stale, StatusCode::PRECONDITION_FAILED, "version_mismatch").await;
    }
}

/// The reminder worker runs every second in these tests.
async fn app_with_reminders(backend: kluis_tests::Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| s.request_reminder_interval_secs = 1).await
}

async fn reminders_mail_the_privacy_contact_once_each(app: TestApp) {
    let tenant = app.new_tenant().await;
    let person = person(&app, &tenant, "sam@rights.example").await;
    let overdue = received_days_ago(&app, &tenant, &person, "access", 35).await;
    let due_soon = received_days_ago(&app, &tenant, &person, "erasure", 26).await;
    let calm = received_days_ago(&app, &tenant, &person, "objection", 2).await;
    assert_eq!(overdue["overdue"], true);
    // No contact, no reminder; once it is set, one of each.
    expect(
        app.patch("/v1/tenant", &tenant.token, &json!({"privacy_contact_email": "dpo@rights.example"})).await,
        StatusCode::OK,
    )
    .await;
    let mails = mails(&app, "dpo@rights.example", 2).await;
    assert!(mails.iter().any(|m| m.contains("OVERDUE") && m.contains(overdue["id"].as_str().unwrap())), "{mails:?}");
    assert!(mails.iter().any(|m| m.contains("is due on") && m.contains(due_soon["id"].as_str().unwrap())), "{mails:?}");
    // Recorded on the requests: later rounds send nothing again.
    let history = |id: &str| format!("/v1/requests/{id}");
    let seen = expect(app.get(&history(overdue["id"].as_str().unwrap()), &tenant.token).await, StatusCode::OK).await;
    let actions: Vec<&str> = seen["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["received", "reminded_overdue"]);
    let seen = expect(app.get(&history(due_soon["id"].as_str().unwrap()), &tenant.token).await, StatusCode::OK).await;
    assert_eq!(seen["events"][1]["action"], "reminded_due_soon");
    let seen = expect(app.get(&history(calm["id"].as_str().unwrap()), &tenant.token).await, StatusCode::OK).await;
    assert_eq!(seen["events"].as_array().unwrap().len(), 1);
}

mod reminders_mail_the_privacy_contact_once_each {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let app = app_with_reminders(kluis_tests::Backend::Sqlite).await.unwrap();
        reminders_mail_the_privacy_contact_once_each(app).await;
    }

    #[actix_web::test]
    async fn postgres() {
        let Some(app) = app_with_reminders(kluis_tests::Backend::Postgres).await else { return };
        reminders_mail_the_privacy_contact_once_each(app).await;
    }
}
