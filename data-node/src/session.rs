//! One client's connection state: database, auth, transaction, subscriptions.

use std::sync::Arc;

use hashbrown::HashSet;

use crate::clients::ClientHandle;
use crate::pubsub::Mailbox;

pub struct Session {
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    pub authenticated: bool,
    /// Commands queued since MULTI.
    pub multi: Option<Vec<Vec<Vec<u8>>>>,
    /// A command failed to queue: EXEC must abort.
    pub multi_failed: bool,
    /// WATCHed keys: (db, key, version at WATCH, live at WATCH).
    pub watched: Vec<(usize, Vec<u8>, u64, u64)>,
    pub channels: HashSet<Vec<u8>>,
    pub patterns: HashSet<Vec<u8>>,
    pub shard_channels: HashSet<Vec<u8>>,
    pub mailbox: Mailbox,
    pub closing: bool,
    /// Commands run since the connection last reported to the server's stats.
    pub commands: u64,
    /// When the previous command ended: the next one's start, so timing a
    /// command for the slow log costs one clock read, not two.
    pub clock: std::time::Instant,
    pub last_cmd: &'static str,
    /// The last command the client handle was told of (CLIENT LIST's cmd=).
    pub reported_cmd: &'static str,
    /// This session applies our primary's replication stream (we are its
    /// replica): its writes are allowed, never paused, never refused for memory.
    pub from_primary: bool,
    /// The port a replica said it listens on (REPLCONF listening-port).
    pub listening_port: u16,
    /// REPLCONF rdb-only 1: a SYNC/PSYNC wants the snapshot alone.
    pub rdb_only: bool,
    /// A blocked pop runs again after a write to one of its keys: a key now
    /// of another type keeps it blocked (as in Redis) instead of answering WRONGTYPE.
    pub woken: bool,
    /// Used memory was over maxmemory, with nothing the policy could evict,
    /// when this exclusive command (a script, EXEC) began: Redis's
    /// pre_command_oom_state. A script's writes are refused by it; nothing
    /// is evicted while the script holds its shards.
    pub out_of_memory: bool,
    /// Where this client waits while its command is blocked.
    pub blocked: Option<crate::blocking::Blocked>,
    /// Calls of one command in a row not yet added to INFO commandstats:
    /// (its index, name, calls, microseconds).
    pub calls: Option<(usize, &'static str, u64, u64)>,
}

impl Session {
    pub fn new(handle: Arc<ClientHandle>, mailbox: Mailbox, authenticated: bool) -> Session {
        Session {
            handle,
            db: 0,
            authenticated,
            multi: None,
            multi_failed: false,
            watched: Vec::new(),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            shard_channels: HashSet::new(),
            mailbox,
            closing: false,
            commands: 0,
            clock: std::time::Instant::now(),
            last_cmd: "NULL",
            reported_cmd: "NULL",
            from_primary: false,
            listening_port: 0,
            rdb_only: false,
            woken: false,
            out_of_memory: false,
            blocked: None,
            calls: None,
        }
    }

    pub fn id(&self) -> u64 {
        self.handle.id
    }

    /// Counts a call for INFO commandstats; a run of the same command is
    /// added to the server's counters at once.
    pub fn count_call(&mut self, server: &crate::server::Server, index: usize, name: &'static str, usec: u64) {
        match &mut self.calls {
            Some((i, _, calls, total)) if *i == index => {
                *calls += 1;
                *total += usec;
            }
            _ => {
                self.flush_calls(server);
                self.calls = Some((index, name, 1, usec));
            }
        }
    }

    pub fn flush_calls(&mut self, server: &crate::server::Server) {
        if let Some((index, name, calls, usec)) = self.calls.take() {
            server.command_stats().add_calls(index, name, calls, usec);
        }
    }

    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }
}
