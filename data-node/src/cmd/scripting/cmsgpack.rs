//! The `cmsgpack` library Redis gives scripts (lua-cmsgpack 0.4): Lua
//! values to MessagePack and back, byte for byte as lua-cmsgpack packs them
//! (tables nested past 16 levels become nil, as there).

use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;
/// Unpacking recurses per level: deeper input is refused, not a stack overflow.
const MAX_UNPACK_DEPTH: usize = 512;
/// Lua's own limit on the values a call returns is about 8000; each is a
/// Lua reference while it is built, and those are fewer.
pub const MAX_RESULTS: usize = 4000;

fn is_int64(n: f64) -> bool {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    n.is_finite() && n.fract() == 0.0 && (-TWO_63..TWO_63).contains(&n)
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend([0xcc, n as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(0xcf);
                out.extend((n as u64).to_be_bytes());
            }
        }
    } else {
        match n {
            -32..=-1 => out.push(n as i8 as u8),
            -128..=-33 => out.extend([0xd0, n as i8 as u8]),
            -32768..=-129 => {
                out.push(0xd1);
                out.extend((n as i16).to_be_bytes());
            }
            -2_147_483_648..=-32769 => {
                out.push(0xd2);
                out.extend((n as i32).to_be_bytes());
            }
            _ => {
                out.push(0xd3);
                out.extend(n.to_be_bytes());
            }
        }
    }
}

fn encode_number(n: f64, out: &mut Vec<u8>) {
    if is_int64(n) {
        encode_int(n as i64, out);
    } else if f64::from(n as f32) == n || n.is_nan() && (n as f32).is_nan() {
        out.push(0xca);
        out.extend((n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend(n.to_be_bytes());
    }
}

fn encode_bytes(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    match len {
        0..=31 => out.push(0xa0 | len as u8),
        32..=0xff => out.extend([0xd9, len as u8]),
        0x100..=0xffff => {
            out.push(0xda);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend((len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s);
}

fn header(len: usize, fix: u8, wide16: u8, wide32: u8, out: &mut Vec<u8>) {
    if len <= 15 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(wide16);
        out.extend((len as u16).to_be_bytes());
    } else {
        out.push(wide32);
        out.extend((len as u32).to_be_bytes());
    }
}

/// A table whose keys are exactly 1..n is an array.
fn array_len(table: &Table) -> mlua::Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0f64);
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, _) = pair?;
        let n = match key {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n <= 0.0 || n.fract() != 0.0 {
            return Ok(None);
        }
        max = max.max(n);
        count += 1;
    }
    Ok((max == count as f64).then_some(count))
}

fn encode(value: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::Nil => out.push(0xc0),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) => encode_number(*n, out),
        Value::String(s) => encode_bytes(&s.as_bytes(), out),
        Value::Table(_) if level == MAX_NESTING => out.push(0xc0),
        Value::Table(t) => match array_len(t)? {
            Some(len) => {
                header(len, 0x90, 0xdc, 0xdd, out);
                for i in 1..=len {
                    encode(&t.raw_get::<Value>(i)?, level + 1, out)?;
                }
            }
            None => {
                // Counted, then written pair by pair (each value held is a scarce Lua reference).
                header(super::convert::pair_count(t), 0x80, 0xde, 0xdf, out);
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    encode(&k, level + 1, out)?;
                    encode(&v, level + 1, out)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

enum DecodeError {
    Eof,
    BadFormat,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n).ok_or(DecodeError::Eof)?).ok_or(DecodeError::Eof)?;
        self.at += n;
        Ok(slice)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len(&mut self, width: usize) -> Result<usize, DecodeError> {
        Ok(match width {
            1 => usize::from(self.be::<1>()?[0]),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }
}

fn decode(lua: &Lua, c: &mut Cursor, depth: usize) -> Result<Value, DecodeError> {
    if depth > MAX_UNPACK_DEPTH {
        return Err(DecodeError::BadFormat);
    }
    let lua_err = |_| DecodeError::BadFormat;
    let string = |c: &mut Cursor, len: usize| -> Result<Value, DecodeError> {
        Ok(Value::String(lua.create_string(c.take(len)?).map_err(lua_err)?))
    };
    let array = |c: &mut Cursor, len: usize| -> Result<Value, DecodeError> {
        let t = lua.create_table().map_err(lua_err)?;
        for i in 1..=len {
            t.raw_set(i, decode(lua, c, depth + 1)?).map_err(lua_err)?;
        }
        Ok(Value::Table(t))
    };
    let map = |c: &mut Cursor, len: usize| -> Result<Value, DecodeError> {
        let t = lua.create_table().map_err(lua_err)?;
        for _ in 0..len {
            let k = decode(lua, c, depth + 1)?;
            let v = decode(lua, c, depth + 1)?;
            if !k.is_nil() {
                t.raw_set(k, v).map_err(lua_err)?;
            }
        }
        Ok(Value::Table(t))
    };
    let b = c.be::<1>()?[0];
    Ok(match b {
        0x00..=0x7f => Value::Number(f64::from(b)),
        0x80..=0x8f => map(c, usize::from(b & 0x0f))?,
        0x90..=0x9f => array(c, usize::from(b & 0x0f))?,
        0xa0..=0xbf => string(c, usize::from(b & 0x1f))?,
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xc4 | 0xd9 => {
            let len = c.len(1)?;
            string(c, len)?
        }
        0xc5 | 0xda => {
            let len = c.len(2)?;
            string(c, len)?
        }
        0xc6 | 0xdb => {
            let len = c.len(4)?;
            string(c, len)?
        }
        0xca => Value::Number(f64::from(f32::from_be_bytes(c.be()?))),
        0xcb => Value::Number(f64::from_be_bytes(c.be()?)),
        0xcc => Value::Number(f64::from(c.be::<1>()?[0])),
        0xcd => Value::Number(f64::from(u16::from_be_bytes(c.be()?))),
        0xce => Value::Number(f64::from(u32::from_be_bytes(c.be()?))),
        0xcf => Value::Number(u64::from_be_bytes(c.be()?) as f64),
        0xd0 => Value::Number(f64::from(c.be::<1>()?[0] as i8)),
        0xd1 => Value::Number(f64::from(i16::from_be_bytes(c.be()?))),
        0xd2 => Value::Number(f64::from(i32::from_be_bytes(c.be()?))),
        0xd3 => Value::Number(i64::from_be_bytes(c.be()?) as f64),
        0xdc => {
            let len = c.len(2)?;
            array(c, len)?
        }
        0xdd => {
            let len = c.len(4)?;
            array(c, len)?
        }
        0xde => {
            let len = c.len(2)?;
            map(c, len)?
        }
        0xdf => {
            let len = c.len(4)?;
            map(c, len)?
        }
        0xe0..=0xff => Value::Number(f64::from(b as i8)),
        _ => return Err(DecodeError::BadFormat),
    })
}

/// Decodes up to `limit` values (0: all) from `offset`; with `with_offset`,
/// the next offset (-1 at the end) comes first.
fn unpack(lua: &Lua, bytes: &[u8], limit: i64, offset: i64, with_offset: bool) -> mlua::Result<MultiValue> {
    if offset < 0 || limit < 0 {
        return Err(mlua::Error::runtime(format!(
            "Invalid request to unpack with offset of {offset} and limit of {limit}."
        )));
    }
    if offset as usize > bytes.len() {
        return Err(mlua::Error::runtime(format!("Start offset {offset} greater than input length {}.", bytes.len())));
    }
    let limit = if limit == 0 && !with_offset { usize::MAX } else { limit as usize };
    let mut c = Cursor { bytes, at: offset as usize };
    let mut values = Vec::new();
    while c.at < bytes.len() && values.len() < limit {
        if values.len() >= MAX_RESULTS {
            return Err(mlua::Error::runtime("too many results to unpack"));
        }
        match decode(lua, &mut c, 0) {
            Ok(v) => values.push(v),
            Err(DecodeError::Eof) => return Err(mlua::Error::runtime("Missing bytes in input.")),
            Err(DecodeError::BadFormat) => return Err(mlua::Error::runtime("Bad data format in input.")),
        }
    }
    if with_offset {
        let next = if c.at == bytes.len() { -1 } else { c.at as i64 };
        values.insert(0, Value::Number(next as f64));
    }
    Ok(MultiValue::from_vec(values))
}

fn int_arg(lua: &Lua, v: Option<&Value>, default: i64) -> mlua::Result<i64> {
    match v {
        None | Some(Value::Nil) => Ok(default),
        Some(v) => lua
            .coerce_number(v.clone())?
            .map(|n| n as i64)
            .ok_or_else(|| mlua::Error::runtime("bad argument (number expected)")),
    }
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let cmsgpack = lua.create_table()?;
    cmsgpack.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(mlua::Error::runtime("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    cmsgpack.raw_set("unpack", lua.create_function(|lua, s: mlua::String| unpack(lua, &s.as_bytes(), 0, 0, false))?)?;
    cmsgpack.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let s = lua.coerce_string(args.front().cloned().unwrap_or(Value::Nil))?;
            let s = s.ok_or_else(|| mlua::Error::runtime("bad argument #1 (string expected)"))?;
            let offset = int_arg(lua, args.get(1), 0)?;
            unpack(lua, &s.as_bytes(), 1, offset, true)
        })?,
    )?;
    cmsgpack.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let s = lua.coerce_string(args.front().cloned().unwrap_or(Value::Nil))?;
            let s = s.ok_or_else(|| mlua::Error::runtime("bad argument #1 (string expected)"))?;
            let limit = int_arg(lua, args.get(1), 0)?;
            let offset = int_arg(lua, args.get(2), 0)?;
            unpack(lua, &s.as_bytes(), limit, offset, true)
        })?,
    )?;
    cmsgpack.raw_set("_NAME", "cmsgpack")?;
    cmsgpack.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(cmsgpack)
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    fn hex_of(lua: &Lua, expr: &str) -> String {
        let code = format!(
            "local e = {expr}; local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"
        );
        lua.load(&code).eval().unwrap()
    }

    #[test]
    fn packs_as_lua_cmsgpack_does() {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", super::table(&lua).unwrap()).unwrap();
        assert_eq!(hex_of(&lua, "cmsgpack.pack(0.1)"), "cb3fb999999999999a");
        assert_eq!(hex_of(&lua, "cmsgpack.pack(-1099511627776)"), "d3ffffff0000000000");
        assert_eq!(hex_of(&lua, "cmsgpack.pack(1.5)"), "ca3fc00000");
        assert_eq!(hex_of(&lua, "cmsgpack.pack({1, 2, 'x'}, true, nil)"), "930102a178c3c0");
        let circular = "(function() local a = {x=nil,y=5} local b = {x=a} a['x'] = b return cmsgpack.pack(a) end)()";
        let expected = "82a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a17882a17905a17881a178c0";
        assert_eq!(hex_of(&lua, circular), expected);
        let roundtrip = r#"
            local big = string.rep('x', 70000)
            local packed = cmsgpack.pack({a = 1, b = {-3, 2.25, big}}, 'tail')
            local t, tail = cmsgpack.unpack(packed)
            assert(t.a == 1 and t.b[1] == -3 and t.b[2] == 2.25 and t.b[3] == big and tail == 'tail')
            local offset, first = cmsgpack.unpack_limit(packed, 1, 0)
            assert(first.a == 1 and offset > 0)
            local last_offset, second = cmsgpack.unpack_one(packed, offset)
            assert(second == 'tail' and last_offset == -1)
            assert(not pcall(cmsgpack.unpack, string.sub(packed, 1, 10)))
            assert(not pcall(cmsgpack.unpack, '\193'))
        "#;
        lua.load(roundtrip).exec().unwrap();
    }
}
