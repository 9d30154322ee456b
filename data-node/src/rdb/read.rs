//! An RDB stream into the keyspace. Reads the plain encodings and the compact
//! ones redis-server 7 writes (intset, listpack, quicklist of listpacks,
//! LZF-compressed and integer-encoded strings). Every length is checked
//! against the bytes left, so a corrupt file is an error, never a panic.

use super::{RdbError, crc64, kind, opcode};
use crate::keyspace::{Hash, Keyspace, List, Set, Value, ZSet};

type Result<T> = std::result::Result<T, RdbError>;

fn bad<T>(why: impl Into<String>) -> Result<T> {
    Err(RdbError::Format(why.into()))
}

struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

enum Len {
    Plain(u64),
    /// An encoded string: 0 int8, 1 int16, 2 int32, 3 LZF.
    Encoded(u8),
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.bytes.get(self.at..self.at.saturating_add(n)) {
            Some(slice) if self.at.checked_add(n).is_some() => {
                self.at += n;
                Ok(slice)
            }
            _ => bad(format!("truncated at byte {} (wanted {n} more)", self.at)),
        }
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn raw_len(&mut self) -> Result<Len> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3f)),
            1 => Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            2 if first == 0x80 => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            2 if first == 0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
            2 => return bad(format!("unknown length prefix {first:#x}")),
            _ => Len::Encoded(first & 0x3f),
        })
    }

    fn len(&mut self) -> Result<usize> {
        match self.raw_len()? {
            Len::Plain(n) => usize::try_from(n).or_else(|_| bad("length overflows")),
            Len::Encoded(_) => bad("an encoded string where a length belongs"),
        }
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        match self.raw_len()? {
            Len::Plain(n) => Ok(self.take(usize::try_from(n).or_else(|_| bad("length overflows"))?)?.to_vec()),
            Len::Encoded(0) => Ok((self.byte()? as i8).to_string().into_bytes()),
            Len::Encoded(1) => Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            Len::Encoded(2) => Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            Len::Encoded(3) => {
                let compressed = self.len()?;
                let plain = self.len()?;
                lzf_decompress(self.take(compressed)?, plain)
            }
            Len::Encoded(other) => bad(format!("unknown string encoding {other}")),
        }
    }
}

/// LZF as redis's lzf_d.c defines it: literal runs and back-references.
fn lzf_decompress(input: &[u8], expected: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(expected.min(1 << 26));
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let Some(literal) = input.get(i..i + run) else { return bad("LZF literal past the end") };
            out.extend_from_slice(literal);
            i += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(extra) = input.get(i) else { return bad("LZF length past the end") };
                len += usize::from(*extra);
                i += 1;
            }
            let Some(low) = input.get(i) else { return bad("LZF offset past the end") };
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + usize::from(*low) + 1;
            if back > out.len() {
                return bad("LZF reference before the start");
            }
            let start = out.len() - back;
            for k in 0..len + 2 {
                let b = out[start + k];
                out.push(b);
            }
        }
        if out.len() > expected {
            return bad("LZF output longer than declared");
        }
    }
    if out.len() != expected {
        return bad("LZF output shorter than declared");
    }
    Ok(out)
}

/// The elements of a listpack, integers as their decimal text.
fn listpack(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut input = Input { bytes, at: 6 };
    if bytes.len() < 7 {
        return bad("listpack shorter than its header");
    }
    let mut items = Vec::new();
    loop {
        let start = input.at;
        let b = input.byte()?;
        let item = match b {
            0xff => return Ok(items),
            0x00..=0x7f => i64::from(b).to_string().into_bytes(),
            0x80..=0xbf => input.take(usize::from(b & 0x3f))?.to_vec(),
            0xc0..=0xdf => {
                let v = i64::from(b & 0x1f) << 8 | i64::from(input.byte()?);
                (if v >= 1 << 12 { v - (1 << 13) } else { v }).to_string().into_bytes()
            }
            0xe0..=0xef => {
                let n = usize::from(b & 0x0f) << 8 | usize::from(input.byte()?);
                input.take(n)?.to_vec()
            }
            0xf0 => {
                let n = u32::from_le_bytes(input.array()?) as usize;
                input.take(n)?.to_vec()
            }
            0xf1 => i16::from_le_bytes(input.array()?).to_string().into_bytes(),
            0xf2 => {
                let [a, b2, c] = input.array::<3>()?;
                (i32::from_le_bytes([0, a, b2, c]) >> 8).to_string().into_bytes()
            }
            0xf3 => i32::from_le_bytes(input.array()?).to_string().into_bytes(),
            0xf4 => i64::from_le_bytes(input.array()?).to_string().into_bytes(),
            other => return bad(format!("unknown listpack encoding {other:#x}")),
        };
        let entry_len = input.at - start;
        let backlen = match entry_len {
            0..=127 => 1,
            128..=16_383 => 2,
            16_384..=2_097_151 => 3,
            2_097_152..=268_435_455 => 4,
            _ => 5,
        };
        input.take(backlen)?;
        items.push(item);
    }
}

fn intset(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut input = Input { bytes, at: 0 };
    let width = u32::from_le_bytes(input.array()?) as usize;
    let count = u32::from_le_bytes(input.array()?) as usize;
    if ![2, 4, 8].contains(&width) {
        return bad(format!("intset of {width}-byte integers"));
    }
    (0..count)
        .map(|_| {
            let raw = input.take(width)?;
            let v = match width {
                2 => i64::from(i16::from_le_bytes([raw[0], raw[1]])),
                4 => i64::from(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
                _ => i64::from_le_bytes(raw.try_into().unwrap_or_default()),
            };
            Ok(v.to_string().into_bytes())
        })
        .collect()
}

fn score(text: &[u8]) -> Result<f64> {
    let text = std::str::from_utf8(text).or_else(|_| bad("score is not text"))?;
    match text {
        "inf" | "+inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        t => t.parse::<f64>().ok().filter(|v| !v.is_nan()).map_or_else(|| bad(format!("bad score {t:?}")), Ok),
    }
}

fn pairs(items: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !items.len().is_multiple_of(2) {
        return bad("odd number of items in a listpack of pairs");
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn value(input: &mut Input, type_byte: u8) -> Result<Value> {
    let list_of = |items: Vec<Vec<u8>>| {
        let mut list = List::default();
        items.iter().for_each(|i| list.push_back(i));
        Value::List(Box::new(list))
    };
    let set_of = |items: Vec<Vec<u8>>| {
        let mut set = Set::default();
        items.iter().for_each(|m| {
            set.insert(m);
        });
        Value::Set(Box::new(set))
    };
    let hash_of = |pairs: Vec<(Vec<u8>, Vec<u8>)>| {
        let mut hash = Hash::default();
        pairs.iter().for_each(|(f, v)| {
            hash.insert(f, v);
        });
        Value::Hash(Box::new(hash))
    };
    let zset_of = |pairs: Vec<(Vec<u8>, f64)>| {
        let mut zset = ZSet::default();
        pairs.iter().for_each(|(m, s)| {
            zset.insert(m, *s);
        });
        Value::ZSet(Box::new(zset))
    };
    Ok(match type_byte {
        kind::STRING => Value::str(&input.string()?),
        kind::LIST => {
            let n = input.len()?;
            list_of((0..n).map(|_| input.string()).collect::<Result<_>>()?)
        }
        kind::SET => {
            let n = input.len()?;
            set_of((0..n).map(|_| input.string()).collect::<Result<_>>()?)
        }
        kind::HASH => {
            let n = input.len()?;
            hash_of((0..n).map(|_| Ok((input.string()?, input.string()?))).collect::<Result<_>>()?)
        }
        kind::ZSET => {
            let n = input.len()?;
            zset_of((0..n).map(|_| Ok((input.string()?, score(&input.string()?)?))).collect::<Result<_>>()?)
        }
        kind::ZSET_2 => {
            let n = input.len()?;
            zset_of((0..n).map(|_| Ok((input.string()?, f64::from_le_bytes(input.array()?)))).collect::<Result<_>>()?)
        }
        kind::SET_INTSET => set_of(intset(&input.string()?)?),
        kind::SET_LISTPACK => set_of(listpack(&input.string()?)?),
        kind::HASH_LISTPACK => hash_of(pairs(listpack(&input.string()?)?)?),
        kind::ZSET_LISTPACK => {
            let scored = pairs(listpack(&input.string()?)?)?;
            zset_of(scored.into_iter().map(|(m, s)| Ok((m, score(&s)?))).collect::<Result<_>>()?)
        }
        kind::LIST_QUICKLIST_2 => {
            let nodes = input.len()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                match input.len()? {
                    1 => items.push(input.string()?),
                    2 => items.extend(listpack(&input.string()?)?),
                    other => return bad(format!("quicklist node container {other}")),
                }
            }
            list_of(items)
        }
        other => return bad(format!("value type {other} is not supported (streams, modules, ziplists)")),
    })
}

pub fn load(ks: &Keyspace, bytes: &[u8]) -> Result<super::Loaded> {
    if bytes.len() < 9 || &bytes[..5] != b"REDIS" {
        return bad("not an RDB file (no REDIS magic)");
    }
    let version: u32 = std::str::from_utf8(&bytes[5..9]).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if !(1..=11).contains(&version) {
        return bad(format!("RDB version {version} is not supported"));
    }
    let mut input = Input { bytes, at: 9 };
    let now = ks.now_ms();
    let (mut db, mut expires_at, mut loaded, mut expired) = (0usize, 0u64, 0usize, 0usize);
    let (mut repl_id, mut repl_offset) = (None, None);
    let mut functions = Vec::new();
    loop {
        let op = input.byte()?;
        match op {
            opcode::EOF => {
                let body = input.at;
                if version >= 5 {
                    let stored = u64::from_le_bytes(input.array()?);
                    if stored != 0 && stored != crc64::update(0, &bytes[..body]) {
                        return bad("checksum mismatch");
                    }
                }
                let replication = repl_id.zip(repl_offset);
                return Ok(super::Loaded { keys: loaded, expired, replication, functions });
            }
            opcode::AUX => {
                let (name, value) = (input.string()?, input.string()?);
                let text = String::from_utf8_lossy(&value).into_owned();
                match name.as_slice() {
                    b"repl-id" => repl_id = Some(text),
                    b"repl-offset" => repl_offset = text.parse::<u64>().ok(),
                    _ => {}
                }
            }
            opcode::FUNCTION2 => functions.push(input.string()?),
            opcode::FUNCTION_PRE_GA => {
                return bad("function libraries of Redis 7.0's release candidates are not supported");
            }
            opcode::RESIZEDB => {
                input.len()?;
                input.len()?;
            }
            opcode::SELECTDB => {
                db = input.len()?;
                if db >= ks.databases() {
                    return bad(format!("database {db} is past the {} configured", ks.databases()));
                }
            }
            opcode::EXPIRETIME_MS => expires_at = u64::from_le_bytes(input.array()?),
            opcode::EXPIRETIME => expires_at = u64::from(u32::from_le_bytes(input.array()?)) * 1000,
            opcode::IDLE => {
                input.len()?;
            }
            opcode::FREQ => {
                input.byte()?;
            }
            type_byte => {
                let key = input.string()?;
                let value = value(&mut input, type_byte)?;
                if expires_at == 0 || expires_at > now {
                    ks.lock_one(&key).set(db, &key, value, expires_at);
                    loaded += 1;
                } else {
                    expired += 1;
                }
                expires_at = 0;
            }
        }
    }
}

/// A DUMP-style payload's body, once its footer (RDB version, CRC-64) checks out.
fn payload_body(payload: &[u8]) -> Result<&[u8]> {
    const WRONG: &str = "payload version or checksum are wrong";
    let Some(body_len) = payload.len().checked_sub(10) else { return bad(WRONG) };
    let (body, footer) = payload.split_at(body_len);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let stored = u64::from_le_bytes(footer[2..].try_into().unwrap_or_default());
    if u32::from(version) > super::VERSION || stored != crc64::update(0, &payload[..payload.len() - 8]) {
        return bad(WRONG);
    }
    Ok(body)
}

/// FUNCTION RESTORE's payload: libraries, then the RDB version and a CRC-64.
pub fn function_payload(payload: &[u8]) -> Result<Vec<Vec<u8>>> {
    let body = payload_body(payload)?;
    let mut input = Input { bytes: body, at: 0 };
    let mut functions = Vec::new();
    while input.at < body.len() {
        match input.byte()? {
            opcode::FUNCTION2 => functions.push(input.string()?),
            _ => return bad("given type is not a function"),
        }
    }
    Ok(functions)
}

/// RESTORE's payload: one value (any encoding redis-server dumps), then the
/// footer. `Err(None)` when the footer is wrong, `Err(Some)` when the body is.
pub fn value_payload(payload: &[u8]) -> std::result::Result<Value, Option<RdbError>> {
    let body = payload_body(payload).map_err(|_| None)?;
    let mut input = Input { bytes: body, at: 0 };
    let type_byte = input.byte().map_err(Some)?;
    let value = value(&mut input, type_byte).map_err(Some)?;
    if input.at != body.len() {
        return Err(Some(RdbError::Format("bytes after the value".into())));
    }
    if value.as_ref().is_empty_collection() {
        return Err(Some(RdbError::Format("an empty collection".into())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let ks = Keyspace::new(16);
        let good = crate::rdb::snapshot_bytes(&ks, &[], || {});
        assert_eq!(load(&ks, &good).expect("empty dump loads").keys, 0);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes = b"REDIS0010".to_vec();
            bytes.extend((0..(seed % 64)).map(|i| (seed >> (i % 8 * 8)) as u8 ^ i as u8));
            let _ = load(&ks, &bytes);
        }
        assert!(listpack(&[0, 0, 0, 0, 0, 0]).is_err());
        assert!(lzf_decompress(&[0xe0, 0xff], 10).is_err());
    }

    #[test]
    fn listpack_integers_and_strings() {
        // total(4) count(2) | 7-bit 5 | 13-bit -1 | 6-bit "ab" | end
        let lp = [0, 0, 0, 0, 3, 0, 0x05, 1, 0xdf, 0xff, 2, 0x82, b'a', b'b', 3, 0xff];
        let items = listpack(&lp).expect("valid");
        assert_eq!(items, vec![b"5".to_vec(), b"-1".to_vec(), b"ab".to_vec()]);
    }
}
