//! API keys. Only the SHA-256 hash of a key is stored; `prefix` is what lists display.
use sea_orm::entity::prelude::*;

/// One API key of an organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub name: String,
    /// The first characters of the key (`os_live_abcd`), safe to display.
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// JSON array of scope strings.
    pub scopes: Json,
    /// Whether the key's runs use real providers.
    pub mode: KeyMode,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

/// A key's mode, stored as `live` or `test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum KeyMode {
    /// Runs use the configured providers.
    #[sea_orm(string_value = "live")]
    Live,
    /// Runs use the mock provider.
    #[sea_orm(string_value = "test")]
    Test,
}

impl KeyMode {
    /// The stored (and REST) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn stored_values_are_the_names() {
        for m in KeyMode::iter() {
            assert_eq!(m.to_value(), m.as_str());
        }
    }
}
