//! memcached's binary protocol (deprecated by memcached, still spoken by
//! older clients and checked by memccapable): a 24-byte header, extras,
//! key and value. The same item operations as the text protocol.

use std::sync::Arc;

use super::connection::{Conn, Next};
use super::line::MAX_KEY;
use super::ops::{self, Arith, Counted, Mode, Stored, Write};
use super::{Memcache, VERSION};

pub const REQUEST: u8 = 0x80;
const RESPONSE: u8 = 0x81;
pub const HEADER: usize = 24;

mod status {
    pub const OK: u16 = 0x00;
    pub const NOT_FOUND: u16 = 0x01;
    pub const EXISTS: u16 = 0x02;
    pub const TOO_LARGE: u16 = 0x03;
    pub const INVALID: u16 = 0x04;
    pub const NOT_STORED: u16 = 0x05;
    pub const NON_NUMERIC: u16 = 0x06;
    pub const UNKNOWN: u16 = 0x81;
    pub const NO_MEMORY: u16 = 0x82;
}

/// The message memcached puts in an error response's value.
fn message(status: u16) -> &'static [u8] {
    match status {
        status::NOT_FOUND => b"Not found",
        status::EXISTS => b"Data exists for key.",
        status::TOO_LARGE => b"Too large.",
        status::INVALID => b"Invalid arguments",
        status::NOT_STORED => b"Not stored.",
        status::NON_NUMERIC => b"Non-numeric server-side value for incr or decr",
        status::NO_MEMORY => b"Out of memory",
        _ => b"Unknown command",
    }
}

struct Header {
    opcode: u8,
    key_len: usize,
    extras_len: usize,
    body_len: usize,
    opaque: [u8; 4],
    cas: u64,
}

impl Header {
    fn read(buf: &[u8]) -> Header {
        Header {
            opcode: buf[1],
            key_len: u16::from_be_bytes([buf[2], buf[3]]) as usize,
            extras_len: buf[4] as usize,
            body_len: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize,
            opaque: [buf[12], buf[13], buf[14], buf[15]],
            cas: u64::from_be_bytes(buf[16..24].try_into().unwrap_or_default()),
        }
    }
}

/// One response packet.
struct Response<'a> {
    status: u16,
    cas: u64,
    extras: &'a [u8],
    key: &'a [u8],
    value: &'a [u8],
}

fn respond(conn: &mut Conn, h: &Header, r: Response) {
    let out = &mut conn.out;
    out.push(RESPONSE);
    out.push(h.opcode);
    out.extend_from_slice(&(r.key.len() as u16).to_be_bytes());
    out.push(r.extras.len() as u8);
    out.push(0);
    out.extend_from_slice(&r.status.to_be_bytes());
    out.extend_from_slice(&((r.extras.len() + r.key.len() + r.value.len()) as u32).to_be_bytes());
    out.extend_from_slice(&h.opaque);
    out.extend_from_slice(&r.cas.to_be_bytes());
    out.extend_from_slice(r.extras);
    out.extend_from_slice(r.key);
    out.extend_from_slice(r.value);
}

fn ok(conn: &mut Conn, h: &Header, cas: u64) {
    respond(conn, h, Response { status: status::OK, cas, extras: &[], key: &[], value: &[] });
}

fn error(conn: &mut Conn, h: &Header, status: u16) {
    respond(conn, h, Response { status, cas: 0, extras: &[], key: &[], value: message(status) });
}

/// Runs the request at the start of `buf` (its first byte is `REQUEST`).
/// `Done` and `NeedData` count from the start of the packet.
pub fn execute(mc: &Arc<Memcache>, conn: &mut Conn, buf: &[u8]) -> Next {
    if buf.len() < HEADER {
        return Next::NeedData(HEADER);
    }
    let h = Header::read(buf);
    if h.key_len + h.extras_len > h.body_len {
        error(conn, &h, status::INVALID);
        return Next::Close;
    }
    if !mc.fits(h.key_len, (h.body_len - h.key_len - h.extras_len) as u64) {
        conn.counters.store_too_large += 1;
        error(conn, &h, status::TOO_LARGE);
        return Next::Swallow(h.body_len as u64);
    }
    let total = HEADER + h.body_len;
    if buf.len() < total {
        return Next::NeedData(total);
    }
    let body = &buf[HEADER..total];
    let (extras, rest) = body.split_at(h.extras_len);
    let (key, value) = rest.split_at(h.key_len);
    if key.len() > MAX_KEY {
        error(conn, &h, status::INVALID);
        return Next::Done(total);
    }
    let quit = run(mc, conn, &h, extras, key, value);
    if quit { Next::Close } else { Next::Done(total) }
}

/// Runs one request; true when the connection should close.
fn run(mc: &Arc<Memcache>, conn: &mut Conn, h: &Header, extras: &[u8], key: &[u8], value: &[u8]) -> bool {
    let now = mc.server().now_ms();
    let u32_at = |at: usize| u32::from_be_bytes(extras[at..at + 4].try_into().unwrap_or_default());
    let u64_at = |at: usize| u64::from_be_bytes(extras[at..at + 8].try_into().unwrap_or_default());
    let expiry = |secs: u32| ops::expires_at(secs as i32 as i64, now);
    match h.opcode {
        // Get, GetQ, GetK, GetKQ; GAT, GATQ, GATK, GATKQ.
        0x00 | 0x09 | 0x0c | 0x0d | 0x1d | 0x1e | 0x23 | 0x24 => {
            let touch = matches!(h.opcode, 0x1d | 0x1e | 0x23 | 0x24);
            let want = if touch { 4 } else { 0 };
            if extras.len() != want || key.is_empty() || !value.is_empty() {
                error(conn, h, status::INVALID);
                return false;
            }
            let quiet = matches!(h.opcode, 0x09 | 0x0d | 0x1e | 0x24);
            let with_key = matches!(h.opcode, 0x0c | 0x0d | 0x23 | 0x24);
            let at = touch.then(|| expiry(u32_at(0)));
            let mut found = None;
            let Conn { counters, .. } = conn;
            mc.get(counters, key, at, |item| found = Some((item.flags, item.cas, item.data.to_vec())));
            match found {
                Some((flags, cas, data)) => {
                    let key = if with_key { key } else { &[] };
                    let extras = flags.to_be_bytes();
                    respond(conn, h, Response { status: status::OK, cas, extras: &extras, key, value: &data });
                }
                None if quiet => {}
                None if with_key => respond(
                    conn,
                    h,
                    Response { status: status::NOT_FOUND, cas: 0, extras: &[], key, value: message(status::NOT_FOUND) },
                ),
                None => error(conn, h, status::NOT_FOUND),
            }
        }
        // Set, Add, Replace and their quiet forms; Append, Prepend and theirs.
        0x01..=0x03 | 0x11..=0x13 | 0x0e | 0x0f | 0x19 | 0x1a => {
            let (mode, quiet) = match h.opcode {
                0x01 => (Mode::Set, false),
                0x02 => (Mode::Add, false),
                0x03 => (Mode::Replace, false),
                0x11 => (Mode::Set, true),
                0x12 => (Mode::Add, true),
                0x13 => (Mode::Replace, true),
                0x0e => (Mode::Append, false),
                0x0f => (Mode::Prepend, false),
                0x19 => (Mode::Append, true),
                _ => (Mode::Prepend, true),
            };
            let joins = matches!(mode, Mode::Append | Mode::Prepend);
            if extras.len() != if joins { 0 } else { 8 } || key.is_empty() {
                error(conn, h, status::INVALID);
                return false;
            }
            let (flags, expires_at) = if joins { (0, 0) } else { (u32_at(0), expiry(u32_at(4))) };
            let write = Write {
                mode,
                key,
                flags,
                expires_at,
                data: value,
                compare: (h.cas != 0).then_some(h.cas),
                invalidate: false,
                binary_key: false,
            };
            match mc.store(&mut conn.counters, &write) {
                Stored::Stored { cas } if !quiet => ok(conn, h, cas),
                Stored::Stored { .. } => {}
                Stored::NotStored if mode == Mode::Add => error(conn, h, status::EXISTS),
                Stored::NotStored if mode == Mode::Replace => error(conn, h, status::NOT_FOUND),
                Stored::NotStored => error(conn, h, status::NOT_STORED),
                Stored::Exists => error(conn, h, status::EXISTS),
                Stored::NotFound => error(conn, h, status::NOT_FOUND),
                Stored::NoMemory => error(conn, h, status::NO_MEMORY),
            }
        }
        // Delete, DeleteQ.
        0x04 | 0x14 => {
            if !extras.is_empty() || key.is_empty() || !value.is_empty() {
                error(conn, h, status::INVALID);
                return false;
            }
            if h.cas != 0 {
                let current = current_cas(mc, key);
                if current.is_some_and(|c| c != h.cas) {
                    error(conn, h, status::EXISTS);
                    return false;
                }
            }
            if mc.delete(&mut conn.counters, key) {
                if h.opcode == 0x04 {
                    ok(conn, h, 0);
                }
            } else {
                error(conn, h, status::NOT_FOUND);
            }
        }
        // Increment, Decrement and their quiet forms.
        0x05 | 0x06 | 0x15 | 0x16 => {
            if extras.len() != 20 || key.is_empty() || !value.is_empty() {
                error(conn, h, status::INVALID);
                return false;
            }
            let exptime = u32_at(16);
            let request = Arith {
                incr: matches!(h.opcode, 0x05 | 0x15),
                delta: u64_at(0),
                // An expiration of all ones: fail on a miss rather than create.
                create: (exptime != u32::MAX).then(|| (u64_at(8), expiry(exptime))),
                compare: (h.cas != 0).then_some(h.cas),
                expires_at: None,
            };
            match mc.arith(&mut conn.counters, key, &request) {
                Counted::Value { value, cas, .. } if h.opcode <= 0x06 => {
                    let number = value.to_be_bytes();
                    respond(conn, h, Response { status: status::OK, cas, extras: &[], key: &[], value: &number });
                }
                Counted::Value { .. } => {}
                Counted::NotFound => error(conn, h, status::NOT_FOUND),
                Counted::NonNumeric => error(conn, h, status::NON_NUMERIC),
                Counted::Exists => error(conn, h, status::EXISTS),
                Counted::NoMemory => error(conn, h, status::NO_MEMORY),
            }
        }
        // Quit, QuitQ.
        0x07 | 0x17 => {
            if h.opcode == 0x07 {
                ok(conn, h, 0);
            }
            return true;
        }
        // Flush, FlushQ.
        0x08 | 0x18 => {
            if !matches!(extras.len(), 0 | 4) || !key.is_empty() {
                error(conn, h, status::INVALID);
                return false;
            }
            let delay = if extras.len() == 4 { u32_at(0) as i64 } else { 0 };
            conn.counters.cmd_flush += 1;
            let delay_secs =
                if delay <= 1 { 0 } else { (expiry(delay as u32).saturating_sub(now) / 1000).saturating_sub(1) };
            mc.flush_all(delay_secs);
            if h.opcode == 0x08 {
                ok(conn, h, 0);
            }
        }
        // No-op.
        0x0a => ok(conn, h, 0),
        // Version.
        0x0b => {
            respond(conn, h, Response { status: status::OK, cas: 0, extras: &[], key: &[], value: VERSION.as_bytes() })
        }
        // Stat: one packet per statistic, then an empty one.
        0x10 => {
            mc.totals.publish(&mut conn.counters);
            let which = (!key.is_empty()).then_some(key);
            let lines = super::stats::lines(mc, which);
            if lines.is_none() && which.is_some_and(|w| w != b"reset") {
                error(conn, h, status::NOT_FOUND);
                return false;
            }
            for (name, value) in lines.unwrap_or_default() {
                let r =
                    Response { status: status::OK, cas: 0, extras: &[], key: name.as_bytes(), value: value.as_bytes() };
                respond(conn, h, r);
            }
            ok(conn, h, 0);
        }
        // Touch.
        0x1c => {
            if extras.len() != 4 || key.is_empty() {
                error(conn, h, status::INVALID);
                return false;
            }
            if mc.touch(&mut conn.counters, key, expiry(u32_at(0))) {
                ok(conn, h, 0);
            } else {
                error(conn, h, status::NOT_FOUND);
            }
        }
        _ => error(conn, h, status::UNKNOWN),
    }
    false
}

fn current_cas(mc: &Memcache, key: &[u8]) -> Option<u64> {
    let mut locked = mc.server().keyspace().lock_one(key);
    locked.peek(ops::DB, key).and_then(|e| super::item::Item::read(e.value()).map(|i| i.cas))
}
