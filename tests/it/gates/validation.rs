//! An agent's approval settings are checked when it is saved.

use super::support::refund_tool;
use crate::common::run_support::pointers;
use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn bad_approval_settings_are_refused_with_pointers() {
    let s = TestServer::start_with(|c| {
        c.gates.max_timeout = std::time::Duration::from_secs(7200);
    })
    .await;
    let api = s.api();
    let url = "http://127.0.0.1:9";
    let cases = [
        (
            json!({ "on_timeout": "later" }),
            "/tools/0/approval/on_timeout",
        ),
        (json!({ "timeout_s": 0 }), "/tools/0/approval/timeout_s"),
        (json!({ "timeout_s": 7201 }), "/tools/0/approval/timeout_s"),
        (json!({ "timeout_s": "1h" }), "/tools/0/approval/timeout_s"),
        (
            json!({ "prompt": "p".repeat(2_001) }),
            "/tools/0/approval/prompt",
        ),
        (json!({ "prompt": 5 }), "/tools/0/approval/prompt"),
        (json!({ "who": "me" }), "/tools/0/approval/who"),
        (json!("soon"), "/tools/0/approval"),
    ];
    for (approval, pointer) in cases {
        let body = json!({ "name": "x", "model": "mock/echo", "tools": [refund_tool(url, Some(approval.clone()))] });
        let problem = api.post("/v1/agents", body, 422).await;
        assert_eq!(pointers(&problem), [pointer], "{approval}: {problem}");
    }
    let mut not_bool = refund_tool(url, None);
    not_bool["requires_approval"] = json!("yes");
    let problem = api
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": "mock/echo", "tools": [not_bool] }),
            422,
        )
        .await;
    assert_eq!(pointers(&problem), ["/tools/0/requires_approval"]);
    let mut orphan = refund_tool(url, Some(json!({ "timeout_s": 5 })));
    orphan["requires_approval"] = json!(false);
    let problem = api
        .post(
            "/v1/agents",
            json!({ "name": "x", "model": "mock/echo", "tools": [orphan] }),
            422,
        )
        .await;
    assert_eq!(pointers(&problem), ["/tools/0/approval"]);
    // The largest allowed wait, both outcomes and a prompt are fine.
    let ok = json!({ "timeout_s": 7200, "on_timeout": "approve", "prompt": "Sure?" });
    let body =
        json!({ "name": "x", "model": "mock/echo", "tools": [refund_tool(url, Some(ok.clone()))] });
    let agent = api.post("/v1/agents", body, 201).await;
    assert_eq!(agent["tools"][0]["approval"], ok, "{agent}");
    assert_eq!(agent["tools"][0]["requires_approval"], true);
}
