//! Running a script or a function: the keys and arguments, the callback
//! behind `redis.pcall`, a hook that stops a killed script, the reply.
//! The dispatcher took the keyspace exclusively (the specs say `EXCLUSIVE`):
//! the script locks each shard it touches until it ends, so no other client
//! sees it half done, whichever keys it touches.

use std::cell::RefCell;
use std::sync::Arc;

use mlua::{Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};

use super::call::Bridge;
use super::convert::{error_text, lua_to_reply};
use super::handoff::Handoff;
use super::vm::{ScriptResp, Vm, with_vm};
use crate::cmd::Ctx;
use crate::cmd::error::{CmdResult, Error};
use crate::scripts::Running;
use crate::server::Server;

/// What runs: a cached script, or a function of a loaded library.
pub enum Target {
    Script { sha: String, body: Arc<Vec<u8>> },
    Function { name: String },
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Script { sha, .. } => sha.clone(),
            Target::Function { name } => name.clone(),
        }
    }
}

/// How often (in Lua instructions) a running script checks for a kill.
const HOOK_EVERY: u32 = 10_000;

/// A script's keys and its other arguments.
pub type KeysAndArgs<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Splits `numkeys keys... args...` starting at `at`; `not_a_number` is
/// the error for a numkeys that is not one (EVAL's and FCALL's differ).
pub fn keys_and_args<'a>(args: &[&'a [u8]], at: usize, not_a_number: &'static str) -> Result<KeysAndArgs<'a>, Error> {
    let numkeys: i64 =
        std::str::from_utf8(args[at]).ok().and_then(|s| s.parse().ok()).ok_or_else(|| Error::from(not_a_number))?;
    if numkeys < 0 {
        return Err("ERR Number of keys can't be negative".into());
    }
    let rest = &args[at + 1..];
    if numkeys as usize > rest.len() {
        return Err("ERR Number of keys can't be greater than number of args".into());
    }
    let (keys, argv) = rest.split_at(numkeys as usize);
    Ok((keys.to_vec(), argv.to_vec()))
}

/// Runs `target` for the client of `ctx`, writing its reply.
pub fn run(ctx: &mut Ctx, target: Target, keys: &[&[u8]], argv: &[&[u8]], read_only: bool) -> CmdResult {
    let server = ctx.server;
    let is_function = matches!(target, Target::Function { .. });
    let command = ctx.args.iter().map(|a| a.to_vec()).collect();
    let _running = server.scripts().start(Running {
        started: std::time::Instant::now(),
        is_function,
        name: target.name(),
        command,
        wrote: false,
    });
    let db = ctx.session.db;
    let bridge = RefCell::new(Bridge {
        server,
        session: &mut *ctx.session,
        ks: ctx.ks.take(),
        read_only,
        written: Vec::new(),
        multi_sent: false,
    });
    let out = &mut *ctx.out;
    let resp3 = out.resp3;
    let outcome =
        with_vm(server.scripts(), |vm| in_vm(vm, &bridge, server, &target, keys, argv, resp3)).and_then(|r| r);
    let mut bridge = bridge.into_inner();
    bridge.finish();
    bridge.session.db = db;
    drop(bridge.ks.take());
    if server.blocking().any() {
        for (db, key) in &bridge.written {
            server.blocking().signal(*db, key);
        }
    }
    match outcome {
        Ok(Reply::Value(buf)) => {
            // A script that returns redis.error_reply(...) answers an error
            // reply, counted in errorstats as any other.
            if let Some(text) = buf.strip_prefix(b"-") {
                let text = String::from_utf8_lossy(text.strip_suffix(b"\r\n").unwrap_or(text));
                server.command_stats().error_reply(&text);
            }
            out.buf.extend_from_slice(&buf);
            Ok(())
        }
        Ok(Reply::Error(message)) => Err(format!("{message} script: {}", target.name()).into()),
        Err(message) => Err(message.into()),
    }
}

/// A script's outcome: the reply's bytes, or the error it raised.
enum Reply {
    Value(Vec<u8>),
    Error(String),
}

#[allow(clippy::too_many_arguments)]
fn in_vm(
    vm: &mut Vm,
    bridge: &RefCell<Bridge>,
    server: &Arc<Server>,
    target: &Target,
    keys: &[&[u8]],
    argv: &[&[u8]],
    resp3: bool,
) -> Result<Reply, String> {
    let f = match target {
        Target::Script { sha, body } => vm.script(sha, body)?,
        Target::Function { name } => vm.function(server.scripts(), name)?,
    };
    let lua = vm.lua.clone();
    let result = call(&lua, vm, bridge, server, target, f, keys, argv);
    lua.remove_hook();
    let values = result.map_err(|e| format!("ERR {e}"))?;
    let mut values = values.into_iter();
    let ok = matches!(values.next(), Some(Value::Boolean(true)));
    let value = values.next().unwrap_or(Value::Nil);
    if !ok {
        return Ok(Reply::Error(raised(&value)));
    }
    let mut out = crate::resp::Reply::scratch(resp3);
    lua_to_reply(&value, &mut out);
    Ok(Reply::Value(out.buf))
}

#[allow(clippy::too_many_arguments)]
fn call(
    lua: &Lua,
    vm: &Vm,
    bridge: &RefCell<Bridge>,
    server: &Arc<Server>,
    target: &Target,
    f: Function,
    keys: &[&[u8]],
    argv: &[&[u8]],
) -> mlua::Result<MultiValue> {
    let keys = sequence(lua, keys)?;
    let argv = sequence(lua, argv)?;
    let is_function = matches!(target, Target::Function { .. });
    if !is_function {
        lua.globals().raw_set("KEYS", keys.clone())?;
        lua.globals().raw_set("ARGV", argv.clone())?;
    }
    let watched = Arc::clone(server);
    let handoff = Handoff::new(server);
    lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |lua, _| {
        handoff.check();
        if watched.scripts().kill_requested() {
            let by = if is_function { "FUNCTION KILL" } else { "SCRIPT KILL" };
            let killed = format!("ERR Script killed by user with {by}...");
            // A script may catch the error with pcall: from now on every line
            // (and every jump back in a loop) raises it again, as in Redis,
            // until nothing is left to catch it.
            let again = killed.clone();
            lua.set_hook(HookTriggers::new().every_line(), move |_, _| Err(mlua::Error::runtime(again.clone())))?;
            return Err(mlua::Error::runtime(killed));
        }
        Ok(VmState::Continue)
    })?;
    ScriptResp::set(lua, false);
    let result = lua.scope(|scope| {
        vm.set_pcall(Some(scope.create_function(|lua, packed: Table| bridge.borrow_mut().pcall(lua, packed))?))?;
        if is_function { vm.protected_call(f, (keys, argv)) } else { vm.protected_call(f, ()) }
    });
    vm.set_pcall(None)?;
    result
}

fn sequence(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        table.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(table)
}

/// The error reply for what a script raised: an `{err=...}` table (from
/// `redis.call`, or `error({err=...})`) keeps its text; a Lua error is `ERR`.
fn raised(value: &Value) -> String {
    match value {
        Value::Table(table) => match table.raw_get::<Value>("err") {
            Ok(Value::String(err)) => error_text(&err.to_string_lossy()),
            _ => "ERR Error running script (the error object is a table without err)".into(),
        },
        Value::String(s) => lua_error(&s.to_string_lossy()),
        Value::Error(e) => lua_error(&e.to_string()),
        other => lua_error(&format!("{other:?}")),
    }
}

fn lua_error(message: &str) -> String {
    let message = message.lines().next().unwrap_or("").trim();
    // The hook's kill error is already worded with its code.
    let message = message.strip_prefix("runtime error: ").unwrap_or(message);
    if message.starts_with("ERR ") { message.to_owned() } else { format!("ERR {message}") }
}
