//! Typed access to collection values: the WRONGTYPE check in one place.

use super::error::{Error, WRONGTYPE};
use crate::keyspace::{EntryMut, Hash, List, Locked, Set, Value, ValueMut, ValueRef, ZSet};

macro_rules! typed {
    ($read:ident, $write:ident, $create:ident, $variant:ident, $ty:ty) => {
        /// The value at `key` for reading; None if absent, WRONGTYPE if another type.
        pub fn $read<'k>(ks: &'k mut Locked<'_>, db: usize, key: &[u8]) -> Result<Option<&'k $ty>, Error> {
            match ks.get(db, key).map(|e| e.value()) {
                None => Ok(None),
                Some(ValueRef::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(WRONGTYPE.into()),
            }
        }

        /// The value at `key` for writing; None if absent.
        pub fn $write<'k>(ks: &'k mut Locked<'_>, db: usize, key: &[u8]) -> Result<Option<EntryMut<'k>>, Error> {
            match ks.peek(db, key).map(|e| matches!(e.value(), ValueRef::$variant(_))) {
                None => Ok(None),
                Some(true) => Ok(ks.get_mut(db, key)),
                Some(false) => Err(WRONGTYPE.into()),
            }
        }

        /// The value at `key` for writing, created empty when absent.
        pub fn $create<'k>(ks: &'k mut Locked<'_>, db: usize, key: &[u8]) -> Result<EntryMut<'k>, Error> {
            if let Some(false) = ks.peek(db, key).map(|e| matches!(e.value(), ValueRef::$variant(_))) {
                return Err(WRONGTYPE.into());
            }
            Ok(ks.get_or_insert(db, key, || Value::$variant(Default::default())))
        }
    };
}

typed!(read_hash, write_hash, create_hash, Hash, Hash);
typed!(read_list, write_list, create_list, List, List);
typed!(read_set, write_set, create_set, Set, Set);
typed!(read_zset, write_zset, create_zset, ZSet, ZSet);

/// Stores a computed collection at `dst` (SINTERSTORE, ZUNIONSTORE, ...),
/// replacing whatever was there; an empty result deletes `dst`. Replies
/// with the result's size.
pub fn store_result(ctx: &mut super::Ctx, dst: &[u8], value: Value, len: usize) {
    let db = ctx.db();
    ctx.ks().remove(db, dst);
    if len > 0 {
        ctx.ks().set(db, dst, value, 0);
    }
    ctx.out.int(len as i64);
}

/// Unwraps the collection inside an `EntryMut` already checked by the helpers above.
pub fn as_hash<'e>(e: &'e mut EntryMut<'_>) -> &'e mut Hash {
    match e.value_mut() {
        ValueMut::Hash(h) => h,
        _ => unreachable!("type checked by write_hash/create_hash"),
    }
}

pub fn as_list<'e>(e: &'e mut EntryMut<'_>) -> &'e mut List {
    match e.value_mut() {
        ValueMut::List(l) => l,
        _ => unreachable!("type checked by write_list/create_list"),
    }
}

pub fn as_set<'e>(e: &'e mut EntryMut<'_>) -> &'e mut Set {
    match e.value_mut() {
        ValueMut::Set(s) => s,
        _ => unreachable!("type checked by write_set/create_set"),
    }
}

pub fn as_zset<'e>(e: &'e mut EntryMut<'_>) -> &'e mut ZSet {
    match e.value_mut() {
        ValueMut::ZSet(z) => z,
        _ => unreachable!("type checked by write_zset/create_zset"),
    }
}
