//! Memcached compatibility: the real binary under `--protocol memcached`,
//! beside memcached 1.6 itself where one is installed (scripts/test installs
//! it), driven by raw sockets, pymemcache and memccapable.

#[path = "../compat/common.rs"]
#[allow(dead_code)]
mod common;
mod reference;

mod against_memcached;
mod bad_input;
mod binary;
mod clients;
mod discovery;
mod limits;
