//! Function libraries: `#!lua name=<lib>` then code that calls
//! `redis.register_function`. FUNCTION LOAD runs the code once in a fresh VM
//! to learn its functions (and refuse a bad library whole); each worker's VM
//! runs it again on the first FCALL of one of them.

use std::cell::RefCell;
use std::collections::HashMap;

use mlua::{Function, HookTriggers, Lua, Table, Value, VmState};

use super::vm::{Vm, compile, shebang};
use crate::scripts::{FunctionInfo, Library, Scripts};

pub const FLAGS: &[&str] = &["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

/// The engine and library name of a library's `#!` line, split as Redis
/// splits it (quotes allowed, `#!` glued to the engine's name).
fn metadata(code: &[u8]) -> Result<(String, String), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else { return Err("ERR Invalid library metadata".into()) };
    let parts = crate::resp::split_args(&code[..end]).filter(|p| !p.is_empty());
    let Some(parts) = parts else { return Err("ERR Invalid library metadata".into()) };
    let engine = String::from_utf8_lossy(&parts[0][2..]).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        let text = String::from_utf8_lossy(part);
        match text.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("name=") => {
                if name.is_some() {
                    return Err("ERR Invalid metadata value, name argument was given multiple times".into());
                }
                name = Some(text[5..].to_owned());
            }
            _ => return Err(format!("ERR Invalid metadata value given: {text}")),
        }
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    let name = name.ok_or("ERR Library name was not given")?;
    if !valid_name(&name) {
        return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    Ok(("LUA".into(), name))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads `register_function`'s arguments: `(name, callback)` or
/// `{function_name=, callback=, flags=, description=}`.
fn registration(args: mlua::MultiValue) -> mlua::Result<(FunctionInfo, Function)> {
    let bad = |why: &str| mlua::Error::runtime(why.to_owned());
    if args.len() > 2 {
        return Err(bad("wrong number of arguments to redis.register_function"));
    }
    let mut args = args.into_iter();
    match (args.next(), args.next()) {
        (Some(Value::String(name)), Some(Value::Function(callback))) => {
            let name = name.to_string_lossy();
            check_function_name(&name)?;
            Ok((FunctionInfo { name, description: None, flags: Vec::new() }, callback))
        }
        (Some(Value::Table(table)), None) => {
            let mut name = None;
            let mut callback = None;
            let mut flags = Vec::new();
            let mut description = None;
            for pair in table.pairs::<String, Value>() {
                let (key, value) = pair?;
                match (key.as_str(), value) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("callback", Value::Function(f)) => callback = Some(f),
                    ("description", Value::String(s)) => description = Some(s.to_string_lossy()),
                    ("flags", Value::Table(list)) => {
                        for flag in list.sequence_values::<String>() {
                            let flag = flag.map_err(|_| bad("unknown flag given"))?;
                            if !FLAGS.contains(&flag.as_str()) {
                                return Err(bad("unknown flag given"));
                            }
                            flags.push(flag);
                        }
                    }
                    ("function_name" | "description", _) => {
                        return Err(bad(&format!("{key} argument given to redis.register_function must be a string")));
                    }
                    ("callback", _) => {
                        return Err(bad("callback argument given to redis.register_function must be a function"));
                    }
                    ("flags", _) => {
                        return Err(bad(
                            "flags argument to redis.register_function must be a table representing function flags",
                        ));
                    }
                    _ => return Err(bad("unknown argument given to redis.register_function")),
                }
            }
            let name = name.ok_or_else(|| bad("redis.register_function must get a function name argument"))?;
            check_function_name(&name)?;
            let callback = callback.ok_or_else(|| bad("redis.register_function must get a callback argument"))?;
            Ok((FunctionInfo { name, description, flags }, callback))
        }
        (Some(Value::String(_)), Some(_)) => Err(bad("second argument to redis.register_function must be a function")),
        (Some(_), Some(_)) => Err(bad("first argument to redis.register_function must be a string")),
        (Some(_), None) => Err(bad(
            "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
        )),
        _ => Err(bad("wrong number of arguments to redis.register_function")),
    }
}

fn check_function_name(name: &str) -> mlua::Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        // Redis 7.0 words a bad function name so, too.
        Err(mlua::Error::runtime(
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ))
    }
}

/// Runs a library's code in `lua` with `redis.register_function` in place;
/// returns what it registered, in order.
fn run_library(lua: &Lua, code: &[u8]) -> Result<Vec<(FunctionInfo, Function)>, String> {
    // Checked here so a syntax error is reported as one, before anything runs.
    compile(lua, code, "@user_function").map_err(|e| format!("ERR Error compiling function: {e}"))?;
    let (_, code) = shebang(code);
    let environment: Function =
        lua.load(LIBRARY_ENVIRONMENT).set_name("=library").eval().map_err(|e| format!("ERR {e}"))?;
    let registered = RefCell::new(Vec::new());
    // A library's code runs once at load: a loop there must not hang the node.
    let started = std::time::Instant::now();
    lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
        if started.elapsed() > LOAD_TIMEOUT {
            return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
        }
        Ok(VmState::Continue)
    })
    .map_err(|e| format!("ERR {e}"))?;
    let result = lua.scope(|scope| {
        let register = scope.create_function(|_, args: mlua::MultiValue| {
            let (info, callback) = registration(args)?;
            let mut registered = registered.borrow_mut();
            if registered
                .iter()
                .any(|(known, _): &(FunctionInfo, Function)| known.name.eq_ignore_ascii_case(&info.name))
            {
                return Err(mlua::Error::runtime("Function already exists in the library"));
            }
            registered.push((info, callback));
            Ok(())
        })?;
        let real_redis: Table = lua.named_registry_value(super::vm::REDIS_TABLE)?;
        let (env, loaded): (Table, Function) = environment.call((register, real_redis))?;
        let chunk = lua.load(&code[..]).set_name("@user_function").set_environment(env).into_function()?;
        chunk.call::<()>(())?;
        loaded.call::<()>(())
    });
    super::watch::restore(lua).map_err(|e| format!("ERR {e}"))?;
    if let Err(e) = result {
        return Err(format!("ERR Error registering functions: {}", message_of(&e)));
    }
    let registered = registered.into_inner();
    if registered.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(registered)
}

/// The globals a library's code and its functions see, given the
/// `register_function` of this load: while the code runs, only what Redis
/// offers then (`redis` with `register_function`, `log` and the constants);
/// once `loaded()` is called, the VM's own globals.
const LIBRARY_ENVIRONMENT: &str = r#"
return function(register, real_redis)
    local real = _G
    local loading = true
    local function missing(name)
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 3)
    end
    local load_redis = {
        register_function = function(...)
            if not loading then
                error("redis.register_function can only be called on FUNCTION LOAD command", 2)
            end
            return register(...)
        end,
        log = real_redis.log,
    }
    for k, v in pairs(real_redis) do
        if type(v) ~= 'function' then load_redis[k] = v end
    end
    setmetatable(load_redis, {
        __index = function(_, k) missing(k) end,
        __newindex = function() error("Attempt to modify a readonly table", 2) end,
        __metatable = false,
    })
    -- Redis 7.0 gives a library's code nothing else while it loads.
    local at_load = { redis = load_redis }
    local env = setmetatable({}, {
        __index = function(_, k)
            local v
            if loading then v = at_load[k] else v = rawget(real, k) end
            if v == nil then missing(k) end
            return v
        end,
        __newindex = function() error("Attempt to modify a readonly table", 2) end,
    })
    return env, function() loading = false end
end
"#;

/// How long a library's code may run when it is loaded, as in Redis.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// A Lua error's own words, without mlua's "runtime error: " or traceback.
fn message_of(error: &mlua::Error) -> String {
    match error {
        mlua::Error::CallbackError { cause, .. } => message_of(cause),
        mlua::Error::RuntimeError(message) => message.lines().next().unwrap_or("").to_owned(),
        other => other.to_string().lines().next().unwrap_or("").to_owned(),
    }
}

/// FUNCTION LOAD: checks the library in a fresh VM and returns it, or why not.
pub fn check(code: &[u8]) -> Result<Library, String> {
    let (engine, name) = metadata(code)?;
    let scratch = Vm::scratch().map_err(|e| format!("ERR setting up Lua: {e}"))?;
    let functions = run_library(&scratch.lua, code)?.into_iter().map(|(info, _)| info).collect();
    Ok(Library { name, engine, code: code.to_vec(), functions })
}

/// Adds `library` to `libraries`: refused if its name exists (unless
/// `replace`) or another library has one of its functions.
pub fn add(
    libraries: &mut std::collections::BTreeMap<String, Library>,
    library: Library,
    replace: bool,
) -> Result<(), String> {
    if libraries.contains_key(&library.name) && !replace {
        return Err(format!("ERR Library '{}' already exists", library.name));
    }
    for function in &library.functions {
        let clash = libraries.values().find(|other| {
            other.name != library.name && other.functions.iter().any(|f| f.name.eq_ignore_ascii_case(&function.name))
        });
        if clash.is_some() {
            return Err(format!("ERR Function {} already exists", function.name));
        }
    }
    libraries.insert(library.name.clone(), library);
    Ok(())
}

/// How FUNCTION RESTORE treats the libraries already here.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Restore {
    /// Refuse if one of the restored libraries exists (the default).
    Append,
    /// Restored libraries replace those of their names.
    Replace,
    /// All libraries here go first.
    Flush,
}

/// Installs libraries from their code (an RDB, a full sync, FUNCTION
/// RESTORE): all of them, checked first, or none.
pub fn install(scripts: &Scripts, codes: &[Vec<u8>], policy: Restore) -> Result<(), String> {
    let mut libraries = if policy == Restore::Flush { Default::default() } else { scripts.library_map() };
    for code in codes {
        let library = check(code)?;
        let name = library.name.clone();
        // RESTORE words a clash without LOAD's quotes, as Redis does.
        add(&mut libraries, library, policy == Restore::Replace).map_err(|e| e.replace(&format!("'{name}'"), &name))?;
    }
    scripts.set_libraries(libraries);
    Ok(())
}

impl Vm {
    /// The callback of function `name`, running its library here first.
    pub fn function(&mut self, scripts: &Scripts, name: &str) -> Result<Function, String> {
        let key = name.to_ascii_lowercase();
        if let Some(f) = self.functions.get(&key) {
            return Ok(f.clone());
        }
        let (library, _) = scripts.library_of(name).ok_or("ERR Function not found")?;
        let registered: HashMap<String, Function> =
            run_library(&self.lua, &library.code)?.into_iter().map(|(i, f)| (i.name.to_ascii_lowercase(), f)).collect();
        self.functions.extend(registered);
        self.functions.get(&key).cloned().ok_or_else(|| "ERR Function not found".into())
    }
}
