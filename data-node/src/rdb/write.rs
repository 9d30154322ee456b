//! The keyspace as an RDB stream: one shard locked at a time (each key is
//! written whole; keys in different shards may be seen at slightly different
//! moments), plain encodings, a CRC-64 at the end.

use std::io::Write;

use super::{VERSION, crc64, kind, opcode};
use crate::keyspace::{Entry, Keyspace, Locked, Value};

struct Out<'w, W: Write> {
    inner: &'w mut W,
    crc: u64,
}

impl<W: Write> Out<'_, W> {
    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.crc = crc64::update(self.crc, bytes);
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
        self.byte(kind_of(&entry.value))?;
        self.string(&entry.key)?;
        self.value(&entry.value)
    }

    /// A value's body, after its type byte (and, in a file, its key).
    fn value(&mut self, value: &Value) -> std::io::Result<()> {
        match value {
            Value::Str(s) => self.string(s),
            Value::List(list) => {
                self.len(list.len() as u64)?;
                list.iter().try_for_each(|item| self.string(item))
            }
            Value::Set(set) => {
                self.len(set.len() as u64)?;
                set.iter().try_for_each(|m| self.string(m))
            }
            Value::Hash(hash) => {
                self.len(hash.len() as u64)?;
                hash.iter().try_for_each(|(f, v)| {
                    self.string(f)?;
                    self.string(v)
                })
            }
            Value::ZSet(zset) => {
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
        let crc = self.crc;
        let _ = self.inner.write_all(&crc.to_le_bytes());
    }
}

/// The plain encoding's type byte for a value.
fn kind_of(value: &Value) -> u8 {
    match value {
        Value::Str(_) => kind::STRING,
        Value::List(_) => kind::LIST,
        Value::Set(_) => kind::SET,
        Value::Hash(_) => kind::HASH,
        Value::ZSet(_) => kind::ZSET_2,
    }
}

/// Writes every live key; returns how many. `sizes` are (keys, volatile)
/// per database; `visit(db, f)` calls `f` with each live entry of `db`.
#[allow(clippy::too_many_arguments)]
fn dump_with<W: Write>(
    now_ms: u64,
    replication: Option<(&str, u64)>,
    functions: &[Vec<u8>],
    used_memory: usize,
    sizes: Vec<(usize, usize)>,
    mut visit: impl FnMut(usize, &mut dyn FnMut(&Entry)),
    w: &mut W,
) -> std::io::Result<usize> {
    let mut out = Out { inner: w, crc: 0 };
    out.raw(format!("REDIS{VERSION:04}").as_bytes())?;
    out.aux("redis-ver", crate::REDIS_VERSION)?;
    out.aux("redis-bits", "64")?;
    out.aux("ctime", &(now_ms / 1000).to_string())?;
    out.aux("used-mem", &used_memory.to_string())?;
    out.aux("aof-base", "0")?;
    if let Some((id, offset)) = replication {
        // Where this data stands in its primary's stream, as redis-server
        // records it: a restarted replica continues from here (PSYNC).
        out.aux("repl-id", id)?;
        out.aux("repl-offset", &offset.to_string())?;
    }
    for code in functions {
        out.byte(opcode::FUNCTION2)?;
        out.string(code)?;
    }
    let mut written = 0;
    for (db, (keys, volatile)) in sizes.into_iter().enumerate() {
        if keys == 0 {
            continue;
        }
        out.byte(opcode::SELECTDB)?;
        out.len(db as u64)?;
        // Sizes are a hint for the reader's tables; keys may come and go meanwhile.
        out.byte(opcode::RESIZEDB)?;
        out.len(keys as u64)?;
        out.len(volatile as u64)?;
        let mut failed = None;
        visit(db, &mut |entry| {
            if failed.is_none() {
                match out.entry(entry) {
                    Ok(()) => written += 1,
                    Err(e) => failed = Some(e),
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    out.byte(opcode::EOF)?;
    let crc = out.crc;
    out.inner.write_all(&crc.to_le_bytes())?;
    Ok(written)
}

/// The whole keyspace, one shard locked at a time.
pub fn dump<W: Write>(
    ks: &Keyspace,
    replication: Option<(&str, u64)>,
    functions: &[Vec<u8>],
    w: &mut W,
) -> std::io::Result<usize> {
    let sizes = ks.db_sizes().into_iter().map(|(keys, volatile, _)| (keys, volatile)).collect();
    dump_with(ks.now_ms(), replication, functions, ks.used_memory(), sizes, |db, f| ks.visit_db(db, f), w)
}

/// A point-in-time snapshot: the caller holds every shard.
pub fn dump_locked<W: Write>(all: &mut Locked, functions: &[Vec<u8>], w: &mut W) -> std::io::Result<usize> {
    let sizes = (0..all.databases()).map(|db| (all.dbsize(db), 0)).collect();
    dump_with(all.now(), None, functions, 0, sizes, |db, f| all.visit_db(db, f), w)
}

/// Each library as an RDB holds it, then the payload footer: FUNCTION DUMP's payload.
pub fn function_payload(functions: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut out = Out { inner: &mut payload, crc: 0 };
    for code in functions {
        let _ = out.byte(opcode::FUNCTION2).and_then(|()| out.string(code));
    }
    out.payload_footer();
    payload
}

/// The value's type byte and body, then the payload footer: DUMP's payload.
pub fn value_payload(value: &Value) -> Vec<u8> {
    let mut payload = Vec::new();
    let mut out = Out { inner: &mut payload, crc: 0 };
    let _ = out.byte(kind_of(value)).and_then(|()| out.value(value));
    out.payload_footer();
    payload
}
