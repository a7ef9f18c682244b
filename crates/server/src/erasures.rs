//! The self-erasure worker: carries out the erasures people asked for once
//! the tenant's grace period has passed (`kluis_app::erasure::carry_out_due`).
//! Several instances may run it: the erasure's own row locks make the
//! second one find nothing left and roll back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kluis_app::App;

/// How often the worker looks for due requests.
const POLL: Duration = Duration::from_secs(1);
/// Most erasures carried out in one round.
const BATCH: i64 = 50;

/// The running worker.
pub struct ErasureWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ErasureWorker {
    /// Start looking for due self-erasures. The worker holds the app weakly:
    /// once the server that owns it is gone, the worker ends too.
    pub fn start(app: &Arc<App>) -> ErasureWorker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let app = Arc::downgrade(app);
        let thread = std::thread::Builder::new()
            .name("kluis-erasures".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let Some(app) = app.upgrade() else { break };
                    if let Err(e) = kluis_app::erasure::carry_out_due(&app, kluis_core::time::now(), BATCH) {
                        tracing::warn!(error = %e, "self-erasure worker: a round failed; retrying");
                    }
                    drop(app);
                    // Sleep in short steps so a stop is not kept waiting.
                    let mut slept = Duration::ZERO;
                    while slept < POLL && !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                        slept += Duration::from_millis(100);
                    }
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!("could not start the self-erasure worker");
        }
        ErasureWorker { stop, thread }
    }

    /// Stop after the current round.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
