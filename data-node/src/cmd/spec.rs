//! What the dispatcher knows about each command: arity, flags, where its keys are.

use super::Ctx;
use super::error::CmdResult;

pub type Handler = fn(&mut Ctx<'_, '_>) -> CmdResult;

pub mod flag {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    /// Allowed before AUTH.
    pub const NOAUTH: u32 = 1 << 5;
    /// Runs at once inside MULTI instead of being queued.
    pub const NOQUEUE: u32 = 1 << 6;
    /// Allowed in RESP2 subscriber mode.
    pub const SUBCTX: u32 = 1 << 7;
    pub const BLOCKING: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const LOADING: u32 = 1 << 10;
    pub const STALE: u32 = 1 << 11;
    /// May set a TTL relative to when it runs: replicas are sent the absolute
    /// form (`propagate::absolute_form`).
    pub const RELATIVE_TTL: u32 = 1 << 12;
    /// Held by CLIENT PAUSE WRITE though it writes no key: it feeds replicas
    /// (PUBLISH) or waits on them (WAIT), as Redis's may-replicate commands.
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Refused inside a script (EVAL, MULTI, SUBSCRIBE ...).
    pub const NOSCRIPT: u32 = 1 << 14;
    /// Runs while a script is busy instead of answering `-BUSY`.
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Holds the keyspace exclusively, taking any shard it uses, declared or
    /// not (scripts may touch keys they did not declare; INFO reads them all).
    pub const EXCLUSIVE: u32 = 1 << 16;
    /// Takes its exclusive locks itself, once it has done what needs none
    /// (a script sets up its Lua call first, overlapping another worker's
    /// script); inside EXEC it gets the transaction's.
    pub const LOCKS_ITSELF: u32 = 1 << 17;
}

/// Where a command's keys are, as Redis's COMMAND INFO describes them.
#[derive(Clone, Copy, Debug)]
pub enum Keys {
    None,
    /// Positions first..=last stepping by step; a negative last counts from the end.
    Range {
        first: usize,
        last: i32,
        step: usize,
    },
    /// `numkeys` at `at`, then that many keys; `dest` is one more key position
    /// before them (ZUNIONSTORE's destination) when nonzero.
    NumKeys {
        at: usize,
        dest: usize,
    },
    /// Commands over the whole keyspace (KEYS, FLUSHALL, SCAN ...).
    All,
    /// SORT, GEORADIUS: the key at 1 and the one after the last STORE (or STOREDIST).
    Store,
}

pub struct Spec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub keys: Keys,
    pub run: Handler,
}

impl Spec {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Whether it holds the keyspace exclusively (see `keyspace::acquire`).
    pub fn exclusive(&self) -> bool {
        matches!(self.keys, Keys::All) || self.has(flag::EXCLUSIVE)
    }

    /// Positions of the keys in `args`; it never fails, bad numkeys give none.
    pub fn key_positions(&self, args: &[&[u8]]) -> Vec<usize> {
        match self.keys {
            Keys::None | Keys::All => Vec::new(),
            Keys::Range { first, last, step } => {
                let last = if last < 0 { args.len() as i64 + last as i64 } else { last as i64 };
                let last = last.min(args.len() as i64 - 1);
                let mut out = Vec::new();
                let mut i = first as i64;
                while i <= last {
                    out.push(i as usize);
                    i += step as i64;
                }
                out
            }
            Keys::Store => {
                let store = (2..args.len().saturating_sub(1))
                    .rev()
                    .find(|&i| super::args::eq(args[i], "store") || super::args::eq(args[i], "storedist"));
                std::iter::once(1).chain(store.map(|i| i + 1)).collect()
            }
            Keys::NumKeys { at, dest } => {
                let n = args.get(at).and_then(|a| super::args::parse_i64(a)).unwrap_or(0).max(0) as usize;
                let mut out: Vec<usize> = (at + 1..(at + 1 + n).min(args.len())).collect();
                if dest != 0 && dest < args.len() {
                    out.push(dest);
                }
                out
            }
        }
    }

    /// The names COMMAND INFO lists as flags.
    pub fn flag_names(&self) -> Vec<&'static str> {
        use flag::*;
        let table = [
            (WRITE, "write"),
            (READONLY, "readonly"),
            (DENYOOM, "denyoom"),
            (ADMIN, "admin"),
            (PUBSUB, "pubsub"),
            (NOAUTH, "no_auth"),
            (BLOCKING, "blocking"),
            (FAST, "fast"),
            (LOADING, "loading"),
            (STALE, "stale"),
            (MAY_REPLICATE, "may_replicate"),
        ];
        table.iter().filter(|(f, _)| self.has(*f)).map(|(_, n)| *n).collect()
    }
}

/// Builds a table entry: `spec!(name, arity, flags, keys, handler)`.
macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $run:expr) => {
        $crate::cmd::spec::Spec { name: $name, arity: $arity, flags: $flags, keys: $keys, run: $run }
    };
}
pub(crate) use spec;

pub const NO_KEYS: Keys = Keys::None;
pub const KEY1: Keys = Keys::Range { first: 1, last: 1, step: 1 };
pub const KEY12: Keys = Keys::Range { first: 1, last: 2, step: 1 };
pub const ALL_KEYS_FROM1: Keys = Keys::Range { first: 1, last: -1, step: 1 };
