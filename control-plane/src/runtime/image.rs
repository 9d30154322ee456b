//! The `ferrocache/data-node` image: `FROM scratch` around the static
//! data-node binary, built from an in-memory tar context (no registry, no pull).

use std::path::Path;

use super::{RuntimeError, RuntimeResult};

pub const REPOSITORY: &str = "ferrocache/data-node";
pub const BINARY_IN_IMAGE: &str = "/data-node";

const DOCKERFILE: &str = "FROM scratch\nCOPY data-node /data-node\nENTRYPOINT [\"/data-node\"]\n";

pub struct ImageSource {
    pub tag: String,
    pub context: Vec<u8>,
}

/// Reads the binary, checks that it can run in an empty root, and names the
/// image after its contents, so a rebuilt binary gets a new image.
pub fn prepare(binary: &Path) -> RuntimeResult<ImageSource> {
    let bytes = std::fs::read(binary).map_err(|e| {
        RuntimeError::Image(format!(
            "reading the data-node binary {}: {e} (build it with scripts/build-static, or name one with --data-node-bin)",
            binary.display()
        ))
    })?;
    if !is_static_elf(&bytes) {
        return Err(RuntimeError::Image(format!(
            "{} is not a statically linked ELF binary, so it cannot run FROM scratch; build one with \
             scripts/build-static",
            binary.display()
        )));
    }
    let tag = format!("{REPOSITORY}:{:016x}", fnv1a(&bytes));
    let mut context = Vec::with_capacity(bytes.len() + 4096);
    append_file(&mut context, "Dockerfile", 0o644, DOCKERFILE.as_bytes());
    append_file(&mut context, "data-node", 0o755, &bytes);
    context.extend_from_slice(&[0u8; 1024]);
    Ok(ImageSource { tag, context })
}

/// Whether the file at `path` could run in an empty root.
pub fn is_static_binary(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| is_static_elf(&bytes))
}

/// A 64-bit ELF with no program interpreter (PT_INTERP) needs no dynamic loader.
fn is_static_elf(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return false;
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let Ok(phoff) = usize::try_from(u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap_or_default())) else {
        return false;
    };
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        bytes.get(at..at + 4).is_some_and(|t| u32::from_le_bytes([t[0], t[1], t[2], t[3]]) != PT_INTERP)
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// One regular file in ustar format.
fn append_file(tar: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
    let mut header = [0u8; 512];
    let put = |header: &mut [u8; 512], at: usize, field: &[u8]| header[at..at + field.len()].copy_from_slice(field);
    put(&mut header, 0, name.as_bytes());
    put(&mut header, 100, format!("{mode:07o}\0").as_bytes());
    put(&mut header, 108, b"0000000\0");
    put(&mut header, 116, b"0000000\0");
    put(&mut header, 124, format!("{:011o}\0", data.len()).as_bytes());
    put(&mut header, 136, b"00000000000\0");
    put(&mut header, 148, b"        ");
    header[156] = b'0';
    put(&mut header, 257, b"ustar\0");
    put(&mut header, 263, b"00");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    put(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    tar.extend_from_slice(&header);
    tar.extend_from_slice(data);
    tar.resize(tar.len().next_multiple_of(512), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_dynamic_binaries() {
        // The test binary itself is dynamically linked.
        let me = std::env::current_exe().expect("test binary path");
        let bytes = std::fs::read(me).expect("readable");
        assert!(!is_static_elf(&bytes));
        assert!(!is_static_elf(b"#!/bin/sh\necho not an elf\n"));
    }

    #[test]
    fn tar_entries_are_block_aligned_with_valid_checksums() {
        let mut tar = Vec::new();
        append_file(&mut tar, "hello", 0o644, b"hi");
        assert_eq!(tar.len(), 1024);
        let stored = std::str::from_utf8(&tar[148..154]).expect("octal");
        let mut header = tar[..512].to_vec();
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        assert_eq!(u32::from_str_radix(stored, 8).expect("octal"), sum);
        assert_eq!(&tar[512..514], b"hi");
    }
}
