//! The knowledge benchmark (bench/knowledge.sh runs it): starts the release server on
//! the given database with a local embeddings server as provider `fake`, then measures
//! over HTTP, as a client would:
//!
//! 1. documents indexed per second: `BENCH_DOCS` (1,000) Markdown documents of ~4 KB,
//!    uploaded in requests of 50, until the last one is indexed; once keyword only, once
//!    with embeddings (384 dimensions);
//! 2. search latency at `BENCH_CHUNKS` (100,000) chunks: p50 and p99 of `BENCH_QUERIES`
//!    sequential searches per mode (keyword, semantic, hybrid), after a warm-up;
//! 3. the vector cache's memory: the server's RSS before and after its first semantic
//!    search loads the base's vectors.

mod corpus;
mod embeddings;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: &str = "os_live_benchknowledgebenchknowledge01";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await?;
        if !status.is_success() {
            bail!("{path}: HTTP {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Uploads `docs` (numbered from `first`) into `kb` in requests of 50.
async fn upload(api: &Api, kb: &str, docs: &[String], first: usize) -> anyhow::Result<()> {
    for (n, batch) in docs.chunks(50).enumerate() {
        let items: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(i, d)| json!({ "name": format!("doc-{}.md", first + n * 50 + i), "content": d }))
            .collect();
        api.post(
            &format!("/v1/knowledge/{kb}/upload"),
            json!({ "documents": items }),
        )
        .await?;
    }
    Ok(())
}

/// Waits until nothing of `kb` waits for or is in indexing.
async fn drained(api: &Api, kb: &str) -> anyhow::Result<()> {
    loop {
        let res = api
            .get(&format!(
                "/v1/knowledge/{kb}/search?q=zzzz&mode=keyword&top_k=1"
            ))
            .await?;
        if res["indexing"] == false {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (documents, chunks, failed) of `kb`.
async fn counts(api: &Api, kb: &str) -> anyhow::Result<(usize, i64, usize)> {
    let (mut docs, mut chunks, mut failed) = (0, 0, 0);
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/knowledge/{kb}/documents?limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.get(&path).await?;
        for d in page["data"].as_array().context("data")? {
            docs += 1;
            chunks += d["chunk_count"].as_i64().unwrap_or(0);
            if d["status"] == "failed" {
                failed += 1;
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok((docs, chunks, failed)),
        }
    }
}

async fn create(
    api: &Api,
    name: &str,
    model: Option<&str>,
    max_tokens: u32,
) -> anyhow::Result<String> {
    let kb = api
        .post(
            "/v1/knowledge",
            json!({ "name": name, "embedding_model": model, "chunking": { "max_tokens": max_tokens, "overlap_tokens": 0 } }),
        )
        .await?;
    Ok(kb["id"].as_str().context("id")?.to_owned())
}

/// Documents per second for indexing `docs` into a new base.
async fn indexing(
    api: &Api,
    name: &str,
    model: Option<&str>,
    docs: &[String],
) -> anyhow::Result<()> {
    let kb = create(api, name, model, 400).await?;
    let start = Instant::now();
    upload(api, &kb, docs, 0).await?;
    drained(api, &kb).await?;
    let secs = start.elapsed().as_secs_f64();
    let (n, chunks, failed) = counts(api, &kb).await?;
    println!(
        "| indexing, {name} | {n} documents ({chunks} chunks, {failed} failed) in {secs:.2} s | **{:.1} documents/s** |",
        n as f64 / secs
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latencies(
    api: &Api,
    kb: &str,
    mode: &str,
    queries: &[String],
    warmup: usize,
) -> anyhow::Result<(f64, f64, usize)> {
    for q in queries.iter().take(warmup) {
        api.get(&format!(
            "/v1/knowledge/{kb}/search?q={q}&mode={mode}&top_k=5"
        ))
        .await?;
    }
    let mut ms = Vec::with_capacity(queries.len());
    let mut found = 0;
    for q in queries {
        let t = Instant::now();
        let res = api
            .get(&format!(
                "/v1/knowledge/{kb}/search?q={q}&mode={mode}&top_k=5"
            ))
            .await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        found += res["results"].as_array().map_or(0, Vec::len);
    }
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99), found))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = env_or("BENCH_BIN", "target/release/orchstack".to_owned());
    let db = std::env::var("BENCH_DATABASE_URL").context("BENCH_DATABASE_URL")?;
    let listen = env_or("BENCH_LISTEN", "127.0.0.1:8094".to_owned());
    let n_docs: usize = env_or("BENCH_DOCS", 1000);
    let target_chunks: i64 = env_or("BENCH_CHUNKS", 100_000);
    let n_queries: usize = env_or("BENCH_QUERIES", 300);
    let fake = embeddings::start().await?;
    let mut child = tokio::process::Command::new(&bin)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("ORCHSTACK_LISTEN", &listen)
        .env("ORCHSTACK_BOOTSTRAP_KEY", KEY)
        .env("ORCHSTACK_PROVIDERS__FAKE__KIND", "openai")
        .env("ORCHSTACK_PROVIDERS__FAKE__BASE_URL", &fake)
        .env("ORCHSTACK_RATE_LIMITS__ENTERPRISE__PER_MINUTE", "100000000")
        .env("ORCHSTACK_RATE_LIMITS__ENTERPRISE__BURST", "10000000")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("start {bin}"))?;
    let pid = child.id().context("pid")?;
    let api = Api {
        base: format!("http://{listen}"),
        http: reqwest::Client::new(),
    };
    let ready = Instant::now();
    while api
        .http
        .get(format!("{}/readyz", api.base))
        .send()
        .await
        .map(|r| r.status().is_success())
        .ok()
        != Some(true)
    {
        if ready.elapsed() > Duration::from_secs(30) {
            bail!("the server did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let vocab = corpus::vocabulary(5000);
    let docs: Vec<String> = (0..n_docs)
        .map(|i| corpus::document(&vocab, i, 4096))
        .collect();
    println!("| what | measured | result |\n|---|---|---|");
    indexing(&api, "keyword only", None, &docs).await?;
    indexing(
        &api,
        "with embeddings (384-dim, local server)",
        Some("fake/bench-384"),
        &docs,
    )
    .await?;

    // Search at `target_chunks`: small chunks so that a few thousand documents make them.
    let kb = create(&api, "search", Some("fake/bench-384"), 32).await?;
    let mut uploaded = 0;
    let start = Instant::now();
    loop {
        let (_, chunks, _) = counts(&api, &kb).await?;
        if chunks >= target_chunks {
            println!(
                "| search base | {uploaded} documents, {chunks} chunks, indexed in {:.1} s | |",
                start.elapsed().as_secs_f64()
            );
            break;
        }
        let per_doc = if uploaded == 0 {
            40
        } else {
            (chunks / uploaded as i64).max(1)
        };
        let need = (((target_chunks - chunks) / per_doc) as usize + 1).min(1000);
        let batch: Vec<String> = (uploaded..uploaded + need)
            .map(|i| corpus::document(&vocab, 100_000 + i, 4096))
            .collect();
        upload(&api, &kb, &batch, uploaded).await?;
        drained(&api, &kb).await?;
        uploaded += need;
    }
    let mut rng = corpus::Rng::new(42);
    let queries: Vec<String> = (0..n_queries)
        .map(|_| {
            let n = 3 + rng.below(4);
            (0..n)
                .map(|_| corpus::word(&vocab, &mut rng).to_owned())
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    let before = rss_kib(pid);
    let t = Instant::now();
    api.get(&format!(
        "/v1/knowledge/{kb}/search?q={}&mode=semantic&top_k=5",
        queries[0]
    ))
    .await?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let after = rss_kib(pid);
    println!(
        "| vector cache | first semantic search (loads the vectors) {load_ms:.0} ms; RSS {} → {} MiB | **{:.0} MiB per 100k chunks** |",
        before / 1024,
        after / 1024,
        (after.saturating_sub(before)) as f64 / 1024.0 * 100_000.0 / target_chunks as f64
    );
    for mode in ["keyword", "semantic", "hybrid"] {
        let (p50, p99, found) = latencies(&api, &kb, mode, &queries, 20).await?;
        println!("| search {mode}, top 5 | {n_queries} queries, {found} results | p50 {p50:.1} ms, **p99 {p99:.1} ms** |");
    }
    println!("| server RSS at the end | | {} MiB |", rss_kib(pid) / 1024);
    child.kill().await?;
    Ok(())
}
