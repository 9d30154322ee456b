//! Background loops with one shape, as garage's workers: a step, a wait, and
//! a shutdown path. Told to stop, a worker takes no new step and finishes the
//! one in flight; `Workers::shutdown` returns once every worker has.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub trait Worker: Send + 'static {
    fn name(&self) -> &'static str;

    /// One round of work; never cut short by a shutdown.
    fn step(&mut self) -> impl Future<Output = ()> + Send;

    /// Resolves when the next step is due.
    fn wait(&mut self) -> impl Future<Output = ()> + Send;

    /// Work the steps left running in the background (tasks they spawned),
    /// awaited before the worker reports itself stopped.
    fn drain(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Tells workers to stop; each one's receiver sees it.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// One that never fires (tests that drive a worker's steps themselves).
    pub fn never() -> Shutdown {
        Shutdown(watch::Sender::new(false).subscribe())
    }

    /// Resolves once a shutdown is requested.
    pub async fn wait(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            // Nobody can ask any more.
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps `duration`, or less if a shutdown is requested meanwhile.
    pub async fn sleep(&mut self, duration: Duration) {
        tokio::select! {
            () = tokio::time::sleep(duration) => {}
            () = self.wait() => {}
        }
    }
}

pub struct Workers {
    stop: watch::Sender<bool>,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Workers {
    fn default() -> Workers {
        Workers { stop: watch::Sender::new(false), running: Vec::new() }
    }
}

impl Workers {
    /// What workers (and what they spawn) watch to learn of a shutdown.
    pub fn shutdown_signal(&self) -> Shutdown {
        Shutdown(self.stop.subscribe())
    }

    pub fn spawn(&mut self, worker: impl Worker) {
        let name = worker.name();
        let shutdown = self.shutdown_signal();
        self.running.push((name, tokio::spawn(run(worker, shutdown))));
    }

    /// Stops every worker after its step in flight; returns when all have.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for (name, handle) in self.running {
            if let Err(e) = handle.await {
                tracing::error!(worker = name, "ended abnormally: {e}");
            }
        }
    }
}

async fn run(mut worker: impl Worker, mut shutdown: Shutdown) {
    while !shutdown.requested() {
        worker.step().await;
        tokio::select! {
            () = worker.wait() => {}
            () = shutdown.wait() => {}
        }
    }
    worker.drain().await;
    tracing::info!(worker = worker.name(), "stopped");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    struct Counter {
        steps: Arc<AtomicU32>,
        finished: Arc<AtomicU32>,
    }

    impl Worker for Counter {
        fn name(&self) -> &'static str {
            "counter"
        }

        async fn step(&mut self) {
            self.steps.fetch_add(1, Ordering::SeqCst);
            // A step long enough for the shutdown to arrive in the middle of it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.finished.fetch_add(1, Ordering::SeqCst);
        }

        async fn wait(&mut self) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_finishes_the_step_in_flight_and_starts_no_other() {
        let (steps, finished) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let mut workers = Workers::default();
        workers.spawn(Counter { steps: steps.clone(), finished: finished.clone() });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 1, "first step under way");
        workers.shutdown().await;
        assert_eq!((steps.load(Ordering::SeqCst), finished.load(Ordering::SeqCst)), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_cuts_the_wait_between_steps() {
        let (steps, finished) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let mut workers = Workers::default();
        workers.spawn(Counter { steps: steps.clone(), finished: finished.clone() });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = tokio::time::Instant::now();
        workers.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(1), "the hour-long wait was cut");
        assert_eq!(steps.load(Ordering::SeqCst), 1);
    }
}
