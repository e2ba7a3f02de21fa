//! `bench-stream`: the load generator of `bench/runs.sh` (DESIGN.md §8, issue 3).
//!
//! - `runs`: completed runs per second on the mock provider, sync or async;
//! - `fanout`: one run streamed to N concurrent GraphQL-over-SSE subscribers: latency from
//!   event append (`createdAt`) to client, and server memory per idle subscriber;
//! - `first-token`: latency the server adds between a provider's first streamed token
//!   (an embedded fake OpenAI-compatible server) and the client's first `token` event;
//! - `webhooks-receiver`: a webhook receiver measuring deliveries/s, ids per event and
//!   commit → first attempt latency (`bench/webhooks.sh`).
//!
//! Each subcommand prints one JSON object on stdout (the result) and progress on stderr.
//! Everything talks to 127.0.0.1 only.

mod api;
mod fanout;
mod first_token;
mod runs;
mod stats;
mod webhooks;

use clap::{Parser, Subcommand};

/// Result type of the benchmark code: errors are messages for the operator.
pub type Res<T> = Result<T, String>;

#[derive(Parser)]
#[command(
    name = "bench-stream",
    about = "OrchStack run benchmarks (bench/runs.sh)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where the server is and how to authenticate.
#[derive(clap::Args, Clone)]
pub struct Target {
    /// Server root, e.g. http://127.0.0.1:8092 (must be a loopback address).
    #[arg(long, default_value = "http://127.0.0.1:8092")]
    pub base: String,
    /// API key (sent as `Authorization: Bearer`).
    #[arg(long, env = "ORCHSTACK_BOOTSTRAP_KEY")]
    pub key: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// Completed runs per second (mock provider).
    Runs(runs::Args),
    /// One run streamed to N concurrent SSE subscribers.
    Fanout(fanout::Args),
    /// Latency added between the provider's first token and the client's first `token` event.
    FirstToken(first_token::Args),
    /// A webhook receiver: deliveries/s, ids per event, commit → first attempt latency.
    WebhooksReceiver(webhooks::Args),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Runs(args) => runs::main(args).await,
        Cmd::Fanout(args) => fanout::main(args).await,
        Cmd::FirstToken(args) => first_token::main(args).await,
        Cmd::WebhooksReceiver(args) => webhooks::main(args).await,
    };
    match result {
        Ok(report) => println!("{report}"),
        Err(err) => {
            eprintln!("bench-stream: {err}");
            std::process::exit(1);
        }
    }
}

/// Progress on stderr.
#[macro_export]
macro_rules! progress {
    ($($arg:tt)*) => { eprintln!("[bench-stream] {}", format!($($arg)*)) };
}
