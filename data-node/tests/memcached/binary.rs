//! The binary protocol's bad packets: refused with its status codes, a too
//! large body skipped as it arrives, a malformed header the end.

use std::io::{Read, Write};

use crate::reference::{node, raw, text};

/// A request packet: opcode, extras, key, value, CAS.
fn packet(opcode: u8, extras: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, opcode];
    p.extend_from_slice(&(key.len() as u16).to_be_bytes());
    p.push(extras.len() as u8);
    p.extend_from_slice(&[0, 0, 0]);
    p.extend_from_slice(&((extras.len() + key.len() + value.len()) as u32).to_be_bytes());
    p.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(extras);
    p.extend_from_slice(key);
    p.extend_from_slice(value);
    p
}

/// Reads one response packet: (status, opaque, value).
fn response(stream: &mut std::net::TcpStream) -> (u16, [u8; 4], Vec<u8>) {
    let mut header = [0u8; 24];
    stream.read_exact(&mut header).expect("header");
    assert_eq!(header[0], 0x81, "a response");
    let body = u32::from_be_bytes(header[8..12].try_into().expect("4 bytes")) as usize;
    let mut rest = vec![0u8; body];
    stream.read_exact(&mut rest).expect("body");
    let skip = header[4] as usize + u16::from_be_bytes([header[2], header[3]]) as usize;
    (u16::from_be_bytes([header[6], header[7]]), header[12..16].try_into().expect("opaque"), rest[skip..].to_vec())
}

#[test]
fn binary_requests_get_memcacheds_status_codes() {
    let n = node(&["--max-item-size", "2k"]);
    let mut c = raw(n.port);
    let set_extras = [0u8, 0, 0, 5, 0, 0, 0, 0];
    c.send(&packet(0x01, &set_extras, b"k", b"hello"));
    assert_eq!(response(&mut c.0), (0, [0xde, 0xad, 0xbe, 0xef], vec![]));
    c.send(&packet(0x00, &[], b"k", &[]));
    assert_eq!(response(&mut c.0).2, b"hello");
    // Add over an item: "Data exists"; a get of nothing: "Not found".
    c.send(&packet(0x02, &set_extras, b"k", b"x"));
    assert_eq!(response(&mut c.0).0, 0x02);
    c.send(&packet(0x00, &[], b"absent", &[]));
    assert_eq!(response(&mut c.0), (0x01, [0xde, 0xad, 0xbe, 0xef], b"Not found".to_vec()));
    // A set without its extras is refused; the next request is served.
    c.send(&packet(0x01, &[], b"k", b"x"));
    assert_eq!(response(&mut c.0).0, 0x04);
    // A body over -I: "Too large", and the body skipped as it comes.
    let big = packet(0x01, &set_extras, b"big", &vec![b'x'; 5000]);
    c.send(&big[..3000]);
    c.send(&big[3000..]);
    assert_eq!(response(&mut c.0).0, 0x03);
    c.send(&packet(0x0a, &[], &[], &[]));
    assert_eq!(response(&mut c.0).0, 0x00);
    // An unknown opcode, then the text protocol on the same connection.
    c.send(&packet(0x55, &[], &[], &[]));
    assert_eq!(response(&mut c.0).0, 0x81);
    assert_eq!(text(&c.talk(b"get k\r\n")), "VALUE k 5 5\r\nhello\r\nEND\r\n");
}

#[test]
fn a_binary_header_whose_lengths_disagree_ends_the_connection() {
    let n = node(&[]);
    let mut c = raw(n.port);
    let mut bad = packet(0x00, &[], b"key", &[]);
    bad[11] = 1; // a body of one byte, shorter than the three-byte key
    c.0.write_all(&bad).expect("write");
    assert_eq!(response(&mut c.0).0, 0x04);
    let mut rest = Vec::new();
    assert_eq!(c.0.read_to_end(&mut rest).expect("closed"), 0);
}
