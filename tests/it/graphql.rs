//! GraphQL at `/graphql`, through real HTTP: the viewer, agent CRUD and versions, the
//! `node` interface, organisation isolation, error codes, scopes, GraphQL over HTTP
//! (GET, 405 for mutations over GET, media types and their status codes), the depth and
//! complexity limits, and authentication.

use crate::common::*;
use reqwest::header::{HeaderMap, ACCEPT, ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every scalar field of `Agent`.
const AGENT_FIELDS: &str = "id name description model modelSettings instructions tools \
     knowledgeIds channels metadata version createdAt updatedAt";

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// `errors[0].extensions.code`, or a panic showing the body.
fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no errors[0].extensions.code in {body}"))
}

/// Asserts the body is a success (no `errors`) and returns `data`.
fn data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    &body["data"]
}

/// Sends a request and returns status, headers and the JSON body (`null` when empty).
async fn raw(req: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, Value) {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text}"))
    };
    (status, headers, body)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A full agent input for `createAgent`.
fn full_input(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Books haircuts",
        "model": "mock/echo",
        "modelSettings": { "temperature": 0.2, "max_tokens": 256 },
        "instructions": "Be brief, {{ user }}.",
        "tools": [{
            "type": "http",
            "name": "calendar",
            "url": "https://calendar.example/api",
            "description": "Looks up free slots",
            "parameters": { "type": "object", "properties": { "day": { "type": "string" } } }
        }],
        "knowledgeIds": ["kb_faq"],
        "channels": ["whatsapp", "web"],
        "metadata": { "team": "salon", "tier": 2 }
    })
}

async fn create(api: &Api, input: Value) -> Value {
    let body = api
        .gql(
            &format!(
                "mutation($input: CreateAgentInput!) {{ createAgent(input: $input) {{ {AGENT_FIELDS} }} }}"
            ),
            json!({ "input": input }),
        )
        .await;
    data(&body)["createAgent"].clone()
}

async fn update(api: &Api, id: &str, input: Value) -> Value {
    let body = api
        .gql(
            &format!(
                "mutation($id: ID!, $input: UpdateAgentInput!) {{ updateAgent(id: $id, input: $input) {{ {AGENT_FIELDS} }} }}"
            ),
            json!({ "id": id, "input": input }),
        )
        .await;
    data(&body)["updateAgent"].clone()
}

async fn get_agent(api: &Api, id: &str) -> Value {
    api.gql(
        &format!("query($id: ID!) {{ agent(id: $id) {{ {AGENT_FIELDS} }} }}"),
        json!({ "id": id }),
    )
    .await
}

async fn agent_ids(api: &Api) -> Vec<String> {
    let body = api
        .gql("{ agents(first: 100) { nodes { id } } }", json!({}))
        .await;
    data(&body)["agents"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Asserts every field but the listed ones is equal in `a` and `b`.
fn same_except(a: &Value, b: &Value, except: &[&str]) {
    let (a, b) = (
        a.as_object().expect("object"),
        b.as_object().expect("object"),
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the two objects have different fields"
    );
    for (k, v) in a {
        if !except.contains(&k.as_str()) {
            assert_eq!(v, &b[k], "field `{k}` changed");
        }
    }
}

fn is_rfc3339_millis_utc(s: &str) -> bool {
    // e.g. 2026-11-29T03:08:54.123Z
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

// ---------------------------------------------------------------------------------------
// viewer

#[tokio::test]
async fn viewer_describes_the_caller() {
    let s = TestServer::start().await;
    let body = s
        .api()
        .gql(
            "{ viewer { organization { id name tier createdAt } apiKeyId scopes testMode } }",
            json!({}),
        )
        .await;
    let viewer = &data(&body)["viewer"];
    assert_eq!(viewer["organization"]["id"], json!(s.org_id));
    assert_eq!(viewer["organization"]["name"], json!("test org"));
    assert_eq!(viewer["organization"]["tier"], json!("ENTERPRISE"));
    let created = viewer["organization"]["createdAt"]
        .as_str()
        .expect("createdAt");
    assert!(is_rfc3339_millis_utc(created), "createdAt {created}");
    assert_eq!(viewer["scopes"], json!(["*"]));
    assert_eq!(viewer["testMode"], json!(false));
    let key_id = viewer["apiKeyId"].as_str().expect("apiKeyId");
    assert!(key_id.starts_with("key_"), "apiKeyId {key_id}");

    // The key id is the id of the key in use: it is in the organisation's key list.
    let keys = s
        .api()
        .gql("{ apiKeys(first: 100) { nodes { id } } }", json!({}))
        .await;
    assert!(
        data(&keys)["apiKeys"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == json!(key_id)),
        "viewer.apiKeyId {key_id} is not among the org's keys: {keys}"
    );

    // Another key: its own scopes, test mode, a different key id; same organisation.
    let test_key = s.key(&s.org_id, &["agents:read"], true).await;
    let body = s
        .api_with(Some(&test_key))
        .gql(
            "{ viewer { organization { id tier } apiKeyId scopes testMode } }",
            json!({}),
        )
        .await;
    let other = &data(&body)["viewer"];
    assert_eq!(other["organization"]["id"], json!(s.org_id));
    assert_eq!(other["scopes"], json!(["agents:read"]));
    assert_eq!(other["testMode"], json!(true));
    assert_ne!(other["apiKeyId"], json!(key_id));

    // A free organisation's key sees its own organisation.
    let (free_org, free_key) = s.new_org("free").await;
    let body = s
        .api_with(Some(&free_key))
        .gql("{ viewer { organization { id tier } } }", json!({}))
        .await;
    assert_eq!(data(&body)["viewer"]["organization"]["id"], json!(free_org));
    assert_eq!(data(&body)["viewer"]["organization"]["tier"], json!("FREE"));
}

// ---------------------------------------------------------------------------------------
// agents: create, read, update, versions, delete

#[tokio::test]
async fn agent_create_read_delete_round_trip() {
    let s = TestServer::start().await;
    let api = s.api();

    // Create: every field as given, version 1.
    let created = create(&api, full_input("Salon bot")).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("agt_"), "id {id}");
    assert_eq!(created["name"], json!("Salon bot"));
    assert_eq!(created["description"], json!("Books haircuts"));
    assert_eq!(created["model"], json!("mock/echo"));
    assert_eq!(
        created["modelSettings"],
        json!({ "temperature": 0.2, "max_tokens": 256 })
    );
    assert_eq!(created["instructions"], json!("Be brief, {{ user }}."));
    assert_eq!(created["tools"], full_input("x")["tools"]);
    assert_eq!(created["knowledgeIds"], json!(["kb_faq"]));
    assert_eq!(created["channels"], json!(["whatsapp", "web"]));
    assert_eq!(created["metadata"], json!({ "team": "salon", "tier": 2 }));
    assert_eq!(created["version"], json!(1));
    let created_at = created["createdAt"].as_str().unwrap().to_owned();
    assert!(is_rfc3339_millis_utc(&created_at), "createdAt {created_at}");
    assert_eq!(created["updatedAt"], created["createdAt"]);

    // Read back: identical.
    let read = get_agent(&api, &id).await;
    assert_eq!(data(&read)["agent"], created);

    // A new agent has exactly one version: itself.
    let body = api
        .gql(
            "query($id: ID!) { agent(id: $id) { versions(first: 10) { nodes { agentId version name createdAt } pageInfo { hasNextPage } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data(&body)["agent"]["versions"]["nodes"],
        json!([{ "agentId": id, "version": 1, "name": "Salon bot", "createdAt": created_at }])
    );

    // Delete: answers the id; the agent is gone from reads, lists and node().
    assert!(agent_ids(&api).await.contains(&id));
    let body = api
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&body)["deleteAgent"], json!(id));
    let gone = get_agent(&api, &id).await;
    assert_eq!(code(&gone), "NOT_FOUND", "{gone}");
    assert_eq!(gone["data"], Value::Null);
    assert!(!agent_ids(&api).await.contains(&id));
    let node = api
        .gql(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data(&node)["node"], Value::Null);

    // Deleting or updating it again: NOT_FOUND.
    let again = api
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&again), "NOT_FOUND", "{again}");
    let body = api
        .gql(
            "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"x\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn update_agent_changes_only_given_fields_and_records_versions() {
    let s = TestServer::start().await;
    let api = s.api();
    let created = create(&api, full_input("Salon bot")).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let created_at = created["createdAt"].as_str().unwrap().to_owned();

    // Update one field: only it changes; the version goes up; createdAt stays.
    let renamed = update(&api, &id, json!({ "name": "Salon bot 2" })).await;
    assert_eq!(renamed["name"], json!("Salon bot 2"));
    assert_eq!(renamed["version"], json!(2));
    same_except(&created, &renamed, &["name", "version", "updatedAt"]);
    let updated_at = renamed["updatedAt"].as_str().unwrap();
    assert!(is_rfc3339_millis_utc(updated_at), "updatedAt {updated_at}");
    assert!(
        updated_at >= created_at.as_str(),
        "updatedAt {updated_at} is before createdAt {created_at}"
    );

    // `description: null` clears the description, and only it.
    let cleared = update(&api, &id, json!({ "description": null })).await;
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["version"], json!(3));
    same_except(&renamed, &cleared, &["description", "version", "updatedAt"]);

    // Several fields at once.
    let changed = update(
        &api,
        &id,
        json!({ "channels": ["sms"], "metadata": { "team": "spa" }, "modelSettings": {} }),
    )
    .await;
    assert_eq!(changed["channels"], json!(["sms"]));
    assert_eq!(changed["metadata"], json!({ "team": "spa" }));
    assert_eq!(changed["modelSettings"], json!({}));
    assert_eq!(changed["version"], json!(4));
    same_except(
        &cleared,
        &changed,
        &[
            "channels",
            "metadata",
            "modelSettings",
            "version",
            "updatedAt",
        ],
    );

    // A patch that changes nothing makes no version.
    let same = update(&api, &id, json!({ "name": "Salon bot 2" })).await;
    assert_eq!(same, changed);

    // The stored agent is the last update.
    assert_eq!(data(&get_agent(&api, &id).await)["agent"], changed);

    // Versions: newest first, each a snapshot of its time.
    let body = api
        .gql(
            "query($id: ID!) { agent(id: $id) { versions(first: 10) {
                edges { cursor node { id agentId version name description channels createdAt } }
                nodes { id version }
                pageInfo { hasNextPage hasPreviousPage }
            } } }",
            json!({ "id": id }),
        )
        .await;
    let versions = &data(&body)["agent"]["versions"];
    let edges = versions["edges"].as_array().expect("edges");
    let numbers: Vec<i64> = edges
        .iter()
        .map(|e| e["node"]["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![4, 3, 2, 1]);
    for e in edges {
        assert_eq!(e["node"]["agentId"], json!(id));
        let vid = e["node"]["id"].as_str().unwrap();
        assert!(vid.starts_with("agv_"), "version id {vid}");
        assert!(e["cursor"].as_str().is_some_and(|c| !c.is_empty()));
    }
    let node = |v: usize| &edges[4 - v]["node"];
    assert_eq!(node(1)["name"], json!("Salon bot"));
    assert_eq!(node(1)["description"], json!("Books haircuts"));
    assert_eq!(node(1)["channels"], json!(["whatsapp", "web"]));
    assert_eq!(node(1)["createdAt"], json!(created_at));
    assert_eq!(node(2)["name"], json!("Salon bot 2"));
    assert_eq!(node(2)["description"], json!("Books haircuts"));
    assert_eq!(node(3)["description"], Value::Null);
    assert_eq!(node(4)["channels"], json!(["sms"]));
    assert_eq!(node(4)["createdAt"], changed["updatedAt"]);
    let node_ids: Vec<&Value> = versions["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    let edge_ids: Vec<&Value> = edges.iter().map(|e| &e["node"]["id"]).collect();
    assert_eq!(node_ids, edge_ids, "nodes and edges disagree");
    assert_eq!(versions["pageInfo"]["hasNextPage"], json!(false));

    // Versions page forward with first/after.
    let page1 = api
        .gql(
            "query($id: ID!) { agent(id: $id) { versions(first: 3) { nodes { version } pageInfo { hasNextPage endCursor } } } }",
            json!({ "id": id }),
        )
        .await;
    let v1 = &data(&page1)["agent"]["versions"];
    assert_eq!(
        v1["nodes"],
        json!([{ "version": 4 }, { "version": 3 }, { "version": 2 }])
    );
    assert_eq!(v1["pageInfo"]["hasNextPage"], json!(true));
    let page2 = api
        .gql(
            "query($id: ID!, $after: String) { agent(id: $id) { versions(first: 3, after: $after) { nodes { version } pageInfo { hasNextPage } } } }",
            json!({ "id": id, "after": v1["pageInfo"]["endCursor"] }),
        )
        .await;
    let v2 = &data(&page2)["agent"]["versions"];
    assert_eq!(v2["nodes"], json!([{ "version": 1 }]));
    assert_eq!(v2["pageInfo"]["hasNextPage"], json!(false));
}

#[tokio::test]
async fn create_agent_defaults_optional_fields() {
    let s = TestServer::start().await;
    let created = create(
        &s.api(),
        json!({ "name": "  Minimal  ", "model": "mock/echo" }),
    )
    .await;
    assert_eq!(created["name"], json!("Minimal"), "the name is trimmed");
    assert_eq!(created["description"], Value::Null);
    assert_eq!(created["modelSettings"], json!({}));
    assert_eq!(created["instructions"], json!(""));
    assert_eq!(created["tools"], json!([]));
    assert_eq!(created["knowledgeIds"], json!([]));
    assert_eq!(created["channels"], json!([]));
    assert_eq!(created["metadata"], json!({}));
    assert_eq!(created["version"], json!(1));
}

#[tokio::test]
async fn agents_connection_filters_orders_and_pages() {
    let s = TestServer::start().await;
    let api = s.api();
    let mut ids = Vec::new();
    for (name, model) in [
        ("charlie", "mock/echo"),
        ("alpha", "mock/other"),
        ("bravo", "mock/echo"),
    ] {
        let a = create(&api, json!({ "name": name, "model": model })).await;
        ids.push(a["id"].as_str().unwrap().to_owned());
    }

    // Default order: newest first; edges and nodes agree.
    let body = api
        .gql(
            "{ agents(first: 10) { edges { cursor node { id } } nodes { id } pageInfo { hasNextPage hasPreviousPage } } }",
            json!({}),
        )
        .await;
    let conn = &data(&body)["agents"];
    let newest_first: Vec<Value> = ids.iter().rev().map(|id| json!({ "id": id })).collect();
    assert_eq!(conn["nodes"], json!(newest_first));
    let edge_nodes: Vec<&Value> = conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    assert_eq!(json!(edge_nodes), conn["nodes"]);
    assert_eq!(conn["pageInfo"]["hasNextPage"], json!(false));

    // orderBy NAME ASC and DESC.
    let names = |body: &Value| -> Vec<String> {
        data(body)["agents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let asc = api
        .gql(
            "{ agents(first: 10, orderBy: [{ field: NAME, direction: ASC }]) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&asc), ["alpha", "bravo", "charlie"]);
    let desc = api
        .gql(
            "{ agents(first: 10, orderBy: [{ field: NAME, direction: DESC }]) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&desc), ["charlie", "bravo", "alpha"]);

    // filter by model.
    let echo = api
        .gql(
            "{ agents(first: 10, filter: { model: \"mock/echo\" }, orderBy: [{ field: NAME }]) { nodes { name model } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&echo), ["bravo", "charlie"]);

    // first/after walks the list one by one.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = api
            .gql(
                "query($after: String) { agents(first: 1, after: $after, orderBy: [{ field: NAME }]) { nodes { name } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        seen.extend(names(&page));
        let info = &data(&page)["agents"]["pageInfo"];
        if info["hasNextPage"] != json!(true) {
            break;
        }
        after = info["endCursor"].clone();
        assert!(seen.len() < 10, "pagination does not end");
    }
    assert_eq!(seen, ["alpha", "bravo", "charlie"]);

    // last: the end of the list.
    let last = api
        .gql(
            "{ agents(last: 2, orderBy: [{ field: NAME }]) { nodes { name } pageInfo { hasPreviousPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&last), ["bravo", "charlie"]);
    assert_eq!(
        data(&last)["agents"]["pageInfo"]["hasPreviousPage"],
        json!(true)
    );
}

/// Names are text even when they look like something else: paging by name past an agent
/// whose name is an RFC 3339 timestamp (or a number) continues after it.
#[tokio::test]
async fn paging_by_name_past_timestamp_like_names() {
    let s = TestServer::start().await;
    let api = s.api();
    let names = ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "42", "zeta"];
    for name in names {
        create(&api, json!({ "name": name, "model": "mock/echo" })).await;
    }
    let query = "query($after: String) { agents(first: 1, after: $after, orderBy: [{ field: NAME }]) { nodes { name } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = api.gql(query, json!({ "after": after })).await;
        let conn = &data(&page)["agents"];
        for n in conn["nodes"].as_array().unwrap() {
            seen.push(n["name"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(
            seen.len() <= names.len(),
            "pagination does not end: {seen:?}"
        );
    }
    assert_eq!(
        seen,
        ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "42", "zeta"]
    );
}

// ---------------------------------------------------------------------------------------
// organisations are isolated; node(id:)

#[tokio::test]
async fn another_organisations_agent_is_not_found() {
    let s = TestServer::start().await;
    let mine = create(&s.api(), full_input("mine")).await;
    let id = mine["id"].as_str().unwrap();
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));

    let body = get_agent(&other, id).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["agent"]));
    assert_eq!(body["data"], Value::Null);

    // Nor can it be changed or deleted from there.
    let body = other
        .gql(
            "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"stolen\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let body = other
        .gql(
            "mutation($id: ID!) { deleteAgent(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    // ... and it is not in that organisation's list.
    assert!(!agent_ids(&other).await.contains(&id.to_owned()));

    // The owner still sees it unchanged.
    assert_eq!(data(&get_agent(&s.api(), id).await)["agent"], mine);
}

#[tokio::test]
async fn node_finds_own_objects_only() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = create(&api, full_input("noded")).await;
    let id = agent["id"].as_str().unwrap();
    let node_query = "query($id: ID!) { node(id: $id) { __typename id ... on Agent { name version } ... on AgentVersion { agentId version } ... on ApiKey { name } } }";

    let body = api.gql(node_query, json!({ "id": id })).await;
    assert_eq!(
        data(&body)["node"],
        json!({ "__typename": "Agent", "id": id, "name": "noded", "version": 1 })
    );

    // An agent version and an API key are nodes too.
    let versions = api
        .gql(
            "query($id: ID!) { agent(id: $id) { versions(first: 1) { nodes { id } } } }",
            json!({ "id": id }),
        )
        .await;
    let version_id = data(&versions)["agent"]["versions"]["nodes"][0]["id"].clone();
    let body = api.gql(node_query, json!({ "id": version_id })).await;
    assert_eq!(
        data(&body)["node"],
        json!({ "__typename": "AgentVersion", "id": version_id, "agentId": id, "version": 1 })
    );
    let viewer = api.gql("{ viewer { apiKeyId } }", json!({})).await;
    let key_id = data(&viewer)["viewer"]["apiKeyId"].clone();
    let body = api.gql(node_query, json!({ "id": key_id })).await;
    assert_eq!(data(&body)["node"]["__typename"], json!("ApiKey"));
    assert_eq!(data(&body)["node"]["id"], key_id);

    // Another organisation gets null (not an error) for each of them.
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    for foreign in [json!(id), version_id.clone(), key_id.clone()] {
        let body = other.gql(node_query, json!({ "id": foreign })).await;
        assert_eq!(
            data(&body)["node"],
            Value::Null,
            "node({foreign}) from another org: {body}"
        );
    }

    // Garbage and well-formed-but-unknown ids: null.
    for garbage in [
        "nope",
        "",
        "agt_",
        "agt_00000000000000000000000000",
        "zzz_01jabcdefghjkmnpqrstvwxyz0",
        "agt_01jabcdefghjkmnpqrst'; --",
    ] {
        let body = api.gql(node_query, json!({ "id": garbage })).await;
        assert_eq!(
            data(&body)["node"],
            Value::Null,
            "node({garbage:?}): {body}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// errors: validation, scopes

#[tokio::test]
async fn validation_errors_carry_code_and_pointers() {
    let s = TestServer::start().await;
    let api = s.api();
    let before = agent_ids(&api).await.len();
    let body = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": "   ", "model": "no-slash" } }),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["createAgent"]));
    let field_errors = body["errors"][0]["extensions"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no extensions.errors: {body}"));
    let pointers: Vec<&str> = field_errors
        .iter()
        .map(|e| e["pointer"].as_str().expect("pointer"))
        .collect();
    assert!(pointers.contains(&"/name"), "pointers {pointers:?}");
    assert!(pointers.contains(&"/model"), "pointers {pointers:?}");
    for e in field_errors {
        assert!(
            e["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "field error without detail: {e}"
        );
    }
    assert_eq!(agent_ids(&api).await.len(), before, "nothing was created");

    // A tool error points into the list.
    let body = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": "t", "model": "mock/echo", "tools": [{ "type": "http", "name": "ok", "url": "ftp://x" }] } }),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["pointer"],
        json!("/tools/0/url")
    );

    // Updates are validated too and change nothing when invalid.
    let agent = create(&api, json!({ "name": "valid", "model": "mock/echo" })).await;
    let id = agent["id"].as_str().unwrap();
    let body = api
        .gql(
            "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "VALIDATION_FAILED", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["errors"][0]["pointer"],
        json!("/name")
    );
    assert_eq!(data(&get_agent(&api, id).await)["agent"], agent);

    // A wrongly typed variable is a request error, not a resolver error.
    let body = api
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": 5, "model": "mock/echo" } }),
        )
        .await;
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body.get("data").is_none(),
        "a request error has no data: {body}"
    );
}

#[tokio::test]
async fn missing_scope_is_insufficient_scope() {
    let s = TestServer::start().await;
    let agent = create(&s.api(), full_input("scoped")).await;
    let id = agent["id"].as_str().unwrap();

    // A read-only key reads but cannot write.
    let reader = s.api_with(Some(&s.key(&s.org_id, &["agents:read"], false).await));
    assert_eq!(data(&get_agent(&reader, id).await)["agent"], agent);
    let body = reader
        .gql(
            "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
            json!({ "input": { "name": "nope", "model": "mock/echo" } }),
        )
        .await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["scope"],
        json!("agents:write")
    );
    for mutation in [
        "mutation($id: ID!) { updateAgent(id: $id, input: { name: \"nope\" }) { id } }",
        "mutation($id: ID!) { deleteAgent(id: $id) }",
    ] {
        let body = reader.gql(mutation, json!({ "id": id })).await;
        assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{mutation}: {body}");
    }
    assert_eq!(data(&get_agent(&s.api(), id).await)["agent"], agent);
    assert_eq!(agent_ids(&s.api()).await, vec![id.to_owned()]);

    // A key without agents:read cannot read agents.
    let keys_only = s.api_with(Some(&s.key(&s.org_id, &["runs:read"], false).await));
    let body = get_agent(&keys_only, id).await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["scope"],
        json!("agents:read")
    );
    let body = keys_only
        .gql("{ agents(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    // ... nor list or create keys.
    let body = keys_only
        .gql("{ apiKeys(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&body), "INSUFFICIENT_SCOPE", "{body}");
    // viewer needs no scope.
    let body = keys_only.gql("{ viewer { scopes } }", json!({})).await;
    assert_eq!(data(&body)["viewer"]["scopes"], json!(["runs:read"]));
}

// ---------------------------------------------------------------------------------------
// GraphQL over HTTP

#[tokio::test]
async fn get_requests_run_queries() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = create(&api, full_input("over get")).await;
    let id = agent["id"].as_str().unwrap();

    let (status, headers, body) = raw(api
        .request(Method::GET, "/graphql")
        .query(&[("query", "{ viewer { organization { id } } }")]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type(&headers).starts_with("application/json"),
        "content-type {:?}",
        content_type(&headers)
    );
    assert_eq!(data(&body)["viewer"]["organization"]["id"], json!(s.org_id));

    // Variables as URL-encoded JSON, an operation name, and graphql-response+json.
    let (status, headers, body) = raw(api
        .request(Method::GET, "/graphql")
        .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
        .query(&[
            (
                "query",
                "query A { viewer { testMode } } query B($id: ID!) { agent(id: $id) { id name } }",
            ),
            ("operationName", "B"),
            ("variables", &json!({ "id": id }).to_string()),
        ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        content_type(&headers).starts_with(GRAPHQL_RESPONSE_JSON),
        "content-type {:?}",
        content_type(&headers)
    );
    assert_eq!(
        data(&body)["agent"],
        json!({ "id": id, "name": "over get" })
    );
}

#[tokio::test]
async fn mutations_over_get_are_405() {
    let s = TestServer::start().await;
    let api = s.api();
    let mutation =
        "mutation { createAgent(input: { name: \"via get\", model: \"mock/echo\" }) { id } }";
    for accept in [None, Some(GRAPHQL_RESPONSE_JSON)] {
        let mut req = api
            .request(Method::GET, "/graphql")
            .query(&[("query", mutation)]);
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let (status, headers, body) = raw(req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
        assert_eq!(
            headers.get(ALLOW).and_then(|v| v.to_str().ok()),
            Some("POST")
        );
        assert!(
            body["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }

    // Chosen by operationName among several operations.
    let (status, headers, _) = raw(api.request(Method::GET, "/graphql").query(&[
        (
            "query",
            "query Q { viewer { testMode } } mutation M { deleteAgent(id: \"agt_x\") }",
        ),
        ("operationName", "M"),
    ]))
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        headers.get(ALLOW).and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    // ... and the query of that same document is fine over GET.
    let (status, _, body) = raw(api.request(Method::GET, "/graphql").query(&[
        (
            "query",
            "query Q { viewer { testMode } } mutation M { deleteAgent(id: \"agt_x\") }",
        ),
        ("operationName", "Q"),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(data(&body)["viewer"]["testMode"], json!(false));

    // Nothing was created.
    assert!(agent_ids(&api).await.is_empty());
}

#[tokio::test]
async fn graphql_response_json_request_errors_are_400_without_data() {
    let s = TestServer::start().await;
    let api = s.api();
    let cases = [
        ("{ viewer { ", "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($first: Int) { agents(first: $first) { nodes { id } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (query, expected) in cases {
        // The last case has a variable of the wrong type (variable coercion failure).
        let (status, headers, body) = raw(api
            .request(Method::POST, "/graphql")
            .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
            .json(&json!({ "query": query, "variables": { "first": "many" } })))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            content_type(&headers).starts_with(GRAPHQL_RESPONSE_JSON),
            "{query}: content-type {:?}",
            content_type(&headers)
        );
        assert!(body.get("data").is_none(), "{query}: has data: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{query}: {body}"
        );
        assert_eq!(code(&body), expected, "{query}: {body}");
    }

    // A field error during execution is still 200 with data under graphql-response+json.
    let (status, _, body) = raw(api
        .request(Method::POST, "/graphql")
        .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
        .json(&json!({ "query": "{ agent(id: \"agt_01jabcdefghjkmnpqrstvwxyz0\") { id } }" })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("data").is_some(), "{body}");
    assert_eq!(code(&body), "NOT_FOUND");
}

/// A missing value for a required (non-null, no default) variable is a variable
/// coercion failure: a request error (GraphQL spec, CoerceVariableValues), so no `data`,
/// and 400 under graphql-response+json (GraphQL over HTTP), 200 under application/json.
#[tokio::test]
async fn missing_required_variable_is_a_request_error() {
    let s = TestServer::start().await;
    let api = s.api();
    for (accept, expected) in [
        (GRAPHQL_RESPONSE_JSON, StatusCode::BAD_REQUEST),
        ("application/json", StatusCode::OK),
    ] {
        for (query, variables) in [
            ("query($id: ID!) { agent(id: $id) { id } }", json!({})),
            ("query($id: ID!) { agent(id: $id) { id } }", Value::Null),
            (
                "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }",
                json!({ "other": 1 }),
            ),
        ] {
            let (status, _, body) = raw(api
                .request(Method::POST, "/graphql")
                .header(ACCEPT, accept)
                .json(&json!({ "query": query, "variables": variables })))
            .await;
            assert_eq!(status, expected, "{accept} {query} {variables}: {body}");
            assert!(
                body.get("data").is_none(),
                "{accept} {query} {variables}: a request error must not have `data`: {body}"
            );
            assert!(
                body["errors"][0].get("path").is_none(),
                "{accept} {query}: a request error is not a field error: {body}"
            );
            assert!(
                matches!(code(&body), "GRAPHQL_VALIDATION_FAILED" | "BAD_USER_INPUT"),
                "{accept} {query}: {body}"
            );
        }
    }
    // And nothing ran.
    assert!(agent_ids(&api).await.is_empty());
}

#[tokio::test]
async fn application_json_request_errors_are_200() {
    let s = TestServer::start().await;
    let api = s.api();
    for (query, expected) in [
        ("{ viewer { noSuchField } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ agents(first: \"many\") { nodes { id } } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ viewer { ", "GRAPHQL_PARSE_FAILED"),
    ] {
        let (status, headers, body) = raw(api
            .request(Method::POST, "/graphql")
            .header(ACCEPT, "application/json")
            .json(&json!({ "query": query })))
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert!(
            content_type(&headers).starts_with("application/json"),
            "{query}: content-type {:?}",
            content_type(&headers)
        );
        assert_eq!(code(&body), expected, "{query}: {body}");
        assert!(body.get("data").is_none(), "{query}: {body}");
    }
}

#[tokio::test]
async fn malformed_http_requests_are_rejected() {
    let s = TestServer::start().await;
    let api = s.api();

    // No Content-Type: 415.
    let (status, _, body) = raw(api
        .request(Method::POST, "/graphql")
        .body(json!({ "query": "{ viewer { testMode } }" }).to_string()))
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );

    // A wrong Content-Type: 415.
    let (status, _, _) = raw(api
        .request(Method::POST, "/graphql")
        .header(CONTENT_TYPE, "text/plain")
        .body("{ viewer { testMode } }"))
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Invalid JSON, a missing query, a non-string query: 400 BAD_REQUEST.
    for raw_body in [
        "{ not json",
        "{}",
        r#"{"query": 5}"#,
        r#"{"query": "{ viewer { testMode } }", "variables": "x"}"#,
    ] {
        let (status, _, body) = raw(api
            .request(Method::POST, "/graphql")
            .header(CONTENT_TYPE, "application/json")
            .body(raw_body))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw_body}: {body}");
        assert_eq!(code(&body), "BAD_REQUEST", "{raw_body}: {body}");
    }

    // An Accept the server cannot produce: 406.
    let (status, _, _) = raw(api
        .request(Method::POST, "/graphql")
        .header(ACCEPT, "text/html")
        .json(&json!({ "query": "{ viewer { testMode } }" })))
    .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);

    // Content-Type with charset=utf-8 is fine.
    let (status, _, body) = raw(api
        .request(Method::POST, "/graphql")
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(json!({ "query": "{ viewer { testMode } }" }).to_string()))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(data(&body)["viewer"]["testMode"], json!(false));
}

// ---------------------------------------------------------------------------------------
// limits

fn nested_of_type(levels: usize) -> String {
    // __schema(1) types(2) fields(3) type(4), then `levels` ofType, then name.
    let mut q = String::from("{ __schema { types { fields { type { ");
    for _ in 0..levels {
        q.push_str("ofType { ");
    }
    q.push_str("name ");
    for _ in 0..levels {
        q.push_str("} ");
    }
    q.push_str("} } } } }");
    q
}

#[tokio::test]
async fn depth_limit_is_enforced() {
    let s = TestServer::start_with(|c| c.graphql.max_depth = 3).await;
    let api = s.api();
    // Depth 3 is allowed.
    let ok = api
        .gql("{ viewer { organization { id } } }", json!({}))
        .await;
    assert_eq!(data(&ok)["viewer"]["organization"]["id"], json!(s.org_id));
    // Deeper is refused, for the whole request.
    let deep = api
        .gql(
            "{ agents(first: 1) { edges { node { versions { nodes { id } } } } } }",
            json!({}),
        )
        .await;
    assert!(deep.get("data").is_none(), "{deep}");
    assert_eq!(code(&deep), "GRAPHQL_VALIDATION_FAILED", "{deep}");
    let message = deep["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.to_lowercase().contains("deep"), "message {message}");
    // Refused mutations do nothing.
    let body = api
        .gql(
            "mutation { createAgent(input: { name: \"deep\", model: \"mock/echo\" }) { versions { nodes { id } } } }",
            json!({}),
        )
        .await;
    assert!(body.get("data").is_none(), "{body}");
    let list = api
        .gql("{ agents(first: 5) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(data(&list)["agents"]["nodes"], json!([]));
}

#[tokio::test]
async fn default_depth_limit_is_twelve() {
    let s = TestServer::start().await;
    let api = s.api();
    // 4 + 8 + 1 = 13 levels: refused. 12 levels: allowed.
    let too_deep = api.gql(&nested_of_type(8), json!({})).await;
    assert!(too_deep.get("data").is_none(), "{too_deep}");
    assert_eq!(code(&too_deep), "GRAPHQL_VALIDATION_FAILED", "{too_deep}");
    let deep_enough = api.gql(&nested_of_type(7), json!({})).await;
    assert!(
        data(&deep_enough)["__schema"]["types"].is_array(),
        "{deep_enough}"
    );
}

#[tokio::test]
async fn complexity_limit_is_enforced() {
    let s = TestServer::start_with(|c| c.graphql.max_complexity = 10).await;
    let api = s.api();
    let ok = api
        .gql("{ viewer { organization { id name } } }", json!({}))
        .await;
    assert_eq!(data(&ok)["viewer"]["organization"]["id"], json!(s.org_id));
    let complex = api
        .gql(
            &format!("{{ agents(first: 5) {{ nodes {{ {AGENT_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    assert!(complex.get("data").is_none(), "{complex}");
    assert_eq!(code(&complex), "QUERY_TOO_COMPLEX", "{complex}");
    let message = complex["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains("complex"),
        "message {message}"
    );

    // Aliases count too.
    let aliased: String = (0..10)
        .map(|i| format!("a{i}: viewer {{ testMode }} "))
        .collect();
    let body = api.gql(&format!("{{ {aliased} }}"), json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

// ---------------------------------------------------------------------------------------
// authentication

#[tokio::test]
async fn unauthenticated_requests_are_401_with_graphql_errors() {
    let s = TestServer::start().await;
    let anonymous = s.api_with(None);
    let bogus = s.api_with(Some("os_live_thisisnotarealkeyatall0000000000"));
    let garbage = s.api_with(Some("hello"));
    let query = json!({ "query": "{ viewer { testMode } }" });

    for (who, api) in [
        ("no key", &anonymous),
        ("unknown key", &bogus),
        ("garbage key", &garbage),
    ] {
        for get in [false, true] {
            let req = if get {
                api.request(Method::GET, "/graphql")
                    .query(&[("query", "{ viewer { testMode } }")])
            } else {
                api.request(Method::POST, "/graphql").json(&query)
            };
            let (status, headers, body) = raw(req).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{who} get={get}: {body}");
            let www = headers
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{who}: no WWW-Authenticate header"));
            assert!(www.starts_with("Bearer"), "{who}: WWW-Authenticate {www}");
            assert_eq!(code(&body), "UNAUTHENTICATED", "{who}: {body}");
            assert!(body.get("data").is_none(), "{who}: {body}");
            assert!(
                content_type(&headers).starts_with("application/json"),
                "{who}: content-type {:?}",
                content_type(&headers)
            );
        }
    }

    // With graphql-response+json accepted, the error body is in that media type.
    let (status, headers, body) = raw(anonymous
        .request(Method::POST, "/graphql")
        .header(ACCEPT, GRAPHQL_RESPONSE_JSON)
        .json(&query))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(content_type(&headers).starts_with(GRAPHQL_RESPONSE_JSON));
    assert_eq!(code(&body), "UNAUTHENTICATED");

    // A non-Bearer scheme is refused too.
    let (status, headers, body) = raw(s
        .api_with(None)
        .request(Method::POST, "/graphql")
        .header("authorization", format!("Basic {}", s.admin_key))
        .json(&query))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(WWW_AUTHENTICATE));
    assert_eq!(code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn api_keys_created_over_graphql_work_until_revoked() {
    let s = TestServer::start().await;
    let api = s.api();
    let body = api
        .gql(
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { id secret name scopes mode } }",
            json!({ "input": { "name": "ci", "scopes": ["agents:read"] } }),
        )
        .await;
    let created = &data(&body)["createApiKey"];
    let secret = created["secret"].as_str().expect("secret");
    assert!(secret.starts_with("os_live_"), "secret {secret}");
    assert_eq!(created["scopes"], json!(["agents:read"]));
    assert_eq!(created["mode"], json!("LIVE"));
    let key_id = created["id"].as_str().unwrap();

    let new_api = s.api_with(Some(secret));
    let body = new_api
        .gql("{ viewer { apiKeyId scopes } }", json!({}))
        .await;
    assert_eq!(
        data(&body)["viewer"],
        json!({ "apiKeyId": key_id, "scopes": ["agents:read"] })
    );

    // The secret is never shown again.
    let body = api
        .gql(
            "query($id: ID!) { apiKey(id: $id) { id name revokedAt } }",
            json!({ "id": key_id }),
        )
        .await;
    assert_eq!(data(&body)["apiKey"]["revokedAt"], Value::Null);
    assert!(!body.to_string().contains(secret));

    let body = api
        .gql(
            "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }",
            json!({ "id": key_id }),
        )
        .await;
    assert!(
        data(&body)["revokeApiKey"]["revokedAt"].is_string(),
        "{body}"
    );

    // At once: 401.
    let (status, headers, body) = raw(new_api
        .request(Method::POST, "/graphql")
        .json(&json!({ "query": "{ viewer { scopes } }" })))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(headers.contains_key(WWW_AUTHENTICATE));
    assert_eq!(code(&body), "UNAUTHENTICATED");
}
