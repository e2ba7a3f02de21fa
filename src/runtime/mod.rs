//! The agent runtime: model providers, tools, prompts and the executor that runs the
//! model/tool loop of one run.

pub mod deliveries;
pub mod executor;
mod finish;
pub mod prompt;
pub mod providers;
pub mod reaper;
pub mod steps;
pub mod tools;
pub mod versions;
pub mod worker;
