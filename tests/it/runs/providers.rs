//! A real OpenAI-format provider and real HTTP tools on local servers: streamed
//! chunks, split tool-call arguments, failing tools, provider errors and retries.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use orchstack::runtime::providers::ProviderConfig;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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
            connect_timeout: Duration::from_millis(500),
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
