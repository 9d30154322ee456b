//! A memcached item as the keyspace stores it: a string value whose first
//! 13 bytes hold the item's CAS unique, its client flags and a few state
//! bits, the data after them. One allocation per item, as for a Redis
//! string, and no new value type for the keyspace to know about.

use crate::keyspace::{SmallBytes, Value};

pub const HEADER: usize = 13;

/// State memcached keeps per item, beside flags and CAS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bits(u8);

impl Bits {
    /// Read by a get since it was stored (meta `h`, `me`'s fetch).
    pub const FETCHED: Bits = Bits(1);
    /// Marked stale by `md ... I` or an `ms ... I` with an older CAS.
    pub const STALE: Bits = Bits(2);
    /// A client was told it won the right to recache it (`W`).
    pub const WIN_SENT: Bits = Bits(4);
    /// Its key came base64-encoded (`b`): shown that way by `me`.
    pub const BINARY_KEY: Bits = Bits(8);

    pub fn has(self, bit: Bits) -> bool {
        self.0 & bit.0 != 0
    }

    pub fn with(self, bit: Bits) -> Bits {
        Bits(self.0 | bit.0)
    }

    pub fn without(self, bit: Bits) -> Bits {
        Bits(self.0 & !bit.0)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub cas: u64,
    pub flags: u32,
    pub bits: Bits,
    pub data: &'a [u8],
}

impl<'a> Item<'a> {
    /// The item a stored value holds; None for a value that is not one
    /// (it cannot be: only this module writes the keyspace in memcached mode).
    pub fn read(value: &'a Value) -> Option<Item<'a>> {
        let Value::Str(bytes) = value else { return None };
        let (head, data) = bytes.split_first_chunk::<HEADER>()?;
        let cas = u64::from_le_bytes(head[..8].try_into().ok()?);
        let flags = u32::from_le_bytes(head[8..12].try_into().ok()?);
        Some(Item { cas, flags, bits: Bits(head[12]), data })
    }
}

/// A value holding an item whose data is `parts` joined.
pub fn encode(cas: u64, flags: u32, bits: Bits, parts: &[&[u8]]) -> Value {
    let len = HEADER + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut buf = Vec::with_capacity(len);
    buf.extend_from_slice(&cas.to_le_bytes());
    buf.extend_from_slice(&flags.to_le_bytes());
    buf.push(bits.0);
    for part in parts {
        buf.extend_from_slice(part);
    }
    Value::Str(SmallBytes::from_vec(buf))
}

/// Changes an item's CAS and state bits in place.
pub fn set_header(value: &mut Value, cas: u64, bits: Bits) {
    if let Value::Str(bytes) = value {
        let head = bytes.as_mut_slice();
        if head.len() >= HEADER {
            head[..8].copy_from_slice(&cas.to_le_bytes());
            head[12] = bits.0;
        }
    }
}

/// The item's data, to change in place (its length stays).
pub fn data_mut(value: &mut Value) -> Option<&mut [u8]> {
    match value {
        Value::Str(bytes) => bytes.as_mut_slice().get_mut(HEADER..),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_back_as_written() {
        let v = encode(u64::MAX - 1, 0xdead_beef, Bits::STALE, &[b"ab", b"", b"cd"]);
        let item = Item::read(&v).expect("an item");
        assert_eq!((item.cas, item.flags, item.data), (u64::MAX - 1, 0xdead_beef, &b"abcd"[..]));
        assert!(item.bits.has(Bits::STALE) && !item.bits.has(Bits::FETCHED));
    }

    #[test]
    fn header_changes_in_place() {
        let mut v = encode(1, 7, Bits::default(), &[b"12"]);
        set_header(&mut v, 9, Bits::FETCHED.with(Bits::WIN_SENT));
        data_mut(&mut v).expect("data")[0] = b'3';
        let item = Item::read(&v).expect("an item");
        assert_eq!((item.cas, item.flags, item.data), (9, 7, &b"32"[..]));
        assert!(item.bits.has(Bits::WIN_SENT) && item.bits.has(Bits::FETCHED));
        assert!(Item::read(&Value::str(b"short")).is_none());
    }
}
