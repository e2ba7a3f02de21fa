//! The values a REST client sees for enum-like fields, decided in one place.

use crate::rest::types::Types;

/// The REST values of the GraphQL enum `enum_name` (`None` when it is not an enum).
/// REST shows every enum value in lower case (`COMPLETED` → `completed`); this is the
/// one function the document asks, so a richer mapping (`RUN_CREATED` → `run.created`)
/// changes here only.
pub fn rest_enum_values(types: &Types, enum_name: &str) -> Option<Vec<String>> {
    let values = types.enum_values(enum_name)?;
    Some(values.iter().map(|v| v.to_ascii_lowercase()).collect())
}

/// Event types a run's log holds (`RunEvent.type`, the SSE `event:` field).
const EVENT_TYPES: &[&str] = {
    use crate::events::*;
    &[
        RUN_CREATED,
        RUN_STARTED,
        STEP_STARTED,
        TOKEN,
        TOOL_CALL,
        TOOL_RESULT,
        STEP_COMPLETED,
        RUN_COMPLETED,
        RUN_FAILED,
        RUN_CANCELLED,
    ]
};

/// The values of a field that GraphQL still types as `String` although it holds one of
/// a fixed set (`parent.field`, GraphQL names). A field whose SDL type is an enum never
/// gets here: its values come from [`rest_enum_values`], so each row below is dead once
/// its field becomes a GraphQL enum and can then be deleted.
pub fn string_field_values(parent: &str, field: &str) -> Option<Vec<String>> {
    let values: &[&str] = match (parent, field) {
        ("Run" | "RunFilter", "status") => crate::service::runs::STATUSES,
        // Written by runtime::steps and events::journal (steps end with their run).
        ("RunStep", "status") => &["running", "completed", "failed", "cancelled"],
        ("RunStep", "type") => &["llm", "tool"],
        ("RunEvent", "type") => EVENT_TYPES,
        ("ApiKey" | "CreatedApiKey", "mode") => &["live", "test"],
        _ => return None,
    };
    Some(values.iter().map(|v| (*v).to_owned()).collect())
}
