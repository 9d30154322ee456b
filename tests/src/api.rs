//! A blocking JSON client for the control plane's API, with a token (or none).

use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Api {
    http: reqwest::blocking::Client,
    url: String,
    token: Option<String>,
}

/// A response: status code and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The `x-request-id` header.
    pub request_id: Option<String>,
}

impl Reply {
    /// The `error.code` of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Api {
    pub fn new(url: &str, token: Option<&str>) -> Api {
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Api { http, url: url.to_owned(), token: token.map(str::to_owned) }
    }

    pub fn with_token(&self, token: Option<&str>) -> Api {
        Api::new(&self.url, token)
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().expect("HTTP request");
        let status = response.status().as_u16();
        let request_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().unwrap_or_default();
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), request_id }
    }

    /// A request with a raw body (or none), answered with its status, one
    /// header's value and the raw body: snapshot uploads and downloads.
    pub fn transfer(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        header: &str,
    ) -> (u16, Option<String>, Vec<u8>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/octet-stream").body(body);
        }
        let response = request.send().expect("HTTP request");
        let status = response.status().as_u16();
        let value = response.headers().get(header).and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, value, response.bytes().map(|b| b.to_vec()).unwrap_or_default())
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(body))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send("PATCH", path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None)
    }

    /// Polls `path` until its `status` is `wanted`; panics on a terminal
    /// failure status or after `timeout`.
    pub fn wait_status(&self, path: &str, wanted: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let reply = self.get(path);
            let status = reply.body["status"].as_str().unwrap_or("").to_owned();
            if status == wanted {
                return reply.body;
            }
            if status == "create-failed" && wanted != "create-failed" {
                panic!("{path} failed: {}\nevents: {}", reply.body, self.get("/v1/events").body);
            }
            assert!(Instant::now() < deadline, "{path} still {status:?} after {timeout:?}: {}", reply.body);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `path` until it answers 404.
    pub fn wait_gone(&self, path: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let reply = self.get(path);
            if reply.status == 404 {
                return;
            }
            assert!(Instant::now() < deadline, "{path} still there after {timeout:?}: {}", reply.body);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
