//! A small per-thread xorshift generator for sampling (eviction, SPOP,
//! RANDOMKEY); not for anything that needs to be unpredictable.

use std::cell::Cell;
use std::hash::BuildHasher;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let s = hashbrown::DefaultHashBuilder::default().hash_one(std::thread::current().id());
    s | 1
}

pub fn next_u64() -> u64 {
    STATE.with(|st| {
        let mut x = st.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        st.set(x);
        x
    })
}

/// `n` hex digits, for run ids and replication ids.
pub fn random_hex(n: usize) -> String {
    (0..n).map(|_| char::from_digit((next_u64() % 16) as u32, 16).unwrap_or('0')).collect()
}

/// Uniform in `0..n` (n > 0).
pub fn below(n: usize) -> usize {
    ((next_u64() as u128 * n as u128) >> 64) as usize
}

/// Uniform in `[0, 1)`.
pub fn unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}
