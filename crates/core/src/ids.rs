//! Identifiers: UUIDv7 text, sortable by creation time, so keyset pagination
//! over an id is also a stable order of creation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A new UUIDv7 as lowercase hyphenated text.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when `s` is a hyphenated UUID (any version); lets callers answer an
/// impossible id with the same 404 as an absent one without a query.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// The creation instant, in Unix milliseconds, of a UUIDv7 (`None` for
/// other versions). kluis makes every id and token id a UUIDv7.
pub fn v7_millis(s: &str) -> Option<i64> {
    let uuid = uuid::Uuid::try_parse(s).ok()?;
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    i64::try_from(secs).ok()?.checked_mul(1000)?.checked_add(i64::from(nanos / 1_000_000))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh UUIDv7 id.
            pub fn generate() -> Self {
                Self(new_id())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

id_type!(
    /// A tenant: one business running kluis for its customers.
    TenantId
);
id_type!(
    /// An API client (operator or tenant); also the OAuth `client_id`.
    ClientId
);
id_type!(
    /// A person (data subject) inside a tenant.
    PersonId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_ids_carry_their_creation_millis() {
        let before = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let ms = v7_millis(&new_id()).unwrap();
        assert!(ms >= before && ms <= before + 60_000);
        assert!(v7_millis("6ba7b810-9dad-41d1-80b4-00c04fd430c8").is_none(), "v4 has no timestamp");
        assert!(v7_millis("nope").is_none());
    }
}
