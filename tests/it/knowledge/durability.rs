//! Indexing that survives: a document whose instance is killed (SIGKILL) mid-indexing
//! is indexed after the restart, once, with no duplicate chunks; a re-upload replaces a
//! document's chunks in one transaction (a search running meanwhile never sees both
//! versions, or neither); a finished document is announced through signed webhooks.

use super::*;
use crate::server::{free_port, wait_ready};
use crate::webhook_delivery::{assert_signed, quick as quick_webhooks, Answer, Receiver};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::process::Stdio;
use tokio::process::{Child, Command};

const KEY: &str = "os_live_knowledgekillknowledgekill01";

async fn start_binary(dir: &std::path::Path, port: u16, db_url: &str) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orchstack"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("ORCHSTACK_CONFIG", dir.join("orchstack.toml"))
        .env("ORCHSTACK_LISTEN", format!("127.0.0.1:{port}"))
        .env("ORCHSTACK_BOOTSTRAP_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("start the server");
    wait_ready(&format!("http://127.0.0.1:{port}")).await;
    child
}

#[tokio::test]
async fn a_document_indexing_when_its_instance_is_killed_is_indexed_after_the_restart() {
    let fake = FakeEmbeddings::start(DIMS).await;
    // Slow enough that the kill lands while the document is being embedded.
    fake.set_delay_ms(30_000);
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[worker]\nlease_ttl = \"3s\"\nreap_interval = \"1s\"\n\n\
         [knowledge]\npoll_interval = \"50ms\"\nretry_base_delay = \"50ms\"\nembedding_batch = 4\n\n\
         [providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\nidle_timeout = \"60s\"\n",
        fake.base_url()
    );
    std::fs::write(dir.path().join("orchstack.toml"), config).unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("kb.db").display());
    let port = free_port();
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
        key: Some(KEY.into()),
        http: reqwest::Client::new(),
    };
    let mut child = start_binary(dir.path(), port, &db_url).await;
    let kb = create_base(&api, json!({ "embedding_model": "fake/m", "chunking": { "max_tokens": 40, "overlap_tokens": 0 } })).await;
    let text: String = (0..40)
        .map(|i| format!("Paragraph {i} is about the turbine number {i}.\n\n"))
        .collect();
    let docs = upload(
        &api,
        &kb,
        json!([{ "name": "turbines.md", "content": text }]),
    )
    .await;
    let doc = docs[0]["id"].as_str().unwrap().to_owned();
    // Wait for the worker to hold it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let d = api
            .get(&format!("/v1/knowledge/{kb}/documents/{doc}"), 200)
            .await;
        if d["status"] == "indexing" && fake.requests() > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never indexing: {d}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap(); // SIGKILL: no chance to clean up
    let _ = child.wait().await;
    fake.set_delay_ms(0);

    child = start_binary(dir.path(), port, &db_url).await;
    let done = settled(&api, &kb, &doc).await;
    assert_eq!(done["status"], "indexed", "{done}");
    assert_eq!(done["attempts"], 2, "taken over once: {done}");
    let n = done["chunk_count"].as_i64().unwrap();
    assert!(n > 3, "{done}");
    // Exactly its chunks, once each: positions 0..n, each with a vector.
    let db = sea_orm::Database::connect(&db_url).await.unwrap();
    let chunks = entity::knowledge_chunks::Entity::find()
        .filter(entity::knowledge_chunks::Column::DocumentId.eq(&doc))
        .all(&db)
        .await
        .unwrap();
    let mut positions: Vec<i32> = chunks.iter().map(|c| c.position).collect();
    positions.sort_unstable();
    assert_eq!(positions, (0..n as i32).collect::<Vec<_>>());
    assert!(chunks
        .iter()
        .all(|c| c.embedding.as_ref().is_some_and(|e| e.len() == DIMS * 4)));
    let found = search(&api, &kb, "q=turbine%20number%2017&mode=semantic&top_k=3").await;
    assert_eq!(found["results"].as_array().unwrap().len(), 3, "{found}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_reupload_replaces_the_chunks_at_once_for_every_search() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(
        &api,
        json!({ "chunking": { "max_tokens": 32, "overlap_tokens": 0 } }),
    )
    .await;
    let version = |word: &str| -> String {
        (0..30)
            .map(|i| format!("Section {i}: the {word} clause number {i} applies.\n\n"))
            .collect()
    };
    let first = upload_settled(
        &api,
        &kb,
        json!([{ "name": "policy.md", "content": version("oldword") }]),
    )
    .await;
    assert!(
        first[0]["chunk_count"].as_i64().unwrap() > 5,
        "{}",
        first[0]
    );
    let query = format!("/v1/knowledge/{kb}/search?q=oldword%20newword&mode=keyword&top_k=50");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (api, stop, query) = (s.api(), stop.clone(), query.clone());
        tokio::spawn(async move {
            let (mut old, mut new) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || new == 0 {
                let found = api.get(&query, 200).await;
                let texts: Vec<String> = found["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["text"].as_str().unwrap().to_owned())
                    .collect();
                assert!(!texts.is_empty(), "a search saw neither version: {found}");
                let o = texts.iter().filter(|t| t.contains("oldword")).count();
                let n = texts.iter().filter(|t| t.contains("newword")).count();
                assert!(o == 0 || n == 0, "a search saw both versions: {found}");
                if o > 0 {
                    old += 1
                } else {
                    new += 1
                }
            }
            (old, new)
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = upload(
        &api,
        &kb,
        json!([{ "name": "policy.md", "content": version("newword") }]),
    )
    .await;
    assert_eq!(
        again[0]["id"], first[0]["id"],
        "the same document, replaced"
    );
    let done = settled(&api, &kb, again[0]["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "indexed");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (old, new) = watcher.await.expect("the watcher saw only whole versions");
    assert!(
        old > 0 && new > 0,
        "searched before ({old}) and after ({new}) the swap"
    );
    let docs = api.get(&format!("/v1/knowledge/{kb}/documents"), 200).await;
    assert_eq!(docs["data"].as_array().unwrap().len(), 1, "{docs}");
    // The same bytes again: nothing to do, the document stays indexed.
    let same = upload(
        &api,
        &kb,
        json!([{ "name": "policy.md", "content": version("newword") }]),
    )
    .await;
    assert_eq!(same[0]["status"], "indexed", "{}", same[0]);
}

#[tokio::test]
async fn finished_documents_are_announced_by_signed_webhooks() {
    let receiver = Receiver::start(|_| Answer::status(200)).await;
    let s = TestServer::start_with(|c| {
        quick(c);
        quick_webhooks(c);
    })
    .await;
    let api = s.api();
    let endpoint = api
        .post(
            "/v1/webhooks",
            json!({ "url": receiver.url, "events": ["knowledge.indexed", "knowledge.failed"] }),
            201,
        )
        .await;
    let kb = create_base(&api, json!({})).await;
    upload_settled(
        &api,
        &kb,
        json!([{ "name": "good.md", "content": "fine text" }, { "name": "bad.txt", "content": " " }]),
    )
    .await;
    let got = receiver.wait_for(2, 10).await;
    let mut events: Vec<(String, String, String)> = got
        .iter()
        .map(|g| {
            let body = g.json();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"]["name"].as_str().unwrap().to_owned(),
                body["data"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            (
                "knowledge.failed".to_owned(),
                "bad.txt".to_owned(),
                "failed".to_owned()
            ),
            (
                "knowledge.indexed".to_owned(),
                "good.md".to_owned(),
                "indexed".to_owned()
            ),
        ]
    );
    let failed = got
        .iter()
        .map(|g| g.json())
        .find(|b| b["type"] == "knowledge.failed")
        .unwrap();
    assert_eq!(
        failed["data"]["error"]["code"], "empty_document",
        "{failed}"
    );
    assert_eq!(failed["data"]["knowledge_id"], json!(kb));
    assert_signed(endpoint["secret"].as_str().unwrap(), &got).await;
}
