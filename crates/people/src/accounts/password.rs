//! Passwords: a policy (8 to 128 characters, not one of the 10,000 most
//! common, compared exactly as given), argon2id hashing with kluis's
//! parameters, verification, rehashing when the parameters change, and a
//! dummy hash so an unknown user costs the same time as a known one.

use std::collections::HashSet;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kluis_core::{DomainError, FieldError, Result};

/// argon2id memory cost in KiB (OWASP's first recommendation).
pub const MEMORY_KIB: u32 = 19_456;
/// argon2id iterations.
pub const ITERATIONS: u32 = 2;
/// argon2id parallelism.
pub const PARALLELISM: u32 = 1;

const COMMON: &str = include_str!("../../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().filter(|l| !l.starts_with('#')).collect())
}

fn argon2() -> Result<Argon2<'static>> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The policy, as a field error on `field`.
pub fn check(field: &str, password: &str) -> Result<()> {
    let length = password.chars().count();
    let problem = if !(8..=128).contains(&length) {
        Some("must be 8 to 128 characters")
    } else if common().contains(password) {
        Some("is one of the most common passwords; choose another")
    } else {
        None
    };
    match problem {
        Some(message) => Err(DomainError::Validation(vec![FieldError::new(field, message)])),
        None => Ok(()),
    }
}

/// Hash a password (argon2id, random salt) into a PHC string.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(e.to_string()))
}

/// A hash of a random password, verified against when there is no real one,
/// so that unknown users and missing passwords take as long as wrong ones.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 32];
        let _ = kluis_store::crypto::fill_random(&mut random);
        let password: String = random.iter().map(|b| format!("{b:02x}")).collect();
        hash(&password).unwrap_or_default()
    })
}

/// Whether `password` matches `stored`; `None` checks against the dummy and
/// is always false. An empty password is checked too (and never matches).
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let target = stored.unwrap_or_else(|| dummy());
    let Ok(parsed) = PasswordHash::new(target) else {
        return false;
    };
    let Ok(argon) = argon2() else { return false };
    let ok = argon.verify_password(password.as_bytes(), &parsed).is_ok();
    ok && stored.is_some() && !password.is_empty()
}

/// Whether a stored hash was made with other parameters than kluis's now.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return true };
    let Ok(params) = Params::try_from(&parsed) else { return true };
    parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != PARALLELISM
}

/// Warm the dummy hash at startup so the first unknown-user sign-in is not slower.
pub fn warm_up() {
    let _ = dummy();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_long_and_common_passwords_exactly_as_given() {
        assert!(check("password", "short").is_err());
        assert!(check("password", &"x".repeat(129)).is_err());
        assert!(check("password", "password").is_err());
        assert!(check("password", "12345678").is_err());
        assert!(check("password", "Password").is_ok() || common().contains("Password"));
        assert!(check("password", " password").is_ok(), "no trimming: a leading space makes it another password");
        assert!(check("password", "correct horse battery staple").is_ok());
        assert!(common().len() >= 9_990, "the shipped list has ~10,000 entries");
    }

    #[test]
    fn hashes_verify_and_carry_kluis_parameters() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", Some(&h)));
        assert!(!verify("correct horse battery stapl", Some(&h)));
        assert!(!verify("", Some(&h)));
        assert!(!verify("anything", None));
        assert!(!needs_rehash(&h));
        let weaker = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).unwrap())
            .hash_password(b"x", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(needs_rehash(&weaker));
    }
}
