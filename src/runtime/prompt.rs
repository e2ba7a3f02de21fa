//! The model's context: instructions rendered as a minijinja template, earlier turns of
//! the conversation, and the run's input.

use super::providers::Message;
use crate::error::AppResult;
use crate::templates::Renderer;
use entity::runs::{self, Column, Entity};
use minijinja::context;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// Earlier turns of a conversation given to the model, at most.
pub const HISTORY_TURNS: u64 = 20;

/// Renders the agent's instructions for a run (`input`, `channel`, `user_id`,
/// `metadata`, `now` are available), within the renderer's limits. A broken or runaway
/// template is the agent's error.
pub async fn render(
    renderer: &Renderer,
    template: &str,
    run: &runs::Model,
) -> Result<String, String> {
    renderer
        .render(
            template,
            context! {
                input => run.input,
                channel => run.channel,
                user_id => run.user_id,
                session_id => run.session_id,
                metadata => run.metadata,
                now => crate::clock::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            },
        )
        .await
        .map_err(|e| format!("the agent's instructions could not be rendered: {e}"))
}

/// The completed earlier turns of the run's conversation, oldest first.
pub async fn history(db: &impl ConnectionTrait, run: &runs::Model) -> AppResult<Vec<Message>> {
    if run.session_key.contains(":r:") {
        return Ok(Vec::new());
    }
    let mut turns = Entity::find()
        .filter(Column::SessionKey.eq(&run.session_key))
        .filter(Column::OrgId.eq(&run.org_id))
        .filter(Column::Status.eq(entity::runs::RunStatus::Completed))
        .filter(Column::CreatedAt.lt(run.created_at))
        .order_by_desc(Column::CreatedAt)
        .limit(HISTORY_TURNS)
        .all(db)
        .await?;
    turns.reverse();
    Ok(turns
        .into_iter()
        .flat_map(|t| {
            [
                Message::User(t.input),
                Message::Assistant {
                    content: t.output.unwrap_or_default(),
                    tool_calls: Vec::new(),
                },
            ]
        })
        .collect())
}
