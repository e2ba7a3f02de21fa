//! Run lists (filters, sort, pages), bad run requests, tenancy and scopes on the
//! run routes.

use crate::common::calls::{list_run_ids as list_ids, trigger, url_encode as urlencode};
use crate::common::run_support::*;
use crate::common::*;
use orchstack::runtime::providers::ProviderConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn run_lists_filter_sort_and_page() {
    let nowhere = unreachable_url().await;
    let s = TestServer::start_with(|c| {
        let provider = ProviderConfig {
            connect_timeout: Duration::from_millis(500),
            max_retries: 0,
            ..ProviderConfig::new("openai", &nowhere)
        };
        c.providers.insert("fake".into(), provider);
    })
    .await;
    let api = s.api();
    let a1 = agent(&api, "mock/echo", json!({})).await;
    let a2 = agent(&api, "mock/echo", json!({})).await;
    let a3 = agent(&api, "fake/gpt-test", json!({})).await;
    let mut r = Vec::new();
    for (agent, input, channel, user) in [
        (&a1, "one", "whatsapp", "usr_1"),
        (&a1, "two", "web", "usr_2"),
        (&a2, "three", "whatsapp", "usr_1"),
        (&a3, "four", "web", "usr_1"),
    ] {
        let body = trigger(
            &api,
            agent,
            json!({ "input": input, "channel": channel, "user_id": user }),
            200,
        )
        .await;
        r.push(str_of(&body, "run_id").to_owned());
    }
    assert_eq!(get_run(&api, &r[3]).await["status"], "failed");
    let of = |idx: &[usize]| idx.iter().map(|&i| r[i].clone()).collect::<Vec<_>>();

    assert_eq!(list_ids(&api, "").await, of(&[3, 2, 1, 0]), "newest first");
    assert_eq!(list_ids(&api, "?sort=created_at").await, of(&[0, 1, 2, 3]));
    assert_eq!(list_ids(&api, "?sort=-created_at").await, of(&[3, 2, 1, 0]));
    assert_eq!(list_ids(&api, "?status=completed").await, of(&[2, 1, 0]));
    assert_eq!(list_ids(&api, "?status=failed").await, of(&[3]));
    assert_eq!(
        list_ids(&api, "?status=failed,completed").await,
        of(&[3, 2, 1, 0])
    );
    assert_eq!(list_ids(&api, "?status=queued,running").await, of(&[]));
    assert_eq!(
        list_ids(&api, &format!("?agent_id={a1}")).await,
        of(&[1, 0])
    );
    assert_eq!(list_ids(&api, "?channel=whatsapp").await, of(&[2, 0]));
    assert_eq!(list_ids(&api, "?user_id=usr_1").await, of(&[3, 2, 0]));
    assert_eq!(list_ids(&api, "?user_id=usr_1&channel=web").await, of(&[3]));
    let third = get_run(&api, &r[2]).await;
    let after = urlencode(str_of(&third, "created_at"));
    assert_eq!(
        list_ids(&api, &format!("?created_after={after}")).await,
        of(&[3, 2])
    );
    assert_eq!(
        list_ids(&api, &format!("?created_before={after}")).await,
        of(&[1, 0])
    );

    // Paging, with and without a filter.
    let page = api.get("/v1/runs?limit=3", 200).await;
    assert_eq!(page["has_more"], true, "{page}");
    let cursor = str_of(&page, "next_cursor");
    let page2 = api
        .get(
            &format!("/v1/runs?limit=3&cursor={}", urlencode(cursor)),
            200,
        )
        .await;
    assert_eq!(page2["has_more"], false, "{page2}");
    assert_eq!(page2["next_cursor"], Value::Null, "{page2}");
    assert_eq!(page2["data"][0]["id"], r[0].as_str());
    let page = api.get("/v1/runs?status=completed&limit=2", 200).await;
    let got: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| str_of(x, "id"))
        .collect();
    assert_eq!(got, of(&[2, 1]));
    let cursor = urlencode(str_of(&page, "next_cursor"));
    assert_eq!(
        list_ids(&api, &format!("?status=completed&limit=2&cursor={cursor}")).await,
        of(&[0])
    );

    // Items carry the run's fields; `fields` picks some.
    let list = api
        .get(&format!("/v1/runs?agent_id={a1}&sort=created_at"), 200)
        .await;
    let first = &list["data"][0];
    assert_eq!(first["input"], "one", "{first}");
    assert_eq!(first["output"], "one");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["agent_id"], a1.as_str());
    assert_eq!(first["channel"], "whatsapp");
    assert_eq!(first["user_id"], "usr_1");
    let list = api.get("/v1/runs?fields=id,status", 200).await;
    for item in list["data"].as_array().unwrap() {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "status"], "{item}");
    }

    let problem = api.get("/v1/runs?status=finished", 400).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("finished"),
        "{problem}"
    );
}

#[tokio::test]
async fn bad_run_requests_are_refused_and_create_nothing() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let missing = "agt_01hzzzzzzzzzzzzzzzzzzzzzzz";
    let problem = trigger(&api, missing, json!({ "input": "hi" }), 404).await;
    assert_eq!(problem["code"], "not_found", "{problem}");
    // The input limit is 100 000 characters (not bytes): at the limit the request gets
    // past validation (to the unknown agent), one more is refused.
    for input in ["x".repeat(100_000), "é".repeat(100_000)] {
        let problem = trigger(&api, missing, json!({ "input": input }), 404).await;
        assert_eq!(problem["code"], "not_found", "{problem}");
    }
    let problem = trigger(&api, missing, json!({ "input": "é".repeat(100_001) }), 422).await;
    assert!(
        pointers(&problem).contains(&"/input".to_string()),
        "{problem}"
    );

    for (body, pointer) in [
        (json!({ "input": "" }), "/input"),
        (json!({ "input": "   " }), "/input"),
        (json!({}), "/input"),
        (json!({ "input": 42 }), "/input"),
        (json!({ "input": "x".repeat(100_001) }), "/input"),
        (json!({ "input": "hi", "mode": "later" }), "/mode"),
        (json!({ "input": "hi", "multitask": "queue" }), "/multitask"),
        (json!({ "input": "hi", "channel": "" }), "/channel"),
        (json!({ "input": "hi", "metadata": [1] }), "/metadata"),
    ] {
        let problem = trigger(&api, &agent, body.clone(), 422).await;
        let found = pointers(&problem);
        assert!(
            found.iter().any(|p| p == pointer),
            "{pointer} not in {found:?} for {}",
            body.to_string().chars().take(80).collect::<String>()
        );
    }
    assert_eq!(list_ids(&api, "").await, Vec::<String>::new());
}

#[tokio::test]
async fn another_organisations_runs_are_not_found() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let finished = trigger(&api, &agent, json!({ "input": "mine" }), 200).await;
    let finished = str_of(&finished, "run_id").to_owned();
    let slow_agent = self::agent(&api, "mock/echo", slow(200)).await;
    let running = trigger(
        &api,
        &slow_agent,
        json!({ "input": words(10), "mode": "async" }),
        202,
    )
    .await;
    let running = str_of(&running, "run_id").to_owned();

    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    for id in [&finished, &running] {
        let p = other.get(&format!("/v1/runs/{id}"), 404).await;
        assert_eq!(p["code"], "not_found", "{p}");
        let p = other
            .send(
                other.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
                404,
            )
            .await;
        assert_eq!(p["code"], "not_found", "{p}");
        let res = other
            .gql(
                "query($id: ID!) { run(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(res["errors"][0]["extensions"]["code"], "NOT_FOUND", "{res}");
    }
    assert_eq!(list_ids(&other, "").await, Vec::<String>::new());
    let res = other
        .gql("{ runs(first: 50) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(res["data"]["runs"]["nodes"], json!([]), "{res}");
    let p = trigger(&other, &agent, json!({ "input": "hi" }), 404).await;
    assert_eq!(p["code"], "not_found", "{p}");
    // The other organisation's cancel did nothing.
    let run = get_run(&api, &running).await;
    assert_eq!(run["status"], "running", "{run}");
    // Nor can it follow the run's events.
    for id in [&finished, &running] {
        let p = other.send(events_req(&other, id), 404).await;
        assert_eq!(p["code"], "not_found", "{p}");
    }
}

#[tokio::test]
async fn run_routes_need_their_scopes() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let done = trigger(&api, &agent, json!({ "input": "hi" }), 200).await;
    let done = str_of(&done, "run_id").to_owned();
    let read = s.api_with(Some(&s.key(&s.org_id, &["runs:read"], false).await));
    let write = s.api_with(Some(&s.key(&s.org_id, &["runs:write"], false).await));
    let agents_only = s.api_with(Some(
        &s.key(&s.org_id, &["agents:read", "agents:write"], false)
            .await,
    ));

    for who in [&read, &agents_only] {
        let p = trigger(who, &agent, json!({ "input": "hi" }), 403).await;
        assert_eq!(p["code"], "insufficient_scope", "{p}");
    }
    for who in [&write, &agents_only] {
        for path in [format!("/v1/runs/{done}"), "/v1/runs".to_string()] {
            let p = who.get(&path, 403).await;
            assert_eq!(p["code"], "insufficient_scope", "{path}: {p}");
        }
    }
    assert_eq!(
        list_ids(&api, "").await,
        vec![done.clone()],
        "refused triggers created nothing"
    );
    assert_eq!(get_run(&read, &done).await["status"], "completed");
    let p = read
        .send(
            read.request(Method::POST, &format!("/v1/runs/{done}/cancel")),
            403,
        )
        .await;
    assert_eq!(p["code"], "insufficient_scope", "{p}");

    // runs:write is the scope of triggering and cancelling runs (as agents:write is of
    // creating agents): the caller gets the run back, with no runs:read needed.
    let body = trigger(&write, &agent, json!({ "input": "written" }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], "written");
    let slow_agent = self::agent(&api, "mock/echo", slow(200)).await;
    let running = trigger(
        &api,
        &slow_agent,
        json!({ "input": words(10), "mode": "async" }),
        202,
    )
    .await;
    let running = str_of(&running, "run_id");
    let cancelled = write
        .send(
            write.request(Method::POST, &format!("/v1/runs/{running}/cancel")),
            200,
        )
        .await;
    assert_eq!(cancelled["id"], running, "{cancelled}");
    assert_eq!(wait_end(&api, running).await["status"], "cancelled");

    // Following events is reading the run.
    for who in [&write, &agents_only] {
        let p = who.send(events_req(who, &done), 403).await;
        assert_eq!(p["code"], "insufficient_scope", "{p}");
    }
}
