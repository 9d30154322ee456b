//! CLIENT PAUSE: clients' commands (all of them, or only those that may
//! write) wait until a deadline or CLIENT UNPAUSE. A primary's replication
//! link is never held, and active expiry stops meanwhile, so a paused
//! primary's replication offset stands still: a planned failover pauses the
//! primary, waits for a replica to reach that offset, and promotes it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::keyspace::Clock;

pub struct Pause {
    /// Unix ms the pause ends at; 0 when there is none.
    until: AtomicU64,
    /// Every command waits, not only writes.
    all: AtomicBool,
    ended: Notify,
    clock: Clock,
    /// Clients waiting for the pause to end (INFO counts them as blocked, as Redis does).
    held: AtomicUsize,
}

impl Pause {
    pub fn new(clock: Clock) -> Pause {
        Pause {
            until: AtomicU64::new(0),
            all: AtomicBool::new(false),
            ended: Notify::new(),
            clock,
            held: AtomicUsize::new(0),
        }
    }

    /// Starts a pause, or extends one under way: the later end and the
    /// stricter mode win, as in Redis.
    pub fn start(&self, until: u64, all: bool) {
        let active = self.active();
        let until = if active { until.max(self.until.load(Ordering::Acquire)) } else { until };
        self.all.store(all || (active && self.all.load(Ordering::Relaxed)), Ordering::Relaxed);
        self.until.store(until, Ordering::Release);
    }

    /// When the pause under way ends (unix ms; 0: none).
    pub fn until(&self) -> u64 {
        self.until.load(Ordering::Acquire)
    }

    pub fn stop(&self) {
        self.until.store(0, Ordering::Release);
        self.ended.notify_waiters();
    }

    pub fn active(&self) -> bool {
        let until = self.until.load(Ordering::Acquire);
        until != 0 && self.clock.now_ms() < until
    }

    /// Whether a command waits now; `writes` says whether it may change the
    /// data, asked only while a pause is on.
    pub fn holds(&self, writes: impl FnOnce() -> bool) -> bool {
        // One relaxed load on every command's path when nothing is paused.
        if self.until.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.active() && (self.all.load(Ordering::Relaxed) || writes())
    }

    /// Clients held by the pause now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Waits for the pause to end, counted among the held clients meanwhile.
    pub async fn wait_counted(&self) {
        struct Held<'a>(&'a AtomicUsize);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        let _held = Held(&self.held);
        self.ended().await
    }

    /// Resolves when the pause ends (its deadline, or CLIENT UNPAUSE). The
    /// caller runs its command again, which checks again.
    pub async fn ended(&self) {
        let woken = self.ended.notified();
        tokio::pin!(woken);
        // Registered before the check: an UNPAUSE in between still wakes us.
        woken.as_mut().enable();
        let until = self.until.load(Ordering::Acquire);
        let now = self.clock.now_ms();
        if until == 0 || now >= until {
            return;
        }
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(std::time::Duration::from_millis(until - now)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_writes_only_unless_told_all() {
        let clock = Clock::manual(1_000_000);
        let pause = Pause::new(clock.clone());
        let now_ms = || clock.now_ms();
        assert!(!pause.holds(|| true));
        pause.start(now_ms() + 10_000, false);
        assert!(pause.holds(|| true) && !pause.holds(|| false));
        pause.start(now_ms() + 1, true);
        assert!(pause.holds(|| false), "the stricter mode wins");
        assert!(pause.until.load(Ordering::Relaxed) > now_ms() + 5_000, "the later end wins");
        pause.stop();
        assert!(!pause.holds(|| true) && !pause.holds(|| false));
    }

    #[test]
    fn a_pause_ends_by_itself() {
        let clock = Clock::manual(1_000_000);
        let pause = Pause::new(clock.clone());
        pause.start(clock.now_ms() + 100, true);
        assert!(pause.holds(|| true));
        clock.advance(100);
        assert!(!pause.holds(|| true));
    }

    #[tokio::test]
    async fn unpause_wakes_the_waiters() {
        let pause = std::sync::Arc::new(Pause::new(Clock::system()));
        pause.start(Clock::system().now_ms() + 60_000, false);
        let waiter = tokio::spawn({
            let pause = pause.clone();
            async move { pause.ended().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        pause.stop();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken").expect("joined");
    }
}
