//! The collection types behind lists, hashes and sets. Each keeps a running count
//! of the heap bytes its elements own, so an entry's size is known in O(1).

use std::collections::VecDeque;

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

#[derive(Default, Clone, Debug)]
pub struct Hash {
    map: HashMap<SmallBytes, SmallBytes>,
    heap: usize,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn get(&self, field: &[u8]) -> Option<&SmallBytes> {
        self.map.get(field)
    }
    /// Returns true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let value = SmallBytes::new(value);
        self.heap += value.heap_size();
        match self.map.get_mut(field) {
            Some(slot) => {
                self.heap -= slot.heap_size();
                *slot = value;
                false
            }
            None => {
                let field = SmallBytes::new(field);
                self.heap += field.heap_size();
                self.map.insert(field, value);
                true
            }
        }
    }
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.map.remove_entry(field) {
            Some((f, v)) => {
                self.heap -= f.heap_size() + v.heap_size();
                true
            }
            None => false,
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&SmallBytes, &SmallBytes)> {
        self.map.iter()
    }
    pub fn mem_size(&self) -> usize {
        table_size(buckets_for(self.map.capacity()), 2 * ELEM) + self.heap + alloc_size(std::mem::size_of::<Self>())
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
