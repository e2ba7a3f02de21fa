//! The agent runtime: model providers, tools, prompts and the executor that runs the
//! model/tool loop of one run.

mod approval;
pub mod deliveries;
pub mod executor;
mod finish;
pub mod gates;
pub mod indexer;
pub mod prompt;
pub mod providers;
pub mod reaper;
mod resume;
pub mod retrieval;
mod slots;
pub mod steps;
pub mod tools;
pub mod versions;
pub mod worker;
