//! The hook a script VM keeps for its whole life (installing one per run
//! cost 5% of an EVALSHA): every `HOOK_EVERY` instructions it asks the
//! running script's watch, kept in the VM's app data, whether to give the
//! worker away (`handoff`) or to stop the script (SCRIPT KILL, FUNCTION KILL).

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use mlua::{HookTriggers, Lua, VmState};

use super::handoff::Handoff;
use crate::server::Server;

/// How often (in Lua instructions) a running script checks for a kill.
const HOOK_EVERY: u32 = 10_000;

struct Run {
    server: Arc<Server>,
    handoff: Handoff,
    is_function: bool,
}

#[derive(Default)]
struct Watch {
    run: RefCell<Option<Run>>,
    /// The kill replaced the hook with one that raises on every line.
    raising: Cell<bool>,
}

/// Gives `lua` its watch and the hook that reads it.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    lua.set_app_data(Watch::default());
    set_hook(lua)
}

/// Puts the watch's hook back after code that set its own (a library's load);
/// a Lua without a watch is left without a hook.
pub fn restore(lua: &Lua) -> mlua::Result<()> {
    if lua.app_data_ref::<Watch>().is_some() {
        return set_hook(lua);
    }
    lua.remove_hook();
    Ok(())
}

/// The script about to run, for `server`'s kill requests.
pub fn begin(lua: &Lua, server: &Arc<Server>, is_function: bool) {
    if let Some(watch) = lua.app_data_ref::<Watch>() {
        *watch.run.borrow_mut() = Some(Run { server: Arc::clone(server), handoff: Handoff::new(server), is_function });
    }
}

/// The script is over; a kill's hook gives way to the watch's again.
pub fn end(lua: &Lua) -> mlua::Result<()> {
    let raising = match lua.app_data_ref::<Watch>() {
        Some(watch) => {
            watch.run.borrow_mut().take();
            watch.raising.replace(false)
        }
        None => false,
    };
    if raising { set_hook(lua) } else { Ok(()) }
}

fn set_hook(lua: &Lua) -> mlua::Result<()> {
    lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), |lua, _| check(lua))
}

fn check(lua: &Lua) -> mlua::Result<VmState> {
    let by = {
        let Some(watch) = lua.app_data_ref::<Watch>() else { return Ok(VmState::Continue) };
        let run = watch.run.borrow();
        let Some(run) = run.as_ref() else { return Ok(VmState::Continue) };
        run.handoff.check();
        if !run.server.scripts().kill_requested() {
            return Ok(VmState::Continue);
        }
        watch.raising.set(true);
        if run.is_function { "FUNCTION KILL" } else { "SCRIPT KILL" }
    };
    let killed = format!("ERR Script killed by user with {by}...");
    // A script may catch the error with pcall: from now on every line (and
    // every jump back in a loop) raises it again, as in Redis, until nothing
    // is left to catch it.
    let again = killed.clone();
    lua.set_hook(HookTriggers::new().every_line(), move |_, _| Err(mlua::Error::runtime(again.clone())))?;
    Err(mlua::Error::runtime(killed))
}
