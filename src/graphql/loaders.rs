//! DataLoaders: one query for all the agents a page of runs points at.

use async_graphql::dataloader::Loader;
use entity::agents;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;

/// Loads agents by (organisation, id); a key of another organisation finds nothing.
pub struct AgentLoader(pub DatabaseConnection);

impl Loader<(String, String)> for AgentLoader {
    type Value = agents::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), agents::Model>, Self::Error> {
        let ids: Vec<&str> = keys.iter().map(|(_, id)| id.as_str()).collect();
        let found = agents::Entity::find()
            .filter(agents::Column::Id.is_in(ids))
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        Ok(found
            .into_iter()
            .map(|a| ((a.org_id.clone(), a.id.clone()), a))
            .filter(|(k, _)| keys.contains(k))
            .collect())
    }
}
