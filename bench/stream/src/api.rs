//! A small client of the OrchStack API.

use crate::{Res, Target};
use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

/// The server and a connection pool.
#[derive(Clone)]
pub struct Api {
    base: String,
    auth: String,
    pub http: Client,
}

impl Api {
    /// A client of `target`; `timeout` bounds every request (streams included).
    pub fn new(target: &Target, timeout: Duration) -> Res<Self> {
        let base = target.base.trim_end_matches('/').to_owned();
        let host = base
            .strip_prefix("http://")
            .ok_or("--base must be an http:// URL")?
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!("--base must point at 127.0.0.1, not {host}"));
        }
        let http = Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .no_proxy()
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Self {
            base,
            auth: format!("Bearer {}", target.key),
            http,
        })
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An authenticated POST with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .header(AUTHORIZATION, &self.auth)
            .json(body)
    }

    /// An authenticated POST asking for Server-Sent Events.
    pub fn post_sse(&self, path: &str, body: &Value) -> RequestBuilder {
        self.post(path, body).header(ACCEPT, "text/event-stream")
    }

    /// An authenticated GET.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http
            .get(self.url(path))
            .header(AUTHORIZATION, &self.auth)
    }

    /// Sends `req` and reads a JSON answer (`Null` when the body is not JSON).
    pub async fn send_json(req: RequestBuilder) -> Res<(StatusCode, Value)> {
        let resp = req.send().await.map_err(|e| format!("request: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// Creates an agent and returns its id.
    pub async fn create_agent(&self, name: &str, model: &str, settings: Value) -> Res<String> {
        let body = json!({ "name": name, "model": model, "model_settings": settings });
        let (status, v) = Self::send_json(self.post("/v1/agents", &body)).await?;
        if status != StatusCode::CREATED {
            return Err(format!("POST /v1/agents: {status}: {v}"));
        }
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("POST /v1/agents: no id in {v}"))
    }

    /// Triggers an async run; returns its id.
    pub async fn start_run(&self, agent: &str, body: &Value) -> Res<String> {
        let path = format!("/v1/agents/{agent}/run");
        let (status, v) = Self::send_json(self.post(&path, body)).await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status}: {v}"));
        }
        v["run_id"]
            .as_str()
            .or_else(|| v["id"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("POST {path}: no run_id in {v}"))
    }

    /// A run's status.
    pub async fn run_status(&self, run: &str) -> Res<String> {
        let (status, v) = Self::send_json(self.get(&format!("/v1/runs/{run}"))).await?;
        if status != StatusCode::OK {
            return Err(format!("GET /v1/runs/{run}: {status}: {v}"));
        }
        Ok(v["status"].as_str().unwrap_or("").to_owned())
    }

    /// A GraphQL query's `data`; errors are failures.
    pub async fn graphql(&self, query: &str, variables: Value) -> Res<Value> {
        let body = json!({ "query": query, "variables": variables });
        let (status, v) = Self::send_json(self.post("/graphql", &body)).await?;
        if status != StatusCode::OK || v.get("errors").is_some() {
            return Err(format!("POST /graphql: {status}: {v}"));
        }
        Ok(v["data"].clone())
    }
}

/// `n` words, "w1 w2 ... wn": the mock provider streams one token per word.
pub fn words(n: usize) -> String {
    (1..=n)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}
