//! Running a script or a function: the keys and arguments, the callback
//! behind `redis.pcall`, the reply.
//! Once the call is set up, the run takes the keyspace exclusively (the
//! specs say `EXCLUSIVE | LOCKS_ITSELF`; inside EXEC it borrows the
//! transaction's locks): the script locks each shard it touches until it
//! ends, so no other client sees it half done, whichever keys it touches.
//! Setting up and converting the reply happen outside the locks, beside
//! another worker's script.

use std::cell::RefCell;
use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::call::Bridge;
use super::convert::{error_text, lua_to_reply};
use super::vm::{ScriptResp, Vm, with_vm};
use super::watch;
use crate::cmd::error::{CmdResult, Error};
use crate::cmd::{Ctx, Flow, lock_exclusive_now};
use crate::keyspace::Locked;
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
    let db = ctx.session.db;
    // Inside EXEC the transaction's locks: lent to the script, given back.
    let mut given = ctx.ks.take();
    let bridge = RefCell::new(Bridge {
        server,
        session: &mut *ctx.session,
        ks: None,
        read_only,
        written: Vec::new(),
        multi_sent: false,
    });
    let call = Call { target: &target, keys, argv, command: ctx.args };
    let resp3 = ctx.out.resp3;
    let outcome = with_vm(server.scripts(), |vm| in_vm(vm, &bridge, server, &call, &mut given, resp3)).and_then(|r| r);
    let bridge = bridge.into_inner();
    bridge.session.db = db;
    ctx.ks = given;
    if server.blocking().any() {
        for (db, key) in &bridge.written {
            server.blocking().signal(*db, key);
        }
    }
    let out = &mut *ctx.out;
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
        Ok(Reply::Wait(flow)) => {
            ctx.flow = Some(flow);
            Ok(())
        }
        Err(message) => Err(message.into()),
    }
}

/// What a run is asked to do.
struct Call<'c> {
    target: &'c Target,
    keys: &'c [&'c [u8]],
    argv: &'c [&'c [u8]],
    /// The client's command, for FUNCTION STATS.
    command: &'c [&'c [u8]],
}

/// A script's outcome: the reply's bytes, the error it raised, or (before
/// it ran) the wait for another worker's script to end.
enum Reply {
    Value(Vec<u8>),
    Error(String),
    Wait(Flow),
}

/// Sets the call up, then takes the keyspace (unless `given` holds it),
/// runs the script, and lets the locks go before converting its reply.
fn in_vm<'k>(
    vm: &mut Vm,
    bridge: &RefCell<Bridge<'_, 'k>>,
    server: &'k Arc<Server>,
    call: &Call,
    given: &mut Option<Locked<'k>>,
    resp3: bool,
) -> Result<Reply, String> {
    let f = match call.target {
        Target::Script { sha, body } => vm.script(sha, body)?,
        Target::Function { name } => vm.function(server.scripts(), name)?,
    };
    let lua = vm.lua.clone();
    let is_function = matches!(call.target, Target::Function { .. });
    let args = match prepare(&lua, server, call.keys, call.argv, is_function) {
        Ok(args) => args,
        Err(e) => {
            let _ = watch::end(&lua);
            return Err(format!("ERR {e}"));
        }
    };
    let running = Running {
        started: std::time::Instant::now(),
        is_function,
        name: call.target.name(),
        command: call.command.iter().map(|a| a.to_vec()).collect(),
        wrote: false,
    };
    let lent = given.is_some();
    // `redis.pcall`'s callback for this run is made before the locks are
    // taken, and the scope that owns it is dropped after they are let go.
    let ran = lua.scope(|scope| {
        vm.set_pcall(Some(scope.create_function(|lua, packed: Table| bridge.borrow_mut().pcall(lua, packed))?))?;
        let ks = match given.take() {
            Some(ks) => ks,
            None => match lock_exclusive_now(server, call.keys) {
                Ok(ks) => ks,
                Err(flow) => return Ok(Err(flow)),
            },
        };
        bridge.borrow_mut().ks = Some(ks);
        let running = server.scripts().start(running);
        ScriptResp::set(&lua, false);
        let result = match args {
            Some(args) => vm.protected_call(f, args),
            None => vm.protected_call(f, ()),
        };
        let mut bridge = bridge.borrow_mut();
        bridge.finish();
        let ks = bridge.ks.take();
        drop(bridge);
        if lent {
            *given = ks;
        } else {
            drop(ks);
        }
        drop(running);
        Ok(Ok(result))
    });
    let pcall_back = vm.set_pcall(None);
    let watch_back = watch::end(&lua);
    let result = match ran {
        Ok(Ok(result)) => result,
        Ok(Err(flow)) => return Ok(Reply::Wait(flow)),
        Err(e) => Err(e),
    };
    pcall_back.and(watch_back).map_err(|e| format!("ERR {e}"))?;
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

/// What needs no lock: KEYS and ARGV (a function's arguments instead), and
/// the watch that stops a killed script.
fn prepare(
    lua: &Lua,
    server: &Arc<Server>,
    keys: &[&[u8]],
    argv: &[&[u8]],
    is_function: bool,
) -> mlua::Result<Option<(Table, Table)>> {
    let keys = sequence(lua, keys)?;
    let argv = sequence(lua, argv)?;
    let function_args = if is_function {
        Some((keys, argv))
    } else {
        lua.globals().raw_set("KEYS", keys)?;
        lua.globals().raw_set("ARGV", argv)?;
        None
    };
    watch::begin(lua, server, is_function);
    Ok(function_args)
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
