//! Keyset pagination over REST (`limit`, `cursor`, `sort`, `fields`) and GraphQL
//! (`first/after`, `last/before`): every item seen exactly once, in the requested order,
//! with correct page sizes, and bad paging input refused with 400.

use crate::common::calls::url_encode;
use crate::common::run_support::str_of as text;
use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Creates agents with these names, 25 requests at a time; returns them as created.
async fn create_many(api: &Api, names: &[String]) -> Vec<Value> {
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(25) {
        let batch = futures::future::join_all(chunk.iter().map(|name| {
            let api = api.clone();
            let name = name.clone();
            async move {
                api.post(
                    "/v1/agents",
                    json!({ "name": name, "model": "mock/echo" }),
                    201,
                )
                .await
            }
        }))
        .await;
        out.extend(batch);
    }
    out
}

/// 250 names, each used twice (ties), in an order unrelated to creation order.
fn names_250() -> Vec<String> {
    (0..250)
        .map(|i| format!("agent-{:03}", (i * 97) % 125))
        .collect()
}

/// Walks a REST list from the first page to the last; checks every page's shape and
/// size and returns the pages.
async fn walk(api: &Api, path: &str, limit: Option<usize>) -> Vec<Vec<Value>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let first = match limit {
        Some(n) => format!("{path}{sep}limit={n}"),
        None => path.to_owned(),
    };
    let size = limit.unwrap_or(20);
    let mut pages = Vec::new();
    let mut url = first.clone();
    loop {
        let page = api.get(&url, 200).await;
        assert_eq!(page["object"], "list", "{page}");
        let data = page["data"].as_array().expect("data").clone();
        let has_more = page["has_more"].as_bool().expect("has_more");
        assert!(
            data.len() <= size,
            "page larger than {size}: {}",
            data.len()
        );
        pages.push(data.clone());
        assert!(pages.len() < 1000, "pagination does not end");
        if !has_more {
            assert_eq!(page["next_cursor"], Value::Null, "{page}");
            break;
        }
        assert_eq!(data.len(), size, "a page before the last is short");
        let cursor = page["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("has_more without next_cursor: {page}"));
        assert!(!cursor.is_empty());
        // The cursor goes back as a query parameter: percent-encode what must be.
        let cursor: String = url_encode(cursor);
        url = if first.contains('?') {
            format!("{first}&cursor={cursor}")
        } else {
            format!("{first}?cursor={cursor}")
        };
    }
    pages
}

fn flatten(pages: &[Vec<Value>]) -> Vec<Value> {
    pages.iter().flatten().cloned().collect()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| text(v, "id").to_owned()).collect()
}

fn assert_each_once(seen: &[String], expected: &[Value]) {
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an item was seen twice");
    let want: HashSet<String> = ids(expected).into_iter().collect();
    let got: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        got.len(),
        want.len(),
        "seen {} of {}",
        got.len(),
        want.len()
    );
    assert_eq!(got, want, "the walk saw other items than were created");
}

fn by_keys<'a>(keys: &'a [(&'a str, bool)]) -> impl Fn(&Value, &Value) -> Ordering + 'a {
    move |a, b| {
        for (key, desc) in keys {
            let o = text(a, key).cmp(text(b, key));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

fn expected_order(all: &[Value], keys: &[(&str, bool)]) -> Vec<String> {
    let mut sorted = all.to_vec();
    sorted.sort_by(by_keys(keys));
    ids(&sorted)
}

fn page_sizes(pages: &[Vec<Value>]) -> Vec<usize> {
    pages.iter().map(Vec::len).collect()
}

#[tokio::test]
async fn rest_walks_250_agents_in_every_sort() {
    let s = TestServer::start().await;
    let api = s.api();
    let all = create_many(&api, &names_250()).await;
    assert_eq!(all.len(), 250);

    // (query, sort keys with the id tie-breaker in the first key's direction)
    let sorts: [(&str, Vec<(&str, bool)>); 5] = [
        ("", vec![("created_at", true), ("id", true)]),
        (
            "?sort=-created_at",
            vec![("created_at", true), ("id", true)],
        ),
        (
            "?sort=created_at",
            vec![("created_at", false), ("id", false)],
        ),
        ("?sort=name", vec![("name", false), ("id", false)]),
        ("?sort=-name", vec![("name", true), ("id", true)]),
    ];
    for (query, keys) in &sorts {
        let want = expected_order(&all, keys);
        for (limit, sizes) in [
            (Some(20), [vec![20; 12], vec![10]].concat()),
            (Some(100), vec![100, 100, 50]),
            (Some(50), vec![50; 5]),
            (None, [vec![20; 12], vec![10]].concat()),
        ] {
            let pages = walk(&api, &format!("/v1/agents{query}"), limit).await;
            assert_eq!(page_sizes(&pages), sizes, "{query} limit {limit:?}");
            let seen = ids(&flatten(&pages));
            assert_each_once(&seen, &all);
            assert_eq!(seen, want, "order of {query:?} with limit {limit:?}");
        }
    }
    // The items in pages are the agents as created.
    let pages = walk(&api, "/v1/agents?sort=name", Some(100)).await;
    let mut listed = flatten(&pages);
    let mut created = all.clone();
    listed.sort_by(by_keys(&[("id", false)]));
    created.sort_by(by_keys(&[("id", false)]));
    assert_eq!(listed, created);
}

#[tokio::test]
async fn rest_walk_with_several_sort_keys_and_fields() {
    let s = TestServer::start().await;
    let api = s.api();
    let names: Vec<String> = (0..60).map(|i| format!("n{:02}", i % 7)).collect();
    let all = create_many(&api, &names).await;
    // Give a few agents a later updated_at.
    for a in all.iter().step_by(9) {
        api.patch(
            &format!("/v1/agents/{}", text(a, "id")),
            json!({ "instructions": "changed" }),
            200,
        )
        .await;
    }
    let now: Vec<Value> = flatten(&walk(&api, "/v1/agents", Some(100)).await);
    let pages = walk(&api, "/v1/agents?sort=-updated_at,name", Some(7)).await;
    let seen = flatten(&pages);
    assert_each_once(&ids(&seen), &all);
    let cmp = by_keys(&[("updated_at", true), ("name", false)]);
    for pair in seen.windows(2) {
        assert_ne!(
            cmp(&pair[0], &pair[1]),
            Ordering::Greater,
            "out of order: {pair:?}"
        );
    }
    let changed: Vec<&Value> = now.iter().filter(|a| a["version"] == 2).collect();
    assert_eq!(changed.len(), 7);
    assert!(
        seen[..7].iter().all(|a| a["version"] == 2),
        "patched agents first"
    );

    let pages = walk(&api, "/v1/agents?sort=name,-created_at", Some(8)).await;
    let seen = flatten(&pages);
    assert_each_once(&ids(&seen), &all);
    let cmp = by_keys(&[("name", false), ("created_at", true)]);
    for pair in seen.windows(2) {
        assert_ne!(
            cmp(&pair[0], &pair[1]),
            Ordering::Greater,
            "out of order: {pair:?}"
        );
    }

    // `fields` works across pages and keeps only the named keys.
    let pages = walk(&api, "/v1/agents?sort=name&fields=id,name", Some(13)).await;
    let seen = flatten(&pages);
    assert_eq!(seen.len(), 60);
    assert!(seen.iter().all(|a| a.as_object().unwrap().len() == 2
        && a["id"].is_string()
        && a["name"].is_string()));
    assert_eq!(
        ids(&seen),
        expected_order(&all, &[("name", false), ("id", false)])
    );
    let pages = walk(&api, "/v1/agents?fields=name&sort=name", Some(25)).await;
    assert_eq!(page_sizes(&pages), vec![25, 25, 10]);
}

const GQL_PAGE: &str = r#"
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: [AgentOrder!]) {
  agents(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    edges { cursor node { id name createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

struct GqlPage {
    ids: Vec<String>,
    has_next: bool,
    has_previous: bool,
    start: Option<String>,
    end: Option<String>,
}

async fn gql_page(api: &Api, vars: Value) -> GqlPage {
    let body = api.gql(GQL_PAGE, vars.clone()).await;
    assert!(body.get("errors").is_none(), "{vars}: {body}");
    let conn = &body["data"]["agents"];
    let edges = conn["edges"].as_array().expect("edges");
    let info = &conn["pageInfo"];
    let ids: Vec<String> = edges
        .iter()
        .map(|e| text(&e["node"], "id").to_owned())
        .collect();
    if let (Some(first), Some(last)) = (edges.first(), edges.last()) {
        assert_eq!(info["startCursor"], first["cursor"]);
        assert_eq!(info["endCursor"], last["cursor"]);
    }
    GqlPage {
        ids,
        has_next: info["hasNextPage"].as_bool().expect("hasNextPage"),
        has_previous: info["hasPreviousPage"].as_bool().expect("hasPreviousPage"),
        start: info["startCursor"].as_str().map(str::to_owned),
        end: info["endCursor"].as_str().map(str::to_owned),
    }
}

#[tokio::test]
async fn graphql_walks_forward_and_backward() {
    let s = TestServer::start().await;
    let api = s.api();
    let names: Vec<String> = (0..130).map(|i| format!("g{:03}", (i * 37) % 65)).collect();
    let all = create_many(&api, &names).await;

    for (order_by, keys) in [
        (Value::Null, vec![("created_at", true), ("id", true)]),
        (
            json!([{ "field": "NAME", "direction": "ASC" }]),
            vec![("name", false), ("id", false)],
        ),
        (
            json!([{ "field": "NAME", "direction": "DESC" }]),
            vec![("name", true), ("id", true)],
        ),
    ] {
        let want = expected_order(&all, &keys);

        // Forward: first/after.
        let mut forward = Vec::new();
        let mut after: Option<String> = None;
        let mut sizes = Vec::new();
        loop {
            let page = gql_page(
                &api,
                json!({ "first": 30, "after": after, "orderBy": order_by }),
            )
            .await;
            assert_eq!(
                page.has_previous,
                after.is_some(),
                "hasPreviousPage forward"
            );
            sizes.push(page.ids.len());
            forward.extend(page.ids);
            if !page.has_next {
                break;
            }
            after = page.end;
            assert!(sizes.len() < 100);
        }
        assert_eq!(sizes, vec![30, 30, 30, 30, 10], "{order_by}");
        assert_each_once(&forward, &all);
        assert_eq!(forward, want, "forward order {order_by}");

        // Backward: last/before, from the end to the start.
        let mut backward: Vec<String> = Vec::new();
        let mut before: Option<String> = None;
        let mut sizes = Vec::new();
        loop {
            let page = gql_page(
                &api,
                json!({ "last": 30, "before": before, "orderBy": order_by }),
            )
            .await;
            assert_eq!(page.has_next, before.is_some(), "hasNextPage backward");
            sizes.push(page.ids.len());
            let mut ids = page.ids;
            ids.extend(backward);
            backward = ids;
            if !page.has_previous {
                break;
            }
            before = page.start;
            assert!(sizes.len() < 100);
        }
        assert_eq!(sizes, vec![30, 30, 30, 30, 10], "{order_by}");
        assert_each_once(&backward, &all);
        assert_eq!(backward, want, "backward order {order_by}");
    }

    // REST cursors and GraphQL cursors are the same cursors.
    let rest = api.get("/v1/agents?limit=40&sort=name", 200).await;
    let cursor = rest["next_cursor"].as_str().unwrap().to_owned();
    let page = gql_page(
        &api,
        json!({ "first": 40, "after": cursor, "orderBy": [{ "field": "NAME" }] }),
    )
    .await;
    let rest2 = api
        .get(
            &format!(
                "/v1/agents?limit=40&sort=name&cursor={}",
                url_encode(&cursor)
            ),
            200,
        )
        .await;
    assert_eq!(page.ids, ids(rest2["data"].as_array().unwrap()));
    // `before` a middle cursor gives the items just before it.
    let page = gql_page(
        &api,
        json!({ "last": 5, "before": cursor, "orderBy": [{ "field": "NAME" }] }),
    )
    .await;
    let want = expected_order(&all, &[("name", false), ("id", false)]);
    assert_eq!(page.ids, want[34..39].to_vec());
    assert!(page.has_previous && page.has_next);
}

#[tokio::test]
async fn graphql_rejects_bad_page_arguments() {
    let s = TestServer::start().await;
    let api = s.api();
    api.create_agent("one").await;
    let name_cursor = gql_page(
        &api,
        json!({ "first": 1, "orderBy": [{ "field": "NAME" }] }),
    )
    .await
    .end
    .unwrap();
    for vars in [
        json!({ "first": 0 }),
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "last": 0 }),
        json!({ "first": 5, "last": 5 }),
        json!({ "first": 5, "after": "garbage" }),
        json!({ "last": 5, "before": "garbage" }),
        json!({ "first": 5, "after": name_cursor }),
    ] {
        let body = api.gql(GQL_PAGE, vars.clone()).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
            "{vars}: {body}"
        );
    }
    let ok = gql_page(&api, json!({ "first": 100 })).await;
    assert_eq!(ok.ids.len(), 1);
}

#[tokio::test]
async fn bad_paging_parameters_are_400() {
    let s = TestServer::start().await;
    let api = s.api();
    create_many(&api, &(0..5).map(|i| format!("p{i}")).collect::<Vec<_>>()).await;

    for query in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "limit=",
        "limit=99999999999999999999",
        "sort=model",
        "sort=id",
        "sort=",
        "sort=name,bogus",
        "sort=--name",
        "fields=secret",
        "fields=",
        "fields=id,nope",
        "cursor=",
        "cursor=garbage!!",
        "cursor=abc",
        "page=2",
        "offset=10",
    ] {
        let body = api.get(&format!("/v1/agents?{query}"), 400).await;
        assert_eq!(body["code"], "bad_request", "{query}: {body}");
        assert_eq!(body["status"], 400);
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    for query in [
        "limit=1",
        "limit=100",
        "sort=updated_at",
        "sort=+name",
        "sort=-updated_at",
    ] {
        api.get(&format!("/v1/agents?{query}"), 200).await;
    }
    let one = api.get("/v1/agents?limit=1", 200).await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["has_more"], true);
}

#[tokio::test]
async fn cursors_are_bound_to_their_sort_and_checked() {
    let s = TestServer::start().await;
    let api = s.api();
    create_many(&api, &(0..6).map(|i| format!("c{i}")).collect::<Vec<_>>()).await;
    let by_name = api.get("/v1/agents?limit=2&sort=name", 200).await;
    let cursor = url_encode(by_name["next_cursor"].as_str().unwrap());
    // The same sort continues; any other sort is refused.
    api.get(
        &format!("/v1/agents?limit=2&sort=name&cursor={cursor}"),
        200,
    )
    .await;
    for other in [
        "",
        "&sort=-name",
        "&sort=created_at",
        "&sort=name,created_at",
    ] {
        let body = api
            .get(&format!("/v1/agents?limit=2&cursor={cursor}{other}"), 400)
            .await;
        assert_eq!(body["code"], "bad_request", "{other}: {body}");
    }
    let default = api.get("/v1/agents?limit=2", 200).await;
    let dcursor = url_encode(default["next_cursor"].as_str().unwrap());
    api.get(
        &format!("/v1/agents?limit=2&sort=-created_at&cursor={dcursor}"),
        200,
    )
    .await;
    api.get(
        &format!("/v1/agents?limit=2&sort=name&cursor={dcursor}"),
        400,
    )
    .await;

    // A list cursor is not a versions cursor.
    let agent = &default["data"][0];
    let vpath = format!("/v1/agents/{}/versions", text(agent, "id"));
    api.get(&format!("{vpath}?cursor={dcursor}"), 400).await;

    // Hand-made cursors that do not match what the server makes are refused, not 500s.
    let forged = [
        json!({ "s": "-created_at" }),
        json!({ "s": "-created_at", "v": [], "id": "agt_x" }),
        json!({ "s": "-created_at", "v": [{ "x": 1 }], "id": "agt_x" }),
        json!({ "s": "-created_at", "v": ["2026-01-01T00:00:00.000Z", 1], "id": "agt_x" }),
        json!(["not", "an", "object"]),
        json!({ "s": "-created_at", "v": ["not a time"], "id": "agt_x" }),
        json!({ "s": "-created_at", "v": [5], "id": "agt_x" }),
        json!({ "s": "name", "v": [5], "id": "agt_x" }),
        // Well-formed values of the wrong type for the sort field.
        json!({ "s": "-created_at", "v": [{ "s": "not a time" }], "id": "agt_x" }),
        json!({ "s": "-created_at", "v": [{ "i": 5 }], "id": "agt_x" }),
        json!({ "s": "name", "v": [{ "t": "2026-01-01T00:00:00Z" }], "id": "agt_x" }),
        json!({ "s": "name", "v": [{ "i": 5 }], "id": "agt_x" }),
    ];
    let mut accepted = Vec::new();
    for (i, f) in forged.iter().enumerate() {
        let raw = URL_SAFE_NO_PAD.encode(f.to_string());
        let sort = if f["s"] == "name" { "&sort=name" } else { "" };
        let res = api
            .request(
                Method::GET,
                &format!("/v1/agents?limit=2&cursor={raw}{sort}"),
            )
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("json");
        if status != 400 || body["code"] != "bad_request" {
            accepted.push(format!("cursor {i} {f} → {status} {}", body["code"]));
        }
    }
    assert!(
        accepted.is_empty(),
        "forged cursors not refused: {accepted:#?}"
    );
}

#[tokio::test]
async fn names_that_look_like_other_types_page_correctly() {
    let s = TestServer::start().await;
    let api = s.api();
    let names: Vec<String> = [
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00.000Z",
        "2026-01-03T10:00:00+02:00",
        "42",
        "7",
        "true",
        "null",
        "alpha",
        "beta",
        "2026-01-01T00:00:00Z",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let all = create_many(&api, &names).await;
    for (sort, keys) in [
        ("name", vec![("name", false), ("id", false)]),
        ("-name", vec![("name", true), ("id", true)]),
    ] {
        let want = expected_order(&all, &keys);
        for limit in [1, 2, 3] {
            let pages = walk(&api, &format!("/v1/agents?sort={sort}"), Some(limit)).await;
            let seen = ids(&flatten(&pages));
            assert_each_once(&seen, &all);
            assert_eq!(seen, want, "sort {sort} limit {limit}");
        }
    }
}

#[tokio::test]
async fn walk_survives_changes_between_pages() {
    let s = TestServer::start().await;
    let api = s.api();
    let names: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    let all = create_many(&api, &names).await;
    let want = expected_order(&all, &[("name", false), ("id", false)]);

    let first = api.get("/v1/agents?sort=name&limit=10", 200).await;
    let page1 = ids(first["data"].as_array().unwrap());
    assert_eq!(page1, want[..10].to_vec());
    // Delete the row the cursor points at and one not yet seen; add rows on both sides.
    api.delete(&format!("/v1/agents/{}", want[9]), 200).await;
    api.delete(&format!("/v1/agents/{}", want[15]), 200).await;
    api.create_agent("a-before-everything").await;
    let late = api.create_agent("z-after-everything").await;
    let mut rest = Vec::new();
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = api
            .get(
                &format!(
                    "/v1/agents?sort=name&limit=10&cursor={}",
                    url_encode(&cursor)
                ),
                200,
            )
            .await;
        rest.extend(ids(page["data"].as_array().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let mut expected: Vec<String> = want[10..]
        .iter()
        .filter(|id| **id != want[15])
        .cloned()
        .collect();
    expected.push(text(&late, "id").to_owned());
    assert_eq!(rest, expected);
}

#[tokio::test]
async fn versions_page_newest_first() {
    let s = TestServer::start().await;
    let api = s.api();
    let a = api.create_agent("v").await;
    let path = format!("/v1/agents/{}", text(&a, "id"));
    for i in 2..=7 {
        let p = api
            .patch(&path, json!({ "instructions": format!("v{i}") }), 200)
            .await;
        assert_eq!(p["version"], i);
    }
    let pages = walk(&api, &format!("{path}/versions"), Some(2)).await;
    assert_eq!(page_sizes(&pages), vec![2, 2, 2, 1]);
    let versions: Vec<i64> = flatten(&pages)
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![7, 6, 5, 4, 3, 2, 1]);
    let all = api.get(&format!("{path}/versions?limit=100"), 200).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 7);
    assert_eq!(all["data"][6]["instructions"], "Be brief.");
    assert_eq!(all["data"][0]["instructions"], "v7");
    // Versions have a fixed order and no filters.
    for q in [
        "sort=version",
        "sort=-created_at",
        "model=mock/echo",
        "limit=0",
    ] {
        let body = api.get(&format!("{path}/versions?{q}"), 400).await;
        assert_eq!(body["code"], "bad_request", "{q}: {body}");
    }
}

#[tokio::test]
async fn filtered_lists_page_too() {
    let s = TestServer::start().await;
    let api = s.api();
    let mut all = Vec::new();
    for chunk in (0..90).collect::<Vec<_>>().chunks(30) {
        let batch = futures::future::join_all(chunk.iter().map(|i| {
            let api = api.clone();
            let model = if i % 3 == 0 {
                "openai/gpt-4o-mini"
            } else {
                "mock/echo"
            };
            async move {
                api.post(
                    "/v1/agents",
                    json!({ "name": format!("f{:02}", (i * 11) % 90), "model": model }),
                    201,
                )
                .await
            }
        }))
        .await;
        all.extend(batch);
    }
    let openai: Vec<Value> = all
        .iter()
        .filter(|a| a["model"] == "openai/gpt-4o-mini")
        .cloned()
        .collect();
    assert_eq!(openai.len(), 30);
    let pages = walk(
        &api,
        "/v1/agents?model=openai/gpt-4o-mini&sort=name",
        Some(7),
    )
    .await;
    assert_eq!(page_sizes(&pages), vec![7, 7, 7, 7, 2]);
    let seen = ids(&flatten(&pages));
    assert_each_once(&seen, &openai);
    assert_eq!(
        seen,
        expected_order(&openai, &[("name", false), ("id", false)])
    );

    // created_after with paging: everything from the 46th-newest on.
    let newest_first = expected_order(&all, &[("created_at", true), ("id", true)]);
    let by_id: std::collections::HashMap<String, &Value> =
        all.iter().map(|a| (text(a, "id").to_owned(), a)).collect();
    let pivot = text(by_id[&newest_first[45]], "created_at").to_owned();
    let recent: Vec<Value> = all
        .iter()
        .filter(|a| text(a, "created_at") >= pivot.as_str())
        .cloned()
        .collect();
    let pages = walk(&api, &format!("/v1/agents?created_after={pivot}"), Some(10)).await;
    let seen = ids(&flatten(&pages));
    assert_each_once(&seen, &recent);
    assert_eq!(
        seen,
        expected_order(&recent, &[("created_at", true), ("id", true)])
    );
}

#[tokio::test]
async fn api_keys_page_newest_first() {
    let s = TestServer::start().await;
    let api = s.api();
    let made = futures::future::join_all((0..11).map(|i| {
        let api = api.clone();
        async move {
            api.post(
                "/v1/api-keys",
                json!({ "name": format!("k{i}"), "scopes": ["agents:read"] }),
                201,
            )
            .await
        }
    }))
    .await;
    let listed = flatten(&walk(&api, "/v1/api-keys", Some(100)).await);
    assert_eq!(listed.len(), 12, "the admin key and the 11 new ones");
    let pages = walk(&api, "/v1/api-keys", Some(5)).await;
    assert_eq!(page_sizes(&pages), vec![5, 5, 2]);
    let seen = ids(&flatten(&pages));
    assert_each_once(&seen, &listed);
    assert_eq!(
        seen,
        expected_order(&listed, &[("created_at", true), ("id", true)])
    );
    for k in &made {
        assert!(seen.contains(&text(k, "id").to_owned()));
    }
    assert!(flatten(&pages).iter().all(|k| k.get("secret").is_none()));
}
