//! The rules a webhook endpoint's fields follow; every broken rule is reported at once,
//! each with a JSON pointer into the input. The URL goes through the one outbound guard
//! (resolving host names now, so a name that points inside is refused when it is saved).

use crate::error::{AppError, AppResult, FieldError};
use crate::outbound::{Outbound, OutboundError};
use crate::webhooks::EventType;

/// Longest URL accepted.
pub const MAX_URL: usize = 2_048;
/// Longest description accepted.
pub const MAX_DESCRIPTION: usize = 500;
/// `events: ["*"]`: every type, the ones added later included.
pub const ALL_EVENTS: &str = "*";

/// Collects field errors.
#[derive(Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, detail));
    }

    /// The URL: well-formed, `https` (or `http` to an allow-listed host), and pointing
    /// at public addresses only (or allow-listed ones; never a metadata address).
    pub async fn url(&mut self, outbound: &Outbound, url: &str) {
        if url.chars().count() > MAX_URL {
            return self.fail("/url", format!("must be at most {MAX_URL} characters"));
        }
        let parsed = match outbound.check_url(url) {
            Ok(parsed) => parsed,
            Err(OutboundError::InvalidUrl) => {
                return self.fail("/url", "must be an https:// URL with a host")
            }
            Err(e) => return self.fail("/url", e.describe("the")),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return self.fail(
                "/url",
                "must not carry credentials; the signature authenticates deliveries",
            );
        }
        if parsed.scheme() != "https" && !outbound.is_allow_listed(&parsed) {
            return self.fail(
                "/url",
                "must use https:// (http:// only for hosts the operator allow-listed)",
            );
        }
        if let Err(e) = outbound.check_url_resolved(url).await {
            self.fail("/url", e.describe("the"));
        }
    }

    /// The event types: `["*"]`, or known subscribable names, each once.
    pub fn events(&mut self, events: &[String]) {
        let known: Vec<&str> = EventType::subscribable().map(EventType::as_str).collect();
        let most = known.len() + 1;
        if events.is_empty() {
            return self.fail(
                "/events",
                "must name at least one event type, or `*` for all",
            );
        }
        if events.len() > most {
            return self.fail("/events", format!("must have at most {most} entries"));
        }
        for (i, e) in events.iter().enumerate() {
            let pointer = format!("/events/{i}");
            if e == ALL_EVENTS {
                if events.len() > 1 {
                    self.fail(pointer, "`*` already means every type; give it alone");
                }
            } else if !known.contains(&e.as_str()) {
                let shown: String = e.chars().take(100).collect();
                self.fail(
                    pointer,
                    format!(
                        "unknown event type `{shown}`; known types: {}, or `*`",
                        known.join(", ")
                    ),
                );
            } else if events[..i].contains(e) {
                self.fail(pointer, format!("`{e}` is listed twice"));
            }
        }
    }

    /// The description: at most [`MAX_DESCRIPTION`] characters.
    pub fn description(&mut self, d: Option<&str>) {
        if d.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            self.fail(
                "/description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            );
        }
    }

    /// A field that may be left out but not set to `null`.
    pub fn not_null(&mut self, pointer: &str) {
        self.fail(
            pointer,
            "cannot be null; leave it out to keep the current value",
        );
    }

    /// `validation_failed` with every problem found, or nothing.
    pub fn finish(self) -> AppResult<()> {
        AppError::from_field_errors(self.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(list: &[&str]) -> Vec<String> {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        let mut c = Check::default();
        c.events(&list);
        c.errors.into_iter().map(|e| e.pointer).collect()
    }

    #[test]
    fn event_lists_are_bounded_known_and_unique() {
        assert!(events(&["*"]).is_empty());
        assert!(events(&["agent.run.completed", "agent.gate.pending"]).is_empty());
        assert_eq!(events(&[]), ["/events"]);
        assert_eq!(events(&["agent.run.completed", "nope"]), ["/events/1"]);
        assert_eq!(events(&["webhook.test"]), ["/events/0"]);
        assert_eq!(
            events(&["agent.run.failed", "agent.run.failed"]),
            ["/events/1"]
        );
        assert_eq!(events(&["*", "agent.run.failed"]), ["/events/0"]);
        let many = vec!["agent.run.failed"; 50];
        assert_eq!(events(&many), ["/events"]);
    }
}
