//! The control plane's REST API over blocking HTTP; an error body becomes an
//! `ApiError` carrying ElastiCache's code.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request id is the one the control plane's log names it by.
    #[error("{code}: {message} (request {request_id})")]
    Api { status: u16, code: String, message: String, request_id: String },
    #[error("cannot reach the control plane at {url}: {why} — is it running? set --url / FERRO_URL")]
    Unreachable { url: String, why: String },
    #[error("the control plane answered {status} without a JSON body")]
    NotJson { status: u16 },
}

impl ClientError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Api { status: 404, .. })
    }
}

pub struct Client {
    http: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Client {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::blocking::Client::new());
        let base = base.trim_end_matches('/');
        // `127.0.0.1:8080` means what `http://127.0.0.1:8080` does.
        let base = if base.contains("://") { base.to_owned() } else { format!("http://{base}") };
        Client { http, base, token }
    }

    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.send(reqwest::Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.send(reqwest::Method::PATCH, path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Result<Value, ClientError> {
        self.send(reqwest::Method::DELETE, path, None)
    }

    /// A GET whose body is a file, streamed into `out`; returns the value
    /// of `header`. No time limit: it takes as long as the file is large.
    pub fn download(
        &self,
        path: &str,
        header: &str,
        out: &mut impl std::io::Write,
    ) -> Result<Option<String>, ClientError> {
        let mut response = self.transfer(reqwest::Method::GET, path, None)?;
        let value = response.headers().get(header).and_then(|v| v.to_str().ok()).map(str::to_owned);
        response.copy_to(out).map_err(|e| ClientError::Unreachable { url: self.base.clone(), why: root_cause(&e) })?;
        Ok(value)
    }

    /// A POST whose body is `bytes`; its answer is JSON like any other.
    pub fn upload(&self, path: &str, bytes: Vec<u8>) -> Result<Value, ClientError> {
        let response = self.transfer(reqwest::Method::POST, path, Some(bytes))?;
        let status = response.status().as_u16();
        let body: Value = response.json().map_err(|_| ClientError::NotJson { status })?;
        api_result(status, body)
    }

    fn transfer(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<reqwest::blocking::Response, ClientError> {
        let http = reqwest::blocking::Client::builder().timeout(None).build().unwrap_or_else(|_| self.http.clone());
        let mut request = http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(bytes) = body {
            request = request.header("content-type", "application/octet-stream").body(bytes);
        }
        let response =
            request.send().map_err(|e| ClientError::Unreachable { url: self.base.clone(), why: root_cause(&e) })?;
        let status = response.status().as_u16();
        if status >= 400 {
            let body: Value = response.json().map_err(|_| ClientError::NotJson { status })?;
            return Err(api_result(status, body).err().unwrap_or(ClientError::NotJson { status }));
        }
        Ok(response)
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response =
            request.send().map_err(|e| ClientError::Unreachable { url: self.base.clone(), why: root_cause(&e) })?;
        let status = response.status().as_u16();
        let body: Value = response.json().map_err(|_| ClientError::NotJson { status })?;
        api_result(status, body)
    }
}

/// An error body as an `ApiError`, anything else as the value.
fn api_result(status: u16, body: Value) -> Result<Value, ClientError> {
    if status >= 400 {
        let code = body["error"]["code"].as_str().unwrap_or("UnknownError").to_owned();
        let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
        let request_id = body["error"]["request_id"].as_str().unwrap_or("unknown").to_owned();
        return Err(ClientError::Api { status, code, message, request_id });
    }
    Ok(body)
}

/// The innermost cause ("Connection refused (os error 111)"), lower-cased
/// the way the rest of the line reads: reqwest's outer layers repeat the URL.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let text = cause.to_string();
    let mut chars = text.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or(text)
}
