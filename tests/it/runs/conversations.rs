//! Conversations: the multitask strategies (reject, enqueue, interrupt), earlier
//! turns, concurrent triggers, and the agent version a run uses.

use crate::common::calls::{list_run_ids as list_ids, trigger};
use crate::common::run_support::*;
use crate::common::*;
use reqwest::Method;
use serde_json::json;

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
