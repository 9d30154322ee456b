//! SORT and SORT_RO: a list, set or sorted set's elements ordered by their
//! own value or by keys their value names (BY weight_*), optionally mapped
//! through other keys (GET), cut (LIMIT) and stored as a list (STORE).

use std::cmp::Ordering;

use crate::cmd::Ctx;
use crate::cmd::args::{eq, int, parse_f64};
use crate::cmd::error::{CmdResult, Error, SYNTAX, WRONGTYPE};
use crate::keyspace::{List, Locked, Value, ValueRef};

#[derive(Default)]
struct Options<'a> {
    desc: bool,
    alpha: bool,
    /// Offset and count; a negative count means "to the end".
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

impl<'a> Options<'a> {
    fn parse(args: &[&'a [u8]], read_only: bool) -> Result<Options<'a>, Error> {
        let mut o = Options::default();
        let mut i = 2;
        while i < args.len() {
            let left = args.len() - i - 1;
            let word = args[i];
            if eq(word, "asc") {
                o.desc = false;
            } else if eq(word, "desc") {
                o.desc = true;
            } else if eq(word, "alpha") {
                o.alpha = true;
            } else if eq(word, "limit") && left >= 2 {
                o.limit = Some((int(args[i + 1])?, int(args[i + 2])?));
                i += 2;
            } else if eq(word, "store") && left >= 1 && !read_only {
                o.store = Some(args[i + 1]);
                i += 1;
            } else if eq(word, "by") && left >= 1 {
                o.by = Some(args[i + 1]);
                i += 1;
            } else if eq(word, "get") && left >= 1 {
                o.gets.push(args[i + 1]);
                i += 1;
            } else {
                return Err(SYNTAX.into());
            }
            i += 1;
        }
        Ok(o)
    }

    /// BY without a `*` (BY nosort) keeps the elements' own order.
    fn dont_sort(&self) -> bool {
        self.by.is_some_and(|by| !by.contains(&b'*'))
    }
}

/// The value a BY or GET pattern names for `element`: `*` is replaced by the
/// element, and `key->field` reads a hash field. A pattern without `*` names
/// nothing; a key of the wrong type reads as missing.
fn lookup(ks: &mut Locked<'_>, db: usize, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    let arrow = pattern.windows(2).position(|w| w == b"->").filter(|&at| at + 2 < pattern.len());
    let (key_pattern, field) = match arrow {
        Some(at) => (&pattern[..at], Some(&pattern[at + 2..])),
        None => (pattern, None),
    };
    let star = key_pattern.iter().position(|&b| b == b'*')?;
    let mut key = Vec::with_capacity(key_pattern.len() + element.len());
    key.extend_from_slice(&key_pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(&key_pattern[star + 1..]);
    match (ks.get(db, &key)?.value(), field) {
        (ValueRef::Str(s), None) => Some(s.to_vec()),
        (ValueRef::Hash(h), Some(field)) => h.get(field).map(|v| v.to_vec()),
        _ => None,
    }
}

/// The source's elements in their own order (a set's is arbitrary).
fn elements(ks: &mut Locked<'_>, db: usize, key: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    Ok(match ks.get(db, key).map(|e| e.value()) {
        None => Vec::new(),
        Some(ValueRef::List(l)) => l.iter().map(|v| v.to_vec()).collect(),
        Some(ValueRef::Set(s)) => s.iter().map(|v| v.to_vec()).collect(),
        Some(ValueRef::ZSet(z)) => z.iter().map(|(m, _)| m.to_vec()).collect(),
        Some(_) => return Err(WRONGTYPE.into()),
    })
}

/// LIMIT as Redis clamps it: the half-open range of positions to output.
fn window(limit: Option<(i64, i64)>, len: usize) -> std::ops::Range<usize> {
    let Some((offset, count)) = limit else { return 0..len };
    let start = offset.clamp(0, len as i64) as usize;
    let end = if count < 0 { len } else { start.saturating_add(count.min(len as i64) as usize).min(len) };
    start..end
}

enum SortKey {
    Number(f64),
    Text(Option<Vec<u8>>),
}

const NOT_A_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// Orders `items` as Redis does: by number (ties by the element's bytes) or,
/// with ALPHA, by bytes, a missing BY value first.
fn sort(ks: &mut Locked<'_>, db: usize, o: &Options<'_>, items: &mut Vec<Vec<u8>>) -> Result<(), Error> {
    let mut keyed = Vec::with_capacity(items.len());
    for element in items.drain(..) {
        let by = match o.by {
            Some(pattern) => lookup(ks, db, pattern, &element),
            None => None,
        };
        let key = if o.alpha {
            SortKey::Text(if o.by.is_some() { by } else { None })
        } else {
            let text = if o.by.is_some() { by.unwrap_or_default() } else { element.clone() };
            // Redis reads scores with strtod, which takes "" as 0.
            let number = if text.is_empty() { Some(0.0) } else { parse_f64(&text) };
            SortKey::Number(number.ok_or(Error::from(NOT_A_DOUBLE))?)
        };
        keyed.push((key, element));
    }
    let by_pattern = o.by.is_some();
    keyed.sort_unstable_by(|(ka, a), (kb, b)| {
        let order = match (ka, kb) {
            (SortKey::Number(x), SortKey::Number(y)) => {
                x.partial_cmp(y).unwrap_or(Ordering::Equal).then_with(|| a.cmp(b))
            }
            (SortKey::Text(x), SortKey::Text(y)) if by_pattern => x.cmp(y).then_with(|| a.cmp(b)),
            _ => a.cmp(b),
        };
        if o.desc { order.reverse() } else { order }
    });
    items.extend(keyed.into_iter().map(|(_, element)| element));
    Ok(())
}

fn sort_generic(ctx: &mut Ctx, read_only: bool) -> CmdResult {
    let mut o = Options::parse(ctx.args, read_only)?;
    let (db, key) = (ctx.db(), ctx.arg(1));
    let is_set = matches!(ctx.ks().get(db, key).map(|e| e.value()), Some(ValueRef::Set(_)));
    let mut items = elements(ctx.ks(), db, key)?;
    if o.dont_sort() && is_set {
        // A set's own order differs between servers: sort it, so replicas
        // and repeated calls agree.
        o.by = None;
        o.alpha = true;
    }
    if o.dont_sort() {
        if o.desc {
            items.reverse();
        }
    } else {
        sort(ctx.ks(), db, &o, &mut items)?;
    }
    let picked = &items[window(o.limit, items.len())];

    let mut out_values: Vec<Option<Vec<u8>>> = Vec::with_capacity(picked.len() * o.gets.len().max(1));
    for element in picked {
        if o.gets.is_empty() {
            out_values.push(Some(element.clone()));
        }
        for pattern in &o.gets {
            let value = if *pattern == b"#" { Some(element.clone()) } else { lookup(ctx.ks(), db, pattern, element) };
            out_values.push(value);
        }
    }

    match o.store {
        Some(dst) => {
            let mut list = List::default();
            for v in &out_values {
                list.push_back(v.as_deref().unwrap_or_default());
            }
            crate::cmd::typed::store_result(ctx, dst, Value::List(Box::new(list)), out_values.len());
        }
        None => {
            ctx.out.array(out_values.len());
            for v in &out_values {
                ctx.out.bulk_opt(v.as_deref());
            }
        }
    }
    Ok(())
}

pub(super) fn sort_cmd(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, false)
}

pub(super) fn sort_ro(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, true)
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn limit_clamps_as_redis_does() {
        assert_eq!(window(None, 5), 0..5);
        assert_eq!(window(Some((0, 2)), 5), 0..2);
        assert_eq!(window(Some((-10, 100)), 5), 0..5);
        assert_eq!(window(Some((5, 10)), 5), 5..5);
        assert_eq!(window(Some((3, -1)), 5), 3..5);
        assert_eq!(window(Some((i64::MAX, i64::MAX)), 5), 5..5);
    }
}
