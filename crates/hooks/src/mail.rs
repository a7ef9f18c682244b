//! The mail to a tenant's privacy contact when kluis disables one of its
//! webhook endpoints, queued in the outbox inside the transaction that
//! disables it (so it is sent exactly when the endpoint is disabled).

use kluis_core::{DomainError, Result, TenantId};
use kluis_store::{Db, MasterKey, outbox};
use serde_json::json;

use crate::endpoints::{DISABLED_GONE, Webhook};

/// Tell `to` that `hook` was disabled for `reason` (`failing` or `gone`).
pub fn queue_disabled(
    conn: &mut Db,
    master: &MasterKey,
    tenant: &TenantId,
    to: &str,
    hook: &Webhook,
    reason: &str,
) -> Result<()> {
    let why = if reason == DISABLED_GONE {
        "it answered 410 Gone, which says it no longer wants events"
    } else {
        "its deliveries failed for three days"
    };
    let subject = "A webhook endpoint was disabled".to_owned();
    let text = format!(
        "kluis disabled the webhook endpoint {url} (id {id}) because {why}.\n\n\
         Events for it are no longer sent; deliveries still pending have failed. \
         Once the receiver works again, enable it (PATCH /v1/webhooks/{id} with {{\"enabled\": true}}) \
         and replay what it missed (POST /v1/webhooks/{id}/deliveries/{{delivery_id}}/replay).\n",
        url = hook.url,
        id = hook.id,
    );
    let payload = json!({"to": to, "subject": subject, "text": text});
    let bytes = serde_json::to_vec(&payload).map_err(|e| DomainError::Internal(e.to_string()))?;
    outbox::enqueue(conn, master, tenant, None, "mail", &bytes)?;
    Ok(())
}
