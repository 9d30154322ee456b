//! The `bit` library Redis gives scripts (LuaBitOp 1.0): 32-bit operations
//! on Lua numbers, each argument normalised as LuaBitOp normalises it.

use mlua::{Lua, MultiValue, Table, Value};

/// A number as LuaBitOp reads it: rounded to an integer, then its low 32 bits.
fn bits(lua: &Lua, v: &Value, position: usize) -> mlua::Result<u32> {
    let n = lua.coerce_number(v.clone())?.ok_or_else(|| {
        mlua::Error::runtime(format!("bad argument #{position} (number expected, got {})", v.type_name()))
    })?;
    // LuaBitOp adds 2^52 + 2^51 and keeps the low word: round half to even, mod 2^32.
    Ok((n + 6_755_399_441_055_744.0).to_bits() as u32)
}

fn arg(lua: &Lua, args: &MultiValue, i: usize) -> mlua::Result<u32> {
    bits(lua, args.get(i).unwrap_or(&Value::Nil), i + 1)
}

/// Results are signed 32-bit numbers, as LuaBitOp returns them.
fn ret(b: u32) -> f64 {
    f64::from(b as i32)
}

fn fold(lua: &Lua, table: &Table, name: &str, op: fn(u32, u32) -> u32) -> mlua::Result<()> {
    let f = lua.create_function(move |lua, args: MultiValue| {
        let mut acc = arg(lua, &args, 0)?;
        for i in 1..args.len() {
            acc = op(acc, arg(lua, &args, i)?);
        }
        Ok(ret(acc))
    })?;
    table.raw_set(name, f)
}

fn shift(lua: &Lua, table: &Table, name: &str, op: fn(u32, u32) -> u32) -> mlua::Result<()> {
    let f = lua.create_function(move |lua, args: MultiValue| {
        let (x, n) = (arg(lua, &args, 0)?, arg(lua, &args, 1)? & 31);
        Ok(ret(op(x, n)))
    })?;
    table.raw_set(name, f)
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    bit.raw_set("tobit", lua.create_function(|lua, args: MultiValue| Ok(ret(arg(lua, &args, 0)?)))?)?;
    bit.raw_set("bnot", lua.create_function(|lua, args: MultiValue| Ok(ret(!arg(lua, &args, 0)?)))?)?;
    bit.raw_set("bswap", lua.create_function(|lua, args: MultiValue| Ok(ret(arg(lua, &args, 0)?.swap_bytes())))?)?;
    bit.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let mut b = arg(lua, &args, 0)?;
            let mut n = if args.len() > 1 { arg(lua, &args, 1)? as i32 } else { 8 };
            let digits: &[u8; 16] = if n < 0 { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
            n = n.unsigned_abs().min(8) as i32;
            let mut out = vec![0u8; n as usize];
            for slot in out.iter_mut().rev() {
                *slot = digits[(b & 15) as usize];
                b >>= 4;
            }
            lua.create_string(&out)
        })?,
    )?;
    fold(lua, &bit, "band", |a, b| a & b)?;
    fold(lua, &bit, "bor", |a, b| a | b)?;
    fold(lua, &bit, "bxor", |a, b| a ^ b)?;
    shift(lua, &bit, "lshift", |x, n| x << n)?;
    shift(lua, &bit, "rshift", |x, n| x >> n)?;
    shift(lua, &bit, "arshift", |x, n| ((x as i32) >> n) as u32)?;
    shift(lua, &bit, "rol", |x, n| x.rotate_left(n))?;
    shift(lua, &bit, "ror", |x, n| x.rotate_right(n))?;
    Ok(bit)
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    #[test]
    fn operations_as_luabitop_defines_them() {
        let lua = Lua::new();
        lua.globals().set("bit", super::table(&lua).unwrap()).unwrap();
        let checks = r#"
            assert(bit.tobit(1) == 1)
            assert(bit.tobit(0xffffffff) == -1)
            assert(bit.tobit(0xffffffff + 1) == 0)
            assert(bit.tobit(2^40 + 1234) == 1234)
            assert(bit.band(1) == 1)
            assert(bit.bxor(1, 2) == 3)
            assert(bit.bor(1, 2, 4, 8, 16, 32, 64, 128) == 255)
            assert(bit.bnot(0) == -1)
            assert(bit.lshift(1, 31) == -2147483648)
            assert(bit.rshift(-1, 28) == 15)
            assert(bit.arshift(-256, 4) == -16)
            assert(bit.rol(0x12345678, 12) == 0x45678123)
            assert(bit.ror(0x12345678, 12) == 0x67812345)
            assert(bit.bswap(0x12345678) == 0x78563412)
            assert(bit.tohex(1) == "00000001")
            assert(bit.tohex(-1, -4) == "FFFF")
            assert(bit.band(bit.rshift(0x0007000f, 16), 0xff) == 7)
        "#;
        lua.load(checks).exec().unwrap();
    }
}
