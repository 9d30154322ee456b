//! Bitmaps, which are strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.
//! Bit 0 is the most significant bit of the first byte, as in Redis.

use super::{MAX_STRING, change_string, read_str};
use crate::cmd::Ctx;
use crate::cmd::args::{eq, int};
use crate::cmd::error::{CmdResult, Error, SYNTAX};
use crate::keyspace::{SmallBytes, Value};

/// The largest bit offset: a string is at most 512 MB.
const MAX_BIT: i64 = (MAX_STRING as i64) * 8 - 1;

fn bit_offset(arg: &[u8]) -> Result<usize, Error> {
    match int(arg) {
        Ok(n) if (0..=MAX_BIT).contains(&n) => Ok(n as usize),
        _ => Err("ERR bit offset is not an integer or out of range".into()),
    }
}

fn bit_at(bytes: &[u8], bit: usize) -> u8 {
    bytes.get(bit / 8).map_or(0, |b| (b >> (7 - bit % 8)) & 1)
}

pub(super) fn setbit(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let bit = bit_offset(ctx.arg(2))?;
    let on = match ctx.arg(3) {
        b"1" => true,
        b"0" => false,
        _ => return Err("ERR bit is not an integer or out of range".into()),
    };
    let (ks, out) = ctx.parts();
    // Setting a bit to what it is writes nothing (and counts no change).
    if let Some(current) = read_str(ks, db, key)?
        && current.len() > bit / 8
        && (bit_at(current, bit) == 1) == on
    {
        out.int(i64::from(on));
        return Ok(());
    }
    let old = change_string(ks, db, key, bit / 8 + 1, |value| {
        let old = bit_at(value, bit);
        let mask = 1u8 << (7 - bit % 8);
        if on {
            value[bit / 8] |= mask;
        } else {
            value[bit / 8] &= !mask;
        }
        old
    })?;
    out.int(i64::from(old));
    Ok(())
}

pub(super) fn getbit(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let bit = bit_offset(ctx.arg(2))?;
    let (ks, out) = ctx.parts();
    let value = read_str(ks, db, key)?.unwrap_or(b"");
    out.int(i64::from(bit_at(value, bit)));
    Ok(())
}

/// A `start end [BYTE|BIT]` range: in bits, clamped to the string's, or
/// None when it is empty.
fn bit_range(len_bytes: usize, start: i64, end: i64, in_bits: bool) -> Option<(usize, usize)> {
    // Redis's own rule: both from the end and crossed is empty, before clamping.
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = if in_bits { len_bytes as i64 * 8 } else { len_bytes as i64 };
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end.min(len - 1) };
    if len == 0 || start > end || start >= len {
        return None;
    }
    if in_bits { Some((start as usize, end as usize)) } else { Some((start as usize * 8, end as usize * 8 + 7)) }
}

fn unit(arg: Option<&&[u8]>) -> Result<bool, Error> {
    match arg {
        None => Ok(false),
        Some(a) if eq(a, "bit") => Ok(true),
        Some(a) if eq(a, "byte") => Ok(false),
        Some(_) => Err(SYNTAX.into()),
    }
}

/// Set bits from bit `first` to bit `last`: whole bytes counted at once.
fn count_ones(bytes: &[u8], first: usize, last: usize) -> u64 {
    let (first_byte, last_byte) = (first / 8, last / 8);
    if first_byte == last_byte {
        return (first..=last).map(|bit| u64::from(bit_at(bytes, bit))).sum();
    }
    let head: u64 = (first..first_byte * 8 + 8).map(|bit| u64::from(bit_at(bytes, bit))).sum();
    let middle: u64 = bytes[first_byte + 1..last_byte].iter().map(|b| u64::from(b.count_ones())).sum();
    let tail: u64 = (last_byte * 8..=last).map(|bit| u64::from(bit_at(bytes, bit))).sum();
    head + middle + tail
}

/// The first bit from `first` to `last` that is `wanted`, skipping whole
/// bytes that cannot hold it.
fn find_bit(bytes: &[u8], first: usize, last: usize, wanted: u8) -> Option<usize> {
    let skip = if wanted == 1 { 0x00 } else { 0xff };
    let mut bit = first;
    while bit <= last {
        if bit.is_multiple_of(8) && bit + 7 <= last && bytes.get(bit / 8) == Some(&skip) {
            bit += 8;
            continue;
        }
        if bit_at(bytes, bit) == wanted {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

pub(super) fn bitcount(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let range = match ctx.argc() {
        2 => None,
        4 | 5 => Some((int(ctx.arg(2))?, int(ctx.arg(3))?, unit(ctx.args.get(4))?)),
        _ => return Err(SYNTAX.into()),
    };
    let (ks, out) = ctx.parts();
    let value = read_str(ks, db, key)?.unwrap_or(b"");
    let count = match range {
        None => value.iter().map(|b| u64::from(b.count_ones())).sum(),
        Some((start, end, in_bits)) => match bit_range(value.len(), start, end, in_bits) {
            None => 0,
            Some((first, last)) => count_ones(value, first, last),
        },
    };
    out.int(count as i64);
    Ok(())
}

pub(super) fn bitpos(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let wanted = match ctx.arg(2) {
        b"1" => 1u8,
        b"0" => 0u8,
        _ => return Err("ERR The bit argument must be 1 or 0.".into()),
    };
    if ctx.argc() > 6 {
        return Err(SYNTAX.into());
    }
    let start = ctx.args.get(3).map(|a| int(a)).transpose()?;
    let end = ctx.args.get(4).map(|a| int(a)).transpose()?;
    let in_bits = unit(ctx.args.get(5))?;
    let (ks, out) = ctx.parts();
    let Some(value) = read_str(ks, db, key)? else {
        // A missing key is all zeroes.
        out.int(if wanted == 0 { 0 } else { -1 });
        return Ok(());
    };
    let Some((first, last)) = bit_range(value.len(), start.unwrap_or(0), end.unwrap_or(-1), in_bits) else {
        out.int(-1);
        return Ok(());
    };
    match find_bit(value, first, last, wanted) {
        Some(bit) => out.int(bit as i64),
        // Looking for a clear bit without an end: the string goes on with zeroes.
        None if wanted == 0 && end.is_none() => out.int(last as i64 + 1),
        None => out.int(-1),
    }
    Ok(())
}

pub(super) fn bitop(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let op = ctx.arg(1).to_ascii_lowercase();
    let (dest, sources) = (ctx.arg(2), &ctx.args[3..]);
    if !matches!(op.as_slice(), b"and" | b"or" | b"xor" | b"not") {
        return Err(SYNTAX.into());
    }
    if op == b"not" && sources.len() != 1 {
        return Err("ERR BITOP NOT must be called with a single source key.".into());
    }
    let (ks, out) = ctx.parts();
    let mut inputs = Vec::with_capacity(sources.len());
    for key in sources {
        inputs.push(read_str(ks, db, key)?.map(<[u8]>::to_vec).unwrap_or_default());
    }
    let len = inputs.iter().map(Vec::len).max().unwrap_or(0);
    let byte = |input: &Vec<u8>, i: usize| input.get(i).copied().unwrap_or(0);
    let result: Vec<u8> = (0..len)
        .map(|i| match op.as_slice() {
            b"not" => !byte(&inputs[0], i),
            b"and" => inputs.iter().fold(0xff, |acc, input| acc & byte(input, i)),
            b"or" => inputs.iter().fold(0, |acc, input| acc | byte(input, i)),
            _ => inputs.iter().fold(0, |acc, input| acc ^ byte(input, i)),
        })
        .collect();
    ks.remove(db, dest);
    if !result.is_empty() {
        ks.set(db, dest, Value::Str(SmallBytes::from_vec(result)), 0);
    }
    out.int(len as i64);
    Ok(())
}
