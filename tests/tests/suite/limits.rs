//! Rate limits with `Retry-After` on every flow anyone can drive without a
//! token (issue 13, part 2): password reset requests per address (known and
//! unknown alike) and per IP, challenge answers, mailed links, public policy
//! reads and unsubscribes per IP. Each test runs an app with low limits
//! behind a trusted proxy (127.0.0.1), so `X-Forwarded-For` names the client.

use kluis_server::settings::Settings;
use kluis_tests::{Backend, StatusCode, Tenant, TestApp, assert_problem};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const FIRST: &str = "198.51.100.1";
const SECOND: &str = "198.51.100.2";

async fn spawn(backend: Backend, limits: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        limits(s);
    })
    .await
}

/// POST JSON from the client `ip` (the request is built at once: the
/// future borrows nothing).
fn post_from(app: &TestApp, ip: &str, path: &str, body: &Value) -> impl Future<Output = reqwest::Response> + use<> {
    let request = app.client.post(app.url(path)).header("x-forwarded-for", ip).json(body);
    async move { request.send().await.unwrap() }
}

/// GET from the client `ip`.
fn get_from(app: &TestApp, ip: &str, path: &str) -> impl Future<Output = reqwest::Response> + use<> {
    let request = app.client.get(app.url(path)).header("x-forwarded-for", ip);
    async move { request.send().await.unwrap() }
}

/// A 429 problem with a `Retry-After` of 1 to `window` seconds; returns the problem.
async fn assert_limited(response: reqwest::Response, window: u64) -> Value {
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let retry = retry.unwrap_or_else(|| panic!("no Retry-After on {}", response.status()));
    assert!((1..=window).contains(&retry), "Retry-After {retry} outside 1..={window}");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await
}

/// A person with `email` as primary address and an account.
async fn account(app: &TestApp, tenant: &Tenant, email: &str) -> String {
    let person: Value = app
        .post(
            "/v1/people",
            &tenant.token,
            &json!({"first_name": "Rita", "emails": [{"address": email, "label": "work"}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = person["id"].as_str().unwrap().to_owned();
    let created = app.post(&format!("/v1/people/{id}/account"), &tenant.token, &json!({"password": PASSWORD})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    id
}

async fn password_reset_is_limited_per_address_alike_for_known_and_unknown_and_per_ip(backend: Backend) {
    let Some(app) = spawn(backend, |s| {
        s.limit_password_reset_per_address = "2/1h".parse().unwrap();
        s.limit_password_reset_per_ip = "5/1h".parse().unwrap();
    })
    .await
    else {
        return;
    };
    let tenant = app.new_tenant().await;
    account(&app, &tenant, "known@example.nl").await;
    app.mailed_code("known@example.nl", 1).await;
    let reset = |ip: &'static str, email: &'static str| {
        post_from(&app, ip, "/v1/auth/password-reset", &json!({"tenant": tenant.slug, "email": email}))
    };

    // Known and unknown addresses: the same two 202s, then the same 429.
    let mut limited = Vec::new();
    for (ip, email) in [(FIRST, "known@example.nl"), (SECOND, "nobody@example.nl")] {
        for _ in 0..2 {
            assert_eq!(reset(ip, email).await.status(), StatusCode::ACCEPTED);
        }
        let problem = assert_limited(reset(ip, email).await, 3600).await;
        limited.push((problem["code"].clone(), problem["title"].clone(), problem["status"].clone()));
    }
    assert_eq!(limited[0], limited[1], "a limited address answers alike, known or not");
    // In any case, from another IP: the address is what is limited.
    assert_limited(reset("203.0.113.9", "KNOWN@example.nl").await, 3600).await;
    // Another address from the same IP is not affected.
    assert_eq!(reset(FIRST, "other@example.nl").await.status(), StatusCode::ACCEPTED);
    // Only the two requests let through mailed a reset.
    app.mailed_code("known@example.nl", 3).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(app.mails_to("known@example.nl").len(), 3, "the verification mail and two resets");

    // Per IP: five addresses pass, the sixth request is refused; another IP is not affected.
    for email in ["a@example.nl", "b@example.nl", "c@example.nl", "d@example.nl", "e@example.nl"] {
        assert_eq!(reset("192.0.2.50", email).await.status(), StatusCode::ACCEPTED);
    }
    assert_limited(reset("192.0.2.50", "f@example.nl").await, 3600).await;
    assert_eq!(reset("192.0.2.51", "f@example.nl").await.status(), StatusCode::ACCEPTED);
}

#[actix_web::test]
async fn password_reset_is_limited_per_address_alike_for_known_and_unknown_and_per_ip_sqlite() {
    password_reset_is_limited_per_address_alike_for_known_and_unknown_and_per_ip(Backend::Sqlite).await;
}

#[actix_web::test]
async fn password_reset_is_limited_per_address_alike_for_known_and_unknown_and_per_ip_postgres() {
    password_reset_is_limited_per_address_alike_for_known_and_unknown_and_per_ip(Backend::Postgres).await;
}

async fn challenge_answers_are_limited_per_ip(backend: Backend) {
    let Some(app) = spawn(backend, |s| s.limit_challenge_answers_per_ip = "3/15m".parse().unwrap()).await else {
        return;
    };
    let tenant = app.new_tenant().await;
    account(&app, &tenant, "coder@example.nl").await;
    let token = app.mailed_code("coder@example.nl", 1).await;
    assert_eq!(
        post_from(&app, FIRST, "/v1/auth/verify-email", &json!({"token": token})).await.status(),
        StatusCode::NO_CONTENT
    );
    let login = |user_agent: &'static str| {
        let body = json!({"tenant": tenant.slug, "identifier": "coder@example.nl", "password": PASSWORD, "device": {"user_agent": user_agent}});
        post_from(&app, FIRST, "/v1/auth/login", &body)
    };
    assert_eq!(login("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0").await.status(), StatusCode::OK);
    let step: Value = login("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148 Safari/604.1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(step["kind"], "email_code");
    let code = app.mailed_code("coder@example.nl", 2).await;
    let path = format!("/v1/auth/challenges/{}", step["challenge_id"].as_str().unwrap());

    // Three answers from one IP (wrong codes, then an unknown challenge), then 429, even for the right code.
    for _ in 0..2 {
        assert_problem(
            post_from(&app, FIRST, &path, &json!({"code": "000000"})).await,
            StatusCode::UNAUTHORIZED,
            "invalid_code",
        )
        .await;
    }
    let unknown = format!("/v1/auth/challenges/{}", uuid::Uuid::now_v7());
    assert_problem(
        post_from(&app, FIRST, &unknown, &json!({"code": "000000"})).await,
        StatusCode::UNAUTHORIZED,
        "challenge_invalid",
    )
    .await;
    assert_limited(post_from(&app, FIRST, &path, &json!({"code": code})).await, 900).await;
    // From another IP the right code still works: the refused answer was not a try.
    let answered = post_from(&app, SECOND, &path, &json!({"code": code})).await;
    assert_eq!(answered.status(), StatusCode::OK);
}

#[actix_web::test]
async fn challenge_answers_are_limited_per_ip_sqlite() {
    challenge_answers_are_limited_per_ip(Backend::Sqlite).await;
}

#[actix_web::test]
async fn challenge_answers_are_limited_per_ip_postgres() {
    challenge_answers_are_limited_per_ip(Backend::Postgres).await;
}

async fn mailed_links_are_limited_per_ip_and_the_window_ends(backend: Backend) {
    let Some(app) = spawn(backend, |s| s.limit_email_links_per_ip = "2/2s".parse().unwrap()).await else {
        return;
    };
    let verify = |ip: &'static str| post_from(&app, ip, "/v1/auth/verify-email", &json!({"token": "ktok_guess"}));
    let confirm = |ip: &'static str| {
        post_from(
            &app,
            ip,
            "/v1/auth/password-reset/confirm",
            &json!({"token": "ktok_guess", "new_password": "a new long passphrase"}),
        )
    };
    // Verification and reset confirmation share the budget.
    assert_problem(verify(FIRST).await, StatusCode::BAD_REQUEST, "token_invalid").await;
    assert_problem(confirm(FIRST).await, StatusCode::BAD_REQUEST, "token_invalid").await;
    assert_limited(verify(FIRST).await, 2).await;
    assert_limited(confirm(FIRST).await, 2).await;
    assert_problem(verify(SECOND).await, StatusCode::BAD_REQUEST, "token_invalid").await;
    // Once the window has passed, the IP may try again.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_problem(verify(FIRST).await, StatusCode::BAD_REQUEST, "token_invalid").await;
}

#[actix_web::test]
async fn mailed_links_are_limited_per_ip_and_the_window_ends_sqlite() {
    mailed_links_are_limited_per_ip_and_the_window_ends(Backend::Sqlite).await;
}

#[actix_web::test]
async fn mailed_links_are_limited_per_ip_and_the_window_ends_postgres() {
    mailed_links_are_limited_per_ip_and_the_window_ends(Backend::Postgres).await;
}

async fn public_policy_reads_are_limited_per_ip(backend: Backend) {
    let Some(app) = spawn(backend, |s| s.limit_public_reads_per_ip = "3/1m".parse().unwrap()).await else {
        return;
    };
    let tenant = app.new_tenant().await;
    let published =
        app.post("/v1/policies/privacy/versions", &tenant.token, &json!({"title": "Privacy", "body": "Little."})).await;
    assert_eq!(published.status(), StatusCode::CREATED);
    let slug = tenant.slug.clone();
    let read = |ip: &'static str, path: &'static str| get_from(&app, ip, &format!("/v1/public/{slug}/policies/{path}"));
    // The three reads share one budget, and an unknown tenant counts too.
    assert_eq!(read(FIRST, "privacy").await.status(), StatusCode::OK);
    assert_eq!(read(FIRST, "privacy/versions").await.status(), StatusCode::OK);
    let unknown = get_from(&app, FIRST, "/v1/public/no-such-tenant/policies/privacy").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    for path in ["privacy", "privacy/versions", "privacy/versions/1"] {
        assert_limited(read(FIRST, path).await, 60).await;
    }
    let other = read(SECOND, "privacy/versions/1").await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(other.json::<Value>().await.unwrap()["version"], 1);
}

#[actix_web::test]
async fn public_policy_reads_are_limited_per_ip_sqlite() {
    public_policy_reads_are_limited_per_ip(Backend::Sqlite).await;
}

#[actix_web::test]
async fn public_policy_reads_are_limited_per_ip_postgres() {
    public_policy_reads_are_limited_per_ip(Backend::Postgres).await;
}

async fn unsubscribe_is_limited_per_ip(backend: Backend) {
    let Some(app) = spawn(backend, |s| s.limit_unsubscribe_per_ip = "2/1m".parse().unwrap()).await else {
        return;
    };
    let tenant = app.new_tenant().await;
    let person: Value =
        app.post("/v1/people", &tenant.token, &json!({"first_name": "Ulla"})).await.json().await.unwrap();
    let person = person["id"].as_str().unwrap();
    let grant = json!({"purpose": "marketing_email", "action": "grant", "source": "web"});
    assert_eq!(
        app.post(&format!("/v1/people/{person}/consents"), &tenant.token, &grant).await.status(),
        StatusCode::CREATED
    );
    let history = || async {
        let page: Value =
            app.get(&format!("/v1/people/{person}/consents/history"), &tenant.token).await.json().await.unwrap();
        page["items"].as_array().unwrap().len()
    };
    let link: Value = app
        .get(&format!("/v1/people/{person}/unsubscribe-link?purpose=marketing_email"), &tenant.token)
        .await
        .json()
        .await
        .unwrap();
    let token = link["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let one_click = |ip: &'static str, token: String| {
        app.client
            .post(app.url(&format!("/v1/unsubscribe/{token}")))
            .header("x-forwarded-for", ip)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
    };
    for _ in 0..2 {
        assert_problem(one_click(FIRST, "nonsense".into()).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_link")
            .await;
    }
    // Over the limit even a good link waits, and nothing is recorded.
    assert_limited(one_click(FIRST, token.clone()).await.unwrap(), 60).await;
    assert_eq!(history().await, 1, "nothing recorded");
    // The page a browser opens is limited too: it answers whether a link is
    // valid, so it must not be a free oracle for guessing them.
    let page = |ip: &'static str, token: String| {
        app.client.get(app.url(&format!("/v1/unsubscribe/{token}"))).header("x-forwarded-for", ip).send()
    };
    assert_limited(page(FIRST, token.clone()).await.unwrap(), 60).await;
    const THIRD: &str = "198.51.100.3";
    for _ in 0..2 {
        assert_eq!(page(THIRD, token.clone()).await.unwrap().status(), StatusCode::OK);
    }
    assert_limited(one_click(THIRD, token.clone()).await.unwrap(), 60).await;
    assert_eq!(history().await, 1, "page views record nothing, and the limited POST neither");
    // Another IP is not affected.
    let done = one_click(SECOND, token).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.json::<Value>().await.unwrap()["purpose"], "marketing_email");
    assert_eq!(history().await, 2);
}

#[actix_web::test]
async fn unsubscribe_is_limited_per_ip_sqlite() {
    unsubscribe_is_limited_per_ip(Backend::Sqlite).await;
}

#[actix_web::test]
async fn unsubscribe_is_limited_per_ip_postgres() {
    unsubscribe_is_limited_per_ip(Backend::Postgres).await;
}
