//! Time: the clock everything that expires or times out reads (the system's,
//! or a manual one tests move), and the 16-bit access stamps of LRU and LFU.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

fn system_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Unix time in ms: the system's, or (in tests) a manual clock that only
/// moves when told, so TTL and timeout logic is tested without sleeping.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that stands at `start_ms` until `advance`d.
    pub fn manual(start_ms: u64) -> Clock {
        Clock(Some(Arc::new(AtomicU64::new(start_ms))))
    }

    pub fn now_ms(&self) -> u64 {
        match &self.0 {
            None => system_ms(),
            Some(ms) => ms.load(Ordering::Acquire),
        }
    }

    /// Moves a manual clock forward; the system clock moves by itself.
    pub fn advance(&self, ms: u64) {
        if let Some(now) = &self.0 {
            now.fetch_add(ms, Ordering::AcqRel);
        }
    }
}

/// LRU stamp: seconds, wrapping every ~18 hours; idle time is the wrapped difference.
pub fn lru_stamp(now_ms: u64) -> u16 {
    (now_ms / 1000) as u16
}

pub fn lru_idle_secs(stamp: u16, now_ms: u64) -> u64 {
    lru_stamp(now_ms).wrapping_sub(stamp) as u64
}

/// LFU stamp: a logarithmic 8-bit counter (high byte) and the minute it was last
/// decayed (low byte), as Redis's, tuned by `lfu-log-factor` and `lfu-decay-time`.
pub fn lfu_counter(stamp: u16) -> u8 {
    (stamp >> 8) as u8
}

const LFU_INIT: u8 = 5;
/// `lfu-log-factor`: how many hits it takes to raise the counter (Redis's default 10).
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
/// `lfu-decay-time`: minutes per step of decay; 0 never decays (Redis's default 1).
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(1);

pub fn lfu_log_factor() -> u32 {
    LFU_LOG_FACTOR.load(Ordering::Relaxed)
}

pub fn set_lfu_log_factor(factor: u32) {
    LFU_LOG_FACTOR.store(factor, Ordering::Relaxed)
}

pub fn lfu_decay_time() -> u32 {
    LFU_DECAY_TIME.load(Ordering::Relaxed)
}

pub fn set_lfu_decay_time(minutes: u32) {
    LFU_DECAY_TIME.store(minutes, Ordering::Relaxed)
}

pub fn lfu_new(now_ms: u64) -> u16 {
    ((LFU_INIT as u16) << 8) | lfu_minute(now_ms) as u16
}

/// An LFU stamp with the given counter, as of now (RESTORE ... FREQ).
pub fn lfu_stamp(counter: u8, now_ms: u64) -> u16 {
    ((counter as u16) << 8) | lfu_minute(now_ms) as u16
}

fn lfu_minute(now_ms: u64) -> u8 {
    (now_ms / 60_000) as u8
}

/// The counter after decay for the minutes elapsed since the stamp.
pub fn lfu_decayed(stamp: u16, now_ms: u64) -> u8 {
    let elapsed = lfu_minute(now_ms).wrapping_sub(stamp as u8);
    let periods = elapsed.checked_div(u8::try_from(lfu_decay_time()).unwrap_or(u8::MAX)).unwrap_or(0);
    lfu_counter(stamp).saturating_sub(periods)
}

/// Decays, then bumps the counter with probability 1/((counter - init) * factor + 1).
pub fn lfu_touch(stamp: u16, now_ms: u64, random: f64) -> u16 {
    let mut counter = lfu_decayed(stamp, now_ms);
    if counter < u8::MAX {
        let base = counter.saturating_sub(LFU_INIT) as f64;
        if random < 1.0 / (base * f64::from(lfu_log_factor()) + 1.0) {
            counter += 1;
        }
    }
    ((counter as u16) << 8) | lfu_minute(now_ms) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_wraps() {
        let t = 10_000_000u64;
        let s = lru_stamp(t);
        assert_eq!(lru_idle_secs(s, t + 5_000), 5);
    }

    #[test]
    fn lfu_grows_and_decays() {
        let t = 0;
        let mut s = lfu_new(t);
        for _ in 0..100 {
            s = lfu_touch(s, t, 0.0);
        }
        assert!(lfu_counter(s) > LFU_INIT);
        assert!(lfu_decayed(s, t + 60_000 * 3) < lfu_counter(s));
    }
}
