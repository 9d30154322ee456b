//! Between Redis replies and Lua values, by the rules of Redis's scripting
//! docs: `reply_to_lua` for what `redis.call` returns, `lua_to_reply` for
//! what a script returns. Tables are read raw (no metamethods run) and to a
//! bounded depth, so a cyclic or hostile table cannot hang the server.

use mlua::{Lua, Table, Value};

use crate::resp::Reply;

/// Deeper than this, a returned table is cut off with an error.
const MAX_DEPTH: usize = 1000;

/// One RESP2/RESP3 reply from `buf` at `*at`, as a Lua value.
pub fn reply_to_lua(lua: &Lua, buf: &[u8], at: &mut usize) -> mlua::Result<Value> {
    let kind = *buf.get(*at).ok_or_else(truncated)?;
    let line = read_line(buf, at)?;
    let text = || String::from_utf8_lossy(&line[1..]).into_owned();
    let number = || text().parse::<i64>().map_err(|_| mlua::Error::runtime("bad reply length"));
    let tagged = |tag: &str, value: Value| -> mlua::Result<Value> {
        let table = lua.create_table()?;
        table.raw_set(tag, value)?;
        Ok(Value::Table(table))
    };
    match kind {
        b'+' => tagged("ok", Value::String(lua.create_string(&line[1..])?)),
        b'-' => tagged("err", Value::String(lua.create_string(&line[1..])?)),
        b':' => Ok(Value::Number(number()? as f64)),
        b'$' | b'=' => {
            let len = number()?;
            if len < 0 {
                return Ok(Value::Boolean(false));
            }
            let len = len as usize;
            let data = buf.get(*at..*at + len).ok_or_else(truncated)?;
            *at += len + 2;
            if kind == b'$' {
                return Ok(Value::String(lua.create_string(data)?));
            }
            // Verbatim: "txt:" then the text.
            let (format, body) = data.split_at(data.len().min(4));
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format.strip_suffix(b":").unwrap_or(format))?)?;
            inner.raw_set("string", lua.create_string(body)?)?;
            tagged("verbatim_string", Value::Table(inner))
        }
        b'*' | b'>' | b'~' => {
            let n = number()?;
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let table = lua.create_table()?;
            for i in 1..=n {
                let item = reply_to_lua(lua, buf, at)?;
                if kind == b'~' {
                    table.raw_set(item, true)?;
                } else {
                    table.raw_set(i, item)?;
                }
            }
            if kind == b'~' { tagged("set", Value::Table(table)) } else { Ok(Value::Table(table)) }
        }
        b'%' => {
            let n = number()?;
            let table = lua.create_table()?;
            for _ in 0..n.max(0) {
                let key = reply_to_lua(lua, buf, at)?;
                let value = reply_to_lua(lua, buf, at)?;
                table.raw_set(key, value)?;
            }
            tagged("map", Value::Table(table))
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(line.get(1) == Some(&b't'))),
        b',' => {
            let value: f64 = match text().as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap_or(f64::NAN),
            };
            tagged("double", Value::Number(value))
        }
        b'(' => tagged("big_number", Value::String(lua.create_string(&line[1..])?)),
        _ => Err(mlua::Error::runtime("unknown reply type")),
    }
}

fn truncated() -> mlua::Error {
    mlua::Error::runtime("truncated reply")
}

/// The line at `*at` without its CRLF; moves past it.
fn read_line<'b>(buf: &'b [u8], at: &mut usize) -> mlua::Result<&'b [u8]> {
    let rest = &buf[*at..];
    let end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(truncated)?;
    *at += end + 2;
    Ok(&rest[..end])
}

/// Writes what a script returned as a reply in the client's protocol.
pub fn lua_to_reply(value: &Value, out: &mut Reply) {
    write(value, out, 0);
}

fn write(value: &Value, out: &mut Reply, depth: usize) {
    if depth > MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    match value {
        Value::Nil => out.null(),
        Value::Boolean(false) if out.resp3 => out.bool(false),
        Value::Boolean(false) => out.null(),
        Value::Boolean(true) if out.resp3 => out.bool(true),
        Value::Boolean(true) => out.int(1),
        Value::Integer(n) => out.int(*n),
        // Lua 5.1 numbers are doubles; Redis truncates them.
        Value::Number(n) => out.int(*n as i64),
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Table(table) => write_table(table, out, depth),
        _ => out.null(),
    }
}

/// How many keys a table has.
pub fn pair_count(table: &Table) -> usize {
    table.pairs::<Value, Value>().filter_map(Result::ok).count()
}

fn field(table: &Table, name: &str) -> Value {
    table.raw_get(name).unwrap_or(Value::Nil)
}

fn write_table(table: &Table, out: &mut Reply, depth: usize) {
    if let Value::String(err) = field(table, "err") {
        out.error(&error_text(&err.to_string_lossy()));
        return;
    }
    if let Value::String(ok) = field(table, "ok") {
        out.simple(&ok.to_string_lossy().replace(['\r', '\n'], " "));
        return;
    }
    if let Value::Number(d) = field(table, "double") {
        out.double(d);
        return;
    }
    if let Value::String(big) = field(table, "big_number") {
        out.big_number(&big.to_string_lossy());
        return;
    }
    // Counted first, then written pair by pair: holding every key and value
    // at once would take a Lua reference each, and those are few.
    if let Value::Table(map) = field(table, "map") {
        out.map(pair_count(&map));
        for (key, value) in map.pairs::<Value, Value>().filter_map(Result::ok) {
            write(&key, out, depth + 1);
            write(&value, out, depth + 1);
        }
        return;
    }
    if let Value::Table(set) = field(table, "set") {
        out.set(pair_count(&set));
        for (member, _) in set.pairs::<Value, Value>().filter_map(Result::ok) {
            write(&member, out, depth + 1);
        }
        return;
    }
    // An array: its items up to the first nil.
    let mut items = Vec::new();
    while let Ok(item) = table.raw_get::<Value>(items.len() + 1) {
        if item.is_nil() {
            break;
        }
        items.push(item);
    }
    out.array(items.len());
    for item in &items {
        write(item, out, depth + 1);
    }
}

/// An error table's message as an error reply: as the script wrote it
/// (Redis keeps its code, whatever it is), one line, `ERR` if empty.
pub fn error_text(message: &str) -> String {
    let message = message.trim_start_matches('-').replace(['\r', '\n'], " ");
    if message.trim().is_empty() { "ERR".into() } else { message }
}
