//! What the platform's probes and token verifiers ask: whether the database
//! answers with every migration applied, and which keys verify access tokens.

use kluis_core::DomainError;
use kluis_store::migrate;
use kluis_store::tenancy::keys::{self, PublicKey};

use crate::{App, AppResult};

/// Ready when the database answers and no migration is pending
/// (`Unavailable` otherwise).
pub async fn ready(app: &App) -> AppResult<()> {
    app.read(|conn| {
        let pending = migrate::has_pending(conn).map_err(|e| DomainError::Unavailable(e.to_string()))?;
        if pending { Err(DomainError::Unavailable("migrations pending".into())) } else { Ok(()) }
    })
    .await
}

/// The published public keys: the current one first, then retired ones
/// whose tokens may still be alive.
pub async fn jwks(app: &App) -> AppResult<Vec<PublicKey>> {
    let window = app.tokens.max_token_ttl();
    app.read(move |conn| keys::published(conn, window)).await
}
