//! When a running script gives its worker thread away. Scripts run in place
//! on the worker that read them: most are short, and handing the worker to
//! another thread for every one (tokio's `block_in_place`) cost ~100 µs a
//! call. A script that runs past `busy-reply-threshold` hands the worker off
//! then, so the connections queued behind it get their `-BUSY` (and SCRIPT
//! KILL is read): Redis too serves other clients only from that threshold.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::server::Server;

/// How long the script waits, once, for another thread to take the worker.
/// Waking one takes well under a millisecond; if it has not by then, the
/// worker comes back and the clients behind the script wait for its end.
const GRACE: Duration = Duration::from_millis(10);

pub struct Handoff {
    due: Instant,
    done: Cell<bool>,
}

impl Handoff {
    pub fn new(server: &Server) -> Handoff {
        let threshold = server.live().busy_reply_threshold.load(Ordering::Relaxed);
        Handoff { due: Instant::now() + Duration::from_millis(threshold), done: Cell::new(false) }
    }

    /// Called from the script's hook: gives the worker away once it is due.
    pub fn check(&self) {
        if self.done.get() || Instant::now() < self.due {
            return;
        }
        self.done.set(true);
        // block_in_place hands this worker's queue (its LIFO slot too) to
        // another thread before it runs the closure; the script goes on here.
        if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
            tokio::task::block_in_place(|| std::thread::sleep(GRACE));
        }
    }
}
