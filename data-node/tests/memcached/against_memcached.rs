//! The same bytes to memcached 1.6 and to us: the same replies, byte for
//! byte (CAS uniques aside, which are each server's own counter).

use crate::reference::{memcached, node, raw, text};

/// Requests whose replies are memcached's exactly. Each runs on a fresh
/// connection after `flush_all`.
const CASES: &[&[u8]] = &[
    b"set a 5 0 3\r\nabc\r\nget a\r\ngets a\r\nget a b a\r\n",
    b"set a 0 0 3\r\nabc\r\nset a 5 0 3\r\nabcd\r\nget a\r\n",
    b"set a 5 0 3\r\nab\r\n\r\nget a\r\n",
    b"set a 0 0 1\r\nx\nget a\r\n",
    b"set a 0 0 1\nx\r\nget a\n",
    b"set a 5 0 -1\r\nset a x 0 3\r\nabc\r\nset a -1 0 3\r\nabc\r\nset a 0 x 3\r\nabc\r\n",
    b"set a\x01b 0 0 1\r\nx\r\nget a\x01b\r\nset \x10\x10\tk 0 0 1\r\ny\r\nget \x10\x10\tk\r\n",
    b"set a 0 0\r\nset\r\nbogus\r\nget\r\ngets\r\nSET a 0 0 1\r\nx\r\n\r\n",
    b"set a 0 0 1 noreply\r\nx\r\nset a 0 0 1 bogus\r\ny\r\nset a 0 0 1 noreply extra\r\nz\r\nget a\r\n",
    b"set a x 0 3 noreply\r\nabc\r\nset a 0 0 3 noreply\r\nabcd\r\n",
    b"incr n 1\r\nset n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nget n\r\nincr n x\r\nincr n -1\r\n",
    b"set n 0 0 20\r\n18446744073709551615\r\nincr n 2\r\nget n\r\ndecr n 5\r\n",
    b"set n 0 0 2\r\n10\r\ndecr n 1\r\nget n\r\nincr n 1\r\nincr n 91\r\nget n\r\n",
    b"set n 0 0 3\r\n-10\r\nincr n 1\r\nset n 0 0 3\r\n 10\r\nincr n 1\r\nset s 0 0 1\r\nx\r\ndecr s 1\r\n",
    b"incr zz 1 noreply\r\nset s 0 0 1\r\nx\r\nincr s 1 noreply\r\nincr s x noreply\r\nincr\r\nincr s\r\n",
    b"set a 0 0 1\r\nx\r\ntouch a 10\r\ntouch zz 10\r\ntouch a\r\ntouch a x\r\ntouch zz 1 noreply\r\n",
    b"set a 1 0 1\r\nx\r\ngat 100 a zz\r\ngat 10\r\ngat x a\r\ngat\r\n",
    b"set a 0 0 1\r\nx\r\ncas a 0 0 1 999\r\ny\r\ncas zz 0 0 1 1\r\ny\r\ncas a 0 0 1\r\nx\r\ncas a 0 0 1 abc\r\ny\r\n",
    b"set a 0 0 1\r\nx\r\ncas a 0 0 1 noreply\r\nx\r\ncas a 0 0 1 2 noreply\r\ny\r\nget a\r\n",
    b"append zz 0 0 1\r\ny\r\nprepend zz 0 0 1\r\ny\r\nset a 1 0 1\r\nx\r\nappend a 0 0 2\r\nyz\r\nprepend a 9 9 2\r\n01\r\nget a\r\n",
    b"add a 0 0 1\r\nx\r\nadd a 0 0 1\r\ny\r\nreplace zz 0 0 1\r\nx\r\nreplace a 3 0 1\r\nz\r\nget a zz\r\n",
    b"set a 0 0 1\r\nx\r\ndelete a\r\ndelete a\r\ndelete a 0\r\ndelete a noreply\r\ndelete a 0 noreply\r\ndelete a x\r\ndelete a 1\r\ndelete a 0 0\r\ndelete\r\n",
    b"verbosity\r\nverbosity 1\r\nverbosity 1 noreply\r\nverbosity x\r\nverbosity 1 2 3\r\nversion\r\n",
    b"set a 0 0 1\r\nx\r\nflush_all x\r\nget a\r\nflush_all 0 noreply\r\nget a\r\nflush_all -1\r\nflush_all 10 20\r\nflush_all noreply\r\n",
    b"set a 0 0 1\r\nx\r\nflush_all 1\r\nget a\r\n",
    b"set a 0 0 1\r\nx\r\nset b 0 0 1\r\nx\r\nflush_all 0\r\nappend a 5 0 1\r\ny\r\nget a b\r\n",
    b"get kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\r\n",
    b"ms m 2 T0 F5\r\nhi\r\nmg m v f t s k\r\nmg m\r\nmg zz v\r\nmg zz v q\r\nmg zz k v O3 s t\r\n",
    b"ms m 2 O123 k\r\nhi\r\nmg m O12345678901234567890123456789012345\r\nmg m zz\r\nmg m v!\r\nmg\r\nmg m v v\r\nmg m P L v\r\nmg m Lfoo v\r\n",
    b"ms m\r\nms m x\r\nms m 2 MX\r\nhi\r\nms m -1\r\nms m 1 T\r\nx\r\nms m S2\r\nhi\r\n",
    b"ms m 2 ME\r\nhi\r\nms m 2 MR\r\nho\r\nms m 2 MA\r\nzz\r\nms m 2 MP\r\naa\r\nmg m v\r\nms m 2 ME\r\nno\r\n",
    b"ms h 1 q\r\nx\r\nms h 1 q ME\r\nx\r\nms h 1 C1\r\nx\r\nms zz 1 C1\r\nx\r\nmd h C1\r\nmd zz C1\r\nmd h q\r\nmd h\r\n",
    b"md zz O5 k\r\nma zz O6 k\r\nms zz 1 O7 k\r\nx\r\nmd zz O8 k q\r\nmd zz O9 k q\r\n",
    b"ms m 2 T100\r\nhi\r\nmd m I T30\r\nmg m v t\r\nmg m v\r\nms m 3 I C1\r\nnew\r\nmg m v\r\n",
    b"mg vv N30 v t\r\nmg vv N30 v t\r\nmg vv v\r\nms vv 1\r\nx\r\nmg vv v\r\n",
    b"ms r 1 T10\r\nx\r\nmg r R30 v t\r\nmg r R30 v t\r\nms p 1 T0\r\nx\r\nmg p R30 v t\r\n",
    b"ms h 1\r\nx\r\nmg h h l\r\nmg h h l\r\nmg h u h\r\nms t 1 T100\r\nx\r\nmg t T5 t\r\nmg t t\r\nmg a T\r\nmg a Tx\r\n",
    b"ma c\r\nma c N0 J13 v\r\nma c v\r\nma c MD D20 v\r\nma c q\r\nma c D1 v t\r\nms s 1\r\nx\r\nma s\r\n",
    b"ma zz N100 J5 t v\r\nma zz MI D18446744073709551615 v\r\nma zz M- v\r\nma zz M+ v\r\nma zz MZ\r\nma zz D-1\r\nma zz Dx\r\n",
    b"ma zz C1\r\nma zz q C1\r\nset n 0 0 1\r\n5\r\nma n MD D10 v\r\nma n D18446744073709551615 v\r\nma n D18446744073709551616 v\r\n",
    b"ms bb 1 b\r\nx\r\nms YmluYXJ5 1 b\r\nx\r\nmg YmluYXJ5 b k v\r\nget binary\r\nms Zm9v 3 b k O1\r\nbar\r\nmd Zm9v b k\r\nmg Zm9v b k\r\n",
    b"mg !!!! b v\r\nmg YQ== b v\r\nmg YQ b v\r\nme\r\nme zz\r\nms e 1 T-1\r\nx\r\nme e\r\nmg e v\r\n",
    b"ms a 1 T-1\r\nx\r\nmg a v\r\nset a 0 4294967295 1\r\nx\r\nget a\r\nset a 0 2592000 1\r\nx\r\nmg a t\r\nset a 0 2592001 1\r\nx\r\nmg a t\r\n",
    b"ms a 1 F-1\r\nx\r\nms a 1 Fx\r\nx\r\nget a\r\n",
    b"stats bogus\r\nstats items\r\n",
];

/// CAS uniques differ between servers: `VALUE`'s fifth word and meta's
/// `c<digits>` become `#`.
fn without_cas(reply: &[u8]) -> String {
    text(reply)
        .split("\r\n")
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let meta = matches!(words.first(), Some(&"VA" | &"HD" | &"ME"));
            words
                .iter()
                .enumerate()
                .map(|(i, w)| match *w {
                    _ if words[0] == "VALUE" && i == 4 => "#".to_owned(),
                    w if meta && w.starts_with('c') && w[1..].bytes().all(|b| b.is_ascii_digit()) => "c#".to_owned(),
                    w if w.starts_with("cas=") => "cas=#".to_owned(),
                    w => w.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn replies_are_memcacheds_byte_for_byte() {
    let Some(reference) = memcached(&[]) else { return };
    let ours = node(&[]);
    let mut differ = Vec::new();
    for case in CASES {
        let mut replies = [reference.port, ours.port].map(|port| {
            let mut c = raw(port);
            c.talk(b"flush_all\r\n");
            without_cas(&c.talk(case))
        });
        let [theirs, ours] = std::mem::take(&mut replies);
        if theirs != ours {
            differ.push(format!("{}\n  memcached: {theirs:?}\n  ours:      {ours:?}", text(case)));
        }
    }
    assert!(differ.is_empty(), "{} of {} cases differ:\n{}", differ.len(), CASES.len(), differ.join("\n"));
}

#[test]
fn cas_uniques_change_with_every_store() {
    let n = node(&[]);
    let mut c = raw(n.port);
    let first = text(&c.talk(b"set a 0 0 1\r\nx\r\ngets a\r\n"));
    let cas: u64 = first.lines().nth(1).and_then(|l| l.rsplit(' ').next()).and_then(|c| c.parse().ok()).expect("a cas");
    assert_eq!(text(&c.talk(format!("cas a 0 0 1 {}\r\ny\r\n", cas + 1).as_bytes())), "EXISTS\r\n");
    assert_eq!(text(&c.talk(format!("cas a 0 0 1 {cas}\r\ny\r\n").as_bytes())), "STORED\r\n");
    assert_eq!(text(&c.talk(format!("cas a 0 0 1 {cas}\r\nz\r\n").as_bytes())), "EXISTS\r\n");
    let meta = text(&c.talk(b"mg a c v\r\n"));
    let head = meta.lines().next().unwrap_or_default();
    let now: u64 = head.split(' ').nth(2).and_then(|w| w.strip_prefix('c')).and_then(|c| c.parse().ok()).expect("c");
    assert!(now > cas, "{meta}");
    assert_eq!(text(&c.talk(format!("ms a 1 C{now} c\r\nq\r\n").as_bytes())), format!("HD c{}\r\n", now + 1));
}
