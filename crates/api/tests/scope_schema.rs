//! The `Scope` schema of the contract is written out by hand (the wire
//! form of `kluis_core::Scope` is a string): it must name every scope a
//! tenant client can hold, or a generated client refuses a client's own
//! scopes (`service:*` were missing once; Schemathesis found it).

#![allow(clippy::unwrap_used, reason = "a test: a failure should panic")]

use std::collections::BTreeSet;

#[test]
fn the_scope_schema_names_every_scope_a_tenant_client_can_hold() {
    let document = serde_json::to_value(kluis_api::openapi()).unwrap();
    let documented: BTreeSet<&str> = document["components"]["schemas"]["Scope"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let held: BTreeSet<&str> = kluis_core::Scope::tenant_client_scopes().map(kluis_core::Scope::as_str).collect();
    assert_eq!(documented, held);
}
