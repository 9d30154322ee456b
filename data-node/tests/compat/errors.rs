use crate::common::{Node, cmd, err_of};

#[test]
fn unknown_commands_and_arity() {
    let n = Node::start();
    let mut c = n.conn();
    assert_eq!(
        err_of(cmd("FOO").arg("a").arg("b").query(&mut c)),
        "ERR unknown command 'FOO', with args beginning with: 'a' 'b'"
    );
    assert_eq!(err_of(cmd("SET").arg("k").query(&mut c)), "ERR wrong number of arguments for 'set' command");
    assert_eq!(err_of(cmd("ZADD").arg("z").arg(1).query(&mut c)), "ERR wrong number of arguments for 'zadd' command");
    assert_eq!(
        err_of(cmd("MSET").arg("a").arg(1).arg("b").query(&mut c)),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(
        err_of(cmd("CONFIG").arg("SET").arg("nope").arg(1).query(&mut c)),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nope'"
    );
}

#[test]
fn requirepass_gates_everything_but_auth() {
    let n = Node::start_with(&["--requirepass", "s3cret"]);
    let mut raw = n.raw();
    raw.roundtrip(b"*1\r\n$4\r\nPING\r\n", b"-NOAUTH Authentication required.\r\n");
    raw.roundtrip(
        b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n",
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    raw.roundtrip(b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n", b"+OK\r\n");
    raw.roundtrip(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    let mut c =
        redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", n.port)).unwrap().get_connection().unwrap();
    assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
    let mut c = redis::Client::open(format!("redis://default:s3cret@127.0.0.1:{}/?protocol=resp3", n.port))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
    let no_pass = Node::start();
    let mut c = no_pass.conn();
    assert_eq!(
        err_of(cmd("AUTH").arg("x").query(&mut c)),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn malformed_frames_close_the_connection_with_an_error() {
    let n = Node::start();
    for (req, reply) in [
        (&b"*1\r\n:5\r\n"[..], &b"-ERR Protocol error: expected '$', got ':'\r\n"[..]),
        (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n$99999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$3\r\nabcXY", b"-ERR Protocol error: invalid bulk terminator\r\n"),
        (b"GET \"unterminated\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ] {
        let mut raw = n.raw();
        raw.roundtrip(req, reply);
        assert!(raw.closed(), "connection stays open after {req:?}");
    }
    // The server is unharmed and other clients keep working.
    assert_eq!(cmd("PING").query::<String>(&mut n.conn()).unwrap(), "PONG");
}

#[test]
fn a_huge_declared_bulk_allocates_nothing_up_front() {
    let n = Node::start();
    let mut raw = n.raw();
    // 500 MB declared, 3 bytes sent: the server waits for the rest.
    raw.send(b"*2\r\n$3\r\nGET\r\n$500000000\r\nabc");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let info: String = cmd("INFO").arg("memory").query(&mut n.conn()).unwrap();
    let rss: u64 =
        info.lines().find_map(|l| l.strip_prefix("used_memory_rss:")).and_then(|v| v.trim().parse().ok()).unwrap();
    assert!(rss < 100 * 1024 * 1024, "rss {rss}");
}

#[test]
fn random_garbage_never_kills_the_server() {
    let n = Node::start();
    let mut x: u64 = 0x2545F4914F6CDD1D;
    for _ in 0..200 {
        let mut raw = n.raw();
        raw.0.set_read_timeout(Some(std::time::Duration::from_millis(20))).unwrap();
        let mut buf = Vec::new();
        for _ in 0..(x % 200) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.push(match x % 5 {
                0 => b'*',
                1 => b'$',
                2 => b'\r',
                3 => b'\n',
                _ => (x >> 24) as u8,
            });
        }
        let _ = std::io::Write::write_all(&mut raw.0, &buf);
    }
    assert_eq!(cmd("PING").query::<String>(&mut n.conn()).unwrap(), "PONG");
}
