//! `SmallBytes`: an owned byte string that keeps up to 22 bytes inline.
//!
//! Most keys and many values are short; storing them inside the entry saves an
//! allocation (and its malloc header) per key, which is most of a small key's cost.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

const INLINE: usize = 22;

#[derive(Clone)]
pub enum SmallBytes {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            SmallBytes::Inline { len: bytes.len() as u8, buf }
        } else {
            SmallBytes::Heap(bytes.into())
        }
    }

    pub fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE { Self::new(&bytes) } else { SmallBytes::Heap(bytes.into_boxed_slice()) }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, buf } => &buf[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }

    /// The bytes, to change in place (their length stays).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            SmallBytes::Inline { len, buf } => &mut buf[..*len as usize],
            SmallBytes::Heap(b) => b,
        }
    }

    /// Bytes this value owns on the heap, beyond its inline size.
    pub fn heap_size(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) => crate::keyspace::memory::alloc_size(b.len()),
        }
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for SmallBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for SmallBytes {}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SmallBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(b: &[u8]) -> Self {
        SmallBytes::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_round_trip() {
        for len in [0, 1, 21, 22, 23, 100] {
            let data: Vec<u8> = (0..len as u8).collect();
            let s = SmallBytes::new(&data);
            assert_eq!(s.as_slice(), &data[..]);
            assert_eq!(matches!(s, SmallBytes::Inline { .. }), len <= INLINE);
        }
    }

    #[test]
    fn stays_small() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
    }
}
