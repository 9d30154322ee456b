//! A key's value: `Value` owns one (to build, store or move it), `ValueRef`
//! and `ValueMut` borrow the one an entry holds.

use super::collections::{Hash, List, Set};
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

    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::List(l) => ValueRef::List(l),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
        }
    }
}

/// The value an entry holds, borrowed. A string is its bytes: the entry
/// keeps them beside its key, in the one allocation.
#[derive(Clone, Copy, Debug)]
pub enum ValueRef<'a> {
    Str(&'a [u8]),
    List(&'a List),
    Hash(&'a Hash),
    Set(&'a Set),
    ZSet(&'a ZSet),
}

impl ValueRef<'_> {
    /// The name TYPE answers with.
    pub fn type_name(self) -> &'static str {
        match self {
            ValueRef::Str(_) => "string",
            ValueRef::List(_) => "list",
            ValueRef::Hash(_) => "hash",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
        }
    }

    /// A collection that lost its last element is deleted, as in Redis.
    pub fn is_empty_collection(self) -> bool {
        match self {
            ValueRef::Str(_) => false,
            ValueRef::List(l) => l.is_empty(),
            ValueRef::Hash(h) => h.is_empty(),
            ValueRef::Set(s) => s.is_empty(),
            ValueRef::ZSet(z) => z.is_empty(),
        }
    }

    /// Heap bytes a collection owns (a string's bytes are the entry's own).
    pub fn collection_size(self) -> usize {
        match self {
            ValueRef::Str(_) => 0,
            ValueRef::List(l) => l.mem_size(),
            ValueRef::Hash(h) => h.mem_size(),
            ValueRef::Set(s) => s.mem_size(),
            ValueRef::ZSet(z) => z.mem_size(),
        }
    }

    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Str(s) => Value::str(s),
            ValueRef::List(l) => Value::List(Box::new(l.clone())),
            ValueRef::Hash(h) => Value::Hash(Box::new(h.clone())),
            ValueRef::Set(s) => Value::Set(Box::new(s.clone())),
            ValueRef::ZSet(z) => Value::ZSet(Box::new(z.clone())),
        }
    }
}

/// The value an entry holds, to change in place. A string's length stays:
/// a new length is a new value (`Entry::set_value`).
#[derive(Debug)]
pub enum ValueMut<'a> {
    Str(&'a mut [u8]),
    List(&'a mut List),
    Hash(&'a mut Hash),
    Set(&'a mut Set),
    ZSet(&'a mut ZSet),
}
