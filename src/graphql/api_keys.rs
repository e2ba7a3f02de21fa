//! API keys in GraphQL.

use super::connection::{from_page, page_args};
use super::enums::ApiKeyMode;
use super::scalars::DateTime;
use super::{db, principal};
use crate::service::api_keys::{self as svc, NewKey};
use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object, Result, ID};
use entity::api_keys;

/// An API key (never its secret, which is shown once at creation).
pub struct ApiKey(pub api_keys::Model);

#[Object]
impl ApiKey {
    /// `key_...`
    pub async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// A label for people.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the key, to recognise it by.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    /// Granted scopes.
    async fn scopes(&self) -> Vec<String> {
        svc::scopes_of(&self.0)
    }
    /// `LIVE`, or `TEST` (runs use the mock provider).
    async fn mode(&self) -> ApiKeyMode {
        self.0.mode.into()
    }
    /// When the key was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the key was last used (to the minute).
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(Into::into)
    }
    /// When the key was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(Into::into)
    }
}

/// A key just created, with its secret: shown this once.
pub struct CreatedApiKey(svc::IssuedKey);

#[Object]
impl CreatedApiKey {
    /// `key_...`
    pub async fn id(&self) -> ID {
        ID(self.0.key.id.clone())
    }
    /// The whole key. Store it now: it cannot be shown again.
    async fn secret(&self) -> &str {
        &self.0.secret
    }
    /// A label for people.
    async fn name(&self) -> &str {
        &self.0.key.name
    }
    /// The first characters of the key.
    async fn prefix(&self) -> &str {
        &self.0.key.prefix
    }
    /// Granted scopes.
    async fn scopes(&self) -> Vec<String> {
        svc::scopes_of(&self.0.key)
    }
    /// `LIVE` or `TEST`.
    async fn mode(&self) -> ApiKeyMode {
        self.0.key.mode.into()
    }
    /// When the key was created.
    async fn created_at(&self) -> DateTime {
        self.0.key.created_at.into()
    }
}

/// A new API key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// A label for people.
    pub name: String,
    /// Scopes to grant; at most the creator's own.
    pub scopes: Vec<String>,
    /// Make an `os_test_` key (runs use the mock provider).
    #[graphql(default)]
    pub test: bool,
}

/// API key queries.
#[derive(Default)]
pub struct ApiKeysQuery;

#[Object]
impl ApiKeysQuery {
    /// One API key by id.
    async fn api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        Ok(ApiKey(svc::get(db(ctx), principal(ctx), &id).await?))
    }

    /// The organisation's API keys, newest first.
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, ApiKey>> {
        let page = svc::list(
            db(ctx),
            principal(ctx),
            &page_args(first, after, last, before),
        )
        .await?;
        Ok(from_page(page, ApiKey))
    }
}

/// API key mutations.
#[derive(Default)]
pub struct ApiKeysMutation;

#[Object]
impl ApiKeysMutation {
    /// Creates a key; its secret is in the answer and nowhere else, ever.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> Result<CreatedApiKey> {
        let new = NewKey {
            name: input.name,
            scopes: input.scopes,
            test: input.test,
        };
        Ok(CreatedApiKey(
            svc::create(db(ctx), principal(ctx), new).await?,
        ))
    }

    /// Revokes a key at once; requests with it fail from now on.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        let (s, p) = super::caller(ctx);
        Ok(ApiKey(svc::revoke(s, p, &id).await?))
    }
}
