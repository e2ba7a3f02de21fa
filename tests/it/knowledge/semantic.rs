//! Semantic and hybrid search against a local embeddings server speaking the OpenAI
//! wire format: vectors are made in batches while indexing (with progress), the query
//! is embedded with the base's model, a rate-limited provider is waited for, and a
//! provider that never answers fails the document after its attempts.

use super::fake_embeddings::embed;
use super::*;

const DOCS: &[(&str, &str)] = &[
    (
        "cars.md",
        "# Fleet\n\nEvery automobile in the fleet is serviced in spring.",
    ),
    (
        "food.md",
        "# Canteen\n\nLunch is served from noon; the soup changes daily.",
    ),
    (
        "money.md",
        "# Expenses\n\nReimbursement requests need a receipt and a manager's approval.",
    ),
];

#[tokio::test]
async fn semantic_and_hybrid_find_what_keywords_miss() {
    let fake = FakeEmbeddings::start(DIMS).await;
    let s = server_with(&fake).await;
    let api = s.api();
    let kb = create_base(
        &api,
        json!({ "embedding_model": "fake/text-embedding-3-small" }),
    )
    .await;
    let docs: Vec<Value> = DOCS
        .iter()
        .map(|(name, content)| json!({ "name": name, "content": content }))
        .collect();
    for d in upload_settled(&api, &kb, Value::Array(docs)).await {
        assert_eq!(d["status"], "indexed", "{d}");
    }
    assert!(fake.inputs() >= 3, "each chunk was embedded");
    assert_eq!(
        fake.last_auth().as_deref(),
        Some("Bearer sk-fake-embeddings")
    );

    // "car" and "refund" are not in the documents: keyword search misses them.
    let question = "which car should be checked, and how is a refund paid?";
    let keyword = search(&api, &kb, &format!("{}&mode=keyword", q(question))).await;
    assert!(names(&keyword).is_empty(), "{keyword}");
    let semantic = search(&api, &kb, &format!("{}&mode=semantic&top_k=2", q(question))).await;
    let mut got = names(&semantic);
    got.sort();
    assert_eq!(got, ["cars.md", "money.md"], "{semantic}");
    // The score is the cosine of the server's own vectors.
    let top = &semantic["results"][0];
    let doc = DOCS
        .iter()
        .find(|(n, _)| *n == top["document_name"].as_str().unwrap())
        .unwrap();
    let want = super::fake_embeddings::cosine(&embed(question, DIMS), &embed(doc.1, DIMS));
    let score = top["score"].as_f64().unwrap();
    assert!(
        (score - f64::from(want)).abs() < 1e-3,
        "score {score} vs cosine {want}"
    );
    // Hybrid: the default mode, fused lists.
    let hybrid = search(&api, &kb, &q(question)).await;
    assert_eq!(hybrid["mode"], "hybrid");
    assert_eq!(names(&hybrid)[..2].len(), 2);
    assert!(names(&hybrid).contains(&"money.md".to_owned()), "{hybrid}");
    // A word both lists agree on ranks first.
    let both = search(&api, &kb, "q=lunch%20soup").await;
    assert_eq!(names(&both)[0], "food.md", "{both}");
}

#[tokio::test]
async fn a_rate_limited_provider_is_waited_for() {
    let fake = FakeEmbeddings::start_rate_limited(DIMS, 2).await;
    let s = server_with(&fake).await;
    let api = s.api();
    let kb = create_base(&api, json!({ "embedding_model": "fake/m" })).await;
    let docs = upload_settled(
        &api,
        &kb,
        json!([{ "name": "a.md", "content": "patience pays" }]),
    )
    .await;
    assert_eq!(docs[0]["status"], "indexed", "{}", docs[0]);
    assert!(fake.requests() >= 3, "two 429s, then the answer");
}

#[tokio::test]
async fn a_provider_that_never_answers_fails_the_document_after_its_attempts() {
    let dead = crate::common::run_support::unreachable_url().await;
    let s = TestServer::start_with(move |c| {
        quick(c);
        let mut p = ProviderConfig::new("openai", &dead);
        p.max_retries = 1;
        p.retry_base_delay = Duration::from_millis(5);
        p.retry_max_delay = Duration::from_millis(5);
        c.providers.insert("gone".into(), p);
    })
    .await;
    let api = s.api();
    let kb = create_base(&api, json!({ "embedding_model": "gone/m" })).await;
    let docs = upload_settled(
        &api,
        &kb,
        json!([{ "name": "a.md", "content": "never embedded" }]),
    )
    .await;
    let d = &docs[0];
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["error"]["code"], "embedding_failed", "{d}");
    assert_eq!(d["attempts"], 3, "knowledge.max_attempts: {d}");
    assert!(
        d["error"]["message"]
            .as_str()
            .unwrap()
            .contains("after 3 attempts"),
        "{d}"
    );
    // Its base still answers keyword searches (nothing of it is indexed).
    let res = search(&api, &kb, "q=embedded&mode=keyword").await;
    assert_eq!(res["results"], json!([]));
}
