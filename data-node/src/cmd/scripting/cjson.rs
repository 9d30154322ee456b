//! The `cjson` library Redis gives scripts (lua-cjson 2.1): Lua values to
//! JSON and back, with lua-cjson's rules (arrays are tables keyed 1..n, not
//! too sparse; numbers printed with 14 significant digits; `cjson.null`) and
//! its settings (nesting limits, invalid numbers, sparse arrays).

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

struct Config {
    encode_max_depth: usize,
    decode_max_depth: usize,
    precision: usize,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
    /// 0: refuse NaN and infinities, 1: write them, 2: write null.
    encode_invalid: u8,
    decode_invalid: bool,
    keep_buffer: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_invalid: 0,
            decode_invalid: true,
            keep_buffer: true,
        }
    }
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn error(message: String) -> mlua::Error {
    mlua::Error::runtime(message)
}

/// `%.<precision>g`, as lua-cjson prints numbers.
fn format_number(n: f64, precision: usize) -> String {
    if n.is_nan() {
        return "nan".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, n);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
    };
    if exponent < -4 || exponent >= precision as i32 {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    } else {
        trim(&format!("{:.*}", (precision as i32 - 1 - exponent).max(0) as usize, n))
    }
}

fn escape_into(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x00..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// The array length of a table whose keys are all positive integers, or
/// None for an object (an excessively sparse array is an error unless converted).
fn array_length(table: &Table, cfg: &Config) -> mlua::Result<Option<usize>> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in table.clone().pairs::<Value, Value>() {
        let (key, _) = pair?;
        let k = match key {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if k.floor() != k || k < 1.0 {
            return Ok(None);
        }
        max = max.max(k as usize);
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(error("Cannot serialise table: excessively sparse array".into()));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode_number(n: f64, cfg: &Config, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() {
        match cfg.encode_invalid {
            0 => return Err(error("Cannot serialise number: must not be NaN or Inf".into())),
            2 => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
    }
    out.extend_from_slice(format_number(n, cfg.precision).as_bytes());
    Ok(())
}

fn encode(value: &Value, depth: usize, cfg: &Config, out: &mut Vec<u8>) -> mlua::Result<()> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(*i as f64, cfg, out)?,
        Value::Number(n) => encode_number(*n, cfg, out)?,
        Value::String(s) => escape_into(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(error(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            match array_length(t, cfg)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(&t.raw_get::<Value>(i)?, depth, cfg, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, v) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => escape_into(&s.as_bytes(), out),
                            Value::Integer(i) => escape_into(format_number(*i as f64, cfg.precision).as_bytes(), out),
                            Value::Number(n) => escape_into(format_number(*n, cfg.precision).as_bytes(), out),
                            _ => {
                                return Err(error(
                                    "Cannot serialise table: table key must be a number or string".into(),
                                ));
                            }
                        }
                        out.push(b':');
                        encode(&v, depth, cfg, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(error(format!("Cannot serialise {}: type not supported", other.type_name()))),
    }
    Ok(())
}

struct Parser<'a, 'l> {
    lua: &'l Lua,
    text: &'a [u8],
    at: usize,
    cfg: &'a Config,
}

impl Parser<'_, '_> {
    fn fail<T>(&self, expected: &str, found: &str) -> mlua::Result<T> {
        Err(error(format!("Expected {expected} but found {found} at character {}", self.at + 1)))
    }

    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> mlua::Result<Value> {
        self.skip_space();
        let Some(&b) = self.text.get(self.at) else { return self.fail("value", "the end") };
        match b {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            b't' if self.text[self.at..].starts_with(b"true") => {
                self.at += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.text[self.at..].starts_with(b"false") => {
                self.at += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.text[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(null())
            }
            b'-' | b'0'..=b'9' | b'i' | b'n' | b'I' | b'N' => self.number(),
            _ => self.fail("value", "invalid token"),
        }
    }

    fn nested(&self, depth: usize) -> mlua::Result<()> {
        if depth > self.cfg.decode_max_depth {
            return Err(error(format!("Found too many nested data structures ({depth}) at character {}", self.at + 1)));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> mlua::Result<Value> {
        self.nested(depth)?;
        self.at += 1;
        let table = self.lua.create_table()?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        loop {
            self.skip_space();
            if self.text.get(self.at) != Some(&b'"') {
                return self.fail("object key string", "invalid token");
            }
            let key = self.string()?;
            self.skip_space();
            if self.text.get(self.at) != Some(&b':') {
                return self.fail("colon", "invalid token");
            }
            self.at += 1;
            let value = self.value(depth)?;
            table.raw_set(self.lua.create_string(key)?, value)?;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return self.fail("comma or object end", "invalid token"),
            }
        }
    }

    fn array(&mut self, depth: usize) -> mlua::Result<Value> {
        self.nested(depth)?;
        self.at += 1;
        let table = self.lua.create_table()?;
        self.skip_space();
        if self.text.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Table(table));
        }
        let mut i = 1;
        loop {
            let value = self.value(depth)?;
            table.raw_set(i, value)?;
            i += 1;
            self.skip_space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Table(table));
                }
                _ => return self.fail("comma or array end", "invalid token"),
            }
        }
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let digits = self.text.get(self.at..self.at + 4).and_then(|d| std::str::from_utf8(d).ok());
        let Some(code) = digits.and_then(|d| u32::from_str_radix(d, 16).ok()) else {
            return self.fail("value", "invalid unicode escape code");
        };
        self.at += 4;
        Ok(code)
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.text.get(self.at) else { return self.fail("value", "unterminated string") };
            self.at += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.text.get(self.at) else { return self.fail("value", "unterminated string") };
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xd800..0xdc00).contains(&code) && self.text[self.at..].starts_with(b"\\u") {
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return self.fail("value", "invalid unicode escape code");
                                }
                                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            }
                            let Some(c) = char::from_u32(code) else {
                                return self.fail("value", "invalid unicode escape code");
                            };
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return self.fail("value", "invalid escape code"),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')) {
            self.at += 1;
        }
        let token = std::str::from_utf8(&self.text[start..self.at]).unwrap_or("");
        let lower = token.to_ascii_lowercase();
        let special = matches!(lower.trim_start_matches('-'), "inf" | "infinity" | "nan");
        let parsed = match lower.as_str() {
            "inf" | "infinity" => Some(f64::INFINITY),
            "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
            "nan" | "-nan" => Some(f64::NAN),
            _ if lower.contains("0x") => None,
            _ => token.parse::<f64>().ok(),
        };
        match parsed {
            Some(n) if !special || self.cfg.decode_invalid => Ok(Value::Number(n)),
            _ => {
                self.at = start;
                self.fail("value", "invalid number")
            }
        }
    }
}

fn decode(lua: &Lua, text: &[u8], cfg: &Config) -> mlua::Result<Value> {
    let mut parser = Parser { lua, text, at: 0, cfg };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.at < text.len() {
        return parser.fail("the end", "invalid token");
    }
    Ok(value)
}

/// A setting's function: with an argument it sets, and it answers the value.
fn setting<F>(lua: &Lua, cfg: &Rc<RefCell<Config>>, f: F) -> mlua::Result<mlua::Function>
where
    F: Fn(&mut Config, &MultiValue) -> mlua::Result<MultiValue> + 'static,
{
    let cfg = cfg.clone();
    lua.create_function(move |_, args: MultiValue| f(&mut cfg.borrow_mut(), &args))
}

fn number_arg(args: &MultiValue, i: usize, min: f64, max: f64) -> mlua::Result<Option<usize>> {
    match args.get(i) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Integer(n)) if (min..=max).contains(&(*n as f64)) => Ok(Some(*n as usize)),
        Some(Value::Number(n)) if (min..=max).contains(n) => Ok(Some(*n as usize)),
        Some(_) => Err(error(format!("bad argument #{} (expected integer between {min} and {max})", i + 1))),
    }
}

fn bool_arg(args: &MultiValue, i: usize) -> Option<bool> {
    match args.get(i) {
        Some(Value::Boolean(b)) => Some(*b),
        Some(Value::String(s)) => Some(s.as_bytes().as_ref() == b"on"),
        _ => None,
    }
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let cfg = Rc::new(RefCell::new(Config::default()));
    let cjson = lua.create_table()?;
    let c = cfg.clone();
    cjson.raw_set(
        "encode",
        lua.create_function(move |lua, value: Value| {
            let mut out = Vec::new();
            encode(&value, 0, &c.borrow(), &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    let c = cfg.clone();
    cjson.raw_set(
        "decode",
        lua.create_function(move |lua, text: mlua::String| decode(lua, &text.as_bytes(), &c.borrow()))?,
    )?;
    let one = |v: Value| Ok(MultiValue::from_vec(vec![v]));
    let num = |n: usize| Value::Number(n as f64);
    cjson.raw_set(
        "encode_max_depth",
        setting(lua, &cfg, move |c, args| {
            if let Some(n) = number_arg(args, 0, 1.0, f64::from(i32::MAX))? {
                c.encode_max_depth = n;
            }
            one(num(c.encode_max_depth))
        })?,
    )?;
    cjson.raw_set(
        "decode_max_depth",
        setting(lua, &cfg, move |c, args| {
            if let Some(n) = number_arg(args, 0, 1.0, f64::from(i32::MAX))? {
                c.decode_max_depth = n;
            }
            one(num(c.decode_max_depth))
        })?,
    )?;
    cjson.raw_set(
        "encode_number_precision",
        setting(lua, &cfg, move |c, args| {
            if let Some(n) = number_arg(args, 0, 1.0, 14.0)? {
                c.precision = n;
            }
            one(num(c.precision))
        })?,
    )?;
    cjson.raw_set(
        "encode_keep_buffer",
        setting(lua, &cfg, move |c, args| {
            if let Some(b) = bool_arg(args, 0) {
                c.keep_buffer = b;
            }
            one(Value::Boolean(c.keep_buffer))
        })?,
    )?;
    cjson.raw_set(
        "encode_invalid_numbers",
        setting(lua, &cfg, move |c, args| {
            match args.front() {
                Some(Value::String(s)) if s.as_bytes().as_ref() == b"null" => c.encode_invalid = 2,
                _ => {
                    if let Some(b) = bool_arg(args, 0) {
                        c.encode_invalid = u8::from(b);
                    }
                }
            }
            one(if c.encode_invalid == 2 { Value::Nil } else { Value::Boolean(c.encode_invalid == 1) })
        })?,
    )?;
    cjson.raw_set(
        "decode_invalid_numbers",
        setting(lua, &cfg, move |c, args| {
            if let Some(b) = bool_arg(args, 0) {
                c.decode_invalid = b;
            }
            one(Value::Boolean(c.decode_invalid))
        })?,
    )?;
    cjson.raw_set(
        "encode_sparse_array",
        setting(lua, &cfg, move |c, args| {
            if let Some(b) = bool_arg(args, 0) {
                c.sparse_convert = b;
            }
            if let Some(n) = number_arg(args, 1, 0.0, f64::from(i32::MAX))? {
                c.sparse_ratio = n;
            }
            if let Some(n) = number_arg(args, 2, 0.0, f64::from(i32::MAX))? {
                c.sparse_safe = n;
            }
            Ok(MultiValue::from_vec(vec![Value::Boolean(c.sparse_convert), num(c.sparse_ratio), num(c.sparse_safe)]))
        })?,
    )?;
    cjson.raw_set("null", null())?;
    cjson.raw_set("_NAME", "cjson")?;
    cjson.raw_set("_VERSION", "2.1.0")?;
    Ok(cjson)
}

#[cfg(test)]
mod tests {
    use mlua::Lua;

    #[test]
    fn encodes_and_decodes_as_lua_cjson_does() {
        let lua = Lua::new();
        lua.globals().set("cjson", super::table(&lua).unwrap()).unwrap();
        let checks = r#"
            assert(table.concat(cjson.decode("[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]"), " ") == "0 -5000 -1 0.0003 1023.2 0")
            local d = cjson.decode([[{"keya": "a", "keyb": "b", "n": null, "u": "\u00e9\ud83d\ude00\/"}]])
            assert(d.keya == "a" and d.keyb == "b" and d.n == cjson.null and d.u == "\195\169\240\159\152\128/")
            assert(cjson.encode({1, 2, "x"}) == '[1,2,"x"]')
            assert(cjson.encode({}) == '{}')
            assert(cjson.encode({a = {b = true}}) == '{"a":{"b":true}}')
            assert(cjson.encode("a/\"\n\1") == '"a\\/\\"\\n\\u0001"')
            assert(cjson.encode(0.1) == '0.1' and cjson.encode(1e20) == '1e+20' and cjson.encode(1/3) == '0.33333333333333')
            assert(cjson.encode({[1] = "one", [2] = "two"}) == '["one","two"]')
            assert(cjson.encode({nil, 2}) == '[null,2]')
            assert(not pcall(cjson.encode, {[1] = 1, [100] = 2}))
            assert(not pcall(cjson.encode, {[false] = 1}))
            assert(not pcall(cjson.encode, 0/0))
            cjson.encode_invalid_numbers(true)
            assert(cjson.encode(0/0) == 'nan')
            cjson.encode_invalid_numbers(false)
            cjson.encode_max_depth(1)
            assert(not pcall(cjson.encode, {{}}))
            cjson.decode_max_depth(1)
            assert(not pcall(cjson.decode, '[[1]]'))
            assert(not pcall(cjson.decode, '{"a": 1} x'))
            assert(not pcall(cjson.decode, '{"a" 1}'))
        "#;
        lua.load(checks).exec().unwrap();
    }
}
