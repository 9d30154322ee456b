//! `redis.pcall` (and through it `redis.call`): a command from a script runs
//! with the caller's session under the shard locks the script holds, its
//! reply parsed back into Lua. Writes replicate as themselves, wrapped in
//! one MULTI/EXEC so a replica applies the script's effects at once.

use std::sync::Arc;

use mlua::{Lua, Table, Value};

use super::convert::reply_to_lua;
use crate::cmd::spec::{Spec, flag};
use crate::cmd::{OUT_OF_MEMORY, lookup, run_locked, write_error, write_refused};
use crate::keyspace::Locked;
use crate::resp::Reply;
use crate::server::Server;
use crate::session::Session;

/// What a running script's commands share.
pub struct Bridge<'a, 'k> {
    pub server: &'k Arc<Server>,
    pub session: &'a mut Session,
    pub ks: Option<Locked<'k>>,
    /// EVAL_RO, FCALL_RO, or a `no-writes` script.
    pub read_only: bool,
    /// Keys written, to wake clients blocked on them once the locks are gone.
    pub written: Vec<(usize, Vec<u8>)>,
    /// A MULTI went down the replication stream: an EXEC must follow.
    pub multi_sent: bool,
}

fn error_table(lua: &Lua, message: &str) -> mlua::Result<Value> {
    let table = lua.create_table()?;
    table.raw_set("err", message)?;
    Ok(Value::Table(table))
}

/// A Lua argument as a command argument: strings as they are, numbers as
/// Redis prints them for commands (`%.17g`, so 2^53 - 1 keeps its digits).
fn argument(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(crate::resp::format_score(*n).into_bytes()),
        _ => None,
    }
}

impl Bridge<'_, '_> {
    /// Runs one command, its arguments packed as `{n = count, ...}` (a
    /// script may pass thousands, more than Lua references allow at once);
    /// an error comes back as an `{err=...}` table.
    pub fn pcall(&mut self, lua: &Lua, packed: Table) -> mlua::Result<Value> {
        let count: usize = packed.raw_get::<Option<usize>>("n")?.unwrap_or(0);
        if count == 0 {
            return error_table(lua, "ERR Please specify at least one argument for this redis lib call");
        }
        let mut argv = Vec::with_capacity(count);
        for i in 1..=count {
            match argument(&packed.raw_get::<Value>(i)?) {
                Some(arg) => argv.push(arg),
                None => return error_table(lua, "ERR Lua redis lib command arguments must be strings or integers"),
            }
        }
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let spec = match self.check(&args) {
            Ok(spec) => spec,
            Err(refused) => return error_table(lua, &refused),
        };
        let db = self.session.db;
        let writes = spec.has(flag::WRITE);
        if writes && !self.multi_sent && self.server.replication().feeding() {
            self.server.replication().propagate(db, &[b"MULTI"]);
            self.multi_sent = true;
        }
        let mut out = Reply::scratch(super::vm::ScriptResp::get(lua));
        let (result, back) = run_locked(self.server, self.session, &mut out, spec, &args, self.ks.take(), true);
        self.ks = back;
        match result {
            Err(e) => write_error(&mut out, e),
            Ok(_) if writes => {
                self.server.scripts().wrote();
                self.written.extend(spec.key_positions(&args).into_iter().map(|i| (db, args[i].to_vec())));
            }
            Ok(_) => {}
        }
        let mut at = 0;
        reply_to_lua(lua, &out.buf, &mut at)
    }

    /// The command to run, or why a script may not run it, as Redis words it.
    fn check(&self, args: &[&[u8]]) -> Result<&'static Spec, String> {
        let Some(spec) = lookup(args[0]) else { return Err("ERR Unknown Redis command called from script".into()) };
        let argc = args.len() as i32;
        if (spec.arity > 0 && argc != spec.arity) || (spec.arity < 0 && argc < -spec.arity) {
            return Err("ERR Wrong number of args calling Redis command from script".into());
        }
        if spec.has(flag::NOSCRIPT) || spec.has(flag::BLOCKING) {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        if self.read_only && spec.has(flag::MAY_REPLICATE) {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        if spec.has(flag::WRITE) {
            if self.read_only {
                return Err("ERR Write commands are not allowed from read-only scripts.".into());
            }
            if let Some(why) = write_refused(self.server, self.session) {
                return Err(why.into());
            }
        }
        if spec.has(flag::DENYOOM) && self.session.out_of_memory {
            return Err(OUT_OF_MEMORY.into());
        }
        Ok(spec)
    }

    /// Ends the script's replicated transaction, if it began one.
    pub fn finish(&mut self) {
        if self.multi_sent {
            self.server.replication().propagate(self.session.db, &[b"EXEC"]);
            self.multi_sent = false;
        }
    }
}
