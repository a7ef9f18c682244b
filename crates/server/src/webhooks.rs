//! The webhook worker: claims due deliveries under a lease
//! (`kluis_app::webhooks::due`), signs them as Standard Webhooks says and
//! POSTs them concurrently, then records each attempt
//! (`kluis_app::webhooks::record`), which schedules the retry or disables an
//! endpoint. Several instances may run it: a lease keeps a delivery with one
//! of them at a time. Every address a delivery connects to passes the SSRF
//! guard (the resolver below refuses internal ones), so a name that resolves
//! elsewhere later (DNS rebinding) is caught at delivery time; redirects are
//! not followed and no proxy is used.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kluis_app::App;
use kluis_hooks::deliveries::{Claimed, MAX_RESPONSE_BYTES, Outcome};
use kluis_hooks::{guard, signing};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use zeroize::Zeroizing;

/// How often the worker looks for due deliveries.
const POLL: Duration = Duration::from_millis(100);
/// Most deliveries sent in one round.
const BATCH: i64 = 32;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long a receiver gets to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Resolves a host and keeps only the addresses the guard allows.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|a| allow_private || !guard::forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err("the host resolves only to loopback, private, link-local or metadata addresses".into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

fn client(allow_private: bool) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("kluis-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .build()
}

/// The running worker.
pub struct WebhookWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WebhookWorker {
    /// Start delivering. The worker holds the app weakly: once the server
    /// that owns it is gone, the worker ends too.
    pub fn start(app: &Arc<App>) -> WebhookWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let allow_private = app.settings.webhooks.allow_private;
        let app = Arc::downgrade(app);
        let thread = std::thread::Builder::new()
            .name("kluis-webhooks".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => return tracing::error!(error = %e, "webhook worker: no runtime"),
                };
                let client = match client(allow_private) {
                    Ok(client) => client,
                    Err(e) => return tracing::error!(error = %e, "webhook worker: no HTTP client"),
                };
                let holder = kluis_core::new_id();
                let mut pruned_at: Option<Instant> = None;
                while !flag.load(Ordering::Relaxed) {
                    let Some(app) = app.upgrade() else { break };
                    if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                        // The people feed's erasure rows outlive the erasure no longer than a delivery may.
                        if let Err(e) = kluis_app::processors::prune_erased(&app) {
                            tracing::warn!(error = %e, "webhook worker: cannot prune the people feed");
                        }
                        pruned_at = Some(Instant::now());
                    }
                    let sent = round(&app, &runtime, &client, &holder, allow_private);
                    drop(app);
                    if sent == 0 {
                        std::thread::sleep(POLL);
                    }
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!("could not start the webhook worker");
        }
        WebhookWorker { stop, thread }
    }

    /// Stop after the current round (a claimed delivery not recorded goes
    /// back when its lease ends).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One round: claim, send concurrently, record; how many were sent.
fn round(
    app: &App,
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    holder: &str,
    allow_private: bool,
) -> usize {
    let due = match kluis_app::webhooks::due(app, holder, BATCH) {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "webhook worker: cannot claim deliveries");
            return 0;
        }
    };
    if due.is_empty() {
        return 0;
    }
    let outcomes = runtime.block_on(futures_util::future::join_all(
        due.iter().map(|(claimed, secrets)| send(client, claimed, secrets, allow_private)),
    ));
    for ((claimed, _), outcome) in due.iter().zip(outcomes) {
        match kluis_app::webhooks::record(app, holder, claimed, &outcome) {
            Ok(after) => tracing::debug!(delivery.id = %claimed.id, ?after, "webhook attempt recorded"),
            Err(e) => tracing::warn!(delivery.id = %claimed.id, error = %e, "webhook worker: cannot record an attempt"),
        }
    }
    due.len()
}

/// Sign and POST one delivery.
async fn send(
    client: &reqwest::Client,
    claimed: &Claimed,
    secrets: &[Zeroizing<String>],
    allow_private: bool,
) -> Outcome {
    let attempted_at = kluis_core::time::now();
    let started = Instant::now();
    let failed = |error: String| Outcome {
        attempted_at,
        latency_ms: elapsed_ms(started),
        status: None,
        body: None,
        error: Some(error),
    };
    let url = match reqwest::Url::parse(&claimed.url) {
        Ok(url) => url,
        Err(_) => return failed("the endpoint's URL does not parse".into()),
    };
    // An IP literal never meets the resolver: check it here.
    let literal: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if !allow_private && literal.is_some_and(guard::forbidden) {
        return failed("the endpoint's address is loopback, private, link-local or metadata".into());
    }
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = match signing::header(secrets, &claimed.event_id, timestamp, claimed.payload.as_bytes()) {
        Ok(signature) => signature,
        Err(e) => return failed(format!("cannot sign: {e}")),
    };
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &claimed.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(claimed.payload.clone());
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(e) => return failed(describe(&e)),
    };
    let status = response.status().as_u16();
    let mut body: Vec<u8> = Vec::new();
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_RESPONSE_BYTES);
    Outcome {
        attempted_at,
        latency_ms: elapsed_ms(started),
        status: Some(status),
        body: Some(String::from_utf8_lossy(&body).into_owned()),
        error: None,
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// A failure in words, without the URL (it may carry a token of the receiver's).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
