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
    const SPINS: u32 = 64;
    const YIELDS: u32 = 32;
    for round in 0..SPINS + YIELDS {
        if let Some(guard) = try_lock(m) {
            return guard;
        }
        if round < SPINS { std::hint::spin_loop() } else { std::thread::yield_now() }
    }
    lock(m)
}

/// `m` if it comes free by `deadline` (spinning, then yielding); None if not.
pub fn lock_by<T: ?Sized>(m: &Mutex<T>, deadline: std::time::Instant) -> Option<MutexGuard<'_, T>> {
    const SPINS: u32 = 64;
    let mut round = 0;
    loop {
        if let Some(guard) = try_lock(m) {
            return Some(guard);
        }
        if round < SPINS {
            round += 1;
            std::hint::spin_loop()
        } else if std::time::Instant::now() < deadline {
            std::thread::yield_now()
        } else {
            return None;
        }
    }
}

pub fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
