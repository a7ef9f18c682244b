//! The OpenAPI contract: served, 3.1, equal to the committed file, and
//! listing exactly the routes the app serves.

use std::collections::BTreeSet;

use kluis_tests::{StatusCode, both_backends};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn committed() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn committed_openapi_equals_generated() {
    let generated = serde_json::to_value(kluis_api::openapi()).unwrap();
    assert!(generated == committed(), "openapi/openapi.json is stale: run `make openapi` and commit it");
}

fn committed_3_0() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi-3.0.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi-3.0.json is committed");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn committed_openapi_3_0_equals_generated() {
    assert!(
        kluis_api::openapi_3_0() == committed_3_0(),
        "openapi/openapi-3.0.json is stale: run `make openapi` and commit it"
    );
}

#[test]
fn the_3_0_document_has_every_operation_and_schema_of_the_3_1_one() {
    let (v31, v30) = (committed(), committed_3_0());
    assert_eq!(v30["openapi"], "3.0.3");
    let operations = |doc: &Value| -> BTreeSet<String> {
        doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| format!("{m} {path}")))
            .collect()
    };
    assert_eq!(operations(&v30), operations(&v31));
    let schemas = |doc: &Value| -> BTreeSet<String> {
        doc["components"]["schemas"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(schemas(&v30), schemas(&v31));
    // A nullable field of 3.1 is nullable in 3.0.
    let text31 = v31.to_string();
    let nullable31 = text31.matches("\"null\"").count();
    let nullable30 = v30.to_string().matches("\"nullable\":true").count();
    assert_eq!(nullable30, nullable31, "each null of 3.1 is one `nullable` in 3.0");
}

both_backends! {
    async fn served_openapi_3_0_equals_the_committed_one(app) {
        let response = app.client.get(app.url("/openapi-3.0.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let served: Value = response.json().await.unwrap();
        assert!(served == committed_3_0(), "served 3.0 document differs from openapi/openapi-3.0.json");
    }

    async fn served_openapi_is_3_1_and_equals_the_contract(app) {
        let response = app.client.get(app.url("/openapi.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let served: Value = response.json().await.unwrap();
        assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(served == committed(), "served document differs from openapi/openapi.json");
        assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        // Every operation documents its error answers.
        for (path, item) in served["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                if path.starts_with("/v1/") {
                    assert!(responses.keys().any(|s| s.starts_with('4')), "{method} {path} documents no 4xx");
                }
            }
        }
    }

    async fn the_app_serves_exactly_the_documented_routes(app) {
        // The public policy routes answer without a token, so they need a
        // tenant with a published policy to answer anything but 404.
        let tenant = app.new_tenant().await;
        let published = app.post("/v1/policies/privacy/versions", &tenant.token, &serde_json::json!({"title": "Privacy", "body": "Text"})).await;
        assert_eq!(published.status(), StatusCode::CREATED);
        let spec = serde_json::to_value(kluis_api::openapi()).unwrap();
        let mut documented = BTreeSet::new();
        let mut served = BTreeSet::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            let mut concrete = path.clone();
            for param in [
                "{tenant_id}", "{client_id}", "{person_id}", "{contact_id}", "{reference_id}", "{challenge_id}",
                "{session_id}", "{device_id}", "{passkey_id}", "{key}", "{recipient_id}", "{token}", "{purpose}", "{hold_id}", "{erasure_id}",
            ] {
                concrete = concrete.replace(param, &kluis_core::new_id());
            }
            concrete = concrete.replace("{tenant_slug}", &tenant.slug).replace("{kind}", "privacy").replace("{version}", "1");
            for method in item.as_object().unwrap().keys() {
                documented.insert(format!("{method} {path}"));
            }
            for method in METHODS {
                let request = app.client.request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
                let response = request.send().await.unwrap();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                // The fallback answers every unrouted request with one of these codes and nothing
                // else does without a token.
                let unrouted = body["code"] == "not_found" || body["code"] == "method_not_allowed";
                if !unrouted {
                    served.insert(format!("{method} {path}"));
                }
            }
        }
        assert_eq!(documented.len(), 210, "{documented:#?}");
        assert_eq!(served, documented);
    }
}
