//! The request reminder worker: every `KLUIS_REQUEST_REMINDER_INTERVAL_SECS`
//! (default 5 minutes; 0 turns it off) it mails each tenant's privacy
//! contact about requests due within a week and about overdue ones, once
//! each (`kluis_app::requests::send_reminders`), and about customer-data
//! backups that outlived their returned item by more than
//! `KLUIS_SERVICE_BACKUP_REMINDER_DAYS` (`kluis_app::service::send_backup_reminders`).
//! Several instances may run it: each reminder is claimed on its request
//! or backup record in the mail's transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kluis_app::App;

/// The running worker.
pub struct ReminderWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReminderWorker {
    /// Start a round every `interval` (the first at once); `None` when the
    /// interval is zero. The worker holds the app weakly: once the server
    /// that owns it is gone, the worker ends too.
    pub fn start(app: &Arc<App>, interval: Duration, backup_reminder_days: u32) -> Option<ReminderWorker> {
        if interval.is_zero() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let app = Arc::downgrade(app);
        let thread = std::thread::Builder::new()
            .name("kluis-reminders".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let Some(app) = app.upgrade() else { break };
                    match kluis_app::requests::send_reminders(&app, kluis_core::time::now()) {
                        Ok(0) => {}
                        Ok(sent) => tracing::info!(sent, "request reminders queued"),
                        Err(e) => tracing::warn!(error = %e, "request reminders: a round failed; retrying"),
                    }
                    let now = kluis_core::time::now();
                    match kluis_app::service::send_backup_reminders(&app, now, backup_reminder_days) {
                        Ok(0) => {}
                        Ok(sent) => tracing::info!(sent, "service backup reminders queued"),
                        Err(e) => tracing::warn!(error = %e, "service backup reminders: a round failed; retrying"),
                    }
                    drop(app);
                    // Sleep in short steps so a stop is not kept waiting.
                    let mut slept = Duration::ZERO;
                    while slept < interval && !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                        slept += Duration::from_millis(100);
                    }
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!("could not start the request reminder worker");
        }
        Some(ReminderWorker { stop, thread })
    }

    /// Stop after the current round.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
