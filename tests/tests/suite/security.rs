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
