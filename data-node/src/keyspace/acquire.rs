//! Taking shard locks without deadlock.
//!
//! A command takes the shards of its keys in ascending order. An *exclusive*
//! holder (a script, SORT, a command over every key, a full sync) may take
//! any shard at any time, on first use: a script need not declare the keys
//! it touches, and most touch one shard, so locking all 64 up front would
//! cost more than running it. Two rules keep that safe:
//! - one exclusive holder at a time (the `exclusive` mutex);
//! - a command already holding a shard never sleeps on a second one. It
//!   spins while the holder may be a command like itself (which takes its
//!   shards in order, so no cycle), and lets go of everything and starts
//!   again once the exclusive holder is done when there is one, since that
//!   holder may be waiting for a shard the command holds.
//!
//! So an exclusive holder only ever waits for a command that runs to its end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::shard::Shard;
use super::{Keyspace, Locked, SHARDS, hash_key, shard_of, shards_of};
use crate::sync;

/// The locks a command asks for when it may have to wait with a deadline.
pub enum Wanted<'k> {
    /// The shards of these keys.
    Keys(Vec<&'k [u8]>),
    /// Exclusive, the shards of these keys now and any other on first use.
    Exclusive(Vec<&'k [u8]>),
}

/// The one exclusive holder's right, while it lasts.
pub(super) struct Exclusive<'a> {
    active: &'a AtomicBool,
    _held: MutexGuard<'a, ()>,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        self.active.store(false, Ordering::Release);
    }
}

/// What decides who may hold shards out of order.
pub(super) struct ExclusiveLock {
    held: Mutex<()>,
    /// Set while someone holds `held`: a command spinning for a second shard
    /// then knows to let go of its first.
    active: AtomicBool,
}

impl ExclusiveLock {
    pub(super) fn new() -> ExclusiveLock {
        ExclusiveLock { held: Mutex::new(()), active: AtomicBool::new(false) }
    }

    fn take(&self, deadline: Option<Instant>) -> Option<Exclusive<'_>> {
        let held = match deadline {
            None => sync::lock_spinning(&self.held),
            Some(deadline) => sync::lock_by(&self.held, deadline)?,
        };
        self.active.store(true, Ordering::SeqCst);
        Some(Exclusive { active: &self.active, _held: held })
    }

    /// Waits, holding nothing, until the exclusive holder is done.
    fn wait(&self, deadline: Option<Instant>) -> Option<()> {
        match deadline {
            None => drop(sync::lock(&self.held)),
            Some(deadline) => drop(sync::lock_by(&self.held, deadline)?),
        }
        Some(())
    }
}

impl Keyspace {
    pub fn lock_one(&self, key: &[u8]) -> Locked<'_> {
        let idx = shard_of(hash_key(key));
        Locked::new(self, (idx, self.guard(idx)), std::iter::empty(), None)
    }

    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Locked<'_> {
        self.lock_ordered(&shards_of(keys), None).expect("without a deadline the locks are always taken")
    }

    /// Exclusive: the shards of `keys` now, any other when first used.
    pub fn lock_exclusive<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Locked<'_> {
        let exclusive = self.exclusive.take(None).expect("without a deadline the lock is always taken");
        self.lock_as_exclusive(&shards_of(keys), exclusive)
    }

    /// Exclusive, every shard now: for a full sync's copy of the keyspace.
    pub fn lock_all(&self) -> Locked<'_> {
        let exclusive = self.exclusive.take(None).expect("without a deadline the lock is always taken");
        self.lock_as_exclusive(&(0..SHARDS).collect::<Vec<_>>(), exclusive)
    }

    /// What `wanted` names, if it comes free by `deadline`.
    pub fn lock_by(&self, wanted: Wanted<'_>, deadline: Instant) -> Option<Locked<'_>> {
        match wanted {
            Wanted::Keys(keys) => self.lock_ordered(&shards_of(keys), Some(deadline)),
            Wanted::Exclusive(keys) => {
                let exclusive = self.exclusive.take(Some(deadline))?;
                Some(self.lock_as_exclusive(&shards_of(keys), exclusive))
            }
        }
    }

    /// A shard an exclusive holder uses for the first time. Whoever holds
    /// it runs to its end or lets go (see the module's rules).
    pub(super) fn take_shard(&self, idx: usize) -> MutexGuard<'_, Shard> {
        sync::lock_spinning(&self.shards[idx].0)
    }

    fn lock_as_exclusive<'a>(&'a self, idx: &[usize], exclusive: Exclusive<'a>) -> Locked<'a> {
        let first = (idx[0], self.take_shard(idx[0]));
        Locked::new(self, first, idx[1..].iter().map(|&i| (i, self.take_shard(i))), Some(exclusive))
    }

    /// The shards `idx` (ascending, not empty): the first waited for (until
    /// `deadline`, if one is given), the others taken beside it.
    fn lock_ordered(&self, idx: &[usize], deadline: Option<Instant>) -> Option<Locked<'_>> {
        loop {
            let first = match deadline {
                None => self.guard(idx[0]),
                Some(deadline) => sync::lock_by(&self.shards[idx[0]].0, deadline)?,
            };
            let mut rest = Vec::with_capacity(idx.len() - 1);
            for &i in &idx[1..] {
                match self.lock_beside(i) {
                    Some(guard) => rest.push((i, guard)),
                    None => break,
                }
            }
            if rest.len() == idx.len() - 1 {
                return Some(Locked::new(self, (idx[0], first), rest.into_iter(), None));
            }
            drop(rest);
            drop(first);
            self.exclusive.wait(deadline)?;
        }
    }

    /// Shard `idx` for a caller holding another: None if it is busy while an
    /// exclusive holder runs (the caller must let go of what it holds).
    fn lock_beside(&self, idx: usize) -> Option<MutexGuard<'_, Shard>> {
        sync::lock_unless(&self.shards[idx].0, || self.exclusive.active.load(Ordering::SeqCst))
    }
}
