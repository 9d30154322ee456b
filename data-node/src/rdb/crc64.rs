//! CRC-64/Jones (reflected, polynomial 0xad93d23594c935a9), the checksum
//! that ends an RDB file.

const POLY: u64 = 0x95ac_9329_ac4b_c9b5; // 0xad93d23594c935a9 bit-reflected

static TABLE: std::sync::LazyLock<[u64; 256]> = std::sync::LazyLock::new(|| {
    let mut table = [0u64; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut crc = i as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
        *slot = crc;
    }
    table
});

pub fn update(mut crc: u64, bytes: &[u8]) -> u64 {
    let table = &*TABLE;
    for b in bytes {
        crc = table[((crc ^ u64::from(*b)) & 0xff) as usize] ^ (crc >> 8);
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
}
