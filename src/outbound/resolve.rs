//! The DNS resolver of the outbound client: it resolves a name, refuses it when any of
//! its addresses breaks a rule, and hands the client only the addresses it checked, so
//! the connection goes where the check looked (no window for DNS rebinding).

use super::guard::{Guard, Rule};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Why a name was not handed to the client; found again in the request error's sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// One of the name's addresses breaks this rule.
    Rule(Rule),
    /// The name has no address.
    Unresolvable,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Rule(rule) => write!(f, "resolves to {rule}"),
            Refusal::Unresolvable => f.write_str("could not be resolved"),
        }
    }
}

impl std::error::Error for Refusal {}

/// A resolver that only returns addresses the guard accepts.
pub struct GuardedResolver {
    pub(super) guard: Arc<Guard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = checked_addrs(&guard, &host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Resolves `host` and returns its addresses when the guard accepts every one of them:
/// the one rule for names, used by the client's resolver at send time and by
/// [`super::Outbound::check_url_resolved`] at save time.
pub(super) async fn checked_addrs(guard: &Guard, host: &str) -> Result<Vec<SocketAddr>, Refusal> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, 0)).await {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable);
    }
    let allowed = guard.host_allowed(host);
    // One bad address refuses the name: the client could pick any of them.
    for addr in &addrs {
        guard.check(addr.ip(), allowed).map_err(Refusal::Rule)?;
    }
    Ok(addrs)
}
