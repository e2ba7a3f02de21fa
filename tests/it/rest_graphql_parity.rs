//! REST is a translation of GraphQL: the same data, field for field (camelCase in
//! GraphQL, snake_case in REST), the same error codes, writes through one visible through
//! the other, and an OpenAPI document that matches the route table and real responses.

use crate::common::calls::{data, gql_agent, gql_code, AGENT_FIELDS};
use crate::common::*;
use reqwest::Method;
use serde_json::{json, Map, Value};

const VERSION_FIELDS: &str = "id agentId version name description model modelSettings \
     instructions tools knowledgeIds retrieval { topK mode minScore } channels metadata createdAt";

const KEY_FIELDS: &str = "id name prefix scopes mode createdAt lastUsedAt revokedAt";

/// `modelSettings` → `model_settings`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The GraphQL object with its top-level keys in REST's snake_case (and its enum
/// values, `mode`, in REST's lower case).
fn to_rest(gql: &Value) -> Value {
    let obj = gql
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {gql}"));
    Value::Object(
        obj.iter()
            .map(|(k, v)| match (k.as_str(), v.as_str()) {
                ("mode", Some(m)) => (snake(k), json!(m.to_ascii_lowercase())),
                // An agent's retrieval settings: nested, same spelling rules.
                ("retrieval", None) if v.is_object() => (snake(k), to_rest(v)),
                _ => (snake(k), v.clone()),
            })
            .collect::<Map<_, _>>(),
    )
}

/// Asserts a REST object equals a GraphQL object field for field, naming the first
/// difference.
fn assert_same(rest: &Value, gql: &Value, what: &str) {
    let expected = to_rest(gql);
    let (r, e) = (
        rest.as_object().expect("REST object"),
        expected.as_object().unwrap(),
    );
    let mut rk: Vec<&String> = r.keys().collect();
    let mut ek: Vec<&String> = e.keys().collect();
    rk.sort();
    ek.sort();
    assert_eq!(rk, ek, "{what}: REST and GraphQL have different fields");
    for (k, v) in e {
        assert_eq!(&r[k], v, "{what}: field `{k}` differs (REST vs GraphQL)");
    }
}

/// An agent with every field set, created over REST.
async fn rich_agent(api: &Api, name: &str) -> Value {
    let kb1 = api
        .post("/v1/knowledge", json!({ "name": "one" }), 201)
        .await;
    let kb2 = api
        .post("/v1/knowledge", json!({ "name": "two" }), 201)
        .await;
    api.post(
        "/v1/agents",
        json!({
            "name": name,
            "description": "Answers questions",
            "model": "mock/echo",
            "model_settings": { "temperature": 0.5 },
            "instructions": "Be kind.",
            "tools": [{ "type": "http", "name": "lookup", "url": "https://example.com/lookup", "parameters": { "type": "object" } }],
            "knowledge_ids": [kb1["id"], kb2["id"]],
            "channels": ["web"],
            "metadata": { "owner": "qa", "n": 1, "nested": { "ok": true } }
        }),
        201,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// same data

#[tokio::test]
async fn get_agent_matches_graphql_agent() {
    let s = TestServer::start().await;
    let api = s.api();
    let created = rich_agent(&api, "parity").await;
    let id = created["id"].as_str().unwrap();
    // Also an agent with the optional fields unset (nulls and empty values).
    let bare = api.create_agent("bare").await;

    for id in [id, bare["id"].as_str().unwrap()] {
        let rest = api.get(&format!("/v1/agents/{id}"), 200).await;
        let gql = gql_agent(&api, id).await;
        assert_same(&rest, &data(&gql)["agent"], &format!("agent {id}"));
    }
    // The POST answer is the same object too.
    let gql = gql_agent(&api, id).await;
    assert_same(&created, &data(&gql)["agent"], "POST /v1/agents answer");
    assert_eq!(created["description"], json!("Answers questions"));
    assert_eq!(bare["description"], Value::Null);
}

#[tokio::test]
async fn list_agents_matches_graphql_agents() {
    let s = TestServer::start().await;
    let api = s.api();
    for i in 0..4 {
        rich_agent(&api, &format!("list {i}")).await;
    }
    api.create_agent("plain").await;

    let rest = api.get("/v1/agents?limit=50", 200).await;
    assert_eq!(rest["object"], json!("list"));
    assert_eq!(rest["has_more"], json!(false));
    assert_eq!(rest["next_cursor"], Value::Null);
    let gql = api
        .gql(
            &format!(
                "{{ agents(first: 50) {{ nodes {{ {AGENT_FIELDS} }} pageInfo {{ hasNextPage }} }} }}"
            ),
            json!({}),
        )
        .await;
    let nodes = data(&gql)["agents"]["nodes"].as_array().unwrap();
    let items = rest["data"].as_array().expect("data");
    assert_eq!(items.len(), 5);
    assert_eq!(
        items.len(),
        nodes.len(),
        "REST and GraphQL list lengths differ"
    );
    for (i, (r, g)) in items.iter().zip(nodes).enumerate() {
        assert_same(r, g, &format!("list item {i}"));
    }
    assert_eq!(
        data(&gql)["agents"]["pageInfo"]["hasNextPage"],
        json!(false)
    );

    // A smaller page: `has_more` mirrors `hasNextPage`, the same first items.
    let rest = api.get("/v1/agents?limit=2", 200).await;
    let gql = api
        .gql(
            "{ agents(first: 2) { nodes { id } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(rest["has_more"], json!(true));
    assert_eq!(data(&gql)["agents"]["pageInfo"]["hasNextPage"], json!(true));
    assert!(rest["next_cursor"].is_string());
    let rest_ids: Vec<&Value> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    let gql_ids: Vec<&Value> = data(&gql)["agents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(rest_ids, gql_ids);
}

#[tokio::test]
async fn versions_and_api_keys_match_graphql() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = rich_agent(&api, "versioned").await;
    let id = agent["id"].as_str().unwrap();

    let rest = api.get(&format!("/v1/agents/{id}/versions"), 200).await;
    let gql = api
        .gql(
            &format!(
                "query($id: ID!) {{ agent(id: $id) {{ versions(first: 20) {{ nodes {{ {VERSION_FIELDS} }} }} }} }}"
            ),
            json!({ "id": id }),
        )
        .await;
    let nodes = data(&gql)["agent"]["versions"]["nodes"].as_array().unwrap();
    let items = rest["data"].as_array().expect("data");
    assert_eq!(items.len(), 1);
    assert_eq!(items.len(), nodes.len());
    for (r, g) in items.iter().zip(nodes) {
        assert_same(r, g, "version");
    }

    // API keys: the list and one key.
    let rest = api.get("/v1/api-keys?limit=50", 200).await;
    let gql = api
        .gql(
            &format!("{{ apiKeys(first: 50) {{ nodes {{ {KEY_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    let nodes = data(&gql)["apiKeys"]["nodes"].as_array().unwrap();
    let items = rest["data"].as_array().expect("data");
    assert!(!items.is_empty());
    assert_eq!(items.len(), nodes.len());
    for (r, g) in items.iter().zip(nodes) {
        // lastUsedAt is written in the background as keys are used; compare the rest.
        let mut r = r.clone();
        let mut g = g.clone();
        r["last_used_at"] = Value::Null;
        g["lastUsedAt"] = Value::Null;
        assert_same(&r, &g, "api key");
    }
    let key_id = items[0]["id"].as_str().unwrap();
    let rest = api.get(&format!("/v1/api-keys/{key_id}"), 200).await;
    let gql = api
        .gql(
            &format!("query($id: ID!) {{ apiKey(id: $id) {{ {KEY_FIELDS} }} }}"),
            json!({ "id": key_id }),
        )
        .await;
    let mut r = rest.clone();
    let mut g = data(&gql)["apiKey"].clone();
    r["last_used_at"] = Value::Null;
    g["lastUsedAt"] = Value::Null;
    assert_same(&r, &g, "api key");
}

// ---------------------------------------------------------------------------------------
// same errors

#[tokio::test]
async fn errors_map_to_the_same_codes() {
    let s = TestServer::start().await;
    let api = s.api();
    let (_, other_key) = s.new_org("enterprise").await;
    let foreign = s.api_with(Some(&other_key)).create_agent("not yours").await;
    let foreign_id = foreign["id"].as_str().unwrap();

    // Not found: another org's agent, an unknown id, garbage.
    for id in [foreign_id, "agt_01jabcdefghjkmnpqrstvwxyz0", "nope"] {
        let rest = api.get(&format!("/v1/agents/{id}"), 404).await;
        assert_eq!(rest["code"], json!("not_found"), "{rest}");
        assert_eq!(rest["status"], json!(404));
        let gql = gql_agent(&api, id).await;
        assert_eq!(gql_code(&gql), "NOT_FOUND", "{gql}");
        assert_eq!(
            gql_code(&gql),
            rest["code"].as_str().unwrap().to_ascii_uppercase()
        );
    }
    // ... and for writes.
    let rest = api
        .patch(
            &format!("/v1/agents/{foreign_id}"),
            json!({ "name": "x" }),
            404,
        )
        .await;
    assert_eq!(rest["code"], json!("not_found"));
    let rest = api.delete(&format!("/v1/agents/{foreign_id}"), 404).await;
    assert_eq!(rest["code"], json!("not_found"));

    // Validation: 422 validation_failed ↔ VALIDATION_FAILED, with the same pointers.
    let bad = json!({ "name": "", "model": "nomodel" });
    let rest = api.post("/v1/agents", bad.clone(), 422).await;
    assert_eq!(rest["code"], json!("validation_failed"));
    let gql = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": bad }),
        )
        .await;
    assert_eq!(gql_code(&gql), "VALIDATION_FAILED");
    let rest_errors = &rest["errors"];
    let gql_errors = &gql["errors"][0]["extensions"]["errors"];
    assert!(
        rest_errors.as_array().is_some_and(|e| e.len() == 2),
        "{rest}"
    );
    assert_eq!(rest_errors, gql_errors, "field errors differ");

    // Scope: 403 insufficient_scope ↔ INSUFFICIENT_SCOPE.
    let reader = s.api_with(Some(&s.key(&s.org_id, &["agents:read"], false).await));
    let rest = reader
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": "mock/echo" }),
            403,
        )
        .await;
    assert_eq!(rest["code"], json!("insufficient_scope"));
    let gql = reader
        .gql(
            "mutation { createAgent(input: { name: \"x\", model: \"mock/echo\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_code(&gql), "INSUFFICIENT_SCOPE");

    // Unauthenticated: 401 unauthenticated ↔ UNAUTHENTICATED (both with WWW-Authenticate).
    let anon = s.api_with(None);
    let rest = anon.get("/v1/agents", 401).await;
    assert_eq!(rest["code"], json!("unauthenticated"));
    let gql = anon
        .send(
            anon.request(Method::POST, "/graphql")
                .json(&json!({ "query": "{ viewer { testMode } }" })),
            401,
        )
        .await;
    assert_eq!(gql_code(&gql), "UNAUTHENTICATED");

    // Nothing was created by any of the failures.
    let list = api.get("/v1/agents", 200).await;
    assert_eq!(list["data"], json!([]));
}

// ---------------------------------------------------------------------------------------
// writes through one are visible through the other

#[tokio::test]
async fn rest_writes_are_visible_in_graphql() {
    let s = TestServer::start().await;
    let api = s.api();
    let created = rich_agent(&api, "from rest").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let gql = gql_agent(&api, &id).await;
    assert_same(&created, &data(&gql)["agent"], "after REST POST");

    let deleted = api.delete(&format!("/v1/agents/{id}"), 200).await;
    assert_eq!(
        deleted,
        json!({ "id": id, "object": "agent", "deleted": true })
    );
    let gql = gql_agent(&api, &id).await;
    assert_eq!(gql_code(&gql), "NOT_FOUND", "{gql}");
    let list = api
        .gql("{ agents(first: 50) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(data(&list)["agents"]["nodes"], json!([]));
}

#[tokio::test]
async fn rest_updates_are_visible_in_graphql() {
    let s = TestServer::start().await;
    let api = s.api();
    let created = rich_agent(&api, "to patch").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let patched = api
        .patch(
            &format!("/v1/agents/{id}"),
            json!({ "name": "patched", "description": null, "channels": ["sms"] }),
            200,
        )
        .await;
    assert_eq!(patched["name"], json!("patched"));
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["channels"], json!(["sms"]));
    assert_eq!(patched["version"], json!(2));
    assert_eq!(patched["model_settings"], created["model_settings"]);
    let gql = gql_agent(&api, &id).await;
    assert_same(&patched, &data(&gql)["agent"], "after REST PATCH");
}

#[tokio::test]
async fn graphql_writes_are_visible_in_rest() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = api
        .gql(
            &format!(
                "mutation($input: CreateAgentInput!) {{ createAgent(input: $input) {{ {AGENT_FIELDS} }} }}"
            ),
            json!({ "input": {
                "name": "from graphql",
                "model": "mock/echo",
                "modelSettings": { "top_p": 0.9 },
                "knowledgeIds": [],
                "metadata": { "k": "v" }
            } }),
        )
        .await;
    let created = data(&body)["createAgent"].clone();
    let id = created["id"].as_str().unwrap().to_owned();
    let rest = api.get(&format!("/v1/agents/{id}"), 200).await;
    assert_same(&rest, &created, "after GraphQL createAgent");
    let list = api.get("/v1/agents", 200).await;
    assert_same(
        &list["data"][0],
        &created,
        "REST list after GraphQL createAgent",
    );

    let body = api
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&body)["deleteAgent"], json!(id));
    let rest = api.get(&format!("/v1/agents/{id}"), 404).await;
    assert_eq!(rest["code"], json!("not_found"));
}

#[tokio::test]
async fn graphql_updates_are_visible_in_rest() {
    let s = TestServer::start().await;
    let api = s.api();
    let created = api.create_agent("to update").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let body = api
        .gql(
            &format!(
                "mutation($id: ID!, $input: UpdateAgentInput!) {{ updateAgent(id: $id, input: $input) {{ {AGENT_FIELDS} }} }}"
            ),
            json!({ "id": id, "input": { "instructions": "New.", "metadata": { "x": 1 } } }),
        )
        .await;
    let updated = data(&body)["updateAgent"].clone();
    assert_eq!(updated["version"], json!(2));
    let rest = api.get(&format!("/v1/agents/{id}"), 200).await;
    assert_same(&rest, &updated, "after GraphQL updateAgent");
    let versions = api.get(&format!("/v1/agents/{id}/versions"), 200).await;
    let numbers: Vec<&Value> = versions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["version"])
        .collect();
    assert_eq!(numbers, [&json!(2), &json!(1)]);
}

// ---------------------------------------------------------------------------------------
// OpenAPI

/// Every route of the table (src/rest/table.rs).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/agents"),
    ("get", "/v1/agents"),
    ("get", "/v1/agents/{id}"),
    ("patch", "/v1/agents/{id}"),
    ("delete", "/v1/agents/{id}"),
    ("get", "/v1/agents/{id}/versions"),
    ("post", "/v1/api-keys"),
    ("get", "/v1/api-keys"),
    ("get", "/v1/api-keys/{id}"),
    ("delete", "/v1/api-keys/{id}"),
];

async fn openapi(s: &TestServer) -> Value {
    // Public: no key needed.
    let res = reqwest::get(format!("{}/openapi.json", s.base))
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let text = res.text().await.expect("body");
    let doc: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("openapi.json is not JSON ({e}): {text}"));
    inline_refs(&doc, &doc)
}

/// `node` with every local `$ref` replaced by what it points at (the document's
/// schemas are not recursive), so checks can walk schemas directly.
pub(crate) fn inline_refs(node: &Value, doc: &Value) -> Value {
    match node {
        Value::Object(obj) => {
            let mut out = match obj.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let target = doc
                        .pointer(r.trim_start_matches('#'))
                        .unwrap_or_else(|| panic!("dangling $ref {r}"));
                    inline_refs(target, doc)
                }
                None => json!({}),
            };
            for (k, v) in obj.iter().filter(|(k, _)| *k != "$ref") {
                out[k] = inline_refs(v, doc);
            }
            out
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| inline_refs(v, doc)).collect()),
        other => other.clone(),
    }
}

fn success_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let responses = &doc["paths"][path][method]["responses"];
    let (status, _) = responses
        .as_object()
        .and_then(|r| r.iter().find(|(k, _)| k.starts_with('2')))
        .unwrap_or_else(|| panic!("{method} {path}: no 2xx response documented"));
    &responses[status]["content"]["application/json"]["schema"]
}

/// Checks `value` against the subset of JSON Schema the generator emits (type, enum,
/// const, format date-time, properties, required, items); returns the problems.
fn check(value: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(alternatives) = schema.get("anyOf").and_then(Value::as_array) {
        let fits = |alt: &Value| {
            let mut p = Vec::new();
            check(value, alt, at, &mut p);
            p.is_empty()
        };
        if !alternatives.iter().any(fits) {
            problems.push(format!("{at}: {value} matches none of {alternatives:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if value != c {
            problems.push(format!("{at}: {value} is not the const {c}"));
        }
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            problems.push(format!("{at}: {value} is {actual}, documented as {types}"));
            return;
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            problems.push(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if schema.get("format") == Some(&json!("date-time")) {
        if let Some(s) = value.as_str() {
            if chrono::DateTime::parse_from_rfc3339(s).is_err() {
                problems.push(format!("{at}: {s} is not a date-time"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(req) {
                problems.push(format!("{at}: required field `{req}` is missing"));
            }
        }
        for (k, sub) in props {
            match obj.get(k) {
                Some(v) => check(v, sub, &format!("{at}/{k}"), problems),
                None => problems.push(format!("{at}: documented field `{k}` is missing")),
            }
        }
        for k in obj.keys() {
            if !props.contains_key(k) {
                problems.push(format!("{at}: field `{k}` is not documented"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(v, items, &format!("{at}/{i}"), problems);
        }
    }
}

pub(crate) fn assert_conforms(value: &Value, schema: &Value, what: &str) {
    let mut problems = Vec::new();
    check(value, schema, "", &mut problems);
    assert!(
        problems.is_empty(),
        "{what} does not match its OpenAPI schema:\n  {}\nresponse: {value}\nschema: {schema}",
        problems.join("\n  ")
    );
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let s = TestServer::start().await;
    let doc = openapi(&s).await;
    assert_eq!(doc["openapi"], json!("3.1.0"));
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in ROUTES {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("path {path} is missing from openapi.json"))[*method];
        assert!(
            op.is_object(),
            "{} {path} is missing from openapi.json",
            method.to_uppercase()
        );
        assert!(
            op["operationId"].as_str().is_some_and(|s| !s.is_empty()),
            "{method} {path}: no operationId"
        );
        assert!(
            op["responses"]
                .as_object()
                .is_some_and(|r| r.keys().any(|k| k.starts_with('2'))),
            "{method} {path}: no success response"
        );
        // Path parameters are declared.
        if path.contains("{id}") {
            let params = op["parameters"].as_array().expect("parameters");
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == json!("id") && p["in"] == json!("path")),
                "{method} {path}: the id path parameter is not declared"
            );
        }
    }
    // operationIds are unique.
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate operationIds");
    // Bodies of the writing routes are documented.
    for (method, path) in [
        ("post", "/v1/agents"),
        ("patch", "/v1/agents/{id}"),
        ("post", "/v1/api-keys"),
    ] {
        assert!(
            doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
                .is_object(),
            "{method} {path}: no request body schema"
        );
    }
}

#[tokio::test]
async fn openapi_response_schemas_match_real_responses() {
    let s = TestServer::start().await;
    let api = s.api();
    let doc = openapi(&s).await;

    let agent = rich_agent(&api, "documented").await;
    let id = agent["id"].as_str().unwrap();
    let bare = api.create_agent("bare").await;

    // GET /v1/agents/{id}: every documented field is in a real response (and vice versa).
    let schema = success_schema(&doc, "get", "/v1/agents/{id}");
    let props = schema["properties"]
        .as_object()
        .expect("documented properties");
    assert!(props.len() >= 13, "too few documented fields: {schema}");
    for got in [
        api.get(&format!("/v1/agents/{id}"), 200).await,
        api.get(&format!("/v1/agents/{}", bare["id"].as_str().unwrap()), 200)
            .await,
    ] {
        for field in props.keys() {
            assert!(
                got.get(field).is_some(),
                "documented field `{field}` is missing from GET /v1/agents/{{id}}: {got}"
            );
        }
        assert_conforms(&got, schema, "GET /v1/agents/{id}");
    }

    // The other routes' answers match their schemas too.
    assert_conforms(
        &agent,
        success_schema(&doc, "post", "/v1/agents"),
        "POST /v1/agents",
    );
    let list = api.get("/v1/agents?limit=1", 200).await;
    assert_conforms(
        &list,
        success_schema(&doc, "get", "/v1/agents"),
        "GET /v1/agents",
    );
    let versions = api.get(&format!("/v1/agents/{id}/versions"), 200).await;
    assert_conforms(
        &versions,
        success_schema(&doc, "get", "/v1/agents/{id}/versions"),
        "GET /v1/agents/{id}/versions",
    );
    let key = api
        .post(
            "/v1/api-keys",
            json!({ "name": "doc", "scopes": ["agents:read"] }),
            201,
        )
        .await;
    assert_conforms(
        &key,
        success_schema(&doc, "post", "/v1/api-keys"),
        "POST /v1/api-keys",
    );
    let key_id = key["id"].as_str().unwrap();
    let keys = api.get("/v1/api-keys", 200).await;
    assert_conforms(
        &keys,
        success_schema(&doc, "get", "/v1/api-keys"),
        "GET /v1/api-keys",
    );
    let one = api.get(&format!("/v1/api-keys/{key_id}"), 200).await;
    assert_conforms(
        &one,
        success_schema(&doc, "get", "/v1/api-keys/{id}"),
        "GET /v1/api-keys/{id}",
    );
    let revoked = api.delete(&format!("/v1/api-keys/{key_id}"), 200).await;
    assert_conforms(
        &revoked,
        success_schema(&doc, "delete", "/v1/api-keys/{id}"),
        "DELETE /v1/api-keys/{id}",
    );
    let deleted = api
        .delete(&format!("/v1/agents/{}", bare["id"].as_str().unwrap()), 200)
        .await;
    assert_conforms(
        &deleted,
        success_schema(&doc, "delete", "/v1/agents/{id}"),
        "DELETE /v1/agents/{id}",
    );

    // Errors are documented as problem+json with the fields a real problem has.
    let problem = api
        .get("/v1/agents/agt_01jabcdefghjkmnpqrstvwxyz0", 404)
        .await;
    let problem_schema = &doc["components"]["schemas"]["Problem"];
    assert_eq!(
        doc["paths"]["/v1/agents/{id}"]["get"]["responses"]["404"]["content"]
            ["application/problem+json"]["schema"]["allOf"][0],
        *problem_schema
    );
    let mut problems = Vec::new();
    for req in problem_schema["required"].as_array().expect("required") {
        let req = req.as_str().unwrap();
        if problem.get(req).is_none() {
            problems.push(format!("required problem field `{req}` missing"));
        }
    }
    assert!(problems.is_empty(), "{problems:?}: {problem}");
}
