//! One key's record, in one allocation: a packed word of metadata, the
//! key's length, the value's kind or length, the key, then the value.
//!
//! A string value's bytes follow the key; a collection is a pointer to its
//! box. So a string key costs one allocation, sized to what it holds (a
//! memcached item of a 16-byte key and 32 bytes of data is one 80-byte
//! block), and the table holds a thin pointer per key.

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error, realloc};
use std::fmt;
use std::ptr::{self, NonNull};

use super::collections::{Hash, List, Set};
use super::memory::alloc_size;
use super::value::{Value, ValueMut, ValueRef};
use super::zset::ZSet;

#[repr(C)]
struct Header {
    meta: u64,
    key_len: u32,
    /// A string's length, or one of the collection kinds below.
    body: u32,
}

const HEADER: usize = std::mem::size_of::<Header>();
const LIST: u32 = u32::MAX;
const HASH: u32 = u32::MAX - 1;
const SET: u32 = u32::MAX - 2;
const ZSET: u32 = u32::MAX - 3;
/// Strings are limited to 512 MB (proto-max-bulk-len), far below this.
const MAX_STR: usize = (u32::MAX - 4) as usize;
const POINTER: usize = std::mem::size_of::<usize>();

const EXPIRE_BITS: u32 = 47;
const EXPIRE_MASK: u64 = (1 << EXPIRE_BITS) - 1;
const MARK: u64 = 1 << EXPIRE_BITS;
const ACCESS_SHIFT: u32 = 48;

/// A key and its value. `meta` packs the expiry time (unix ms, 47 bits, 0
/// when the key is persistent; the year 6429 at most), the snapshot mark
/// (see `snapshot`) and a 16-bit access stamp used by LRU/LFU eviction.
pub struct Entry {
    block: NonNull<Header>,
}

// An entry owns its block and what the block points to, as a Box would.
unsafe impl Send for Entry {}
unsafe impl Sync for Entry {}

/// What follows the key: a string's bytes (given in parts, which it joins),
/// or a collection's box.
enum Body<'a> {
    Str(&'a [&'a [u8]]),
    Collection(u32, *mut u8),
}

impl Body<'_> {
    fn code(&self) -> u32 {
        match self {
            Body::Str(_) => self.len() as u32,
            Body::Collection(kind, _) => *kind,
        }
    }

    fn len(&self) -> usize {
        match self {
            Body::Str(parts) => parts.iter().map(|p| p.len()).sum(),
            Body::Collection(..) => POINTER,
        }
    }

    /// Writes the body at `at`, which has room for `len()` bytes.
    ///
    /// # Safety
    /// `at` must be valid for `self.len()` bytes of writes.
    unsafe fn write(&self, at: *mut u8) {
        match self {
            Body::Str(parts) => {
                let mut at = at;
                for part in *parts {
                    // SAFETY: the parts' lengths sum to `len()`.
                    unsafe {
                        ptr::copy_nonoverlapping(part.as_ptr(), at, part.len());
                        at = at.add(part.len());
                    }
                }
            }
            Body::Collection(_, p) => unsafe { ptr::write_unaligned(at.cast::<*mut u8>(), *p) },
        }
    }
}

/// Takes a value's contents: its box's pointer for a collection (owned by
/// the entry from then on), the bytes for a string.
fn with_body<R>(value: Value, f: impl FnOnce(Body<'_>) -> R) -> R {
    match value {
        Value::Str(s) => f(Body::Str(&[&s])),
        Value::List(b) => f(Body::Collection(LIST, Box::into_raw(b).cast())),
        Value::Hash(b) => f(Body::Collection(HASH, Box::into_raw(b).cast())),
        Value::Set(b) => f(Body::Collection(SET, Box::into_raw(b).cast())),
        Value::ZSet(b) => f(Body::Collection(ZSET, Box::into_raw(b).cast())),
    }
}

/// Padded to a multiple of the alignment: mimalloc serves such a request
/// from its size class, any other from its slower aligned path, which
/// over-allocates (a 77-byte block took 96 bytes, padded to 80 it takes 80).
fn layout(key_len: usize, body_len: usize) -> Layout {
    Layout::from_size_align(HEADER + key_len + body_len, align_of::<Header>())
        .expect("an entry's size fits a layout")
        .pad_to_align()
}

fn body_len(code: u32) -> usize {
    if code > MAX_STR as u32 { POINTER } else { code as usize }
}

impl Entry {
    pub fn new(key: &[u8], value: Value, expires_at: u64, access: u16) -> Entry {
        let mut e = with_body(value, |body| Entry::build(0, key, &body));
        e.set_expires_at(expires_at);
        e.set_access(access);
        e
    }

    /// A string entry whose value is `parts` joined.
    pub fn new_str(key: &[u8], parts: &[&[u8]], expires_at: u64, access: u16) -> Entry {
        let mut e = Entry::build(0, key, &Body::Str(parts));
        e.set_expires_at(expires_at);
        e.set_access(access);
        e
    }

    fn build(meta: u64, key: &[u8], body: &Body<'_>) -> Entry {
        assert!(key.len() <= MAX_STR && body.len() <= MAX_STR, "keys and strings are under 512 MB");
        let layout = layout(key.len(), body.len());
        // SAFETY: the layout is at least HEADER bytes; every byte of the block
        // is written before the entry is used.
        unsafe {
            let Some(block) = NonNull::new(alloc(layout).cast::<Header>()) else { handle_alloc_error(layout) };
            block.write(Header { meta, key_len: key.len() as u32, body: body.code() });
            let bytes = block.as_ptr().cast::<u8>().add(HEADER);
            ptr::copy_nonoverlapping(key.as_ptr(), bytes, key.len());
            body.write(bytes.add(key.len()));
            Entry { block }
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the block is valid and initialised while the entry lives.
        unsafe { self.block.as_ref() }
    }

    fn header_mut(&mut self) -> &mut Header {
        // SAFETY: as `header`; `&mut self` makes the access unique.
        unsafe { self.block.as_mut() }
    }

    fn layout(&self) -> Layout {
        layout(self.header().key_len as usize, body_len(self.header().body))
    }

    fn body_ptr(&self) -> *mut u8 {
        // SAFETY: the key's bytes lie inside the block; the body follows them.
        unsafe { self.block.as_ptr().cast::<u8>().add(HEADER + self.header().key_len as usize) }
    }

    fn collection_ptr(&self) -> *mut u8 {
        // SAFETY: a collection's body is the pointer, written unaligned.
        unsafe { ptr::read_unaligned(self.body_ptr().cast::<*mut u8>()) }
    }

    pub fn key(&self) -> &[u8] {
        // SAFETY: `key_len` bytes follow the header.
        unsafe {
            std::slice::from_raw_parts(self.block.as_ptr().cast::<u8>().add(HEADER), self.header().key_len as usize)
        }
    }

    pub fn value(&self) -> ValueRef<'_> {
        let p = self.collection_ptr_if_any();
        // SAFETY: the body is what its code says: a string's bytes, or a
        // pointer to a live box of that collection, owned by this entry.
        unsafe {
            match self.header().body {
                LIST => ValueRef::List(&*p.cast::<List>()),
                HASH => ValueRef::Hash(&*p.cast::<Hash>()),
                SET => ValueRef::Set(&*p.cast::<Set>()),
                ZSET => ValueRef::ZSet(&*p.cast::<ZSet>()),
                len => ValueRef::Str(std::slice::from_raw_parts(self.body_ptr(), len as usize)),
            }
        }
    }

    pub fn value_mut(&mut self) -> ValueMut<'_> {
        let p = self.collection_ptr_if_any();
        // SAFETY: as `value`; `&mut self` makes the borrow unique.
        unsafe {
            match self.header().body {
                LIST => ValueMut::List(&mut *p.cast::<List>()),
                HASH => ValueMut::Hash(&mut *p.cast::<Hash>()),
                SET => ValueMut::Set(&mut *p.cast::<Set>()),
                ZSET => ValueMut::ZSet(&mut *p.cast::<ZSet>()),
                len => ValueMut::Str(std::slice::from_raw_parts_mut(self.body_ptr(), len as usize)),
            }
        }
    }

    fn collection_ptr_if_any(&self) -> *mut u8 {
        if self.header().body > MAX_STR as u32 { self.collection_ptr() } else { ptr::null_mut() }
    }

    /// Replaces the value, keeping the key, TTL, access stamp and mark.
    pub fn set_value(&mut self, value: Value) {
        self.drop_collection();
        with_body(value, |body| self.put_body(&body));
    }

    /// As `set_value` with the string `parts` joined, without building it first.
    pub fn set_str(&mut self, parts: &[&[u8]]) {
        self.drop_collection();
        self.put_body(&Body::Str(parts));
    }

    /// Writes `body` in place of the current one, resizing the block if its
    /// length differs. The current body owns nothing (a collection's box has
    /// been dropped or handed on).
    fn put_body(&mut self, body: &Body<'_>) {
        assert!(body.len() <= MAX_STR, "strings are under 512 MB");
        let old = self.layout();
        let key_len = self.header().key_len as usize;
        let new = layout(key_len, body.len());
        if new.size() != old.size() {
            // SAFETY: the block was allocated with `old`; the new size is
            // non-zero and fits a layout of the same alignment.
            let moved = unsafe { realloc(self.block.as_ptr().cast::<u8>(), old, new.size()) };
            let Some(block) = NonNull::new(moved.cast::<Header>()) else { handle_alloc_error(new) };
            self.block = block;
        }
        self.header_mut().body = body.code();
        // SAFETY: the block now has room for the body after the key.
        unsafe { body.write(self.body_ptr()) };
    }

    /// Drops a collection this entry points to; its body is left dangling
    /// until `put_body` writes a new one.
    fn drop_collection(&mut self) {
        let p = self.collection_ptr_if_any();
        // SAFETY: the pointer came from `Box::into_raw` of that collection and
        // is dropped once: callers overwrite the body right after.
        unsafe {
            match self.header().body {
                LIST => drop(Box::from_raw(p.cast::<List>())),
                HASH => drop(Box::from_raw(p.cast::<Hash>())),
                SET => drop(Box::from_raw(p.cast::<Set>())),
                ZSET => drop(Box::from_raw(p.cast::<ZSet>())),
                _ => {}
            }
        }
    }

    /// The value, taken out of the entry (MOVE and RENAME keep the entry instead).
    pub fn into_value(mut self) -> Value {
        let p = self.collection_ptr_if_any();
        // SAFETY: as `drop_collection`, but the box is handed to the caller
        // and the body is made an empty string so `drop` leaves it alone.
        let value = unsafe {
            match self.header().body {
                LIST => Value::List(Box::from_raw(p.cast::<List>())),
                HASH => Value::Hash(Box::from_raw(p.cast::<Hash>())),
                SET => Value::Set(Box::from_raw(p.cast::<Set>())),
                ZSET => Value::ZSet(Box::from_raw(p.cast::<ZSet>())),
                _ => {
                    return Value::str(match self.value() {
                        ValueRef::Str(s) => s,
                        _ => unreachable!("only strings are left"),
                    });
                }
            }
        };
        self.put_body(&Body::Str(&[]));
        value
    }

    /// The same entry under another name (RENAME): its value, TTL and stamp move.
    pub fn renamed(self, key: &[u8]) -> Entry {
        let code = self.header().body;
        // SAFETY: the body is copied as it is, a collection's pointer with it;
        // the old block is then freed without dropping what it pointed to.
        unsafe {
            let body = match code {
                LIST | HASH | SET | ZSET => Body::Collection(code, self.collection_ptr()),
                len => Body::Str(&[std::slice::from_raw_parts(self.body_ptr(), len as usize)]),
            };
            let moved = Entry::build(self.header().meta, key, &body);
            let old = std::mem::ManuallyDrop::new(self);
            dealloc(old.block.as_ptr().cast::<u8>(), old.layout());
            moved
        }
    }

    /// A copy of this entry under `key` (COPY): its value, TTL and stamp.
    pub fn copied(&self, key: &[u8]) -> Entry {
        Entry::new(key, self.value().to_owned(), self.expires_at(), self.access())
    }

    /// Expiry as unix milliseconds; 0 when the key does not expire.
    pub fn expires_at(&self) -> u64 {
        self.header().meta & EXPIRE_MASK
    }

    pub fn set_expires_at(&mut self, at_ms: u64) {
        let meta = &mut self.header_mut().meta;
        *meta = (*meta & !EXPIRE_MASK) | (at_ms.min(EXPIRE_MASK) & EXPIRE_MASK);
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        let at = self.expires_at();
        at != 0 && at <= now_ms
    }

    pub fn access(&self) -> u16 {
        (self.header().meta >> ACCESS_SHIFT) as u16
    }

    pub fn set_access(&mut self, stamp: u16) {
        let meta = &mut self.header_mut().meta;
        *meta = (*meta & (EXPIRE_MASK | MARK)) | ((stamp as u64) << ACCESS_SHIFT);
    }

    /// The snapshot mark: equal to its shard's mark once the snapshot under
    /// way has this entry (and whenever none is under way).
    pub(super) fn mark(&self) -> bool {
        self.header().meta & MARK != 0
    }

    pub(super) fn set_mark(&mut self, mark: bool) {
        let meta = &mut self.header_mut().meta;
        *meta = (*meta & !MARK) | if mark { MARK } else { 0 };
    }

    /// What this entry costs the process: its block and a collection's heap bytes.
    pub fn mem_size(&self) -> usize {
        alloc_size(self.layout().size()) + self.value().collection_size()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.drop_collection();
        // SAFETY: the block was allocated with this layout and is freed once.
        unsafe { dealloc(self.block.as_ptr().cast::<u8>(), self.layout()) };
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("value", &self.value())
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

#[cfg(test)]
#[path = "entry_tests.rs"]
mod tests;
