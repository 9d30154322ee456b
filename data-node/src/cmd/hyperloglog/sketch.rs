//! Redis's HyperLogLog as bytes: a 16-byte header ("HYLL", encoding, 3
//! unused bytes, a cached cardinality) and 16384 6-bit registers, either
//! dense (packed, 12288 bytes) or sparse (ZERO, XZERO and VAL run opcodes).
//! Every update is the one redis-server's hyperloglog.c makes, so the bytes
//! (and the counts) agree with redis-server's whichever side wrote them.
//! Corrupt input is an error, never a panic.

pub const REGISTERS: usize = 1 << P;
const P: u32 = 14;
const Q: u32 = 64 - P;
const REGISTER_MAX: u8 = 63;
pub const HEADER: usize = 16;
const DENSE_BYTES: usize = (REGISTERS * 6).div_ceil(8);
pub const DENSE_SIZE: usize = HEADER + DENSE_BYTES;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const SEED: u64 = 0xadc8_3b19;

/// The value is not a HyperLogLog (Redis answers WRONGTYPE).
#[derive(Debug, PartialEq)]
pub struct NotHll;

/// The HyperLogLog's registers do not add up (Redis answers INVALIDOBJ).
#[derive(Debug, PartialEq)]
pub struct Corrupt;

/// MurmurHash64A as Redis uses it (little-endian reads).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the run of zeros it counts (1..=51).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// An empty HyperLogLog: sparse, one XZERO run over every register.
pub fn new_sparse() -> Vec<u8> {
    let mut hll = vec![0u8; HEADER];
    hll[..4].copy_from_slice(b"HYLL");
    hll[4] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        hll.extend(xzero(run));
        left -= run;
    }
    hll
}

/// Whether a string value is a HyperLogLog (isHLLObjectOrReply).
pub fn check(bytes: &[u8]) -> Result<(), NotHll> {
    if bytes.len() < HEADER || &bytes[..4] != b"HYLL" || bytes[4] > SPARSE {
        return Err(NotHll);
    }
    if bytes[4] == DENSE && bytes.len() != DENSE_SIZE {
        return Err(NotHll);
    }
    Ok(())
}

pub fn is_dense(hll: &[u8]) -> bool {
    hll.get(4) == Some(&DENSE)
}

/// The cached cardinality, when the cache is valid.
pub fn cached(hll: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(hll.get(8..16)?.try_into().ok()?);
    (card >> 63 == 0).then_some(card)
}

pub fn set_cache(hll: &mut [u8], card: u64) {
    if let Some(slot) = hll.get_mut(8..16) {
        slot.copy_from_slice(&card.to_le_bytes());
    }
}

pub fn invalidate_cache(hll: &mut [u8]) {
    if let Some(b) = hll.get_mut(15) {
        *b |= 0x80;
    }
}

// Dense registers: 6 bits each, packed from the least significant bit.

pub fn dense_get(registers: &[u8], index: usize) -> u8 {
    let byte = index * 6 / 8;
    let shift = (index * 6) & 7;
    let b0 = u16::from(registers.get(byte).copied().unwrap_or(0));
    let b1 = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

pub(super) fn dense_set(registers: &mut [u8], index: usize, value: u8) {
    let byte = index * 6 / 8;
    let shift = (index * 6) & 7;
    let value = u16::from(value & REGISTER_MAX);
    if let Some(b0) = registers.get_mut(byte) {
        *b0 &= !((u16::from(REGISTER_MAX) << shift) as u8);
        *b0 |= (value << shift) as u8;
    }
    if let Some(b1) = registers.get_mut(byte + 1) {
        *b1 &= !((u16::from(REGISTER_MAX) >> (8 - shift)) as u8);
        *b1 |= (value >> (8 - shift)) as u8;
    }
}

/// Raises a dense register to `count`; true if it grew.
fn dense_raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(registers, index) {
        dense_set(registers, index, count);
        true
    } else {
        false
    }
}

// Sparse opcodes.

enum Op {
    Zero(usize),
    XZero(usize),
    Val { value: u8, len: usize },
}

/// The opcode at `at` and its size in bytes.
fn op_at(sparse: &[u8], at: usize) -> (Op, usize) {
    let b = sparse[at];
    if b & 0xc0 == 0 {
        (Op::Zero(usize::from(b & 0x3f) + 1), 1)
    } else if b & 0xc0 == 0x40 {
        let low = usize::from(sparse.get(at + 1).copied().unwrap_or(0));
        (Op::XZero((usize::from(b & 0x3f) << 8 | low) + 1), 2)
    } else {
        (Op::Val { value: ((b >> 2) & 0x1f) + 1, len: usize::from(b & 0x3) + 1 }, 1)
    }
}

fn val(value: u8, len: usize) -> u8 {
    (((value - 1) << 2) | (len as u8 - 1)) | 0x80
}

fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [(l >> 8) as u8 | 0x40, (l & 0xff) as u8]
}

fn zeros(len: usize, out: &mut Vec<u8>) {
    if len > SPARSE_ZERO_MAX_LEN {
        out.extend(xzero(len));
    } else {
        out.push(zero(len));
    }
}

/// Calls `f(first register, run length, value)` for each run; Err if the
/// runs do not cover exactly every register.
fn sparse_runs(sparse: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let (mut at, mut index) = (0, 0);
    while at < sparse.len() {
        let (op, size) = op_at(sparse, at);
        let (len, value) = match op {
            Op::Zero(len) | Op::XZero(len) => (len, 0),
            Op::Val { value, len } => (len, value),
        };
        if index + len > REGISTERS {
            return Err(Corrupt);
        }
        f(index, len, value);
        index += len;
        at += size;
    }
    if index == REGISTERS { Ok(()) } else { Err(Corrupt) }
}

/// The sparse form becomes dense (the cached cardinality is kept).
pub fn to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if is_dense(hll) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HEADER].copy_from_slice(&hll[..HEADER]);
    dense[4] = DENSE;
    let registers = &mut dense[HEADER..];
    sparse_runs(&hll[HEADER..], |first, len, value| {
        if value > 0 {
            (first..first + len).for_each(|i| dense_set(registers, i, value));
        }
    })?;
    *hll = dense;
    Ok(())
}

/// Raises register `index` to `count` in a sparse HyperLogLog, rewriting the
/// run that holds it as redis-server does, or making it dense when the
/// count cannot be sparse or the sparse form would pass `sparse_max` bytes.
fn sparse_raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Step 1: the opcode covering `index`.
    let end = hll.len();
    let (mut at, mut first, mut span) = (HEADER, 0usize, 0usize);
    let mut prev = None;
    while at < end {
        let (op, size) = op_at(hll, at);
        span = match op {
            Op::Zero(len) | Op::XZero(len) | Op::Val { len, .. } => len,
        };
        if index < first + span {
            break;
        }
        prev = Some(at);
        at += size;
        first += span;
    }
    if span == 0 || at >= end {
        return Err(Corrupt);
    }
    let (op, old_size) = op_at(hll, at);
    // Step 2: cases that need no split.
    match op {
        Op::Val { value, .. } if value >= count => return Ok(false),
        Op::Val { len: 1, .. } | Op::Zero(1) => {
            hll[at] = val(count, 1);
            merge_neighbours(hll, prev.unwrap_or(HEADER));
            return Ok(true);
        }
        _ => {}
    }
    // The general case: split the run around the register.
    let last = first + span - 1;
    let mut seq = Vec::with_capacity(5);
    match op {
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                zeros(index - first, &mut seq);
            }
            seq.push(val(count, 1));
            if index != last {
                zeros(last - index, &mut seq);
            }
        }
        Op::Val { value, .. } => {
            if index != first {
                seq.push(val(value, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(value, last - index));
            }
        }
    }
    // Step 3: the new run in place of the old one, unless it grows too big.
    if seq.len() > old_size && hll.len() + seq.len() - old_size > sparse_max {
        return promote(hll, index, count);
    }
    hll.splice(at..at + old_size, seq);
    merge_neighbours(hll, prev.unwrap_or(HEADER));
    Ok(true)
}

/// Step 4: adjacent VAL runs of one value merge, scanning up to 5 opcodes from `from`.
fn merge_neighbours(hll: &mut Vec<u8>, from: usize) {
    let mut at = from;
    let mut scan = 5;
    while at < hll.len() && scan > 0 {
        scan -= 1;
        let b = hll[at];
        if b & 0xc0 == 0x40 {
            at += 2;
            continue;
        }
        if b & 0xc0 == 0 {
            at += 1;
            continue;
        }
        if let (Op::Val { value: v1, len: l1 }, Some(&next)) = (op_at(hll, at).0, hll.get(at + 1))
            && next & 0x80 != 0
            && let (Op::Val { value: v2, len: l2 }, _) = op_at(hll, at + 1)
            && v1 == v2
            && l1 + l2 <= SPARSE_VAL_MAX_LEN
        {
            hll[at + 1] = val(v1, l1 + l2);
            hll.remove(at);
            continue;
        }
        at += 1;
    }
}

fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    dense_raise(&mut hll[HEADER..], index, count);
    Ok(true)
}

/// Raises register `index` to `count`, in whichever encoding; true if it grew.
pub fn raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    let grew = if is_dense(hll) {
        dense_raise(&mut hll[HEADER..], index, count)
    } else {
        sparse_raise(hll, index, count, sparse_max)?
    };
    if grew {
        invalidate_cache(hll);
    }
    Ok(grew)
}

/// PFADD of one element: true if a register grew.
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    raise(hll, index, count, sparse_max)
}

/// A dense HyperLogLog's register.
pub fn dense_register(hll: &[u8], index: usize) -> u8 {
    dense_get(&hll[HEADER..], index)
}

/// Raises a dense HyperLogLog's register where it is (no resizing).
pub fn dense_raise_in_place(hll: &mut [u8], index: usize, count: u8) -> bool {
    let grew = dense_raise(&mut hll[HEADER..], index, count);
    if grew {
        invalidate_cache(hll);
    }
    grew
}

/// Every register's value, one byte each (PFMERGE's and PFCOUNT's union).
pub fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    if is_dense(hll) {
        let registers = &hll[HEADER..];
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(registers, i));
        }
        Ok(())
    } else {
        sparse_runs(&hll[HEADER..], |first, len, value| {
            for m in &mut max[first..first + len] {
                *m = (*m).max(value);
            }
        })
    }
}

/// The registers' histogram: how many registers hold each value.
fn histogram(hll: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut histo = [0u32; 64];
    if is_dense(hll) {
        let registers = &hll[HEADER..];
        (0..REGISTERS).for_each(|i| histo[usize::from(dense_get(registers, i))] += 1);
    } else {
        sparse_runs(&hll[HEADER..], |_, len, value| histo[usize::from(value)] += len as u32)?;
    }
    Ok(histo)
}

/// The cardinality estimate of a HyperLogLog (Ertl's estimator, as Redis 7).
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(hll)?))
}

/// The estimate for registers held one per byte (the union PFCOUNT builds).
pub fn count_registers(registers: &[u8]) -> u64 {
    let mut histo = [0u32; 64];
    registers.iter().for_each(|&r| histo[usize::from(r & 63)] += 1);
    estimate(&histo)
}

fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[Q as usize + 1])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// Every register (PFDEBUG GETREG).
pub fn registers(hll: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut all = vec![0u8; REGISTERS];
    merge_into(&mut all, hll)?;
    Ok(all)
}

/// The sparse opcodes as redis-server's PFDEBUG DECODE prints them.
pub fn decode(hll: &[u8]) -> String {
    let sparse = &hll[HEADER..];
    let mut out = Vec::new();
    let mut at = 0;
    while at < sparse.len() {
        let (op, size) = op_at(sparse, at);
        out.push(match op {
            Op::Zero(len) => format!("z:{len}"),
            Op::XZero(len) => format!("Z:{len}"),
            Op::Val { value, len } => format!("v:{value},{len}"),
        });
        at += size;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_registers_hold_their_values_without_touching_neighbours() {
        let mut registers = vec![0u8; DENSE_BYTES];
        let mut expected = vec![0u8; REGISTERS];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..3 {
            for (i, slot) in expected.iter_mut().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *slot = (seed & 63) as u8;
                dense_set(&mut registers, i, *slot);
            }
            assert!((0..REGISTERS).all(|i| dense_get(&registers, i) == expected[i]));
        }
    }

    #[test]
    fn sparse_and_dense_agree_and_estimates_stay_close() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        assert_eq!(count(&sparse), Ok(0));
        let mut checkpoint = 1;
        for j in 1..=200_000u64 {
            let element = j.to_le_bytes();
            add(&mut sparse, &element, 3000).unwrap();
            add(&mut dense, &element, 3000).unwrap();
            if j == checkpoint {
                assert_eq!(count(&sparse), count(&dense), "at {j}");
                let card = count(&dense).unwrap() as f64;
                let max_error = (1.04 / (REGISTERS as f64).sqrt() * 6.0 * j as f64).ceil().max(1.0);
                assert!((card - j as f64).abs() <= max_error, "{card} for {j}");
                if j < 1500 {
                    assert!(!is_dense(&sparse), "still sparse at {j}");
                }
                checkpoint *= 10;
            }
        }
        assert!(is_dense(&sparse), "promoted past hll-sparse-max-bytes");
        assert_eq!(registers(&sparse), registers(&dense));
    }

    #[test]
    fn corruption_is_an_error_never_a_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let mut hll = new_sparse();
            for j in 0..(round % 300) {
                add(&mut hll, &(j as u64).to_le_bytes(), 3000).unwrap();
            }
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = HEADER + (seed as usize % (hll.len() - HEADER));
                hll[at] = (seed >> 32) as u8;
            }
            let _ = count(&hll);
            let _ = add(&mut hll, b"x", 3000);
            let _ = registers(&hll);
        }
        let mut tail = new_sparse();
        tail.extend_from_slice(b"hello");
        assert_eq!(count(&tail), Err(Corrupt));
        assert_eq!(check(b"HYLL\x00not dense enough"), Err(NotHll));
    }
}
