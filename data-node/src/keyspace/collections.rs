//! The collection types behind lists, hashes and sets. Each keeps a running count
//! of the heap bytes its elements own, so an entry's size is known in O(1).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use hashbrown::{HashMap, HashSet};

use super::memory::{alloc_size, buckets_for, table_size};
use super::small_bytes::SmallBytes;

const ELEM: usize = std::mem::size_of::<SmallBytes>();

#[derive(Default, Clone, Debug)]
pub struct List {
    items: VecDeque<SmallBytes>,
    heap: usize,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn push_front(&mut self, v: &[u8]) {
        let v = SmallBytes::new(v);
        self.heap += v.heap_size();
        self.items.push_front(v);
    }
    pub fn push_back(&mut self, v: &[u8]) {
        let v = SmallBytes::new(v);
        self.heap += v.heap_size();
        self.items.push_back(v);
    }
    pub fn pop_front(&mut self) -> Option<SmallBytes> {
        let v = self.items.pop_front()?;
        self.heap -= v.heap_size();
        Some(v)
    }
    pub fn pop_back(&mut self) -> Option<SmallBytes> {
        let v = self.items.pop_back()?;
        self.heap -= v.heap_size();
        Some(v)
    }
    pub fn get(&self, i: usize) -> Option<&SmallBytes> {
        self.items.get(i)
    }
    pub fn set(&mut self, i: usize, v: &[u8]) {
        let v = SmallBytes::new(v);
        self.heap += v.heap_size();
        self.heap -= self.items[i].heap_size();
        self.items[i] = v;
    }
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        let v = SmallBytes::new(v);
        self.heap += v.heap_size();
        self.items.insert(i, v);
    }
    pub fn remove(&mut self, i: usize) -> Option<SmallBytes> {
        let v = self.items.remove(i)?;
        self.heap -= v.heap_size();
        Some(v)
    }
    /// Keeps only `start..=end` (already clamped, may be empty when start > end).
    pub fn retain_range(&mut self, start: usize, end: usize) {
        if start > end || start >= self.items.len() {
            self.items.clear();
            self.heap = 0;
            self.items.shrink_to_fit();
            return;
        }
        self.items.truncate(end + 1);
        self.items.drain(..start);
        self.heap = self.items.iter().map(SmallBytes::heap_size).sum();
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &SmallBytes> + ExactSizeIterator {
        self.items.iter()
    }
    pub fn mem_size(&self) -> usize {
        alloc_size(self.items.capacity() * ELEM) + self.heap + alloc_size(std::mem::size_of::<Self>())
    }
}

/// Up to `hash-max-listpack-entries` fields (128), each field and value at
/// most `hash-max-listpack-value` bytes (64), a hash is a vector kept in
/// insertion order: smaller than a table, and HGETALL answers in the order
/// Redis does. Like Redis's, the limits are the process's.
static SMALL_HASH_ENTRIES: AtomicUsize = AtomicUsize::new(128);
static SMALL_HASH_VALUE: AtomicUsize = AtomicUsize::new(64);

/// CONFIG SET hash-max-listpack-entries / -value: hashes created or grown
/// from now on follow them (a hash already a table stays one, as in Redis).
pub fn set_small_hash_limits(entries: Option<usize>, value: Option<usize>) {
    if let Some(n) = entries {
        SMALL_HASH_ENTRIES.store(n, Ordering::Relaxed);
    }
    if let Some(n) = value {
        SMALL_HASH_VALUE.store(n, Ordering::Relaxed);
    }
}

#[derive(Clone, Debug)]
enum Fields {
    Small(Vec<(SmallBytes, SmallBytes)>),
    Large(HashMap<SmallBytes, SmallBytes>),
}

#[derive(Clone, Debug)]
pub struct Hash {
    fields: Fields,
    heap: usize,
}

impl Default for Hash {
    fn default() -> Hash {
        Hash { fields: Fields::Small(Vec::new()), heap: 0 }
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match &self.fields {
            Fields::Small(v) => v.len(),
            Fields::Large(m) => m.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Still in the small, ordered form (OBJECT ENCODING says listpack).
    pub fn is_compact(&self) -> bool {
        matches!(self.fields, Fields::Small(_))
    }
    pub fn get(&self, field: &[u8]) -> Option<&SmallBytes> {
        match &self.fields {
            Fields::Small(v) => v.iter().find(|(f, _)| f.as_slice() == field).map(|(_, value)| value),
            Fields::Large(m) => m.get(field),
        }
    }
    /// Returns true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Fields::Small(v) = &self.fields {
            let (max_entries, max_value) =
                (SMALL_HASH_ENTRIES.load(Ordering::Relaxed), SMALL_HASH_VALUE.load(Ordering::Relaxed));
            let too_long = field.len() > max_value || value.len() > max_value;
            let too_many = v.len() >= max_entries && !v.iter().any(|(f, _)| f.as_slice() == field);
            if too_long || too_many {
                self.make_large();
            }
        }
        let value = SmallBytes::new(value);
        self.heap += value.heap_size();
        let slot = match &mut self.fields {
            Fields::Small(v) => v.iter_mut().find(|(f, _)| f.as_slice() == field).map(|(_, value)| value),
            Fields::Large(m) => m.get_mut(field),
        };
        match slot {
            Some(slot) => {
                self.heap -= slot.heap_size();
                *slot = value;
                false
            }
            None => {
                let field = SmallBytes::new(field);
                self.heap += field.heap_size();
                match &mut self.fields {
                    Fields::Small(v) => v.push((field, value)),
                    Fields::Large(m) => {
                        m.insert(field, value);
                    }
                }
                true
            }
        }
    }
    fn make_large(&mut self) {
        if let Fields::Small(v) = &mut self.fields {
            let map: HashMap<SmallBytes, SmallBytes> = std::mem::take(v).into_iter().collect();
            self.fields = Fields::Large(map);
        }
    }
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let removed = match &mut self.fields {
            Fields::Small(v) => v.iter().position(|(f, _)| f.as_slice() == field).map(|i| v.remove(i)),
            Fields::Large(m) => m.remove_entry(field),
        };
        match removed {
            Some((f, v)) => {
                self.heap -= f.heap_size() + v.heap_size();
                true
            }
            None => false,
        }
    }
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&SmallBytes, &SmallBytes)> + '_> {
        match &self.fields {
            Fields::Small(v) => Box::new(v.iter().map(|(f, value)| (f, value))),
            Fields::Large(m) => Box::new(m.iter()),
        }
    }
    pub fn mem_size(&self) -> usize {
        let table = match &self.fields {
            Fields::Small(v) => alloc_size(v.capacity() * 2 * ELEM),
            Fields::Large(m) => table_size(buckets_for(m.capacity()), 2 * ELEM),
        };
        table + self.heap + alloc_size(std::mem::size_of::<Self>())
    }
}

#[derive(Default, Clone, Debug)]
pub struct Set {
    set: HashSet<SmallBytes>,
    heap: usize,
}

impl Set {
    pub fn len(&self) -> usize {
        self.set.len()
    }
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
    pub fn contains(&self, m: &[u8]) -> bool {
        self.set.contains(m)
    }
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.set.contains(m) {
            return false;
        }
        let m = SmallBytes::new(m);
        self.heap += m.heap_size();
        self.set.insert(m)
    }
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.set.take(m) {
            Some(m) => {
                self.heap -= m.heap_size();
                true
            }
            None => false,
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &SmallBytes> {
        self.set.iter()
    }
    pub fn mem_size(&self) -> usize {
        table_size(buckets_for(self.set.capacity()), ELEM) + self.heap + alloc_size(std::mem::size_of::<Self>())
    }
}

impl FromIterator<SmallBytes> for Set {
    fn from_iter<I: IntoIterator<Item = SmallBytes>>(iter: I) -> Self {
        let mut s = Set::default();
        for m in iter {
            s.insert(&m);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_hash_keeps_insertion_order_until_it_grows() {
        let mut h = Hash::default();
        for f in ["z", "a", "m"] {
            assert!(h.insert(f.as_bytes(), b"v"));
        }
        assert!(!h.insert(b"a", b"w"), "an existing field is replaced in place");
        assert!(h.remove(b"z"));
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f.as_slice()).collect();
        assert_eq!(order, [&b"a"[..], b"m"]);
        assert!(h.is_compact());
        h.insert(b"long", &[b'x'; 65]);
        assert!(!h.is_compact(), "a value past 64 bytes makes it a table");
        assert_eq!(h.get(b"a").map(|v| v.as_slice()), Some(&b"w"[..]));
        let mut many = Hash::default();
        (0..129).for_each(|i| {
            many.insert(format!("f{i}").as_bytes(), b"v");
        });
        assert!(!many.is_compact() && many.len() == 129);
    }
}
