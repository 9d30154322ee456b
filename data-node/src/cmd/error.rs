//! The error a command returns instead of a reply, worded as Redis words it.

use std::borrow::Cow;

#[derive(Debug)]
pub enum Error {
    /// A full error line, code first: `ERR syntax error`.
    Reply(Cow<'static, str>),
    /// Nothing to pop yet: the connection waits on the command's keys until
    /// data arrives or the deadline (unix ms, 0 for never) passes, then retries.
    Block { deadline: u64 },
}

pub type CmdResult = Result<(), Error>;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const SYNTAX: &str = "ERR syntax error";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const OUT_OF_RANGE: &str = "ERR index out of range";
pub const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

impl From<&'static str> for Error {
    fn from(s: &'static str) -> Self {
        Error::Reply(Cow::Borrowed(s))
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Reply(Cow::Owned(s))
    }
}

impl From<crate::params::Error> for Error {
    fn from(e: crate::params::Error) -> Self {
        Error::Reply(Cow::Owned(e.to_string()))
    }
}

/// A subcommand that doesn't exist or got the wrong number of arguments.
pub fn unknown_subcommand(sub: &[u8], command: &str) -> Error {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {command} HELP.",
        String::from_utf8_lossy(sub)
    )
    .into()
}

pub fn wrong_arity(name: &str) -> Error {
    format!("ERR wrong number of arguments for '{name}' command").into()
}

/// A pop's error that a woken blocked client waits through (the key turned
/// into another type), or any other error.
pub fn or_still_blocked<T>(result: Result<T, Error>, woken: bool, empty: T) -> Result<T, Error> {
    match result {
        Err(Error::Reply(message)) if woken && message == WRONGTYPE => Ok(empty),
        other => other,
    }
}
