//! Approval gates end to end: a fake OpenAI-format model (a local HTTP server) asks for a
//! tool that needs approval, a local HTTP tool records what it receives, and the test
//! approves, rejects, edits or lets the gate expire through the real API.

mod api;
mod flow;
mod live;
mod outbox;
mod sse;
pub(crate) mod support;
mod validation;
