//! Agent validation: errors with JSON pointers, HTTP tools only, failed patches change
//! nothing, `null` for fields that cannot be cleared.

use super::*;
use crate::common::*;
use serde_json::{json, Value};

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
