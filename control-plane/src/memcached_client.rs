//! The few memcached commands the control plane sends to its memcached
//! nodes, over a plain socket: `version` (the health check), Auto
//! Discovery's `config get cluster` and `config set cluster`, and
//! `cache_memlimit` for a new node type.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::node_client::{IO_TIMEOUT, NodeError};

/// The largest Auto Discovery reply read (40 nodes take a few KiB).
const MAX_CONFIG: usize = 1 << 20;

pub struct MemcachedClient {
    address: String,
    stream: BufReader<TcpStream>,
}

impl MemcachedClient {
    pub async fn connect(host: &str, port: u16) -> Result<MemcachedClient, NodeError> {
        let address = format!("{host}:{port}");
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect((host, port)))
            .await
            .map_err(|_| NodeError::Timeout(address.clone(), IO_TIMEOUT))?
            .map_err(|e| NodeError::Connect(address.clone(), e))?;
        Ok(MemcachedClient { address, stream: BufReader::new(stream) })
    }

    /// `version`: the node answers.
    pub async fn version(&mut self) -> Result<String, NodeError> {
        let line = self.call(b"version\r\n").await?;
        match line.strip_prefix("VERSION ") {
            Some(version) => Ok(version.to_owned()),
            None => Err(self.refused(line)),
        }
    }

    /// `config get cluster`: the node's Auto Discovery version and nodes.
    pub async fn cluster_config(&mut self) -> Result<(u64, String), NodeError> {
        let header = self.call(b"config get cluster\r\n").await?;
        let len = header
            .strip_prefix("CONFIG cluster ")
            .and_then(|rest| rest.split_once(' '))
            .and_then(|(_flags, len)| len.parse::<usize>().ok())
            .filter(|len| *len <= MAX_CONFIG);
        let Some(len) = len else { return Err(self.refused(header)) };
        let mut body = vec![0u8; len + b"\r\nEND\r\n".len()];
        self.within(async |stream| stream.read_exact(&mut body).await.map(drop)).await?;
        let text = String::from_utf8_lossy(&body[..len]).into_owned();
        let (version, nodes) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        match version.trim().parse::<u64>() {
            Ok(version) => Ok((version, nodes.trim().to_owned())),
            Err(_) => Err(self.refused(text)),
        }
    }

    /// `config set cluster`: what the node answers to `config get cluster` from now on.
    pub async fn set_cluster_config(&mut self, version: u64, nodes: &str) -> Result<(), NodeError> {
        let body = format!("{version}\n{nodes}\n");
        let request = format!("config set cluster 0 {}\r\n{body}\r\n", body.len());
        self.expect(request.as_bytes(), "STORED").await
    }

    /// `cache_memlimit`: the node's memory limit, in megabytes.
    pub async fn set_memory_limit(&mut self, megabytes: u64) -> Result<(), NodeError> {
        self.expect(format!("cache_memlimit {megabytes}\r\n").as_bytes(), "OK").await
    }

    async fn expect(&mut self, request: &[u8], answer: &str) -> Result<(), NodeError> {
        match self.call(request).await? {
            line if line == answer => Ok(()),
            other => Err(self.refused(other)),
        }
    }

    /// Sends a request; returns the first line of the reply.
    async fn call(&mut self, request: &[u8]) -> Result<String, NodeError> {
        let line = self
            .within(async |stream| {
                stream.get_mut().write_all(request).await?;
                let mut line = String::new();
                stream.read_line(&mut line).await?;
                Ok(line.trim_end().to_owned())
            })
            .await?;
        if line.is_empty() {
            return Err(NodeError::Io(self.address.clone(), std::io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(line)
    }

    async fn within<T>(
        &mut self,
        exchange: impl AsyncFnOnce(&mut BufReader<TcpStream>) -> std::io::Result<T>,
    ) -> Result<T, NodeError> {
        tokio::time::timeout(IO_TIMEOUT, exchange(&mut self.stream))
            .await
            .map_err(|_| NodeError::Timeout(self.address.clone(), IO_TIMEOUT))?
            .map_err(|e| NodeError::Io(self.address.clone(), e))
    }

    fn refused(&self, answer: String) -> NodeError {
        NodeError::Refused(self.address.clone(), answer)
    }
}
