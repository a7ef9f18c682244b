//! The contract holds what the app does: a method a documented path does
//! not declare is a 405 with `Allow` (a path kluis does not know stays 404),
//! every response is described with its content type, the error answers an
//! operation can give are declared, and the token endpoint and `/metrics`
//! answer in the media types they declare.

use kluis_tests::{StatusCode, assert_problem, both_backends};
use serde_json::{Value, json};

fn contract() -> Value {
    serde_json::to_value(kluis_api::openapi()).unwrap()
}

/// Every operation of the contract as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    all
}

#[test]
fn every_response_has_a_description_and_every_body_a_media_type() {
    for (method, path, operation) in operations(&contract()) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let description = response["description"].as_str().unwrap_or_default();
            assert!(!description.trim().is_empty(), "{method} {path} {status}: no description");
            if let Some(content) = response.get("content") {
                for (media_type, body) in content.as_object().unwrap() {
                    assert!(body.get("schema").is_some(), "{method} {path} {status} {media_type}: no schema");
                }
            } else {
                assert!(matches!(status.as_str(), "202" | "204"), "{method} {path} {status}: no content type");
            }
        }
    }
}

#[test]
fn every_operation_declares_the_errors_it_can_answer() {
    for (method, path, operation) in operations(&contract()) {
        let statuses: Vec<&String> = operation["responses"].as_object().unwrap().keys().collect();
        let has = |status: &str| statuses.iter().any(|s| *s == status);
        let params = operation["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "header" && p["name"] == "If-Match") {
            assert!(has("412"), "{method} {path}: takes If-Match but declares no 412");
        }
        if operation.get("requestBody").is_some() {
            for status in ["413", "415"] {
                assert!(has(status), "{method} {path}: takes a body but declares no {status}");
            }
        }
        if operation.get("security").is_some() {
            for status in ["401", "403"] {
                assert!(has(status), "{method} {path}: needs a token but declares no {status}");
            }
        }
        if path.starts_with("/v1/") {
            assert!(has("503") && has("500"), "{method} {path}: declares no 500 and 503");
        }
    }
}

/// What schemathesis and RFC 9110 try besides the declared methods.
const METHODS: [&str; 7] = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE"];

/// A concrete path for a documented pattern: every `{param}` a random id.
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| if segment.starts_with('{') { kluis_core::new_id() } else { segment.to_owned() })
        .collect::<Vec<_>>()
        .join("/")
}

both_backends! {
    async fn undeclared_methods_answer_405_with_allow(app) {
        let spec = contract();
        let mut checked = 0;
        for (pattern, item) in spec["paths"].as_object().unwrap() {
            let declared: Vec<String> = item.as_object().unwrap().keys().map(|m| m.to_uppercase()).collect();
            let path = concrete(pattern);
            for method in METHODS.iter().filter(|m| !declared.iter().any(|d| d == *m)) {
                let response = app.client.request(method.parse().unwrap(), app.url(&path)).send().await.unwrap();
                let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned());
                let mut allowed: Vec<String> = allow.as_deref().unwrap_or_default().split(", ").map(str::to_owned).collect();
                allowed.sort();
                let mut expected = declared.clone();
                expected.sort();
                assert_eq!(allowed, expected, "{method} {pattern}: Allow");
                let body = assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
                assert!(body["detail"].as_str().unwrap().contains(*method), "{method} {pattern}: {body}");
                checked += 1;
            }
        }
        assert!(checked > 300, "only {checked} undeclared methods tried");
    }

    async fn an_unknown_path_is_404_whatever_the_method(app) {
        for method in METHODS {
            for path in ["/v1/nothing-here", "/v1/people/a/b/c/d", "/v2/people"] {
                let response = app.client.request(method.parse().unwrap(), app.url(path)).send().await.unwrap();
                assert!(response.headers().get("allow").is_none(), "{method} {path}");
                assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
            }
        }
    }

    async fn a_declared_method_is_still_routed_with_its_own_answer(app) {
        // A documented operation without a token is 401, never 405.
        let response = app.client.get(app.url(&concrete("/v1/people/{person_id}"))).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "missing_token");
    }

    async fn the_token_endpoint_answers_a_malformed_json_body_with_an_oauth_error(app) {
        let response = app.client.post(app.url("/v1/oauth/token")).header("content-type", "application/json")
            .body("{\"grant_type\": ").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        let wrong_type = app.client.post(app.url("/v1/oauth/token")).json(&json!({"grant_type": 7})).send().await.unwrap();
        assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
        assert_eq!(wrong_type.json::<Value>().await.unwrap()["error"], "invalid_request");
    }

    async fn metrics_answer_in_the_media_type_the_contract_declares(app) {
        let response = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let served = response.headers()["content-type"].to_str().unwrap().to_owned();
        let declared = contract()["paths"]["/metrics"]["get"]["responses"]["200"]["content"].as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(served, declared);
    }

    async fn an_integer_field_takes_a_whole_number_written_with_a_fraction(app) {
        let tenant = app.new_tenant().await;
        let published = app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "Text"})).await;
        assert_eq!(published.status(), StatusCode::CREATED);
        let person: Value = app.post("/v1/people", &tenant.token, &json!({"first_name": "Ada"})).await.json().await.unwrap();
        let path = format!("/v1/people/{}/acceptances", person["id"].as_str().unwrap());
        let whole = app.post(&path, &tenant.token, &json!({"kind": "privacy", "version": 1.0, "source": "web"})).await;
        assert_eq!(whole.status(), StatusCode::CREATED, "1.0 is the integer 1, as JSON Schema says");
        let fraction = app.post(&path, &tenant.token, &json!({"kind": "privacy", "version": 1.5, "source": "web"})).await;
        let body = assert_problem(fraction, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "version");
    }
}
