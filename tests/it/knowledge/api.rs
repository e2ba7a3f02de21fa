//! The knowledge base and document lifecycle over REST: create, list, get, patch (a
//! chunking change re-indexes), delete (refused while an agent lists the base), scopes
//! and tenancy.

use super::*;

#[tokio::test]
async fn a_base_is_created_listed_changed_and_deleted() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = api
        .post(
            "/v1/knowledge",
            json!({ "name": "Handbook", "description": "Policies" }),
            201,
        )
        .await;
    let id = kb["id"].as_str().unwrap();
    assert!(id.starts_with("kb_"), "{kb}");
    assert_eq!(
        kb["chunking"],
        json!({ "max_tokens": 400, "overlap_tokens": 40 })
    );
    assert_eq!(kb["embedding_model"], Value::Null);
    assert_eq!(api.get(&format!("/v1/knowledge/{id}"), 200).await, kb);
    let list = api.get("/v1/knowledge", 200).await;
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"], json!([kb.clone()]));

    let docs = upload_settled(
        &api,
        id,
        json!([{ "name": "leave.md", "content": "# Leave\n\nEmployees get 25 vacation days a year." }]),
    )
    .await;
    assert_eq!(docs[0]["status"], "indexed", "{}", docs[0]);
    assert_eq!(docs[0]["chunk_count"], 1);
    assert_eq!(docs[0]["attempts"], 1);
    assert!(docs[0]["token_count"].as_i64().unwrap() > 5);
    assert_eq!(docs[0]["progress"], json!({ "done": 1, "total": 1 }));

    // A chunking change indexes every document again, as jobs.
    let patched = api
        .patch(
            &format!("/v1/knowledge/{id}"),
            json!({ "name": "Staff handbook", "chunking": { "max_tokens": 64, "overlap_tokens": 8 } }),
            200,
        )
        .await;
    assert_eq!(patched["name"], "Staff handbook");
    assert_eq!(
        patched["chunking"],
        json!({ "max_tokens": 64, "overlap_tokens": 8 })
    );
    let again = settled(&api, id, docs[0]["id"].as_str().unwrap()).await;
    assert_eq!(again["status"], "indexed");
    assert_eq!(again["attempts"], 1, "a fresh job: {again}");

    // Listed by an agent: refused; once the agent lets go: deleted, and gone.
    let agent = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "mock/echo", "knowledge_ids": [id] }),
            201,
        )
        .await;
    let refused = api.delete(&format!("/v1/knowledge/{id}"), 409).await;
    assert_eq!(refused["code"], "knowledge_in_use", "{refused}");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains(agent["id"].as_str().unwrap()));
    api.patch(
        &format!("/v1/agents/{}", agent["id"].as_str().unwrap()),
        json!({ "knowledge_ids": [] }),
        200,
    )
    .await;
    let deleted = api.delete(&format!("/v1/knowledge/{id}"), 200).await;
    assert_eq!(
        deleted,
        json!({ "id": id, "object": "knowledge_base", "deleted": true })
    );
    api.get(&format!("/v1/knowledge/{id}"), 404).await;
    api.get(&format!("/v1/knowledge/{id}/search?q=vacation"), 404)
        .await;
    assert_eq!(api.get("/v1/knowledge", 200).await["data"], json!([]));
}

#[tokio::test]
async fn bad_bases_are_refused_with_a_pointer_per_problem() {
    let s = TestServer::start().await;
    let api = s.api();
    let res = api
        .post(
            "/v1/knowledge",
            json!({
                "name": "",
                "description": "d".repeat(2001),
                "chunking": { "max_tokens": 10, "overlap_tokens": 30 },
                "embedding_model": "nowhere/model"
            }),
            422,
        )
        .await;
    let mut pointers: Vec<&str> = res["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/chunking/max_tokens",
            "/chunking/overlap_tokens",
            "/description",
            "/embedding_model",
            "/name"
        ],
        "{res}"
    );
    // An agent cannot list a base that does not exist (or is another organisation's).
    let res = api
        .post(
            "/v1/agents",
            json!({ "name": "a", "model": "mock/echo", "knowledge_ids": ["kb_01j00000000000000000000000"] }),
            422,
        )
        .await;
    assert_eq!(res["errors"][0]["pointer"], "/knowledge_ids/0", "{res}");
}

#[tokio::test]
async fn documents_are_listed_filtered_read_reindexed_and_deleted() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let docs = upload_settled(
        &api,
        &kb,
        json!([
            { "name": "a.txt", "content": "alpha bravo charlie", "metadata": { "team": "x" } },
            { "name": "empty.txt", "content": "   \n  " }
        ]),
    )
    .await;
    assert_eq!(docs[0]["status"], "indexed");
    assert_eq!(docs[0]["metadata"], json!({ "team": "x" }));
    assert_eq!(docs[1]["status"], "failed");
    assert_eq!(docs[1]["error"]["code"], "empty_document", "{}", docs[1]);
    let failed = api
        .get(&format!("/v1/knowledge/{kb}/documents?status=failed"), 200)
        .await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed["data"][0]["name"], "empty.txt");
    let all = api.get(&format!("/v1/knowledge/{kb}/documents"), 200).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);

    let a = docs[0]["id"].as_str().unwrap();
    let queued = api
        .post(
            &format!("/v1/knowledge/{kb}/documents/{a}/reindex"),
            json!({}),
            202,
        )
        .await;
    assert_eq!(queued["status"], "pending", "{queued}");
    assert_eq!(settled(&api, &kb, a).await["status"], "indexed");

    let found = search(&api, &kb, "q=bravo").await;
    assert_eq!(names(&found), ["a.txt"]);
    api.delete(&format!("/v1/knowledge/{kb}/documents/{a}"), 200)
        .await;
    api.get(&format!("/v1/knowledge/{kb}/documents/{a}"), 404)
        .await;
    assert!(names(&search(&api, &kb, "q=bravo").await).is_empty());
}

#[tokio::test]
async fn scopes_and_organisations_bound_every_route() {
    let s = TestServer::start_with(quick).await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let doc = upload_settled(
        &api,
        &kb,
        json!([{ "name": "a.txt", "content": "secret plans" }]),
    )
    .await;
    let doc = doc[0]["id"].as_str().unwrap();

    let reader = s.key(&s.org_id, &["knowledge:read"], false).await;
    let reader = s.api_with(Some(&reader));
    reader.get(&format!("/v1/knowledge/{kb}"), 200).await;
    assert_eq!(names(&search(&reader, &kb, "q=secret").await), ["a.txt"]);
    let refused = reader
        .post("/v1/knowledge", json!({ "name": "x" }), 403)
        .await;
    assert_eq!(refused["code"], "insufficient_scope");
    reader
        .post(
            &format!("/v1/knowledge/{kb}/upload"),
            json!({ "documents": [{ "name": "b.txt", "content": "x" }] }),
            403,
        )
        .await;
    let none = s.key(&s.org_id, &["agents:read"], false).await;
    s.api_with(Some(&none))
        .get(&format!("/v1/knowledge/{kb}/search?q=secret"), 403)
        .await;

    // Another organisation sees nothing, and cannot write into the base.
    let (other_org, _) = s.new_org("pro").await;
    let other = s.key(&other_org, &["*"], false).await;
    let other = s.api_with(Some(&other));
    other.get(&format!("/v1/knowledge/{kb}"), 404).await;
    other
        .get(&format!("/v1/knowledge/{kb}/search?q=secret"), 404)
        .await;
    other
        .get(&format!("/v1/knowledge/{kb}/documents/{doc}"), 404)
        .await;
    other
        .delete(&format!("/v1/knowledge/{kb}/documents/{doc}"), 404)
        .await;
    other
        .post(
            &format!("/v1/knowledge/{kb}/upload"),
            json!({ "documents": [{ "name": "b.txt", "content": "x" }] }),
            404,
        )
        .await;
    assert_eq!(other.get("/v1/knowledge", 200).await["data"], json!([]));
    // Its own base with the same words finds only its own chunks.
    let mine = create_base(&other, json!({})).await;
    upload_settled(
        &other,
        &mine,
        json!([{ "name": "mine.txt", "content": "secret recipes" }]),
    )
    .await;
    assert_eq!(
        names(&search(&other, &mine, "q=secret").await),
        ["mine.txt"]
    );
}

#[tokio::test]
async fn originals_can_be_kept_in_a_directory_and_are_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let s = TestServer::start_with(move |c| {
        quick(c);
        c.knowledge.blob_dir = path;
    })
    .await;
    let api = s.api();
    let kb = create_base(&api, json!({})).await;
    let docs = upload_settled(
        &api,
        &kb,
        json!([
            { "name": "a.txt", "content": "kept on disk" },
            { "name": "b.txt", "content": "kept on disk" }
        ]),
    )
    .await;
    assert_eq!(docs[0]["sha256"], docs[1]["sha256"]);
    let sha = docs[0]["sha256"].as_str().unwrap();
    let file = dir.path().join(&s.org_id).join(sha);
    assert_eq!(std::fs::read(&file).unwrap(), b"kept on disk");
    let files = std::fs::read_dir(dir.path().join(&s.org_id))
        .unwrap()
        .count();
    assert_eq!(files, 1, "the same bytes are kept once");
    // Re-indexing reads the original back from the directory.
    let a = docs[0]["id"].as_str().unwrap();
    api.post(
        &format!("/v1/knowledge/{kb}/documents/{a}/reindex"),
        json!({}),
        202,
    )
    .await;
    assert_eq!(settled(&api, &kb, a).await["status"], "indexed");
}
