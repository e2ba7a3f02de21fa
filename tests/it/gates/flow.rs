//! A gate's life: approved (with the model's or the approver's arguments), rejected, and
//! expired either way; what the tool receives and what the model is told.

use super::support::*;
use crate::common::run_support::*;
use entity::runs;
use sea_orm::EntityTrait;
use serde_json::{json, Value};

/// The tool messages of the model's request `n`.
fn tool_messages(g: &Gated, n: usize) -> Vec<Value> {
    let bodies = g.model.bodies();
    bodies[n]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_approved_call_is_made_once_with_the_models_arguments_and_the_run_completes() {
    let approval = json!({ "timeout_s": 3600, "prompt": "Refund this order?" });
    let g = gated(refund_then_done, Some(approval)).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    assert_eq!(gate["status"], "pending", "{gate}");
    assert_eq!(gate["tool_name"], "refund");
    assert_eq!(gate["call_id"], "call_1");
    assert_eq!(
        gate["arguments"],
        json!({ "order_id": "ord_1", "amount": 80 })
    );
    assert_eq!(gate["prompt"], "Refund this order?");
    assert_eq!(gate["on_timeout"], "reject");
    assert_eq!(gate["agent_id"], g.agent.as_str());
    assert!(gate["resolved_at"].is_null() && gate["resolved_by"].is_null());
    let waits = time(&gate["expires_at"]) - time(&gate["created_at"]);
    assert_eq!(waits.num_seconds(), 3600, "{gate}");

    // A waiting run holds no lease, and nothing was called yet.
    let row = runs::Entity::find_by_id(&run_id)
        .one(&g.s.state.db)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(row.lease_owner, None);
    assert_eq!(g.tool.hits(), 0);
    assert_eq!(g.model.hits(), 1);

    let gate_id = str_of(&gate, "id");
    let approved = resolve(
        &g.api,
        gate_id,
        "approve",
        json!({ "comment": "fine" }),
        200,
    )
    .await;
    assert_eq!(approved["status"], "approved", "{approved}");
    assert_eq!(approved["comment"], "fine");
    assert!(
        str_of(&approved, "resolved_by").starts_with("key_"),
        "{approved}"
    );
    assert!(approved["resolved_arguments"].is_null());
    let run = wait_end(&g.api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["output"], "Refunded.");

    assert_eq!(
        g.tool.requests(),
        [(
            "/refund".to_owned(),
            json!({ "order_id": "ord_1", "amount": 80 })
        )]
    );
    // The model saw its call and the tool's answer, as if there had been no pause.
    let tools = tool_messages(&g, 1);
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0]["tool_call_id"], "call_1");
    assert_eq!(tools[0]["content"], r#"{"refunded":true}"#);
    let msgs = g.model.bodies()[1]["messages"].clone();
    assert_eq!(msgs.as_array().unwrap().len(), 4, "{msgs}");
    assert_eq!(msgs[2]["tool_calls"][0]["id"], "call_1");

    // The trace goes on after the pause: model, tool, model.
    let steps: Vec<(i64, String)> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["position"].as_i64().unwrap(),
                s["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [(1, "llm".into()), (2, "tool".into()), (3, "llm".into())]
    );
    // `tool.call` when the model asks, then the gate, then (after the run was claimed
    // again) the call's step and result.
    let kinds = log_kinds(&g.api, &run_id).await;
    assert!(
        in_order(
            &kinds,
            &[
                "run.created",
                "run.started",
                "tool.call",
                "gate.pending",
                "gate.resolved",
                "run.started",
                "step.started",
                "tool.result",
                "step.completed",
                "run.completed",
            ]
        ),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "tool.call").count(),
        1,
        "{kinds:?}"
    );
    // The totals carry over the pause: both model steps count.
    let steps_input: i64 = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tokens"]["input"].as_i64().unwrap())
        .sum();
    assert!(
        run["steps"][0]["tokens"]["input"].as_i64().unwrap() > 0,
        "{run}"
    );
    assert_eq!(run["tokens"]["input"], steps_input, "{run}");
}

#[tokio::test]
async fn an_approver_may_replace_the_arguments_but_only_with_valid_ones() {
    let g = gated(refund_then_done, None).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let gate_id = str_of(&gate, "id");

    let bad = resolve(
        &g.api,
        gate_id,
        "approve",
        json!({ "arguments": { "amount": "lots", "extra": 1 } }),
        422,
    )
    .await;
    let ptrs = pointers(&bad);
    assert!(ptrs.contains(&"/arguments/amount".to_owned()), "{bad}");
    assert!(
        ptrs.contains(&"/arguments".to_owned()),
        "missing order_id: {bad}"
    );
    let not_object = resolve(&g.api, gate_id, "approve", json!({ "arguments": [1] }), 422).await;
    assert_eq!(pointers(&not_object), ["/arguments"]);
    let long = "x".repeat(2_001);
    let too_long = resolve(&g.api, gate_id, "reject", json!({ "comment": long }), 422).await;
    assert_eq!(pointers(&too_long), ["/comment"]);
    // Nothing was written: the gate still waits.
    let still = g.api.get(&format!("/v1/gates/{gate_id}"), 200).await;
    assert_eq!(still["status"], "pending", "{still}");

    let edited = json!({ "order_id": "ord_1", "amount": 50 });
    let approved = resolve(
        &g.api,
        gate_id,
        "approve",
        json!({ "arguments": edited }),
        200,
    )
    .await;
    assert_eq!(approved["resolved_arguments"], edited, "{approved}");
    assert_eq!(
        approved["arguments"],
        json!({ "order_id": "ord_1", "amount": 80 })
    );
    let run = wait_end(&g.api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(g.tool.bodies(), [edited]);
}

#[tokio::test]
async fn a_rejected_call_is_never_made_and_the_model_is_told_with_the_comment() {
    let g = gated(refund_then_done, None).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let rejected = resolve(
        &g.api,
        str_of(&gate, "id"),
        "reject",
        json!({ "comment": "Refunds over 50 need the manager" }),
        200,
    )
    .await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    let run = wait_end(&g.api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(g.tool.hits(), 0, "a rejected call is never made");
    let tools = tool_messages(&g, 1);
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0]["tool_call_id"], "call_1");
    let told = tools[0]["content"].as_str().unwrap();
    assert!(told.contains("refused"), "{told}");
    assert!(told.contains("Refunds over 50 need the manager"), "{told}");
    let step = &run["steps"][1];
    assert_eq!(step["type"], "tool");
    assert_eq!(step["error"]["code"], "gate_rejected", "{step}");
    let kinds = log_kinds(&g.api, &run_id).await;
    assert!(
        in_order(
            &kinds,
            &[
                "gate.pending",
                "gate.resolved",
                "tool.result",
                "run.completed"
            ]
        ),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_expired_gate_with_on_timeout_reject_refuses_the_call() {
    let approval = json!({ "timeout_s": 1, "on_timeout": "reject" });
    let g = gated(refund_then_done, Some(approval)).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let run = wait_end(&g.api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    let gate = g
        .api
        .get(&format!("/v1/gates/{}", str_of(&gate, "id")), 200)
        .await;
    assert_eq!(gate["status"], "expired", "{gate}");
    assert!(gate["resolved_by"].is_null(), "{gate}");
    assert!(
        time(&gate["resolved_at"]) >= time(&gate["expires_at"]),
        "{gate}"
    );
    assert_eq!(g.tool.hits(), 0);
    let told = tool_messages(&g, 1)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(told.contains("in time"), "{told}");
    assert_eq!(run["steps"][1]["error"]["code"], "gate_expired", "{run}");
}

#[tokio::test]
async fn an_expired_gate_with_on_timeout_approve_makes_the_call() {
    let approval = json!({ "timeout_s": 1, "on_timeout": "approve" });
    let g = gated(refund_then_done, Some(approval)).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let run = wait_end(&g.api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    let gate = g
        .api
        .get(&format!("/v1/gates/{}", str_of(&gate, "id")), 200)
        .await;
    assert_eq!(gate["status"], "expired", "{gate}");
    assert_eq!(
        g.tool.bodies(),
        [json!({ "order_id": "ord_1", "amount": 80 })]
    );
}

#[tokio::test]
async fn two_approved_tools_in_one_step_wait_at_two_gates_in_order() {
    let g = gated(
        |body| {
            if answered(body) {
                says(&["Both done."])
            } else {
                calls(&[
                    ("call_a", "refund", &[r#"{"order_id": "A", "amount": 1}"#]),
                    ("call_b", "refund", &[r#"{"order_id": "B", "amount": 2}"#]),
                ])
            }
        },
        None,
    )
    .await;
    let run_id = start(&g.api, &g.agent).await;
    let first = pending_gate(&g.api, &run_id).await;
    assert_eq!(first["call_id"], "call_a", "{first}");
    resolve(&g.api, str_of(&first, "id"), "approve", json!({}), 200).await;
    // The run goes on, makes the first call, and stops again before the second.
    let second = loop {
        let run = wait_until(&g.api, &run_id, "waiting again", |r| {
            r["status"] == "waiting_for_approval"
        })
        .await;
        let list = g
            .api
            .get(&format!("/v1/gates?run_id={run_id}&status=pending"), 200)
            .await;
        if let Some(gate) = list["data"].as_array().and_then(|d| d.first()).cloned() {
            if gate["call_id"] == "call_b" {
                break gate;
            }
        }
        assert_ne!(run["status"], "completed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(g.tool.bodies(), [json!({ "order_id": "A", "amount": 1 })]);
    resolve(&g.api, str_of(&second, "id"), "approve", json!({}), 200).await;
    let run = wait_end(&g.api, &run_id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(
        g.tool.bodies(),
        [
            json!({ "order_id": "A", "amount": 1 }),
            json!({ "order_id": "B", "amount": 2 })
        ]
    );
    // The model was asked once before and once after both calls.
    assert_eq!(g.model.hits(), 2);
    let all = g.api.get(&format!("/v1/gates?run_id={run_id}"), 200).await;
    let calls: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["call_b", "call_a"], "newest first: {all}");
}
