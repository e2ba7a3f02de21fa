//! `fields=` and the agent list filters (model, creation time).

use super::*;
use crate::common::calls::list_agent_ids as list_ids;
use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

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
