//! Usage counters of the hot paths: checked pairs and feed pages, per
//! client and day (UTC). A check must not become a write: the counts add up
//! in memory ([`Tally`]) and a worker thread writes them every second, in
//! one transaction, and once more on shutdown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use diesel::prelude::*;
use kluis_core::{DomainError, Result, TenantId};
use kluis_store::error::{TxError, is_unique_violation};
use kluis_store::schema::consent_usage as u;
use kluis_store::worker::{Control, Worker};
use kluis_store::{Db, DbPool, write_tx};

/// How often the counted usage is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What a usage counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Usage {
    /// Checked pairs.
    Check,
    /// Pages of the changes feed.
    Changes,
}

impl Usage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Usage::Check => "check",
            Usage::Changes => "changes",
        }
    }
}

/// Add `n` to the client's counter of `day` (`YYYY-MM-DD`), in its own
/// transaction (or a savepoint of the caller's).
pub fn count_on(conn: &mut Db, tenant: &TenantId, day: &str, client_id: &str, usage: Usage, n: i64) -> Result<()> {
    let key = u::table.find((tenant.as_str(), day, client_id, usage.as_str()));
    write_tx(conn, |conn| -> Result<(), TxError> {
        if diesel::update(key).set(u::count.eq(u::count + n)).execute(conn)? == 1 {
            return Ok(());
        }
        // A savepoint: when another process made the row first, add to it instead.
        let inserted = write_tx(conn, |conn| {
            diesel::insert_into(u::table)
                .values((
                    u::tenant_id.eq(tenant.as_str()),
                    u::day.eq(day),
                    u::client_id.eq(client_id),
                    u::kind.eq(usage.as_str()),
                    u::count.eq(n),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                diesel::update(key).set(u::count.eq(u::count + n)).execute(conn)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    })
    .map_err(DomainError::from)
}

/// Add `n` to the client's counter of today, now.
pub fn count(conn: &mut Db, tenant: &TenantId, client_id: &str, usage: Usage, n: i64) -> Result<()> {
    count_on(conn, tenant, &today(), client_id, usage, n)
}

/// A client's written count of today, for tests and reports.
pub fn counted(conn: &mut Db, tenant: &TenantId, client_id: &str, usage: Usage) -> Result<i64> {
    let day = today();
    let n: Option<i64> = u::table
        .find((tenant.as_str(), day.as_str(), client_id, usage.as_str()))
        .select(u::count)
        .first(conn)
        .optional()
        .map_err(kluis_store::error::from_diesel)?;
    Ok(n.unwrap_or(0))
}

fn today() -> String {
    kluis_core::time::now().date().to_string()
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    tenant: TenantId,
    day: String,
    client_id: String,
    usage: Usage,
}

/// Counts added up in memory until they are written.
#[derive(Debug, Default)]
pub struct Tally {
    pending: Mutex<HashMap<Key, i64>>,
}

impl Tally {
    /// Add `n` to the client's count of today.
    pub fn add(&self, tenant: &TenantId, client_id: &str, usage: Usage, n: i64) {
        let key = Key { tenant: tenant.clone(), day: today(), client_id: client_id.to_owned(), usage };
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(0) += n;
    }

    /// Write every pending count in one transaction; on failure they stay
    /// pending (added to whatever was counted meanwhile).
    pub fn write(&self, conn: &mut Db) -> Result<()> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        let written = write_tx(conn, |conn| -> Result<(), TxError> {
            for (key, n) in &taken {
                // A deleted tenant's counts have nowhere to go.
                match kluis_store::tenancy::tenants::get(conn, &key.tenant) {
                    Err(DomainError::NotFound) => continue,
                    Err(e) => return Err(TxError(e)),
                    Ok(_) => {}
                }
                count_on(conn, &key.tenant, &key.day, &key.client_id, key.usage, *n)?;
            }
            Ok(())
        });
        if let Err(e) = written {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (key, n) in taken {
                *pending.entry(key).or_insert(0) += n;
            }
            return Err(DomainError::from(e));
        }
        Ok(())
    }
}

/// A [`Tally`] with the worker that writes it every [`FLUSH_INTERVAL`].
pub struct Counter {
    tally: std::sync::Arc<Tally>,
    worker: Worker<()>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counter")
    }
}

impl Counter {
    /// Start the worker on `pool`.
    pub fn start(pool: DbPool) -> Counter {
        let tally = std::sync::Arc::new(Tally::default());
        let shared = tally.clone();
        let worker = Worker::spawn("kluis-usage", move |receiver| {
            loop {
                let message = receiver.recv_timeout(FLUSH_INTERVAL);
                write(&pool, &shared);
                match message {
                    Ok(Control::Flush(done)) => {
                        let _ = done.send(());
                    }
                    Ok(Control::Message(())) | Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        Counter { tally, worker }
    }

    /// Add `n` to the client's count of today.
    pub fn add(&self, tenant: &TenantId, client_id: &str, usage: Usage, n: i64) {
        self.tally.add(tenant, client_id, usage, n);
    }

    /// Write every pending count, and wait for it.
    pub fn flush(&self) {
        self.worker.flush();
    }

    /// Write what is pending and stop the worker (graceful shutdown).
    pub fn shutdown(&self) {
        self.worker.shutdown();
    }
}

fn write(pool: &DbPool, tally: &Tally) {
    let written =
        pool.get().map_err(|e| DomainError::Internal(e.to_string())).and_then(|mut conn| tally.write(&mut conn));
    if let Err(e) = written {
        tracing::warn!(error = %e, "usage counter: write failed, will retry");
    }
}
