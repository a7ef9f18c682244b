//! Secrets at rest and bearer secrets.
//!
//! - Secrets kluis must read back (signing keys, later TOTP seeds) are sealed
//!   with AES-256-GCM under the master key, bound to their row by the
//!   associated data, so a sealed value copied to another row does not open.
//! - Secrets kluis only has to recognise (client secrets, refresh and
//!   one-time tokens) are random 256-bit values stored as SHA-256 hashes and
//!   compared in constant time.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

const NONCE_LEN: usize = 12;

/// Why a secret could not be sealed, opened or generated.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key is not 32 bytes of base64.
    #[error("master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    /// The ciphertext was altered, belongs to another row, or another key sealed it.
    #[error("sealed value does not open under this master key")]
    Open,
    /// The operating system's random source failed.
    #[error("random source failed")]
    Random,
}

/// The AEAD key that seals secrets at rest. Zeroed on drop; never printed.
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Result<MasterKey, CryptoError> {
        let mut key = [0u8; 32];
        fill_random(&mut key)?;
        Ok(MasterKey(key))
    }

    /// Parse the base64 form (as in `KLUIS_MASTER_KEY` or `master.key`).
    pub fn from_base64(text: &str) -> Result<MasterKey, CryptoError> {
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| CryptoError::BadMasterKey)?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(MasterKey(key))
    }

    /// The base64 form, for writing the key file once.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0))
    }

    /// A 256-bit key for another use, derived with HKDF-SHA256 from the
    /// master key, `salt` and `info` (which names the use), so that no two
    /// uses share a key and the master key itself never leaves this type.
    pub fn derive(&self, salt: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = hkdf::Hkdf::<Sha256>::new(Some(salt), &self.0).expand(info, out.as_mut());
        out
    }

    /// Seal `plaintext`, bound to `context` (e.g. `signing_key:<kid>`).
    /// Output: nonce || ciphertext+tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = Aes256Gcm::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .map_err(|_| CryptoError::Open)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Open a value sealed by [`MasterKey::seal`] with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new((&self.0).into());
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Open)
    }
}

/// Fill `buf` from the operating system's random source.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}

/// A new bearer secret: `prefix` + 256 random bits, base64url. The prefix
/// lets secret scanners recognise a leaked kluis secret.
pub fn new_secret(prefix: &str) -> Result<Zeroizing<String>, CryptoError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    fill_random(bytes.as_mut())?;
    Ok(Zeroizing::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes.as_ref()))))
}

/// SHA-256 of a bearer secret, the only form kluis stores.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time check of a presented secret against a stored hash.
pub fn verify_secret(presented: &str, stored_hash: &[u8]) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    presented.as_slice().ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_its_key_and_context() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal("signing_key:a", b"secret").unwrap();
        assert_eq!(key.open("signing_key:a", &sealed).unwrap().as_slice(), b"secret");
        assert!(key.open("signing_key:b", &sealed).is_err());
        let other = MasterKey::generate().unwrap();
        assert!(other.open("signing_key:a", &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open("signing_key:a", &tampered).is_err());
    }

    #[test]
    fn master_key_round_trips_base64_and_rejects_short_keys() {
        let key = MasterKey::generate().unwrap();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.0, key.0);
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    #[test]
    fn secrets_are_unique_and_verify_by_hash() {
        let a = new_secret("ksec_").unwrap();
        let b = new_secret("ksec_").unwrap();
        assert_ne!(*a, *b);
        assert!(a.starts_with("ksec_") && a.len() == 5 + 43);
        let hash = hash_secret(&a);
        assert!(verify_secret(&a, &hash));
        assert!(!verify_secret(&b, &hash));
    }
}
