//! The backup schedule: every tenant is backed up once per
//! `KLUIS_BACKUP_INTERVAL_SECS` (a day by default; 0 turns the schedule
//! off) and its backups rotated. The worker looks every minute (or every
//! interval, when shorter) for tenants that are due; a tenant's lease
//! (`backup_schedules`) lets only one instance back it up at a time.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kluis_app::App;

/// The running worker.
pub struct BackupWorker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// Longest wait between two looks for due tenants.
const LOOK_EVERY: Duration = Duration::from_secs(60);

impl BackupWorker {
    /// Start the schedule; `None` when the interval is zero or the backup
    /// store could not be opened (said in the log).
    pub fn start(app: &Arc<App>, interval: Duration) -> Option<BackupWorker> {
        if interval.is_zero() {
            return None;
        }
        let store = match &app.backups {
            Ok(store) => store.clone(),
            Err(e) => {
                tracing::error!(error = %e, "backups: the store does not open; no scheduled backups");
                return None;
            }
        };
        let owner = kluis_core::ids::new_id();
        let every = interval.min(LOOK_EVERY);
        let span = time::Duration::try_from(interval).unwrap_or(time::Duration::DAY);
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let app = app.clone();
        let thread = std::thread::Builder::new()
            .name("kluis-backups".into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                loop {
                    let guard = stopped.lock().unwrap_or_else(|p| p.into_inner());
                    let (guard, _) = wake.wait_timeout_while(guard, every, |s| !*s).unwrap_or_else(|p| p.into_inner());
                    if *guard {
                        return;
                    }
                    drop(guard);
                    let now = kluis_core::time::now();
                    match kluis_app::backups::run_schedule(&app.pool, &app.master, &store, &owner, span, now) {
                        Ok(made) if !made.is_empty() => tracing::info!(backups = made.len(), "scheduled backups made"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "backups: round failed; next round"),
                    }
                }
            })
            .ok();
        Some(BackupWorker { stop, thread })
    }

    /// Stop (a backup under way finishes first).
    pub fn stop(mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
