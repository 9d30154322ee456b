//! Redis's RDB format, version 10 (what redis-server 7.0 writes and loads).
//!
//! - `write`: the keyspace to an RDB stream (plain encodings only: every
//!   reader, ours or redis-server's, loads them).
//! - `read`: an RDB stream into the keyspace, including the compact
//!   encodings redis-server writes (intset, listpack, quicklist, LZF).
//! - `crc64`: the trailing checksum.
//!
//! `save` and `load` are the file-level entry points (SAVE, BGSAVE, startup);
//! `snapshot_bytes` serves a replica's full sync.

mod crc64;
mod read;
mod write;

use std::path::Path;
use std::sync::Arc;

use crate::keyspace::{Keyspace, SnapshotProgress};

pub use write::Header;

pub const VERSION: u32 = 10;

pub(crate) mod opcode {
    pub const AUX: u8 = 0xfa;
    pub const RESIZEDB: u8 = 0xfb;
    pub const EXPIRETIME_MS: u8 = 0xfc;
    pub const EXPIRETIME: u8 = 0xfd;
    pub const SELECTDB: u8 = 0xfe;
    pub const EOF: u8 = 0xff;
    pub const IDLE: u8 = 0xf8;
    pub const FREQ: u8 = 0xf7;
    /// A function library's code (RDB_OPCODE_FUNCTION2, Redis 7.0).
    pub const FUNCTION2: u8 = 0xf5;
    /// Redis 7.0's release candidates' library format: refused.
    pub const FUNCTION_PRE_GA: u8 = 0xf6;
}

pub(crate) mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const SET_INTSET: u8 = 11;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const SET_LISTPACK: u8 = 20;
}

#[derive(Debug)]
pub enum RdbError {
    Io(std::io::Error),
    /// The bytes are not an RDB we can read; says where and why.
    Format(String),
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbError::Io(e) => write!(f, "{e}"),
            RdbError::Format(why) => write!(f, "bad RDB: {why}"),
        }
    }
}

impl From<std::io::Error> for RdbError {
    fn from(e: std::io::Error) -> RdbError {
        RdbError::Io(e)
    }
}

/// What loading found: how many keys, and where the data stands in its
/// primary's stream when the file says (`repl-id`, `repl-offset`).
pub struct Loaded {
    pub keys: usize,
    /// Keys left out because they had expired (rdb_last_load_keys_expired).
    pub expired: usize,
    pub replication: Option<(String, u64)>,
    /// The code of each function library the file holds.
    pub functions: Vec<Vec<u8>>,
}

/// Writes a snapshot of the keyspace to `path` through a temporary file
/// and a rename, so a failure (a full disk) or a crash mid-save leaves the
/// previous file whole and no partial one. Returns the keys written.
pub fn save(
    ks: &Keyspace,
    path: &Path,
    header: &Header,
    progress: &mut dyn FnMut(SnapshotProgress),
) -> Result<usize, RdbError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = write_file(ks, &tmp, header, progress).and_then(|written| {
        std::fs::rename(&tmp, path)?;
        Ok(written)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_file(
    ks: &Keyspace,
    tmp: &Path,
    header: &Header,
    progress: &mut dyn FnMut(SnapshotProgress),
) -> Result<usize, RdbError> {
    let file = std::fs::File::create(tmp)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut snapshot = ks.begin_snapshot(Arc::new(write::RdbEncoder), || {});
    let written = write::dump(header, &mut snapshot, &mut out, progress)?;
    drop(snapshot);
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(written)
}

/// A snapshot in memory (a replica's full sync); `at_cut` runs at its
/// point in time, with every shard held.
pub fn snapshot_bytes(ks: &Keyspace, functions: &[Vec<u8>], at_cut: impl FnOnce()) -> Vec<u8> {
    let mut snapshot = ks.begin_snapshot(Arc::new(write::RdbEncoder), at_cut);
    let header = Header { now_ms: ks.now_ms(), used_memory: ks.used_memory(), replication: None, functions };
    let mut rdb = Vec::new();
    // Writing to memory cannot fail.
    let _ = write::dump(&header, &mut snapshot, &mut rdb, &mut |_| {});
    rdb
}

/// FUNCTION DUMP's payload: each library as in an RDB, then the RDB
/// version and a CRC-64, as redis-server makes it.
pub fn function_payload(functions: &[Vec<u8>]) -> Vec<u8> {
    write::function_payload(functions)
}

/// The libraries of a FUNCTION RESTORE payload, or why it is refused.
pub fn read_function_payload(payload: &[u8]) -> Result<Vec<Vec<u8>>, RdbError> {
    read::function_payload(payload)
}

/// DUMP's payload for a value: redis-server RESTOREs it.
pub fn value_payload(value: crate::keyspace::ValueRef<'_>) -> Vec<u8> {
    write::value_payload(value)
}

/// The value of a RESTORE payload (ours or redis-server's). `Err(None)`: the
/// version or checksum is wrong; `Err(Some(why))`: the value is malformed.
pub fn read_value_payload(payload: &[u8]) -> Result<crate::keyspace::Value, Option<RdbError>> {
    read::value_payload(payload)
}

/// Loads an RDB held in memory (a primary's snapshot).
pub fn load_bytes(ks: &Keyspace, bytes: &[u8]) -> Result<Loaded, RdbError> {
    read::load(ks, bytes)
}

/// Loads `path` into an empty keyspace; returns the keys loaded. Keys
/// already expired are skipped, as redis-server does when it loads as a primary.
pub fn load(ks: &Keyspace, path: &Path) -> Result<Loaded, RdbError> {
    let bytes = std::fs::read(path)?;
    read::load(ks, &bytes)
}
