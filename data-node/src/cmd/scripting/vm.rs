//! One Lua 5.1 VM per worker thread, set up as Redis sets up its own: the
//! base, table, string and math libraries, a `redis` table, globals that a
//! script may neither create nor read when undefined. Scripts and function
//! libraries are compiled from the shared cache (`crate::scripts`) on first
//! use; a VM older than the cache's generation (SCRIPT FLUSH, FUNCTION LOAD
//! ...) is made again.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

use crate::scripts::{Scripts, sha1_hex};

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
}

pub struct Vm {
    pub lua: Lua,
    generation: u64,
    scripts: HashMap<String, Function>,
    /// Function name → its callback, once its library ran here.
    pub functions: HashMap<String, Function>,
    /// Where `redis.pcall` finds the running script's callback.
    pcall_slot: Table,
    /// PROTECTED_CALL, compiled once per VM, not per run.
    protected_call: Function,
}

/// Runs `f` with this thread's VM, made (again) if the shared cache moved on.
pub fn with_vm<R>(scripts: &Scripts, f: impl FnOnce(&mut Vm) -> R) -> Result<R, String> {
    VM.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|_| "ERR scripts cannot run scripts".to_owned())?;
        let generation = scripts.generation();
        if slot.as_ref().is_none_or(|vm| vm.generation != generation) {
            *slot = Some(Vm::new(generation).map_err(|e| format!("ERR setting up Lua: {e}"))?);
        }
        let vm = slot.as_mut().ok_or_else(|| "ERR no Lua VM".to_owned())?;
        Ok(f(vm))
    })
}

/// The first line of a script or library, if it is a `#!` one, and the
/// code with that line blanked (kept as a line, so line numbers hold).
pub fn shebang(body: &[u8]) -> (Option<String>, Vec<u8>) {
    if !body.starts_with(b"#!") {
        return (None, body.to_vec());
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    (Some(line), body[end..].to_vec())
}

const PRELUDE: &str = r#"
local redis = redis
redis.call = function(...)
    local reply = redis.pcall(...)
    if type(reply) == 'table' and reply.err then
        error(reply, 2)
    end
    return reply
end
"#;

/// The libraries scripts get, each replaced by a read-only view of itself
/// (rawset refuses them too), as Redis 7 makes them read-only.
const READONLY_LIBRARIES: &str = r#"
local readonly = setmetatable({}, { __mode = 'k' })
local function refuse() error("Attempt to modify a readonly table", 3) end
for _, name in ipairs({ 'redis', 'string', 'math', 'table', 'bit', 'cjson', 'cmsgpack', 'struct' }) do
    local real = rawget(_G, name)
    if real then
        local view = setmetatable({}, { __index = real, __newindex = refuse, __metatable = false })
        readonly[view] = true
        rawset(_G, name, view)
    end
end
local real_rawset = rawset
rawset(_G, 'rawset', function(t, k, v)
    if readonly[t] or t == _G then refuse() end
    return real_rawset(t, k, v)
end)
"#;

/// `redis.pcall`, made once per VM: it passes its arguments packed as
/// `{n = count, ...}` to the running script's own callback, which each run
/// puts in `slot.run` (made per run, it borrows what the run holds).
const PCALL: &str = r#"
local slot = ...
local select, error = select, error
return function(...)
    local run = slot.run
    if not run then error("redis.pcall called with no script running", 2) end
    return run({ n = select('#', ...), ... })
end
"#;

/// Calls a script's function under `pcall`, so what it raises comes back as a value.
const PROTECTED_CALL: &str = "return function(f, ...) return pcall(f, ...) end";

/// Where the real `redis` table is kept (scripts see a read-only view).
pub const REDIS_TABLE: &str = "ferrocache.redis";

/// Reading an undefined global or creating one fails, as in Redis.
const PROTECT_GLOBALS: &str = r#"
setmetatable(_G, {
    __newindex = function(_, name)
        error("Attempt to modify a readonly table", 2)
    end,
    __index = function(_, name)
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end,
})
"#;

impl Vm {
    /// A VM of its own, for checking a library before it is kept.
    pub fn scratch() -> mlua::Result<Vm> {
        Vm::new(0)
    }

    fn new(generation: u64) -> mlua::Result<Vm> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::new())?;
        let globals = lua.globals();
        for name in ["loadfile", "dofile"] {
            globals.raw_set(name, Value::Nil)?;
        }
        let redis = redis_table(&lua)?;
        lua.set_named_registry_value(REDIS_TABLE, &redis)?;
        let pcall_slot = lua.create_table()?;
        let pcall: Function = lua.load(PCALL).set_name("=prelude").call(&pcall_slot)?;
        redis.raw_set("pcall", pcall)?;
        lua.set_app_data(ScriptResp(Cell::new(false)));
        let protected_call: Function = lua.load(PROTECTED_CALL).set_name("=prelude").eval()?;
        globals.raw_set("redis", redis.clone())?;
        globals.raw_set("bit", super::bit::table(&lua)?)?;
        globals.raw_set("cmsgpack", super::cmsgpack::table(&lua)?)?;
        globals.raw_set("cjson", super::cjson::table(&lua)?)?;
        globals.raw_set("struct", super::structlib::table(&lua)?)?;
        // Set per run; defined here so the protected globals know them.
        globals.raw_set("KEYS", lua.create_table()?)?;
        globals.raw_set("ARGV", lua.create_table()?)?;
        lua.load(PRELUDE).set_name("=prelude").exec()?;
        lua.load(READONLY_LIBRARIES).set_name("=prelude").exec()?;
        lua.load(PROTECT_GLOBALS).set_name("=prelude").exec()?;
        super::watch::install(&lua)?;
        Ok(Vm { lua, generation, scripts: HashMap::new(), functions: HashMap::new(), pcall_slot, protected_call })
    }

    /// The compiled script `sha`, compiling `body` if this VM has not yet.
    pub fn script(&mut self, sha: &str, body: &[u8]) -> Result<Function, String> {
        if let Some(f) = self.scripts.get(sha) {
            return Ok(f.clone());
        }
        let f = compile(&self.lua, body, "@user_script")
            .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
        self.scripts.insert(sha.to_owned(), f.clone());
        Ok(f)
    }

    /// Makes `run` the callback of `redis.pcall` (and `redis.call`), or none.
    pub fn set_pcall(&self, run: Option<Function>) -> mlua::Result<()> {
        self.pcall_slot.raw_set("run", run)
    }

    /// Calls `f` with `args` under `pcall`: `(true, value)` or `(false, error)`.
    pub fn protected_call(&self, f: Function, args: impl mlua::IntoLuaMulti) -> mlua::Result<MultiValue> {
        let mut all = args.into_lua_multi(&self.lua)?;
        all.push_front(Value::Function(f));
        self.protected_call.call(all)
    }
}

/// Whether the running script asked for RESP3 replies (`redis.setresp(3)`).
pub struct ScriptResp(pub Cell<bool>);

impl ScriptResp {
    pub fn get(lua: &Lua) -> bool {
        lua.app_data_ref::<ScriptResp>().is_some_and(|r| r.0.get())
    }

    pub fn set(lua: &Lua, resp3: bool) {
        if let Some(r) = lua.app_data_ref::<ScriptResp>() {
            r.0.set(resp3);
        }
    }
}

/// Compiles `body` (its `#!` line blanked) as a function; the error is Lua's
/// own message ("user_script:1: '=' expected near 'end'").
pub fn compile(lua: &Lua, body: &[u8], name: &str) -> Result<Function, String> {
    let (_, code) = shebang(body);
    lua.load(code).set_name(name).into_function().map_err(|e| match e {
        mlua::Error::SyntaxError { message, .. } => message,
        other => other.to_string(),
    })
}

/// The `redis` table's functions but `pcall` (and `call`, made of it).
fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.raw_set(
        "setresp",
        lua.create_function(|lua, version: i64| {
            if version != 2 && version != 3 {
                return Err(mlua::Error::runtime("RESP version must be 2 or 3."));
            }
            ScriptResp::set(lua, version == 3);
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "acl_check_cmd",
        lua.create_function(|_, args: MultiValue| {
            let Some(Value::String(name)) = args.front() else {
                return Err(mlua::Error::runtime("ERR Invalid command passed to redis.acl_check_cmd()"));
            };
            match crate::cmd::lookup(&name.as_bytes()) {
                // No ACLs yet: the default user may run every command.
                Some(_) => Ok(true),
                None => Err(mlua::Error::runtime("ERR Invalid command passed to redis.acl_check_cmd()")),
            }
        })?,
    )?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            let text = match args.len() {
                1 => lua.coerce_string(args[0].clone())?,
                _ => None,
            };
            let text = text.ok_or_else(|| mlua::Error::runtime("wrong number of arguments"))?;
            Ok(sha1_hex(&text.as_bytes()))
        })?,
    )?;
    let tagged = |tag: &'static str| {
        lua.create_function(move |lua, message: mlua::String| {
            let table = lua.create_table()?;
            table.raw_set(tag, message)?;
            Ok(table)
        })
    };
    redis.raw_set("error_reply", tagged("err")?)?;
    redis.raw_set("status_reply", tagged("ok")?)?;
    redis.raw_set(
        "log",
        lua.create_function(|_, args: mlua::MultiValue| {
            if args.len() < 2 {
                return Err(mlua::Error::runtime("redis.log() requires two arguments or more."));
            }
            Ok(())
        })?,
    )?;
    for (name, value) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        redis.raw_set(name, value)?;
    }
    for (name, value) in [("REPL_NONE", 0), ("REPL_AOF", 1), ("REPL_SLAVE", 2), ("REPL_REPLICA", 2), ("REPL_ALL", 3)] {
        redis.raw_set(name, value)?;
    }
    // Scripts replicate as their effects: these only check their arguments.
    redis.raw_set(
        "set_repl",
        lua.create_function(|_, flags: Value| match flags {
            Value::Integer(n) if (0..=3).contains(&n) => Ok(()),
            Value::Number(n) if (0.0..=3.0).contains(&n) => Ok(()),
            _ => Err(mlua::Error::runtime(
                "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            )),
        })?,
    )?;
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.raw_set("debug", lua.create_function(|_, _: mlua::MultiValue| Ok(()))?)?;
    redis.raw_set("REDIS_VERSION", "7.0.15")?;
    redis.raw_set("REDIS_VERSION_NUM", (7 << 16) | 15)?;
    Ok(redis)
}
