//! Commands: one module per family, each command a `Spec` in that family's
//! table and a handler that parses its arguments, acts on the keyspace through
//! `Ctx::ks`, and writes its reply. `execute` is the one way in: lookup, arity,
//! auth, subscriber mode, MULTI queueing, maxmemory, key locking, then the
//! handler, then waking clients blocked on the keys it wrote.

pub mod args;
mod connection;
pub mod error;
mod geo;
mod hashes;
mod hyperloglog;
mod keys;
mod lists;
mod persistence;
mod propagate;
mod pubsub;
mod replication;
pub mod scripting;
mod server;
mod sets;
pub mod spec;
mod strings;
mod transactions;
mod typed;
pub(crate) mod zsets;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use hashbrown::HashMap;

use crate::keyspace::{Locked, Wanted};
use crate::resp::Reply;
use crate::server::Server;
use crate::session::Session;
use error::{Error, wrong_arity};
use spec::{Keys, Spec, flag};

/// Each command by name, with its index among all commands (its INFO commandstats slot).
static TABLE: LazyLock<HashMap<&'static [u8], (&'static Spec, usize)>> = LazyLock::new(|| {
    let families: [&'static [Spec]; 15] = [
        replication::COMMANDS,
        persistence::COMMANDS,
        connection::COMMANDS,
        strings::COMMANDS,
        keys::COMMANDS,
        hashes::COMMANDS,
        lists::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        pubsub::COMMANDS,
        transactions::COMMANDS,
        server::COMMANDS,
        scripting::COMMANDS,
        hyperloglog::COMMANDS,
        geo::COMMANDS,
    ];
    let table: HashMap<_, _> =
        families.iter().flat_map(|f| f.iter()).enumerate().map(|(i, s)| (s.name.as_bytes(), (s, i))).collect();
    assert!(table.len() <= crate::cmdstats::SLOTS, "more commands than commandstats slots");
    table
});

pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    lookup_indexed(name).map(|(spec, _)| spec)
}

/// The command and its index among all commands.
fn lookup_indexed(name: &[u8]) -> Option<(&'static Spec, usize)> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    TABLE.get(&lower[..name.len()]).copied()
}

pub fn all_commands() -> impl Iterator<Item = &'static Spec> {
    TABLE.values().map(|(spec, _)| *spec)
}

/// What the connection does after a command.
pub enum Flow {
    Continue,
    /// Wait for the session's `blocked` waiter (registered on its keys before
    /// the shard locks were released, so no write can slip in unseen) or its
    /// deadline, then retry.
    Block,
    /// PSYNC/SYNC answered (the preamble is in the reply): the connection now
    /// carries the replication stream to this replica.
    Replica(crate::replication::feed::Attached),
    /// PSYNC/SYNC needs a snapshot: take it off the async workers, send it,
    /// then carry the stream (unless the sync is rdb-only).
    FullSync(replication::FullSync),
    /// CLIENT PAUSE holds this command: run it again once the pause ends.
    Paused,
    /// A script runs: run this again when it ends, or at `busy_at` (when it
    /// has run long enough that this client is answered `-BUSY`).
    ScriptRunning {
        busy_at: Instant,
    },
    /// WAIT: answer with how many replicas acknowledged `offset`, once
    /// `needed` have or at `deadline` (unix ms; 0: never).
    Wait {
        offset: u64,
        needed: usize,
        deadline: u64,
    },
}

pub struct Ctx<'a, 'k> {
    pub args: &'a [&'a [u8]],
    pub out: &'a mut Reply,
    pub session: &'a mut Session,
    pub server: &'k Arc<Server>,
    pub spec: &'static Spec,
    /// The locked shards; None for commands without keys.
    ks: Option<Locked<'k>>,
    /// A blocking command must answer now: its deadline passed, or it runs
    /// inside MULTI where nothing may block.
    pub no_block: bool,
    /// What replicas must run instead of this command, when running it again
    /// would not do the same (SPOP picks at random: replicas get the SREM);
    /// empty when there is nothing to replicate.
    pub propagate_as: Option<Vec<Vec<u8>>>,
    /// Set by PSYNC and WAIT: what the connection does next.
    pub flow: Option<Flow>,
}

impl<'a, 'k> Ctx<'a, 'k> {
    pub fn ks(&mut self) -> &mut Locked<'k> {
        self.ks.as_mut().expect("the dispatcher locks the shards of every command that has keys")
    }

    /// The keyspace and the reply at once, for handlers that read a value
    /// while writing it out.
    pub fn parts(&mut self) -> (&mut Locked<'k>, &mut Reply) {
        (self.ks.as_mut().expect("the dispatcher locks the shards of every command that has keys"), self.out)
    }

    pub fn db(&self) -> usize {
        self.session.db
    }

    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.args[i]
    }

    pub fn argc(&self) -> usize {
        self.args.len()
    }
}

fn unknown_command(args: &[&[u8]]) -> Error {
    let mut msg = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&args[0][..args[0].len().min(128)])
    );
    for a in &args[1..] {
        msg.push_str(&format!("'{}' ", String::from_utf8_lossy(&a[..a.len().min(128)])));
    }
    msg.into()
}

/// Why a write may not run now, as Redis words it: this is a read-only
/// replica, or too few good replicas follow (`min-replicas-to-write`).
pub(crate) fn write_refused(server: &Server, session: &Session) -> Option<&'static str> {
    if session.from_primary {
        return None;
    }
    if server.replication().is_replica() {
        return Some("READONLY You can't write against a read only replica.");
    }
    if server.persistence().refuses_writes() {
        return Some(MISCONF);
    }
    let needed = server.live().min_replicas_to_write.load(std::sync::atomic::Ordering::Relaxed);
    let max_lag = server.live().min_replicas_max_lag.load(std::sync::atomic::Ordering::Relaxed);
    if !server.replication().enough_replicas(needed, max_lag, server.now_ms()) {
        return Some("NOREPLICAS Not enough good replicas to write.");
    }
    None
}

/// Why a command that may grow memory is refused: over maxmemory, with
/// nothing the policy may evict. A replica applies its primary's writes
/// whatever its own maxmemory says.
pub(crate) fn oom_refused(server: &Server, session: &Session) -> Option<&'static str> {
    if session.from_primary || server.make_room() {
        return None;
    }
    Some(OUT_OF_MEMORY)
}

const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

pub(crate) const OUT_OF_MEMORY: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Why a command that may not read stale data is refused on a replica whose
/// link is down with `replica-serve-stale-data no`.
pub(crate) fn stale_refused(server: &Server, session: &Session) -> Option<&'static str> {
    let serve_stale = server.live().replica_serve_stale_data.load(std::sync::atomic::Ordering::Relaxed);
    if session.from_primary || serve_stale || !server.replication().link_down() {
        return None;
    }
    Some("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
}

/// The command to run and its index, or why it is refused.
fn check(server: &Server, session: &Session, args: &[&[u8]], resp3: bool) -> Result<(&'static Spec, usize), Error> {
    let Some((spec, index)) = lookup_indexed(args[0]) else { return Err(unknown_command(args)) };
    let argc = args.len() as i32;
    if (spec.arity > 0 && argc != spec.arity) || (spec.arity < 0 && argc < -spec.arity) {
        return Err(wrong_arity(spec.name));
    }
    if !session.authenticated && !spec.has(flag::NOAUTH) && server.live().requirepass().is_some() {
        return Err("NOAUTH Authentication required.".into());
    }
    if spec.has(flag::WRITE)
        && let Some(why) = write_refused(server, session)
    {
        return Err(why.into());
    }
    if !spec.has(flag::STALE)
        && let Some(why) = stale_refused(server, session)
    {
        return Err(why.into());
    }
    if !resp3 && session.subscriptions() > 0 && !spec.has(flag::SUBCTX) {
        return Err(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        )
        .into());
    }
    Ok((spec, index))
}

fn write_error(out: &mut Reply, e: Error) {
    match e {
        Error::Reply(msg) => out.error(&msg),
        Error::Block { .. } => out.null_array(),
    }
}

/// Runs one command from a client. `no_block` is set when a blocked command
/// is retried after its deadline.
pub fn execute(server: &Arc<Server>, session: &mut Session, out: &mut Reply, args: &[&[u8]], no_block: bool) -> Flow {
    if args.is_empty() {
        return Flow::Continue;
    }
    let (spec, index) = match check(server, session, args, out.resp3) {
        Ok(found) => found,
        Err(e) => return reject(server, session, out, args, e),
    };
    // A script runs on another worker. Past the busy threshold everyone is
    // told so. Before it, a command whose shards the script has not taken
    // runs now (the script, holding its shards to its end, is ordered after
    // it); one the script holds waits briefly in place, since a short script
    // lets go within microseconds, and is then parked until the script ends.
    let mut early = None;
    if !session.from_primary
        && let Some((started, is_function)) = server.scripts().running_since()
        && !scripting::allowed_while_busy(spec, args)
    {
        let busy_at = busy_at(server, started);
        if Instant::now() >= busy_at {
            let kill = if is_function { "FUNCTION KILL" } else { "SCRIPT KILL" };
            let busy = format!("BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE.");
            return reject(server, session, out, args, busy.into());
        }
        if !spec.has(flag::LOCKS_ITSELF) {
            early = lock_within(server, spec, args, WAIT_FOR_SCRIPT);
            if early.is_none() {
                return Flow::ScriptRunning { busy_at };
            }
        }
    }
    if let Some(queue) = session.multi.as_mut()
        && !spec.has(flag::NOQUEUE)
    {
        queue.push(args.iter().map(|a| a.to_vec()).collect());
        out.simple("QUEUED");
        return Flow::Continue;
    }
    if !session.from_primary && server.pause().holds(|| may_write(server, spec, args, session)) {
        return Flow::Paused;
    }
    // Eviction takes shard locks, so it happens now, before the command takes
    // its own: a command holding the keyspace exclusively (a script, EXEC)
    // refuses its writes by this state.
    if spec.has(flag::DENYOOM) || spec.exclusive() || spec.name == "exec" {
        session.out_of_memory = oom_refused(server, session).is_some();
    }
    if spec.has(flag::DENYOOM) && session.out_of_memory {
        out.error(OUT_OF_MEMORY);
        return Flow::Continue;
    }
    let mut ks = early.or_else(|| lock_for(server, spec, args));
    if let Some(locked) = ks.as_mut() {
        locked.for_primary_link(session.from_primary);
    }
    let flow = run(server, session, out, spec, args, ks, no_block);
    if matches!(flow, Flow::ScriptRunning { .. }) {
        return flow; // not run: it runs again once the script ends
    }
    session.commands += 1;
    session.last_cmd = spec.name;
    let ended = Instant::now();
    let micros = ended.duration_since(session.clock).as_micros() as u64;
    session.clock = ended;
    session.count_call(server, index, spec.name, micros);
    if server.is_slow(micros) {
        let name = session.handle.name().unwrap_or_default();
        server.record_slow(micros, args, &session.handle.addr, name);
    }
    flow
}

/// A command refused before it ran. Inside MULTI it spoils the transaction;
/// a refused EXEC discards it, saying why, as Redis does.
fn reject(server: &Server, session: &mut Session, out: &mut Reply, args: &[&[u8]], e: Error) -> Flow {
    if let Some((spec, index)) = lookup_indexed(args[0]) {
        server.command_stats().rejected(index, spec.name);
    }
    if session.multi.is_some() {
        if args::eq(args[0], "exec")
            && let Error::Reply(why) = &e
        {
            transactions::end_transaction(server, session);
            let abort = format!("EXECABORT Transaction discarded because of: {why}");
            server.command_stats().error_reply(&abort);
            out.error(&abort);
            return Flow::Continue;
        }
        session.multi_failed = true;
    }
    if let Error::Reply(why) = &e {
        server.command_stats().error_reply(why);
    }
    write_error(out, e);
    Flow::Continue
}

/// What CLIENT PAUSE WRITE holds: writes, may-replicate commands (but not a
/// script declared `no-writes`), and a transaction holding a write.
fn may_write(server: &Server, spec: &Spec, args: &[&[u8]], session: &Session) -> bool {
    spec.has(flag::WRITE)
        || (spec.has(flag::MAY_REPLICATE) && !scripting::declares_no_writes(server, spec, args))
        || (spec.name == "exec"
            && session.multi.iter().flatten().any(|queued| {
                let args: Vec<&[u8]> = queued.iter().map(Vec::as_slice).collect();
                lookup(args[0]).is_some_and(|spec| {
                    spec.has(flag::WRITE)
                        || (spec.has(flag::MAY_REPLICATE) && !scripting::declares_no_writes(server, spec, &args))
                })
            }))
}

fn lock_for<'a>(server: &'a Server, spec: &Spec, args: &[&[u8]]) -> Option<Locked<'a>> {
    // The hot path: no key list collected, as `wanted_locks` does for the rare wait.
    let ks = server.keyspace();
    if spec.has(flag::LOCKS_ITSELF) {
        return None;
    }
    if spec.exclusive() {
        return Some(ks.lock_exclusive(spec.key_positions(args).into_iter().map(|i| args[i])));
    }
    match spec.keys {
        Keys::None => None,
        Keys::Range { first: 1, last: 1, .. } => Some(ks.lock_one(args[1])),
        _ => Some(ks.lock_keys(spec.key_positions(args).into_iter().map(|i| args[i]))),
    }
}

/// How long a command waits in place for a script on another worker.
const WAIT_FOR_SCRIPT: Duration = Duration::from_micros(100);

/// The keyspace, exclusively, with the shards of `keys`, for a command
/// that locks itself; while another worker's script runs, only if it ends
/// within `WAIT_FOR_SCRIPT`, else the Flow that parks the client until then.
pub(crate) fn lock_exclusive_now<'a>(server: &'a Server, keys: &[&[u8]]) -> Result<Locked<'a>, Flow> {
    let ks = server.keyspace();
    let Some((started, _)) = server.scripts().running_since() else {
        return Ok(ks.lock_exclusive(keys.iter().copied()));
    };
    ks.lock_by(Wanted::Exclusive(keys.to_vec()), Instant::now() + WAIT_FOR_SCRIPT)
        .ok_or_else(|| Flow::ScriptRunning { busy_at: busy_at(server, started) })
}

/// When a script that started at `started` makes other clients `-BUSY`.
fn busy_at(server: &Server, started: Instant) -> Instant {
    let threshold = server.live().busy_reply_threshold.load(std::sync::atomic::Ordering::Relaxed);
    started + Duration::from_millis(threshold)
}

/// `lock_for`'s locks if they come free within `wait`; None if not, or if
/// the command takes no locks (it would otherwise answer during the script).
fn lock_within<'a>(server: &'a Server, spec: &Spec, args: &[&[u8]], wait: Duration) -> Option<Locked<'a>> {
    server.keyspace().lock_by(wanted_locks(spec, args)?, Instant::now() + wait)
}

/// The locks `lock_for` takes; None for none.
fn wanted_locks<'a>(spec: &Spec, args: &[&'a [u8]]) -> Option<Wanted<'a>> {
    let keys = || spec.key_positions(args).into_iter().map(|i| args[i]).collect();
    match spec.keys {
        _ if spec.exclusive() => Some(Wanted::Exclusive(keys())),
        Keys::None => None,
        _ => Some(Wanted::Keys(keys())),
    }
}

/// Runs a command's handler with the shards already locked (EXEC runs each
/// queued command through here under one lock set). Returns what the
/// connection does next, if the command said (PSYNC, WAIT), and the locks.
fn run_locked<'k>(
    server: &'k Arc<Server>,
    session: &mut Session,
    out: &mut Reply,
    spec: &'static Spec,
    args: &[&[u8]],
    ks: Option<Locked<'k>>,
    no_block: bool,
) -> (Result<Option<Flow>, Error>, Option<Locked<'k>>) {
    let db = session.db;
    let mut ctx = Ctx { args, out, session, server, spec, ks, no_block, propagate_as: None, flow: None };
    let result = (spec.run)(&mut ctx);
    // Still under the command's shard locks: replicas see writes in the order
    // the keyspace applied them.
    if result.is_ok() && spec.has(flag::WRITE) && server.replication().feeding() {
        // (FLUSHALL and FLUSHDB are writes with no key: nothing to rewrite.)
        if ctx.propagate_as.is_none()
            && let (Some(ks), Some(key)) = (ctx.ks.as_mut(), args.get(1))
        {
            ctx.propagate_as = propagate::absolute_form(spec, ks, db, key);
        }
        match &ctx.propagate_as {
            Some(rewritten) if rewritten.is_empty() => {}
            Some(rewritten) => {
                let args: Vec<&[u8]> = rewritten.iter().map(Vec::as_slice).collect();
                server.replication().propagate(db, &args);
            }
            None => server.replication().propagate(db, args),
        }
    }
    (result.map(|()| ctx.flow.take()), ctx.ks.take())
}

fn run(
    server: &Arc<Server>,
    session: &mut Session,
    out: &mut Reply,
    spec: &'static Spec,
    args: &[&[u8]],
    ks: Option<Locked<'_>>,
    no_block: bool,
) -> Flow {
    let db = session.db;
    let (result, ks) = run_locked(server, session, out, spec, args, ks, no_block);
    let flow = match result {
        Ok(flow) => flow.unwrap_or(Flow::Continue),
        Err(Error::Block { deadline }) => {
            // A retry that finds nothing keeps its place in line and its deadline.
            if session.blocked.is_none() {
                let keys = spec.key_positions(args).into_iter().map(|i| args[i].to_vec()).collect();
                session.blocked = Some(server.blocking().register(db, keys, deadline));
            }
            Flow::Block
        }
        Err(e) => {
            if let Error::Reply(why) = &e {
                server.command_stats().error_reply(why);
                if let Some((_, index)) = lookup_indexed(spec.name.as_bytes()) {
                    server.command_stats().failed(index, spec.name);
                }
            }
            write_error(out, e);
            Flow::Continue
        }
    };
    drop(ks);
    // A command that blocked wrote nothing; signalling would wake itself.
    if matches!(flow, Flow::Continue) && spec.has(flag::WRITE) && server.blocking().any() {
        for i in spec.key_positions(args) {
            server.blocking().signal(db, args[i]);
        }
    }
    flow
}
