//! The `data` of webhook payloads, in the REST API's spelling (snake_case, lower-case
//! statuses), so a receiver reads the same object `GET /v1/...` returns.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::runs;
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
