//! ElastiCache Auto Discovery: `config get cluster` as cluster clients read it.

use crate::reference::{node, raw, text};

#[test]
fn a_node_reports_itself_until_told_its_cluster() {
    let n = node(&[]);
    let mut c = raw(n.port);
    let body = format!("1\n127.0.0.1|127.0.0.1|{}\n", n.port);
    let expected = format!("CONFIG cluster 0 {}\r\n{body}\r\nEND\r\n", body.len());
    assert_eq!(text(&c.talk(b"config get cluster\r\n")), expected);

    let members = "7\nmc-0001|127.0.0.1|11211 mc-0002|127.0.0.1|11212\n";
    let set = format!("config set cluster 0 {}\r\n{members}\r\n", members.len());
    assert_eq!(text(&c.talk(set.as_bytes())), "STORED\r\n");
    let expected = format!("CONFIG cluster 0 {}\r\n{members}\r\nEND\r\n", members.len());
    assert_eq!(text(&raw(n.port).talk(b"config get cluster\r\n")), expected);

    let bad = "x\nnot a node\n";
    let set = format!("config set cluster 0 {}\r\n{bad}\r\n", bad.len());
    assert_eq!(text(&c.talk(set.as_bytes())), "CLIENT_ERROR bad cluster configuration\r\n");
    assert_eq!(text(&c.talk(b"config get nothing\r\n")), "ERROR\r\n");
    assert_eq!(text(&c.talk(b"config get cluster\r\n")), expected);
}
