//! A local OpenAI-compatible embeddings server for the benchmark: hashed words into
//! `DIMS` dimensions (deterministic, no model), answering `POST /v1/embeddings`.

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// Dimensions of the vectors (those of all-MiniLM-L6-v2).
pub const DIMS: usize = 384;

/// The vector of `text`: each word adds one to a dimension picked by its FNV-1a hash.
pub fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.to_lowercase().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        v[(h % DIMS as u64) as usize] += 1.0;
    }
    v
}

async fn embeddings(Json(body): Json<Value>) -> Json<Value> {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({ "object": "embedding", "index": i, "embedding": vector(t) }))
        .collect();
    Json(
        json!({ "object": "list", "data": data, "model": body["model"], "usage": { "prompt_tokens": 0, "total_tokens": 0 } }),
    )
}

/// Starts the server on 127.0.0.1; its API root (`http://127.0.0.1:PORT/v1`).
pub async fn start() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/v1/embeddings", post(embeddings));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1"))
}
