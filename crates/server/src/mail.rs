//! The mail worker: delivers the outbox's mail over SMTP (`KLUIS_SMTP_URL`)
//! or, in development, as one `.eml` file per message in `KLUIS_MAIL_DIR`.
//! A message leaves the outbox only once delivered; a failure is retried
//! with backoff, and a restart loses nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kluis_store::{DbPool, MasterKey, outbox};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::{FileTransport, SmtpTransport, Transport};
use serde::Deserialize;

/// How often the worker looks for due messages.
const POLL: Duration = Duration::from_millis(200);

/// Where mail goes.
pub enum Delivery {
    /// An SMTP server.
    Smtp(Box<SmtpTransport>),
    /// A directory of `.eml` files.
    Directory(PathBuf),
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delivery::Smtp(_) => f.write_str("Delivery::Smtp"),
            Delivery::Directory(dir) => write!(f, "Delivery::Directory({})", dir.display()),
        }
    }
}

impl Delivery {
    /// SMTP from a URL such as `smtps://user:pass@mail.example.nl` or `smtp://localhost:25`.
    /// A plain `smtp://` URL is plaintext (lettre starts TLS only when
    /// asked with `?tls=required` or `?tls=opportunistic`): with a password
    /// for a host other than this machine, it is refused rather than sent
    /// in the clear.
    pub fn smtp(url: &str) -> Result<Delivery, String> {
        if let Ok(parsed) = url::Url::parse(url)
            && parsed.scheme() == "smtp"
            && parsed.password().is_some()
            && !parsed.query_pairs().any(|(key, _)| key == "tls")
            && !matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        {
            return Err(format!(
                "KLUIS_SMTP_URL: smtp:// would send the password to {} unencrypted; use smtps:// (TLS from the start) or add ?tls=required (STARTTLS)",
                parsed.host_str().unwrap_or("the server")
            ));
        }
        let transport = SmtpTransport::from_url(url).map_err(|e| format!("KLUIS_SMTP_URL: {e}"))?.build();
        Ok(Delivery::Smtp(Box::new(transport)))
    }

    fn send(&self, message: &Message) -> Result<(), String> {
        match self {
            Delivery::Smtp(transport) => transport.send(message).map(|_| ()).map_err(|e| e.to_string()),
            Delivery::Directory(dir) => FileTransport::new(dir).send(message).map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

#[derive(Deserialize)]
struct Payload {
    to: String,
    subject: String,
    text: String,
    /// Extra headers as (name, value); absent in messages queued before
    /// there were any.
    #[serde(default)]
    headers: Vec<(String, String)>,
}

/// Headers the worker sets itself: a payload may not set them again.
const OWN_HEADERS: [&str; 8] =
    ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"];

/// An extra header of a payload; lettre encodes the value (RFC 2047, so no
/// line break gets through) and folds it.
fn header(name: String, value: String) -> Result<HeaderValue, String> {
    if OWN_HEADERS.iter().any(|own| own.eq_ignore_ascii_case(&name)) {
        return Err(format!("a payload may not set the {name} header"));
    }
    let name = HeaderName::new_from_ascii(name).map_err(|e| e.to_string())?;
    Ok(HeaderValue::new(name, value))
}

fn message(from: &Mailbox, payload: &[u8]) -> Result<Message, String> {
    let payload: Payload = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let to: Mailbox = payload.to.parse().map_err(|e: lettre::address::AddressError| e.to_string())?;
    let mut builder = Message::builder().from(from.clone()).to(to).subject(payload.subject);
    for (name, value) in payload.headers {
        builder = builder.raw_header(header(name, value)?);
    }
    builder.header(ContentType::TEXT_PLAIN).body(payload.text).map_err(|e| e.to_string())
}

/// The running worker.
pub struct MailWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MailWorker {
    /// Start delivering.
    pub fn start(pool: DbPool, master: Arc<MasterKey>, delivery: Delivery, from: Mailbox) -> MailWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("kluis-mail".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    deliver_due(&pool, &master, &delivery, &from);
                    std::thread::sleep(POLL);
                }
                // One last round so nothing queued before the stop waits for the next start.
                deliver_due(&pool, &master, &delivery, &from);
            })
            .ok();
        MailWorker { stop, thread }
    }

    /// Stop after the current round.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn deliver_due(pool: &DbPool, master: &MasterKey, delivery: &Delivery, from: &Mailbox) {
    let Ok(mut conn) = pool.get() else { return };
    let due = match outbox::due(&mut conn, master, 50) {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "mail worker: cannot read the outbox");
            return;
        }
    };
    for item in due.into_iter().filter(|d| d.channel == "mail") {
        let sent = message(from, &item.payload).and_then(|m| delivery.send(&m));
        let result = match sent {
            Ok(()) => outbox::delivered(&mut conn, &item.tenant_id, &item.id).map(|_| ()),
            Err(error) => {
                tracing::warn!(message.id = %item.id, attempts = item.attempts + 1, error = %error, "mail delivery failed; will retry");
                outbox::failed(&mut conn, &item.tenant_id, &item.id, item.attempts, &error).map(|_| ())
            }
        };
        if let Err(e) = result {
            tracing::warn!(message.id = %item.id, error = %e, "mail worker: cannot update the outbox");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "kluis <noreply@kluis.example>".parse().unwrap()
    }

    fn formatted(payload: serde_json::Value) -> Result<String, String> {
        let message = message(&from(), &serde_json::to_vec(&payload).unwrap())?;
        Ok(String::from_utf8(message.formatted()).unwrap())
    }

    #[test]
    fn a_password_is_never_sent_over_plain_smtp_to_another_host() {
        let refused = Delivery::smtp("smtp://user:secret@mail.example.nl:587").unwrap_err();
        assert!(refused.contains("unencrypted") && refused.contains("mail.example.nl") && !refused.contains("secret"));
        for fine in [
            "smtps://user:secret@mail.example.nl",
            "smtp://user:secret@mail.example.nl:587?tls=required",
            "smtp://user:secret@localhost:1025",
            "smtp://mail.example.nl:25",
        ] {
            assert!(Delivery::smtp(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_payload_with_list_unsubscribe_becomes_real_headers() {
        let link = "https://kluis.example/v1/unsubscribe/dTEuMDE5YWJj.c2lnbmF0dXJlLXRoYXQtaXMtcXVpdGUtbG9uZy1hbmQtaGFzLW5vLXNwYWNlcw";
        let eml = formatted(serde_json::json!({
            "to": "cees@example.nl", "subject": "A new use of your data", "text": format!("Open {link}\n"),
            "headers": [["List-Unsubscribe", format!("<{link}>")], ["List-Unsubscribe-Post", "List-Unsubscribe=One-Click"]],
        }))
        .unwrap();
        let (head, _) = eml.split_once("\r\n\r\n").unwrap();
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert!(lines.contains(&format!("List-Unsubscribe: <{link}>").as_str()), "{head}");
        assert!(lines.contains(&"List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{head}");
    }

    #[test]
    fn a_payload_without_headers_has_none_and_may_not_override_the_workers() {
        let eml = formatted(serde_json::json!({"to": "cees@example.nl", "subject": "Code", "text": "123456"})).unwrap();
        assert!(!eml.to_ascii_lowercase().contains("list-unsubscribe"), "{eml}");
        let error = formatted(serde_json::json!({"to": "cees@example.nl", "subject": "x", "text": "x",
            "headers": [["from", "evil@example.com"]]}))
        .unwrap_err();
        assert!(error.contains("from"), "{error}");
        let eml = formatted(serde_json::json!({"to": "cees@example.nl", "subject": "x", "text": "x",
            "headers": [["X-Note", "a\r\nBcc: evil@example.com"]]}))
        .unwrap();
        assert!(!eml.contains("\r\nBcc:"), "no header injection: {eml}");
    }
}
