//! Loading: defaults < optional TOML file < `ORCHSTACK_*` environment, then the old
//! names of renamed settings, then validation.

use super::{renamed, Config};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::Path;

/// A loaded configuration and what the operator should hear about it once logging is
/// up (old setting names in use).
#[derive(Debug)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// Warnings to log at start-up.
    pub notes: Vec<String>,
}

impl Config {
    /// Loads the configuration from its layers and validates it.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self::load_noted(file)?.config)
    }

    /// [`load`](Self::load), also returning the warnings to log.
    pub fn load_noted(file: Option<&Path>) -> anyhow::Result<Loaded> {
        let mut user = Figment::new();
        if let Some(file) = file {
            anyhow::ensure!(
                file.exists(),
                "config file {} does not exist",
                file.display()
            );
            user = user.merge(Toml::file(file));
        }
        let user = user
            .merge(Env::prefixed("ORCHSTACK_").split("__"))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]));
        let (renamed, notes) = renamed::translate(&user)?;
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(user)
            .merge(renamed)
            .extract()?;
        config.validate()?;
        Ok(Loaded { config, notes })
    }
}
