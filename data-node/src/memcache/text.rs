//! memcached's text protocol: a line per request, a data block after a
//! storage command's line. Replies and error texts are memcached 1.6's.

use std::ops::RangeInclusive;
use std::sync::Arc;

use super::connection::{Conn, Next};
use super::line::{self, MAX_KEY, Words};
use super::ops::{self, Arith, Counted, Mode, Stored, Write};
use super::reply::{self, push_u64};
use super::{Memcache, VERSION};

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";
const BAD_EXPTIME: &[u8] = b"CLIENT_ERROR invalid exptime argument";

/// Runs one request line; `after` is what follows it in the buffer (a
/// storage command's data block, when it has come).
pub fn execute(mc: &Arc<Memcache>, conn: &mut Conn, line: &[u8], after: &[u8]) -> Next {
    let mut words = line::words(line);
    let Some(command) = words.next() else {
        reply::line(&mut conn.out, b"ERROR");
        return Next::Done(0);
    };
    match command {
        b"get" => retrieve(mc, conn, words, false, None),
        b"gets" => retrieve(mc, conn, words, true, None),
        b"gat" | b"gats" => match words.next().map(line::number::<i64>) {
            None => error(conn),
            Some(None) => conn.say(BAD_EXPTIME),
            Some(Some(exptime)) => {
                let at = ops::expires_at(exptime, mc.server().now_ms());
                retrieve(mc, conn, words, command == b"gats", Some(at))
            }
        },
        b"set" => storage(mc, conn, Mode::Set, line, after, false),
        b"add" => storage(mc, conn, Mode::Add, line, after, false),
        b"replace" => storage(mc, conn, Mode::Replace, line, after, false),
        b"append" => storage(mc, conn, Mode::Append, line, after, false),
        b"prepend" => storage(mc, conn, Mode::Prepend, line, after, false),
        b"cas" => storage(mc, conn, Mode::Set, line, after, true),
        b"delete" => delete(mc, conn, line),
        b"incr" => arith(mc, conn, line, true),
        b"decr" => arith(mc, conn, line, false),
        b"touch" => touch(mc, conn, line),
        b"flush_all" => flush_all(mc, conn, line),
        b"version" => {
            conn.out.extend_from_slice(b"VERSION ");
            reply::line(&mut conn.out, VERSION.as_bytes());
            Next::Done(0)
        }
        b"verbosity" => verbosity(mc, conn, line),
        b"quit" => Next::Close,
        b"stats" => {
            super::stats::reply(mc, conn, words);
            Next::Done(0)
        }
        b"config" => super::discovery::execute(mc, conn, line, after),
        b"cache_memlimit" => cache_memlimit(mc, conn, line),
        b"mn" | b"mg" | b"ms" | b"md" | b"ma" | b"me" => super::meta::execute(mc, conn, command, line, after),
        _ => error(conn),
    }
}

fn error(conn: &mut Conn) -> Next {
    reply::line(&mut conn.out, b"ERROR");
    Next::Done(0)
}

/// A request line's words when there are `counts` of them (else the reply is
/// `ERROR`); its `noreply` is its last word, as memcached reads it.
fn counted<'a>(conn: &mut Conn, line: &'a [u8], counts: RangeInclusive<usize>) -> Result<Words<'a>, Next> {
    let words = Words::split(line);
    if !counts.contains(&words.as_slice().len()) {
        return Err(error(conn));
    }
    conn.noreply = line::is_noreply(words.as_slice().last());
    Ok(words)
}

fn retrieve<'a>(
    mc: &Memcache,
    conn: &mut Conn,
    keys: impl Iterator<Item = &'a [u8]>,
    with_cas: bool,
    touch: Option<u64>,
) -> Next {
    let mut any = false;
    for key in keys {
        any = true;
        if !line::valid_key(key) {
            return conn.say(BAD_FORMAT);
        }
        let Conn { out, counters, .. } = conn;
        mc.get(counters, key, touch, |item| {
            reply::value(out, key, item.flags, item.data, with_cas.then_some(item.cas));
        });
    }
    if !any && touch.is_none() {
        return error(conn);
    }
    reply::line(&mut conn.out, b"END");
    Next::Done(0)
}

/// set/add/replace/append/prepend `<key> <flags> <exptime> <bytes> [noreply]`,
/// cas `<key> <flags> <exptime> <bytes> <cas unique> [noreply]`.
fn storage(mc: &Memcache, conn: &mut Conn, mode: Mode, line: &[u8], after: &[u8], is_cas: bool) -> Next {
    let fixed = if is_cas { 6 } else { 5 };
    let words = match counted(conn, line, fixed..=fixed + 1) {
        Ok(words) => words,
        Err(next) => return next,
    };
    let w = words.as_slice();
    let key = w[1];
    let parsed = (
        line::number::<u32>(w[2]),
        line::number::<i64>(w[3]),
        line::number::<u64>(w[4]),
        if is_cas { line::number::<u64>(w[5]).map(Some) } else { Some(None) },
    );
    let (Some(flags), Some(exptime), Some(len), Some(compare)) = parsed else {
        return conn.say(BAD_FORMAT);
    };
    if key.len() > MAX_KEY || !line::valid_key(key) {
        return conn.say(BAD_FORMAT);
    }
    let data = match stored_data(mc, conn, key.len(), len, after) {
        Ok(data) => data,
        Err(next) => return next,
    };
    let block = data.len() + 2;
    let write = Write {
        mode,
        key,
        flags,
        expires_at: ops::expires_at(exptime, mc.server().now_ms()),
        data,
        compare,
        invalidate: false,
        binary_key: false,
    };
    let answer: &[u8] = match mc.store(&mut conn.counters, &write) {
        Stored::Stored { .. } => b"STORED",
        Stored::NotStored => b"NOT_STORED",
        Stored::Exists => b"EXISTS",
        Stored::NotFound => b"NOT_FOUND",
        Stored::NoMemory => b"SERVER_ERROR out of memory storing object",
    };
    conn.say(answer);
    Next::Done(block)
}

/// A storage request's data block of `len` bytes at the start of `after`,
/// or what comes instead: an item over `-I` is refused and its block
/// skipped, a block not all here is waited for, one not ending in "\r\n"
/// is refused (and gone).
pub fn stored_data<'a>(
    mc: &Memcache,
    conn: &mut Conn,
    key_len: usize,
    len: u64,
    after: &'a [u8],
) -> Result<&'a [u8], Next> {
    if !mc.fits(key_len, len) {
        conn.counters.store_too_large += 1;
        conn.say(b"SERVER_ERROR object too large for cache");
        return Err(Next::Swallow(len.saturating_add(2)));
    }
    let block = len as usize + 2;
    if after.len() < block {
        return Err(Next::NeedData(block));
    }
    data_block(after, block).ok_or_else(|| {
        conn.say(b"CLIENT_ERROR bad data chunk");
        Next::Done(block)
    })
}

/// A data block of `block` bytes (its "\r\n" included) at the start of
/// `after`: its data, or None when it does not end in "\r\n".
pub fn data_block(after: &[u8], block: usize) -> Option<&[u8]> {
    let (data, end) = after[..block].split_at(block - 2);
    (end == b"\r\n").then_some(data)
}

/// `delete <key> [0] [noreply]` (the 0 is a hold time memcached no longer has).
fn delete(mc: &Memcache, conn: &mut Conn, line: &[u8]) -> Next {
    let words = Words::split(line);
    let w = words.as_slice();
    if w.len() < 2 || words.overflow {
        return error(conn);
    }
    if w.len() > 2 {
        let hold_is_zero = w[2] == b"0";
        conn.noreply = line::is_noreply(w.last());
        let valid = (w.len() == 3 && (hold_is_zero || conn.noreply)) || (w.len() == 4 && hold_is_zero && conn.noreply);
        if !valid {
            conn.noreply = false;
            return conn.say(b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
        }
    }
    if !line::valid_key(w[1]) {
        return conn.say(BAD_FORMAT);
    }
    let deleted = mc.delete(&mut conn.counters, w[1]);
    conn.say(if deleted { b"DELETED" } else { b"NOT_FOUND" })
}

/// `incr|decr <key> <delta> [noreply]`.
fn arith(mc: &Memcache, conn: &mut Conn, line: &[u8], incr: bool) -> Next {
    let words = match counted(conn, line, 3..=4) {
        Ok(words) => words,
        Err(next) => return next,
    };
    let w = words.as_slice();
    if !line::valid_key(w[1]) {
        return conn.say(BAD_FORMAT);
    }
    let Some(delta) = line::number::<u64>(w[2]) else {
        return conn.say(b"CLIENT_ERROR invalid numeric delta argument");
    };
    let request = Arith { incr, delta, create: None, compare: None, expires_at: None };
    match mc.arith(&mut conn.counters, w[1], &request) {
        Counted::Value { value, .. } => {
            if !conn.noreply {
                push_u64(&mut conn.out, value);
                conn.out.extend_from_slice(b"\r\n");
            }
            conn.noreply = false;
            Next::Done(0)
        }
        Counted::NotFound => conn.say(b"NOT_FOUND"),
        Counted::NonNumeric => conn.say(b"CLIENT_ERROR cannot increment or decrement non-numeric value"),
        Counted::Exists => conn.say(b"EXISTS"),
        Counted::NoMemory => conn.say(b"SERVER_ERROR out of memory"),
    }
}

/// `touch <key> <exptime> [noreply]`.
fn touch(mc: &Memcache, conn: &mut Conn, line: &[u8]) -> Next {
    let words = match counted(conn, line, 3..=4) {
        Ok(words) => words,
        Err(next) => return next,
    };
    let w = words.as_slice();
    if !line::valid_key(w[1]) {
        return conn.say(BAD_FORMAT);
    }
    let Some(exptime) = line::number::<i64>(w[2]) else {
        return conn.say(BAD_EXPTIME);
    };
    let at = ops::expires_at(exptime, mc.server().now_ms());
    let touched = mc.touch(&mut conn.counters, w[1], at);
    conn.say(if touched { b"TOUCHED" } else { b"NOT_FOUND" })
}

/// `flush_all [delay] [noreply]`.
fn flush_all(mc: &Arc<Memcache>, conn: &mut Conn, line: &[u8]) -> Next {
    let words = match counted(conn, line, 1..=3) {
        Ok(words) => words,
        Err(next) => return next,
    };
    let w = words.as_slice();
    let delay = match w.get(1) {
        Some(word) if *word != b"noreply" => match line::number::<i64>(word) {
            Some(d) => d,
            None => return conn.say(BAD_EXPTIME),
        },
        _ => 0,
    };
    conn.counters.cmd_flush += 1;
    let now = mc.server().now_ms();
    // memcached invalidates what was stored up to a second before the time
    // named: `flush_all 1` is at once.
    let delay_secs = match delay {
        d if d <= 1 => 0,
        d => (ops::expires_at(d, now).saturating_sub(now) / 1000).saturating_sub(1),
    };
    mc.flush_all(delay_secs);
    conn.say(b"OK")
}

/// `verbosity <level> [noreply]`: kept and shown by `stats settings`; we log nothing per request.
fn verbosity(mc: &Memcache, conn: &mut Conn, line: &[u8]) -> Next {
    let words = match counted(conn, line, 2..=3) {
        Ok(words) => words,
        Err(next) => return next,
    };
    let w = words.as_slice();
    match line::number::<u64>(w[1]) {
        Some(level) => {
            mc.set_verbosity(level);
            conn.say(b"OK")
        }
        None => conn.say(BAD_FORMAT),
    }
}

/// `cache_memlimit <megabytes> [noreply]`: the memory limit, changed while running.
fn cache_memlimit(mc: &Memcache, conn: &mut Conn, line: &[u8]) -> Next {
    let words = match counted(conn, line, 2..=3) {
        Ok(words) => words,
        Err(next) => return next,
    };
    let w = words.as_slice();
    match line::number::<u64>(w[1]).and_then(|mb| mb.checked_mul(1 << 20)) {
        Some(bytes) if bytes >= 8 << 20 => {
            mc.server().live().maxmemory.store(bytes, std::sync::atomic::Ordering::Relaxed);
            conn.say(b"OK")
        }
        _ => conn.say(b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m"),
    }
}
