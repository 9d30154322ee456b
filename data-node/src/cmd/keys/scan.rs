//! Iterating the keyspace: KEYS, SCAN and the cursor and options SCAN, HSCAN, SSCAN and ZSCAN share.

use crate::cmd::Ctx;
use crate::cmd::args::{eq, int};
use crate::cmd::error::{CmdResult, Error, SYNTAX};
use crate::glob;

pub(super) fn keys(ctx: &mut Ctx) -> CmdResult {
    let (db, pattern) = (ctx.db(), ctx.arg(1));
    let all = ctx.ks().keys(db);
    let matched: Vec<&[u8]> = all.iter().map(|k| k.as_slice()).filter(|k| glob::matches(pattern, k)).collect();
    ctx.out.bulks(matched.into_iter());
    Ok(())
}

/// SCAN's cursor is the next shard to visit; each call returns every key of
/// whole shards until COUNT is reached (COUNT is a hint in Redis too), so a
/// full scan returns every key that was present throughout, whatever resizes.
pub(super) fn scan(ctx: &mut Ctx) -> CmdResult {
    let db = ctx.db();
    let cursor = parse_cursor(ctx.arg(1))?;
    let opts = ScanOpts::parse(&ctx.args[2..], true)?;
    let shards = 64;
    let mut shard = cursor as usize;
    let mut found = Vec::new();
    while shard < shards && found.len() < opts.count {
        for key in ctx.ks().scan_shard(db, shard) {
            if !opts.matches(&key) {
                continue;
            }
            if let Some(t) = &opts.type_ {
                let ty = ctx.ks().peek(db, &key).map_or("none", |e| e.value().type_name());
                if !eq(t, ty) {
                    continue;
                }
            }
            found.push(key);
        }
        shard += 1;
    }
    let next = if shard >= shards { 0 } else { shard };
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.bulks(found.iter().map(|k| k.as_slice()));
    Ok(())
}

pub(crate) fn parse_cursor(b: &[u8]) -> Result<u64, Error> {
    std::str::from_utf8(b).ok().and_then(|s| s.parse::<u64>().ok()).ok_or(Error::from("ERR invalid cursor"))
}

pub(crate) struct ScanOpts<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_: Option<&'a [u8]>,
    pub novalues: bool,
}

impl<'a> ScanOpts<'a> {
    pub fn parse(args: &[&'a [u8]], allow_type: bool) -> Result<ScanOpts<'a>, Error> {
        let mut o = ScanOpts { pattern: None, count: 10, type_: None, novalues: false };
        let mut i = 0;
        while i < args.len() {
            let has_value = i + 1 < args.len();
            if eq(args[i], "match") && has_value {
                o.pattern = Some(args[i + 1]);
            } else if eq(args[i], "count") && has_value {
                let n = int(args[i + 1])?;
                if n < 1 {
                    return Err(SYNTAX.into());
                }
                o.count = n as usize;
            } else if eq(args[i], "type") && has_value && allow_type {
                o.type_ = Some(args[i + 1]);
            } else if eq(args[i], "novalues") && !allow_type {
                o.novalues = true;
                i += 1;
                continue;
            } else {
                return Err(SYNTAX.into());
            }
            i += 2;
        }
        Ok(o)
    }

    pub fn matches(&self, item: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob::matches(p, item))
    }
}
