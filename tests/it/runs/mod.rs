//! Runs (issue 3) end to end: triggering (sync, async, streamed), the trace, a real
//! OpenAI-format provider and HTTP tools on local servers, cancellation, timeouts,
//! conversation rules, lists, access and GraphQL.

mod cancel;
mod conversations;
mod graphql;
mod instances;
mod lists;
mod providers;
mod trigger;
