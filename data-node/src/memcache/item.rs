//! A memcached item as the keyspace stores it: a string value whose first
//! 13 bytes hold the item's CAS unique, its client flags and a few state
//! bits, the data after them. One allocation per item, as for a Redis
//! string, and no new value type for the keyspace to know about.

use crate::keyspace::{ValueMut, ValueRef};

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
    pub fn read(value: ValueRef<'a>) -> Option<Item<'a>> {
        let ValueRef::Str(bytes) = value else { return None };
        let (head, data) = bytes.split_first_chunk::<HEADER>()?;
        let cas = u64::from_le_bytes(head[..8].try_into().ok()?);
        let flags = u32::from_le_bytes(head[8..12].try_into().ok()?);
        Some(Item { cas, flags, bits: Bits(head[12]), data })
    }
}

/// The bytes an item's data follows (the keyspace stores them joined:
/// `set_str(.., &[&header(..), data])`).
pub fn header(cas: u64, flags: u32, bits: Bits) -> [u8; HEADER] {
    let mut head = [0u8; HEADER];
    head[..8].copy_from_slice(&cas.to_le_bytes());
    head[8..12].copy_from_slice(&flags.to_le_bytes());
    head[12] = bits.0;
    head
}

/// Changes an item's CAS and state bits in place.
pub fn set_header(value: ValueMut<'_>, cas: u64, bits: Bits) {
    if let ValueMut::Str(head) = value
        && head.len() >= HEADER
    {
        head[..8].copy_from_slice(&cas.to_le_bytes());
        head[12] = bits.0;
    }
}

/// The item's data, to change in place (its length stays).
pub fn data_mut(value: ValueMut<'_>) -> Option<&mut [u8]> {
    match value {
        ValueMut::Str(bytes) => bytes.get_mut(HEADER..),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_back_as_written() {
        let v = [&header(u64::MAX - 1, 0xdead_beef, Bits::STALE)[..], b"ab", b"cd"].concat();
        let item = Item::read(ValueRef::Str(&v)).expect("an item");
        assert_eq!((item.cas, item.flags, item.data), (u64::MAX - 1, 0xdead_beef, &b"abcd"[..]));
        assert!(item.bits.has(Bits::STALE) && !item.bits.has(Bits::FETCHED));
    }

    #[test]
    fn header_changes_in_place() {
        let mut v = [&header(1, 7, Bits::default())[..], b"12"].concat();
        set_header(ValueMut::Str(&mut v), 9, Bits::FETCHED.with(Bits::WIN_SENT));
        data_mut(ValueMut::Str(&mut v)).expect("data")[0] = b'3';
        let item = Item::read(ValueRef::Str(&v)).expect("an item");
        assert_eq!((item.cas, item.flags, item.data), (9, 7, &b"32"[..]));
        assert!(item.bits.has(Bits::WIN_SENT) && item.bits.has(Bits::FETCHED));
        assert!(Item::read(ValueRef::Str(b"short")).is_none());
    }
}
