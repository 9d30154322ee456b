//! Time logic, tested by moving a clock: commands run in-process through
//! `cmd::execute` on a server whose clock stands still until told.

mod expiry;
mod harness;
mod replication;
