//! The `struct` library Redis gives scripts (Roberto Ierusalimschy's
//! struct 0.2): `struct.pack`, `struct.unpack` and `struct.size` with its
//! format letters (`<` `>` `=` `!n` `x` `b B h H l L T i[n] I[n] c[n] s f d`).

use mlua::{Lua, MultiValue, Table, Value};

const MAX_INT_SIZE: usize = 32;

fn fail<T>(message: impl Into<String>) -> mlua::Result<T> {
    Err(mlua::Error::runtime(message.into()))
}

struct Format<'a> {
    fmt: &'a [u8],
    at: usize,
    little: bool,
    align: usize,
}

impl Format<'_> {
    fn number(&mut self, default: usize) -> mlua::Result<usize> {
        if !self.fmt.get(self.at).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n = 0usize;
        while let Some(d) = self.fmt.get(self.at).filter(|d| d.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .ok_or_else(|| mlua::Error::runtime("integral size overflow"))?;
            self.at += 1;
        }
        Ok(n)
    }

    /// The next data option and its size, after any control options.
    fn next(&mut self) -> mlua::Result<Option<(u8, usize)>> {
        while let Some(&c) = self.fmt.get(self.at) {
            self.at += 1;
            let size = match c {
                b' ' => continue,
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'<' | b'=' => {
                    self.little = true;
                    continue;
                }
                b'!' => {
                    let a = self.number(8)?;
                    if !a.is_power_of_two() {
                        return fail("alignment must be power of 2");
                    }
                    self.align = a;
                    continue;
                }
                b'b' | b'B' | b'x' => 1,
                b'h' | b'H' => 2,
                b'f' => 4,
                b'l' | b'L' | b'T' | b'd' => 8,
                b'c' => self.number(1)?,
                b'i' | b'I' => {
                    let n = self.number(4)?;
                    if n > MAX_INT_SIZE {
                        return fail(format!("integral size {n} is larger than limit of {MAX_INT_SIZE}"));
                    }
                    n
                }
                b's' => 0,
                other => return fail(format!("invalid format option '{}'", other as char)),
            };
            return Ok(Some((c, size)));
        }
        Ok(None)
    }

    fn padding(&self, len: usize, c: u8, size: usize) -> usize {
        if size == 0 || c == b'c' {
            return 0;
        }
        let align = size.min(self.align);
        (align - (len & (align - 1))) & (align - 1)
    }
}

fn format(fmt: &[u8]) -> Format<'_> {
    Format { fmt, at: 0, little: true, align: 1 }
}

fn put_int(n: f64, size: usize, little: bool, out: &mut Vec<u8>) {
    let mut value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
    let mut bytes = vec![0u8; size];
    for b in bytes.iter_mut() {
        *b = (value & 0xff) as u8;
        value = value.checked_shr(8).unwrap_or(0);
    }
    if !little {
        bytes.reverse();
    }
    out.extend(bytes);
}

fn get_int(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut value: u64 = 0;
    let ordered: Vec<u8> = if little { bytes.iter().rev().copied().collect() } else { bytes.to_vec() };
    for b in ordered {
        value = value.checked_shl(8).unwrap_or(0) | u64::from(b);
    }
    let size = bytes.len();
    if signed && size > 0 && size < 8 && value & (1 << (size * 8 - 1)) != 0 {
        value |= u64::MAX << (size * 8);
    }
    if signed { value as i64 as f64 } else { value as f64 }
}

fn pack(lua: &Lua, args: MultiValue) -> mlua::Result<mlua::String> {
    let mut args = args.into_iter();
    let fmt = match args.next() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return fail("bad argument #1 to 'pack' (string expected)"),
    };
    let mut f = format(&fmt);
    let mut out = Vec::new();
    let mut index = 1;
    while let Some((c, mut size)) = f.next()? {
        out.resize(out.len() + f.padding(out.len(), c, size), 0);
        match c {
            b'x' => out.push(0),
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' | b'f' | b'd' => {
                index += 1;
                let v = args.next().unwrap_or(Value::Nil);
                let Some(n) = lua.coerce_number(v)? else {
                    return fail(format!("bad argument #{index} to 'pack' (number expected)"));
                };
                match c {
                    b'f' => {
                        let b = (n as f32).to_bits();
                        out.extend(if f.little { b.to_le_bytes() } else { b.to_be_bytes() });
                    }
                    b'd' => out.extend(if f.little { n.to_le_bytes() } else { n.to_be_bytes() }),
                    _ => put_int(n, size, f.little, &mut out),
                }
            }
            _ => {
                index += 1;
                let v = args.next().unwrap_or(Value::Nil);
                let Some(s) = lua.coerce_string(v)? else {
                    return fail(format!("bad argument #{index} to 'pack' (string expected)"));
                };
                let s = s.as_bytes();
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return fail(format!("bad argument #{index} to 'pack' (string too short)"));
                }
                out.extend_from_slice(&s[..size]);
                if c == b's' {
                    out.push(0);
                }
            }
        }
    }
    lua.create_string(&out)
}

fn unpack(lua: &Lua, (fmt, data, start): (mlua::String, mlua::String, Option<i64>)) -> mlua::Result<MultiValue> {
    let (fmt, data) = (fmt.as_bytes().to_vec(), data.as_bytes().to_vec());
    let mut pos = match start.unwrap_or(1).checked_sub(1) {
        Some(p) if p >= 0 && p as usize <= data.len() => p as usize,
        _ => return fail("bad argument #3 to 'unpack' (offset must be 1 <= offset <= len(data))"),
    };
    let too_short = || fail("bad argument #2 to 'unpack' (data string too short)");
    let mut f = format(&fmt);
    let mut values: Vec<Value> = Vec::new();
    while let Some((c, mut size)) = f.next()? {
        if values.len() >= super::cmsgpack::MAX_RESULTS {
            return fail("too many results to unpack");
        }
        pos += f.padding(pos, c, size);
        if pos + size > data.len() {
            return too_short();
        }
        match c {
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or_default();
                let bits = if f.little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) };
                values.push(Value::Number(f64::from(f32::from_bits(bits))));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or_default();
                values.push(Value::Number(if f.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
            }
            b'c' => {
                if size == 0 {
                    let Some(Value::Number(n)) = values.pop() else {
                        return fail("format 'c0' needs a previous size");
                    };
                    size = n as usize;
                    if size > data.len() || pos > data.len() - size {
                        return too_short();
                    }
                }
                values.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return fail("unfinished string in data");
                };
                values.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                size = end + 1;
            }
            _ => values.push(Value::Number(get_int(&data[pos..pos + size], f.little, c.is_ascii_lowercase()))),
        }
        pos += size;
    }
    values.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_vec(values))
}

fn size(_: &Lua, fmt: mlua::String) -> mlua::Result<f64> {
    let fmt = fmt.as_bytes().to_vec();
    let mut f = format(&fmt);
    let mut total = 0usize;
    while let Some((c, size)) = f.next()? {
        if c == b's' || (c == b'c' && size == 0) {
            return fail("options 'c0' - 's' have undefined sizes");
        }
        total += f.padding(total, c, size) + size;
    }
    Ok(total as f64)
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    #[test]
    fn packs_and_unpacks_as_struct_does() {
        let lua = Lua::new();
        lua.globals().set("struct", super::table(&lua).unwrap()).unwrap();
        let checks = r#"
            local packed = struct.pack('>HhIi2c3s', 513, -2, 7, -300, 'abcdef', 'zed')
            assert(packed == '\2\1\255\254\0\0\0\7\254\212abczed\0')
            local a, b, c, d, e, f, next = struct.unpack('>HhIi2c3s', packed)
            assert(a == 513 and b == -2 and c == 7 and d == -300 and e == 'abc' and f == 'zed' and next == #packed + 1)
            assert(struct.size('<bhd') == 11 and struct.size('!<bhd') == 16)
            assert(struct.pack('<d', 1.5) == '\0\0\0\0\0\0\248\63')
            local n, s = struct.unpack('bc0', struct.pack('bc0', 3, 'xyz'))
            assert(n == 'xyz' and s == 5)
            assert(not pcall(struct.unpack, '>I', 'ab'))
            assert(not pcall(struct.pack, 'q', 1))
        "#;
        lua.load(checks).exec().unwrap();
    }
}
