//! Agents over GraphQL: create, read, update with versions, delete, defaults, and the
//! `agents` connection (filters, order, pages).

use super::*;
use crate::common::calls::{data, gql_agent as get_agent, gql_code as code};
use crate::common::*;
use serde_json::{json, Value};

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
    assert_eq!(created["knowledgeIds"], json!([]));
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
