//! The item operations the text, meta and binary protocols share: each
//! takes the key's shard, does what memcached does, and counts it.

use super::Memcache;
use super::item::{self, Bits, Item};
use super::stats::Counters;
use crate::keyspace::{Locked, Missing};

/// memcached has one keyspace: database 0 of ours.
pub const DB: usize = 0;

/// An expiry time already past: the item is stored and never seen again.
pub const EXPIRED: u64 = 1;

/// Seconds beyond which an exptime is a unix time, not an offset.
const RELATIVE_LIMIT: i64 = 60 * 60 * 24 * 30;

/// When an item with this exptime expires, in unix ms (0: never). Like
/// memcached, the value is taken as a 32-bit number (4294967295 is -1).
pub fn expires_at(exptime: i64, now_ms: u64) -> u64 {
    let exptime = exptime as i32 as i64;
    match exptime {
        0 => 0,
        t if t < 0 => EXPIRED,
        t if t <= RELATIVE_LIMIT => now_ms + t as u64 * 1000,
        t => {
            let at = t as u64 * 1000;
            if at <= now_ms { EXPIRED } else { at }
        }
    }
}

/// Seconds left as meta's `t` reports them (-1: no expiry).
pub fn ttl_secs(expires_at: u64, now_ms: u64) -> i64 {
    if expires_at == 0 { -1 } else { expires_at.saturating_sub(now_ms).div_ceil(1000) as i64 }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
}

/// A storage request: set/add/replace/append/prepend/cas, `ms`, binary sets.
pub struct Write<'a> {
    pub mode: Mode,
    pub key: &'a [u8],
    pub flags: u32,
    /// Unix ms (see `expires_at`); append and prepend keep the item's own.
    pub expires_at: u64,
    pub data: &'a [u8],
    /// Store only over an item with this CAS unique.
    pub compare: Option<u64>,
    /// With `compare`: an older CAS still stores, the item marked stale (`ms I`).
    pub invalidate: bool,
    pub binary_key: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    Stored { cas: u64 },
    NotStored,
    Exists,
    NotFound,
    NoMemory,
}

/// An incr/decr request (`incr`, `decr`, `ma`, binary increment).
pub struct Arith {
    pub incr: bool,
    pub delta: u64,
    /// On a miss, create the item with this value and expiry (`ma N J`).
    pub create: Option<(u64, u64)>,
    pub compare: Option<u64>,
    /// On success, the new expiry (`ma T`).
    pub expires_at: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Value { value: u64, cas: u64, expires_at: u64 },
    NotFound,
    NonNumeric,
    Exists,
    NoMemory,
}

/// Parses an item's data as memcached's incr does: a decimal u64, spaces
/// around it allowed (decr leaves the item space-padded).
pub fn parse_counter(data: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(data).ok()?.trim_matches(' ');
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Memcache {
    /// The data of a key's item with its flags and CAS, to `found` while
    /// the shard is held; `touch` sets a new expiry (gat, gats). Counts as
    /// memcached does; false on a miss.
    pub fn get(&self, c: &mut Counters, key: &[u8], touch: Option<u64>, found: impl FnOnce(&Item)) -> bool {
        c.cmd_get += 1;
        if touch.is_some() {
            c.cmd_touch += 1;
        }
        let mut found = Some(found);
        let mut locked = self.server.keyspace().lock_one(key);
        let hit = match locked.lookup(DB, key) {
            Ok(entry) => Item::read(entry.value()).map(|item| {
                // The common case, a read of an item read before, changes nothing.
                if touch.is_none()
                    && item.bits.has(Bits::FETCHED)
                    && let Some(f) = found.take()
                {
                    f(&item);
                }
            }),
            Err(Missing::Expired) => {
                c.get_expired += 1;
                None
            }
            Err(Missing::Absent) => None,
        };
        if hit.is_none() {
            c.get_misses += 1;
            if touch.is_some() {
                c.touch_misses += 1;
            }
            return false;
        }
        c.get_hits += 1;
        if touch.is_some() {
            c.touch_hits += 1;
        }
        let Some(found) = found else { return true };
        if let Some(mut e) = locked.get_mut(DB, key) {
            if let Some(at) = touch {
                e.set_expires_at(at);
            }
            if let Some(item) = Item::read(e.value()) {
                found(&item);
                let (cas, bits) = (item.cas, item.bits);
                item::set_header(e.value_mut(), cas, bits.with(Bits::FETCHED));
            }
        }
        true
    }

    pub fn store(&self, c: &mut Counters, w: &Write) -> Stored {
        c.cmd_set += 1;
        if !self.server.make_room() {
            c.store_no_memory += 1;
            return Stored::NoMemory;
        }
        let mut locked = self.server.keyspace().lock_one(w.key);
        let current = locked.peek(DB, w.key).and_then(|e| Item::read(e.value()).map(|i| (i.cas, i.bits)));
        let mut bits = if w.binary_key { Bits::BINARY_KEY } else { Bits::default() };
        if let Some(want) = w.compare {
            match current {
                None => {
                    c.cas_misses += 1;
                    return Stored::NotFound;
                }
                Some((cas, _)) if cas == want => c.cas_hits += 1,
                Some((cas, old)) if w.invalidate && want < cas => {
                    // Still stale, and whoever was told to recache it still is.
                    c.cas_hits += 1;
                    bits = bits.with(Bits::STALE);
                    if old.has(Bits::WIN_SENT) {
                        bits = bits.with(Bits::WIN_SENT);
                    }
                }
                Some(_) => {
                    c.cas_badval += 1;
                    return Stored::Exists;
                }
            }
        }
        let cas = match (w.mode, current) {
            (Mode::Add, Some(_)) => {
                // memcached bumps the item it would not replace.
                locked.get(DB, w.key);
                return Stored::NotStored;
            }
            (Mode::Replace | Mode::Append | Mode::Prepend, None) => return Stored::NotStored,
            (Mode::Append | Mode::Prepend, Some(_)) => match self.join(&mut locked, w) {
                Some(cas) => cas,
                None => return Stored::NotStored,
            },
            _ => {
                let cas = self.next_cas();
                locked.set_str(DB, w.key, &[&item::header(cas, w.flags, bits), w.data], w.expires_at);
                cas
            }
        };
        c.total_items += 1;
        Stored::Stored { cas }
    }

    /// Append or prepend `w.data` to the item, keeping its flags and expiry;
    /// None when the result would pass `-I`.
    fn join(&self, locked: &mut Locked, w: &Write) -> Option<u64> {
        let mut e = locked.get_mut(DB, w.key)?;
        let old = Item::read(e.value())?;
        if !self.fits(w.key.len(), (old.data.len() + w.data.len()) as u64) {
            return None;
        }
        let cas = self.next_cas();
        let head = item::header(cas, old.flags, old.bits);
        let data = if w.mode == Mode::Append { [old.data, w.data].concat() } else { [w.data, old.data].concat() };
        e.set_str(&[&head, &data]);
        Some(cas)
    }

    pub fn delete(&self, c: &mut Counters, key: &[u8]) -> bool {
        let removed = self.server.keyspace().lock_one(key).remove(DB, key).is_some();
        if removed {
            c.delete_hits += 1;
        } else {
            c.delete_misses += 1;
        }
        removed
    }

    pub fn touch(&self, c: &mut Counters, key: &[u8], at: u64) -> bool {
        c.cmd_touch += 1;
        let mut locked = self.server.keyspace().lock_one(key);
        match locked.get_mut(DB, key) {
            Some(mut e) => {
                e.set_expires_at(at);
                c.touch_hits += 1;
                true
            }
            None => {
                c.touch_misses += 1;
                false
            }
        }
    }

    /// incr/decr: u64 arithmetic, incr wrapping, decr stopping at 0. A
    /// result no longer than the old data is written in place, space-padded,
    /// as memcached does.
    pub fn arith(&self, c: &mut Counters, key: &[u8], a: &Arith) -> Counted {
        if a.create.is_some() && !self.server.make_room() {
            return Counted::NoMemory;
        }
        let mut locked = self.server.keyspace().lock_one(key);
        let Some(mut e) = locked.get_mut(DB, key) else {
            if a.incr {
                c.incr_misses += 1;
            } else {
                c.decr_misses += 1;
            }
            let Some((initial, expires_at)) = a.create else { return Counted::NotFound };
            let cas = self.next_cas();
            let digits = initial.to_string();
            let head = item::header(cas, 0, Bits::default());
            locked.set_str(DB, key, &[&head, digits.as_bytes()], expires_at);
            return Counted::Value { value: initial, cas, expires_at };
        };
        let Some(old) = Item::read(e.value()) else { return Counted::NonNumeric };
        if a.compare.is_some_and(|want| want != old.cas) {
            return Counted::Exists;
        }
        let Some(current) = parse_counter(old.data) else { return Counted::NonNumeric };
        let value = if a.incr { current.wrapping_add(a.delta) } else { current.saturating_sub(a.delta) };
        let (old_len, flags, bits) = (old.data.len(), old.flags, old.bits);
        let digits = value.to_string();
        let cas = self.next_cas();
        if digits.len() <= old_len {
            if let Some(data) = item::data_mut(e.value_mut()) {
                data[..digits.len()].copy_from_slice(digits.as_bytes());
                data[digits.len()..].fill(b' ');
            }
            item::set_header(e.value_mut(), cas, bits);
        } else {
            e.set_str(&[&item::header(cas, flags, bits), digits.as_bytes()]);
        }
        if let Some(at) = a.expires_at {
            e.set_expires_at(at);
        }
        if a.incr {
            c.incr_hits += 1;
        } else {
            c.decr_hits += 1;
        }
        Counted::Value { value, cas, expires_at: e.expires_at() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    #[test]
    fn exptimes_read_as_memcached_reads_them() {
        assert_eq!(expires_at(0, NOW), 0);
        assert_eq!(expires_at(-1, NOW), EXPIRED);
        assert_eq!(expires_at(10, NOW), NOW + 10_000);
        assert_eq!(expires_at(RELATIVE_LIMIT, NOW), NOW + RELATIVE_LIMIT as u64 * 1000);
        // Past 30 days it is a unix time: one in 1970 has passed.
        assert_eq!(expires_at(RELATIVE_LIMIT + 1, NOW), EXPIRED);
        assert_eq!(expires_at(1_900_000_000, NOW), 1_900_000_000_000);
        assert_eq!(expires_at(4_294_967_295, NOW), EXPIRED);
    }

    #[test]
    fn ttls_round_up_to_seconds() {
        assert_eq!(ttl_secs(0, NOW), -1);
        assert_eq!(ttl_secs(NOW + 29_500, NOW), 30);
        assert_eq!(ttl_secs(NOW - 5, NOW), 0);
    }

    #[test]
    fn counters_parse_like_strtoull() {
        assert_eq!(parse_counter(b"10"), Some(10));
        assert_eq!(parse_counter(b" 10"), Some(10));
        assert_eq!(parse_counter(b"9 "), Some(9));
        assert_eq!(parse_counter(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b""[..], b"-10", b"1x", b"18446744073709551616", b"1 2"] {
            assert_eq!(parse_counter(bad), None, "{bad:?}");
        }
    }
}
