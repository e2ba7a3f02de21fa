//! Errors over REST: RFC 9457 problem documents with stable codes for bad bodies, bad
//! media types, oversize bodies, unknown routes and methods and query parameters; and
//! `X-Request-Id` on every response, echoed when the client sends one.

use crate::common::calls::{call, header, Reply};
use crate::common::*;
use reqwest::header::{ALLOW, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

fn request_id(r: &Reply) -> &str {
    let id = header(r, "x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id; status {}, body {}", r.status, r.body));
    assert!(!id.is_empty());
    id
}

/// A problem document: the media type, every RFC 9457 member plus `code` and
/// `request_id` (equal to the header), and the status both in the line and the body.
fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "body: {}", r.body);
    let ct = header(r, CONTENT_TYPE.as_str()).unwrap_or("");
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct:?} for {status}"
    );
    let b = &r.body;
    assert!(b.is_object(), "problem body is not a JSON object: {b}");
    assert!(b["type"].is_string(), "{b}");
    assert!(b["title"].as_str().is_some_and(|t| !t.is_empty()), "{b}");
    assert_eq!(b["status"], status, "{b}");
    assert!(b["detail"].as_str().is_some_and(|d| !d.is_empty()), "{b}");
    assert_eq!(b["code"], code, "{b}");
    assert_eq!(b["request_id"], request_id(r), "{b}");
}

fn pointers(r: &Reply) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[] in {}", r.body))
        .iter()
        .map(|e| {
            assert!(e["detail"].as_str().is_some_and(|d| !d.is_empty()), "{e}");
            e["pointer"].as_str().expect("pointer").to_owned()
        })
        .collect()
}

fn post_raw(
    api: &Api,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    let mut req = api.request(Method::POST, path).body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    req
}

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn invalid_json_is_400() {
    let s = TestServer::start().await;
    let api = s.api();
    for body in [
        r#"{"name": "x", "model": "#,
        "{name: 'x'}",
        "nope",
        "{\"a\":1}}",
        "\u{0}",
    ] {
        let r = call(post_raw(&api, "/v1/agents", JSON, body)).await;
        assert_problem(&r, 400, "bad_request");
    }
    let agent = api.create_agent("a").await;
    let r = call(
        api.request(
            Method::PATCH,
            &format!("/v1/agents/{}", agent["id"].as_str().unwrap()),
        )
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\":"),
    )
    .await;
    assert_problem(&r, 400, "bad_request");
    let r = call(post_raw(&api, "/v1/api-keys", JSON, "[")).await;
    assert_problem(&r, 400, "bad_request");
    assert_eq!(
        api.get("/v1/agents", 200).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn wrong_types_are_422_with_pointers() {
    let s = TestServer::start().await;
    let api = s.api();
    let r = call(
        api.request(Method::POST, "/v1/agents")
            .json(&json!({ "name": 5, "model": "mock/echo" })),
    )
    .await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(pointers(&r), vec!["/name"]);
    let r = call(api.request(Method::POST, "/v1/agents").json(&json!({
        "name": "x", "model": "mock/echo", "channels": [1, "web", true], "knowledge_ids": "kb"
    })))
    .await;
    assert_problem(&r, 422, "validation_failed");
    let ps: HashSet<String> = pointers(&r).into_iter().collect();
    let want: HashSet<String> = ["/channels/0", "/channels/2", "/knowledge_ids"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(ps, want, "{}", r.body);
    let r = call(
        api.request(Method::POST, "/v1/agents")
            .json(&json!({ "name": null, "model": "mock/echo" })),
    )
    .await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(pointers(&r), vec!["/name"]);
}

#[tokio::test]
async fn non_object_bodies_are_422() {
    let s = TestServer::start().await;
    let api = s.api();
    for body in ["[1]", "[]", "\"agent\"", "42", "true", "null"] {
        let r = call(post_raw(&api, "/v1/agents", JSON, body)).await;
        assert_problem(&r, 422, "validation_failed");
        assert_eq!(pointers(&r), vec!["/"], "{body}");
    }
    assert_eq!(api.get("/v1/agents", 200).await["data"], json!([]));
}

#[tokio::test]
async fn empty_body_is_400() {
    let s = TestServer::start().await;
    let api = s.api();
    for (ct, body) in [(JSON, ""), (JSON, "  \n"), (None, "")] {
        let r = call(post_raw(&api, "/v1/agents", ct, body)).await;
        assert_problem(&r, 400, "bad_request");
    }
    let r = call(api.request(Method::POST, "/v1/agents")).await;
    assert_problem(&r, 400, "bad_request");
    let agent = api.create_agent("a").await;
    let r = call(api.request(
        Method::PATCH,
        &format!("/v1/agents/{}", agent["id"].as_str().unwrap()),
    ))
    .await;
    assert_problem(&r, 400, "bad_request");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let s = TestServer::start_with(|c| c.body_limit_bytes = 2048).await;
    let api = s.api();
    let under = json!({ "name": "fits", "model": "mock/echo", "instructions": "x".repeat(1900) });
    assert!(under.to_string().len() <= 2048);
    api.post("/v1/agents", under, 201).await;
    let over = json!({ "name": "too big", "model": "mock/echo", "instructions": "x".repeat(3000) });
    let r = call(api.request(Method::POST, "/v1/agents").json(&over)).await;
    assert_problem(&r, 413, "payload_too_large");
    // Even when the body is not JSON or has no JSON content type.
    let r = call(post_raw(&api, "/v1/agents", JSON, "y".repeat(10_000))).await;
    assert_problem(&r, 413, "payload_too_large");
    let agent = api.create_agent("patch me").await;
    let r = call(
        api.request(
            Method::PATCH,
            &format!("/v1/agents/{}", agent["id"].as_str().unwrap()),
        )
        .json(&json!({ "instructions": "z".repeat(4000) })),
    )
    .await;
    assert_problem(&r, 413, "payload_too_large");
    // Nothing too big was stored.
    let list = api.get("/v1/agents", 200).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["version"] == 1));
}

#[tokio::test]
async fn default_body_limit_is_one_mebibyte() {
    let s = TestServer::start().await;
    let api = s.api();
    // Just under 1 MiB is read (and then judged on its content).
    let big_metadata: serde_json::Map<String, Value> = (0..40)
        .map(|i| (format!("k{i}"), json!("m".repeat(25_000))))
        .collect();
    let near = json!({ "name": "big", "model": "mock/echo", "metadata": big_metadata });
    let len = near.to_string().len();
    assert!(len > 1_000_000 && len < 1024 * 1024, "{len}");
    api.post("/v1/agents", near, 201).await;
    let over =
        json!({ "name": "bigger", "model": "mock/echo", "instructions": "x".repeat(1024 * 1024) });
    let r = call(api.request(Method::POST, "/v1/agents").json(&over)).await;
    assert_problem(&r, 413, "payload_too_large");
}

#[tokio::test]
async fn bodies_need_a_json_content_type() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = json!({ "name": "x", "model": "mock/echo" }).to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let r = call(post_raw(&api, "/v1/agents", ct, body.clone())).await;
        assert_problem(&r, 415, "unsupported_media_type");
    }
    assert_eq!(api.get("/v1/agents", 200).await["data"], json!([]));
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        let r = call(post_raw(&api, "/v1/agents", Some(ct), body.clone())).await;
        assert_eq!(r.status, 201, "{ct}: {}", r.body);
    }
    let agent = api.create_agent("p").await;
    let r = call(
        api.request(
            Method::PATCH,
            &format!("/v1/agents/{}", agent["id"].as_str().unwrap()),
        )
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"name":"y"}"#),
    )
    .await;
    assert_problem(&r, 415, "unsupported_media_type");
    let r = call(
        api.request(
            Method::PATCH,
            &format!("/v1/agents/{}", agent["id"].as_str().unwrap()),
        )
        .header(CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"name":"y"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "y");
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let s = TestServer::start().await;
    let api = s.api();
    for (method, path) in [
        (Method::GET, "/v1/nope"),
        (Method::GET, "/v1/agents/x/y/z"),
        (Method::POST, "/v1/agent"),
        (Method::GET, "/v2/agents"),
        (Method::GET, "/nothing-here"),
        (Method::DELETE, "/v1/api-keys/a/b"),
    ] {
        let r = call(api.request(method.clone(), path)).await;
        assert_problem(&r, 404, "not_found");
    }
    // Unknown routes are 404 with or without credentials.
    let r = call(s.api_with(None).request(Method::GET, "/v1/nope")).await;
    assert_problem(&r, 404, "not_found");
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = api.create_agent("a").await;
    let id = agent["id"].as_str().unwrap();
    let allow_of = |r: &Reply| -> HashSet<String> {
        header(r, ALLOW.as_str())
            .unwrap_or_else(|| panic!("no Allow header: {}", r.body))
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .collect()
    };
    let agents_item = format!("/v1/agents/{id}");
    let versions = format!("/v1/agents/{id}/versions");
    for (method, path, must_allow) in [
        (Method::PUT, "/v1/agents", vec!["GET", "POST"]),
        (Method::DELETE, "/v1/agents", vec!["GET", "POST"]),
        (Method::PATCH, "/v1/agents", vec!["GET", "POST"]),
        (
            Method::PUT,
            agents_item.as_str(),
            vec!["GET", "PATCH", "DELETE"],
        ),
        (
            Method::POST,
            agents_item.as_str(),
            vec!["GET", "PATCH", "DELETE"],
        ),
        (Method::POST, versions.as_str(), vec!["GET"]),
        (Method::PUT, "/v1/api-keys", vec!["GET", "POST"]),
        (Method::PATCH, "/v1/api-keys/key_x", vec!["GET", "DELETE"]),
    ] {
        let mut req = api.request(method.clone(), path);
        if method != Method::DELETE {
            req = req.json(&json!({ "name": "x", "model": "mock/echo" }));
        }
        let r = call(req).await;
        assert_problem(&r, 405, "method_not_allowed");
        let allow = allow_of(&r);
        for m in &must_allow {
            assert!(
                allow.contains(*m),
                "{method} {path}: Allow {allow:?} lacks {m}"
            );
        }
        assert!(
            !allow.contains(method.as_str()),
            "{method} {path}: Allow {allow:?}"
        );
    }
    // Nothing changed.
    assert_eq!(api.get(&agents_item, 200).await, agent);
    assert_eq!(
        api.get("/v1/agents", 200).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unknown_query_parameters_are_400() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = api.create_agent("a").await;
    let id = agent["id"].as_str().unwrap();
    for path in [
        "/v1/agents?foo=1".to_owned(),
        "/v1/agents?limit=5&expand=tools".to_owned(),
        "/v1/agents?Limit=5".to_owned(),
        "/v1/agents?name=a".to_owned(),
        format!("/v1/agents/{id}?foo=bar"),
        format!("/v1/agents/{id}?limit=5"),
        format!("/v1/agents/{id}?cursor=abc"),
        format!("/v1/agents/{id}?sort=name"),
        format!("/v1/agents/{id}?model=mock/echo"),
        "/v1/api-keys?sort=name".to_owned(),
        "/v1/api-keys?model=mock/echo".to_owned(),
    ] {
        let r = call(api.request(Method::GET, &path)).await;
        assert_problem(&r, 400, "bad_request");
    }
    let r = call(api.request(Method::GET, "/v1/agents?foo=1")).await;
    assert!(
        r.body["detail"].as_str().unwrap().contains("foo"),
        "{}",
        r.body
    );
    let r = call(
        api.request(Method::POST, "/v1/agents?dry_run=true")
            .json(&json!({ "name": "x", "model": "mock/echo" })),
    )
    .await;
    assert_problem(&r, 400, "bad_request");
    let r = call(api.request(Method::DELETE, &format!("/v1/agents/{id}?force=true"))).await;
    assert_problem(&r, 400, "bad_request");
    // None of these did anything.
    assert_eq!(api.get("/v1/agents", 200).await["data"], json!([agent]));
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let s = TestServer::start_with(|c| c.body_limit_bytes = 2048).await;
    let api = s.api();
    let anon = s.api_with(None);
    let agent = api.create_agent("a").await;
    let id = agent["id"].as_str().unwrap().to_owned();
    let requests: Vec<(u16, reqwest::RequestBuilder)> = vec![
        (200, api.request(Method::GET, "/v1/agents")),
        (200, api.request(Method::GET, &format!("/v1/agents/{id}"))),
        (
            201,
            api.request(Method::POST, "/v1/agents")
                .json(&json!({ "name": "b", "model": "mock/echo" })),
        ),
        (200, api.request(Method::GET, "/healthz")),
        (
            200,
            api.request(Method::POST, "/graphql")
                .json(&json!({ "query": "{ viewer { scopes } }" })),
        ),
        (400, api.request(Method::GET, "/v1/agents?limit=0")),
        (400, post_raw(&api, "/v1/agents", JSON, "{")),
        (401, anon.request(Method::GET, "/v1/agents")),
        (
            401,
            anon.request(Method::POST, "/graphql")
                .json(&json!({ "query": "{ viewer { scopes } }" })),
        ),
        (
            404,
            api.request(Method::GET, "/v1/agents/agt_01jbz0000000000000000000zz"),
        ),
        (404, api.request(Method::GET, "/v1/unknown")),
        (405, api.request(Method::PUT, "/v1/agents")),
        (413, post_raw(&api, "/v1/agents", JSON, "x".repeat(5000))),
        (415, post_raw(&api, "/v1/agents", Some("text/plain"), "{}")),
        (
            422,
            api.request(Method::POST, "/v1/agents")
                .json(&json!({ "name": 1 })),
        ),
        (
            403,
            s.api_with(Some(&s.key(&s.org_id, &["agents:read"], false).await))
                .request(Method::POST, "/v1/agents")
                .json(&json!({ "name": "b", "model": "mock/echo" })),
        ),
    ];
    let mut seen = HashSet::new();
    for (status, req) in requests {
        let r = call(req).await;
        assert_eq!(r.status, status, "{}", r.body);
        let rid = request_id(&r).to_owned();
        assert!(seen.insert(rid.clone()), "request id {rid} reused");
        if status >= 400 && r.body.get("code").is_some() {
            assert_eq!(r.body["request_id"], rid.as_str(), "{}", r.body);
        }
    }
}

#[tokio::test]
async fn incoming_request_ids_are_echoed() {
    let s = TestServer::start().await;
    let api = s.api();
    let with_id =
        |req: reqwest::RequestBuilder, id: &str| req.header("x-request-id", id.to_owned());

    let r = call(with_id(
        api.request(Method::GET, "/v1/agents"),
        "trace-abc-123",
    ))
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(request_id(&r), "trace-abc-123");

    let r = call(with_id(
        api.request(Method::GET, "/v1/agents?limit=0"),
        "trace-err-1",
    ))
    .await;
    assert_problem(&r, 400, "bad_request");
    assert_eq!(r.body["request_id"], "trace-err-1");

    let r = call(with_id(
        s.api_with(None).request(Method::GET, "/v1/agents"),
        "trace-401",
    ))
    .await;
    assert_problem(&r, 401, "unauthenticated");
    assert_eq!(r.body["request_id"], "trace-401");

    let r = call(with_id(api.request(Method::PUT, "/v1/agents"), "trace-405")).await;
    assert_problem(&r, 405, "method_not_allowed");
    assert_eq!(r.body["request_id"], "trace-405");

    let r = call(with_id(
        api.request(Method::GET, "/v1/missing"),
        "trace-404",
    ))
    .await;
    assert_problem(&r, 404, "not_found");
    assert_eq!(r.body["request_id"], "trace-404");

    let r = call(with_id(
        api.request(Method::POST, "/v1/agents")
            .json(&json!({ "name": 5 })),
        "trace-422",
    ))
    .await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["request_id"], "trace-422");

    // An unusable incoming id (too long, or with spaces) is replaced, not echoed.
    for bad in ["x".repeat(500), "has spaces in it".to_owned()] {
        let r = call(with_id(
            api.request(Method::GET, "/v1/agents?limit=0"),
            &bad,
        ))
        .await;
        assert_problem(&r, 400, "bad_request");
        let rid = request_id(&r);
        assert_ne!(rid, bad);
        assert!(rid.len() <= 128 && !rid.contains(' '), "{rid}");
    }
}

#[tokio::test]
async fn success_is_json_and_errors_are_problems() {
    let s = TestServer::start().await;
    let api = s.api();
    let r = call(
        api.request(Method::POST, "/v1/agents")
            .json(&json!({ "name": "x", "model": "mock/echo" })),
    )
    .await;
    assert_eq!(r.status, 201);
    let ct = header(&r, CONTENT_TYPE.as_str()).unwrap_or("");
    assert!(ct.starts_with("application/json"), "{ct}");
    let r = call(api.request(Method::GET, "/v1/agents")).await;
    assert!(header(&r, CONTENT_TYPE.as_str())
        .unwrap_or("")
        .starts_with("application/json"));
    // Validation problems carry errors[]; others do not need to.
    let r = call(api.request(Method::POST, "/v1/agents").json(&json!({}))).await;
    assert_problem(&r, 422, "validation_failed");
    let ps: HashSet<String> = pointers(&r).into_iter().collect();
    assert!(ps.contains("/name") && ps.contains("/model"), "{}", r.body);
    assert!(
        r.body["detail"].as_str().unwrap().contains("/name"),
        "{}",
        r.body
    );
    // The problem never echoes internals such as SQL.
    let body = r.body.to_string().to_ascii_lowercase();
    assert!(
        !body.contains("select ") && !body.contains("sqlx"),
        "{body}"
    );
}

#[tokio::test]
async fn a_query_parameter_given_twice_is_refused() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = api.get("/v1/agents?limit=1&limit=2", 400).await;
    assert_eq!(body["code"], "bad_request");
    assert!(
        body["detail"].as_str().unwrap().contains("more than once"),
        "{body}"
    );
    api.get("/v1/agents?fields=id&fields=name", 400).await;
}
