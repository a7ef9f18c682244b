//! The retention sweeper worker: every `KLUIS_RETENTION_SWEEP_INTERVAL_SECS`
//! (default an hour; 0 turns it off) it sweeps each active tenant through
//! the same [`kluis_app::retention::sweep_now`] as the API. A tenant another
//! instance is sweeping (its lease is held) is skipped until the next round.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kluis_core::DomainError;
use kluis_retention::sweeper::{Options, Trigger};
use kluis_store::DbPool;
use kluis_store::personal::PersonalData;

/// The running worker.
pub struct SweepWorker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl SweepWorker {
    /// Start sweeping every `interval`; `None` when the interval is zero.
    pub fn start(
        pool: DbPool,
        holders: Vec<Arc<dyn PersonalData>>,
        interval: Duration,
        options: Options,
    ) -> Option<SweepWorker> {
        if interval.is_zero() {
            return None;
        }
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("kluis-sweeper".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                loop {
                    let guard = stopped.lock().unwrap_or_else(|p| p.into_inner());
                    let (guard, _) =
                        wake.wait_timeout_while(guard, interval, |s| !*s).unwrap_or_else(|p| p.into_inner());
                    if *guard {
                        return;
                    }
                    drop(guard);
                    sweep_all(&pool, &holders, &options);
                }
            })
            .ok();
        Some(SweepWorker { stop, thread })
    }

    /// Stop (a sweep under way finishes its round first).
    pub fn stop(mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One round: every active tenant, one after the other.
fn sweep_all(pool: &DbPool, holders: &[Arc<dyn PersonalData>], options: &Options) {
    let Ok(mut conn) = pool.get() else {
        tracing::warn!("sweeper: no database connection; next round");
        return;
    };
    let tenants = match kluis_store::tenancy::tenants::all_ids(&mut conn) {
        Ok(tenants) => tenants,
        Err(e) => {
            tracing::warn!(error = %e, "sweeper: cannot list tenants");
            return;
        }
    };
    for tenant in tenants {
        if !kluis_store::tenancy::tenants::is_active(&mut conn, &tenant).unwrap_or(false) {
            continue;
        }
        let audit = kluis_app::retention::system_audit(&tenant);
        match kluis_app::retention::sweep_now(&mut conn, holders, &audit, Trigger::Schedule, options, &mut |_| {}) {
            Ok(_) => {}
            Err(DomainError::Conflict { .. }) => {
                tracing::debug!(tenant.id = %tenant, "sweeper: another instance is sweeping this tenant");
            }
            Err(e) => tracing::warn!(tenant.id = %tenant, error = %e, "sweeper: sweep failed; next round"),
        }
    }
}
