//! DUMP and RESTORE: a key's value as a payload redis-server can RESTORE
//! (and the other way round), with its TTL and access hints.

use crate::cmd::Ctx;
use crate::cmd::args::{eq, int};
use crate::cmd::error::{CmdResult, Error, SYNTAX};
use crate::keyspace::Entry;

pub(super) fn dump(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    match ctx.ks().get(db, key) {
        Some(e) => {
            let payload = crate::rdb::value_payload(e.value());
            ctx.out.bulk(&payload);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

struct RestoreOptions {
    replace: bool,
    absolute_ttl: bool,
    idle_secs: Option<u64>,
    freq: Option<u8>,
}

impl RestoreOptions {
    fn parse(args: &[&[u8]]) -> Result<RestoreOptions, Error> {
        let mut o = RestoreOptions { replace: false, absolute_ttl: false, idle_secs: None, freq: None };
        let mut i = 4;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            if eq(args[i], "replace") {
                o.replace = true;
            } else if eq(args[i], "absttl") {
                o.absolute_ttl = true;
            } else if eq(args[i], "idletime") && has_value && o.freq.is_none() {
                let idle = int(args[i + 1])?;
                let idle = u64::try_from(idle).map_err(|_| Error::from("ERR Invalid IDLETIME value, must be >= 0"))?;
                o.idle_secs = Some(idle);
                i += 1;
            } else if eq(args[i], "freq") && has_value && o.idle_secs.is_none() {
                let freq = int(args[i + 1])?;
                let freq =
                    u8::try_from(freq).map_err(|_| Error::from("ERR Invalid FREQ value, must be >= 0 and <= 255"))?;
                o.freq = Some(freq);
                i += 1;
            } else {
                return Err(SYNTAX.into());
            }
            i += 1;
        }
        Ok(o)
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
pub(super) fn restore(ctx: &mut Ctx) -> CmdResult {
    let (db, key, payload) = (ctx.db(), ctx.arg(1), ctx.arg(3));
    let o = RestoreOptions::parse(ctx.args)?;
    let ttl = int(ctx.arg(2))?;
    if ttl < 0 {
        return Err("ERR Invalid TTL value, must be >= 0".into());
    }
    if !o.replace && ctx.ks().exists(db, key) {
        return Err("BUSYKEY Target key name already exists.".into());
    }
    let value = crate::rdb::read_value_payload(payload).map_err(|why| match why {
        None => Error::from("ERR DUMP payload version or checksum are wrong"),
        Some(_) => Error::from("ERR Bad data format"),
    })?;
    let now = ctx.ks().now();
    let expires_at = match ttl as u64 {
        0 => 0,
        at if o.absolute_ttl => at,
        ttl => now.saturating_add(ttl),
    };
    if expires_at != 0 && expires_at <= now {
        // Already expired: the key is gone, as if it had been restored and expired.
        ctx.ks().remove(db, key);
        ctx.propagate_as = Some(vec![b"DEL".to_vec(), key.to_vec()]);
        ctx.out.ok();
        return Ok(());
    }
    let stamp = ctx.ks().stamp_with(o.idle_secs, o.freq);
    ctx.ks().insert_entry(db, Entry::new(key, value, expires_at, stamp));
    if expires_at != 0 && !o.absolute_ttl {
        let mut absolute: Vec<Vec<u8>> = ctx.args.iter().map(|a| a.to_vec()).collect();
        absolute[2] = expires_at.to_string().into_bytes();
        absolute.push(b"ABSTTL".to_vec());
        ctx.propagate_as = Some(absolute);
    }
    ctx.out.ok();
    Ok(())
}
