//! Memory accounting: what an allocation really costs under glibc malloc.
//!
//! `used_memory` must track what the keyspace holds, so sizes are rounded the way
//! the allocator rounds them (16-byte chunks, an 8-byte header, 32 bytes minimum).

pub const fn alloc_size(requested: usize) -> usize {
    if requested == 0 {
        return 0;
    }
    let chunk = (requested + 8 + 15) & !15;
    if chunk < 32 { 32 } else { chunk }
}

/// Cost of one hashbrown slot holding `T` plus its control byte, per element at
/// a given capacity (hashbrown keeps buckets as a power of two).
pub const fn table_size(buckets: usize, slot: usize) -> usize {
    if buckets == 0 { 0 } else { alloc_size(buckets * (slot + 1) + 16) }
}

/// hashbrown's bucket count for a table that can hold `capacity` items.
pub fn buckets_for(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else if capacity < 4 {
        4
    } else if capacity < 8 {
        8
    } else {
        (capacity * 8 / 7).next_power_of_two()
    }
}
