//! Issue 7 §3: agent instructions render off the async workers with fuel, an output cap
//! and a deadline, and a template that does not compile is refused when saved. A template
//! with logic renders in a child process with a memory limit, so building a huge string
//! ends that render, not the server.

use crate::common::calls::trigger;
use crate::common::run_support::*;
use crate::common::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Triggers a run of an agent with these instructions and returns its failed body.
async fn failed_run(api: &Api, instructions: &str) -> Value {
    let agent = agent(api, "mock/echo", json!({ "instructions": instructions })).await;
    let body = trigger(api, &agent, json!({ "input": "hi" }), 200).await;
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["error"]["code"], "template_error", "{body}");
    body
}

/// The largest memory the process has held, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn nested_range_loops_run_out_of_fuel_while_healthz_answers_quickly() {
    let s = TestServer::start().await;
    let api = s.api();
    let nested =
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}";
    let attack = futures::future::join_all((0..4).map(|_| failed_run(&api, nested)));
    let (bodies, health) = healthz_during(&s.base, attack).await;
    for body in bodies {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("ran out of fuel") || message.contains("renders to more than"),
            "{body}"
        );
    }
    health.assert_responsive();
}

#[tokio::test]
async fn loops_that_only_compute_run_out_of_fuel() {
    let s = TestServer::start().await;
    let body = failed_run(
        &s.api(),
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("ran out of fuel"), "{body}");
}

#[tokio::test]
async fn huge_string_multiplication_in_a_loop_is_cut_at_the_output_cap() {
    let s = TestServer::start().await;
    let api = s.api();
    let attack = failed_run(
        &api,
        r#"{% for i in range(300) %}{{ "x" * 50000000 }}{% endfor %}"#,
    );
    let (body, health) = healthz_during(&s.base, attack).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("renders to more than 262144 bytes"),
        "{body}"
    );
    health.assert_responsive();
    // Unbounded, this template took a server to 14.8 GB.
    if let Some(peak) = peak_rss() {
        assert!(peak < 2 << 30, "the process peaked at {peak} bytes");
    }
}

#[tokio::test]
async fn instructions_that_do_not_compile_are_refused_when_saved() {
    let s = TestServer::start().await;
    let api = s.api();
    let bad = "You book for {{ user_id }}.\n{% if channel %}\nno end";
    let problem = api
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": "mock/echo", "instructions": bad }),
            422,
        )
        .await;
    assert_eq!(pointers(&problem), ["/instructions"], "{problem}");
    let detail = problem["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("not valid") && detail.contains("line "),
        "{detail}"
    );

    let id = agent(&api, "mock/echo", json!({})).await;
    let problem = api
        .patch(
            &format!("/v1/agents/{id}"),
            json!({ "instructions": "{{ x" }),
            422,
        )
        .await;
    assert_eq!(pointers(&problem), ["/instructions"], "{problem}");
}

/// `a` doubled eight times from 50 MB: 12.8 GB if nothing stops it.
fn doubling_attack() -> String {
    let mut src = r#"{% set a = "x" * 50000000 %}"#.to_string();
    for _ in 0..8 {
        src.push_str("{% set a = a ~ a %}");
    }
    src + "{{ a|length }}"
}

/// Runs `attack` while polling `/healthz`, and checks the run failed for memory, the
/// server answered quickly and its peak memory grew by far less than the attack needs.
async fn assert_memory_attack_is_contained(instructions: &str, runs: usize) {
    let s = TestServer::start().await;
    let api = s.api();
    let before = peak_rss();
    let attack = futures::future::join_all((0..runs).map(|_| failed_run(&api, instructions)));
    let (bodies, health) = healthz_during(&s.base, attack).await;
    for body in bodies {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("used more memory than allowed (256 MiB)"),
            "{body}"
        );
    }
    health.assert_responsive();
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grown = after.saturating_sub(before);
        assert!(grown < 512 << 20, "the server's peak grew by {grown} bytes");
    }
}

#[tokio::test]
async fn doubling_a_string_with_set_fails_for_memory_without_growing_the_server() {
    assert_memory_attack_is_contained(&doubling_attack(), 3).await;
}

#[tokio::test]
async fn concatenating_huge_strings_in_one_expression_fails_for_memory() {
    let huge = r#"("x" * 100000000)"#;
    let expr = [huge; 6].join(" ~ ");
    assert_memory_attack_is_contained(&format!("{{{{ {expr} }}}}"), 2).await;
}

/// The system message of each model call the fake provider saw.
fn systems(fake: &Recorder) -> Vec<String> {
    fake.bodies()
        .iter()
        .map(|b| {
            b["messages"][0]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn templates_with_logic_render_through_the_sandbox() {
    let fake = Recorder::start(|_| says(&["ok"])).await;
    let url = fake.url.clone();
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
    })
    .await;
    let api = s.api();
    let branch = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions": "{% if user_id %}Hi {{ user_id }}{% endif %}" }),
    )
    .await;
    let looped = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions":
            "Plan:{% for k, v in metadata|items %} {{ k }}={{ v }}{% endfor %}; \"{{ input ~ '!' }}\"" }),
    )
    .await;
    let run =
        json!({ "input": "hi", "user_id": "usr_1", "metadata": { "plan": "gold", "seats": 3 } });
    for id in [&branch, &looped] {
        let body = trigger(&api, id, run.clone(), 200).await;
        assert_eq!(body["status"], "completed", "{body}");
    }
    assert_eq!(
        systems(&fake),
        ["Hi usr_1", "Plan: plan=gold seats=3; \"hi!\""]
    );
}

#[tokio::test]
async fn plain_templates_render_in_the_server_even_without_a_sandbox() {
    let fake = Recorder::start(|_| says(&["ok"])).await;
    let url = fake.url.clone();
    // A binary that answers nothing: only a render in the server can succeed.
    let s = TestServer::start_with(|c| {
        c.providers.insert("fake".into(), fake_provider(&url));
        c.templates.sandbox_exe = Some("/bin/true".into());
    })
    .await;
    let api = s.api();
    let plain = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions": "You book appointments for {{- user_id|upper -}}, plan {{ metadata.plan|default('free') }}." }),
    )
    .await;
    let run = json!({ "input": "hi", "user_id": " usr_1", "metadata": {} });
    let body = trigger(&api, &plain, run.clone(), 200).await;
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(
        systems(&fake),
        ["You book appointments for USR_1, plan free."]
    );

    let logic = agent(
        &api,
        "fake/gpt-test",
        json!({ "instructions": "{% if user_id %}Hi{% endif %}" }),
    )
    .await;
    let body = trigger(&api, &logic, run, 200).await;
    assert_eq!(body["error"]["code"], "template_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sandbox"), "{body}");
}

#[test]
fn a_missing_sandbox_binary_or_a_tiny_memory_limit_is_refused_at_boot() {
    let mut config = orchstack::config::Config::default();
    assert!(config.validate().is_ok());
    config.templates.sandbox_exe = Some("/nonexistent/orchstack".into());
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("templates.sandbox_exe"), "{err}");
    config.templates.sandbox_exe = None;
    config.templates.max_memory_bytes = 1 << 20;
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("templates.max_memory_bytes"), "{err}");
}

#[tokio::test]
async fn a_sandboxed_render_past_the_deadline_fails_the_run() {
    // Starting a process alone takes longer than a millisecond.
    let s = TestServer::start_with(|c| c.templates.timeout = Duration::from_millis(1)).await;
    let body = failed_run(&s.api(), "{% if input %}{{ input }}{% endif %}").await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("did not render within 1 ms"), "{body}");
}
