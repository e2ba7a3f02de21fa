//! The agent lifecycle over REST: create, read, list, patch with versions, delete,
//! defaults, `description: null`, and concurrent patches.

use super::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn agent_lifecycle_create_get_list_patch_delete() {
    let s = TestServer::start().await;
    let api = s.api();
    let kb = api
        .post("/v1/knowledge", json!({ "name": "FAQ" }), 201)
        .await;
    let input = json!({
        "name": "Booking assistant",
        "description": "Books haircuts",
        "model": "openai/gpt-4o-mini",
        "model_settings": { "temperature": 0.2, "max_tokens": 300 },
        "instructions": "Be brief.",
        "tools": [{ "type": "http", "name": "lookup", "url": "https://example.com/lookup",
                    "description": "Find a slot", "parameters": { "type": "object" } }],
        "knowledge_ids": [kb["id"]],
        "channels": ["whatsapp", "web"],
        "metadata": { "team": "salon" }
    });
    let created = api.post("/v1/agents", input.clone(), 201).await;
    assert_eq!(keys(&created), set(AGENT_KEYS), "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("agt_") && id.len() == 30, "id: {id}");
    for field in [
        "name",
        "description",
        "model",
        "model_settings",
        "instructions",
        "tools",
        "knowledge_ids",
        "channels",
        "metadata",
    ] {
        assert_eq!(created[field], input[field], "field {field}");
    }
    assert_eq!(created["version"], 1);
    assert_timestamp(&created["created_at"]);
    assert_timestamp(&created["updated_at"]);
    assert_eq!(created["created_at"], created["updated_at"]);

    // Read it back, alone and in the list.
    let got = api.get(&format!("/v1/agents/{id}"), 200).await;
    assert_eq!(got, created);
    let list = api.get("/v1/agents", 200).await;
    assert_eq!(list["object"], "list");
    assert_eq!(list["has_more"], false);
    assert_eq!(list["next_cursor"], Value::Null);
    assert_eq!(list["data"], json!([created.clone()]));

    // Patch two fields: only they change, and the version goes up.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let patched = api
        .patch(
            &format!("/v1/agents/{id}"),
            json!({ "name": "Front desk", "instructions": "Be very brief." }),
            200,
        )
        .await;
    assert_eq!(patched["name"], "Front desk");
    assert_eq!(patched["instructions"], "Be very brief.");
    assert_eq!(patched["version"], 2);
    for field in [
        "id",
        "description",
        "model",
        "model_settings",
        "tools",
        "knowledge_ids",
        "channels",
        "metadata",
        "created_at",
    ] {
        assert_eq!(patched[field], created[field], "field {field} changed");
    }
    assert_timestamp(&patched["updated_at"]);
    assert!(
        patched["updated_at"].as_str() > created["updated_at"].as_str(),
        "updated_at did not move: {patched}"
    );
    assert_eq!(api.get(&format!("/v1/agents/{id}"), 200).await, patched);

    // Two versions, newest first, each with its own values.
    let versions = api.get(&format!("/v1/agents/{id}/versions"), 200).await;
    assert_eq!(versions["object"], "list");
    assert_eq!(versions["has_more"], false);
    let data = versions["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "{versions}");
    let (new, old) = (&data[0], &data[1]);
    assert_eq!(new["version"], 2);
    assert_eq!(old["version"], 1);
    for v in [new, old] {
        assert!(v["id"].as_str().is_some_and(|s| s.starts_with("agv_")));
        assert_eq!(v["agent_id"], id.as_str());
        assert_eq!(v["model"], "openai/gpt-4o-mini");
        assert_eq!(v["description"], "Books haircuts");
        assert_eq!(v["tools"], input["tools"]);
        assert_eq!(v["metadata"], input["metadata"]);
        assert_timestamp(&v["created_at"]);
    }
    assert_ne!(new["id"], old["id"]);
    assert_eq!(new["name"], "Front desk");
    assert_eq!(new["instructions"], "Be very brief.");
    assert_eq!(old["name"], "Booking assistant");
    assert_eq!(old["instructions"], "Be brief.");
    assert_eq!(new["created_at"], patched["updated_at"]);
    assert_eq!(old["created_at"], created["created_at"]);

    // Delete: the documented body, then it is gone everywhere.
    let deleted = api.delete(&format!("/v1/agents/{id}"), 200).await;
    assert_eq!(
        deleted,
        json!({ "id": id, "object": "agent", "deleted": true })
    );
    let missing = api.get(&format!("/v1/agents/{id}"), 404).await;
    assert_eq!(missing["code"], "not_found");
    assert_eq!(
        api.get("/v1/agents", 200).await["data"],
        json!([]),
        "deleted agent still listed"
    );
    let again = api
        .patch(&format!("/v1/agents/{id}"), json!({ "name": "x" }), 404)
        .await;
    assert_eq!(again["code"], "not_found");
    assert_eq!(
        api.delete(&format!("/v1/agents/{id}"), 404).await["code"],
        "not_found"
    );
    assert_eq!(
        api.get(&format!("/v1/agents/{id}/versions"), 404).await["code"],
        "not_found"
    );
}

#[tokio::test]
async fn unknown_agent_ids_are_404() {
    let s = TestServer::start().await;
    let api = s.api();
    for id in [
        "agt_01jbz0000000000000000000zz",
        "nonsense",
        "key_01jbz0000000000000000000zz",
    ] {
        let body = api.get(&format!("/v1/agents/{id}"), 404).await;
        assert_eq!(body["code"], "not_found", "{id}: {body}");
        api.patch(&format!("/v1/agents/{id}"), json!({ "name": "n" }), 404)
            .await;
        api.delete(&format!("/v1/agents/{id}"), 404).await;
        api.get(&format!("/v1/agents/{id}/versions"), 404).await;
    }
}

#[tokio::test]
async fn create_applies_defaults_for_optional_fields() {
    let s = TestServer::start().await;
    let api = s.api();
    let a = api
        .post(
            "/v1/agents",
            json!({ "name": "  Minimal  ", "model": "mock/echo" }),
            201,
        )
        .await;
    assert_eq!(keys(&a), set(AGENT_KEYS));
    assert_eq!(a["name"], "Minimal", "name is trimmed");
    assert_eq!(a["description"], Value::Null);
    assert_eq!(a["model_settings"], json!({}));
    assert_eq!(a["instructions"], "");
    assert_eq!(a["tools"], json!([]));
    assert_eq!(a["knowledge_ids"], json!([]));
    assert_eq!(a["channels"], json!([]));
    assert_eq!(a["metadata"], json!({}));
    assert_eq!(a["version"], 1);
}

#[tokio::test]
async fn patch_that_changes_nothing_keeps_the_version() {
    let s = TestServer::start().await;
    let api = s.api();
    let a = api.create_agent("Same").await;
    let id = a["id"].as_str().unwrap();
    let path = format!("/v1/agents/{id}");
    tokio::time::sleep(Duration::from_millis(5)).await;
    // An empty patch, and a patch restating current values, change nothing.
    assert_eq!(api.patch(&path, json!({}), 200).await, a);
    assert_eq!(
        api.patch(
            &path,
            json!({ "name": "Same", "model": "mock/echo", "instructions": "Be brief." }),
            200
        )
        .await,
        a
    );
    let versions = api.get(&format!("{path}/versions"), 200).await;
    assert_eq!(versions["data"].as_array().unwrap().len(), 1, "{versions}");
    // A real change then makes version 2, and one more makes 3.
    let b = api.patch(&path, json!({ "channels": ["web"] }), 200).await;
    assert_eq!(b["version"], 2);
    assert_eq!(b["channels"], json!(["web"]));
    let c = api
        .patch(&path, json!({ "model": "openai/gpt-4o" }), 200)
        .await;
    assert_eq!(c["version"], 3);
    assert_eq!(c["channels"], json!(["web"]), "earlier change kept");
    let versions = api.get(&format!("{path}/versions"), 200).await;
    let nums: Vec<i64> = versions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(nums, vec![3, 2, 1]);
}

#[tokio::test]
async fn description_null_clears_it_and_omitting_it_keeps_it() {
    let s = TestServer::start().await;
    let api = s.api();
    let a = api
        .post(
            "/v1/agents",
            json!({ "name": "D", "model": "mock/echo", "description": "old text" }),
            201,
        )
        .await;
    let path = format!("/v1/agents/{}", a["id"].as_str().unwrap());
    let kept = api.patch(&path, json!({ "name": "D2" }), 200).await;
    assert_eq!(kept["description"], "old text");
    assert_eq!(kept["version"], 2);
    let cleared = api.patch(&path, json!({ "description": null }), 200).await;
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["name"], "D2");
    assert_eq!(cleared["version"], 3);
    assert_eq!(api.get(&path, 200).await["description"], Value::Null);
    // Clearing it again is no change.
    let same = api.patch(&path, json!({ "description": null }), 200).await;
    assert_eq!(same["version"], 3);
    let versions = api.get(&format!("{path}/versions"), 200).await;
    let data = versions["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[0]["description"], Value::Null);
    assert_eq!(data[1]["description"], "old text");
    // And it can be set again.
    let set_again = api.patch(&path, json!({ "description": "new" }), 200).await;
    assert_eq!(set_again["description"], "new");
    assert_eq!(set_again["version"], 4);
}

#[tokio::test]
async fn concurrent_patches_lose_no_version() {
    let s = TestServer::start_with(|c| c.db_max_connections = 16).await;
    let api = s.api();
    let a = api.create_agent("busy").await;
    let path = format!("/v1/agents/{}", a["id"].as_str().unwrap());
    let results = futures::future::join_all((0..12).map(|i| {
        let api = api.clone();
        let path = path.clone();
        async move {
            let res = api
                .request(Method::PATCH, &path)
                .json(&json!({ "instructions": format!("edit {i}") }))
                .send()
                .await
                .expect("sent");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        }
    }))
    .await;
    let mut versions_seen = BTreeSet::new();
    for (status, body) in &results {
        match status {
            200 => assert!(versions_seen.insert(body["version"].as_i64().unwrap())),
            409 => assert_eq!(body["code"], "conflict", "{body}"),
            _ => panic!("unexpected answer {status}: {body}"),
        }
    }
    let ok = versions_seen.len() as i64;
    assert!(ok >= 1);
    // Each accepted change is exactly one version; none overwrote another silently.
    let expected: BTreeSet<i64> = (2..=ok + 1).collect();
    assert_eq!(versions_seen, expected);
    let now = api.get(&path, 200).await;
    assert_eq!(now["version"], ok + 1);
    let versions = api.get(&format!("{path}/versions?limit=100"), 200).await;
    let data = versions["data"].as_array().unwrap();
    assert_eq!(data.len() as i64, ok + 1);
    assert_eq!(data[0]["instructions"], now["instructions"]);
}
