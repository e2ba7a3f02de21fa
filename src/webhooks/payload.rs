//! The `data` of webhook payloads, in the REST API's spelling (snake_case, lower-case
//! statuses), so a receiver reads the same object `GET /v1/...` returns.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::{gates, runs};
use serde_json::{json, Value};

/// A time as the API writes it (RFC 3339, UTC).
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A run: the five documented fields of the run call first, then the rest of the run.
pub fn run(run: &runs::Model) -> Value {
    json!({
        "run_id": run.id,
        "status": run.status.as_str(),
        "output": run.output,
        "tokens": { "input": run.tokens_input, "output": run.tokens_output },
        "duration_ms": run.duration_ms,
        "id": run.id,
        "agent_id": run.agent_id,
        "agent_version": run.agent_version,
        "input": run.input,
        "channel": run.channel,
        "user_id": run.user_id,
        "session_id": run.session_id,
        "error": run.error,
        "cost": run.cost,
        "metadata": run.metadata,
        "created_at": time(run.created_at),
        "started_at": run.started_at.map(time),
        "completed_at": run.completed_at.map(time),
    })
}

/// A gate, as `GET /v1/gates/{id}` shows it (and the `data` of `gate.*` run events).
pub fn gate(g: &gates::Model) -> Value {
    json!({
        "id": g.id,
        "run_id": g.run_id,
        "agent_id": g.agent_id,
        "call_id": g.call_id,
        "tool_name": g.tool_name,
        "arguments": g.arguments,
        "prompt": g.prompt,
        "status": g.status.as_str(),
        "on_timeout": g.on_timeout,
        "comment": g.comment,
        "resolved_by": g.resolved_by,
        "resolved_arguments": g.resolved_arguments,
        "created_at": time(g.created_at),
        "resolved_at": g.resolved_at.map(time),
        "expires_at": time(g.expires_at),
    })
}
