//! The gate routes' rules: one resolution wins, tenancy, scopes, lists.

use super::support::*;
use crate::common::calls::{call, ids_of};
use crate::common::run_support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_resolved_gate_cannot_be_resolved_again() {
    let g = gated(refund_then_done, None).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let id = str_of(&gate, "id");
    resolve(&g.api, id, "approve", json!({}), 200).await;
    for action in ["approve", "reject"] {
        let again = resolve(&g.api, id, action, json!({}), 409).await;
        assert_eq!(again["code"], "gate_not_pending", "{again}");
    }
    // Even with arguments that would not validate: the gate's state is checked first.
    let again = resolve(&g.api, id, "approve", json!({ "arguments": 1 }), 409).await;
    assert_eq!(again["code"], "gate_not_pending", "{again}");
    assert_eq!(wait_end(&g.api, &run_id).await["status"], "completed");
    assert_eq!(g.tool.hits(), 1);
}

#[tokio::test]
async fn of_two_concurrent_resolutions_exactly_one_wins() {
    let g = gated(refund_then_done, None).await;
    for round in 0..3 {
        let run_id = start(&g.api, &g.agent).await;
        let gate = pending_gate(&g.api, &run_id).await;
        let id = str_of(&gate, "id");
        let approve = g
            .api
            .request(Method::POST, &format!("/v1/gates/{id}/approve"))
            .json(&json!({ "comment": "yes" }));
        let reject = g
            .api
            .request(Method::POST, &format!("/v1/gates/{id}/reject"))
            .json(&json!({ "comment": "no" }));
        let (a, r) = tokio::join!(call(approve), call(reject));
        let mut statuses = [a.status, r.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 409],
            "round {round}: {} / {}",
            a.body,
            r.body
        );
        let loser = if a.status == 409 { &a } else { &r };
        assert_eq!(loser.body["code"], "gate_not_pending", "{}", loser.body);
        let winner = if a.status == 200 {
            "approved"
        } else {
            "rejected"
        };
        let gate = g.api.get(&format!("/v1/gates/{id}"), 200).await;
        assert_eq!(gate["status"], winner, "{gate}");
        let run = wait_end(&g.api, &run_id).await;
        assert_eq!(run["status"], "completed", "{run}");
        // One gate.resolved on the run's log, whoever won.
        let kinds = log_kinds(&g.api, &run_id).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "gate.resolved").count(),
            1,
            "{kinds:?}"
        );
    }
}

#[tokio::test]
async fn another_organisations_gate_is_not_found() {
    let g = gated(refund_then_done, None).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let id = str_of(&gate, "id");
    let (_, other_key) = g.s.new_org("enterprise").await;
    let other = g.s.api_with(Some(&other_key));
    for problem in [
        other.get(&format!("/v1/gates/{id}"), 404).await,
        other
            .post(&format!("/v1/gates/{id}/approve"), json!({}), 404)
            .await,
        other
            .post(&format!("/v1/gates/{id}/reject"), json!({}), 404)
            .await,
    ] {
        assert_eq!(problem["code"], "not_found", "{problem}");
    }
    assert!(ids_of(&other.get("/v1/gates", 200).await).is_empty());
    let gql = other
        .gql(
            "mutation($id: ID!) { approveGate(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(crate::common::calls::gql_code(&gql), "NOT_FOUND", "{gql}");
    // Still pending for its own organisation.
    assert_eq!(
        g.api.get(&format!("/v1/gates/{id}"), 200).await["status"],
        "pending"
    );
}

#[tokio::test]
async fn reading_needs_runs_read_and_resolving_needs_gates_write() {
    let g = gated(refund_then_done, None).await;
    let run_id = start(&g.api, &g.agent).await;
    let gate = pending_gate(&g.api, &run_id).await;
    let id = str_of(&gate, "id");
    let reader = g.s.key(&g.s.org_id, &["runs:read"], false).await;
    let reader = g.s.api_with(Some(&reader));
    assert_eq!(reader.get(&format!("/v1/gates/{id}"), 200).await["id"], id);
    for action in ["approve", "reject"] {
        let p = reader
            .post(&format!("/v1/gates/{id}/{action}"), json!({}), 403)
            .await;
        assert_eq!(p["code"], "insufficient_scope", "{p}");
    }
    let writer = g.s.key(&g.s.org_id, &["gates:write"], false).await;
    let writer = g.s.api_with(Some(&writer));
    let p = writer.get(&format!("/v1/gates/{id}"), 403).await;
    assert_eq!(p["code"], "insufficient_scope", "{p}");
    // No body at all is an approval without comment or arguments.
    let res = call(writer.request(Method::POST, &format!("/v1/gates/{id}/approve"))).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["status"], "approved");
    assert_eq!(wait_end(&g.api, &run_id).await["status"], "completed");
}

#[tokio::test]
async fn gates_are_listed_newest_first_with_filters_and_cursors() {
    let g = gated(refund_then_done, None).await;
    let mut gates = Vec::new();
    for _ in 0..3 {
        let run_id = start(&g.api, &g.agent).await;
        gates.push(str_of(&pending_gate(&g.api, &run_id).await, "id").to_owned());
    }
    resolve(&g.api, &gates[0], "reject", json!({}), 200).await;
    let all = g.api.get("/v1/gates", 200).await;
    assert_eq!(all["object"], "list");
    let newest_first: Vec<String> = gates.iter().rev().cloned().collect();
    assert_eq!(ids_of(&all), newest_first);
    let pending = g.api.get("/v1/gates?status=pending", 200).await;
    assert_eq!(ids_of(&pending), newest_first[..2].to_vec());
    let rejected = g.api.get("/v1/gates?status=rejected", 200).await;
    assert_eq!(ids_of(&rejected), [gates[0].clone()]);
    let by_agent = g
        .api
        .get(&format!("/v1/gates?agent_id={}", g.agent), 200)
        .await;
    assert_eq!(ids_of(&by_agent).len(), 3);
    assert!(ids_of(&g.api.get("/v1/gates?agent_id=agt_none", 200).await).is_empty());
    let page1 = g.api.get("/v1/gates?limit=2", 200).await;
    assert_eq!(page1["has_more"], true);
    let cursor = page1["next_cursor"].as_str().expect("cursor");
    let page2 = g
        .api
        .get(&format!("/v1/gates?limit=2&cursor={cursor}"), 200)
        .await;
    assert_eq!(ids_of(&page2), [gates[0].clone()]);
    let bad = g.api.get("/v1/gates?status=maybe", 400).await;
    assert_eq!(bad["code"], "bad_request", "{bad}");
    // GraphQL: the run's gates, and its waiting gate.
    let run_id = str_of(
        &g.api.get(&format!("/v1/gates/{}", gates[2]), 200).await,
        "run_id",
    )
    .to_owned();
    let body = g
        .api
        .gql(
            "query($id: ID!) { run(id: $id) { status gate { id status } gates { id toolName status } } }",
            json!({ "id": run_id }),
        )
        .await;
    let run = &crate::common::calls::data(&body)["run"];
    assert_eq!(run["status"], "WAITING_FOR_APPROVAL", "{body}");
    assert_eq!(run["gate"]["id"], gates[2].as_str());
    assert_eq!(
        run["gates"],
        json!([{ "id": gates[2], "toolName": "refund", "status": "PENDING" }])
    );
}
