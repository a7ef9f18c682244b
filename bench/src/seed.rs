//! Seeding a tenant: the tenant, its purposes and the accounts over HTTP,
//! the persons with their contacts, consents and devices in bulk
//! ([`crate::bulk`]).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::Res;

/// The password of every seeded account.
pub const PASSWORD: &str = "bench horse battery staple 7";
/// The purposes each person consents to.
pub const PURPOSES: [&str; 3] = ["marketing_email", "phone_contact", "analytics"];
/// Requests in flight while seeding.
const CONCURRENCY: usize = 32;

/// A client id and secret, and the token they give (renewed when old).
#[derive(Debug)]
pub struct Credentials {
    pub client_id: String,
    client_secret: String,
    token: String,
    issued: Instant,
}

impl Credentials {
    pub async fn new(http: &reqwest::Client, base: &str, client_id: &str, client_secret: &str) -> Res<Credentials> {
        let mut credentials = Credentials {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            token: String::new(),
            issued: Instant::now(),
        };
        credentials.renew(http, base).await?;
        Ok(credentials)
    }

    async fn renew(&mut self, http: &reqwest::Client, base: &str) -> Res<()> {
        let response = http
            .post(format!("{base}/v1/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ])
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        self.token =
            body["access_token"].as_str().ok_or(format!("token request answered {status}: {body}"))?.to_owned();
        self.issued = Instant::now();
        Ok(())
    }

    /// A token with at least 10 of its 15 minutes left.
    pub async fn token(&mut self, http: &reqwest::Client, base: &str) -> Res<String> {
        if self.issued.elapsed() > Duration::from_secs(5 * 60) {
            self.renew(http, base).await?;
        }
        Ok(self.token.clone())
    }
}

/// What the scenarios need from the seeded tenant.
#[derive(Debug)]
pub struct Seeded {
    pub tenant_slug: String,
    pub tenant_id: String,
    pub admin: Credentials,
    pub person_ids: Vec<String>,
    /// E-mail addresses of the persons with an account.
    pub account_emails: Vec<String>,
    /// More tenants, for the scenarios that spread over several.
    pub others: Vec<Seeded>,
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Res<Value> {
    let mut attempt = 0;
    loop {
        let response = http.post(&url).bearer_auth(token).json(&body).send().await;
        match response {
            Ok(response) if response.status().is_success() => return Ok(response.json().await?),
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Err(format!("POST {url}: {status} {text}").into());
            }
            Err(e) if attempt < 3 => {
                attempt += 1;
                eprintln!("bench: retrying POST {url}: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Create a tenant and fill it with `people` persons, `accounts` of them
/// with an account.
pub async fn seed(
    http: &reqwest::Client,
    server: &crate::server::Server,
    people: usize,
    accounts: usize,
) -> Res<Seeded> {
    let base = server.base.as_str();
    let creds: Value = serde_json::from_str(&std::fs::read_to_string(server.data_dir.join("operator-client.json"))?)?;
    let operator = Credentials::new(
        http,
        base,
        creds["client_id"].as_str().ok_or("operator client_id")?,
        creds["client_secret"].as_str().ok_or("operator client_secret")?,
    )
    .await?;
    let run = crate::server::random_db_name("t").replace('_', "");
    let tenant =
        post(http, format!("{base}/v1/tenants"), &operator.token, json!({"name": "Bench B.V.", "slug": run})).await?;
    let tenant_id = tenant["id"].as_str().ok_or("tenant without id")?.to_owned();
    // wrk signs in from a device the seeded people never used, and their
    // addresses are not verified: without `trust` every login is refused
    // (fail closed). The scenario measures the password and session work.
    let lenient = http
        .patch(format!("{base}/v1/tenants/{tenant_id}"))
        .bearer_auth(&operator.token)
        .json(&json!({"unverified_device": "trust"}))
        .send()
        .await?;
    if !lenient.status().is_success() {
        return Err(format!("PATCH /v1/tenants/{{id}}: {}", lenient.status()).into());
    }
    let admin_client = &tenant["admin_client"];
    let mut admin = Credentials::new(
        http,
        base,
        admin_client["client_id"].as_str().ok_or("admin client_id")?,
        admin_client["client_secret"].as_str().ok_or("admin client_secret")?,
    )
    .await?;

    // The tenant's default purposes are made by its first consent call.
    let token = admin.token(http, base).await?;
    let purposes = http.get(format!("{base}/v1/purposes")).bearer_auth(&token).send().await?;
    if !purposes.status().is_success() {
        return Err(format!("GET /v1/purposes: {}", purposes.status()).into());
    }

    let (url, client_id, slug, id) =
        (server.database_url.clone(), admin.client_id.clone(), run.clone(), tenant_id.clone());
    let person_ids = tokio::task::spawn_blocking(move || {
        crate::bulk::seed(&url, &id, &client_id, &slug, people).map_err(|e| e.to_string())
    })
    .await??;

    // Accounts over HTTP, as a back office makes them (argon2 included).
    let token = admin.token(http, base).await?;
    let mut stream = futures_util::stream::iter(person_ids.iter().take(accounts))
        .map(|id| post(http, format!("{base}/v1/people/{id}/account"), &token, json!({"password": PASSWORD})))
        .buffer_unordered(CONCURRENCY);
    while let Some(result) = stream.next().await {
        result?;
    }
    drop(stream);
    let account_emails = (0..accounts.min(people)).map(|i| format!("p{i}.{run}@bench.example")).collect();
    Ok(Seeded { tenant_slug: run, tenant_id, admin, person_ids, account_emails, others: Vec::new() })
}
