//! Consent by the person themselves (`/v1/me/consents`), re-acceptance in
//! `/v1/me`, and new purposes announced with a one-click objection link.

use kluis_tests::{StatusCode, Tenant, TestApp, assert_problem, both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

async fn person_signed_in(app: &TestApp, tenant: &Tenant, email: &str) -> (String, String) {
    let person: Value = app
        .post(
            "/v1/people",
            &tenant.token,
            &json!({"first_name": "Cees", "emails": [{"address": email, "label": "private"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = person["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD})).await.status(),
        StatusCode::CREATED
    );
    let session: Value = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"tenant": tenant.slug, "identifier": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (id, session["access_token"].as_str().unwrap().to_owned())
}

async fn allowed(app: &TestApp, tenant: &Tenant, person: &str, purpose: &str) -> bool {
    let answer: Value = app
        .get(&format!("/v1/consents/check?person_id={person}&purpose={purpose}"), &tenant.token)
        .await
        .json()
        .await
        .unwrap();
    answer["allowed"].as_bool().unwrap()
}

both_backends! {
    async fn an_objection_yields_to_the_persons_own_grant_only(app) {
        let tenant = app.new_tenant().await;
        let (person, access) = person_signed_in(&app, &tenant, "cees@example.nl").await;
        let path = format!("/v1/people/{person}/consents");
        for action in ["object", "grant"] {
            let body = json!({"purpose": "marketing_email", "action": action, "source": "web"});
            assert_eq!(app.post(&path, &tenant.token, &body).await.status(), StatusCode::CREATED);
        }
        assert!(!allowed(&app, &tenant, &person, "marketing_email").await, "a client's grant does not lift an objection");

        let privacy = json!({"title": "Privacy", "body": "What we keep and why.", "material": false});
        assert_eq!(app.post("/v1/policies/privacy/versions", &tenant.token, &privacy).await.status(), StatusCode::CREATED);
        let mine = app.client.put(app.url("/v1/me/consents/marketing_email")).bearer_auth(&access)
            .json(&json!({"action": "grant", "policy_version": 1})).send().await.unwrap();
        assert_eq!(mine.status(), StatusCode::OK);
        let event: Value = mine.json().await.unwrap();
        assert_eq!(event["source"], "self");
        assert!(allowed(&app, &tenant, &person, "marketing_email").await, "the person's own grant does");
        let standing: Value = app.get("/v1/me/consents", &access).await.json().await.unwrap();
        let marketing = standing["items"].as_array().unwrap().iter().find(|s| s["purpose"] == "marketing_email").unwrap().clone();
        assert_eq!(marketing["status"], "granted");

        let withdraw = app.client.put(app.url("/v1/me/consents/marketing_email")).bearer_auth(&access).json(&json!({"action": "withdraw"})).send().await.unwrap();
        assert_eq!(withdraw.status(), StatusCode::OK);
        assert!(!allowed(&app, &tenant, &person, "marketing_email").await, "as easy to withdraw as to give");
        let unknown = app.client.put(app.url("/v1/me/consents/no_such_purpose")).bearer_auth(&access).json(&json!({"action": "grant"})).send().await.unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
        let contract = app.client.put(app.url("/v1/me/consents/account")).bearer_auth(&access).json(&json!({"action": "withdraw"})).send().await.unwrap();
        assert_problem(contract, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_problem(app.get("/v1/me/consents", &tenant.token).await, StatusCode::FORBIDDEN, "not_a_person").await;
    }

    async fn my_consent_for_a_purpose_my_tenant_does_not_have_is_404_and_records_nothing(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let theirs = json!({"key": "theirs_only", "name": "Theirs", "description": "Another tenant's.",
            "legal_basis": "consent", "data_categories": ["user.name"], "retention": "P1Y"});
        assert_eq!(app.post("/v1/purposes", &other.token, &theirs).await.status(), StatusCode::CREATED);
        let (person, access) = person_signed_in(&app, &tenant, "unknown-purpose@example.nl").await;
        let put = |purpose: &'static str| {
            app.client.put(app.url(&format!("/v1/me/consents/{purpose}"))).bearer_auth(&access).json(&json!({"action": "grant"})).send()
        };
        let unknown = assert_problem(put("no_such_purpose").await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        let foreign = assert_problem(put("theirs_only").await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(foreign, unknown, "another tenant's purpose key: the same answer as one that never existed");
        assert_problem(put("Not a key!").await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
        let history: Value = app.get(&format!("/v1/people/{person}/consents/history"), &tenant.token).await.json().await.unwrap();
        assert_eq!(history["items"], json!([]), "nothing recorded");
        app.state.audit_reads.flush();
        let audit: Value = app.get("/v1/audit/events?limit=200", &tenant.token).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(!actions.iter().any(|a| ["consent.grant", "consent.withdraw", "consent.object"].contains(a)), "{actions:?}");
        // A purpose the tenant has still works on the same path.
        assert_eq!(put("marketing_email").await.unwrap().status(), StatusCode::OK);
        let audit: Value = app.get("/v1/audit/events?limit=200&action=consent.grant", &tenant.token).await.json().await.unwrap();
        assert_eq!(audit["items"].as_array().unwrap().len(), 1);
    }

    async fn me_shows_when_re_acceptance_is_due(app) {
        let tenant = app.new_tenant().await;
        let (person, access) = person_signed_in(&app, &tenant, "policy@example.nl").await;
        let v1: Value = app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "One."})).await.json().await.unwrap();
        let accepted = app.post(&format!("/v1/people/{person}/acceptances"), &tenant.token, &json!({"kind": "privacy", "version": v1["version"], "source": "web"})).await;
        assert_eq!(accepted.status(), StatusCode::CREATED);
        let me: Value = app.get("/v1/me", &access).await.json().await.unwrap();
        let privacy = me["policies"].as_array().unwrap().iter().find(|p| p["kind"] == "privacy").unwrap().clone();
        assert_eq!(privacy["reacceptance_due"], false);
        app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "Two.", "material": true})).await;
        let me: Value = app.get("/v1/me", &access).await.json().await.unwrap();
        let privacy = me["policies"].as_array().unwrap().iter().find(|p| p["kind"] == "privacy").unwrap().clone();
        assert_eq!(privacy["reacceptance_due"], true);
        assert_eq!(privacy["current_version"], 2);
    }

    async fn a_new_purpose_to_object_to_is_announced_with_a_one_click_link(app) {
        let tenant = app.new_tenant().await;
        let (person, _) = person_signed_in(&app, &tenant, "notice@example.nl").await;
        app.post("/v1/people", &tenant.token, &json!({"first_name": "No mail"})).await;
        app.mailed_code("notice@example.nl", 1).await; // the verification mail
        let before = 1;
        let consent_based = app.post("/v1/purposes", &tenant.token, &json!({
            "key": "newsletter_extra", "name": "Extra newsletter", "description": "More mail.",
            "legal_basis": "consent", "data_categories": ["user.contact.email"], "retention": "P1Y"})).await;
        assert_eq!(consent_based.status(), StatusCode::CREATED);
        let interest = app.post("/v1/purposes", &tenant.token, &json!({
            "key": "fraud_prevention", "name": "Fraud prevention", "description": "Spotting fraud.",
            "legal_basis": "legitimate_interests", "data_categories": ["user.device"], "retention": "P2Y"})).await;
        assert_eq!(interest.status(), StatusCode::CREATED);
        // Exactly one notice: the consent-based purpose asks first instead.
        let started = std::time::Instant::now();
        while app.mails_to("notice@example.nl").len() < before + 1 {
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "no notice mailed");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(500)).await;
        let mails = app.mails_to("notice@example.nl");
        assert_eq!(mails.len(), before + 1);
        let notice = mails.last().unwrap();
        assert!(notice.contains("Fraud prevention"), "{notice}");
        // The link in the text (the mail's List-Unsubscribe header carries it too, in <>).
        let link = notice.lines().map(str::trim).find(|l| l.starts_with("http") && l.contains("/v1/unsubscribe/")).unwrap().to_owned();
        let path = &link[link.find("/v1/unsubscribe/").unwrap()..];
        assert!(allowed(&app, &tenant, &person, "fraud_prevention").await, "legitimate interests: allowed until objected");
        let clicked = app.client.post(app.url(path)).send().await.unwrap();
        assert!(clicked.status().is_success(), "{}", clicked.status());
        assert!(!allowed(&app, &tenant, &person, "fraud_prevention").await, "the click recorded an objection");
    }
}
