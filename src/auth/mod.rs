//! Who is calling: API keys, scopes and the principal every service call is made for.

pub mod authenticator;
pub mod keys;
pub mod principal;
pub mod scopes;

pub use authenticator::Authenticator;
pub use principal::Principal;
pub use scopes::Scope;
