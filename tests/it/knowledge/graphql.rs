//! The knowledge lifecycle over GraphQL: create, upload (text and base64), watch the
//! documents index live (`documentUpdates` over graphql-ws), list, search, delete.

use super::pdf::make_pdf;
use super::*;
use crate::common::calls::{data, gql_code};
use crate::common::ws::Ws;
use base64::Engine;

#[tokio::test]
async fn the_lifecycle_over_graphql_with_live_document_updates() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let res = api
        .gql(
            "mutation { createKnowledgeBase(input: { name: \"Manuals\", chunking: { maxTokens: 200 } }) { id name chunking { maxTokens overlapTokens } embeddingModel } }",
            json!({}),
        )
        .await;
    let kb = data(&res)["createKnowledgeBase"].clone();
    assert_eq!(
        kb["chunking"],
        json!({ "maxTokens": 200, "overlapTokens": 40 })
    );
    let kb_id = kb["id"].as_str().unwrap().to_owned();

    let mut ws = Ws::subscribe(
        &s,
        &format!("subscription {{ documentUpdates(knowledgeId: \"{kb_id}\") {{ name status progress {{ done total }} chunkCount }} }}"),
    )
    .await;
    // The subscription is registered once a request on another connection sees it:
    // give the server a moment to subscribe before the upload.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pdf = base64::engine::general_purpose::STANDARD
        .encode(make_pdf(&["Pump maintenance every 500 hours."]));
    let res = api
        .gql(
            "mutation($kb: ID!, $pdf: String!) { uploadDocuments(knowledgeId: $kb, input: { documents: [
                { name: \"pump.pdf\", contentBase64: $pdf },
                { name: \"valve.md\", content: \"# Valve\\n\\nClose the valve before draining.\", metadata: { rev: 2 } }
            ] }) { documents { id name format status metadata } } }",
            json!({ "kb": kb_id, "pdf": pdf }),
        )
        .await;
    let docs = data(&res)["uploadDocuments"]["documents"].clone();
    assert_eq!(docs[0]["format"], "pdf", "{res}");
    assert_eq!(docs[1]["metadata"], json!({ "rev": 2 }));
    assert!(docs
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "PENDING"));

    // Live: each document goes pending → indexing → indexed.
    let mut seen: Vec<(String, String)> = Vec::new();
    while seen.iter().filter(|(_, st)| st == "INDEXED").count() < 2 {
        let d = ws.next_of("documentUpdates").await;
        seen.push((
            d["name"].as_str().unwrap().to_owned(),
            d["status"].as_str().unwrap().to_owned(),
        ));
    }
    for name in ["pump.pdf", "valve.md"] {
        let states: Vec<&str> = seen
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, st)| st.as_str())
            .collect();
        assert_eq!(states.first(), Some(&"PENDING"), "{name}: {seen:?}");
        assert!(states.contains(&"INDEXING"), "{name}: {seen:?}");
        assert_eq!(states.last(), Some(&"INDEXED"), "{name}: {seen:?}");
    }

    let res = api
        .gql(
            "query($kb: ID!) {
                knowledgeBase(id: $kb) { documents(filter: { status: [INDEXED] }) { nodes { name chunkCount } } }
                searchKnowledge(knowledgeId: $kb, q: \"pump maintenance hours\", topK: 1, mode: KEYWORD) {
                    mode indexing results { documentName text score }
                }
            }",
            json!({ "kb": kb_id }),
        )
        .await;
    let d = data(&res);
    assert_eq!(
        d["knowledgeBase"]["documents"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{res}"
    );
    let found = &d["searchKnowledge"];
    assert_eq!(found["mode"], "KEYWORD");
    assert_eq!(found["indexing"], false);
    assert_eq!(found["results"][0]["documentName"], "pump.pdf", "{res}");
    assert!(found["results"][0]["text"]
        .as_str()
        .unwrap()
        .contains("500 hours"));

    // Bad input has its codes.
    let res = api
        .gql(
            "query($kb: ID!) { searchKnowledge(knowledgeId: $kb, q: \"x\", topK: 99) { indexing } }",
            json!({ "kb": kb_id }),
        )
        .await;
    assert_eq!(gql_code(&res), "BAD_REQUEST", "{res}");
    let res = api
        .gql(
            "mutation($kb: ID!) { uploadDocuments(knowledgeId: $kb, input: { documents: [{ name: \"a.exe\", content: \"x\" }] }) { documents { id } } }",
            json!({ "kb": kb_id }),
        )
        .await;
    assert_eq!(gql_code(&res), "UNSUPPORTED_MEDIA_TYPE", "{res}");

    let res = api
        .gql(
            "mutation($kb: ID!) { deleteKnowledgeBase(id: $kb) }",
            json!({ "kb": kb_id }),
        )
        .await;
    assert_eq!(data(&res)["deleteKnowledgeBase"], json!(kb_id));
    let res = api
        .gql(
            "query($kb: ID!) { knowledgeBase(id: $kb) { id } }",
            json!({ "kb": kb_id }),
        )
        .await;
    assert_eq!(gql_code(&res), "NOT_FOUND", "{res}");
}
