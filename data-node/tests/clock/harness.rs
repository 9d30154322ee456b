//! A data node in-process: a server on a manual clock, a client session on
//! it, and a second session that applies a primary's stream, as the link
//! does. Replies come back as the RESP text a client would read.

use std::sync::Arc;

use clap::Parser;
use data_node::cmd::{self, Flow};
use data_node::config::Flags;
use data_node::keyspace::Clock;
use data_node::replication::feed::Attached;
use data_node::resp::{Limits, Parsed, Reply, parse_request};
use data_node::server::Server;
use data_node::session::Session;

/// 2026-01-01T00:00:00Z: any fixed start will do.
pub const START_MS: u64 = 1_767_225_600_000;

pub struct Harness {
    pub server: Arc<Server>,
    pub clock: Clock,
    client: Session,
    primary_link: Session,
}

fn session(server: &Server, from_primary: bool) -> Session {
    let handle = server.clients().register("127.0.0.1:1".into(), "127.0.0.1:6379".into());
    let (tx, _mailbox) = tokio::sync::mpsc::channel(16);
    let mut session = Session::new(handle, tx, true);
    session.from_primary = from_primary;
    session
}

impl Harness {
    pub fn new() -> Harness {
        Harness::at(START_MS)
    }

    pub fn at(start_ms: u64) -> Harness {
        let flags = Flags::parse_from(["data-node"]);
        let clock = Clock::manual(start_ms);
        let server = Server::with_clock(&flags, clock.clone());
        let client = session(&server, false);
        let primary_link = session(&server, true);
        Harness { server, clock, client, primary_link }
    }

    /// Makes this node a replica (of nobody that answers: nothing here
    /// connects), so it applies what `apply_from_primary` is given.
    pub fn into_replica(self) -> Harness {
        self.server.replication().follow(self.server.keyspace(), "127.0.0.1".into(), 1);
        self
    }

    fn execute(server: &Arc<Server>, session: &mut Session, args: &[&str]) -> (Flow, String) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut out = Reply::new();
        let flow = cmd::execute(server, session, &mut out, &args, false);
        (flow, String::from_utf8_lossy(&out.buf).into_owned())
    }

    /// Runs a command as a client and returns its reply.
    pub fn run(&mut self, args: &[&str]) -> String {
        Harness::execute(&self.server, &mut self.client, args).1
    }

    /// Whether CLIENT PAUSE holds this command now.
    pub fn held(&mut self, args: &[&str]) -> bool {
        matches!(Harness::execute(&self.server, &mut self.client, args).0, Flow::Paused)
    }

    /// Applies a replication stream as our primary's link does.
    pub fn apply_from_primary(&mut self, stream: &[u8]) {
        for command in commands(stream) {
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let (_, reply) = Harness::execute(&self.server, &mut self.primary_link, &args);
            assert!(!reply.starts_with('-'), "the primary's {args:?} failed here: {reply}");
        }
    }

    pub fn advance(&self, ms: u64) {
        self.clock.advance(ms);
    }

    /// One server tick: the coarse clock, active expiry, stats.
    pub fn tick(&self) {
        data_node::housekeeping(&self.server);
    }

    /// Attaches a replica to this primary; what it is sent is read with `sent`.
    pub fn attach_replica(&self) -> Attached {
        self.server.replication().attach_full(self.server.keyspace(), &[], 999, "127.0.0.1:2".into(), 2).1
    }
}

/// What the primary has streamed to `replica` so far.
pub fn sent(replica: &mut Attached) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Ok(chunk) = replica.stream.try_recv() {
        bytes.extend_from_slice(&chunk);
    }
    bytes
}

/// The commands in a RESP stream, as text.
pub fn commands(stream: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let (mut at, mut spans, limits) = (0, Vec::new(), Limits::default());
    while let Ok(Parsed::Multibulk { consumed }) = parse_request(&stream[at..], &mut spans, &limits) {
        out.push(spans.iter().map(|r| String::from_utf8_lossy(&stream[at..][r.clone()]).into_owned()).collect());
        at += consumed;
    }
    out
}
