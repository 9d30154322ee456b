//! Locks that outlive a panic. A command that panics while holding a lock
//! leaves data no worse than losing the whole server would, so a poisoned
//! lock is taken as it is: one helper per lock kind instead of the same
//! `unwrap_or_else(|e| e.into_inner())` at every call.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `m` if it is free now.
pub fn try_lock<T: ?Sized>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Spins, then yields, before sleeping on `m`: for a lock whose holder lets
/// go within microseconds, where a futex sleep and wake-up cost more.
pub fn lock_spinning<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    const YIELDS: u32 = 32;
    let yields = std::cell::Cell::new(0);
    lock_unless(m, || yields.replace(yields.get() + 1) >= YIELDS).unwrap_or_else(|| lock(m))
}

/// `m` if it comes free by `deadline` (spinning, then yielding); None if not.
pub fn lock_by<T: ?Sized>(m: &Mutex<T>, deadline: std::time::Instant) -> Option<MutexGuard<'_, T>> {
    lock_unless(m, || std::time::Instant::now() >= deadline)
}

/// `m` once it comes free, spinning briefly, then yielding; None as soon as
/// `give_up` says so (asked only once the spins are over).
pub fn lock_unless<T: ?Sized>(m: &Mutex<T>, give_up: impl Fn() -> bool) -> Option<MutexGuard<'_, T>> {
    const SPINS: u32 = 64;
    for _ in 0..SPINS {
        if let Some(guard) = try_lock(m) {
            return Some(guard);
        }
        std::hint::spin_loop();
    }
    loop {
        if let Some(guard) = try_lock(m) {
            return Some(guard);
        }
        if give_up() {
            return None;
        }
        std::thread::yield_now();
    }
}

pub fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
