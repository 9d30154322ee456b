//! memcached's meta protocol: `mg ms md ma mn me`, each a key and flags
//! (a letter, some with a token after it). Return flags come back in the
//! order they were asked for, as protocol.txt says.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::Memcache;
use super::connection::{Conn, Next};
use super::item::{self, Bits, Item};
use super::line::{self, MAX_KEY, Words};
use super::ops::{self, Arith, Counted, DB, Mode, Stored, Write};
use super::reply::{self, push_i64, push_u64};
use super::text::stored_data;
use crate::keyspace::{Missing, lru_idle_secs};

const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";
const BAD_TOKEN: &[u8] = b"CLIENT_ERROR bad token in command line format";
const MAX_OPAQUE: usize = 32;

const MG_FLAGS: &[u8] = b"bcfhklOqstuvNRTPL";
const MS_FLAGS: &[u8] = b"bcCFIkOqTMPL";
const MD_FLAGS: &[u8] = b"bCIkOqTPL";
const MA_FLAGS: &[u8] = b"bCNJDTMqtcvOkPL";

/// A request's flags, in the order given.
struct Flags<'a> {
    list: Vec<(u8, &'a [u8])>,
}

impl<'a> Flags<'a> {
    /// Reads flag words; the error is the reply line.
    fn parse(words: &[&'a [u8]], allowed: &[u8]) -> Result<Flags<'a>, &'static [u8]> {
        let mut seen = 0u64;
        let mut list = Vec::with_capacity(words.len());
        for word in words {
            let flag = word[0];
            if !allowed.contains(&flag) {
                return Err(b"CLIENT_ERROR invalid flag");
            }
            let bit = 1u64 << (flag - b'A').min(63);
            if seen & bit != 0 {
                return Err(b"CLIENT_ERROR duplicate flag");
            }
            seen |= bit;
            if flag == b'O' && word.len() - 1 > MAX_OPAQUE {
                return Err(b"CLIENT_ERROR opaque token too long");
            }
            list.push((flag, &word[1..]));
        }
        Ok(Flags { list })
    }

    fn has(&self, flag: u8) -> bool {
        self.list.iter().any(|(f, _)| *f == flag)
    }

    fn token(&self, flag: u8) -> Option<&'a [u8]> {
        self.list.iter().find(|(f, _)| *f == flag).map(|(_, t)| *t)
    }

    /// A flag's numeric token: None when absent, Err when not a number.
    fn number<T: std::str::FromStr>(&self, flag: u8) -> Result<Option<T>, ()> {
        match self.token(flag) {
            None => Ok(None),
            Some(t) => line::number(t).map(Some).ok_or(()),
        }
    }
}

/// What the return flags may show of an item.
#[derive(Default)]
struct Shown<'k> {
    key: &'k [u8],
    cas: u64,
    flags: u32,
    size: usize,
    ttl: i64,
    hit_before: bool,
    idle_secs: u64,
}

/// Writes the return flags asked for, among `returned`, in request order.
fn return_flags(out: &mut Vec<u8>, flags: &Flags, returned: &[u8], binary: bool, s: &Shown) {
    for &(flag, token) in &flags.list {
        if !returned.contains(&flag) {
            continue;
        }
        out.push(b' ');
        out.push(flag);
        match flag {
            b'O' => out.extend_from_slice(token),
            b'k' => {
                out.extend_from_slice(s.key);
                if binary {
                    out.extend_from_slice(b" b");
                }
            }
            b'c' => push_u64(out, s.cas),
            b'f' => push_u64(out, s.flags as u64),
            b's' => push_u64(out, s.size as u64),
            b't' => push_i64(out, s.ttl),
            b'h' => out.push(if s.hit_before { b'1' } else { b'0' }),
            b'l' => push_u64(out, s.idle_secs),
            _ => {}
        }
    }
}

/// A meta request's flags and the key it names (decoded under `b`).
fn flags_and_key<'a>(
    flag_words: &[&'a [u8]],
    allowed: &[u8],
    key: &[u8],
) -> Result<(Flags<'a>, Vec<u8>), &'static [u8]> {
    let flags = Flags::parse(flag_words, allowed)?;
    let key = key_of(key, flags.has(b'b'))?;
    Ok((flags, key))
}

/// The key a meta request names: its token, and the key itself (decoded under `b`).
fn key_of(token: &[u8], binary: bool) -> Result<Vec<u8>, &'static [u8]> {
    if token.len() > MAX_KEY {
        return Err(BAD_FORMAT);
    }
    if !binary {
        return if line::valid_key(token) { Ok(token.to_vec()) } else { Err(BAD_FORMAT) };
    }
    match BASE64.decode(token) {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY => Ok(key),
        _ => Err(b"CLIENT_ERROR error decoding key"),
    }
}

pub fn execute(mc: &Arc<Memcache>, conn: &mut Conn, command: &[u8], line: &[u8], after: &[u8]) -> Next {
    let words = Words::split(line);
    if words.overflow {
        return conn.say(BAD_FORMAT);
    }
    let w = words.as_slice();
    if command == b"mn" {
        return conn.say(b"MN");
    }
    if w.len() < 2 {
        return conn.say(if command == b"me" { BAD_FORMAT } else { b"ERROR" });
    }
    conn.counters.cmd_meta += 1;
    match command {
        b"mg" => get(mc, conn, w),
        b"ms" => set(mc, conn, w, after),
        b"md" => delete(mc, conn, w),
        b"ma" => arith(mc, conn, w),
        _ => debug(mc, conn, w),
    }
}

fn get(mc: &Memcache, conn: &mut Conn, w: &[&[u8]]) -> Next {
    let (flags, key) = match flags_and_key(&w[2..], MG_FLAGS, w[1]) {
        Ok(parsed) => parsed,
        Err(e) => return conn.say(e),
    };
    let binary = flags.has(b'b');
    let (Ok(vivify), Ok(recache), Ok(new_ttl)) =
        (flags.number::<i64>(b'N'), flags.number::<i64>(b'R'), flags.number::<i64>(b'T'))
    else {
        return conn.say(BAD_TOKEN);
    };
    let server = mc.server();
    let now = server.now_ms();
    let coarse = server.keyspace().coarse_ms();
    let no_bump = flags.has(b'u');
    let c = &mut conn.counters;
    c.cmd_get += 1;
    if new_ttl.is_some() {
        c.cmd_touch += 1;
    }
    let mut locked = server.keyspace().lock_one(&key);
    // `h` and `l` show the item as it was before this request touched it.
    let before = (flags.has(b'h') || flags.has(b'l')).then(|| {
        locked.peek(DB, &key).map(|e| {
            let fetched = Item::read(e.value()).is_some_and(|i| i.bits.has(Bits::FETCHED));
            (fetched, lru_idle_secs(e.access(), coarse))
        })
    });
    let found = if no_bump {
        locked.peek(DB, &key).map(|_| ()).ok_or(Missing::Absent)
    } else {
        locked.lookup(DB, &key).map(|_| ())
    };
    let out = &mut conn.out;
    let mut won = false;
    if let Err(missing) = found {
        if missing == Missing::Expired {
            c.get_expired += 1;
        }
        c.get_misses += 1;
        let Some(ttl) = vivify else {
            if !flags.has(b'q') {
                out.extend_from_slice(b"EN");
                return_flags(out, &flags, b"kO", binary, &Shown { key: w[1], ..Default::default() });
                out.extend_from_slice(b"\r\n");
            }
            return Next::Done(0);
        };
        // Vivify: an empty item stands in, and this client is told to fill it.
        let cas = mc.next_cas();
        let bits = if binary { Bits::BINARY_KEY } else { Bits::default() };
        locked.set_str(DB, &key, &[&item::header(cas, 0, bits.with(Bits::WIN_SENT))], ops::expires_at(ttl, now));
        won = true;
    } else {
        c.get_hits += 1;
    }
    let Some(mut e) = locked.get_mut(DB, &key) else { return Next::Done(0) };
    if let Some(t) = new_ttl {
        e.set_expires_at(ops::expires_at(t, now));
        c.touch_hits += 1;
    }
    let Some(item) = Item::read(e.value()) else { return Next::Done(0) };
    let ttl = ops::ttl_secs(e.expires_at(), now);
    let (already_sent, stale) = (!won && item.bits.has(Bits::WIN_SENT), item.bits.has(Bits::STALE));
    if !won && !already_sent {
        won = stale || recache.is_some_and(|r| ttl != -1 && ttl < r);
    }
    let (hit_before, idle_secs) = before.flatten().unwrap_or_default();
    let shown =
        Shown { key: w[1], cas: item.cas, flags: item.flags, size: item.data.len(), ttl, hit_before, idle_secs };
    if flags.has(b'v') {
        out.extend_from_slice(b"VA ");
        push_u64(out, item.data.len() as u64);
    } else {
        out.extend_from_slice(b"HD");
    }
    return_flags(out, &flags, b"cfhklOst", binary, &shown);
    for (on, flag) in [(already_sent, b" Z"), (stale, b" X"), (won, b" W")] {
        if on {
            out.extend_from_slice(flag);
        }
    }
    out.extend_from_slice(b"\r\n");
    if flags.has(b'v') {
        reply::line(out, item.data);
    }
    let mut bits = item.bits;
    if won {
        bits = bits.with(Bits::WIN_SENT);
    }
    if !no_bump {
        bits = bits.with(Bits::FETCHED);
    }
    if bits != item.bits {
        let cas = item.cas;
        item::set_header(e.value_mut(), cas, bits);
    }
    Next::Done(0)
}

/// `ms <key> <datalen> <flags>*` and its data block.
fn set(mc: &Memcache, conn: &mut Conn, w: &[&[u8]], after: &[u8]) -> Next {
    if w.len() < 3 || w[1].len() > MAX_KEY {
        return conn.say(BAD_FORMAT);
    }
    let Some(len) = line::number::<u64>(w[2]) else { return conn.say(BAD_FORMAT) };
    let block = len.saturating_add(2);
    // From here on the data block is consumed whatever the reply.
    let refuse = |conn: &mut Conn, text: &[u8]| {
        conn.say(text);
        Next::Swallow(block)
    };
    let (flags, key) = match flags_and_key(&w[3..], MS_FLAGS, w[1]) {
        Ok(parsed) => parsed,
        Err(e) => return refuse(conn, e),
    };
    let binary = flags.has(b'b');
    let Ok(client_flags) = flags.number::<u32>(b'F') else { return refuse(conn, BAD_FORMAT) };
    let (Ok(ttl), Ok(compare)) = (flags.number::<i64>(b'T'), flags.number::<u64>(b'C')) else {
        return refuse(conn, BAD_TOKEN);
    };
    let mode = match flags.token(b'M').map(|t| t.first().copied()) {
        None | Some(Some(b'S' | b's')) => Mode::Set,
        Some(Some(b'E' | b'e')) => Mode::Add,
        Some(Some(b'A' | b'a')) => Mode::Append,
        Some(Some(b'P' | b'p')) => Mode::Prepend,
        Some(Some(b'R' | b'r')) => Mode::Replace,
        Some(_) => return refuse(conn, b"CLIENT_ERROR invalid mode for ms M token"),
    };
    let data = match stored_data(mc, conn, key.len(), len, after) {
        Ok(data) => data,
        Err(next) => return next,
    };
    let block = data.len() + 2;
    let write = Write {
        mode,
        key: &key,
        flags: client_flags.unwrap_or(0),
        expires_at: ops::expires_at(ttl.unwrap_or(0), mc.server().now_ms()),
        data,
        compare,
        invalidate: flags.has(b'I'),
        binary_key: binary,
    };
    let (code, cas): (&[u8], u64) = match mc.store(&mut conn.counters, &write) {
        Stored::Stored { cas } => (b"HD", cas),
        Stored::NotStored => (b"NS", 0),
        Stored::Exists => (b"EX", 0),
        Stored::NotFound => (b"NF", 0),
        Stored::NoMemory => {
            conn.say(b"SERVER_ERROR out of memory storing object");
            return Next::Done(block);
        }
    };
    status(conn, code, &flags, b"Okc", binary, &Shown { key: w[1], cas, ..Default::default() });
    Next::Done(block)
}

/// A status line (`HD` and the like) with its return flags; `q` hides `HD`.
fn status(conn: &mut Conn, code: &[u8], flags: &Flags, returned: &[u8], binary: bool, shown: &Shown) -> Next {
    if code == b"HD" && flags.has(b'q') {
        return Next::Done(0);
    }
    conn.out.extend_from_slice(code);
    return_flags(&mut conn.out, flags, returned, binary, shown);
    conn.out.extend_from_slice(b"\r\n");
    Next::Done(0)
}

/// `md <key> <flags>*`: delete, or with `I` mark stale (a new CAS, `T` a new TTL).
fn delete(mc: &Memcache, conn: &mut Conn, w: &[&[u8]]) -> Next {
    let (flags, key) = match flags_and_key(&w[2..], MD_FLAGS, w[1]) {
        Ok(parsed) => parsed,
        Err(e) => return conn.say(e),
    };
    let binary = flags.has(b'b');
    let (Ok(compare), Ok(ttl)) = (flags.number::<u64>(b'C'), flags.number::<i64>(b'T')) else {
        return conn.say(BAD_TOKEN);
    };
    let shown = Shown { key: w[1], ..Default::default() };
    let now = mc.server().now_ms();
    let mut locked = mc.server().keyspace().lock_one(&key);
    let Some(mut e) = locked.get_mut(DB, &key) else {
        conn.counters.delete_misses += 1;
        return status(conn, b"NF", &flags, b"Ok", binary, &shown);
    };
    let Some(current) = Item::read(e.value()) else { return Next::Done(0) };
    if compare.is_some_and(|want| want != current.cas) {
        return status(conn, b"EX", &flags, b"Ok", binary, &shown);
    }
    conn.counters.delete_hits += 1;
    if flags.has(b'I') {
        let bits = current.bits.without(Bits::WIN_SENT).with(Bits::STALE);
        item::set_header(e.value_mut(), mc.next_cas(), bits);
        if let Some(t) = ttl {
            e.set_expires_at(ops::expires_at(t, now));
        }
    } else {
        drop(e);
        locked.remove(DB, &key);
    }
    status(conn, b"HD", &flags, b"Ok", binary, &shown)
}

/// `ma <key> <flags>*`: incr (default) or decr by `D`, creating on a miss under `N`.
fn arith(mc: &Memcache, conn: &mut Conn, w: &[&[u8]]) -> Next {
    const BAD_FLAG: &[u8] = b"CLIENT_ERROR invalid or duplicate flag";
    let (flags, key) = match flags_and_key(&w[2..], MA_FLAGS, w[1]) {
        Ok(parsed) => parsed,
        Err(b"CLIENT_ERROR duplicate flag") => return conn.say(BAD_FLAG),
        Err(e) => return conn.say(e),
    };
    let binary = flags.has(b'b');
    let numbers = (
        flags.number::<u64>(b'D'),
        flags.number::<u64>(b'J'),
        flags.number::<i64>(b'N'),
        flags.number::<i64>(b'T'),
        flags.number::<u64>(b'C'),
    );
    let (Ok(delta), Ok(initial), Ok(create), Ok(ttl), Ok(compare)) = numbers else {
        return conn.say(BAD_FLAG);
    };
    let incr = match flags.token(b'M').map(|t| t.first().copied()) {
        None | Some(Some(b'I' | b'i' | b'+')) => true,
        Some(Some(b'D' | b'd' | b'-')) => false,
        Some(_) => return conn.say(b"CLIENT_ERROR invalid mode for ma M token"),
    };
    let now = mc.server().now_ms();
    let request = Arith {
        incr,
        delta: delta.unwrap_or(1),
        create: create.map(|n| (initial.unwrap_or(0), ops::expires_at(n, now))),
        compare,
        expires_at: ttl.map(|t| ops::expires_at(t, now)),
    };
    let mut shown = Shown { key: w[1], ..Default::default() };
    let counted = mc.arith(&mut conn.counters, &key, &request);
    let value = match counted {
        Counted::Value { value, cas, expires_at } => {
            shown.cas = cas;
            shown.ttl = ops::ttl_secs(expires_at, now);
            value
        }
        Counted::NotFound => return status(conn, b"NF", &flags, b"Ok", binary, &shown),
        Counted::Exists => return status(conn, b"EX", &flags, b"Ok", binary, &shown),
        Counted::NoMemory => return status(conn, b"NS", &flags, b"Ok", binary, &shown),
        Counted::NonNumeric => return conn.say(b"CLIENT_ERROR cannot increment or decrement non-numeric value"),
    };
    if !flags.has(b'v') {
        return status(conn, b"HD", &flags, b"Oktc", binary, &shown);
    }
    let mut digits = Vec::with_capacity(20);
    push_u64(&mut digits, value);
    let out = &mut conn.out;
    out.extend_from_slice(b"VA ");
    push_u64(out, digits.len() as u64);
    return_flags(out, &flags, b"Oktc", binary, &shown);
    out.extend_from_slice(b"\r\n");
    reply::line(out, &digits);
    Next::Done(0)
}

/// `me <key> [b]`: what we know of an item, minus its value.
fn debug(mc: &Memcache, conn: &mut Conn, w: &[&[u8]]) -> Next {
    let binary = w.get(2).is_some_and(|f| f.first() == Some(&b'b'));
    let key = match key_of(w[1], binary) {
        Ok(k) => k,
        Err(e) => return conn.say(e),
    };
    let server = mc.server();
    let (now, coarse) = (server.now_ms(), server.keyspace().coarse_ms());
    let mut locked = server.keyspace().lock_one(&key);
    let Some(e) = locked.peek(DB, &key) else { return conn.say(b"EN") };
    let Some(item) = Item::read(e.value()) else { return conn.say(b"EN") };
    let shown_key = if item.bits.has(Bits::BINARY_KEY) { BASE64.encode(&key).into_bytes() } else { key.clone() };
    let out = &mut conn.out;
    out.extend_from_slice(b"ME ");
    out.extend_from_slice(&shown_key);
    out.extend_from_slice(b" exp=");
    push_i64(out, ops::ttl_secs(e.expires_at(), now));
    out.extend_from_slice(b" la=");
    push_u64(out, lru_idle_secs(e.access(), coarse));
    out.extend_from_slice(b" cas=");
    push_u64(out, item.cas);
    out.extend_from_slice(if item.bits.has(Bits::FETCHED) { b" fetch=yes" } else { b" fetch=no" });
    out.extend_from_slice(b" size=");
    push_u64(out, e.mem_size() as u64);
    out.extend_from_slice(b"\r\n");
    Next::Done(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_their_order_and_refuse_repeats_and_strangers() {
        let words: Vec<&[u8]> = vec![b"v", b"O123", b"T30", b"k"];
        let flags = Flags::parse(&words, MG_FLAGS).expect("valid");
        assert_eq!(flags.list.iter().map(|(f, _)| *f).collect::<Vec<_>>(), b"vOTk");
        assert_eq!(flags.token(b'O'), Some(&b"123"[..]));
        assert_eq!(flags.number::<i64>(b'T'), Ok(Some(30)));
        assert_eq!(flags.number::<i64>(b'N'), Ok(None));
        assert!(flags.has(b'k') && !flags.has(b'q'));
        let err = |words: &[&[u8]]| Flags::parse(words, MG_FLAGS).err();
        assert_eq!(err(&[b"v", b"v"]), Some(&b"CLIENT_ERROR duplicate flag"[..]));
        assert_eq!(err(&[b"z"]), Some(&b"CLIENT_ERROR invalid flag"[..]));
        assert_eq!(err(&[&[b'O'; 34]]), Some(&b"CLIENT_ERROR opaque token too long"[..]));
        let bad_number: Vec<&[u8]> = vec![b"Tx"];
        assert!(Flags::parse(&bad_number, MG_FLAGS).expect("parses").number::<i64>(b'T').is_err());
    }

    #[test]
    fn return_flags_follow_the_request() {
        let words: Vec<&[u8]> = vec![b"t", b"k", b"v", b"O9", b"c"];
        let flags = Flags::parse(&words, MG_FLAGS).expect("valid");
        let mut out = Vec::new();
        return_flags(
            &mut out,
            &flags,
            b"cfhklOst",
            true,
            &Shown { key: b"YQ==", cas: 7, ttl: -1, ..Default::default() },
        );
        assert_eq!(out, b" t-1 kYQ== b O9 c7");
    }

    #[test]
    fn keys_decode_strictly() {
        assert_eq!(key_of(b"YQ==", true), Ok(b"a".to_vec()));
        assert!(key_of(b"YQ", true).is_err());
        assert!(key_of(&[b'a'; 251], false).is_err());
        assert_eq!(key_of(b"plain", false), Ok(b"plain".to_vec()));
    }
}
