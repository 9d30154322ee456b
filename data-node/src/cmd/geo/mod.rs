//! Geospatial commands on sorted sets whose scores are Redis's 52-bit
//! geohashes: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS[BYMEMBER][_RO],
//! GEOSEARCH and GEOSEARCHSTORE, answered as redis-server answers them.

mod geohash;

use std::ops::Bound;

use crate::cmd::Ctx;
use crate::cmd::args::{eq, float, int};
use crate::cmd::error::{CmdResult, Error, SYNTAX};
use crate::cmd::spec::{KEY1, Keys, Spec, flag::*, spec};
use crate::cmd::typed::read_zset;
use crate::keyspace::{Value, ZSet};
use geohash::{Search, Shape};

const KEY12: Keys = Keys::Range { first: 1, last: 2, step: 1 };

pub const COMMANDS: &[Spec] = &[
    spec!("geoadd", -5, WRITE | DENYOOM, KEY1, geoadd),
    spec!("geodist", -4, READONLY, KEY1, geodist),
    spec!("geohash", -2, READONLY, KEY1, geohash),
    spec!("geopos", -2, READONLY, KEY1, geopos),
    spec!("georadius", -6, WRITE | DENYOOM, Keys::Store, georadius),
    spec!("georadius_ro", -6, READONLY, KEY1, georadius_ro),
    spec!("georadiusbymember", -5, WRITE | DENYOOM, Keys::Store, georadiusbymember),
    spec!("georadiusbymember_ro", -5, READONLY, KEY1, georadiusbymember_ro),
    spec!("geosearch", -7, READONLY, KEY1, geosearch),
    spec!("geosearchstore", -8, WRITE | DENYOOM, KEY12, geosearchstore),
];

/// A longitude and latitude from two arguments, on the map Redis indexes.
fn position(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], Error> {
    let xy = [float(lon)?, float(lat)?];
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&xy[0])
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&xy[1])
    {
        return Err(format!("ERR invalid longitude,latitude pair {:.6},{:.6}", xy[0], xy[1]).into());
    }
    Ok(xy)
}

/// Metres per unit.
fn unit(u: &[u8]) -> Result<f64, Error> {
    match () {
        _ if eq(u, "m") => Ok(1.0),
        _ if eq(u, "km") => Ok(1000.0),
        _ if eq(u, "ft") => Ok(0.3048),
        _ if eq(u, "mi") => Ok(1609.34),
        _ => Err("ERR unsupported unit provided. please use M, KM, FT, MI".into()),
    }
}

fn number(arg: &[u8], what: &str) -> Result<f64, Error> {
    float(arg).map_err(|_| Error::from(format!("ERR need numeric {what}")))
}

/// A distance as GEODIST and WITHDIST print it: four decimals.
fn reply_distance(out: &mut crate::resp::Reply, metres: f64) {
    out.bulk(format!("{metres:.4}").as_bytes());
}

/// A coordinate as GEOPOS and WITHCOORD print it: 17 decimals, trailing zeros cut.
fn reply_coordinate(out: &mut crate::resp::Reply, v: f64) {
    let text = format!("{v:.17}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let text = if text == "-0" { "0" } else { text };
    out.double_text(text);
}

fn geoadd(ctx: &mut Ctx) -> CmdResult {
    let args = ctx.args;
    let mut at = 2;
    let (mut nx, mut xx) = (false, false);
    while at < args.len() {
        match () {
            _ if eq(args[at], "nx") => nx = true,
            _ if eq(args[at], "xx") => xx = true,
            _ if eq(args[at], "ch") => {}
            _ => break,
        }
        at += 1;
    }
    let triples = &args[at..];
    if !triples.len().is_multiple_of(3) || triples.is_empty() || (nx && xx) {
        return Err(SYNTAX.into());
    }
    let mut scores = Vec::with_capacity(triples.len() / 3);
    for t in triples.chunks(3) {
        let [lon, lat] = position(t[0], t[1])?;
        let score = geohash::score_of(lon, lat).ok_or(Error::from(SYNTAX))?;
        scores.push((score as u64).to_string().into_bytes());
    }
    // As ZADD with the computed scores (and replicated as that ZADD).
    let mut zadd: Vec<&[u8]> = Vec::with_capacity(at + scores.len() * 2);
    zadd.push(b"zadd");
    zadd.extend_from_slice(&args[1..at]);
    for (t, score) in triples.chunks(3).zip(&scores) {
        zadd.push(score);
        zadd.push(t[2]);
    }
    crate::cmd::zsets::zadd_with(ctx, &zadd)?;
    ctx.propagate_as = Some(zadd.iter().map(|a| a.to_vec()).collect());
    Ok(())
}

fn geodist(ctx: &mut Ctx) -> CmdResult {
    let (db, key) = (ctx.db(), ctx.arg(1));
    let to_metres = match ctx.argc() {
        4 => 1.0,
        5 => unit(ctx.arg(4))?,
        _ => return Err(SYNTAX.into()),
    };
    let (a, b) = (ctx.arg(2), ctx.arg(3));
    let (ks, out) = ctx.parts();
    let scores = read_zset(ks, db, key)?.map(|z| (z.score(a), z.score(b)));
    match scores {
        Some((Some(s1), Some(s2))) => {
            let [x1, y1] = geohash::decode_score(s1);
            let [x2, y2] = geohash::decode_score(s2);
            reply_distance(out, geohash::distance(x1, y1, x2, y2) / to_metres);
        }
        _ => out.null(),
    }
    Ok(())
}

fn geohash(ctx: &mut Ctx) -> CmdResult {
    let (db, key, members) = (ctx.db(), ctx.arg(1), &ctx.args[2..]);
    let (ks, out) = ctx.parts();
    let z = read_zset(ks, db, key)?;
    out.array(members.len());
    for m in members {
        match z.and_then(|z| z.score(m)) {
            Some(score) => out.bulk(geohash::geohash_string(score).as_bytes()),
            None => out.null(),
        }
    }
    Ok(())
}

fn geopos(ctx: &mut Ctx) -> CmdResult {
    let (db, key, members) = (ctx.db(), ctx.arg(1), &ctx.args[2..]);
    let (ks, out) = ctx.parts();
    let z = read_zset(ks, db, key)?;
    out.array(members.len());
    for m in members {
        match z.and_then(|z| z.score(m)) {
            Some(score) => {
                let [lon, lat] = geohash::decode_score(score);
                out.array(2);
                reply_coordinate(out, lon);
                reply_coordinate(out, lat);
            }
            None => out.null_array(),
        }
    }
    Ok(())
}

/// Which command form is parsing its arguments.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Radius { by_member: bool, store_allowed: bool },
    Search { store: bool },
}

struct Query<'a> {
    center: Option<[f64; 2]>,
    shape: Option<Shape>,
    /// Metres per unit of the distances given and answered.
    per_unit: f64,
    with_dist: bool,
    with_hash: bool,
    with_coord: bool,
    ascending: Option<bool>,
    count: usize,
    any: bool,
    store: Option<&'a [u8]>,
    store_dist: bool,
}

fn member_position(z: Option<&ZSet>, member: &[u8]) -> Result<Option<[f64; 2]>, Error> {
    match z {
        None => Ok(None),
        Some(z) => match z.score(member) {
            Some(score) => Ok(Some(geohash::decode_score(score))),
            None => Err("ERR could not decode requested zset member".into()),
        },
    }
}

fn parse<'a>(args: &[&'a [u8]], form: Form, z: Option<&ZSet>) -> Result<Query<'a>, Error> {
    let mut q = Query {
        center: None,
        shape: None,
        per_unit: 1.0,
        with_dist: false,
        with_hash: false,
        with_coord: false,
        ascending: None,
        count: 0,
        any: false,
        store: None,
        store_dist: false,
    };
    let base = match form {
        Form::Radius { by_member: false, .. } => {
            q.center = Some(position(args[2], args[3])?);
            let radius = number(args[4], "radius")?;
            if radius < 0.0 {
                return Err("ERR radius cannot be negative".into());
            }
            q.per_unit = unit(args[5])?;
            q.shape = Some(Shape::Circle(radius));
            6
        }
        Form::Radius { by_member: true, .. } => {
            if z.is_some() {
                q.center = member_position(z, args[2])?;
                let radius = number(args[3], "radius")?;
                if radius < 0.0 {
                    return Err("ERR radius cannot be negative".into());
                }
                q.per_unit = unit(args[4])?;
                q.shape = Some(Shape::Circle(radius));
            }
            5
        }
        Form::Search { store: true } => {
            q.store = Some(args[1]);
            3
        }
        Form::Search { store: false } => 2,
    };
    let search = matches!(form, Form::Search { .. });
    let store_allowed = matches!(form, Form::Radius { store_allowed: true, .. });
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) = (false, false, false, false);
    let rest = &args[base..];
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i];
        let left = rest.len() - i - 1;
        match () {
            _ if eq(a, "withdist") => q.with_dist = true,
            _ if eq(a, "withhash") => q.with_hash = true,
            _ if eq(a, "withcoord") => q.with_coord = true,
            _ if eq(a, "any") => q.any = true,
            _ if eq(a, "asc") => q.ascending = Some(true),
            _ if eq(a, "desc") => q.ascending = Some(false),
            _ if eq(a, "count") && left >= 1 => {
                let count = int(rest[i + 1])?;
                if count <= 0 {
                    return Err("ERR COUNT must be > 0".into());
                }
                q.count = count as usize;
                i += 1;
            }
            _ if (eq(a, "store") || eq(a, "storedist")) && left >= 1 && store_allowed => {
                q.store = Some(rest[i + 1]);
                q.store_dist = eq(a, "storedist");
                i += 1;
            }
            _ if eq(a, "storedist") && form == (Form::Search { store: true }) => q.store_dist = true,
            _ if eq(a, "frommember") && left >= 1 && search && !from_lonlat => {
                q.center = member_position(z, rest[i + 1])?;
                from_member = true;
                i += 1;
            }
            _ if eq(a, "fromlonlat") && left >= 2 && search && !from_member => {
                q.center = Some(position(rest[i + 1], rest[i + 2])?);
                from_lonlat = true;
                i += 2;
            }
            _ if eq(a, "byradius") && left >= 2 && search && !by_box => {
                let radius = number(rest[i + 1], "radius")?;
                if radius < 0.0 {
                    return Err("ERR radius cannot be negative".into());
                }
                q.per_unit = unit(rest[i + 2])?;
                q.shape = Some(Shape::Circle(radius));
                by_radius = true;
                i += 2;
            }
            _ if eq(a, "bybox") && left >= 3 && search && !by_radius => {
                let width = number(rest[i + 1], "width")?;
                let height = number(rest[i + 2], "height")?;
                if width < 0.0 || height < 0.0 {
                    return Err("ERR height or width cannot be negative".into());
                }
                q.per_unit = unit(rest[i + 3])?;
                q.shape = Some(Shape::Box(width, height));
                by_box = true;
                i += 3;
            }
            _ => return Err(SYNTAX.into()),
        }
        i += 1;
    }
    if q.store.is_some() && (q.with_dist || q.with_hash || q.with_coord) {
        let which = if form == (Form::Search { store: true }) { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(format!("ERR {which} is not compatible with WITHDIST, WITHHASH and WITHCOORD options").into());
    }
    let name = String::from_utf8_lossy(args[0]);
    if search && !(from_member || from_lonlat) {
        return Err(format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}").into());
    }
    if search && !(by_radius || by_box) {
        return Err(format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}").into());
    }
    if q.any && q.count == 0 {
        return Err("ERR the ANY argument requires COUNT argument".into());
    }
    Ok(q)
}

struct Found {
    member: Vec<u8>,
    score: f64,
    /// Metres.
    dist: f64,
    xy: [f64; 2],
}

/// The members inside the search, read box by box as redis-server reads them.
fn find(z: &ZSet, search: &Search, limit: usize) -> Vec<Found> {
    let mut found = Vec::new();
    for (min, max) in search.score_ranges() {
        if limit > 0 && found.len() >= limit {
            break;
        }
        for (member, score) in z.range_by_score(Bound::Included(min), Bound::Excluded(max)) {
            let xy = geohash::decode_score(score);
            if let Some(dist) = search.distance_if_inside(xy) {
                found.push(Found { member: member.to_vec(), score, dist, xy });
                if limit > 0 && found.len() >= limit {
                    break;
                }
            }
        }
    }
    found
}

fn search_generic(ctx: &mut Ctx, source: usize, form: Form) -> CmdResult {
    let db = ctx.db();
    let args = ctx.args;
    let src = args[source];
    let (ks, out) = ctx.parts();
    let z = read_zset(ks, db, src)?;
    let q = parse(args, form, z)?;
    let (Some(z), Some(center), Some(shape)) = (z, q.center, q.shape) else {
        // No source: an empty answer, or an emptied destination.
        match q.store {
            Some(dst) => {
                ctx.ks().remove(db, dst);
                ctx.out.int(0);
            }
            None => out.array(0),
        }
        return Ok(());
    };
    let metres = |v: f64| v * q.per_unit;
    let shape = match shape {
        Shape::Circle(r) => Shape::Circle(metres(r)),
        Shape::Box(w, h) => Shape::Box(metres(w), metres(h)),
    };
    let search = Search { center, shape };
    let ascending = q.ascending.or((q.count > 0 && !q.any).then_some(true));
    let mut found = find(z, &search, if q.any { q.count } else { 0 });
    if let Some(ascending) = ascending {
        found.sort_by(|a, b| {
            let order = a.dist.partial_cmp(&b.dist).unwrap_or(std::cmp::Ordering::Equal);
            if ascending { order } else { order.reverse() }
        });
    }
    if q.count > 0 {
        found.truncate(q.count);
    }
    match q.store {
        None => {
            let options = usize::from(q.with_dist) + usize::from(q.with_hash) + usize::from(q.with_coord);
            out.array(found.len());
            for f in &found {
                if options > 0 {
                    out.array(options + 1);
                }
                out.bulk(&f.member);
                if q.with_dist {
                    reply_distance(out, f.dist / q.per_unit);
                }
                if q.with_hash {
                    out.int(f.score as i64);
                }
                if q.with_coord {
                    out.array(2);
                    reply_coordinate(out, f.xy[0]);
                    reply_coordinate(out, f.xy[1]);
                }
            }
        }
        Some(dst) => {
            let mut result = ZSet::default();
            for f in &found {
                result.insert(&f.member, if q.store_dist { f.dist / q.per_unit } else { f.score });
            }
            let len = result.len();
            crate::cmd::typed::store_result(ctx, dst, Value::ZSet(Box::new(result)), len);
        }
    }
    Ok(())
}

fn georadius(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, 1, Form::Radius { by_member: false, store_allowed: true })
}

fn georadius_ro(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, 1, Form::Radius { by_member: false, store_allowed: false })
}

fn georadiusbymember(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, 1, Form::Radius { by_member: true, store_allowed: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, 1, Form::Radius { by_member: true, store_allowed: false })
}

fn geosearch(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, 1, Form::Search { store: false })
}

fn geosearchstore(ctx: &mut Ctx) -> CmdResult {
    search_generic(ctx, 2, Form::Search { store: true })
}
