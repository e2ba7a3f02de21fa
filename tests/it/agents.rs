//! Agents over REST: the whole lifecycle (create, read, list, patch with versions,
//! delete), validation with JSON pointers, plan limits, `fields=` and list filters.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

/// Every key an agent has over REST, in no particular order.
const AGENT_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "model",
    "model_settings",
    "instructions",
    "tools",
    "knowledge_ids",
    "channels",
    "metadata",
    "version",
    "created_at",
    "updated_at",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-29T03:08:54.123Z`.
fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    assert!(
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.',
        "not RFC 3339 with milliseconds: {s}"
    );
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
}

/// Checks a 422 problem and returns its `errors[]` as (pointer, detail) pairs.
fn validation_errors(body: &Value) -> Vec<(String, String)> {
    assert_eq!(body["code"], "validation_failed", "{body}");
    assert_eq!(body["status"], 422, "{body}");
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[] in {body}"))
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap_or_default().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn has_pointer(errors: &[(String, String)], pointer: &str) -> bool {
    errors.iter().any(|(p, _)| p == pointer)
}

fn ids_of(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data[] in {list}"))
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn list_ids(api: &Api, query: &str) -> Vec<String> {
    let list = api.get(&format!("/v1/agents{query}"), 200).await;
    assert_eq!(list["has_more"], false, "expected one page: {list}");
    ids_of(&list)
}

#[tokio::test]
async fn agent_lifecycle_create_get_list_patch_delete() {
    let s = TestServer::start().await;
    let api = s.api();
    let input = json!({
        "name": "Booking assistant",
        "description": "Books haircuts",
        "model": "openai/gpt-4o-mini",
        "model_settings": { "temperature": 0.2, "max_tokens": 300 },
        "instructions": "Be brief.",
        "tools": [{ "type": "http", "name": "lookup", "url": "https://example.com/lookup",
                    "description": "Find a slot", "parameters": { "type": "object" } }],
        "knowledge_ids": ["kb_1"],
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
async fn create_validation_errors_carry_pointers() {
    let s = TestServer::start().await;
    let api = s.api();

    // Wrong type.
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": 5, "model": "mock/echo" }),
            422,
        )
        .await;
    let errs = validation_errors(&body);
    assert_eq!(errs.len(), 1, "{body}");
    assert_eq!(errs[0].0, "/name");
    assert!(errs[0].1.contains("string"), "{body}");

    // Missing required field.
    let body = api.post("/v1/agents", json!({ "name": "x" }), 422).await;
    let errs = validation_errors(&body);
    assert_eq!(errs, vec![("/model".to_owned(), "is required".to_owned())]);

    // Unknown field.
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": "mock/echo", "colour": "red" }),
            422,
        )
        .await;
    let errs = validation_errors(&body);
    assert_eq!(errs.len(), 1, "{body}");
    assert_eq!(errs[0].0, "/colour");
    assert!(errs[0].1.contains("not a known field"), "{body}");

    // Several problems are reported at once.
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": 7, "channels": "web", "tools": {} }),
            422,
        )
        .await;
    let errs = validation_errors(&body);
    for p in ["/model", "/channels", "/tools"] {
        assert!(has_pointer(&errs, p), "no {p} in {body}");
    }

    // Rules: empty name, model not provider/model.
    for (bad, pointer) in [
        (json!({ "name": "", "model": "mock/echo" }), "/name"),
        (json!({ "name": "   ", "model": "mock/echo" }), "/name"),
        (
            json!({ "name": "n".repeat(201), "model": "mock/echo" }),
            "/name",
        ),
        (json!({ "name": "x", "model": "gpt-4o" }), "/model"),
        (json!({ "name": "x", "model": "openai/" }), "/model"),
        (json!({ "name": "x", "model": "/gpt" }), "/model"),
        (json!({ "name": "x", "model": "OpenAI/gpt 4" }), "/model"),
        (
            json!({ "name": "x", "model": "mock/echo", "metadata": [1] }),
            "/metadata",
        ),
        (
            json!({ "name": "x", "model": "mock/echo", "model_settings": "hot" }),
            "/model_settings",
        ),
        (
            json!({ "name": "x", "model": "mock/echo", "channels": ["web", ""] }),
            "/channels/1",
        ),
    ] {
        let body = api.post("/v1/agents", bad.clone(), 422).await;
        let errs = validation_errors(&body);
        assert!(has_pointer(&errs, pointer), "{bad} → {body}");
    }
    let body = api
        .post("/v1/agents", json!({ "name": "", "model": "nope" }), 422)
        .await;
    let errs = validation_errors(&body);
    assert!(
        has_pointer(&errs, "/name") && has_pointer(&errs, "/model"),
        "{body}"
    );

    // Nothing was created by any of these.
    assert_eq!(api.get("/v1/agents", 200).await["data"], json!([]));
}

#[tokio::test]
async fn tools_must_be_http_tools() {
    let s = TestServer::start().await;
    let api = s.api();
    let post = |tools: Value| {
        let api = api.clone();
        async move {
            api.post(
                "/v1/agents",
                json!({ "name": "t", "model": "mock/echo", "tools": tools }),
                422,
            )
            .await
        }
    };
    let body =
        post(json!([{ "type": "ftp", "name": "bad name!", "url": "file:///etc/passwd" }])).await;
    let errs = validation_errors(&body);
    for p in ["/tools/0/type", "/tools/0/name", "/tools/0/url"] {
        assert!(has_pointer(&errs, p), "no {p} in {body}");
    }
    let body = post(json!(["lookup"])).await;
    assert!(has_pointer(&validation_errors(&body), "/tools/0"), "{body}");
    let body = post(json!([{ "type": "http", "url": "https://x.test" }])).await;
    assert!(
        has_pointer(&validation_errors(&body), "/tools/0/name"),
        "{body}"
    );
    let body = post(json!([
        { "type": "http", "name": "a", "url": "https://x.test" },
        { "type": "http", "name": "a", "url": "https://y.test" }
    ]))
    .await;
    assert!(
        has_pointer(&validation_errors(&body), "/tools/1/name"),
        "{body}"
    );
    let body = post(json!([
        { "type": "http", "name": "ok", "url": "https://x.test", "secret": "s" }
    ]))
    .await;
    assert!(
        has_pointer(&validation_errors(&body), "/tools/0/secret"),
        "{body}"
    );
    let body = post(json!([
        { "type": "http", "name": "ok", "url": "https://x.test", "parameters": [] }
    ]))
    .await;
    assert!(
        has_pointer(&validation_errors(&body), "/tools/0/parameters"),
        "{body}"
    );

    // A good tool is accepted as given.
    let tool = json!({ "type": "http", "name": "get_slot", "url": "http://127.0.0.1:9/slot", "timeout_ms": 500 });
    let a = api
        .post(
            "/v1/agents",
            json!({ "name": "t", "model": "mock/echo", "tools": [tool.clone()] }),
            201,
        )
        .await;
    assert_eq!(a["tools"], json!([tool]));
    // A bad tool in a patch is refused and changes nothing.
    let path = format!("/v1/agents/{}", a["id"].as_str().unwrap());
    let body = api
        .patch(&path, json!({ "tools": [{ "type": "http" }] }), 422)
        .await;
    let errs = validation_errors(&body);
    assert!(
        has_pointer(&errs, "/tools/0/name") && has_pointer(&errs, "/tools/0/url"),
        "{body}"
    );
    let after = api.get(&path, 200).await;
    assert_eq!(after["version"], 1);
    assert_eq!(after["tools"], json!([tool]));
}

#[tokio::test]
async fn patch_validation_errors_change_nothing() {
    let s = TestServer::start().await;
    let api = s.api();
    let a = api.create_agent("Keep me").await;
    let path = format!("/v1/agents/{}", a["id"].as_str().unwrap());
    for (bad, pointer) in [
        (json!({ "name": "" }), "/name"),
        (json!({ "name": 5 }), "/name"),
        (json!({ "model": "nope" }), "/model"),
        (json!({ "version": 9 }), "/version"),
        (json!({ "id": "agt_other" }), "/id"),
        (json!({ "metadata": "x" }), "/metadata"),
        (json!({ "name": "ok", "colour": "red" }), "/colour"),
    ] {
        let body = api.patch(&path, bad.clone(), 422).await;
        assert!(
            has_pointer(&validation_errors(&body), pointer),
            "{bad} → {body}"
        );
    }
    assert_eq!(api.get(&path, 200).await, a);
}

#[tokio::test]
async fn free_plan_allows_three_agents() {
    let s = TestServer::start().await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(api.create_agent(&format!("free {i}")).await["id"].clone());
    }
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": "one too many", "model": "mock/echo" }),
            403,
        )
        .await;
    assert_eq!(body["code"], "plan_limit_exceeded", "{body}");
    assert_eq!(body["status"], 403);
    let list = api.get("/v1/agents", 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    // Deleting one makes room again.
    api.delete(&format!("/v1/agents/{}", ids[0].as_str().unwrap()), 200)
        .await;
    api.create_agent("fits again").await;
    api.post(
        "/v1/agents",
        json!({ "name": "no room", "model": "mock/echo" }),
        403,
    )
    .await;
    // The enterprise org of the same server is not limited by it.
    for i in 0..5 {
        s.api().create_agent(&format!("ent {i}")).await;
    }
}

#[tokio::test]
async fn pro_plan_allows_twenty_five_agents() {
    let s = TestServer::start().await;
    let (_org, key) = s.new_org("pro").await;
    let api = s.api_with(Some(&key));
    for i in 0..25 {
        api.create_agent(&format!("pro {i}")).await;
    }
    let body = api
        .post(
            "/v1/agents",
            json!({ "name": "26", "model": "mock/echo" }),
            403,
        )
        .await;
    assert_eq!(body["code"], "plan_limit_exceeded");
    let list = api.get("/v1/agents?limit=100", 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 25);
}

#[tokio::test]
async fn concurrent_creates_cannot_exceed_the_plan_limit() {
    // Enough connections that the creates really run side by side.
    let s = TestServer::start_with(|c| c.db_max_connections = 16).await;
    let (_org, key) = s.new_org("free").await;
    let api = s.api_with(Some(&key));
    // Authenticate once so the creates are not serialised behind the key lookup.
    api.get("/v1/agents", 200).await;
    let results = futures::future::join_all((0..24).map(|i| {
        let api = api.clone();
        async move {
            let res = api
                .request(Method::POST, "/v1/agents")
                .json(&json!({ "name": format!("race {i}"), "model": "mock/echo" }))
                .send()
                .await
                .expect("sent");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json");
            (status, body)
        }
    }))
    .await;
    let created = results.iter().filter(|(st, _)| *st == 201).count();
    for (status, body) in &results {
        assert!(
            *status == 201 || (*status == 403 && body["code"] == "plan_limit_exceeded"),
            "unexpected answer {status}: {body}"
        );
    }
    let listed = api.get("/v1/agents", 200).await["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, created, "list disagrees with the 201s");
    assert_eq!(created, 3, "free plan ended with {created} agents");
}

#[tokio::test]
async fn fields_selects_top_level_keys() {
    let s = TestServer::start().await;
    let api = s.api();
    let a = api.create_agent("Picky").await;
    let id = a["id"].as_str().unwrap();
    api.create_agent("Other").await;

    let one = api
        .get(&format!("/v1/agents/{id}?fields=id,name"), 200)
        .await;
    assert_eq!(one, json!({ "id": id, "name": "Picky" }));

    let list = api.get("/v1/agents?fields=id,name", 200).await;
    assert_eq!(list["object"], "list");
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for item in data {
        assert_eq!(keys(item), set(&["id", "name"]), "{item}");
    }
    let list = api.get("/v1/agents?fields=version", 200).await;
    for item in list["data"].as_array().unwrap() {
        assert_eq!(item, &json!({ "version": 1 }));
    }
    // Order of the names does not matter; spaces around them are ignored.
    let one = api
        .get(&format!("/v1/agents/{id}?fields=model,%20id"), 200)
        .await;
    assert_eq!(keys(&one), set(&["id", "model"]));
    // It applies to writes too.
    let patched = api
        .patch(
            &format!("/v1/agents/{id}?fields=version"),
            json!({ "name": "Picky 2" }),
            200,
        )
        .await;
    assert_eq!(patched, json!({ "version": 2 }));
    let versions = api
        .get(
            &format!("/v1/agents/{id}/versions?fields=version,name"),
            200,
        )
        .await;
    assert_eq!(
        versions["data"],
        json!([{ "version": 2, "name": "Picky 2" }, { "version": 1, "name": "Picky" }])
    );
}

#[tokio::test]
async fn list_filters_by_model_and_creation_time() {
    let s = TestServer::start().await;
    let api = s.api();
    let create = |name: &'static str, model: &'static str| {
        let api = api.clone();
        async move {
            api.post("/v1/agents", json!({ "name": name, "model": model }), 201)
                .await
        }
    };
    let a = create("a", "mock/echo").await;
    tokio::time::sleep(Duration::from_millis(15)).await;
    let b = create("b", "openai/gpt-4o-mini").await;
    tokio::time::sleep(Duration::from_millis(15)).await;
    let c = create("c", "mock/echo").await;
    tokio::time::sleep(Duration::from_millis(15)).await;
    let d = create("d", "openai/gpt-4o-mini").await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();

    // Newest first by default.
    assert_eq!(
        list_ids(&api, "").await,
        vec![id(&d), id(&c), id(&b), id(&a)]
    );
    assert_eq!(
        list_ids(&api, "?model=openai/gpt-4o-mini").await,
        vec![id(&d), id(&b)]
    );
    assert_eq!(
        list_ids(&api, "?model=mock%2Fecho").await,
        vec![id(&c), id(&a)]
    );
    assert!(list_ids(&api, "?model=mock/other").await.is_empty());

    let b_at = b["created_at"].as_str().unwrap();
    let c_at = c["created_at"].as_str().unwrap();
    // created_after is inclusive, created_before exclusive.
    assert_eq!(
        list_ids(&api, &format!("?created_after={b_at}")).await,
        vec![id(&d), id(&c), id(&b)]
    );
    assert_eq!(
        list_ids(&api, &format!("?created_before={c_at}")).await,
        vec![id(&b), id(&a)]
    );
    assert_eq!(
        list_ids(
            &api,
            &format!("?created_after={b_at}&created_before={c_at}")
        )
        .await,
        vec![id(&b)]
    );
    assert_eq!(
        list_ids(&api, &format!("?created_after={b_at}&model=mock/echo")).await,
        vec![id(&c)]
    );
    // Other offsets name the same instant.
    let b_time = chrono::DateTime::parse_from_rfc3339(b_at).unwrap();
    let offset = b_time
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let encoded = offset.replace('+', "%2B");
    assert_eq!(
        list_ids(&api, &format!("?created_after={encoded}")).await,
        vec![id(&d), id(&c), id(&b)]
    );
    // Filters combine with sort.
    assert_eq!(
        list_ids(&api, &format!("?created_after={b_at}&sort=name")).await,
        vec![id(&b), id(&c), id(&d)]
    );
    // A filter value that is not a date-time is a bad request.
    for bad in ["yesterday", "2026-13-01T00:00:00Z", ""] {
        let body = api
            .get(&format!("/v1/agents?created_after={bad}"), 400)
            .await;
        assert_eq!(body["code"], "bad_request", "{bad}: {body}");
    }
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

#[tokio::test]
async fn null_for_a_field_that_cannot_be_cleared_is_a_validation_error() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = api.create_agent("keeps its name").await;
    let id = agent["id"].as_str().unwrap();
    let body = api
        .patch(
            &format!("/v1/agents/{id}"),
            json!({ "name": null, "tools": null }),
            422,
        )
        .await;
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/name", "/tools"]);
    let after = api.get(&format!("/v1/agents/{id}"), 200).await;
    assert_eq!(after["name"], "keeps its name");
    assert_eq!(after["version"], 1);
}
