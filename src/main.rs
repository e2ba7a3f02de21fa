//! The `orchstack` binary: parses the command line and dispatches.

use clap::{Parser, Subcommand};
use orchstack::config::Config;
use orchstack::service::{api_keys, orgs};
use std::path::PathBuf;

// mimalloc instead of the system allocator: a run allocates many small, short-lived
// objects on several threads (the journal, SQLite's workers, the runtime); glibc malloc
// took a quarter of the server's CPU in the run benchmark (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// OrchStack: an API server for running AI agents in production.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML configuration file (environment variables override it).
    #[arg(long, global = true, env = "ORCHSTACK_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print the OpenAPI document.
    Openapi,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage organisations.
    Orgs {
        #[command(subcommand)]
        command: OrgsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Render one template request from stdin in this process, after limiting its
    /// memory and CPU (the server's template sandbox; not for people).
    #[command(name = "render-template", hide = true)]
    RenderTemplate {
        /// The process's data limit, in bytes.
        #[arg(long)]
        max_memory_bytes: u64,
        /// The process's CPU limit, in seconds.
        #[arg(long)]
        cpu_seconds: u64,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every setting with its default and documentation, as TOML (the
    /// committed `orchstack.example.toml`).
    Defaults,
}

#[derive(Subcommand)]
enum OrgsCommand {
    /// Create an organisation and print its id.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Plan tier: free, pro or enterprise.
        #[arg(long, default_value = "free")]
        tier: String,
    },
    /// Print an organisation as JSON.
    Get {
        /// Organisation id (org_...).
        id: String,
    },
    /// Change an organisation's tier or rate-limit overrides and print it as JSON.
    /// Running servers apply it within `auth_cache_ttl`.
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true)))]
    Update {
        /// Organisation id (org_...).
        id: String,
        /// New plan tier: free, pro or enterprise.
        #[arg(long, group = "change")]
        tier: Option<String>,
        /// Requests per minute for this organisation instead of its tier's.
        #[arg(long, group = "change", allow_negative_numbers = true)]
        requests_per_minute: Option<i64>,
        /// Burst (requests per second) for this organisation instead of its tier's.
        #[arg(long, group = "change", allow_negative_numbers = true)]
        burst: Option<i64>,
        /// Go back to the tier's rate limits (clears both overrides).
        #[arg(long, group = "change", conflicts_with_all = ["requests_per_minute", "burst"])]
        clear_rate_limits: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key and print it (shown once).
    Create {
        /// Organisation id (org_...).
        #[arg(long)]
        org: String,
        /// Comma list of scopes, e.g. agents:read,agents:write or *.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Make an os_test_ key (runs use the mock provider).
        #[arg(long)]
        test: bool,
        /// A label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn main() {
    let cli = Cli::parse();
    // The sandbox limits itself before anything else: no configuration, no runtime
    // threads, nothing from the server's environment.
    if let Some(Command::RenderTemplate {
        max_memory_bytes,
        cpu_seconds,
    }) = cli.command
    {
        std::process::exit(orchstack::templates::sandbox_main(
            max_memory_bytes,
            cpu_seconds,
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts");
    if let Err(err) = runtime.block_on(run(cli)) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // The defaults are printed whatever the file and environment say.
    if let Some(Command::Config {
        command: ConfigCommand::Defaults,
    }) = cli.command
    {
        print!("{}", orchstack::config::example_toml());
        return Ok(());
    }
    let loaded = Config::load_noted(cli.config.as_deref())?;
    let config = loaded.config;
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Serve) {
        for note in &loaded.notes {
            eprintln!("warning: {note}");
        }
    }
    match command {
        Command::Serve => serve(config, &loaded.notes).await,
        Command::Config { .. } => anyhow::bail!("config defaults runs before this"),
        Command::Schema => {
            print!("{}", orchstack::graphql::sdl());
            Ok(())
        }
        Command::Openapi => {
            println!("{}", orchstack::rest::openapi_document()?);
            Ok(())
        }
        Command::Migrate => {
            let db = orchstack::db::connect(&config).await?;
            orchstack::db::migrate(&db, &config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Orgs { command } => {
            let db = ready_db(&config).await?;
            let org = match command {
                OrgsCommand::Create { name, tier } => {
                    let org = orgs::create(&db, &name, orgs::Tier::parse(&tier)?).await?;
                    println!("{}", org.id);
                    return Ok(());
                }
                OrgsCommand::Get { id } => orgs::get(&db, &id).await?,
                OrgsCommand::Update {
                    id,
                    tier,
                    requests_per_minute,
                    burst,
                    clear_rate_limits,
                } => {
                    let clear = clear_rate_limits.then_some(None);
                    let change = orgs::OrgChange {
                        tier,
                        requests_per_minute: requests_per_minute.map(Some).or(clear),
                        burst_per_second: burst.map(Some).or(clear),
                    };
                    orgs::update(&db, &id, change).await?
                }
            };
            println!("{:#}", orgs::describe(&org));
            Ok(())
        }
        Command::Keys {
            command:
                KeysCommand::Create {
                    org,
                    scopes,
                    test,
                    name,
                },
        } => {
            let db = ready_db(&config).await?;
            orgs::get(&db, &org).await?;
            let issued =
                api_keys::issue(&db, &org, api_keys::NewKey { name, scopes, test }, None).await?;
            println!("{}", issued.secret);
            Ok(())
        }
        Command::RenderTemplate { .. } => anyhow::bail!("render-template runs before this"),
    }
}

async fn ready_db(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = orchstack::db::connect(config).await?;
    if config.migrate_on_start {
        orchstack::db::migrate(&db, config).await?;
    }
    Ok(db)
}

async fn serve(config: Config, notes: &[String]) -> anyhow::Result<()> {
    orchstack::telemetry::init(&config.log);
    for note in notes {
        tracing::warn!("{note}");
    }
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    let built = orchstack::build(config).await?;
    if let Some(key) = &built.generated_key {
        println!("Bootstrap admin API key (shown once, store it now): {key}");
    }
    tracing::info!(address = %listener.local_addr()?, "OrchStack listening");
    orchstack::serve(built.state, listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal received; draining in-flight requests");
}
