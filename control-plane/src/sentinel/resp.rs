//! Just enough RESP2 for the discovery port: requests are arrays of bulk
//! strings; replies are simple strings, errors, bulks, integers and arrays.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

const MAX_ARGS: usize = 64;
const MAX_ARG_LEN: usize = 64 * 1024;

/// The next request, None at end of stream, Err on a malformed one.
pub async fn read_request<R: AsyncBufRead + Unpin>(input: &mut R) -> Result<Option<Vec<String>>, String> {
    let Some(header) = line(input).await? else { return Ok(None) };
    let Some(count) = header.strip_prefix('*') else {
        // Inline, as typed into nc or telnet.
        return Ok(Some(header.split_whitespace().map(str::to_owned).collect()));
    };
    let count: usize = count.parse().map_err(|_| "Protocol error: invalid multibulk length".to_owned())?;
    if count > MAX_ARGS {
        return Err("Protocol error: too many arguments".into());
    }
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(header) = line(input).await? else { return Ok(None) };
        let len: usize = header
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .filter(|n| *n <= MAX_ARG_LEN)
            .ok_or_else(|| "Protocol error: invalid bulk length".to_owned())?;
        let mut bytes = vec![0u8; len + 2];
        input.read_exact(&mut bytes).await.map_err(|e| e.to_string())?;
        bytes.truncate(len);
        args.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(Some(args))
}

async fn line<R: AsyncBufRead + Unpin>(input: &mut R) -> Result<Option<String>, String> {
    let mut text = String::new();
    let n = input.read_line(&mut text).await.map_err(|e| e.to_string())?;
    if n == 0 {
        return Ok(None);
    }
    if text.len() > MAX_ARG_LEN {
        return Err("Protocol error: line too long".into());
    }
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// A reply being built, in RESP2 or (after HELLO 3) RESP3.
#[derive(Default)]
pub struct Out(pub Vec<u8>, pub bool);

impl Out {
    pub fn new(resp3: bool) -> Out {
        Out(Vec::new(), resp3)
    }

    /// A pub/sub frame: a push in RESP3, an array in RESP2.
    pub fn push(&mut self, n: usize) {
        let kind = if self.1 { '>' } else { '*' };
        self.0.extend_from_slice(format!("{kind}{n}\r\n").as_bytes());
    }

    pub fn map(&mut self, n: usize) {
        if self.1 {
            self.0.extend_from_slice(format!("%{n}\r\n").as_bytes());
        } else {
            self.array(n * 2);
        }
    }

    pub fn simple(&mut self, s: &str) {
        self.0.extend_from_slice(format!("+{s}\r\n").as_bytes());
    }

    pub fn error(&mut self, s: &str) {
        self.0.extend_from_slice(format!("-{s}\r\n").as_bytes());
    }

    pub fn int(&mut self, n: i64) {
        self.0.extend_from_slice(format!(":{n}\r\n").as_bytes());
    }

    pub fn bulk(&mut self, s: &str) {
        self.0.extend_from_slice(format!("${}\r\n{s}\r\n", s.len()).as_bytes());
    }

    pub fn array(&mut self, n: usize) {
        self.0.extend_from_slice(format!("*{n}\r\n").as_bytes());
    }

    pub fn null_array(&mut self) {
        self.0.extend_from_slice(if self.1 { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// Sentinel's field lists: a map in RESP3, a flat array of name, value,
    /// name, value... in RESP2.
    pub fn fields(&mut self, fields: &[(&str, String)]) {
        self.map(fields.len());
        for (name, value) in fields {
            self.bulk(name);
            self.bulk(value);
        }
    }
}
