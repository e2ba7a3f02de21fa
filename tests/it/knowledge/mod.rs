//! Knowledge bases through the real interfaces: REST (JSON and multipart uploads) and
//! GraphQL, indexing by the real workers, search on the real database (SQLite FTS5 or
//! PostgreSQL tsvector), semantic and hybrid search against a local embeddings server
//! speaking the OpenAI wire format, retrieval inside runs, and a crash mid-indexing.

mod api;
mod corpus;
mod durability;
mod fake_embeddings;
mod formats;
mod graphql;
mod pdf;
mod quality;
mod recall;
mod retrieval;
mod semantic;

use crate::common::calls::url_encode;
use crate::common::*;
use fake_embeddings::FakeEmbeddings;
use orchstack::config::{Config, ProviderConfig};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The dimensions the fake embeddings server answers with.
pub(crate) const DIMS: usize = 384;

/// Indexing settings for tests: quick polls and retries.
pub(crate) fn quick(c: &mut Config) {
    c.knowledge.poll_interval = Duration::from_millis(50);
    c.knowledge.retry_base_delay = Duration::from_millis(50);
}

/// A server whose provider `fake` is the embeddings server `fake`.
pub(crate) async fn server_with(fake: &FakeEmbeddings) -> TestServer {
    let base = fake.base_url();
    TestServer::start_with(move |c| {
        quick(c);
        let mut p = ProviderConfig::new("openai", &base);
        p.api_key = Some("sk-fake-embeddings".into());
        p.retry_base_delay = Duration::from_millis(10);
        p.retry_max_delay = Duration::from_millis(50);
        c.providers.insert("fake".into(), p);
    })
    .await
}

/// Creates a knowledge base (`body` adds to or overrides `{"name": "docs"}`); its id.
pub(crate) async fn create_base(api: &Api, body: Value) -> String {
    let mut input = json!({ "name": "docs" });
    if let (Some(into), Some(from)) = (input.as_object_mut(), body.as_object()) {
        into.extend(from.clone());
    }
    let kb = api.post("/v1/knowledge", input, 201).await;
    kb["id"].as_str().expect("id").to_owned()
}

/// Uploads JSON documents; the answer's documents.
pub(crate) async fn upload(api: &Api, kb: &str, docs: Value) -> Vec<Value> {
    let res = api
        .post(
            &format!("/v1/knowledge/{kb}/upload"),
            json!({ "documents": docs }),
            202,
        )
        .await;
    res["documents"].as_array().expect("documents").clone()
}

/// A `multipart/form-data` body with one file part per (name, type, bytes); its
/// Content-Type.
pub(crate) fn multipart(files: &[(&str, &str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "orchstack-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, mime, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads files as `multipart/form-data`, expecting `status`; the body.
pub(crate) async fn upload_files(
    api: &Api,
    kb: &str,
    files: &[(&str, &str, Vec<u8>)],
    status: u16,
) -> Value {
    let (content_type, body) = multipart(files);
    let req = api
        .request(Method::POST, &format!("/v1/knowledge/{kb}/upload"))
        .header("content-type", content_type)
        .body(body);
    api.send(req, status).await
}

/// Waits until document `doc` is `indexed` or `failed`; the document.
pub(crate) async fn settled(api: &Api, kb: &str, doc: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = api
            .get(&format!("/v1/knowledge/{kb}/documents/{doc}"), 200)
            .await;
        if d["status"] == "indexed" || d["status"] == "failed" {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "document {doc} did not settle: {d}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Uploads JSON documents and waits until each has settled; the settled documents.
pub(crate) async fn upload_settled(api: &Api, kb: &str, docs: Value) -> Vec<Value> {
    let mut out = Vec::new();
    for d in upload(api, kb, docs).await {
        out.push(settled(api, kb, d["id"].as_str().unwrap()).await);
    }
    out
}

/// `GET /v1/knowledge/{kb}/search` with `query` (already URL-encoded pairs).
pub(crate) async fn search(api: &Api, kb: &str, query: &str) -> Value {
    api.get(&format!("/v1/knowledge/{kb}/search?{query}"), 200)
        .await
}

/// The document names of a search's results, in order.
pub(crate) fn names(found: &Value) -> Vec<String> {
    found["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["document_name"].as_str().unwrap().to_owned())
        .collect()
}

/// `q=` of `text`, URL-encoded.
pub(crate) fn q(text: &str) -> String {
    format!("q={}", url_encode(text))
}
