//! The parameters CONFIG GET shows and CONFIG SET changes.

use crate::sync;
use std::sync::atomic::Ordering;

use crate::config::parse_memory;
use crate::keyspace::Policy;
use crate::server::Server;

pub fn all(s: &Server) -> Vec<(&'static str, String)> {
    let l = s.live();
    let mut params = vec![
        ("maxmemory", l.maxmemory.load(Ordering::Relaxed).to_string()),
        ("maxmemory-policy", s.keyspace().policy().name().to_string()),
        ("maxmemory-samples", l.maxmemory_samples.load(Ordering::Relaxed).to_string()),
        ("requirepass", l.requirepass().map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_default()),
        ("databases", l.databases.to_string()),
        ("port", l.port.load(Ordering::Relaxed).to_string()),
        ("bind", l.bind.clone()),
        ("dir", sync::read(&l.dir).clone()),
        ("dbfilename", sync::read(&l.dbfilename).clone()),
        ("replica-read-only", "yes".into()),
        ("replica-serve-stale-data", yes_no(l.replica_serve_stale_data.load(Ordering::Relaxed)).into()),
        ("repl-timeout", l.repl_timeout.load(Ordering::Relaxed).to_string()),
        ("repl-ping-replica-period", l.repl_ping_replica_period.load(Ordering::Relaxed).to_string()),
        ("min-replicas-to-write", l.min_replicas_to_write.load(Ordering::Relaxed).to_string()),
        ("min-replicas-max-lag", l.min_replicas_max_lag.load(Ordering::Relaxed).to_string()),
        ("masterauth", s.replication().masterauth().unwrap_or_default()),
        ("repl-backlog-size", crate::replication::feed::BACKLOG_SIZE.to_string()),
        ("timeout", l.timeout.load(Ordering::Relaxed).to_string()),
        ("tcp-keepalive", l.tcp_keepalive.load(Ordering::Relaxed).to_string()),
        ("maxclients", l.maxclients.load(Ordering::Relaxed).to_string()),
        ("slowlog-log-slower-than", (l.slowlog_slower_than.load(Ordering::Relaxed) as i64).to_string()),
        ("slowlog-max-len", l.slowlog_max_len.load(Ordering::Relaxed).to_string()),
        ("busy-reply-threshold", l.busy_reply_threshold.load(Ordering::Relaxed).to_string()),
        ("lua-time-limit", l.busy_reply_threshold.load(Ordering::Relaxed).to_string()),
        ("hll-sparse-max-bytes", l.hll_sparse_max_bytes.load(Ordering::Relaxed).to_string()),
        ("proto-max-bulk-len", (512u64 * 1024 * 1024).to_string()),
        ("save", crate::persistence::format_save_points(&s.persistence().save_points())),
        ("stop-writes-on-bgsave-error", yes_no(s.persistence().stop_writes_on_error()).into()),
        ("appendonly", "no".into()),
        ("hz", "10".into()),
        ("lfu-log-factor", crate::keyspace::lfu_log_factor().to_string()),
        ("lfu-decay-time", crate::keyspace::lfu_decay_time().to_string()),
        ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60".into()),
    ];
    let knobs = sync::read(&l.knobs);
    for knob in crate::knobs::KNOBS {
        let value = knobs.get(knob.name).cloned().unwrap_or_else(|| knob.default.to_owned());
        if let Some(alias) = knob.alias {
            params.push((alias, value.clone()));
        }
        params.push((knob.name, value));
    }
    params
}

/// Why CONFIG SET refused a parameter, worded as redis-server words it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")]
    Invalid { name: String, why: String },
    #[error("ERR Unknown option or number of arguments for CONFIG SET - '{0}'")]
    Unknown(String),
}

fn bad(name: &str, why: &str) -> Error {
    Error::Invalid { name: name.to_owned(), why: why.to_owned() }
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, Error> {
    v.parse().map_err(|_| bad(name, "argument couldn't be parsed into an integer"))
}

fn positive(name: &str, v: &str) -> Result<u64, Error> {
    match number::<u64>(name, v)? {
        0 => Err(bad(name, "argument must be between 1 and 2147483647 inclusive")),
        n => Ok(n),
    }
}

fn non_negative(name: &str, v: &str) -> Result<u32, Error> {
    match number::<i64>(name, v)? {
        n @ 0..=2147483647 => Ok(n as u32),
        _ => Err(bad(name, "argument must be between 0 and 2147483647 inclusive")),
    }
}

fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

fn parse_yes_no(name: &str, v: &str) -> Result<bool, Error> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(bad(name, "argument must be 'yes' or 'no'")),
    }
}

pub fn set(s: &Server, name: &[u8], value: &[u8]) -> Result<(), Error> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let v = String::from_utf8_lossy(value).into_owned();
    let l = s.live();
    match name.as_str() {
        "maxmemory" => l.maxmemory.store(parse_memory(&v).map_err(|e| bad(&name, &e))?, Ordering::Relaxed),
        "maxmemory-policy" => s.keyspace().set_policy(Policy::parse(&v).ok_or_else(|| bad(&name, "argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction"))?),
        "maxmemory-samples" => {
            let n: usize = number(&name, &v)?;
            if !(1..=64).contains(&n) {
                return Err(bad(&name, "argument must be between 1 and 64 inclusive"));
            }
            l.maxmemory_samples.store(n, Ordering::Relaxed)
        }
        "requirepass" => *sync::write(&l.requirepass) = (!value.is_empty()).then(|| value.to_vec()),
        "timeout" => l.timeout.store(number(&name, &v)?, Ordering::Relaxed),
        "tcp-keepalive" => l.tcp_keepalive.store(u64::from(non_negative(&name, &v)?), Ordering::Relaxed),
        "maxclients" => l.maxclients.store(number(&name, &v)?, Ordering::Relaxed),
        "slowlog-log-slower-than" => l.slowlog_slower_than.store(number::<i64>(&name, &v)? as u64, Ordering::Relaxed),
        "slowlog-max-len" => l.slowlog_max_len.store(number(&name, &v)?, Ordering::Relaxed),
        "busy-reply-threshold" | "lua-time-limit" => l.busy_reply_threshold.store(number(&name, &v)?, Ordering::Relaxed),
        "lfu-log-factor" => crate::keyspace::set_lfu_log_factor(non_negative(&name, &v)?),
        "lfu-decay-time" => crate::keyspace::set_lfu_decay_time(non_negative(&name, &v)?),
        "hll-sparse-max-bytes" => l.hll_sparse_max_bytes.store(number(&name, &v)?, Ordering::Relaxed),
        "dir" => {
            if !std::path::Path::new(&v).is_dir() {
                return Err(bad(&name, "No such file or directory"));
            }
            *sync::write(&l.dir) = v
        }
        "replica-serve-stale-data" | "slave-serve-stale-data" => {
            l.replica_serve_stale_data.store(parse_yes_no(&name, &v)?, Ordering::Relaxed)
        }
        "repl-timeout" => l.repl_timeout.store(positive(&name, &v)?, Ordering::Relaxed),
        "repl-ping-replica-period" | "repl-ping-slave-period" => {
            l.repl_ping_replica_period.store(positive(&name, &v)?, Ordering::Relaxed)
        }
        "min-replicas-to-write" => l.min_replicas_to_write.store(number(&name, &v)?, Ordering::Relaxed),
        "min-replicas-max-lag" => l.min_replicas_max_lag.store(number(&name, &v)?, Ordering::Relaxed),
        "masterauth" => {
            s.replication().set_masterauth((!v.is_empty()).then_some(v))
        }
        "dbfilename" => {
            if v.is_empty() || v.contains('/') {
                return Err(bad(&name, "dbfilename can't be a path, just a filename"));
            }
            *sync::write(&l.dbfilename) = v
        }
        "save" => s.persistence().set_save_points(crate::persistence::parse_save_points(&v).map_err(|why| bad(&name, why))?),
        "stop-writes-on-bgsave-error" => s.persistence().set_stop_writes_on_error(parse_yes_no(&name, &v)?),
        // No AOF: accept turning it off, refuse turning it on.
        "appendonly" if v.eq_ignore_ascii_case("no") => {}
        "appendonly" => return Err(bad(&name, "AOF is not supported; snapshots (SAVE, BGSAVE, save points) are")),
        knob if crate::knobs::find(knob).is_some() => {
            let knob = crate::knobs::find(knob).ok_or_else(|| Error::Unknown(name.clone()))?;
            let value = knob.check(&v).map_err(|why| bad(&name, &why))?;
            // The one encoding we share with Redis: small hashes (see collections.rs).
            let limit = value.parse::<usize>().ok();
            match knob.name {
                "hash-max-listpack-entries" => crate::keyspace::set_small_hash_limits(limit, None),
                "hash-max-listpack-value" => crate::keyspace::set_small_hash_limits(None, limit),
                _ => {}
            }
            sync::write(&l.knobs).insert(knob.name, value);
        }
        _ if all(s).iter().any(|(n, _)| *n == name) => return Err(bad(&name, "can't set immutable config")),
        _ => return Err(Error::Unknown(name)),
    }
    Ok(())
}
