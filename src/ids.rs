//! Prefixed, time-sortable identifiers: `<prefix>_<ulid>` in lower case. The prefix
//! names the type, which is what lets `node(id:)` find any object from its id alone.

/// Every kind of object with an id, and its prefix: the one table `node(id:)` and id
/// checks read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An organisation (`org_`).
    Org,
    /// An API key (`key_`).
    ApiKey,
    /// An agent (`agt_`).
    Agent,
    /// A version of an agent (`agv_`).
    AgentVersion,
    /// A run (`run_`).
    Run,
    /// A step of a run's trace (`stp_`).
    RunStep,
    /// An approval gate (`gate_`).
    Gate,
    /// A webhook endpoint (`wh_`).
    WebhookEndpoint,
    /// A webhook event, the `webhook-id` of its deliveries (`msg_`).
    WebhookEvent,
    /// One event's delivery to one endpoint (`dlv_`).
    WebhookDelivery,
    /// One attempt of a delivery (`att_`).
    WebhookAttempt,
    /// A knowledge base (`kb_`).
    KnowledgeBase,
    /// A document of a knowledge base (`doc_`).
    KnowledgeDocument,
    /// A chunk of an indexed document (`chk_`).
    KnowledgeChunk,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 14] = [
        Self::Org,
        Self::ApiKey,
        Self::Agent,
        Self::AgentVersion,
        Self::Run,
        Self::RunStep,
        Self::Gate,
        Self::WebhookEndpoint,
        Self::WebhookEvent,
        Self::WebhookDelivery,
        Self::WebhookAttempt,
        Self::KnowledgeBase,
        Self::KnowledgeDocument,
        Self::KnowledgeChunk,
    ];

    /// The id prefix of this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::ApiKey => "key",
            Self::Agent => "agt",
            Self::AgentVersion => "agv",
            Self::Run => "run",
            Self::RunStep => "stp",
            Self::Gate => "gate",
            Self::WebhookEndpoint => "wh",
            Self::WebhookEvent => "msg",
            Self::WebhookDelivery => "dlv",
            Self::WebhookAttempt => "att",
            Self::KnowledgeBase => "kb",
            Self::KnowledgeDocument => "doc",
            Self::KnowledgeChunk => "chk",
        }
    }

    /// The kind of a well-formed id, if its prefix names one.
    pub fn of(id: &str) -> Option<Self> {
        let prefix = prefix_of(id)?;
        Self::ALL.into_iter().find(|k| k.prefix() == prefix)
    }
}

/// Organisation ids.
pub const ORG: &str = Kind::Org.prefix();
/// API key ids.
pub const API_KEY: &str = Kind::ApiKey.prefix();
/// Agent ids.
pub const AGENT: &str = Kind::Agent.prefix();
/// Agent version ids.
pub const AGENT_VERSION: &str = Kind::AgentVersion.prefix();
/// Run ids.
pub const RUN: &str = Kind::Run.prefix();
/// Run step ids.
pub const RUN_STEP: &str = Kind::RunStep.prefix();
/// Gate ids.
pub const GATE: &str = Kind::Gate.prefix();
/// Webhook endpoint ids.
pub const WEBHOOK_ENDPOINT: &str = Kind::WebhookEndpoint.prefix();
/// Webhook event ids (`webhook-id`).
pub const WEBHOOK_EVENT: &str = Kind::WebhookEvent.prefix();
/// Webhook delivery ids.
pub const WEBHOOK_DELIVERY: &str = Kind::WebhookDelivery.prefix();
/// Webhook attempt ids.
pub const WEBHOOK_ATTEMPT: &str = Kind::WebhookAttempt.prefix();

/// Knowledge base ids.
pub const KNOWLEDGE_BASE: &str = Kind::KnowledgeBase.prefix();
/// Knowledge document ids.
pub const KNOWLEDGE_DOCUMENT: &str = Kind::KnowledgeDocument.prefix();
/// Knowledge chunk ids.
pub const KNOWLEDGE_CHUNK: &str = Kind::KnowledgeChunk.prefix();

/// A new id of the given type: later ids sort after earlier ones.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The type prefix of an id, if it is well formed (`agt_01j...`).
pub fn prefix_of(id: &str) -> Option<&str> {
    let (prefix, rest) = id.split_once('_')?;
    (rest.len() == 26 && rest.chars().all(|c| c.is_ascii_alphanumeric())).then_some(prefix)
}

/// Whether a string has the shape of an OrchStack API key (`os_live_` or `os_test_`
/// and 24 to 128 letters or digits). Here, not in `auth`, so that the configuration
/// can check `bootstrap_key` without depending on `auth`.
pub fn looks_like_key(key: &str) -> bool {
    let body = key
        .strip_prefix("os_live_")
        .or_else(|| key.strip_prefix("os_test_"));
    body.is_some_and(|b| {
        b.len() >= 24 && b.len() <= 128 && b.bytes().all(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = new_id(AGENT);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id(AGENT);
        assert_eq!(prefix_of(&a), Some("agt"));
        assert!(a < b);
        assert_eq!(prefix_of("agt_short"), None);
        assert_eq!(prefix_of("nounderscore"), None);
    }

    #[test]
    fn every_kind_is_found_from_its_ids() {
        for kind in Kind::ALL {
            assert_eq!(Kind::of(&new_id(kind.prefix())), Some(kind));
        }
        assert_eq!(Kind::of(&new_id("zzz")), None);
        let mut prefixes: Vec<_> = Kind::ALL.iter().map(|k| k.prefix()).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        assert_eq!(prefixes.len(), Kind::ALL.len());
    }
}
