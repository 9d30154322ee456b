//! Starts the real data-node binary on an ephemeral port and stops it on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Node {
    child: Child,
    pub port: u16,
    /// The node's own data dir when the test gave none (removed on drop), so
    /// a SAVE never leaves a dump.rdb that another test's node would load.
    scratch: Option<std::path::PathBuf>,
}

impl Node {
    pub fn start() -> Node {
        Node::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Node {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let scratch = (!extra.contains(&"--dir")).then(|| {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("ferrocache-node-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("scratch dir");
            dir
        });
        let mut command = Command::new(env!("CARGO_BIN_EXE_data-node"));
        command.args(["--port", "0", "--bind", "127.0.0.1"]).args(extra);
        if let Some(dir) = &scratch {
            command.arg("--dir").arg(dir);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn data-node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read ready line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Node { child, port, scratch }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (STOP, CONT, ...) to the node's process.
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status();
    }

    /// SIGTERM, as `docker stop` sends, and wait for the process to end.
    pub fn terminate(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url()).and_then(|c| c.get_connection()).expect("connect")
    }

    pub fn conn3(&self) -> redis::Connection {
        let url = format!("{}?protocol=resp3", self.url());
        redis::Client::open(url).and_then(|c| c.get_connection()).expect("connect resp3")
    }

    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect raw");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        Raw(s)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A plain socket for asserting exact bytes.
pub struct Raw(pub TcpStream);

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).expect("write");
    }

    /// Reads until `expected.len()` bytes arrived and returns them.
    pub fn read_exact_len(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        self.0.read_exact(&mut buf).expect("read reply");
        buf
    }

    pub fn roundtrip(&mut self, req: &[u8], expected: &[u8]) {
        self.send(req);
        let got = self.read_exact_len(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "reply to {:?}",
            String::from_utf8_lossy(req)
        );
    }

    /// Switches to RESP3 and consumes HELLO's reply (a map ending with the
    /// empty `modules` array).
    pub fn hello3(&mut self) {
        self.send(b"HELLO 3\r\n");
        let mut got = Vec::new();
        while !got.ends_with(b"*0\r\n") {
            got.extend(self.read_exact_len(1));
        }
        assert!(got.starts_with(b"%7\r\n"), "{:?}", String::from_utf8_lossy(&got));
    }

    /// True once the server has closed the connection.
    pub fn closed(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match self.0.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }
}

pub fn cmd(name: &str) -> redis::Cmd {
    redis::cmd(name)
}

/// The error text of a failed command, e.g. "WRONGTYPE Operation against ...".
pub fn err_of(r: redis::RedisResult<redis::Value>) -> String {
    match r {
        Err(e) => {
            let code = e.code().unwrap_or("");
            let detail = e.detail().unwrap_or("");
            format!("{code} {detail}").trim().to_string()
        }
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}
