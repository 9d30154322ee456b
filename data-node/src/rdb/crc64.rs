//! CRC-64/Jones (reflected, polynomial 0xad93d23594c935a9), the checksum
//! that ends an RDB file. Sixteen bytes at a time (slicing-by-16): a
//! snapshot checksums everything it writes, and a byte at a time was most
//! of a snapshot's cost.

const POLY: u64 = 0x95ac_9329_ac4b_c9b5; // 0xad93d23594c935a9 bit-reflected

const SLICES: usize = 16;

/// `TABLES[0]` is the byte-at-a-time table; `TABLES[k][b]` is the CRC of
/// byte `b` followed by `k` zero bytes.
static TABLES: std::sync::LazyLock<[[u64; 256]; SLICES]> = std::sync::LazyLock::new(|| {
    let mut tables = [[0u64; 256]; SLICES];
    for (i, slot) in tables[0].iter_mut().enumerate() {
        let mut crc = i as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
        *slot = crc;
    }
    for k in 1..SLICES {
        for i in 0..256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
        }
    }
    tables
});

pub fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    let t = &*TABLES;
    let word = |b: &[u8]| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(b);
        u64::from_le_bytes(eight)
    };
    // Each byte's table is the one for the bytes that follow it in the block.
    let fold = |x: u64, last: usize| (0..8).fold(0, |acc, i| acc ^ t[last - i][((x >> (8 * i)) & 0xff) as usize]);
    let mut blocks = bytes.chunks_exact(SLICES);
    for block in &mut blocks {
        let (low, high) = (crc ^ word(&block[..8]), word(&block[8..]));
        crc = fold(low, 15) ^ fold(high, 7);
    }
    for b in blocks.remainder() {
        crc = t[0][((crc ^ u64::from(*b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn redis_test_vector() {
        // From redis's crc64.c self-test.
        assert_eq!(super::update(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn eight_at_a_time_is_one_at_a_time() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let one_by_one = bytes.iter().fold(0, |crc, b| super::update(crc, std::slice::from_ref(b)));
        assert_eq!(super::update(0, &bytes), one_by_one);
        // Split anywhere, the same.
        for split in [1, 7, 8, 9, 15, 16, 17, 500] {
            assert_eq!(super::update(super::update(0, &bytes[..split]), &bytes[split..]), one_by_one);
        }
    }
}
