//! Passwords: a policy (8 to 128 characters, not one of the 10,000 most
//! common, compared exactly as given), argon2id hashing with kluis's
//! parameters, verification, rehashing when the parameters change, and a
//! dummy hash so an unknown user costs the same time as a known one.
//!
//! Each hash needs 19 MiB of working memory. It comes from a small pool of
//! block arrays, one per core, kept and reused: allocated and freed per hash,
//! glibc's allocator kept the freed arrays in its per-thread arenas, and a
//! burst of sign-ins left the process hundreds of MiB larger.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Working memory kept for reuse: at most one array per core (the API runs
/// at most that many hashes at once).
fn arrays() -> &'static Mutex<Vec<Vec<Block>>> {
    static FREE: OnceLock<Mutex<Vec<Vec<Block>>>> = OnceLock::new();
    FREE.get_or_init(|| Mutex::new(Vec::new()))
}

/// Run `f` with kluis's argon2 working memory (`MEMORY_KIB` blocks).
fn with_memory<T>(f: impl FnOnce(&mut [Block]) -> T) -> T {
    let blocks = usize::try_from(MEMORY_KIB).unwrap_or(usize::MAX);
    let taken = arrays().lock().unwrap_or_else(|p| p.into_inner()).pop();
    let mut memory = taken.unwrap_or_else(|| vec![Block::default(); blocks]);
    let result = f(&mut memory);
    let keep = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let mut free = arrays().lock().unwrap_or_else(|p| p.into_inner());
    if free.len() < keep {
        free.push(memory);
    }
    result
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    DomainError::Internal(e.to_string())
}

/// Hash a password (argon2id, random salt) into a PHC string.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
    let argon = argon2()?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(|memory| argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory))
        .map_err(internal)?;
    let params = argon.params().clone();
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params.try_into().map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` gives `parsed`'s hash: with the pooled memory when
/// the hash has kluis's parameters, otherwise the library's own way.
fn matches(password: &str, parsed: &PasswordHash<'_>) -> bool {
    let (Some(expected), Some(salt)) = (&parsed.hash, &parsed.salt) else { return false };
    let Ok(params) = Params::try_from(parsed) else { return false };
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(Version::V0x13.into())
        && params.m_cost() == MEMORY_KIB
        && params.p_cost() == PARALLELISM;
    if !current {
        return Argon2::default().verify_password(password.as_bytes(), parsed).is_ok();
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = vec![0u8; expected.len()];
    let hashed =
        with_memory(|memory| argon.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory));
    // `Output` compares in constant time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|computed| computed == *expected)
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
    let ok = matches(password, &parsed);
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
    use argon2::password_hash::PasswordHasher;

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
        // Hashes made with other parameters still verify (then get rehashed).
        assert!(verify("x", Some(&weaker)));
        assert!(!verify("y", Some(&weaker)));
        // The library's own hash of kluis's parameters verifies through the pooled path, and ours through its.
        let theirs =
            argon2().unwrap().hash_password(b"pooled path", &SaltString::generate(&mut OsRng)).unwrap().to_string();
        assert!(verify("pooled path", Some(&theirs)));
        assert!(!verify("pooled pat", Some(&theirs)));
        let ours = PasswordHash::new(&h).unwrap();
        assert!(argon2().unwrap().verify_password(b"correct horse battery staple", &ours).is_ok());
        assert!(argon2().unwrap().verify_password(b"correct horse battery stapler", &ours).is_err());
    }
}
