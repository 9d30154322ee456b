//! Bad input gets memcached's error replies: never a panic, never unbounded
//! buffering, and other clients go on being served.

use std::io::Write;

use crate::reference::{node, raw, text};

#[test]
fn bad_keys_and_numbers_are_refused_and_the_connection_goes_on() {
    let n = node(&[]);
    let mut c = raw(n.port);
    let long = "k".repeat(251);
    let bad = b"CLIENT_ERROR bad command line format\r\n";
    assert_eq!(c.talk(format!("get {long}\r\n").as_bytes()), bad);
    assert_eq!(c.talk(format!("set {long} 0 0 1\r\n").as_bytes()), bad);
    assert_eq!(c.talk(b"set a 4294967296 0 1\r\n"), bad);
    assert_eq!(c.talk(b"set a 0 0 18446744073709551616\r\n"), bad);
    assert_eq!(c.talk(b"mg a Nx\r\n"), b"CLIENT_ERROR bad token in command line format\r\n");
    assert_eq!(text(&c.talk(b"set a 0 0 1\r\nx\r\nget a\r\n")), "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
    // The largest length there is: refused, and (as everything after it is
    // its block) the node skips what follows on that connection.
    let mut huge = raw(n.port);
    huge.send(b"set a 0 0 18446744073709551615\r\n");
    let mut line = [0u8; 41];
    std::io::Read::read_exact(&mut huge.0, &mut line).expect("reply");
    assert_eq!(text(&line), "SERVER_ERROR object too large for cache\r\n");
    assert_eq!(text(&raw(n.port).talk(b"get a\r\n")), "VALUE a 0 1\r\nx\r\nEND\r\n");
}

#[test]
fn data_blocks_shorter_or_longer_than_declared_are_refused() {
    let n = node(&[]);
    let mut c = raw(n.port);
    // The block is read as declared: what follows it is the next line.
    assert_eq!(text(&c.talk(b"set a 0 0 3\r\nabcdef\r\n")), "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
    assert_eq!(text(&c.talk(b"set a 0 0 5\r\nab\r\nXYZ\r\n")), "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
    assert_eq!(text(&c.talk(b"get a\r\n")), "END\r\n");
}

#[test]
fn a_line_without_an_end_is_cut_off_and_others_are_unaffected() {
    let n = node(&[]);
    let mut other = raw(n.port);
    let mut c = raw(n.port);
    c.send(&vec![b'x'; 4096]);
    assert_eq!(text(&c.until_closed()), "CLIENT_ERROR line too long\r\n");
    // A long multi-get is a line memcached takes: so do we.
    let keys = (0..2000).map(|i| format!("key{i}")).collect::<Vec<_>>().join(" ");
    assert_eq!(
        text(&other.talk(format!("set key7 0 0 1\r\nx\r\nget {keys}\r\n").as_bytes())),
        "STORED\r\nVALUE key7 0 1\r\nx\r\nEND\r\n"
    );
}

#[test]
fn random_bytes_never_bring_the_node_down() {
    let n = node(&[]);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let words: &[&[u8]] = &[
        b"get",
        b"set",
        b"mg",
        b"ms",
        b"ma",
        b"md",
        b"incr",
        b"cas",
        b" ",
        b"\r\n",
        b"\n",
        b"0",
        b"-1",
        b"99999999999",
        b"k",
        b"b",
        b"T",
        b"N",
        b"noreply",
        b"\x00",
        b"\xff",
        b"\x80",
        b"\x80\x01\x00\x05",
    ];
    for _ in 0..200 {
        let mut garbage = Vec::new();
        for _ in 0..(next() % 40) {
            garbage.extend_from_slice(words[(next() % words.len() as u64) as usize]);
            if next() % 3 == 0 {
                garbage.push(b' ');
            }
        }
        let mut c = raw(n.port);
        let _ = c.0.write_all(&garbage);
        let _ = c.0.shutdown(std::net::Shutdown::Write);
        let _ = c.until_closed();
    }
    let mut c = raw(n.port);
    assert_eq!(text(&c.talk(b"version\r\n")), format!("VERSION {}\r\n", "1.6.18"));
}

#[test]
fn a_data_block_may_arrive_in_pieces() {
    let n = node(&[]);
    let mut c = raw(n.port);
    let value = vec![b'v'; 300_000];
    c.send(format!("set big 7 0 {}\r\n", value.len()).as_bytes());
    for piece in value.chunks(7_777) {
        c.send(piece);
        std::thread::yield_now();
    }
    c.send(b"\r\n");
    assert_eq!(text(&c.talk(b"")), "STORED\r\n");
    let got = c.talk(b"get big\r\n");
    assert!(got.starts_with(b"VALUE big 7 300000\r\nvvv") && got.ends_with(b"v\r\nEND\r\n"), "{}", got.len());
}
