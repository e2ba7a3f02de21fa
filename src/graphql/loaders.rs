//! DataLoaders: one query for all the agents a page of runs points at.

use crate::error::AppError;
use crate::service::Services;
use async_graphql::dataloader::Loader;
use entity::agents;
use std::collections::HashMap;
use std::sync::Arc;

/// Loads agents by (organisation, id); a key of another organisation finds nothing.
pub struct AgentLoader(pub Services);

impl Loader<(String, String)> for AgentLoader {
    type Value = Arc<agents::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Arc<agents::Model>>, Self::Error> {
        let found = crate::service::agents::by_keys(&self.0.db, keys)
            .await
            .map_err(Arc::new)?;
        Ok(found.into_iter().map(|(k, a)| (k, Arc::new(a))).collect())
    }
}
