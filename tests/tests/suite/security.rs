//! Security regressions: authentication and scope are checked before any
//! input is read, on every operation that declares a scope.

use kluis_tests::{StatusCode, assert_problem, both_backends};
use serde_json::json;

both_backends! {
    async fn a_bad_token_is_401_before_the_query_is_validated(app) {
        let tenant = app.new_tenant().await;
        for path in ["/v1/consents/check", "/v1/stats/visits", "/v1/consents/check?limit=nonsense", "/v1/people?limit=0"] {
            let garbage = app.get(path, "garbage").await;
            assert_problem(garbage, StatusCode::UNAUTHORIZED, "invalid_token").await;
            let forged = app.get(path, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").await;
            assert_problem(forged, StatusCode::UNAUTHORIZED, "invalid_token").await;
            let none = app.client.get(app.url(path)).send().await.unwrap();
            assert_problem(none, StatusCode::UNAUTHORIZED, "missing_token").await;
        }
        // The right token still gets the validation answer.
        assert_problem(app.get("/v1/consents/check", &tenant.token).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }

    async fn a_missing_scope_is_403_before_the_query_or_body_is_read(app) {
        let tenant = app.new_tenant().await;
        let reader = app.new_client(&tenant, &["people:read"]).await;
        let token = app.token(&reader).await;
        assert_problem(app.get("/v1/consents/check", &token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        assert_problem(app.get("/v1/stats/visits?from=x", &token).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let malformed = app.client.post(app.url("/v1/people")).bearer_auth(&token)
            .header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_problem(malformed, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let invalid = app.post("/v1/people", &token, &json!({"unknown_field": 1})).await;
        assert_problem(invalid, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let operator = app.operator_token().await;
        assert_problem(app.get("/v1/consents/check", &operator).await, StatusCode::FORBIDDEN, "operator_not_allowed").await;
        assert_problem(app.post("/v1/tenants", &token, &json!({"bad": true})).await, StatusCode::FORBIDDEN, "insufficient_scope").await;
        let count: serde_json::Value = app.get("/v1/people", &tenant.token).await.json().await.unwrap();
        assert!(count["items"].as_array().unwrap().is_empty(), "nothing was created");
    }
}

both_backends! {
    async fn a_card_number_is_refused_whatever_separates_it_and_wherever_it_hides(app) {
        let tenant = app.new_tenant().await;
        let refused = [
            (json!({"nickname": "4111.1111.1111.1111"}), "nickname"),
            (json!({"first_name": "Anna", "company_name": "4111 / 1111 / 1111 / 1111"}), "company_name"),
            (json!({"emails": [{"address": "4111111111111111@example.com", "label": "private"}]}), "emails[0].address"),
            (json!({"emails": [{"address": "4111.1111.1111.1111@example.com", "label": "work"}]}), "emails[0].address"),
            (json!({"websites": [{"url": "https://shop.example/pay?card=4111-1111-1111-1111", "label": "other"}]}), "websites[0].url"),
        ];
        for (body, field) in refused {
            let response = app.post("/v1/people", &tenant.token, &body).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert!(fields.contains(&field), "{field} in {problem}");
        }
        let person: serde_json::Value = app.post("/v1/people", &tenant.token, &json!({"first_name": "Anna"})).await.json().await.unwrap();
        let id = person["id"].as_str().unwrap();
        let response = app.post(&format!("/v1/people/{id}/emails"), &tenant.token, &json!({"address": "4111111111111111@example.com", "label": "work"})).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let response = app.patch(&format!("/v1/people/{id}"), &tenant.token, &json!({"nickname": "4111_1111_1111_1111"})).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let stored: serde_json::Value = app.get(&format!("/v1/people/{id}"), &tenant.token).await.json().await.unwrap();
        assert!(stored["nickname"].is_null() && stored["emails"].as_array().unwrap().is_empty(), "nothing stored: {stored}");
        let all: serde_json::Value = app.get("/v1/people", &tenant.token).await.json().await.unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 1, "no refused person was stored");
        // Ordinary values still pass.
        let ok = app.post("/v1/people", &tenant.token, &json!({"first_name": "Bo", "emails": [{"address": "bo.1999@example.nl", "label": "work"}], "websites": [{"url": "https://example.nl/blog/2026/12/02/post-17", "label": "work"}]})).await;
        assert_eq!(ok.status(), StatusCode::CREATED);
    }
}

both_backends! {
    async fn visit_paths_lose_what_looks_personal_before_storage(app) {
        let tenant = app.new_tenant().await;
        for path in ["/klant/anna@devries.example/status", "/klant/anna%40devries.example/status", "/orders/0196f3a2-7c1e-7abc-9def-0123456789ab", "/bel/0612345678"] {
            let response = app.post("/v1/visits", &tenant.token, &json!({"path": path})).await;
            assert!(response.status().is_success(), "{path}: {}", response.status());
        }
        let refused = app.post("/v1/visits", &tenant.token, &json!({"path": "/pay/4111/1111/1111/1111"})).await;
        assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let today = time::OffsetDateTime::now_utc().date();
        let stats: serde_json::Value = app.get(&format!("/v1/stats/visits?from={today}&to={today}"), &tenant.token).await.json().await.unwrap();
        let mut paths: Vec<(String, i64)> = stats["items"].as_array().unwrap().iter()
            .map(|c| (c["path"].as_str().unwrap().to_owned(), c["visits"].as_i64().unwrap())).collect();
        paths.sort();
        assert_eq!(paths, [("/bel/:number".to_owned(), 1), ("/klant/:email/status".to_owned(), 2), ("/orders/:id".to_owned(), 1)], "{stats}");
        let other = app.new_tenant().await;
        let theirs: serde_json::Value = app.get(&format!("/v1/stats/visits?from={today}&to={today}"), &other.token).await.json().await.unwrap();
        assert!(theirs["items"].as_array().unwrap().is_empty(), "another tenant sees none of it");
    }
}

both_backends! {
    async fn every_response_carries_the_security_headers(app) {
        let tenant = app.new_tenant().await;
        let person = app.get("/v1/people", &tenant.token).await;
        let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
        let missing = app.client.get(app.url("/v1/nothing-here")).send().await.unwrap();
        let refused = app.get("/v1/people", "garbage").await;
        for (name, response) in [("people", person), ("docs", docs), ("404", missing), ("401", refused)] {
            let header = |h: &str| response.headers().get(h).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{name}");
            assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"), "{name}");
            let csp = header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("frame-ancestors 'none'"), "{name}: {csp}");
            if name == "docs" {
                assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"), "{csp}");
            } else {
                assert!(csp.starts_with("default-src 'none'"), "{name}: {csp}");
                assert_eq!(header("cache-control").as_deref(), Some("no-store"), "{name}");
            }
        }
    }
}

both_backends! {
    async fn a_consent_cannot_cite_a_policy_version_that_was_never_published(app) {
        let tenant = app.new_tenant().await;
        let other = app.new_tenant().await;
        let person: serde_json::Value = app.post("/v1/people", &tenant.token, &json!({"first_name": "Dirk"})).await.json().await.unwrap();
        let path = format!("/v1/people/{}/consents", person["id"].as_str().unwrap());
        let grant = |version: i64| json!({"purpose": "marketing_email", "action": "grant", "source": "web", "policy_version": version});
        let privacy = json!({"title": "Privacy", "body": "What we keep and why.", "material": false});
        // Published by another tenant: does not count here.
        assert_eq!(app.post("/v1/policies/privacy/versions", &other.token, &privacy).await.status(), StatusCode::CREATED);
        for version in [99, 1] {
            let problem = assert_problem(app.post(&path, &tenant.token, &grant(version)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], "policy_version", "{problem}");
        }
        let history: serde_json::Value = app.get(&format!("{path}/history"), &tenant.token).await.json().await.unwrap();
        assert!(history["items"].as_array().unwrap().is_empty(), "nothing stored: {history}");
        assert_eq!(app.post("/v1/policies/privacy/versions", &tenant.token, &privacy).await.status(), StatusCode::CREATED);
        let granted = app.post(&path, &tenant.token, &grant(1)).await;
        assert_eq!(granted.status(), StatusCode::CREATED);
        assert_eq!(granted.json::<serde_json::Value>().await.unwrap()["policy_version"], 1);
        assert_problem(app.post(&path, &tenant.token, &grant(2)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}
