//! LCS: the longest common subsequence of two strings, by Redis's dynamic
//! programme, with the matching ranges (IDX) walked back the way Redis walks
//! them so the ranges come out in the same order.

use super::read_str;
use crate::cmd::Ctx;
use crate::cmd::args::{eq, int};
use crate::cmd::error::{CmdResult, Error, SYNTAX};

struct Options {
    len: bool,
    idx: bool,
    min_match_len: usize,
    with_match_len: bool,
}

fn parse(args: &[&[u8]]) -> Result<Options, Error> {
    let mut o = Options { len: false, idx: false, min_match_len: 0, with_match_len: false };
    let mut i = 3;
    while i < args.len() {
        let a = args[i];
        if eq(a, "len") {
            o.len = true;
        } else if eq(a, "idx") {
            o.idx = true;
        } else if eq(a, "withmatchlen") {
            o.with_match_len = true;
        } else if eq(a, "minmatchlen") && i + 1 < args.len() {
            o.min_match_len = usize::try_from(int(args[i + 1])?).unwrap_or(0);
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if o.len && o.idx {
        return Err("ERR If you want both the length and indexes, please just use IDX.".into());
    }
    Ok(o)
}

/// One matching run: positions in a, positions in b (inclusive).
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

/// The LCS itself and its runs, last run first (as Redis reports them).
fn walk_back(a: &[u8], b: &[u8], table: &[u32]) -> (Vec<u8>, Vec<Match>) {
    let width = b.len() + 1;
    let at = |i: usize, j: usize| table[i * width + j];
    let mut common = Vec::with_capacity(at(a.len(), b.len()) as usize);
    let mut runs = Vec::new();
    let mut run: Option<Match> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            common.push(a[i - 1]);
            run = Some(match run {
                Some(r) if r.a.0 == i && r.b.0 == j => Match { a: (i - 1, r.a.1), b: (j - 1, r.b.1) },
                Some(r) => {
                    runs.push(r);
                    Match { a: (i - 1, i - 1), b: (j - 1, j - 1) }
                }
                None => Match { a: (i - 1, i - 1), b: (j - 1, j - 1) },
            });
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            runs.extend(run.take());
        }
    }
    runs.extend(run);
    common.reverse();
    (common, runs)
}

pub(super) fn lcs(ctx: &mut Ctx) -> CmdResult {
    let o = parse(ctx.args)?;
    let (db, key_a, key_b) = (ctx.db(), ctx.arg(1), ctx.arg(2));
    let a = read_str(ctx.ks(), db, key_a)?.unwrap_or_default().to_vec();
    let b = read_str(ctx.ks(), db, key_b)?.unwrap_or_default().to_vec();
    let cells = (a.len() + 1).saturating_mul(b.len() + 1);
    if cells.saturating_mul(4) > super::MAX_STRING {
        return Err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len".into());
    }
    let mut table = vec![0u32; cells];
    let width = b.len() + 1;
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let length = table[a.len() * width + b.len()];
    if o.len {
        ctx.out.int(length as i64);
        return Ok(());
    }
    let (common, runs) = walk_back(&a, &b, &table);
    if !o.idx {
        ctx.out.bulk(&common);
        return Ok(());
    }
    let shown: Vec<&Match> = runs.iter().filter(|r| r.a.1 - r.a.0 + 1 >= o.min_match_len).collect();
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(shown.len());
    for r in shown {
        ctx.out.array(if o.with_match_len { 3 } else { 2 });
        for (start, end) in [r.a, r.b] {
            ctx.out.array(2);
            ctx.out.int(start as i64);
            ctx.out.int(end as i64);
        }
        if o.with_match_len {
            ctx.out.int((r.a.1 - r.a.0 + 1) as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(length as i64);
    Ok(())
}
