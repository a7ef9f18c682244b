//! Standard Webhooks signing: a secret is `whsec_` and the base64 of 32
//! random bytes; a message is signed as HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}` with the secret's bytes, and
//! the `webhook-signature` header lists `v1,<base64 signature>` for every
//! live secret, space-separated (two during a rotation).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use kluis_core::{DomainError, Result};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of a webhook secret, as the specification names it.
pub const PREFIX: &str = "whsec_";

/// Random bytes in a new secret (the specification asks 24 to 64).
const SECRET_BYTES: usize = 32;

/// A new secret, `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    kluis_store::crypto::fill_random(bytes.as_mut()).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(bytes.as_ref()))))
}

/// The key bytes of a `whsec_` secret.
fn key(secret: &str) -> Result<Zeroizing<Vec<u8>>> {
    let encoded = secret.strip_prefix(PREFIX).unwrap_or(secret);
    STANDARD
        .decode(encoded)
        .map(Zeroizing::new)
        .map_err(|_| DomainError::Internal("a stored webhook secret is not base64".into()))
}

/// The `v1,<base64>` signature of one message under one secret.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let key = key(secret)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| DomainError::Internal("webhook secret key length".into()))?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header value: one signature per secret, space-separated.
pub fn header(secrets: &[Zeroizing<String>], message_id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let signatures = secrets.iter().map(|s| sign(s, message_id, timestamp, body)).collect::<Result<Vec<_>>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specifications_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn new_secrets_are_prefixed_32_random_bytes() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(*a, *b);
        assert!(a.starts_with(PREFIX));
        assert_eq!(key(&a).unwrap().len(), 32);
    }

    #[test]
    fn the_header_lists_one_signature_per_secret() {
        let secrets = [new_secret().unwrap(), new_secret().unwrap()];
        let header = header(&secrets, "m", 1, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}
