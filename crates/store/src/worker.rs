//! A background thread fed through a channel, for the writers that batch
//! work off the request path (the audit appender, the usage counter): send
//! it messages, ask it to flush and wait, stop it and wait.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

/// What the thread receives.
#[derive(Debug)]
pub enum Control<M> {
    /// A message of the worker's own.
    Message(M),
    /// Write out everything received so far, then answer.
    Flush(Sender<()>),
}

/// The handle of a worker thread.
pub struct Worker<M> {
    sender: Mutex<Option<Sender<Control<M>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<M> std::fmt::Debug for Worker<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl<M: Send + 'static> Worker<M> {
    /// Start a thread named `name` running `run` over what is sent. `run`
    /// should return once the channel disconnects (after [`Worker::shutdown`]),
    /// having written out what it holds.
    pub fn spawn(name: &str, run: impl FnOnce(Receiver<Control<M>>) + Send + 'static) -> Worker<M> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || run(receiver)).ok();
        if thread.is_none() {
            tracing::error!(worker = name, "could not start a worker thread");
        }
        Worker { sender: Mutex::new(Some(sender)), thread: Mutex::new(thread) }
    }

    /// Send a message; false once the worker has stopped.
    pub fn send(&self, message: M) -> bool {
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        sender.as_ref().is_some_and(|s| s.send(Control::Message(message)).is_ok())
    }

    /// Ask the worker to write out what it holds, and wait until it has.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        let sent = {
            let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
            sender.as_ref().is_some_and(|s| s.send(Control::Flush(done)).is_ok())
        };
        if sent {
            let _ = wait.recv();
        }
    }

    /// Stop the worker (it writes out what it holds) and wait for it.
    pub fn shutdown(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}
