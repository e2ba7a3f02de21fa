//! The published OpenAPI document says what the server does: it validates
//! (openapi-spec-validator, with every example checked against its schema), a typed
//! client generated from it compiles (openapi-typescript + tsc), each route lists the
//! errors it can give, and real answers carry the codes their status documents.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use crate::node::{run, show};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn dir() -> PathBuf {
    root().join("tests/openapi")
}

fn document() -> Value {
    let text = orchstack::rest::openapi_document().expect("openapi generates");
    serde_json::from_str(&text).expect("JSON")
}

/// `doc` at a local `$ref` (or `node` itself).
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .expect("dangling $ref"),
        ),
        None => node,
    }
}

/// The codes `method path` documents for `status`.
fn documented_codes(doc: &Value, method: &str, path: &str, status: u16) -> Vec<String> {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let response = resolve(doc, response);
    response["content"]["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path}: no {status} problem documented"))
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_document_validates_with_openapi_spec_validator() {
    let probe = run(
        Command::new("python3").args(["-c", "import openapi_spec_validator, jsonschema"]),
        "python3 (Python is required for this test)",
        Duration::from_secs(60),
    )
    .await;
    if !probe.status.success() {
        let install = run(
            Command::new("python3")
                .args(["-m", "pip", "install", "-q", "-r"])
                .arg(dir().join("requirements.txt")),
            "pip",
            Duration::from_secs(300),
        )
        .await;
        assert!(
            install.status.success(),
            "pip install failed\n{}",
            show(&install)
        );
    }
    let out = run(
        Command::new("python3")
            .arg(dir().join("validate.py"))
            .arg(root().join("schema/openapi.json")),
        "python3 tests/openapi/validate.py",
        Duration::from_secs(120),
    )
    .await;
    assert!(
        out.status.success(),
        "schema/openapi.json is not valid\n{}",
        show(&out)
    );
}

#[tokio::test]
async fn a_typed_client_generated_from_the_document_compiles() {
    let dir = dir();
    let bin = dir.join("node_modules/.bin");
    if !bin.join("openapi-typescript").exists() || !bin.join("tsc").exists() {
        let out = run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
            "npm (Node.js is required for this test)",
            Duration::from_secs(300),
        )
        .await;
        assert!(
            out.status.success(),
            "npm ci failed in {}\n{}",
            dir.display(),
            show(&out)
        );
    }
    let out = run(
        Command::new(bin.join("openapi-typescript"))
            .arg(root().join("schema/openapi.json"))
            .args(["-o", "generated/api.d.ts"])
            .current_dir(&dir),
        "openapi-typescript",
        Duration::from_secs(120),
    )
    .await;
    assert!(
        out.status.success(),
        "openapi-typescript failed\n{}",
        show(&out)
    );
    let out = run(
        Command::new(bin.join("tsc"))
            .args(["--noEmit", "-p", "."])
            .current_dir(&dir),
        "tsc",
        Duration::from_secs(180),
    )
    .await;
    assert!(
        out.status.success(),
        "tests/openapi/client.ts does not compile against the generated types\n{}",
        show(&out)
    );
}

#[test]
fn each_route_lists_the_errors_it_can_give() {
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            let has = |s: &str| responses.contains_key(s);
            let what = format!("{method} {path}");
            // The batch route needs no scope of its own: its operations' 403s are in
            // its results.
            let scoped = path != "/v1/batch";
            assert!(
                has("401") && (has("403") || !scoped) && has("400") && has("500"),
                "{what}: {responses:?}"
            );
            assert!(!has("default"), "{what}: a catch-all hides what can happen");
            assert_eq!(
                has("404"),
                path.contains('{'),
                "{what}: 404 only where an id is looked up"
            );
            let body = op.get("requestBody").is_some();
            for s in ["413", "415"] {
                assert_eq!(has(s), body, "{what}: {s} only where a body is read");
            }
            // 422: a body that breaks a rule, or an `Idempotency-Key` reused (every write).
            let write = matches!(method.as_str(), "post" | "patch" | "delete");
            assert_eq!(
                has("422"),
                body || write,
                "{what}: 422 where a body is read or a key is"
            );
            for (status, response) in responses {
                let response = resolve(&doc, response);
                assert!(
                    response["headers"]["X-Request-Id"].is_object(),
                    "{what} {status}: no X-Request-Id header"
                );
            }
        }
    }
    let on = |method: &str, path: &str| &doc["paths"][path][method]["responses"];
    assert!(on("post", "/v1/agents/{id}/run")["202"].is_object());
    assert!(on("post", "/v1/runs/{id}/cancel")["202"].is_object());
    assert!(on("get", "/v1/runs/{id}/events")["429"].is_object());
    assert!(on("post", "/v1/agents/{id}/run")["429"].is_object());
    // Every call spends its organisation's rate limit; streams also count against caps.
    assert_eq!(
        documented_codes(&doc, "get", "/v1/runs", 429),
        ["rate_limited"]
    );
    assert_eq!(
        documented_codes(&doc, "get", "/v1/runs/{id}/events", 429),
        ["rate_limited", "too_many_streams"]
    );
    let limited = resolve(&doc, &on("get", "/v1/runs")["429"]);
    assert!(limited["headers"]["Retry-After"].is_object(), "{limited}");
    assert!(
        resolve(&doc, &on("get", "/v1/runs")["200"])["headers"]["RateLimit"].is_object(),
        "a success reports the budget"
    );
    assert_eq!(
        documented_codes(&doc, "post", "/v1/runs/{id}/cancel", 409),
        ["conflict", "idempotency_key_in_use"]
    );
    assert_eq!(
        documented_codes(&doc, "delete", "/v1/agents/{id}", 422),
        ["idempotency_key_reused"]
    );
    assert_eq!(
        documented_codes(&doc, "post", "/v1/agents", 403),
        ["insufficient_scope", "plan_limit_exceeded"]
    );
    let events = &doc["paths"]["/v1/runs/{id}/events"]["get"]["parameters"];
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|p| resolve(&doc, p)["name"] == "Last-Event-ID"),
        "{events}"
    );
    // The rules table names real operations.
    let operations: Vec<&str> = orchstack::rest::table::ROUTES
        .iter()
        .map(|r| r.operation)
        .collect();
    for op in orchstack::rest::openapi::problems::rule_operations() {
        assert!(
            operations.contains(&op),
            "RULES names {op}, which no route has"
        );
    }
}

#[test]
fn schemas_are_named_and_say_what_the_answers_hold() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for name in [
        "Agent",
        "Run",
        "RunStep",
        "RunEvent",
        "ApiKey",
        "Problem",
        "AgentList",
        "RunAgentInput",
    ] {
        assert!(schemas[name].is_object(), "no component {name}");
    }
    // `?fields=` can leave any field of a result out: none is required.
    for name in [
        "Agent",
        "Run",
        "ApiKey",
        "RunAgentResult",
        "CancelRunResult",
    ] {
        assert!(
            schemas[name]["required"].is_null(),
            "{name}: {}",
            schemas[name]
        );
    }
    // Nested objects are whole.
    assert_eq!(
        schemas["TokenUsage"]["required"],
        json!(["input", "output"])
    );
    let statuses: Vec<&str> = entity::runs::RunStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(
        schemas["Run"]["properties"]["status"]["enum"],
        json!(statuses)
    );
    assert_eq!(
        schemas["ApiKey"]["properties"]["mode"]["enum"],
        json!(["live", "test"])
    );
    assert_eq!(
        schemas["RunStep"]["properties"]["type"]["enum"],
        json!(["llm", "tool", "retrieval"])
    );
    assert!(schemas["RunEvent"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("run.created")));
    // Everything the run route reads is in its input (which refuses other fields).
    let input = &schemas["RunAgentInput"];
    assert_eq!(input["additionalProperties"], json!(false));
    for field in [
        "input",
        "channel",
        "user_id",
        "session_id",
        "metadata",
        "mode",
        "multitask",
        "stream",
    ] {
        assert!(
            input["properties"][field].is_object(),
            "RunAgentInput lacks {field}"
        );
    }
    // Every operation's body is a named schema.
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for (status, r) in op["responses"].as_object().unwrap() {
                if let Some(schema) = r["content"].get("application/json").map(|m| &m["schema"]) {
                    assert!(
                        schema["$ref"].is_string(),
                        "{status}: inline body schema {schema}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn real_errors_carry_the_codes_their_status_documents() {
    let s = TestServer::start().await;
    let api = s.api();
    let doc = document();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let cases: Vec<(&str, &str, reqwest::RequestBuilder, u16)> = vec![
        (
            "get",
            "/v1/agents/{id}",
            api.request(Method::GET, "/v1/agents/agt_01jabcdefghjkmnpqrstvwxyz0"),
            404,
        ),
        (
            "get",
            "/v1/runs",
            api.request(Method::GET, "/v1/runs?nope=1"),
            400,
        ),
        (
            "post",
            "/v1/agents",
            api.request(Method::POST, "/v1/agents")
                .header("content-type", "text/plain")
                .body("{}"),
            415,
        ),
        (
            "post",
            "/v1/agents",
            api.request(Method::POST, "/v1/agents")
                .json(&json!({ "name": "" })),
            422,
        ),
        (
            "post",
            "/v1/agents/{id}/run",
            api.request(Method::POST, &format!("/v1/agents/{agent}/run"))
                .json(&json!({ "input": "x", "stream": "yes" })),
            422,
        ),
        (
            "get",
            "/v1/agents",
            s.api_with(None).request(Method::GET, "/v1/agents"),
            401,
        ),
    ];
    for (method, path, req, status) in cases {
        let res = req.send().await.expect("request");
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        assert!(res.headers().contains_key("x-request-id"));
        let body: Value = res.json().await.expect("problem+json");
        let code = body["code"].as_str().expect("code").to_owned();
        let documented = documented_codes(&doc, method, path, status);
        assert!(
            documented.contains(&code),
            "{method} {path} {status}: `{code}` not in {documented:?}"
        );
    }
    // 405 is documented once, for every path.
    let res = api
        .request(Method::PUT, "/v1/agents")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 405);
    assert!(res.headers().contains_key("allow"));
    let body: Value = res.json().await.expect("problem+json");
    let documented = &doc["components"]["responses"]["MethodNotAllowed"]["content"]
        ["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"]["enum"];
    assert_eq!(*documented, json!([body["code"]]));
}

#[tokio::test]
async fn the_workflow_id_filter_is_accepted_and_matches_no_run_yet() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    trigger(&api, &agent, json!({ "input": "hello" }), 200).await;
    assert_eq!(
        api.get("/v1/runs", 200).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let page = api
        .get("/v1/runs?workflow_id=wf_01jabcdefghjkmnpqrstvwxyz0", 200)
        .await;
    assert_eq!(page["data"], json!([]), "{page}");
    assert_eq!(page["has_more"], json!(false));
    let page = api
        .get(
            &format!("/v1/runs?agent_id={agent}&workflow_id=wf_1&status=completed"),
            200,
        )
        .await;
    assert_eq!(page["data"], json!([]), "{page}");
    let res = api
        .gql(
            "query($f: RunFilter) { runs(filter: $f) { nodes { id } } }",
            json!({ "f": { "workflowId": "wf_1" } }),
        )
        .await;
    assert_eq!(res["data"]["runs"]["nodes"], json!([]), "{res}");
    // And the document offers it.
    let doc = document();
    let params = doc["paths"]["/v1/runs"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        params.iter().any(|p| p["name"] == "workflow_id"),
        "{params:?}"
    );
}

#[tokio::test]
async fn run_answers_match_their_schemas() {
    use crate::rest_graphql_parity::{assert_conforms, inline_refs};
    let s = TestServer::start().await;
    let api = s.api();
    let raw = document();
    let doc = inline_refs(&raw, &raw);
    let schema = |method: &str, path: &str, status: u16| {
        doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
            ["schema"]
            .clone()
    };
    let agent = agent(&api, "mock/echo", json!({})).await;
    let done = trigger(
        &api,
        &agent,
        json!({ "input": "hello world", "user_id": "u1" }),
        200,
    )
    .await;
    assert_conforms(
        &done,
        &schema("post", "/v1/agents/{id}/run", 200),
        "POST run (200)",
    );
    let slow_agent = crate::common::run_support::agent(&api, "mock/echo", slow(200)).await;
    let queued = api
        .post(
            &format!("/v1/agents/{slow_agent}/run"),
            json!({ "input": words(30), "mode": "async" }),
            202,
        )
        .await;
    assert_conforms(
        &queued,
        &schema("post", "/v1/agents/{id}/run", 202),
        "POST run (202)",
    );
    let id = str_of(&done, "run_id");
    let run = api.get(&format!("/v1/runs/{id}"), 200).await;
    assert!(!run["steps"].as_array().unwrap().is_empty(), "{run}");
    assert_conforms(&run, &schema("get", "/v1/runs/{id}", 200), "GET run");
    let list = api.get("/v1/runs", 200).await;
    assert_conforms(&list, &schema("get", "/v1/runs", 200), "GET runs");
    let queued_id = str_of(&queued, "run_id");
    let cancelled = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{queued_id}/cancel")),
            200,
        )
        .await;
    assert_conforms(
        &cancelled,
        &schema("post", "/v1/runs/{id}/cancel", 200),
        "cancel",
    );
}

#[tokio::test]
async fn streamed_events_are_the_documented_run_events() {
    let s = TestServer::start().await;
    let api = s.api();
    let doc = document();
    let documented = doc["components"]["schemas"]["RunEvent"]["properties"]["type"]["enum"]
        .as_array()
        .expect("RunEvent.type enum")
        .clone();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "two words" }), 200).await;
    let events = rest(&mut open(events_req(&api, str_of(&body, "run_id"))).await).await;
    assert!(events.len() >= 4, "{events:?}");
    for e in &events {
        assert!(
            documented.contains(&json!(e.kind)),
            "event type `{}` is not documented",
            e.kind
        );
        assert!(e.id >= 1);
    }
}
