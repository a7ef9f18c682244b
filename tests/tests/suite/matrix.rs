//! The security matrix, generated from the contract. For every operation the
//! served OpenAPI document gives a bearer scope: no or a bad token is 401, a
//! token without that scope (or of the wrong kind of caller) is 403, and
//! another tenant's ids are answered 404 with exactly the bytes of ids that
//! never existed, leaving the other tenant unchanged. The tables here only
//! say how to drive an operation; which operations exist comes from the
//! document, so a route added later is covered by construction, and one the
//! tables cannot drive fails by name.

use std::collections::BTreeSet;
use std::future::Future;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use kluis_api::auth::Claims;
use kluis_core::Scope;
use kluis_tests::{StatusCode, Tenant, TestApp, both_backends, claims_of, header_of};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";
const BROWSER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
/// Requests in flight at once: a short run without crowding a shared machine.
const IN_FLIGHT: usize = 8;

/// Operations that answer an id that names nothing with another status than
/// 404. Each entry is a finding for the lead, not a design: the victim's id
/// must still get byte for byte the answer a random id gets, and an entry
/// that no longer applies fails the test so that it is removed. None now.
const NOT_404_FOR_UNKNOWN_IDS: &[(&str, u16, &str)] = &[];

/// Operations whose control (the same request on the caller's own ids) is
/// not a success for a reason of state, not of access.
const CONTROL_ANSWERS: &[(&str, u16, &str)] = &[
    ("POST /v1/people/{person_id}/account", 409, "the person has an account already"),
    ("DELETE /v1/purposes/{key}", 409, "the ledger holds a consent for it"),
    ("DELETE /v1/attributes/{key}", 409, "the main person holds a value of it"),
    ("DELETE /v1/people/{person_id}", 409, "the control of POST .../holds placed a legal hold on the person"),
    ("POST /v1/requests/{request_id}/refuse", 409, "the control of .../complete closed the request first"),
    (
        "GET /v1/me/requests/{request_id}/export",
        410,
        "the signed-in person's request is not completed: no export waits",
    ),
];

/// The steps of a request, in the order its controls take them.
const REQUEST_STEPS: [&str; 4] = ["verify", "extend", "complete", "refuse"];

/// Who an operation is for, from the scope it declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Realm {
    /// `tenants:admin`: the platform operator.
    Operator,
    /// Any other scope: a client (or staff member) of a tenant.
    Tenant,
    /// `self`: a signed-in person.
    Person,
}

/// One operation of the contract that declares a bearer scope.
#[derive(Clone, Debug)]
struct Op {
    method: Method,
    path: String,
    scope: String,
    body: bool,
    path_params: Vec<String>,
    query_params: Vec<String>,
    required_query: Vec<String>,
    /// Takes an `If-Match` precondition.
    if_match: bool,
}

impl Op {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn realm(&self) -> Realm {
        match self.scope.as_str() {
            "tenants:admin" => Realm::Operator,
            "self" => Realm::Person,
            _ => Realm::Tenant,
        }
    }
}

/// Every operation of `doc` with `security[0].bearer[0]`.
fn operations(doc: &Value) -> Vec<Op> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let Some(scope) = operation.pointer("/security/0/bearer/0").and_then(Value::as_str) else { continue };
            let params = operation["parameters"].as_array().cloned().unwrap_or_default();
            let named = |place: &str, required_only: bool| -> Vec<String> {
                params
                    .iter()
                    .filter(|p| p["in"] == place && (!required_only || p["required"] == true))
                    .map(|p| p["name"].as_str().expect("a parameter name").to_owned())
                    .collect()
            };
            ops.push(Op {
                method: Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("an HTTP method"),
                path: path.clone(),
                scope: scope.to_owned(),
                body: operation.get("requestBody").is_some(),
                path_params: named("path", false),
                query_params: named("query", false),
                required_query: named("query", true),
                if_match: named("header", false).iter().any(|h| h.eq_ignore_ascii_case("if-match")),
            });
        }
    }
    ops
}

/// What a path parameter stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    /// Names a thing that belongs to a tenant (or to a person in it).
    Id(Kind),
    /// Not an id: always this valid value.
    Fixed(&'static str),
}

/// The kinds of things a path names; the victim has one of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Person,
    Email,
    Phone,
    Address,
    Website,
    Reference,
    Device,
    Session,
    Passkey,
    Client,
    Purpose,
    /// A tenant-defined attribute, by key.
    Attribute,
    Recipient,
    Policy,
    Sweep,
    Tenant,
    Hold,
    Erasure,
    Webhook,
    Delivery,
    Request,
    Export,
    Backup,
    Breach,
    ServiceItem,
    ServiceCredential,
    ServiceBackup,
    ServiceNote,
}

impl Kind {
    /// Things of one person, which another person of the same tenant must not reach either.
    fn personal(self) -> bool {
        matches!(
            self,
            Kind::Email
                | Kind::Phone
                | Kind::Address
                | Kind::Website
                | Kind::Reference
                | Kind::Device
                | Kind::Session
                | Kind::Passkey
                | Kind::Request
        )
    }

    /// A value of this kind that names nothing.
    fn random(self) -> String {
        match self {
            Kind::Purpose | Kind::Attribute => format!("matrix_{}", letters()),
            _ => uuid::Uuid::now_v7().to_string(),
        }
    }
}

/// 32 random letters: random, and without the runs of digits that kluis
/// refuses in free text as possible payment card numbers.
fn letters() -> String {
    let hex = uuid::Uuid::now_v7().simple().to_string();
    hex.chars().map(|c| if c.is_ascii_digit() { char::from(b'g' + (c as u8 - b'0')) } else { c }).collect()
}

/// What `{param}` in `path` names; a parameter the matrix does not know is an error to fix here.
fn classify(path: &str, param: &str) -> Result<Param, String> {
    Ok(match param {
        "person_id" => Param::Id(Kind::Person),
        "contact_id" => {
            let before = path.split("/{contact_id}").next().unwrap_or_default();
            match before.rsplit('/').next().unwrap_or_default() {
                "emails" => Param::Id(Kind::Email),
                "phones" => Param::Id(Kind::Phone),
                "addresses" => Param::Id(Kind::Address),
                "websites" => Param::Id(Kind::Website),
                other => {
                    return Err(format!("{path}: a contact of kind `{other}` is unknown to the matrix (classify)"));
                }
            }
        }
        "reference_id" => Param::Id(Kind::Reference),
        "device_id" => Param::Id(Kind::Device),
        "session_id" => Param::Id(Kind::Session),
        "passkey_id" => Param::Id(Kind::Passkey),
        "client_id" => Param::Id(Kind::Client),
        "recipient_id" => Param::Id(Kind::Recipient),
        "policy_id" => Param::Id(Kind::Policy),
        "sweep_id" => Param::Id(Kind::Sweep),
        "key" if path.starts_with("/v1/attributes/") => Param::Id(Kind::Attribute),
        "key" | "purpose" => Param::Id(Kind::Purpose),
        "tenant_id" => Param::Id(Kind::Tenant),
        "hold_id" => Param::Id(Kind::Hold),
        "erasure_id" => Param::Id(Kind::Erasure),
        "webhook_id" => Param::Id(Kind::Webhook),
        "delivery_id" => Param::Id(Kind::Delivery),
        "request_id" => Param::Id(Kind::Request),
        "export_id" => Param::Id(Kind::Export),
        "backup_id" if path.contains("/service-items/") => Param::Id(Kind::ServiceBackup),
        "backup_id" => Param::Id(Kind::Backup),
        "item_id" => Param::Id(Kind::ServiceItem),
        "credential_id" => Param::Id(Kind::ServiceCredential),
        "note_id" => Param::Id(Kind::ServiceNote),
        "breach_id" => Param::Id(Kind::Breach),
        "kind" => Param::Fixed("terms"),
        other => {
            return Err(format!(
                "{path}: path parameter {{{other}}} is unknown to the matrix: say in `classify` which id it names or which fixed value it takes"
            ));
        }
    })
}

/// A valid value for a required query parameter, with the ids in use.
fn query_value(name: &str, id: &dyn Fn(Kind) -> String) -> Option<String> {
    Some(match name {
        // A default purpose: every tenant has it.
        "purpose" => "marketing_email".to_owned(),
        "person_id" => id(Kind::Person),
        "from" | "to" => time::OffsetDateTime::now_utc().date().to_string(),
        _ => return None,
    })
}

/// A valid body for each operation that names something by id and takes a
/// body, so that its 404 comes from the lookup and not from validation.
/// Every PATCH takes `{}` (a change of nothing).
fn valid_body(method: &Method, path: &str) -> Option<Value> {
    if method == Method::PATCH {
        return Some(json!({}));
    }
    let body = match (method.as_str(), path) {
        ("PUT", "/v1/me/consents/{purpose}") => json!({"action": "withdraw"}),
        ("POST", "/v1/people/{person_id}/acceptances") => json!({"kind": "terms", "version": 1, "source": "admin"}),
        ("POST", "/v1/people/{person_id}/account") => json!({}),
        ("POST", "/v1/people/{person_id}/account/password") => json!({"password": "another correct horse battery"}),
        ("POST", "/v1/people/{person_id}/addresses") => json!({"country": "NL", "city": "Utrecht", "label": "work"}),
        ("POST", "/v1/people/{person_id}/consents") => {
            json!({"purpose": "marketing_email", "action": "withdraw", "source": "admin"})
        }
        ("POST", "/v1/people/{person_id}/holds") => json!({"reason": "matrix hold"}),
        ("PUT", "/v1/people/{person_id}/restriction") => json!({"reason": "matrix restriction"}),
        ("POST", "/v1/requests/{request_id}/verify") => json!({}),
        ("POST", "/v1/requests/{request_id}/extend") => json!({"months": 1, "reason": "matrix extension"}),
        ("POST", "/v1/requests/{request_id}/complete") => json!({}),
        ("POST", "/v1/requests/{request_id}/refuse") => json!({"reason": "not_applicable", "text": "matrix refusal"}),
        ("POST", "/v1/breaches/{breach_id}/notify-subjects") => json!({"data_categories": ["user.contact.email"]}),
        ("POST", "/v1/people/{person_id}/emails") => json!({"address": "matrix@example.org", "label": "work"}),
        ("POST", "/v1/people/{person_id}/phones") => json!({"number": "+31201234560", "label": "work"}),
        ("POST", "/v1/people/{person_id}/references") => json!({"app": "matrix", "external_ref": "matrix-1"}),
        ("POST", "/v1/people/{person_id}/websites") => json!({"url": "https://matrix.example.org", "label": "work"}),
        ("POST", "/v1/people/{person_id}/service-items") => json!({"kind": "laptop", "request": "matrix repair"}),
        ("POST", "/v1/people/{person_id}/service-items/{item_id}/credentials") => {
            json!({"kind": "wifi", "label": "matrix", "login": "matrix", "secret": "matrix secret"})
        }
        ("POST", "/v1/people/{person_id}/service-items/{item_id}/credentials/{credential_id}/reveal") => {
            json!({"reason": "matrix reveal"})
        }
        ("POST", "/v1/people/{person_id}/service-items/{item_id}/backups") => {
            json!({"location": "matrix shelf", "encrypted": true})
        }
        ("POST", "/v1/people/{person_id}/service-notes") => {
            json!({"kind": "contract", "title": "matrix contract", "body": "matrix"})
        }
        _ => return None,
    };
    Some(body)
}

/// A response, whole.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn show(&self) -> String {
        format!("{} {}", self.status.as_u16(), self.body)
    }
}

/// One request, ready to send.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    target: String,
    body: Option<Value>,
    /// An `If-Match` header.
    if_match: Option<&'static str>,
}

async fn send(app: &TestApp, call: &Call, token: Option<&str>) -> Answer {
    let mut request = app.client.request(call.method.clone(), app.url(&call.target));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = &call.body {
        request = request.json(body);
    }
    if let Some(etag) = call.if_match {
        request = request.header("if-match", etag);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{} {}: {e}", call.method, call.target));
    let status = response.status();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Answer { status, content_type, body: response.text().await.expect("a body") }
}

/// Run `futures` a few at a time.
async fn all<T>(futures: Vec<impl Future<Output = T>>) -> Vec<T> {
    futures_util::stream::iter(futures).buffer_unordered(IN_FLIGHT).collect().await
}

/// What `assert_problem` asserts, as a finding instead of a panic, so that
/// one run names every operation that fails. `code: None` takes any code.
fn problem_error(answer: &Answer, status: StatusCode, code: Option<&str>) -> Option<String> {
    if answer.status != status {
        return Some(format!("expected {status}, got {}", answer.show()));
    }
    if answer.content_type.as_deref() != Some("application/problem+json") {
        return Some(format!("not problem+json ({:?}): {}", answer.content_type, answer.show()));
    }
    let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
        return Some(format!("not JSON: {}", answer.show()));
    };
    if let Some(code) = code
        && body["code"] != code
    {
        return Some(format!("expected code {code}: {}", answer.show()));
    }
    let complete = body["status"] == status.as_u16()
        && body["code"].is_string()
        && body["title"].is_string()
        && body["detail"].is_string()
        && body["type"].is_string();
    (!complete).then(|| format!("an incomplete problem: {}", answer.show()))
}

/// The request for `op` with every id given by `id`, required query
/// parameters filled in and, where it takes one, a valid body (or `{}`).
fn call(op: &Op, id: &dyn Fn(Kind) -> String) -> Result<Call, String> {
    call_with(op, id, None)
}

/// [`call`], with one query parameter set to a given value.
fn call_with(op: &Op, id: &dyn Fn(Kind) -> String, set: Option<(&str, &str)>) -> Result<Call, String> {
    let mut target = op.path.clone();
    for param in &op.path_params {
        let value = match classify(&op.path, param)? {
            Param::Id(kind) => id(kind),
            Param::Fixed(value) => value.to_owned(),
        };
        target = target.replace(&format!("{{{param}}}"), &value);
    }
    let mut query = Vec::new();
    for name in &op.required_query {
        if set.is_some_and(|(set, _)| set == name) {
            continue;
        }
        let value = query_value(name, id)
            .ok_or_else(|| format!("{}: required query parameter `{name}` has no value in `query_value`", op.name()))?;
        query.push(format!("{name}={value}"));
    }
    if let Some((name, value)) = set {
        query.push(format!("{name}={value}"));
    }
    if !query.is_empty() {
        target = format!("{target}?{}", query.join("&"));
    }
    let body = op.body.then(|| valid_body(&op.method, &op.path).unwrap_or_else(|| json!({})));
    Ok(Call { method: op.method.clone(), target, body, if_match: None })
}

/// Sign `claims` with the app's real current key.
fn sign(app: &TestApp, claims: &Claims) -> String {
    let mut conn = app.conn();
    app.state.tokens.sign(&mut conn, claims).expect("signed")
}

/// Tokens that must be refused, made from a valid one: garbage, `alg: none`
/// over its real payload, and, signed with the real key, expired and
/// addressed to another audience.
fn forged(app: &TestApp, valid: &str) -> Vec<(&'static str, String)> {
    let claims: Claims = serde_json::from_value(claims_of(valid)).expect("kluis claims");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = Claims { iat: now - 1200, nbf: now - 1200, exp: now - 120, ..claims.clone() };
    let elsewhere = Claims { aud: "someone-else".to_owned(), ..claims };
    let kid = header_of(valid)["kid"].as_str().expect("a kid").to_owned();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let payload = valid.split('.').nth(1).expect("a JWT payload");
    vec![
        ("garbage", "garbage".to_owned()),
        ("alg none", format!("{header}.{payload}.")),
        ("expired", sign(app, &expired)),
        ("wrong audience", sign(app, &elsewhere)),
    ]
}

async fn created(what: &str, response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert_eq!(status, StatusCode::CREATED, "{what}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

/// Sign in from the one (trusted) device; the access token and its session id.
async fn sign_in(app: &TestApp, tenant: &Tenant, email: &str) -> (Value, String) {
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"tenant": tenant.slug, "identifier": email, "password": PASSWORD, "device": {"user_agent": BROWSER}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "sign-in of {email}");
    let session: Value = response.json().await.unwrap();
    let sid = claims_of(session["access_token"].as_str().unwrap())["sid"].as_str().expect("a session").to_owned();
    (session, sid)
}

/// A person with one contact of each kind, a reference and an account,
/// signed in twice from one device: the first session's token is theirs,
/// the second session is one they may end.
#[derive(Clone, Debug)]
struct Human {
    id: String,
    token: String,
    device: String,
    session: String,
    spare_session: String,
    /// A passkey of theirs.
    passkey: String,
    email: String,
    phone: String,
    address: String,
    website: String,
    reference: String,
    /// An access request of theirs.
    request: String,
    email_address: String,
    last_name: String,
    username: String,
    /// What no other tenant may be shown of them.
    values: Vec<String>,
}

async fn human(app: &TestApp, tenant: &Tenant, label: &str, party: &str, phone: &str) -> Human {
    let email_address = format!("{label}@{party}.example");
    let last_name = format!("{label}sdottir");
    let street = format!("{label}straat");
    let website = format!("https://{label}.{party}.example");
    let external_ref = format!("{label}-ref-0001");
    let username = format!("{label}-user");
    let body = json!({
        "first_name": label, "last_name": last_name,
        "emails": [{"address": email_address, "label": "private"}],
        "phones": [{"number": phone, "label": "private"}],
        "addresses": [{"street": street, "house_number": "7", "postal_code": "1234ab", "city": "Utrecht", "country": "NL", "label": "private"}],
        "websites": [{"url": website, "label": "private"}],
    });
    let person = created("person", app.post("/v1/people", &tenant.token, &body).await).await;
    let id = person["id"].as_str().unwrap().to_owned();
    let first = |list: &str| person[list][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/people/{id}");
    let reference = json!({"app": "shop", "external_ref": external_ref});
    let reference =
        created("reference", app.post(&format!("{path}/references"), &tenant.token, &reference).await).await;
    let account = json!({"username": username, "password": PASSWORD});
    created("account", app.post(&format!("{path}/account"), &tenant.token, &account).await).await;
    let request = json!({"kind": "access", "person_id": id});
    let request = created("request", app.post("/v1/requests", &tenant.token, &request).await).await;
    let (session, sid) = sign_in(app, tenant, &email_address).await;
    let (_, spare_session) = sign_in(app, tenant, &email_address).await;
    crate::passkeys::relying_party(app, tenant).await;
    let token = session["access_token"].as_str().unwrap();
    let mut authenticator = crate::passkeys::SoftAuthenticator::new();
    let passkey = crate::passkeys::register(app, token, &mut authenticator, &format!("{label} key")).await;
    Human {
        passkey: passkey["id"].as_str().unwrap().to_owned(),
        token: session["access_token"].as_str().unwrap().to_owned(),
        device: session["device_id"].as_str().expect("a device").to_owned(),
        session: sid,
        spare_session,
        email: first("emails"),
        phone: first("phones"),
        address: first("addresses"),
        website: first("websites"),
        reference: reference["id"].as_str().unwrap().to_owned(),
        request: request["id"].as_str().unwrap().to_owned(),
        values: vec![
            id.clone(),
            email_address.clone(),
            last_name.clone(),
            username.clone(),
            phone.to_owned(),
            street,
            website,
            external_ref,
        ],
        id,
        email_address,
        last_name,
        username,
    }
}

/// A tenant with one of everything that has an id: two people with all of
/// theirs, a client, a purpose of its own, a recipient, a consent, a policy
/// version and an acceptance, a visit.
struct Party {
    tenant: Tenant,
    main: Human,
    other: Human,
    client: String,
    purpose: String,
    /// A tenant-defined attribute of its own, which `main` holds a value of.
    attribute: String,
    recipient: String,
    /// A legal hold on `main`.
    hold: String,
    /// The receipt of an erased third person.
    erasure: String,
    /// A webhook endpoint, told of that erasure.
    webhook: String,
    /// Its `person.erased` delivery.
    delivery: String,
    /// A tenant export job.
    export: String,
    /// A finished backup, made last (a restore's control brings back the party as it was).
    backup: String,
    /// A high-risk breach in its register.
    breach: String,
    /// A serviced item of `main`, with a sealed credential, a customer-data backup record, and a note.
    service_item: String,
    service_credential: String,
    service_backup: String,
    service_note: String,
    policy: String,
    sweep: String,
    /// What no other tenant may be shown of it.
    secrets: Vec<String>,
}

async fn party(app: &TestApp, name: &str, main: &str, other: &str, phones: [&str; 2]) -> Party {
    let tenant = app.new_tenant().await;
    let t = tenant.token.clone();
    let main = human(app, &tenant, main, name, phones[0]).await;
    let other = human(app, &tenant, other, name, phones[1]).await;
    let purpose = format!("{name}_only_newsletter");
    let body = json!({"key": purpose, "name": "Newsletter", "description": "Only this tenant has it.",
        "legal_basis": "consent", "data_categories": ["user.name", "user.contact.email"], "retention": "P2Y"});
    created("purpose", app.post("/v1/purposes", &t, &body).await).await;
    let attribute = format!("{name}_sector");
    let body = json!({"key": attribute, "type": "string", "category": "user.business", "purposes": [purpose]});
    created("attribute", app.post("/v1/attributes", &t, &body).await).await;
    let attribute_value = format!("{name} only sector");
    let body = json!({"attributes": {&attribute: attribute_value}});
    let valued = app.patch(&format!("/v1/people/{}", main.id), &t, &body).await;
    assert_eq!(valued.status(), StatusCode::OK, "an attribute value");
    let recipient_name = format!("{name} Mailer B.V.");
    let body = json!({"name": recipient_name, "role": "processor", "country": "NL"});
    let recipient = created("recipient", app.post("/v1/recipients", &t, &body).await).await;
    let recipient = recipient["id"].as_str().unwrap().to_owned();
    let person = format!("/v1/people/{}", main.id);
    let consent = json!({"purpose": purpose, "action": "grant", "source": "web"});
    created("consent", app.post(&format!("{person}/consents"), &t, &consent).await).await;
    let policy_title = format!("{name} terms");
    let policy = json!({"title": policy_title, "body": "Only for this tenant."});
    created("policy", app.post("/v1/policies/terms/versions", &t, &policy).await).await;
    let acceptance = json!({"kind": "terms", "version": 1, "source": "web"});
    created("acceptance", app.post(&format!("{person}/acceptances"), &t, &acceptance).await).await;
    let client = app.new_client(&tenant, &["people:read"]).await.client_id;
    let hold_reason = format!("{name} court case");
    let hold = created("hold", app.post(&format!("{person}/holds"), &t, &json!({"reason": hold_reason})).await).await;
    let hold = hold["id"].as_str().unwrap().to_owned();
    let hook_url = format!("https://hooks.{name}.example/kluis");
    let body = json!({"url": hook_url, "event_types": ["person.erased"]});
    let hook = created("webhook", app.post("/v1/webhooks", &t, &body).await).await;
    let (webhook, hook_secret) = (hook["id"].as_str().unwrap().to_owned(), hook["secret"].as_str().unwrap().to_owned());
    let third = created("person", app.post("/v1/people", &t, &json!({"first_name": "Third"})).await).await;
    let erased = app.delete(&format!("/v1/people/{}", third["id"].as_str().unwrap()), &t).await;
    assert_eq!(erased.status(), StatusCode::OK, "erasure of a third person");
    let erasure: Value = erased.json().await.unwrap();
    let delivery = erasure["webhooks"][0]["delivery_id"].as_str().expect("the webhook was told").to_owned();
    let erasure = erasure["id"].as_str().unwrap().to_owned();
    // A restriction on `main`, so that its GET has one to show.
    let body = json!({"reason": format!("{name} dispute")});
    let restricted =
        app.client.put(app.url(&format!("{person}/restriction"))).bearer_auth(&t).json(&body).send().await.unwrap();
    assert!(restricted.status().is_success(), "restriction: {}", restricted.status());
    let export = app.post("/v1/exports", &t, &json!({})).await;
    assert_eq!(export.status(), StatusCode::ACCEPTED, "export job");
    let export: Value = export.json().await.unwrap();
    let export = export["id"].as_str().unwrap().to_owned();
    let visit_path = format!("/matrix/{name}-only-page");
    let visit = app.post("/v1/visits", &t, &json!({"path": visit_path})).await;
    assert!(visit.status().is_success(), "visit: {}", visit.status());
    let policies: Value = app.get("/v1/retention/policies", &t).await.json().await.unwrap();
    let policy = policies["items"][0]["id"].as_str().expect("a default retention policy").to_owned();
    let sweep = created("sweep", app.post("/v1/retention/sweeps?dry_run=true", &t, &json!({})).await).await;
    let sweep = sweep["id"].as_str().unwrap().to_owned();
    let breach_text = format!("{name} laptop stolen");
    let detected = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let detected = detected.format(&time::format_description::well_known::Rfc3339).unwrap();
    let body = json!({"detected_at": detected, "description": breach_text, "data_categories": ["user.contact.email"],
        "risk": "high_risk"});
    let breach = created("breach", app.post("/v1/breaches", &t, &body).await).await;
    let breach = breach["id"].as_str().unwrap().to_owned();
    let serial = format!("{name}-SN-{}", letters());
    let body = json!({"kind": "laptop", "serial": serial, "request": "Replace the disk"});
    let item = created("service item", app.post(&format!("{person}/service-items"), &t, &body).await).await;
    let service_item = item["id"].as_str().unwrap().to_owned();
    let item_path = format!("{person}/service-items/{service_item}");
    let (login, secret) = (format!("{name}-login@example.org"), format!("{name}-secret-{}", letters()));
    let body = json!({"kind": "apple_id", "label": "Apple ID", "login": login, "secret": secret});
    let credential = created("credential", app.post(&format!("{item_path}/credentials"), &t, &body).await).await;
    let service_credential = credential["id"].as_str().unwrap().to_owned();
    let location = format!("{name} NAS shelf");
    let body = json!({"location": location, "encrypted": true});
    let service_backup = created("service backup", app.post(&format!("{item_path}/backups"), &t, &body).await).await;
    let service_backup = service_backup["id"].as_str().unwrap().to_owned();
    let note_title = format!("{name} maintenance contract");
    let body = json!({"kind": "contract", "title": note_title, "body": "Two visits a year."});
    let note = created("service note", app.post(&format!("{person}/service-notes"), &t, &body).await).await;
    let service_note = note["id"].as_str().unwrap().to_owned();
    let backup = app.post("/v1/backups", &t, &json!({})).await;
    assert_eq!(backup.status(), StatusCode::ACCEPTED, "backup");
    let backup: Value = backup.json().await.unwrap();
    let backup = backup["id"].as_str().unwrap().to_owned();
    for _ in 0..600 {
        let state: Value = app.get(&format!("/v1/backups/{backup}"), &t).await.json().await.unwrap();
        if state["state"] != "running" {
            assert_eq!(state["state"], "done", "backup: {state}");
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let mut secrets = vec![
        tenant.id.clone(),
        tenant.slug.clone(),
        tenant.admin.client_id.clone(),
        client.clone(),
        purpose.clone(),
        attribute.clone(),
        attribute_value,
        recipient.clone(),
        recipient_name,
        policy.clone(),
        sweep.clone(),
        policy_title,
        visit_path,
        hold.clone(),
        hold_reason,
        erasure.clone(),
        webhook.clone(),
        delivery.clone(),
        export.clone(),
        backup.clone(),
        breach.clone(),
        breach_text,
        hook_secret,
        hook_url,
        service_item.clone(),
        service_credential.clone(),
        service_backup.clone(),
        service_note.clone(),
        serial,
        login,
        secret,
        location,
        note_title,
    ];
    for human in [&main, &other] {
        secrets.extend(human.values.iter().cloned());
        secrets.extend(
            [
                &human.email,
                &human.phone,
                &human.address,
                &human.website,
                &human.reference,
                &human.device,
                &human.passkey,
                &human.request,
            ]
            .map(|id| id.clone()),
        );
        secrets.extend([human.session.clone(), human.spare_session.clone()]);
    }
    Party {
        tenant,
        main,
        other,
        client,
        purpose,
        attribute,
        recipient,
        hold,
        erasure,
        webhook,
        delivery,
        export,
        backup,
        breach,
        service_item,
        service_credential,
        service_backup,
        service_note,
        policy,
        sweep,
        secrets,
    }
}

impl Party {
    /// The id of `kind`: a person's things are `who`'s, and their session the current one.
    fn id(&self, kind: Kind, who: &Human) -> String {
        match kind {
            Kind::Person => who.id.clone(),
            Kind::Email => who.email.clone(),
            Kind::Phone => who.phone.clone(),
            Kind::Address => who.address.clone(),
            Kind::Website => who.website.clone(),
            Kind::Reference => who.reference.clone(),
            Kind::Device => who.device.clone(),
            Kind::Session => who.session.clone(),
            Kind::Passkey => who.passkey.clone(),
            Kind::Client => self.client.clone(),
            Kind::Purpose => self.purpose.clone(),
            Kind::Attribute => self.attribute.clone(),
            Kind::Recipient => self.recipient.clone(),
            Kind::Policy => self.policy.clone(),
            Kind::Sweep => self.sweep.clone(),
            Kind::Tenant => self.tenant.id.clone(),
            Kind::Hold => self.hold.clone(),
            Kind::Erasure => self.erasure.clone(),
            Kind::Webhook => self.webhook.clone(),
            Kind::Delivery => self.delivery.clone(),
            Kind::Request => who.request.clone(),
            Kind::Export => self.export.clone(),
            Kind::Backup => self.backup.clone(),
            Kind::Breach => self.breach.clone(),
            Kind::ServiceItem => self.service_item.clone(),
            Kind::ServiceCredential => self.service_credential.clone(),
            Kind::ServiceBackup => self.service_backup.clone(),
            Kind::ServiceNote => self.service_note.clone(),
        }
    }

    /// The first secret of this party in `body`.
    fn leak(&self, body: &str) -> Option<&str> {
        self.secrets.iter().find(|s| body.contains(s.as_str())).map(String::as_str)
    }
}

/// What the victim's admin sees of everything it has.
async fn snapshot(app: &TestApp, victim: &Party) -> Vec<(String, Answer)> {
    let p = format!("/v1/people/{}", victim.main.id);
    let paths = [
        p.clone(),
        format!("{p}/emails"),
        format!("{p}/phones"),
        format!("{p}/addresses"),
        format!("{p}/websites"),
        format!("{p}/references"),
        format!("{p}/consents"),
        format!("{p}/consents/history"),
        format!("{p}/acceptances"),
        format!("{p}/account"),
        format!("{p}/devices"),
        format!("{p}/service-items"),
        format!("{p}/service-items/{}/credentials", victim.service_item),
        format!("{p}/service-items/{}/backups", victim.service_item),
        format!("{p}/service-notes"),
        format!("/v1/people/{}", victim.other.id),
        "/v1/people".to_owned(),
        format!("/v1/clients/{}", victim.client),
        "/v1/clients".to_owned(),
        format!("/v1/purposes/{}", victim.purpose),
        "/v1/purposes".to_owned(),
        format!("/v1/attributes/{}", victim.attribute),
        "/v1/attributes".to_owned(),
        "/v1/attributes/schema".to_owned(),
        format!("/v1/recipients/{}", victim.recipient),
        "/v1/recipients".to_owned(),
        "/v1/policies/terms/versions".to_owned(),
    ];
    let mut seen = Vec::new();
    for path in paths {
        let call = Call { method: Method::GET, target: path.clone(), body: None, if_match: None };
        let answer = send(app, &call, Some(&victim.tenant.token)).await;
        assert_eq!(answer.status, StatusCode::OK, "victim's own {path}: {}", answer.body);
        seen.push((path, answer));
    }
    seen
}

/// The newest audit entry of a tenant.
async fn last_audit_seq(app: &TestApp, token: &str) -> i64 {
    let page: Value = app.get("/v1/audit/events?limit=1", token).await.json().await.unwrap();
    page["items"][0]["seq"].as_i64().expect("an audit entry")
}

/// The callers of one test: an attacker tenant (its admin, and its second
/// person signed in), the operator, and a token per tenant scope holding
/// every tenant scope but that one.
struct Callers {
    attacker: Party,
    operator: String,
    lacking: Vec<(String, String)>,
}

impl Callers {
    fn token(&self, realm: Realm) -> &str {
        match realm {
            Realm::Operator => &self.operator,
            Realm::Tenant => &self.attacker.tenant.token,
            Realm::Person => &self.person().token,
        }
    }

    /// The attacker's signed-in person; the attacker's admin works on its other one.
    fn person(&self) -> &Human {
        &self.attacker.other
    }

    fn lacking(&self, scope: &str) -> &str {
        self.lacking.iter().find(|(s, _)| s == scope).map(|(_, t)| t.as_str()).expect("a token without the scope")
    }
}

/// Check 1: no token is `missing_token`; garbage, `alg: none`, expired and
/// misaddressed tokens are `invalid_token`: on every operation.
async fn check_authentication(app: &TestApp, ops: &[Op], callers: &Callers, findings: &mut Vec<String>) -> usize {
    let mut bad = Vec::new();
    for realm in [Realm::Operator, Realm::Tenant, Realm::Person] {
        let valid = callers.token(realm);
        // The control: the same claims re-signed are accepted, so only the flaw refuses the forged ones.
        let control: Claims = serde_json::from_value(claims_of(valid)).unwrap();
        let control = sign(app, &control);
        let probe = match realm {
            Realm::Operator => "/v1/tenants",
            Realm::Tenant => "/v1/clients",
            Realm::Person => "/v1/me",
        };
        assert_eq!(app.get(probe, &control).await.status(), StatusCode::OK, "control token for {realm:?}");
        bad.push((realm, forged(app, valid)));
    }
    let mut requests = Vec::new();
    for op in ops {
        let call = match call(op, &|kind| kind.random()) {
            Ok(call) => call,
            Err(e) => {
                findings.push(e);
                continue;
            }
        };
        let tokens = &bad.iter().find(|(r, _)| *r == op.realm()).expect("forged tokens").1;
        requests.push((op.name(), "no token", call.clone(), None, "missing_token"));
        for (what, token) in tokens {
            requests.push((op.name(), *what, call.clone(), Some(token.clone()), "invalid_token"));
        }
    }
    let count = requests.len();
    let checks = requests.into_iter().map(|(name, what, call, token, code)| async move {
        let answer = send(app, &call, token.as_deref()).await;
        problem_error(&answer, StatusCode::UNAUTHORIZED, Some(code)).map(|e| format!("{name} with {what}: {e}"))
    });
    findings.extend(all(checks.collect()).await.into_iter().flatten());
    count
}

/// Check 2: the right kind of caller without the needed scope is 403, and so is
/// every other kind of caller: on every operation.
async fn check_scope(app: &TestApp, ops: &[Op], callers: &Callers, findings: &mut Vec<String>) -> usize {
    let admin = callers.token(Realm::Tenant);
    let person = callers.token(Realm::Person);
    let operator = callers.token(Realm::Operator);
    let mut requests: Vec<(String, &str, Call, &str, Option<&str>)> = Vec::new();
    for op in ops {
        let Ok(call) = call(op, &|kind| kind.random()) else { continue };
        let name = op.name();
        match op.realm() {
            Realm::Operator => {
                requests.push((name.clone(), "a tenant admin", call.clone(), admin, Some("insufficient_scope")));
                requests.push((name, "a person", call, person, None));
            }
            Realm::Tenant => {
                let lacking = callers.lacking(&op.scope);
                let all_but = "every tenant scope but its own";
                requests.push((name.clone(), all_but, call.clone(), lacking, Some("insufficient_scope")));
                requests.push((name.clone(), "the operator", call.clone(), operator, Some("operator_not_allowed")));
                requests.push((name, "a person", call, person, Some("insufficient_scope")));
            }
            Realm::Person => {
                requests.push((name.clone(), "a tenant admin client", call.clone(), admin, None));
                requests.push((name, "the operator", call, operator, None));
            }
        }
    }
    let count = requests.len();
    let checks = requests.into_iter().map(|(name, who, call, token, code)| async move {
        let answer = send(app, &call, Some(token)).await;
        problem_error(&answer, StatusCode::FORBIDDEN, code).map(|e| format!("{name} by {who}: {e}"))
    });
    findings.extend(all(checks.collect()).await.into_iter().flatten());
    count
}

/// The ids an operation's path names, in order (fixed values left out).
fn id_kinds(op: &Op) -> Result<Vec<Kind>, String> {
    let mut kinds = Vec::new();
    for param in &op.path_params {
        if let Param::Id(kind) = classify(&op.path, param)? {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// Tenant and person operations that name something by id: the ones
/// another tenant's ids must not reach.
fn isolated(op: &Op) -> Result<bool, String> {
    let isolated = op.realm() != Realm::Operator && !id_kinds(op)?.is_empty();
    if isolated && op.body && valid_body(&op.method, &op.path).is_none() {
        return Err(format!("{}: names an id and takes a body, but `valid_body` has none for it", op.name()));
    }
    Ok(isolated)
}

/// One isolation case: the same operation with the victim's ids and with ids that name nothing.
struct Case {
    op: String,
    who: &'static str,
    token: String,
    theirs: Call,
    random: Call,
}

/// The isolation cases of `op`: the attacker on all the victim's ids; for
/// nested ids, the attacker's own person with the victim's thing; for a
/// person's own things, also a neighbour in the victim's tenant.
fn cases(op: &Op, callers: &Callers, victim: &Party) -> Result<Vec<Case>, String> {
    let kinds = id_kinds(op)?;
    let randoms: Vec<(Kind, String)> = kinds.iter().map(|k| (*k, k.random())).collect();
    let random = |kind: Kind| randoms.iter().find(|(k, _)| *k == kind).expect("a random id").1.clone();
    let theirs = |kind: Kind| victim.id(kind, &victim.main);
    let mut cases = Vec::new();
    let mut push = |who, token: &str, theirs: Call, random: Call| {
        cases.push(Case { op: op.name(), who, token: token.to_owned(), theirs, random });
    };
    push("another tenant", callers.token(op.realm()), call(op, &theirs)?, call(op, &random)?);
    if op.if_match {
        // A version compared before the owner would tell a stale version (412) from nothing (404).
        let stale = |call: Call| Call { if_match: Some("\"999\""), ..call };
        let (theirs, random) = (stale(call(op, &theirs)?), stale(call(op, &random)?));
        push("another tenant, with a stale If-Match", callers.token(op.realm()), theirs, random);
    }
    if op.realm() == Realm::Tenant && kinds.contains(&Kind::Person) && kinds.len() > 1 {
        let own = callers.attacker.main.id.clone();
        let mixed_theirs = call(op, &|k| if k == Kind::Person { own.clone() } else { theirs(k) })?;
        let mixed_random = call(op, &|k| if k == Kind::Person { own.clone() } else { random(k) })?;
        push("another tenant, through its own person", callers.token(Realm::Tenant), mixed_theirs, mixed_random);
    }
    if op.realm() == Realm::Person && kinds.iter().all(|k| k.personal()) {
        push("a neighbour in the same tenant", &victim.other.token, call(op, &theirs)?, call(op, &random)?);
    }
    Ok(cases)
}

/// Check 3: another tenant's ids are answered exactly like ids that name nothing,
/// which is 404: on every tenant and person operation that names an id.
async fn check_isolation(
    app: &TestApp,
    ops: &[&Op],
    callers: &Callers,
    victim: &Party,
    findings: &mut Vec<String>,
) -> usize {
    let mut all_cases = Vec::new();
    for op in ops {
        match cases(op, callers, victim) {
            Ok(cases) => all_cases.extend(cases),
            Err(e) => findings.push(e),
        }
    }
    let count = all_cases.len();
    let runs = all_cases.into_iter().map(|case| async move {
        let theirs = send(app, &case.theirs, Some(&case.token)).await;
        let random = send(app, &case.random, Some(&case.token)).await;
        (case, theirs, random)
    });
    let mut allowed_seen = BTreeSet::new();
    for (case, theirs, random) in all(runs.collect()).await {
        let what = format!("{} by {}", case.op, case.who);
        let allowed = NOT_404_FOR_UNKNOWN_IDS.iter().find(|(op, _, _)| *op == case.op);
        let expected = allowed.map_or(StatusCode::NOT_FOUND, |(_, status, _)| StatusCode::from_u16(*status).unwrap());
        if allowed.is_some() && random.status == expected {
            allowed_seen.insert(case.op.clone());
        }
        if random.status != expected {
            findings.push(format!("{what}: ids that name nothing get {}, not {expected}", random.show()));
        } else if expected == StatusCode::NOT_FOUND
            && let Some(e) = problem_error(&random, StatusCode::NOT_FOUND, Some("not_found"))
        {
            findings.push(format!("{what}: {e}"));
        }
        if theirs != random {
            findings.push(format!(
                "{what}: the victim's ids ({}) get {}, ids that name nothing ({}) get {}",
                case.theirs.target,
                theirs.show(),
                case.random.target,
                random.show()
            ));
        }
        if let Some(secret) = victim.leak(&theirs.body) {
            findings.push(format!("{what}: the answer shows the victim's {secret:?}"));
        }
    }
    for (op, status, why) in NOT_404_FOR_UNKNOWN_IDS {
        if !allowed_seen.contains(*op) {
            findings
                .push(format!("{op}: no longer answers {status} for unknown ids; remove its allow-list entry ({why})"));
        }
    }
    count
}

/// The control of the isolation check: the same requests on the attacker's
/// own ids succeed, so its 404s come from whose the ids are, not from a
/// wrong path or body. Deletions run last, one at a time, things before
/// what holds them, and the signed-in device last of all.
async fn check_controls(app: &TestApp, ops: &[&Op], callers: &Callers, findings: &mut Vec<String>) -> usize {
    let own = &callers.attacker;
    let mut controls = Vec::new();
    for op in ops {
        let Ok(kinds) = id_kinds(op) else { continue };
        // The admin works on one person, the signed-in person on themselves
        // (ending their spare session, not the one they use).
        let who = if op.realm() == Realm::Person { &own.other } else { &own.main };
        let id = |kind: Kind| if kind == Kind::Session { who.spare_session.clone() } else { own.id(kind, who) };
        let Ok(call) = call(op, &id) else { continue };
        let token = callers.token(op.realm()).to_owned();
        if op.if_match {
            // A stale version on one's own thing is 412, so the isolation cases' If-Match was read.
            let stale = Call { if_match: Some("\"999\""), ..call.clone() };
            controls.push((0, std::cmp::Reverse(0), op.name(), stale, token.clone(), Some(412)));
        }
        // A request's steps change its state: they run one at a time, in
        // the order a request takes them, after the other writes.
        let step = REQUEST_STEPS
            .iter()
            .position(|s| op.method == Method::POST && op.path == format!("/v1/requests/{{request_id}}/{s}"));
        if let Some(step) = step {
            let expected = CONTROL_ANSWERS.iter().find(|(name, _, _)| *name == op.name()).map(|(_, status, _)| *status);
            controls.push((1, std::cmp::Reverse(usize::MAX - step), op.name(), call, token, expected));
            continue;
        }
        let rank = match kinds.last() {
            // A restore puts back the party as its backup holds it: with
            // the deletions, one at a time, not beside concurrent writes.
            Some(Kind::Backup) if op.method == Method::POST => 1,
            _ if op.method != Method::DELETE => 0,
            Some(Kind::Session) => 2,
            Some(Kind::Device) => 3,
            Some(Kind::Person) => 4,
            _ => 1,
        };
        let expected = CONTROL_ANSWERS.iter().find(|(name, _, _)| *name == op.name()).map(|(_, status, _)| *status);
        controls.push((rank, std::cmp::Reverse(op.path.len()), op.name(), call, token, expected));
    }
    controls.sort_by_key(|c| (c.0, c.1));
    let count = controls.len();
    let (reads_and_writes, deletions): (Vec<_>, Vec<_>) = controls.into_iter().partition(|c| c.0 == 0);
    let runs = reads_and_writes.into_iter().map(|(_, _, name, call, token, expected)| async move {
        let answer = send(app, &call, Some(&token)).await;
        (name, call, expected, answer)
    });
    let mut answers = all(runs.collect()).await;
    for (_, _, name, call, token, expected) in deletions {
        let answer = send(app, &call, Some(&token)).await;
        answers.push((name, call, expected, answer));
    }
    let mut seen = BTreeSet::new();
    for (name, call, expected, answer) in answers {
        let fine = match expected {
            Some(status) => answer.status.as_u16() == status,
            None => answer.status.is_success(),
        };
        if fine && expected.is_some() && call.if_match.is_none() {
            seen.insert(name.clone());
        }
        if !fine {
            let wanted = expected.map_or("success".to_owned(), |s| s.to_string());
            let etag = call.if_match.map_or(String::new(), |e| format!(" with If-Match {e}"));
            findings.push(format!(
                "{name} on the caller's own ids ({}){etag} should answer {wanted}: {}",
                call.target,
                answer.show()
            ));
        }
    }
    for (op, status, why) in CONTROL_ANSWERS {
        if !seen.contains(*op) {
            findings.push(format!("{op}: its control no longer answers {status} ({why}); update CONTROL_ANSWERS"));
        }
    }
    count
}

/// One value of the victim passed by value (a query, a body), against a value that names nothing.
struct Probe {
    what: String,
    token: Option<String>,
    theirs: Call,
    random: Call,
    values: (String, String),
    compare: Compare,
}

/// How a probe compares its two answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Whole answers, byte for byte, with the value itself blanked.
    Bytes,
    /// Only statuses, where the answer holds what the request made.
    Status,
}

/// A probe from a row of the table in [`check_values`]: `{V}` in the
/// target and the body stands for the value.
#[expect(clippy::too_many_arguments, reason = "a row of a table")]
fn probe(
    what: &str,
    token: Option<&str>,
    method: Method,
    template: &str,
    body: Option<Value>,
    theirs: &str,
    random: String,
    compare: Compare,
) -> Probe {
    let fill = |value: &str| Call {
        method: method.clone(),
        target: template.replace("{V}", value),
        body: body.as_ref().map(|b| serde_json::from_str(&b.to_string().replace("{V}", value)).unwrap()),
        if_match: None,
    };
    Probe {
        what: what.to_owned(),
        token: token.map(str::to_owned),
        theirs: fill(theirs),
        random: fill(&random),
        values: (theirs.to_owned(), random),
        compare,
    }
}

/// A probe for every query parameter of the document that names a person,
/// a purpose, a caller or an e-mail address, on the attacker's own ids.
fn query_probes(ops: &[Op], callers: &Callers, victim: &Party) -> Result<Vec<Probe>, String> {
    let own = &callers.attacker;
    let mut probes = Vec::new();
    for op in ops.iter().filter(|op| op.realm() != Realm::Operator) {
        for name in &op.query_params {
            let (theirs, random) = match name.as_str() {
                "person_id" => (victim.main.id.clone(), Kind::Person.random()),
                "purpose" => (victim.purpose.clone(), Kind::Purpose.random()),
                "actor_id" => (victim.tenant.admin.client_id.clone(), Kind::Client.random()),
                "email" => (victim.main.email_address.clone(), format!("{}@victim.example", letters())),
                "q" => (victim.main.last_name.clone(), format!("nobody{}", letters())),
                _ => continue,
            };
            let id = |kind: Kind| own.id(kind, &own.main);
            probes.push(Probe {
                what: format!("{} ?{name}=", op.name()),
                token: Some(callers.token(op.realm()).to_owned()),
                theirs: call_with(op, &id, Some((name, &theirs)))?,
                random: call_with(op, &id, Some((name, &random)))?,
                values: (theirs, random),
                compare: Compare::Bytes,
            });
        }
    }
    Ok(probes)
}

/// The victim's ids and values where an operation takes them by value: the
/// answer must not tell them from values that name nothing.
async fn check_values(
    app: &TestApp,
    ops: &[Op],
    callers: &Callers,
    victim: &Party,
    findings: &mut Vec<String>,
) -> usize {
    use Compare::{Bytes, Status};
    let mut probes = match query_probes(ops, callers, victim) {
        Ok(probes) => probes,
        Err(e) => {
            findings.push(e);
            Vec::new()
        }
    };
    let admin = Some(callers.token(Realm::Tenant));
    let person = Some(callers.token(Realm::Person));
    let own = &callers.attacker.main.id;
    let own_client = &callers.attacker.client;
    let slug = &callers.attacker.tenant.slug;
    let theirs = &victim.main;
    let (their_person, their_purpose) = (theirs.id.as_str(), victim.purpose.as_str());
    let rnd = |kind: Kind| kind.random();
    let email = || format!("{}@victim.example", letters());
    let nobody = format!("nobody-{}", letters());
    // Values in bodies. Where the answer holds what the request made, only the statuses must agree.
    probes.extend([
        probe(
            "POST /v1/consents/check checks[].person_id",
            admin,
            Method::POST,
            "/v1/consents/check",
            Some(json!({"checks": [{"person_id": "{V}", "purpose": "marketing_email"}]})),
            their_person,
            rnd(Kind::Person),
            Bytes,
        ),
        probe(
            "POST /v1/people/{person_id}/consents purpose",
            admin,
            Method::POST,
            &format!("/v1/people/{own}/consents"),
            Some(json!({"purpose": "{V}", "action": "grant", "source": "admin"})),
            their_purpose,
            rnd(Kind::Purpose),
            Bytes,
        ),
        probe(
            "PATCH /v1/purposes/{key} recipients",
            admin,
            Method::PATCH,
            "/v1/purposes/marketing_email",
            Some(json!({"recipients": ["{V}"]})),
            &victim.recipient,
            rnd(Kind::Recipient),
            Bytes,
        ),
        probe(
            "PATCH /v1/clients/{client_id} purposes",
            admin,
            Method::PATCH,
            &format!("/v1/clients/{own_client}"),
            Some(json!({"purposes": ["{V}"]})),
            their_purpose,
            rnd(Kind::Purpose),
            Status,
        ),
        probe(
            "POST /v1/people attributes key",
            admin,
            Method::POST,
            "/v1/people",
            Some(json!({"first_name": "Copy", "attributes": {"{V}": "anything"}})),
            &victim.attribute,
            rnd(Kind::Attribute),
            Bytes,
        ),
        probe(
            "POST /v1/people emails[].address",
            admin,
            Method::POST,
            "/v1/people",
            Some(json!({"first_name": "Copy", "emails": [{"address": "{V}", "label": "private"}]})),
            &theirs.email_address,
            email(),
            Status,
        ),
        probe(
            "PATCH /v1/people/{person_id}/account username",
            admin,
            Method::PATCH,
            &format!("/v1/people/{own}/account"),
            Some(json!({"username": "{V}"})),
            &theirs.username,
            nobody,
            Status,
        ),
        probe(
            "POST /v1/me/emails address",
            person,
            Method::POST,
            "/v1/me/emails",
            Some(json!({"address": "{V}", "label": "work"})),
            &victim.other.email_address,
            email(),
            Status,
        ),
        probe(
            "POST /v1/auth/login identifier, in the attacker's tenant",
            None,
            Method::POST,
            "/v1/auth/login",
            Some(json!({"tenant": slug, "identifier": "{V}", "password": PASSWORD})),
            &theirs.email_address,
            email(),
            Bytes,
        ),
    ]);
    let count = probes.len();
    // One at a time: some make things (a person with an address) that another would then meet.
    for probe in probes {
        let theirs = send(app, &probe.theirs, probe.token.as_deref()).await;
        let random = send(app, &probe.random, probe.token.as_deref()).await;
        let blank = |answer: &Answer| Answer {
            body: answer.body.replace(&probe.values.0, "{V}").replace(&probe.values.1, "{V}"),
            ..answer.clone()
        };
        let differs = match probe.compare {
            Compare::Bytes => blank(&theirs) != blank(&random),
            Compare::Status => theirs.status != random.status,
        };
        if differs {
            findings.push(format!(
                "{}: the victim's {:?} gets {}, a value that names nothing gets {}",
                probe.what,
                probe.values.0,
                theirs.show(),
                random.show()
            ));
        }
    }
    count
}

/// Every list and read without an id, by the attacker's admin and person:
/// answered, and showing nothing of the victim.
async fn check_lists(
    app: &TestApp,
    ops: &[Op],
    callers: &Callers,
    victim: &Party,
    findings: &mut Vec<String>,
) -> usize {
    let mut requests = Vec::new();
    for op in ops {
        let names_ids = id_kinds(op).map_or(true, |kinds| !kinds.is_empty());
        if op.method != Method::GET || names_ids || op.realm() == Realm::Operator {
            continue;
        }
        match call(op, &|kind| kind.random()) {
            Ok(call) => requests.push((op.name(), call, callers.token(op.realm()))),
            Err(e) => findings.push(e),
        }
    }
    let count = requests.len();
    let runs =
        requests.into_iter().map(|(name, call, token)| async move { (name, send(app, &call, Some(token)).await) });
    for (name, answer) in all(runs.collect()).await {
        if answer.status != StatusCode::OK {
            findings.push(format!("{name} by the other tenant: {}", answer.show()));
        }
        if let Some(secret) = victim.leak(&answer.body) {
            findings.push(format!("{name} by the other tenant shows the victim's {secret:?}"));
        }
    }
    count
}

async fn matrix(app: &TestApp) {
    let started = std::time::Instant::now();
    let response = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let ops = operations(&response.json().await.unwrap());
    assert!(ops.len() > 50, "only {} operations with a bearer scope: is the document served whole?", ops.len());

    let victim = party(app, "victim", "vicky", "nora", ["+31687650001", "+31687650002"]).await;
    let attacker = party(app, "attacker", "mallory", "mike", ["+31687650003", "+31687650004"]).await;
    let mut scopes: Vec<String> = ops.iter().filter(|o| o.realm() == Realm::Tenant).map(|o| o.scope.clone()).collect();
    scopes.sort();
    scopes.dedup();
    let mut lacking = Vec::new();
    for scope in &scopes {
        let others: Vec<&str> = Scope::tenant_client_scopes().map(Scope::as_str).filter(|s| s != scope).collect();
        assert_eq!(others.len() + 1, Scope::tenant_client_scopes().count(), "{scope} is not a tenant client scope");
        let creds = app.new_client(&attacker.tenant, &others).await;
        lacking.push((scope.clone(), app.token(&creds).await));
    }
    let callers = Callers { attacker, operator: app.operator_token().await, lacking };

    let before = snapshot(app, &victim).await;
    let audit_before = last_audit_seq(app, &victim.tenant.token).await;
    let setup = started.elapsed();

    let mut findings = Vec::new();
    let authn = check_authentication(app, &ops, &callers, &mut findings).await;
    let scope = check_scope(app, &ops, &callers, &mut findings).await;
    // Lists before values: the value probes leave copies of the victim's values in the attacker's tenant.
    let lists = check_lists(app, &ops, &callers, &victim, &mut findings).await;
    let values = check_values(app, &ops, &callers, &victim, &mut findings).await;
    let mut isolated_ops = Vec::new();
    for op in &ops {
        match isolated(op) {
            Ok(true) => isolated_ops.push(op),
            Ok(false) => {}
            Err(e) => findings.push(e),
        }
    }
    let cases = check_isolation(app, &isolated_ops, &callers, &victim, &mut findings).await;
    let controls = check_controls(app, &isolated_ops, &callers, &mut findings).await;

    // Check 4: the victim is as it was: every read byte for byte, no entry in its
    // audit log by anyone but its own admin, the chain intact, its session live.
    let after = snapshot(app, &victim).await;
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        if was != is {
            findings.push(format!("the victim's {path} changed:\n  before {}\n  after  {}", was.show(), is.show()));
        }
    }
    let page: Value = app.get("/v1/audit/events?limit=200", &victim.tenant.token).await.json().await.unwrap();
    for entry in page["items"].as_array().unwrap() {
        if entry["seq"].as_i64().unwrap() > audit_before && entry["actor_id"] != victim.tenant.admin.client_id.as_str()
        {
            findings.push(format!("the victim's audit log has an entry by someone else: {entry}"));
        }
    }
    let verified: Value = app.get("/v1/audit/verify", &victim.tenant.token).await.json().await.unwrap();
    if verified["ok"] != true {
        findings.push(format!("the victim's audit chain: {verified}"));
    }
    for human in [&victim.main, &victim.other] {
        let call = Call { method: Method::GET, target: "/v1/me/sessions".to_owned(), body: None, if_match: None };
        let sessions = send(app, &call, Some(&human.token)).await;
        let live = serde_json::from_str::<Value>(&sessions.body).ok().and_then(|s| s["items"].as_array().map(Vec::len));
        if sessions.status != StatusCode::OK || live != Some(2) {
            findings.push(format!("the victim's {} lost a session: {}", human.username, sessions.show()));
        }
    }

    eprintln!(
        "matrix on {:?}: {} operations, {} naming ids; {authn} refused tokens, {scope} wrong callers, {lists} lists, \
         {values} values, {cases} isolation cases, {controls} controls; setup {setup:?}, total {:?}",
        app.backend,
        ops.len(),
        isolated_ops.len(),
        started.elapsed()
    );
    assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
}

both_backends! {
    async fn every_operation_refuses_bad_tokens_wrong_scopes_and_other_tenants_ids(app) {
        matrix(&app).await;
    }
}
