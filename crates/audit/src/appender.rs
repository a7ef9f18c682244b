//! The batching appender for reads of personal data: entries queue in memory
//! and a worker thread appends them in one transaction per tenant, within
//! 50 ms of the first queued entry (group commit), and on shutdown. The
//! chain stays gapless: the worker appends exactly as [`crate::record`] does.
//!
//! At most [`CAPACITY`] entries wait at once: past that, [`Appender::read`]
//! waits for room, so reads slow down to what the log can take instead of
//! queueing without bound (memory) or dropping entries.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use kluis_core::TenantId;
use kluis_store::DbPool;
use kluis_store::worker::{Control, Worker};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::record::{Action, Context, Pending, Target, append};

/// How long an entry may wait before its group is written.
pub const MAX_DELAY: Duration = Duration::from_millis(50);
/// A group is written early when it reaches this size.
const MAX_BATCH: usize = 1000;
/// Entries kept for a retry when the database is away; beyond it the oldest
/// are dropped with an error in the log.
const MAX_BACKLOG: usize = 100_000;
/// Entries that may wait to be written before a read waits for room.
pub const CAPACITY: usize = 10_000;

/// A queued entry with the room it takes.
type Message = (Box<Pending>, OwnedSemaphorePermit);

/// Queues read entries and writes them in groups.
pub struct Appender {
    worker: Worker<Message>,
    room: Arc<Semaphore>,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Appender")
    }
}

impl Appender {
    /// Start the worker on `pool`.
    pub fn start(pool: DbPool) -> Appender {
        let worker = Worker::<Message>::spawn("kluis-audit", move |receiver| {
            let mut queue: Vec<Pending> = Vec::new();
            // The room the queued entries take; given back once they are written.
            let mut taken: Vec<OwnedSemaphorePermit> = Vec::new();
            let mut oldest: Option<Instant> = None;
            loop {
                let message = match oldest {
                    None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(at) => receiver.recv_timeout(MAX_DELAY.saturating_sub(at.elapsed())),
                };
                match message {
                    Ok(Control::Message((entry, permit))) => {
                        oldest.get_or_insert_with(Instant::now);
                        queue.push(*entry);
                        taken.push(permit);
                        if queue.len() >= MAX_BATCH {
                            write(&pool, &mut queue);
                            taken.clear();
                            oldest = (!queue.is_empty()).then(Instant::now);
                        }
                    }
                    Ok(Control::Flush(done)) => {
                        write(&pool, &mut queue);
                        taken.clear();
                        oldest = (!queue.is_empty()).then(Instant::now);
                        let _ = done.send(());
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        write(&pool, &mut queue);
                        taken.clear();
                        oldest = (!queue.is_empty()).then(Instant::now);
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        write(&pool, &mut queue);
                        break;
                    }
                }
            }
        });
        Appender { worker, room: Arc::new(Semaphore::new(CAPACITY)) }
    }

    /// Queue the entry of a read, once there is room (see [`CAPACITY`]).
    pub async fn read(&self, ctx: &Context, action: Action, target: Target, fields: &[&str], purpose: Option<&str>) {
        let entry = Box::new(Pending::new(ctx, action, target, fields, purpose));
        let Ok(permit) = self.room.clone().acquire_owned().await else {
            tracing::error!(tenant.id = %ctx.tenant, "audit appender closed: a read entry was lost");
            return;
        };
        if !self.worker.send((entry, permit)) {
            tracing::error!(tenant.id = %ctx.tenant, "audit appender stopped: a read entry was lost");
        }
    }

    /// Write everything queued so far, and wait for it.
    pub fn flush(&self) {
        self.worker.flush();
    }

    /// Write everything queued and stop the worker (graceful shutdown).
    pub fn shutdown(&self) {
        self.worker.shutdown();
    }
}

/// Append the queue, one transaction per tenant; what fails stays queued.
fn write(pool: &DbPool, queue: &mut Vec<Pending>) {
    if queue.is_empty() {
        return;
    }
    let mut by_tenant: BTreeMap<TenantId, Vec<Pending>> = BTreeMap::new();
    for entry in queue.drain(..) {
        by_tenant.entry(entry.ctx.tenant.clone()).or_default().push(entry);
    }
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "audit appender: database unavailable, will retry");
            queue.extend(by_tenant.into_values().flatten());
            trim(queue);
            return;
        }
    };
    for (tenant, entries) in by_tenant {
        let count = entries.len();
        if let Err(e) = append(&mut conn, &tenant, entries.clone(), false) {
            // A deleted tenant has no chain left to append to.
            let gone = matches!(kluis_store::tenancy::tenants::is_active(&mut conn, &tenant), Ok(false))
                && kluis_store::tenancy::tenants::get(&mut conn, &tenant).is_err();
            if gone {
                tracing::info!(tenant.id = %tenant, count, "audit appender: tenant deleted, entries dropped");
            } else {
                tracing::warn!(tenant.id = %tenant, count, error = %e, "audit appender: append failed, will retry");
                queue.extend(entries);
            }
        }
    }
    trim(queue);
}

fn trim(queue: &mut Vec<Pending>) {
    if queue.len() > MAX_BACKLOG {
        let dropped = queue.len() - MAX_BACKLOG;
        queue.drain(..dropped);
        tracing::error!(dropped, "audit appender: backlog full, oldest read entries dropped");
    }
}

#[cfg(test)]
mod tests {
    use kluis_core::{Actor, ActorKind};
    use kluis_store::tenancy::{NewTenant, tenants};
    use kluis_store::{PoolOptions, build_pool, migrate};

    use super::*;

    #[test]
    fn queued_reads_are_written_in_groups_and_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let pool = build_pool(&format!("sqlite://{}/a.db", dir.path().display()), PoolOptions::default()).unwrap();
        let mut conn = pool.get().unwrap();
        migrate::run_pending(&mut conn).unwrap();
        let (tenant, _) = tenants::create(&mut conn, &NewTenant { name: "T".into(), slug: "tee".into() }).unwrap();
        crate::init_chain(&mut conn, &tenant.id).unwrap();
        let actor = Actor {
            kind: ActorKind::Client,
            id: "c".into(),
            tenant: Some(tenant.id.clone()),
            scopes: vec![],
            purposes: vec![],
        };
        let ctx = Context::new(&actor, tenant.id.clone(), None, None);

        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let appender = Appender::start(pool.clone());
        rt.block_on(async {
            for _ in 0..250 {
                appender.read(&ctx, Action::ClientRead, Target::client("c"), &[], None).await;
            }
        });
        appender.shutdown();
        let result = crate::verify(&mut conn, &tenant.id).unwrap();
        assert!(result.ok);
        assert_eq!(result.checked, 250, "every queued read was written before the worker stopped");
        // After shutdown a read is refused loudly, not silently queued forever.
        rt.block_on(appender.read(&ctx, Action::ClientRead, Target::client("c"), &[], None));
        assert_eq!(crate::verify(&mut conn, &tenant.id).unwrap().checked, 250);
    }
}
