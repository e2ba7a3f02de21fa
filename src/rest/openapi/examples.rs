//! Examples in the document: the documented run example (API.md) and one request and
//! answer per writing route, so generated SDKs and docs show real bodies.

use serde_json::{json, Value};

const AGENT_ID: &str = "agt_01jd8x3k6m9q2w5e7r4t1y0u3p";

fn agent() -> Value {
    json!({
        "id": AGENT_ID,
        "name": "Front desk",
        "description": "Books appointments",
        "model": "openai/gpt-4o-mini",
        "model_settings": { "temperature": 0.2 },
        "instructions": "You book appointments for {{ metadata.salon }}.",
        "tools": [],
        "knowledge_ids": [],
        "channels": ["whatsapp"],
        "metadata": { "salon": "Sarah's" },
        "version": 1,
        "created_at": "2026-11-30T09:00:00Z",
        "updated_at": "2026-11-30T09:00:00Z",
    })
}

const WEBHOOK_ID: &str = "wh_01jd8x3k6m9q2w5e7r4t1y0u3q";

fn webhook_endpoint() -> Value {
    json!({
        "id": WEBHOOK_ID,
        "url": "https://example.com/hooks/orchstack",
        "description": "Bookings backend",
        "events": ["agent.run.completed", "agent.run.failed"],
        "enabled": true,
        "disabled_reason": null,
        "failing_since": null,
        "previous_secret_expires_at": null,
        "created_at": "2026-11-30T09:00:00Z",
        "updated_at": "2026-11-30T09:00:00Z",
    })
}

fn webhook_delivery(status: &str) -> Value {
    json!({
        "id": "dlv_01jd8x3k6m9q2w5e7r4t1y0u3r",
        "endpoint_id": WEBHOOK_ID,
        "event_id": "msg_01jd8x3k6m9q2w5e7r4t1y0u3s",
        "status": status,
        "attempt_count": 0,
        "next_attempt_at": "2026-11-30T09:00:00Z",
        "last_attempt_at": null,
        "completed_at": null,
        "created_at": "2026-11-30T09:00:00Z",
        "event": {
            "id": "msg_01jd8x3k6m9q2w5e7r4t1y0u3s",
            "type": "webhook.test",
            "payload": {
                "type": "webhook.test",
                "timestamp": "2026-11-30T09:00:00.000Z",
                "data": { "webhook_id": WEBHOOK_ID, "message": "This is a test event from OrchStack." },
            },
            "created_at": "2026-11-30T09:00:00Z",
        },
        "attempts": [],
    })
}

fn with_secret() -> Value {
    let mut e = webhook_endpoint();
    e["secret"] = json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3Ksj0bO7Lbk=");
    e
}

/// The request body example of `operation`.
pub fn request(operation: &str) -> Option<Value> {
    Some(match operation {
        "CreateAgent" => json!({
            "name": "Front desk",
            "description": "Books appointments",
            "model": "openai/gpt-4o-mini",
            "model_settings": { "temperature": 0.2 },
            "instructions": "You book appointments for {{ metadata.salon }}.",
            "channels": ["whatsapp"],
            "metadata": { "salon": "Sarah's" },
        }),
        "UpdateAgent" => json!({ "instructions": "You book appointments. Be brief." }),
        "CreateWebhookEndpoint" => json!({
            "url": "https://example.com/hooks/orchstack",
            "events": ["agent.run.completed", "agent.run.failed"],
            "description": "Bookings backend",
        }),
        "UpdateWebhookEndpoint" => json!({ "enabled": false }),
        "ApproveGate" => json!({
            "comment": "OK, but only 50",
            "arguments": { "order_id": "ord_123", "amount": 50 },
        }),
        "RejectGate" => json!({ "comment": "Refunds go through the front desk." }),
        "CreateApiKey" => json!({ "name": "CI", "scopes": ["agents:read", "runs:read"] }),
        // The documented example (API.md, "Trigger a run").
        "RunAgent" => json!({
            "input": "Book a haircut for tomorrow at 3pm",
            "channel": "whatsapp",
            "user_id": "usr_xyz789",
        }),
        _ => return None,
    })
}

/// A gate in `status`.
fn gate(status: &str) -> Value {
    let resolved = status != "pending";
    json!({
        "id": "gate_01jd8x3k6m9q2w5e7r4t1y0u3p",
        "run_id": "run_def456",
        "agent_id": AGENT_ID,
        "call_id": "call_abc",
        "tool_name": "refund",
        "arguments": { "order_id": "ord_123", "amount": 80 },
        "prompt": "Approve this refund?",
        "status": status,
        "on_timeout": "reject",
        "comment": if resolved { json!("OK, but only 50") } else { Value::Null },
        "resolved_by": if resolved { json!("key_01jd8x3k6m9q2w5e7r4t1y0u3q") } else { Value::Null },
        "resolved_arguments": if status == "approved" { json!({ "order_id": "ord_123", "amount": 50 }) } else { Value::Null },
        "created_at": "2026-11-30T09:00:00Z",
        "resolved_at": if resolved { json!("2026-11-30T09:05:00Z") } else { Value::Null },
        "expires_at": "2026-12-01T09:00:00Z",
    })
}

/// The example of `operation`'s answer with `status`.
pub fn response(operation: &str, status: u16) -> Option<Value> {
    Some(match (operation, status) {
        ("CreateAgent" | "GetAgent" | "UpdateAgent", _) => agent(),
        ("ListAgents", _) => {
            json!({ "object": "list", "data": [agent()], "has_more": false, "next_cursor": null })
        }
        // The documented example (API.md): its first five fields are the contract.
        ("RunAgent", 200) => json!({
            "run_id": "run_def456",
            "status": "completed",
            "output": "Booked! Haircut with Sarah at 3pm tomorrow.",
            "tokens": { "input": 142, "output": 38 },
            "duration_ms": 1240,
        }),
        ("RunAgent", 202) => {
            json!({ "run_id": "run_def456", "status": "queued", "output": null, "tokens": { "input": 0, "output": 0 }, "duration_ms": null })
        }
        ("CreateWebhookEndpoint" | "RotateWebhookSecret", _) => with_secret(),
        ("GetWebhookEndpoint" | "UpdateWebhookEndpoint", _) => webhook_endpoint(),
        ("ListWebhookEndpoints", _) => {
            json!({ "object": "list", "data": [webhook_endpoint()], "has_more": false, "next_cursor": null })
        }
        ("TestWebhookEndpoint" | "RetryWebhookDelivery", _) => webhook_delivery("pending"),
        ("ListWebhookDeliveries", _) => {
            json!({ "object": "list", "data": [webhook_delivery("pending")], "has_more": false, "next_cursor": null })
        }
        ("CancelRun", 200) => {
            json!({ "id": "run_def456", "status": "cancelled", "agent_id": AGENT_ID })
        }
        ("CancelRun", 202) => {
            json!({ "id": "run_def456", "status": "running", "agent_id": AGENT_ID })
        }
        ("GetGate", _) => gate("pending"),
        ("ApproveGate", _) => gate("approved"),
        ("RejectGate", _) => gate("rejected"),
        ("ListGates", _) => {
            json!({ "object": "list", "data": [gate("pending")], "has_more": false, "next_cursor": null })
        }
        _ => return None,
    })
}
