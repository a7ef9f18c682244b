//! Methods a documented path does not declare: 405 with `Allow` listing the
//! ones it does, as problem+json; a path kluis does not know stays 404.

use kluis_tests::{StatusCode, assert_problem, both_backends};
use serde_json::Value;

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
        let spec = serde_json::to_value(kluis_api::openapi()).unwrap();
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
                assert!(body["detail"].as_str().unwrap().contains(method.as_str()), "{method} {pattern}: {body}");
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
}
