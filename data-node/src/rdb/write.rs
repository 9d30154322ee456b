//! The keyspace as an RDB stream: a point-in-time snapshot (see
//! `keyspace::snapshot`), plain encodings, a CRC-64 at the end.

use std::io::Write;

use super::{VERSION, crc64, kind, opcode};
use crate::keyspace::{Encoder, Entry, Snapshot, SnapshotProgress, ValueRef};

struct Out<'w, W: Write> {
    inner: &'w mut W,
    /// The CRC-64 of what went out so far, when it is being taken.
    crc: Option<u64>,
}

impl<W: Write> Out<'_, W> {
    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(crc) = &mut self.crc {
            *crc = crc64::update(*crc, bytes);
        }
        self.inner.write_all(bytes)
    }

    fn byte(&mut self, b: u8) -> std::io::Result<()> {
        self.raw(&[b])
    }

    fn len(&mut self, n: u64) -> std::io::Result<()> {
        if n < 1 << 6 {
            self.byte(n as u8)
        } else if n < 1 << 14 {
            self.raw(&[0x40 | (n >> 8) as u8, n as u8])
        } else if n <= u64::from(u32::MAX) {
            self.byte(0x80)?;
            self.raw(&(n as u32).to_be_bytes())
        } else {
            self.byte(0x81)?;
            self.raw(&n.to_be_bytes())
        }
    }

    fn string(&mut self, s: &[u8]) -> std::io::Result<()> {
        self.len(s.len() as u64)?;
        self.raw(s)
    }

    fn aux(&mut self, key: &str, value: &str) -> std::io::Result<()> {
        self.byte(opcode::AUX)?;
        self.string(key.as_bytes())?;
        self.string(value.as_bytes())
    }

    fn entry(&mut self, entry: &Entry) -> std::io::Result<()> {
        if entry.expires_at() > 0 {
            self.byte(opcode::EXPIRETIME_MS)?;
            self.raw(&entry.expires_at().to_le_bytes())?;
        }
        self.byte(kind_of(entry.value()))?;
        self.string(entry.key())?;
        self.value(entry.value())
    }

    /// A value's body, after its type byte (and, in a file, its key).
    fn value(&mut self, value: ValueRef<'_>) -> std::io::Result<()> {
        match value {
            ValueRef::Str(s) => self.string(s),
            ValueRef::List(list) => {
                self.len(list.len() as u64)?;
                list.iter().try_for_each(|item| self.string(item))
            }
            ValueRef::Set(set) => {
                self.len(set.len() as u64)?;
                set.iter().try_for_each(|m| self.string(m))
            }
            ValueRef::Hash(hash) => {
                self.len(hash.len() as u64)?;
                hash.iter().try_for_each(|(f, v)| {
                    self.string(f)?;
                    self.string(v)
                })
            }
            ValueRef::ZSet(zset) => {
                self.len(zset.len() as u64)?;
                zset.iter().try_for_each(|(m, score)| {
                    self.string(m)?;
                    self.raw(&score.to_le_bytes())
                })
            }
        }
    }

    /// The RDB version (2 bytes) and the CRC-64 of everything before it
    /// (8 bytes), little-endian: how DUMP-style payloads end.
    fn payload_footer(&mut self) {
        // Writing to memory cannot fail.
        let _ = self.raw(&(VERSION as u16).to_le_bytes());
        let crc = self.crc.unwrap_or(0);
        let _ = self.inner.write_all(&crc.to_le_bytes());
    }
}

/// The plain encoding's type byte for a value.
fn kind_of(value: ValueRef<'_>) -> u8 {
    match value {
        ValueRef::Str(_) => kind::STRING,
        ValueRef::List(_) => kind::LIST,
        ValueRef::Set(_) => kind::SET,
        ValueRef::Hash(_) => kind::HASH,
        ValueRef::ZSet(_) => kind::ZSET_2,
    }
}

/// What an RDB file says before its keys.
pub struct Header<'a> {
    pub now_ms: u64,
    pub used_memory: usize,
    /// Where the data stands in a replication stream: (id, offset).
    pub replication: Option<(&'a str, u64)>,
    /// The function libraries' code, written before the keys.
    pub functions: &'a [Vec<u8>],
}

/// The snapshot's entries in RDB encoding (the file's checksum is taken
/// as the bytes go out, not here).
pub struct RdbEncoder;

impl Encoder for RdbEncoder {
    fn select_db(&self, db: usize, out: &mut Vec<u8>) {
        let mut o = Out { inner: out, crc: None };
        let _ = o.byte(opcode::SELECTDB).and_then(|()| o.len(db as u64));
    }

    fn entry(&self, entry: &Entry, out: &mut Vec<u8>) {
        let _ = Out { inner: out, crc: None }.entry(entry);
    }
}

/// Writes the snapshot as an RDB stream; returns the keys written.
/// `progress` is told after each chunk.
pub fn dump<W: Write>(
    header: &Header,
    snapshot: &mut Snapshot,
    w: &mut W,
    progress: &mut dyn FnMut(SnapshotProgress),
) -> std::io::Result<usize> {
    let mut out = Out { inner: w, crc: Some(0) };
    out.raw(format!("REDIS{VERSION:04}").as_bytes())?;
    out.aux("redis-ver", crate::REDIS_VERSION)?;
    out.aux("redis-bits", "64")?;
    out.aux("ctime", &(header.now_ms / 1000).to_string())?;
    out.aux("used-mem", &header.used_memory.to_string())?;
    out.aux("aof-base", "0")?;
    if let Some((id, offset)) = header.replication {
        // Where this data stands in its primary's stream, as redis-server
        // records it: a restarted replica continues from here (PSYNC).
        out.aux("repl-id", id)?;
        out.aux("repl-offset", &offset.to_string())?;
    }
    for code in header.functions {
        out.byte(opcode::FUNCTION2)?;
        out.string(code)?;
    }
    let mut chunk = Vec::with_capacity(1 << 17);
    while snapshot.next_chunk(&mut chunk) {
        out.raw(&chunk)?;
        chunk.clear();
        progress(snapshot.progress());
    }
    out.byte(opcode::EOF)?;
    let crc = out.crc.unwrap_or(0);
    out.inner.write_all(&crc.to_le_bytes())?;
    Ok(snapshot.progress().keys_written as usize)
}

/// Each library as an RDB holds it, then the payload footer: FUNCTION DUMP's payload.
pub fn function_payload(functions: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut out = Out { inner: &mut payload, crc: Some(0) };
    for code in functions {
        let _ = out.byte(opcode::FUNCTION2).and_then(|()| out.string(code));
    }
    out.payload_footer();
    payload
}

/// The value's type byte and body, then the payload footer: DUMP's payload.
pub fn value_payload(value: ValueRef<'_>) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut out = Out { inner: &mut payload, crc: Some(0) };
    let _ = out.byte(kind_of(value)).and_then(|()| out.value(value));
    out.payload_footer();
    payload
}
