//! What the bus sends to other instances, and the trait a transport between instances
//! implements (Redis pub/sub today, in `redis.rs`). The bus knows only this trait, so a
//! transport can be swapped or added without touching it.

use super::RunEvent;
use entity::{gates, knowledge_documents, runs};
use serde::{Deserialize, Serialize};

/// What crosses between instances.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", content = "p", rename_all = "snake_case")]
pub enum Message {
    /// A stored run event.
    Event(RunEvent),
    /// A run's new state.
    Run(Box<runs::Model>),
    /// A gate's new state (opened or resolved).
    Gate(Box<gates::Model>),
    /// Stop a run (its executor may be on any instance).
    Cancel(String),
    /// A run was queued.
    Work,
    /// Webhook deliveries were committed, due now.
    Deliveries,
    /// A knowledge document's new state (uploaded, progressing, indexed, failed).
    Document(Box<knowledge_documents::Model>),
    /// Knowledge documents were queued for indexing.
    Indexing,
    /// An API key was revoked: refuse it and end its streams (by key id).
    Revoke(String),
}

/// Carries the bus's messages to every other instance.
pub trait Transport: Send + Sync {
    /// Sends `message` to the other instances, off the caller's path; a message lost on
    /// the way only delays a reader, which re-reads the log now and then.
    fn send(&self, message: Message);
}
