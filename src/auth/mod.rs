//! Who is calling: API keys, scopes and the principal every service call is made for.

pub mod authenticator;
pub mod keys;
pub mod principal;
pub mod scopes;
pub mod store;
pub mod tier;

pub use authenticator::Authenticator;
pub use principal::Principal;
pub use scopes::Scope;
pub use tier::Tier;
