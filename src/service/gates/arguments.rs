//! Arguments an approver gives instead of the model's: a JSON object valid against the
//! tool's parameter schema in the agent version the run executes.

use crate::error::{AppError, AppResult, FieldError};
use crate::runtime::tools;
use entity::{agent_versions, gates, runs};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;

/// Errors per JSON Schema problem, at most (a hostile document cannot make a huge answer).
const MAX_ERRORS: usize = 20;

/// Adds a field error (pointer `/arguments...`) for each way `args` breaks the tool's
/// schema.
pub(super) async fn check(
    db: &impl ConnectionTrait,
    gate: &gates::Model,
    args: &Value,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    if !args.is_object() {
        errors.push(FieldError::new("/arguments", "must be a JSON object"));
        return Ok(());
    }
    let run = runs::Entity::find_by_id(gate.run_id.clone())
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("run {} not found", gate.run_id)))?;
    let version = agent_versions::Entity::find()
        .filter(agent_versions::Column::AgentId.eq(&run.agent_id))
        .filter(agent_versions::Column::Version.eq(run.agent_version))
        .one(db)
        .await?;
    let tools = version
        .map(|v| tools::from_snapshot(&v.snapshot["tools"]))
        .unwrap_or_default();
    let Some(schema) = tools
        .iter()
        .find(|t| t.name == gate.tool_name)
        .and_then(|t| t.parameters.as_ref())
    else {
        return Ok(());
    };
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        AppError::internal(anyhow::anyhow!(
            "the stored schema of {} is invalid: {e}",
            gate.tool_name
        ))
    })?;
    for e in validator.iter_errors(args).take(MAX_ERRORS) {
        errors.push(FieldError::new(
            format!("/arguments{}", e.instance_path()),
            e.to_string(),
        ));
    }
    Ok(())
}
