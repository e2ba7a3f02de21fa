//! Hardening, GraphQL cost (issue 7 §2): a document's cost is checked before it is
//! validated or executed, the same on every transport (GraphQL over HTTP POST and GET,
//! `graphql-transport-ws`, the legacy `graphql-ws`, graphql-sse); a fragment bomb is
//! refused at once and does not stall `/healthz`; aliases, root fields and nested pages
//! are capped; a response over the size cap is refused with `response_too_large`
//! instead of being sent, over GraphQL and REST, and per subscription event.

use crate::common::*;
use futures::{SinkExt, StreamExt};
use reqwest::header::ACCEPT;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// How long a refusal may take; before the cost check, validating a 25-level fragment
/// bomb alone took 1.1 s in a release build.
const REFUSED_WITHIN: Duration = Duration::from_secs(1);

/// A document of about 1.3 KB whose fragments each spread the next one twice: it
/// expands to 2^30 fields.
fn fragment_bomb() -> String {
    const LEVELS: usize = 30;
    let mut q = String::from("query Bomb { ...F0 }\n");
    for i in 0..LEVELS {
        q += &format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1);
    }
    q + &format!("fragment F{LEVELS} on Query {{ viewer {{ testMode }} }}\n")
}

/// `n` aliases of `agent(id) { instructions }`.
fn alias_flood(agent_id: &str, n: usize) -> String {
    let fields: String = (0..n)
        .map(|i| format!("a{i}: agent(id: \"{agent_id}\") {{ instructions }} "))
        .collect();
    format!("{{ {fields} }}")
}

/// Every version of every agent, a hundred at a time: 100 × 100 items.
const NESTED_PAGES: &str = "query($a: Int, $v: Int) { agents(first: $a) { nodes { id \
     versions(first: $v) { nodes { id instructions } } } } }";

/// The transports a GraphQL operation can come in on.
#[derive(Clone, Copy, Debug)]
enum Transport {
    Post,
    Get,
    GraphqlTransportWs,
    LegacyWs,
    Sse,
}

const TRANSPORTS: [Transport; 5] = [
    Transport::Post,
    Transport::Get,
    Transport::GraphqlTransportWs,
    Transport::LegacyWs,
    Transport::Sse,
];

/// Sends one operation and returns its (first) result, `{"data", "errors"}`-shaped.
async fn first_result(s: &TestServer, t: Transport, query: &str, variables: Value) -> Value {
    let api = s.api();
    match t {
        Transport::Post => {
            let req = api
                .request(Method::POST, "/graphql")
                .json(&json!({ "query": query, "variables": variables }));
            json_body(req).await
        }
        Transport::Get => {
            let req = api
                .request(Method::GET, "/graphql")
                .query(&[("query", query), ("variables", &variables.to_string())]);
            json_body(req).await
        }
        Transport::Sse => {
            let req = api
                .request(Method::POST, "/graphql/stream")
                .header(ACCEPT, "text/event-stream")
                .json(&json!({ "query": query, "variables": variables }));
            let body = req.send().await.expect("sent").text().await.expect("body");
            sse_next_events(&body)
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("no next event in {body}"))
        }
        Transport::GraphqlTransportWs => {
            let mut ws = connect(s, "graphql-transport-ws").await;
            let payload = json!({ "query": query, "variables": variables });
            send(
                &mut ws,
                json!({ "id": "1", "type": "subscribe", "payload": payload }),
            )
            .await;
            let msg = recv(&mut ws).await;
            match msg["type"].as_str() {
                Some("error") => json!({ "errors": msg["payload"] }),
                Some("next") => msg["payload"].clone(),
                _ => panic!("expected next or error: {msg}"),
            }
        }
        Transport::LegacyWs => {
            let mut ws = connect(s, "graphql-ws").await;
            let payload = json!({ "query": query, "variables": variables });
            send(
                &mut ws,
                json!({ "id": "1", "type": "start", "payload": payload }),
            )
            .await;
            loop {
                let msg = recv(&mut ws).await;
                match msg["type"].as_str() {
                    Some("ka") => continue,
                    Some("data") => return msg["payload"].clone(),
                    Some("error") => return json!({ "errors": [msg["payload"]] }),
                    _ => panic!("expected data or error: {msg}"),
                }
            }
        }
    }
}

async fn json_body(req: reqwest::RequestBuilder) -> Value {
    let text = req.send().await.expect("sent").text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// The `data` of each `next` event of a whole graphql-sse body, as JSON.
fn sse_next_events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|block| block.lines().any(|l| l.trim() == "event: next"))
        .map(|block| {
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            serde_json::from_str(&data).unwrap_or_else(|_| panic!("next data not JSON: {data}"))
        })
        .collect()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A GraphQL WebSocket speaking `protocol`, initialised with the admin key.
async fn connect(s: &TestServer, protocol: &'static str) -> Ws {
    let url = format!("{}/graphql/ws", s.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().expect("ws request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket upgrade");
    let auth = json!({ "authorization": format!("Bearer {}", s.admin_key) });
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": auth }),
    )
    .await;
    let ack = recv(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{protocol}: {ack}");
    ws
}

async fn send(ws: &mut Ws, msg: Value) {
    ws.send(Message::text(msg.to_string()))
        .await
        .expect("WebSocket send");
}

/// The next text message as JSON (10 s at most).
async fn recv(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).expect("JSON message")
            }
            Some(Ok(Message::Close(frame))) => panic!("socket closed: {frame:?}"),
            Some(Ok(_)) => {}
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// `errors[0].extensions.code` and `errors[0].message` of a result with no data.
fn refusal(result: &Value) -> (&str, &str) {
    assert!(
        result.get("data").is_none_or(Value::is_null),
        "a refused operation has no data: {result}"
    );
    let err = &result["errors"][0];
    let code = err["extensions"]["code"].as_str();
    let message = err["message"].as_str();
    (
        code.unwrap_or_else(|| panic!("no extensions.code: {result}")),
        message.unwrap_or_else(|| panic!("no message: {result}")),
    )
}

/// Creates an agent with `size` characters of instructions; returns its id.
async fn big_agent(api: &Api, size: usize) -> String {
    let agent = api
        .post(
            "/v1/agents",
            json!({ "name": "big", "model": "mock/echo", "instructions": "x".repeat(size) }),
            201,
        )
        .await;
    agent["id"].as_str().expect("agent id").to_owned()
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_at_once_on_every_transport() {
    let s = TestServer::start().await;
    let bomb = fragment_bomb();
    for t in TRANSPORTS {
        let started = Instant::now();
        let result = first_result(&s, t, &bomb, json!({})).await;
        let took = started.elapsed();
        let (code, message) = refusal(&result);
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{t:?}: {result}");
        assert!(message.contains("expands to"), "{t:?}: {message}");
        assert!(took < REFUSED_WITHIN, "{t:?}: refused after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_within_100ms_while_fragment_bombs_are_sent() {
    let s = TestServer::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut attackers = Vec::new();
    for _ in 0..2 {
        let (api, stop, refused) = (s.api(), stop.clone(), refused.clone());
        attackers.push(tokio::spawn(async move {
            let body = json!({ "query": fragment_bomb() });
            while !stop.load(Ordering::Relaxed) {
                let req = api.request(Method::POST, "/graphql").json(&body);
                let result = json_body(req).await;
                assert_eq!(refusal(&result).0, "QUERY_TOO_COMPLEX", "{result}");
                refused.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while refused.load(Ordering::Relaxed) < 2 {
        assert!(Instant::now() < deadline, "the attack never got answers");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let health = healthz_latencies(&s, 40).await;
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.await.expect("attacker task");
    }
    health.assert_responsive();
    assert!(
        refused.load(Ordering::Relaxed) >= 10,
        "the attack kept running while /healthz was polled"
    );
}

#[tokio::test]
async fn an_alias_flood_is_refused_before_anything_runs() {
    let s = TestServer::start().await;
    let agent = big_agent(&s.api(), 100_000).await;
    for t in TRANSPORTS {
        // A thousand aliases do not fit in a URL; 150 are over the cap as well.
        let n = if matches!(t, Transport::Get) {
            150
        } else {
            1000
        };
        let started = Instant::now();
        let result = first_result(&s, t, &alias_flood(&agent, n), json!({})).await;
        let (code, message) = refusal(&result);
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{t:?}: {message}");
        assert!(
            message.contains(&format!("{n} aliases")),
            "{t:?}: {message}"
        );
        assert!(started.elapsed() < REFUSED_WITHIN, "{t:?}");
    }
}

#[tokio::test]
async fn more_root_fields_than_the_cap_are_refused_and_the_cap_itself_passes() {
    let s = TestServer::start().await;
    let roots = |n: usize| -> String {
        let fields: String = (0..n)
            .map(|i| format!("r{i}: viewer {{ testMode }} "))
            .collect();
        format!("{{ {fields} }}")
    };
    for t in TRANSPORTS {
        let result = first_result(&s, t, &roots(51), json!({})).await;
        let (code, message) = refusal(&result);
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{t:?}: {message}");
        assert!(message.contains("51 root fields"), "{t:?}: {message}");
    }
    let ok = s.api().gql(&roots(50), json!({})).await;
    assert!(ok.get("errors").is_none(), "{ok}");
    assert_eq!(ok["data"]["r49"]["testMode"], false);
}

#[tokio::test]
async fn nested_pages_cost_first_times_their_items() {
    let s = TestServer::start().await;
    let api = s.api();
    api.create_agent("one").await;
    // 100 agents × 100 versions is refused whatever brings the page sizes...
    for (t, vars) in [
        (Transport::Post, json!({ "a": 100, "v": 100 })),
        (Transport::GraphqlTransportWs, json!({ "a": 100, "v": 100 })),
        (Transport::Sse, json!({ "a": 100, "v": 100 })),
    ] {
        let result = first_result(&s, t, NESTED_PAGES, vars).await;
        let (code, message) = refusal(&result);
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{t:?}: {message}");
        assert!(message.contains("costs"), "{t:?}: {message}");
    }
    let literal = "{ agents(first: 100) { nodes { versions(first: 100) { nodes { id } } } } }";
    let result = api.gql(literal, json!({})).await;
    assert_eq!(refusal(&result).0, "QUERY_TOO_COMPLEX", "{result}");
    // ... while a page of agents with a few versions each, or the default pages, pass.
    for vars in [json!({ "a": 100, "v": 5 }), json!({})] {
        let ok = api.gql(NESTED_PAGES, vars.clone()).await;
        assert!(ok.get("errors").is_none(), "{vars}: {ok}");
        assert_eq!(
            ok["data"]["agents"]["nodes"].as_array().map(Vec::len),
            Some(1)
        );
    }
}

#[tokio::test]
async fn a_response_over_the_size_cap_is_refused_with_response_too_large() {
    let s = TestServer::start().await;
    let api = s.api();
    let agent = big_agent(&api, 100_000).await;
    // Each alias carries the instructions four times (the agent and three versions).
    for i in 0..2 {
        let body = json!({ "description": format!("change {i}") });
        api.patch(&format!("/v1/agents/{agent}"), body, 200).await;
    }
    let query = |n: usize| -> String {
        let fields: String = (0..n)
            .map(|i| {
                format!(
                    "a{i}: agent(id: \"{agent}\") {{ instructions versions {{ nodes {{ instructions }} }} }} "
                )
            })
            .collect();
        format!("{{ {fields} }}")
    };
    // 30 × 400 KB: 12 MB against the default cap of 8 MiB.
    for t in [
        Transport::Post,
        Transport::GraphqlTransportWs,
        Transport::Sse,
    ] {
        let started = Instant::now();
        let result = first_result(&s, t, &query(30), json!({})).await;
        let (code, message) = refusal(&result);
        assert_eq!(code, "RESPONSE_TOO_LARGE", "{t:?}: {message}");
        assert!(message.contains("8388608 bytes"), "{t:?}: {message}");
        assert!(
            result.to_string().len() < 2_000,
            "{t:?}: only the error is sent"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{t:?}");
    }
    // Under the cap, the same shape answers in full.
    let ok = api.gql(&query(5), json!({})).await;
    assert!(ok.get("errors").is_none(), "errors in a 2 MB answer");
    assert_eq!(
        ok["data"]["a4"]["versions"]["nodes"][2]["instructions"]
            .as_str()
            .map(str::len),
        Some(100_000)
    );
}

#[tokio::test]
async fn rest_refuses_a_response_over_the_size_cap_with_a_400_problem() {
    let s = TestServer::start_with(|c| c.graphql.max_response_bytes = 64 * 1024).await;
    let api = s.api();
    // Each agent fits under the cap; two of them in one list do not.
    let first = big_agent(&api, 40_000).await;
    big_agent(&api, 40_000).await;
    api.get(&format!("/v1/agents/{first}"), 200).await;
    let res = api
        .request(Method::GET, "/v1/agents?limit=10")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    let problem: Value = res.json().await.expect("problem+json");
    assert_eq!(problem["code"], "response_too_large", "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("65536 bytes"), "{problem}");
    // Fewer fields fit.
    let ids = api.get("/v1/agents?limit=10&fields=id,name", 200).await;
    assert_eq!(ids["data"].as_array().map(Vec::len), Some(2), "{ids}");
}

#[tokio::test]
async fn each_subscription_event_is_held_to_the_size_cap() {
    let s = TestServer::start_with(|c| c.graphql.max_response_bytes = 2048).await;
    let api = s.api();
    let agent = api.create_agent("echo").await;
    let agent = agent["id"].as_str().expect("id");
    // `mock/echo` answers with the input: the final event carries all of it.
    let input: String = (0..500).map(|i| format!("w{i} ")).collect();
    let run = api
        .post(
            &format!("/v1/agents/{agent}/run"),
            json!({ "input": input.trim_end(), "mode": "async" }),
            202,
        )
        .await;
    let query = "subscription($id: ID!) { runEvents(runId: $id) { seq type data } }";
    let req = api
        .request(Method::POST, "/graphql/stream")
        .header(ACCEPT, "text/event-stream")
        .json(&json!({ "query": query, "variables": { "id": run["run_id"] } }));
    let body = tokio::time::timeout(Duration::from_secs(30), async {
        req.send().await.expect("sent").text().await.expect("body")
    })
    .await
    .expect("the stream ends with the run");
    let events = sse_next_events(&body);
    let too_large: Vec<&Value> = events
        .iter()
        .filter(|e| e["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE")
        .collect();
    let delivered = events.iter().filter(|e| e["data"]["runEvents"].is_object());
    assert!(!too_large.is_empty(), "the big events are refused: {body}");
    assert!(
        delivered.count() >= 500,
        "the small events (tokens) still arrive: {body}"
    );
    let last = body.trim_end().rsplit("\n\n").next().unwrap_or_default();
    assert!(
        last.contains("event: complete"),
        "the stream completes: {last}"
    );
}
