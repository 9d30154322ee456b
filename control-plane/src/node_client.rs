//! The few Redis commands the control plane sends to its nodes, over a plain
//! socket: AUTH, PING, INFO, CONFIG SET, and for backups the snapshot a
//! replica would get (SYNC, rdb-only) and pipelined restores. Replies are
//! read just far enough to judge them.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("talking to {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} did not answer within {1:?}")]
    Timeout(String, Duration),
    #[error("{0} answered {1:?}")]
    Refused(String, String),
}

/// A `name:value` field of an INFO reply.
pub fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
}

pub struct NodeClient {
    address: String,
    stream: BufReader<TcpStream>,
}

impl NodeClient {
    /// Connects and, when the node has a password, authenticates.
    pub async fn connect(host: &str, port: u16, password: Option<&str>) -> Result<NodeClient, NodeError> {
        let address = format!("{host}:{port}");
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect((host, port)))
            .await
            .map_err(|_| NodeError::Timeout(address.clone(), IO_TIMEOUT))?
            .map_err(|e| NodeError::Connect(address.clone(), e))?;
        let mut client = NodeClient { address, stream: BufReader::new(stream) };
        if let Some(password) = password {
            client.expect_ok(&["AUTH", password]).await?;
        }
        Ok(client)
    }

    pub async fn ping(&mut self) -> Result<(), NodeError> {
        match self.call(&["PING"]).await? {
            line if line == "+PONG" => Ok(()),
            other => Err(NodeError::Refused(self.address.clone(), other)),
        }
    }

    /// `INFO <section>`: the bulk string's text.
    pub async fn info(&mut self, section: &str) -> Result<String, NodeError> {
        let header = self.call(&["INFO", section]).await?;
        self.bulk_after(header).await
    }

    /// `CONFIG GET <name>`: its value, `None` for a parameter the node does not have.
    pub async fn config_get(&mut self, name: &str) -> Result<Option<String>, NodeError> {
        let header = self.call(&["CONFIG", "GET", name]).await?;
        match header.as_str() {
            "*0" => Ok(None),
            "*2" => {
                let _name = self.read_bulk().await?;
                Ok(Some(self.read_bulk().await?))
            }
            _ => Err(NodeError::Refused(self.address.clone(), header)),
        }
    }

    async fn read_bulk(&mut self) -> Result<String, NodeError> {
        let mut header = String::new();
        tokio::time::timeout(IO_TIMEOUT, self.stream.read_line(&mut header))
            .await
            .map_err(|_| NodeError::Timeout(self.address.clone(), IO_TIMEOUT))?
            .map_err(|e| NodeError::Io(self.address.clone(), e))?;
        self.bulk_after(header.trim_end().to_owned()).await
    }

    /// The body of a bulk string whose `$len` line was `header`.
    async fn bulk_after(&mut self, header: String) -> Result<String, NodeError> {
        let Some(len) = header.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
            return Err(NodeError::Refused(self.address.clone(), header));
        };
        let mut body = vec![0u8; len + 2];
        tokio::time::timeout(IO_TIMEOUT, self.stream.read_exact(&mut body))
            .await
            .map_err(|_| NodeError::Timeout(self.address.clone(), IO_TIMEOUT))?
            .map_err(|e| NodeError::Io(self.address.clone(), e))?;
        body.truncate(len);
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// `REPLICAOF host port`, or `REPLICAOF NO ONE` with `None`.
    pub async fn replicaof(&mut self, primary: Option<(&str, u16)>) -> Result<(), NodeError> {
        let port;
        let args = match primary {
            Some((host, p)) => {
                port = p.to_string();
                ["REPLICAOF", host, port.as_str()]
            }
            None => ["REPLICAOF", "NO", "ONE"],
        };
        match self.call(&args).await? {
            line if line.starts_with("+OK") => Ok(()),
            other => Err(NodeError::Refused(self.address.clone(), other)),
        }
    }

    /// `CLIENT PAUSE ms WRITE`: clients' writes wait (for at most `ms`);
    /// replication and reads go on.
    pub async fn pause_writes(&mut self, ms: u64) -> Result<(), NodeError> {
        self.expect_ok(&["CLIENT", "PAUSE", &ms.to_string(), "WRITE"]).await
    }

    pub async fn unpause(&mut self) -> Result<(), NodeError> {
        self.expect_ok(&["CLIENT", "UNPAUSE"]).await
    }

    /// `WAIT replicas timeout_ms`: how many replicas acknowledged every write so far.
    pub async fn wait_replicas(&mut self, replicas: u64, timeout_ms: u64) -> Result<u64, NodeError> {
        let line = self
            .call_within(
                &["WAIT", &replicas.to_string(), &timeout_ms.to_string()],
                Duration::from_millis(timeout_ms) + IO_TIMEOUT,
            )
            .await?;
        line.strip_prefix(':')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| NodeError::Refused(self.address.clone(), line))
    }

    pub async fn config_set(&mut self, name: &str, value: &str) -> Result<(), NodeError> {
        self.expect_ok(&["CONFIG", "SET", name, value]).await
    }

    /// The node's snapshot, as a replica's full sync gets it (REPLCONF
    /// rdb-only 1, then SYNC), written to `out`; `progress(written, total)`
    /// is told as bytes arrive. Returns the size. The node may take as long
    /// as its snapshot takes before the first byte: up to `wait`.
    pub async fn sync_rdb(
        &mut self,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
        wait: Duration,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, NodeError> {
        self.expect_ok(&["REPLCONF", "rdb-only", "1"]).await?;
        self.stream.get_mut().write_all(b"SYNC\r\n").await.map_err(|e| NodeError::Io(self.address.clone(), e))?;
        let header = async {
            let mut line = String::new();
            // redis-server sends newlines as keepalives while it prepares the snapshot.
            while line.trim().is_empty() {
                line.clear();
                if self.stream.read_line(&mut line).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            Ok::<_, std::io::Error>(line.trim_end().to_owned())
        };
        let header = tokio::time::timeout(wait, header)
            .await
            .map_err(|_| NodeError::Timeout(self.address.clone(), wait))?
            .map_err(|e| NodeError::Io(self.address.clone(), e))?;
        let Some(total) = header.strip_prefix('$').and_then(|n| n.parse::<u64>().ok()) else {
            return Err(NodeError::Refused(self.address.clone(), header));
        };
        let mut written = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        while written < total {
            let want = buf.len().min((total - written) as usize);
            let n = tokio::time::timeout(wait, self.stream.read(&mut buf[..want]))
                .await
                .map_err(|_| NodeError::Timeout(self.address.clone(), wait))?
                .map_err(|e| NodeError::Io(self.address.clone(), e))?;
            if n == 0 {
                return Err(NodeError::Io(self.address.clone(), std::io::ErrorKind::UnexpectedEof.into()));
            }
            out.write_all(&buf[..n]).await.map_err(|e| NodeError::Io("the snapshot file".into(), e))?;
            written += n as u64;
            progress(written, total);
        }
        Ok(total)
    }

    /// Sends `commands` in one go and reads their replies, each of which
    /// must be +OK; the first that is not is the error.
    pub async fn pipeline_ok(&mut self, commands: &[Vec<Vec<u8>>]) -> Result<(), NodeError> {
        let mut frame = Vec::new();
        for args in commands {
            frame.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in args {
                frame.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                frame.extend_from_slice(arg);
                frame.extend_from_slice(b"\r\n");
            }
        }
        let timeout = IO_TIMEOUT * 5;
        let exchange = async {
            self.stream.get_mut().write_all(&frame).await?;
            let mut refused = None;
            for _ in commands {
                let mut line = String::new();
                if self.stream.read_line(&mut line).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                if line.trim_end() != "+OK" && refused.is_none() {
                    refused = Some(line.trim_end().to_owned());
                }
            }
            Ok::<_, std::io::Error>(refused)
        };
        let refused = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| NodeError::Timeout(self.address.clone(), timeout))?
            .map_err(|e| NodeError::Io(self.address.clone(), e))?;
        match refused {
            None => Ok(()),
            Some(line) => Err(NodeError::Refused(self.address.clone(), line)),
        }
    }

    async fn expect_ok(&mut self, args: &[&str]) -> Result<(), NodeError> {
        match self.call(args).await? {
            line if line == "+OK" => Ok(()),
            other => Err(NodeError::Refused(self.address.clone(), other)),
        }
    }

    /// Sends one command; returns the first line of the reply (these commands
    /// all answer with a simple string or an error).
    async fn call(&mut self, args: &[&str]) -> Result<String, NodeError> {
        self.call_within(args, IO_TIMEOUT).await
    }

    async fn call_within(&mut self, args: &[&str], timeout: Duration) -> Result<String, NodeError> {
        let mut frame = format!("*{}\r\n", args.len());
        for arg in args {
            frame.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        let exchange = async {
            self.stream.get_mut().write_all(frame.as_bytes()).await?;
            let mut line = String::new();
            self.stream.read_line(&mut line).await?;
            Ok::<_, std::io::Error>(line.trim_end().to_owned())
        };
        let line = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| NodeError::Timeout(self.address.clone(), timeout))?
            .map_err(|e| NodeError::Io(self.address.clone(), e))?;
        if line.is_empty() {
            return Err(NodeError::Io(self.address.clone(), std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(line)
    }
}
