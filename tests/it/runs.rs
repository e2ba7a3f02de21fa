//! Runs (issue 3) end to end: triggering (sync, async, streamed), the trace, a real
//! OpenAI-format provider and HTTP tools on local servers, cancellation, timeouts,
//! conversation rules, lists, access and GraphQL.

use crate::common::*;
use crate::run_support::*;
use futures::StreamExt;
use orchstack::runtime::providers::ProviderConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Triggering
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn documented_example_answers_the_five_documented_fields_first() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let input = "Book a haircut for tomorrow at 3pm";
    let body = trigger(
        &api,
        &agent,
        json!({ "input": input, "channel": "whatsapp", "user_id": "usr_xyz789" }),
        200,
    )
    .await;
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert!(keys.len() >= 5, "{body}");
    assert_eq!(
        keys[..5],
        ["run_id", "status", "output", "tokens", "duration_ms"],
        "{body}"
    );
    let run_id = str_of(&body, "run_id");
    assert!(run_id.starts_with("run_"), "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], input, "echo answers the input: {body}");
    let tokens = body["tokens"].as_object().expect("tokens object");
    assert_eq!(
        tokens.keys().collect::<Vec<_>>(),
        ["input", "output"],
        "{body}"
    );
    assert!(body["tokens"]["input"].as_u64().unwrap() > 0, "{body}");
    assert!(body["tokens"]["output"].as_u64().unwrap() > 0, "{body}");
    assert!(body["duration_ms"].is_u64(), "{body}");
    // The fields that may follow.
    assert_eq!(body["error"], Value::Null, "{body}");
    assert_eq!(body["agent_id"], agent.as_str());
    assert_eq!(body["agent_version"], 1);
    assert_eq!(body["channel"], "whatsapp");
    assert_eq!(body["user_id"], "usr_xyz789");
    assert_eq!(body["session_id"], Value::Null);
    assert!(
        time(&body["completed_at"]) >= time(&body["created_at"]),
        "{body}"
    );

    // The stored run says the same.
    let run = get_run(&api, run_id).await;
    assert_eq!(run["id"], run_id);
    assert_eq!(run["status"], "completed");
    assert_eq!(run["input"], input);
    assert_eq!(run["output"], input);
    assert_eq!(run["tokens"], body["tokens"]);
    assert_eq!(run["channel"], "whatsapp");
    assert_eq!(run["user_id"], "usr_xyz789");
}

#[tokio::test]
async fn async_mode_answers_202_queued_and_the_run_completes_with_its_trace() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(
        &api,
        &agent,
        json!({ "input": "hello there", "mode": "async" }),
        202,
    )
    .await;
    assert_eq!(body["status"], "queued", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    let id = str_of(&body, "run_id");

    let run = wait_end(&api, id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"], "hello there");
    assert!(
        time(&run["started_at"]) >= time(&run["created_at"]),
        "{run}"
    );
    assert!(
        time(&run["completed_at"]) >= time(&run["started_at"]),
        "{run}"
    );
    let steps = run["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 1, "{run}");
    let step = &steps[0];
    assert!(str_of(step, "id").starts_with("stp_"), "{step}");
    assert_eq!(step["position"], 1);
    assert_eq!(step["type"], "llm");
    assert_eq!(step["name"], "mock/echo");
    assert_eq!(step["status"], "completed");
    assert_eq!(step["error"], Value::Null);
    assert_eq!(step["output"]["text"], "hello there", "{step}");
    assert!(step["tokens"]["input"].as_u64().unwrap() > 0, "{step}");
    assert!(step["tokens"]["output"].as_u64().unwrap() > 0, "{step}");
    assert!(step["duration_ms"].is_u64(), "{step}");
    assert_eq!(
        run["tokens"], step["tokens"],
        "one step: its tokens are the run's"
    );
}

#[tokio::test]
async fn sync_run_that_outlasts_the_wait_answers_202_running_and_completes_later() {
    let s = TestServer::start_with(|c| c.runs.wait_timeout_secs = 1).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(150)).await;
    let input = words(12); // ~1.65 s
    let t0 = Instant::now();
    let body = trigger(&api, &agent, json!({ "input": input }), 202).await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "answered after {waited:?}"
    );
    assert_eq!(body["status"], "running", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    let run = wait_end(&api, str_of(&body, "run_id")).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"], input.as_str());
}

// ---------------------------------------------------------------------------------------
// A real provider and real tools
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn openai_provider_output_is_assembled_from_streamed_chunks() {
    let fake =
        Recorder::start(|_| says(&["Booked! ", "Haircut with Sarah ", "at 3pm tomorrow."])).await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let agent = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions": "You book haircuts.", "model_settings": { "temperature": 0.2 } }),
    )
    .await;
    let input = "Book a haircut for tomorrow at 3pm";
    let body = trigger(&api, &agent, json!({ "input": input }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(
        body["output"],
        "Booked! Haircut with Sarah at 3pm tomorrow."
    );
    assert_eq!(
        body["tokens"],
        json!({ "input": 21, "output": 3 }),
        "the provider's usage"
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let (path, req) = &requests[0];
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(req["model"], "gpt-test", "{req}");
    assert_eq!(req["stream"], true, "{req}");
    assert_eq!(req["temperature"], 0.2, "{req}");
    assert_eq!(
        req["messages"],
        json!([
            { "role": "system", "content": "You book haircuts." },
            { "role": "user", "content": input },
        ]),
        "{req}"
    );
    assert!(req.get("tools").is_none(), "no tools offered: {req}");

    // The streamed pieces are the token events.
    let events = rest(&mut open(events_req(&api, str_of(&body, "run_id"))).await).await;
    let tokens: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "token")
        .map(|e| e.data["delta"].as_str().unwrap())
        .collect();
    assert_eq!(
        tokens,
        ["Booked! ", "Haircut with Sarah ", "at 3pm tomorrow."]
    );
}

#[tokio::test]
async fn tool_call_with_split_arguments_reaches_the_http_tool_and_its_result_the_model() {
    let tool =
        Recorder::start(|_| Reply::Json(200, json!({ "available": true, "stylist": "Sarah" })))
            .await;
    let fake = Recorder::start(|n| {
        if n == 0 {
            calls(&[(
                "call_abc",
                "check_slot",
                &["{\"day\": \"tomor", "row\", \"hour\"", ": 15}"],
            )])
        } else {
            says(&["Booked ", "with Sarah."])
        }
    })
    .await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let schema = json!({
        "type": "object",
        "properties": { "day": { "type": "string" }, "hour": { "type": "integer" } },
        "required": ["day", "hour"],
    });
    let agent = agent(
        &api,
        "fake/gpt-test",
        json!({ "tools": [{
            "type": "http", "name": "check_slot", "description": "Is a slot free?",
            "url": format!("{}/slots", tool.url), "parameters": schema,
        }]}),
    )
    .await;
    let body = trigger(
        &api,
        &agent,
        json!({ "input": "Book a haircut for tomorrow at 3pm" }),
        200,
    )
    .await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], "Booked with Sarah.", "{body}");

    // The tool got the assembled arguments as a JSON POST.
    assert_eq!(
        tool.requests(),
        [(
            "/slots".to_string(),
            json!({ "day": "tomorrow", "hour": 15 })
        )]
    );

    // The model was offered the tool, then shown its call and result.
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let offered = &bodies[0]["tools"][0];
    assert_eq!(offered["type"], "function", "{offered}");
    assert_eq!(offered["function"]["name"], "check_slot");
    assert_eq!(offered["function"]["parameters"], schema);
    let messages = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[1]["role"], "user");
    let assistant = &messages[2];
    assert_eq!(assistant["role"], "assistant", "{assistant}");
    let call = &assistant["tool_calls"][0];
    assert_eq!(call["id"], "call_abc", "{assistant}");
    assert_eq!(call["function"]["name"], "check_slot");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({ "day": "tomorrow", "hour": 15 }));
    let result = &messages[3];
    assert_eq!(result["role"], "tool", "{result}");
    assert_eq!(result["tool_call_id"], "call_abc");
    let content: Value = serde_json::from_str(result["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({ "available": true, "stylist": "Sarah" }));

    // The trace: model, tool, model.
    let id = str_of(&body, "run_id");
    let run = get_run(&api, id).await;
    let steps = run["steps"].as_array().expect("steps");
    let shape: Vec<(i64, &str, &str, &str)> = steps
        .iter()
        .map(|s| {
            (
                s["position"].as_i64().unwrap(),
                s["type"].as_str().unwrap(),
                s["name"].as_str().unwrap_or(""),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (1, "llm", "fake/gpt-test", "completed"),
            (2, "tool", "check_slot", "completed"),
            (3, "llm", "fake/gpt-test", "completed"),
        ],
        "{run}"
    );
    assert_eq!(steps[0]["output"]["tool_calls"][0]["name"], "check_slot");
    assert!(
        steps[1]["output"]["result"]
            .as_str()
            .is_some_and(|r| r.contains("Sarah")),
        "{}",
        steps[1]
    );

    // The events a client sees.
    let events = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(
        kinds(&events),
        [
            "run.created",
            "run.started",
            "step.started",
            "step.completed",
            "tool.call",
            "step.started",
            "tool.result",
            "step.completed",
            "step.started",
            "token",
            "token",
            "step.completed",
            "run.completed",
        ]
    );
    let call = events.iter().find(|e| e.kind == "tool.call").unwrap();
    assert_eq!(call.data["name"], "check_slot", "{:?}", call);
    assert_eq!(call.data["call_id"], "call_abc");
    let args: Value = serde_json::from_str(call.data["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({ "day": "tomorrow", "hour": 15 }));
    let result = events.iter().find(|e| e.kind == "tool.result").unwrap();
    assert_eq!(result.data["ok"], true, "{:?}", result);
    assert_eq!(result.data["call_id"], "call_abc");
}

#[tokio::test]
async fn failing_tools_become_failed_steps_the_model_sees_and_the_run_completes() {
    let slow_tool =
        Recorder::start(|_| Reply::After(1_500, Box::new(Reply::Json(200, json!({ "ok": true })))))
            .await;
    let broken_tool = Recorder::start(|_| Reply::Text("<html>oops</html>")).await;
    let fake = Recorder::start(|n| {
        if n == 0 {
            calls(&[
                ("call_1", "slow_lookup", &["{}"]),
                ("call_2", "broken_lookup", &["{", "}"]),
            ])
        } else {
            says(&["Sorry, ", "try later."])
        }
    })
    .await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let agent = agent(
        &api,
        "fake/gpt-test",
        json!({ "tools": [
            { "type": "http", "name": "slow_lookup", "url": slow_tool.url, "timeout_ms": 200 },
            { "type": "http", "name": "broken_lookup", "url": broken_tool.url },
        ]}),
    )
    .await;
    let t0 = Instant::now();
    let body = trigger(&api, &agent, json!({ "input": "Anything free?" }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], "Sorry, try later.");
    assert!(
        t0.elapsed() < Duration::from_millis(1_400),
        "the tool timeout was not applied: {:?}",
        t0.elapsed()
    );
    assert_eq!(slow_tool.hits(), 1);
    assert_eq!(broken_tool.hits(), 1);

    // The model saw both failures as tool results.
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 2);
    let results: Vec<&Value> = bodies[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    assert_eq!(results.len(), 2, "{}", bodies[1]);
    assert_eq!(results[0]["tool_call_id"], "call_1");
    let timed_out = results[0]["content"].as_str().unwrap();
    assert!(
        timed_out.starts_with("error:") && timed_out.contains("200 ms"),
        "{timed_out}"
    );
    assert_eq!(results[1]["tool_call_id"], "call_2");
    let not_json = results[1]["content"].as_str().unwrap();
    assert!(
        not_json.starts_with("error:") && not_json.contains("not JSON"),
        "{not_json}"
    );

    // The trace shows two failed tool steps.
    let run = get_run(&api, str_of(&body, "run_id")).await;
    let steps = run["steps"].as_array().unwrap();
    let shape: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s["type"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shape,
        [
            ("llm", "completed"),
            ("tool", "failed"),
            ("tool", "failed"),
            ("llm", "completed"),
        ],
        "{run}"
    );
    assert_eq!(steps[1]["error"]["code"], "tool_error", "{}", steps[1]);
    assert_eq!(steps[2]["error"]["code"], "tool_error", "{}", steps[2]);
    assert_eq!(run["error"], Value::Null);

    let events = rest(&mut open(events_req(&api, str_of(&body, "run_id"))).await).await;
    let oks: Vec<&Value> = events
        .iter()
        .filter(|e| e.kind == "tool.result")
        .map(|e| &e.data["ok"])
        .collect();
    assert_eq!(oks, [&json!(false), &json!(false)]);
}

#[tokio::test]
async fn provider_failing_with_500_fails_the_run_with_provider_error() {
    let fake = Recorder::start(|_| {
        Reply::Json(
            500,
            json!({ "error": { "message": "upstream exploded", "type": "server_error" } }),
        )
    })
    .await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let agent = agent(&api, "fake/gpt-test", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "hello" }), 200).await;
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    assert_eq!(body["error"]["code"], "provider_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("500"), "{message}");
    assert_eq!(fake.hits(), 2, "one try and max_retries = 1 retry");

    let id = str_of(&body, "run_id");
    let run = get_run(&api, id).await;
    assert_eq!(run["steps"][0]["status"], "failed", "{run}");
    assert_eq!(run["steps"][0]["error"]["code"], "provider_error");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.failed");
    assert_eq!(last.data["error"]["code"], "provider_error");
}

#[tokio::test]
async fn provider_rate_limit_once_is_retried_and_the_run_completes() {
    let fake = Recorder::start(|n| {
        if n == 0 {
            Reply::Json(
                429,
                json!({ "error": { "message": "Rate limit reached", "type": "requests" } }),
            )
        } else {
            says(&["Fine."])
        }
    })
    .await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let agent = agent(&api, "fake/gpt-test", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "hello" }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], "Fine.");
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn test_keys_run_on_the_mock_provider_whatever_the_agent_says() {
    let nowhere = unreachable_url().await;
    let s = TestServer::start_with(|c| {
        let provider = ProviderConfig {
            connect_timeout_ms: 500,
            max_retries: 0,
            ..ProviderConfig::new("openai", &nowhere)
        };
        c.providers.insert("fake".into(), provider);
    })
    .await;
    let api = s.api();
    let agent = agent(&api, "fake/gpt-test", json!({})).await;
    let test_key = s.key(&s.org_id, &["*"], true).await;
    assert!(test_key.starts_with("os_test_"), "{test_key}");
    let sandbox = s.api_with(Some(&test_key));
    let body = trigger(&sandbox, &agent, json!({ "input": "Book a haircut" }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["output"], "Book a haircut");
    assert!(body["tokens"]["output"].as_u64().unwrap() > 0, "{body}");

    // The same agent with a live key really calls its provider, which is not there.
    let body = trigger(&api, &agent, json!({ "input": "Book a haircut" }), 200).await;
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["error"]["code"], "provider_error", "{body}");
}

// ---------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn stream_true_or_accept_event_stream_answers_the_run_as_server_sent_events() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let input = "Book a haircut for tomorrow at 3pm";
    let path = format!("/v1/agents/{agent}/run");
    let by_body = api
        .request(Method::POST, &path)
        .json(&json!({ "input": input, "stream": true }));
    let by_header = api
        .request(Method::POST, &path)
        .header("accept", "text/event-stream")
        .json(&json!({ "input": input }));
    for req in [by_body, by_header] {
        let events = rest(&mut open(req).await).await;
        assert_eq!(kinds(&events), one_step(7), "{events:?}");
        let n = events.len() as i64;
        assert_eq!(ids(&events), (1..=n).collect::<Vec<_>>(), "{events:?}");
        assert_eq!(deltas(&events), input);
        let last = events.last().unwrap();
        assert_eq!(last.data["output"], input, "{last:?}");
        let run_id = str_of(&events[0].data, "run_id");
        let run = get_run(&api, run_id).await;
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["output"], input);
    }
}

#[tokio::test]
async fn events_of_a_finished_run_replay_in_full_and_end() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let input = "one two three";
    let body = trigger(&api, &agent, json!({ "input": input }), 200).await;
    let id = str_of(&body, "run_id");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(kinds(&events), one_step(3), "{events:?}");
    assert_eq!(ids(&events), (1..=8).collect::<Vec<_>>());
    assert_eq!(deltas(&events), input);
    assert_eq!(events[0].data["run_id"], id);

    // Resuming replays only what follows the given id.
    let after = rest(&mut open(events_req(&api, id).header("last-event-id", "3")).await).await;
    assert_eq!(ids(&after), (4..=8).collect::<Vec<_>>());
    assert_eq!(kinds(&after), kinds(&events)[3..]);
}

#[tokio::test]
async fn resuming_after_the_last_event_of_a_finished_run_ends_at_once() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "one two" }), 200).await;
    let id = str_of(&body, "run_id");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.completed");
    // A client that got the terminal event but lost the connection before it closed
    // reconnects with its id: nothing is left, and the stream must end.
    let mut resumed = open(events_req(&api, id).header("last-event-id", last.id.to_string())).await;
    let more = tokio::time::timeout(Duration::from_secs(3), resumed.next()).await;
    assert!(
        matches!(more, Ok(None)),
        "the stream of a finished run resumed after its last event should end at once; got {:?}",
        more.map(|e| e.map(|e| e.kind))
            .map_err(|_| "still open after 3 s")
    );
}

#[tokio::test]
async fn reconnecting_with_last_event_id_misses_and_repeats_nothing() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(50)).await;
    let input = words(16); // ~0.8 s
    let body = trigger(
        &api,
        &agent,
        json!({ "input": input, "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");

    let mut first = open(events_req(&api, id)).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(next(&mut first).await.expect("an event"));
    }
    drop(first);
    let last = seen.last().unwrap().id;
    // Events happen while the client is away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resumed =
        rest(&mut open(events_req(&api, id).header("last-event-id", last.to_string())).await).await;
    assert_eq!(resumed.first().map(|e| e.id), Some(last + 1), "{resumed:?}");
    seen.extend(resumed);

    assert_eq!(kinds(&seen), one_step(16), "{seen:?}");
    let n = seen.len() as i64;
    assert_eq!(
        ids(&seen),
        (1..=n).collect::<Vec<_>>(),
        "each event exactly once, in order"
    );
    assert_eq!(deltas(&seen), input);
    assert_eq!(seen.last().unwrap().data["output"], input.as_str());
}

// ---------------------------------------------------------------------------------------
// Cancellation and timeouts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cancelling_a_running_run_stops_it_and_its_stream_ends_with_run_cancelled() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    let body = trigger(
        &api,
        &agent,
        json!({ "input": words(30), "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");
    let mut stream = open(events_req(&api, id)).await;
    let mut events = Vec::new();
    while events.last().is_none_or(|e: &Ev| e.kind != "token") {
        events.push(
            next(&mut stream)
                .await
                .expect("events up to the first token"),
        );
    }
    let t0 = Instant::now();
    let cancelled = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
            200,
        )
        .await;
    assert_eq!(cancelled["id"], id, "{cancelled}");
    assert!(
        ["running", "cancelled"].contains(&cancelled["status"].as_str().unwrap()),
        "{cancelled}"
    );
    events.extend(rest(&mut stream).await);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "the stream went on for {:?} after the cancel",
        t0.elapsed()
    );
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.cancelled", "{events:?}");
    let tokens = events.iter().filter(|e| e.kind == "token").count();
    assert!(tokens < 30, "the run was not stopped: {tokens} tokens");

    let run = wait_end(&api, id).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    assert_eq!(run["output"], Value::Null);
    assert!(run["completed_at"].is_string(), "{run}");
    assert_eq!(run["steps"][0]["status"], "cancelled", "{run}");

    // Nothing was logged after run.cancelled.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let replay = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(ids(&replay), ids(&events), "{replay:?}");
    assert_eq!(replay.last().unwrap().kind, "run.cancelled");
}

#[tokio::test]
async fn cancelling_a_finished_run_is_a_conflict() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let body = trigger(&api, &agent, json!({ "input": "done" }), 200).await;
    let id = str_of(&body, "run_id");
    let problem = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
            409,
        )
        .await;
    assert_eq!(problem["code"], "conflict", "{problem}");
    assert_eq!(get_run(&api, id).await["status"], "completed");

    let res = api
        .gql(
            "mutation($id: ID!) { cancelRun(id: $id) { id status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "CONFLICT", "{res}");
}

#[tokio::test]
async fn cancelling_a_queued_run_ends_it_at_once_and_cancel_run_works_in_graphql() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    let convo = json!({ "user_id": "usr_1", "channel": "web", "mode": "async" });
    let mut first = convo.clone();
    first["input"] = json!(words(10));
    let a = trigger(&api, &agent, first, 202).await;
    let a_id = str_of(&a, "run_id").to_owned();
    wait_until(&api, &a_id, "running", |r| r["status"] == "running").await;
    let mut second = convo.clone();
    second["input"] = json!("second");
    second["multitask"] = json!("enqueue");
    let b = trigger(&api, &agent, second, 202).await;
    let b_id = str_of(&b, "run_id");
    assert_eq!(b["status"], "queued");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        get_run(&api, b_id).await["status"],
        "queued",
        "waits behind the first"
    );

    let cancelled = api
        .send(
            api.request(Method::POST, &format!("/v1/runs/{b_id}/cancel")),
            200,
        )
        .await;
    assert_eq!(
        cancelled["status"], "cancelled",
        "a queued run ends at once: {cancelled}"
    );
    assert!(cancelled["completed_at"].is_string(), "{cancelled}");
    let events = rest(&mut open(events_req(&api, b_id)).await).await;
    assert_eq!(kinds(&events), ["run.created", "run.cancelled"]);

    // The running one, through GraphQL.
    let res = api
        .gql(
            "mutation($id: ID!) { cancelRun(id: $id) { id status } }",
            json!({ "id": a_id }),
        )
        .await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    assert_eq!(res["data"]["cancelRun"]["id"], a_id.as_str());
    let a = wait_end(&api, &a_id).await;
    assert_eq!(a["status"], "cancelled", "{a}");

    // The queued one never ran.
    let b = get_run(&api, b_id).await;
    assert_eq!(b["status"], "cancelled", "{b}");
    assert_eq!(b["started_at"], Value::Null, "{b}");
    assert_eq!(b["steps"], json!([]), "{b}");
}

#[tokio::test]
async fn a_run_over_the_time_limit_fails_with_timeout() {
    let s = TestServer::start_with(|c| c.runs.timeout_secs = 1).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(1_000)).await;
    let t0 = Instant::now();
    // ~9 s of tokens, cut at 1 s.
    let body = trigger(&api, &agent, json!({ "input": words(10) }), 200).await;
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "the run was not cut at 1 s: {:?}",
        t0.elapsed()
    );
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["output"], Value::Null, "{body}");
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    let id = str_of(&body, "run_id");
    let run = get_run(&api, id).await;
    assert_eq!(run["steps"][0]["status"], "failed", "{run}");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    let last = events.last().unwrap();
    assert_eq!(last.kind, "run.failed", "{events:?}");
    assert_eq!(last.data["error"]["code"], "timeout");
}

// ---------------------------------------------------------------------------------------
// Conversations
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn multitask_reject_refuses_a_second_run_in_a_busy_conversation() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    let a = trigger(
        &api,
        &agent,
        json!({ "input": words(10), "user_id": "usr_1", "channel": "whatsapp", "mode": "async" }),
        202,
    )
    .await;
    let a_id = str_of(&a, "run_id");
    wait_until(&api, a_id, "running", |r| r["status"] == "running").await;
    let problem = trigger(
        &api,
        &agent,
        json!({ "input": "again", "user_id": "usr_1", "channel": "whatsapp", "multitask": "reject" }),
        409,
    )
    .await;
    assert_eq!(problem["code"], "conflict", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(a_id),
        "names the busy run: {problem}"
    );
    // Another user, or another channel, is another conversation.
    for other in [
        json!({ "input": "hi", "user_id": "usr_2", "channel": "whatsapp", "multitask": "reject", "mode": "async" }),
        json!({ "input": "hi", "user_id": "usr_1", "channel": "web", "multitask": "reject", "mode": "async" }),
    ] {
        trigger(&api, &agent, other, 202).await;
    }
    // The busy run was not touched.
    assert_eq!(get_run(&api, a_id).await["status"], "running");
    let list = api
        .get("/v1/runs?user_id=usr_1&channel=whatsapp", 200)
        .await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "nothing was created: {list}"
    );
}

#[tokio::test]
async fn multitask_enqueue_runs_the_second_after_the_first() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(50)).await;
    let a = trigger(
        &api,
        &agent,
        json!({ "input": words(8), "user_id": "usr_1", "channel": "web", "mode": "async" }),
        202,
    )
    .await;
    let b = trigger(
        &api,
        &agent,
        json!({ "input": "second", "user_id": "usr_1", "channel": "web", "mode": "async", "multitask": "enqueue" }),
        202,
    )
    .await;
    assert_eq!(b["status"], "queued");
    let a = wait_end(&api, str_of(&a, "run_id")).await;
    let b = wait_end(&api, str_of(&b, "run_id")).await;
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(b["status"], "completed", "{b}");
    assert_eq!(b["output"], "second");
    assert!(
        time(&b["started_at"]) >= time(&a["completed_at"]),
        "the second started before the first ended: {a} {b}"
    );
}

#[tokio::test]
async fn multitask_interrupt_cancels_the_running_run_and_runs_the_new_one() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(200)).await;
    let a = trigger(
        &api,
        &agent,
        json!({ "input": words(20), "user_id": "usr_1", "channel": "web", "mode": "async" }),
        202,
    )
    .await;
    let a_id = str_of(&a, "run_id");
    wait_until(&api, a_id, "running", |r| r["status"] == "running").await;
    let b = trigger(
        &api,
        &agent,
        json!({ "input": "urgent", "user_id": "usr_1", "channel": "web", "mode": "async", "multitask": "interrupt" }),
        202,
    )
    .await;
    let a = wait_end(&api, a_id).await;
    let b = wait_end(&api, str_of(&b, "run_id")).await;
    assert_eq!(a["status"], "cancelled", "{a}");
    assert_eq!(b["status"], "completed", "{b}");
    assert_eq!(b["output"], "urgent");
    assert!(
        time(&b["started_at"]) >= time(&a["completed_at"]),
        "{a} {b}"
    );
}

#[tokio::test]
async fn later_runs_of_a_conversation_get_its_earlier_turns() {
    let answers = [
        "First answer.",
        "Second answer.",
        "Third.",
        "Fourth.",
        "Fifth.",
    ];
    let fake = Recorder::start(move |n| says(&[answers[n.min(4)]])).await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let agent = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions": "Be brief." }),
    )
    .await;
    let runs = [
        json!({ "input": "I need a haircut", "user_id": "usr_1", "channel": "whatsapp" }),
        json!({ "input": "Tomorrow at 3pm", "user_id": "usr_1", "channel": "whatsapp" }),
        json!({ "input": "Hello", "user_id": "usr_1", "channel": "web" }),
        json!({ "input": "A", "session_id": "sess_1" }),
        json!({ "input": "B", "session_id": "sess_1", "user_id": "usr_9", "channel": "sms" }),
    ];
    for body in runs {
        let run = trigger(&api, &agent, body, 200).await;
        assert_eq!(run["status"], "completed", "{run}");
    }
    let bodies = fake.bodies();
    let system = json!({ "role": "system", "content": "Be brief." });
    assert_eq!(
        bodies[1]["messages"],
        json!([
            system,
            { "role": "user", "content": "I need a haircut" },
            { "role": "assistant", "content": "First answer." },
            { "role": "user", "content": "Tomorrow at 3pm" },
        ])
    );
    // Another channel is another conversation.
    assert_eq!(
        bodies[2]["messages"],
        json!([system, { "role": "user", "content": "Hello" }])
    );
    // An explicit session_id joins runs whatever the user and channel.
    assert_eq!(
        bodies[4]["messages"],
        json!([
            system,
            { "role": "user", "content": "A" },
            { "role": "assistant", "content": "Fourth." },
            { "role": "user", "content": "B" },
        ])
    );
}

#[tokio::test]
async fn concurrent_reject_triggers_let_exactly_one_run_in() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", slow(100)).await;
    let path = format!("/v1/agents/{agent}/run");
    let sends = (0..8).map(|i| {
        api.request(Method::POST, &path)
            .json(&json!({
                "input": format!("{} {i}", words(5)), "user_id": "usr_1", "channel": "web",
                "multitask": "reject", "mode": "async",
            }))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("sent").status().as_u16())
        .collect();
    let accepted = statuses.iter().filter(|&&st| st == 202).count();
    let refused = statuses.iter().filter(|&&st| st == 409).count();
    assert_eq!(
        (accepted, refused),
        (1, 7),
        "one conversation, `reject`: one run in, the others refused: {statuses:?}"
    );
    assert_eq!(list_ids(&api, "").await.len(), 1);
}

#[tokio::test]
async fn a_run_uses_the_agent_version_current_when_it_was_triggered() {
    let fake = Recorder::start(|n| {
        let answer = says(&["ok"]);
        if n == 0 {
            Reply::After(600, Box::new(answer))
        } else {
            answer
        }
    })
    .await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let agent = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions": "Version one. Channel {{ channel }}, plan {{ metadata.plan }}." }),
    )
    .await;
    let convo = json!({ "user_id": "usr_1", "channel": "web", "mode": "async", "metadata": { "plan": "gold" } });
    let mut first = convo.clone();
    first["input"] = json!("first");
    let a = trigger(&api, &agent, first, 202).await;
    let mut second = convo.clone();
    second["input"] = json!("second");
    let b = trigger(&api, &agent, second, 202).await;
    // The agent changes while the second run waits in the queue.
    let patched = api
        .patch(
            &format!("/v1/agents/{agent}"),
            json!({ "instructions": "Version two." }),
            200,
        )
        .await;
    assert_eq!(patched["version"], 2);
    let c = trigger(&api, &agent, json!({ "input": "third" }), 200).await;
    let a = wait_end(&api, str_of(&a, "run_id")).await;
    let b = wait_end(&api, str_of(&b, "run_id")).await;
    for run in [&a, &b] {
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["agent_version"], 1, "{run}");
    }
    assert_eq!(c["agent_version"], 2, "{c}");
    // What each run's model call was instructed with, by the run's input.
    let mut systems: Vec<(String, String)> = fake
        .bodies()
        .iter()
        .map(|b| {
            let messages = b["messages"].as_array().expect("messages");
            let last = messages.last().expect("a message");
            (
                last["content"].as_str().unwrap().to_owned(),
                messages[0]["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    systems.sort();
    let v1 = "Version one. Channel web, plan gold.".to_string();
    assert_eq!(
        systems,
        [
            ("first".to_string(), v1.clone()),
            ("second".to_string(), v1),
            ("third".to_string(), "Version two.".to_string()),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Lists, validation and access
// ---------------------------------------------------------------------------------------

async fn list_ids(api: &Api, query: &str) -> Vec<String> {
    let list = api.get(&format!("/v1/runs{query}"), 200).await;
    assert_eq!(list["object"], "list", "{list}");
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {list}"))
        .iter()
        .map(|r| str_of(r, "id").to_owned())
        .collect()
}

#[tokio::test]
async fn run_lists_filter_sort_and_page() {
    let nowhere = unreachable_url().await;
    let s = TestServer::start_with(|c| {
        let provider = ProviderConfig {
            connect_timeout_ms: 500,
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

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
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

// ---------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn graphql_run_agent_returns_the_run_with_its_agent_and_steps() {
    let s = TestServer::start_with(|_| {}).await;
    let api = s.api();
    let agent = agent(&api, "mock/echo", json!({})).await;
    let run_agent = "mutation($agent: ID!, $input: RunAgentInput!) {
        runAgent(agentId: $agent, input: $input) {
            id status output channel userId tokens { input output }
            agent { id name }
            steps { position type name status tokens { input output } }
        }
    }";
    let res = api
        .gql(
            run_agent,
            json!({ "agent": agent, "input": {
                "input": "Hello from GraphQL", "channel": "web", "userId": "usr_9", "mode": "SYNC",
            }}),
        )
        .await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    let run = &res["data"]["runAgent"];
    assert!(str_of(run, "id").starts_with("run_"), "{run}");
    assert_eq!(run["status"], "COMPLETED", "{run}");
    assert_eq!(run["output"], "Hello from GraphQL");
    assert_eq!(run["channel"], "web");
    assert_eq!(run["userId"], "usr_9");
    assert!(run["tokens"]["output"].as_i64().unwrap() > 0, "{run}");
    assert_eq!(run["agent"], json!({ "id": agent, "name": "Booker" }));
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{run}");
    assert_eq!(steps[0]["type"], "LLM");
    assert_eq!(steps[0]["status"], "COMPLETED");
    assert_eq!(steps[0]["name"], "mock/echo");
    assert!(steps[0]["tokens"]["input"].as_i64().unwrap() > 0, "{run}");
    let sync_id = str_of(run, "id").to_owned();

    let res = api
        .gql(
            run_agent,
            json!({ "agent": agent, "input": { "input": "later", "mode": "ASYNC" } }),
        )
        .await;
    assert_eq!(res["data"]["runAgent"]["status"], "QUEUED", "{res}");
    let async_id = str_of(&res["data"]["runAgent"], "id").to_owned();
    wait_end(&api, &async_id).await;

    let res = api
        .gql(
            "{ runs(first: 50) { nodes { id status agent { name } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    assert_eq!(
        res["data"]["runs"]["nodes"],
        json!([
            { "id": async_id, "status": "COMPLETED", "agent": { "name": "Booker" } },
            { "id": sync_id, "status": "COMPLETED", "agent": { "name": "Booker" } },
        ])
    );
    assert_eq!(res["data"]["runs"]["pageInfo"]["hasNextPage"], false);

    let res = api
        .gql(
            "query($id: ID!) { run(id: $id) { id input steps { type } } }",
            json!({ "id": sync_id }),
        )
        .await;
    assert_eq!(
        res["data"]["run"],
        json!({ "id": sync_id, "input": "Hello from GraphQL", "steps": [{ "type": "LLM" }] }),
        "{res}"
    );

    let res = api
        .gql(
            run_agent,
            json!({ "agent": agent, "input": { "input": "" } }),
        )
        .await;
    assert_eq!(
        res["errors"][0]["extensions"]["code"], "VALIDATION_FAILED",
        "{res}"
    );
}

// ---------------------------------------------------------------------------------------
// Two instances on one PostgreSQL database, no Redis
// ---------------------------------------------------------------------------------------

/// Instance A serves the API with no worker; instance B, on the same database, executes
/// the runs; there is no Redis (`scale_out.rs` covers the pair with Redis). A client of A
/// must still see its runs end, and a cancel sent to A must stop the run on B.
#[tokio::test]
#[ignore = "needs DATABASE_URL=postgres://... (CI runs it with --include-ignored)"]
async fn without_redis_a_run_executed_by_another_instance_is_followed_and_cancellable() {
    let url = std::env::var("DATABASE_URL").unwrap_or_default();
    assert!(
        url.starts_with("postgres"),
        "needs DATABASE_URL=postgres://..."
    );
    let b = TestServer::start_with(|c| {
        c.redis_url = None;
        c.worker.poll_interval_ms = 50;
    })
    .await;
    let schema = b.state.config.database_schema.clone();
    let a = TestServer::start_with(move |c| {
        c.database_schema = schema; // B's database
        c.redis_url = None;
        c.worker.enabled = false;
        c.runs.wait_timeout_secs = 4;
    })
    .await;
    let api = a.api_with(Some(&b.admin_key));
    let quick = agent(&api, "mock/echo", slow(20)).await;

    // A synchronous run answers once the run ends (the reader polls the log), not when
    // the wait runs out.
    let t0 = Instant::now();
    let body = trigger(&api, &quick, json!({ "input": words(5) }), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert!(
        t0.elapsed() < Duration::from_millis(2_500),
        "the sync answer waited {:?} for a run that took ~0.2 s",
        t0.elapsed()
    );

    // The event stream follows the run and ends with it.
    let body = trigger(
        &api,
        &quick,
        json!({ "input": words(5), "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");
    let events = rest(&mut open(events_req(&api, id)).await).await;
    assert_eq!(kinds(&events), one_step(5), "{events:?}");

    // A cancel sent to A stops the run B executes.
    let slow_agent = agent(&api, "mock/echo", slow(200)).await;
    let body = trigger(
        &api,
        &slow_agent,
        json!({ "input": words(20), "mode": "async" }),
        202,
    )
    .await;
    let id = str_of(&body, "run_id");
    wait_until(&api, id, "running", |r| r["status"] == "running").await;
    api.send(
        api.request(Method::POST, &format!("/v1/runs/{id}/cancel")),
        200,
    )
    .await;
    let run = wait_until(&api, id, "ended", |r| r["status"] != "running").await;
    assert_eq!(run["status"], "cancelled", "{run}");
}
