//! BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits
//! at any bit offset of a string, with WRAP, SAT or FAIL on overflow, as
//! redis-server reads, writes and saturates them.

use super::{MAX_STRING, change_string, read_str};
use crate::cmd::Ctx;
use crate::cmd::args::{eq, int, parse_i64};
use crate::cmd::error::{CmdResult, Error, SYNTAX};

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum OpKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Clone, Copy)]
struct Op {
    kind: OpKind,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

fn field_type(arg: &[u8]) -> Result<(bool, u32), Error> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BAD_TYPE.into()),
    };
    let bits = parse_i64(&arg[1..]).ok_or(Error::from(BAD_TYPE))?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(BAD_TYPE.into());
    }
    Ok((signed, bits as u32))
}

/// A bit offset, or `#n`: the n-th field of this width.
fn offset(arg: &[u8], bits: u32) -> Result<u64, Error> {
    let (fields, digits) = match arg.strip_prefix(b"#") {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    let n = parse_i64(digits).ok_or(Error::from(BAD_OFFSET))?;
    let n = if fields { n.checked_mul(i64::from(bits)).ok_or(Error::from(BAD_OFFSET))? } else { n };
    if n < 0 || (n >> 3) as u64 >= MAX_STRING as u64 {
        return Err(BAD_OFFSET.into());
    }
    Ok(n as u64)
}

fn parse(args: &[&[u8]]) -> Result<Vec<Op>, Error> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let (word, left) = (args[i], args.len() - i - 1);
        if eq(word, "overflow") && left >= 1 {
            overflow = match args[i + 1] {
                w if eq(w, "wrap") => Overflow::Wrap,
                w if eq(w, "sat") => Overflow::Sat,
                w if eq(w, "fail") => Overflow::Fail,
                _ => return Err("ERR Invalid OVERFLOW type specified".into()),
            };
            i += 2;
            continue;
        }
        let takes_value = (eq(word, "set") || eq(word, "incrby")) && left >= 3;
        if !(takes_value || (eq(word, "get") && left >= 2)) {
            return Err(SYNTAX.into());
        }
        let (signed, bits) = field_type(args[i + 1])?;
        let offset = offset(args[i + 2], bits)?;
        let kind = match takes_value {
            false => OpKind::Get,
            true if eq(word, "set") => OpKind::Set(int(args[i + 3])?),
            true => OpKind::IncrBy(int(args[i + 3])?),
        };
        ops.push(Op { kind, signed, bits, offset, overflow });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(ops)
}

fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |value, j| {
        let at = offset + j;
        let byte = bytes.get((at >> 3) as usize).copied().unwrap_or(0);
        (value << 1) | u64::from((byte >> (7 - (at & 7))) & 1)
    })
}

fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(bytes, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        v |= u64::MAX << bits;
    }
    v as i64
}

fn set_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = (value >> (u64::from(bits) - 1 - j)) & 1 == 1;
        let at = offset + j;
        if let Some(byte) = bytes.get_mut((at >> 3) as usize) {
            let mask = 1u8 << (7 - (at & 7));
            if on {
                *byte |= mask;
            } else {
                *byte &= !mask;
            }
        }
    }
}

/// `value + incr` in an unsigned field, or what overflow makes of it (None: FAIL).
fn unsigned_add(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let over = value > max || (incr > 0 && incr as u64 > max - value.min(max));
    let under = !over && incr < 0 && incr.unsigned_abs() > value;
    if !(over || under) {
        return Some(value.wrapping_add(incr as u64));
    }
    match overflow {
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
        Overflow::Sat => Some(if over { max } else { 0 }),
        Overflow::Fail => None,
    }
}

/// `value + incr` in a signed field, or what overflow makes of it (None: FAIL).
fn signed_add(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let sum = i128::from(value) + i128::from(incr);
    if (i128::from(min)..=i128::from(max)).contains(&sum) {
        return Some(sum as i64);
    }
    match overflow {
        Overflow::Wrap => {
            let mut c = (value as u64).wrapping_add(incr as u64);
            if bits < 64 {
                let mask = u64::MAX << bits;
                c = if c & (1 << (bits - 1)) != 0 { c | mask } else { c & !mask };
            }
            Some(c as i64)
        }
        Overflow::Sat => Some(if sum > i128::from(max) { max } else { min }),
        Overflow::Fail => None,
    }
}

/// One operation on the bytes; its reply (None: nil, an overflow under FAIL).
fn apply(bytes: &mut [u8], op: &Op) -> Option<i64> {
    if op.signed {
        let old = get_signed(bytes, op.offset, op.bits);
        let (new, reply) = match op.kind {
            OpKind::Get => return Some(old),
            OpKind::Set(v) => (signed_add(v, 0, op.bits, op.overflow)?, old),
            OpKind::IncrBy(incr) => {
                let new = signed_add(old, incr, op.bits, op.overflow)?;
                (new, new)
            }
        };
        set_bits(bytes, op.offset, op.bits, new as u64);
        Some(reply)
    } else {
        let old = get_unsigned(bytes, op.offset, op.bits);
        let (new, reply) = match op.kind {
            OpKind::Get => return Some(old as i64),
            OpKind::Set(v) => (unsigned_add(v as u64, 0, op.bits, op.overflow)?, old),
            OpKind::IncrBy(incr) => {
                let new = unsigned_add(old, incr, op.bits, op.overflow)?;
                (new, new)
            }
        };
        set_bits(bytes, op.offset, op.bits, new);
        Some(reply as i64)
    }
}

fn bitfield_generic(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let ops = parse(ctx.args)?;
    let (db, key) = (ctx.db(), ctx.arg(1));
    let writes = ops.iter().filter(|op| op.kind != OpKind::Get);
    let write_end = writes.map(|op| (op.offset + u64::from(op.bits)).div_ceil(8) as usize).max();
    if write_end.is_some() && read_only {
        return Err("ERR BITFIELD_RO only supports the GET subcommand".into());
    }
    // The operations run on a copy of the bytes they touch; the string is
    // written only if those bytes (or its length) change.
    let start = ops.iter().map(|op| (op.offset / 8) as usize).min().unwrap_or(0);
    let end = ops.iter().map(|op| (op.offset + u64::from(op.bits)).div_ceil(8) as usize).max().unwrap_or(0);
    let (ks, out) = ctx.parts();
    let current = read_str(ks, db, key)?.unwrap_or_default();
    let mut window = vec![0u8; end - start];
    if let Some(have) = current.get(start..end.min(current.len())) {
        window[..have.len()].copy_from_slice(have);
    }
    let before = window.clone();
    let shifted = (start as u64) * 8;
    let replies: Vec<Option<i64>> =
        ops.iter().map(|op| apply(&mut window, &Op { offset: op.offset - shifted, ..*op })).collect();
    if let Some(len) = write_end
        && (window != before || current.len() < len)
    {
        change_string(ks, db, key, len, |bytes| {
            let upto = bytes.len().min(end);
            bytes[start..upto].copy_from_slice(&window[..upto - start]);
        })?;
    }
    out.array(replies.len());
    for reply in replies {
        match reply {
            Some(v) => out.int(v),
            None => out.null(),
        }
    }
    Ok(())
}

pub(super) fn bitfield(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, false)
}

pub(super) fn bitfield_ro(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_as_redis_handles_it() {
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_add(250, 10, 8, Overflow::Fail), None);
        assert_eq!(unsigned_add(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_add(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(signed_add(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_add(120, 10, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_add(-120, -10, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_add(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(signed_add(i64::MIN, -1, 64, Overflow::Fail), None);
        assert_eq!(unsigned_add(u64::MAX >> 1, 1, 63, Overflow::Wrap), Some(0));
    }

    #[test]
    fn fields_are_read_and_written_big_endian_at_any_bit() {
        let mut bytes = vec![0u8; 4];
        set_bits(&mut bytes, 5, 8, 0xab);
        assert_eq!(get_unsigned(&bytes, 5, 8), 0xab);
        assert_eq!(get_signed(&bytes, 5, 8), 0xab_u8 as i8 as i64);
        assert_eq!(bytes, [0b0000_0101, 0b0101_1000, 0, 0]);
    }
}
