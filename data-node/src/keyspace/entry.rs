//! One key's record: its name, its value and a packed word of metadata.

use super::collections::{Hash, List, Set};
use super::memory::alloc_size;
use super::small_bytes::SmallBytes;
use super::zset::ZSet;

#[derive(Clone, Debug)]
pub enum Value {
    Str(SmallBytes),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

impl Value {
    pub fn str(bytes: &[u8]) -> Value {
        Value::Str(SmallBytes::new(bytes))
    }

    /// The name TYPE answers with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// A collection that lost its last element is deleted, as in Redis.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    pub fn mem_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.mem_size(),
            Value::Hash(h) => h.mem_size(),
            Value::Set(s) => s.mem_size(),
            Value::ZSet(z) => z.mem_size(),
        }
    }
}

const EXPIRE_BITS: u32 = 47;
const EXPIRE_MASK: u64 = (1 << EXPIRE_BITS) - 1;
const MARK: u64 = 1 << EXPIRE_BITS;
const ACCESS_SHIFT: u32 = 48;

/// A key and its value. `meta` packs the expiry time (unix ms, 47 bits, 0 when
/// the key is persistent; the year 6429 at most), the snapshot mark (see
/// `snapshot`) and a 16-bit access stamp used by LRU/LFU eviction; keeping
/// the entry at 56 bytes lets malloc serve it from a 64-byte chunk.
#[derive(Debug)]
pub struct Entry {
    pub key: SmallBytes,
    pub value: Value,
    meta: u64,
}

impl Entry {
    pub fn new(key: &[u8], value: Value, expires_at: u64, access: u16) -> Box<Entry> {
        let mut e = Box::new(Entry { key: SmallBytes::new(key), value, meta: 0 });
        e.set_expires_at(expires_at);
        e.set_access(access);
        e
    }

    /// Expiry as unix milliseconds; 0 when the key does not expire.
    pub fn expires_at(&self) -> u64 {
        self.meta & EXPIRE_MASK
    }

    pub fn set_expires_at(&mut self, at_ms: u64) {
        self.meta = (self.meta & !EXPIRE_MASK) | (at_ms.min(EXPIRE_MASK) & EXPIRE_MASK);
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        let at = self.expires_at();
        at != 0 && at <= now_ms
    }

    pub fn access(&self) -> u16 {
        (self.meta >> ACCESS_SHIFT) as u16
    }

    pub fn set_access(&mut self, stamp: u16) {
        self.meta = (self.meta & (EXPIRE_MASK | MARK)) | ((stamp as u64) << ACCESS_SHIFT);
    }

    /// The snapshot mark: equal to its shard's mark once the snapshot under
    /// way has this entry (and whenever none is under way).
    pub(super) fn mark(&self) -> bool {
        self.meta & MARK != 0
    }

    pub(super) fn set_mark(&mut self, mark: bool) {
        self.meta = (self.meta & !MARK) | if mark { MARK } else { 0 };
    }

    /// What this entry costs the process: its box, its key and value's heap bytes.
    pub fn mem_size(&self) -> usize {
        alloc_size(std::mem::size_of::<Entry>()) + self.key.heap_size() + self.value.mem_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_fits_a_64_byte_chunk() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }

    #[test]
    fn meta_fields_are_independent() {
        let mut e = Entry::new(b"k", Value::str(b"v"), 1_700_000_000_000, 7);
        assert_eq!(e.expires_at(), 1_700_000_000_000);
        assert_eq!(e.access(), 7);
        e.set_access(u16::MAX);
        assert_eq!(e.expires_at(), 1_700_000_000_000);
        e.set_mark(true);
        e.set_expires_at(0);
        assert_eq!(e.access(), u16::MAX);
        assert!(e.mark());
        assert!(!e.is_expired(u64::MAX));
        e.set_access(0);
        e.set_expires_at(EXPIRE_MASK + 5);
        assert!(e.mark() && e.access() == 0 && e.expires_at() == EXPIRE_MASK);
        e.set_mark(false);
        assert_eq!(e.expires_at(), EXPIRE_MASK);
    }
}
