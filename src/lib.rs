//! OrchStack: an API server for running AI agents in production.
//!
//! [`build`] connects, migrates and assembles the state; [`router`] is the whole HTTP
//! surface; [`serve`] runs it until a shutdown signal. Tests call the same three.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod knowledge;
pub mod outbound;
pub mod ratelimit;
pub mod rest;
pub mod runtime;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod templates;
pub mod webhooks;

use config::Config;
use state::AppState;
use std::future::Future;
use std::sync::Arc;

/// What [`build`] produced.
pub struct Built {
    /// The state to serve.
    pub state: AppState,
    /// A bootstrap admin key generated on this start (shown once), if any.
    pub generated_key: Option<String>,
}

/// Validates the configuration, connects to the database, migrates (when configured),
/// bootstraps the first key and assembles the state.
pub async fn build(config: Config) -> anyhow::Result<Built> {
    config.validate()?;
    // Parses `outbound.allow`: a bad entry stops the boot here, before any connection.
    let outbound = outbound::Outbound::new(&config.outbound)?;
    let mut db = db::connect(&config).await?;
    let db_stats = db::count_statements(&mut db);
    if config.migrate_on_start {
        db::migrate(&db, &config).await?;
    }
    let generated_key = db::bootstrap(&db, &config).await?;
    let config = Arc::new(config);
    let auth = auth::Authenticator::new(db.clone(), config.auth_cache_ttl);
    let limiter = ratelimit::Limiter::new(&config.rate_limits, config.redis_url.as_deref())?;
    let rate_limits = http::rate_limit::RateLimits::new(limiter, &config.rate_limits);
    let bus = Arc::new(events::bus::Bus::default());
    let streams = http::streams::Streams::new(&config.streams, auth.clone());
    {
        // Before Redis delivers anything: a revocation heard from any instance refuses
        // the key here and ends its streams.
        let (auth, streams) = (auth.clone(), streams.clone());
        bus.on_key_revoked(move |key_id| {
            auth.revoke(key_id);
            streams.revoke(key_id);
        });
    }
    let instance_id = ids::new_id("inst");
    if let Some(url) = &config.redis_url {
        events::redis::connect(url, &instance_id, &bus).await?;
    }
    let providers = Arc::new(runtime::providers::Providers::new(&config.providers));
    // On PostgreSQL the journal opens its own two connections on its thread (one
    // transaction at a time, and one spare for a batch's one-by-one retry).
    let own_db: Option<events::journal::OwnDb> = config.is_postgres().then(|| {
        let (config, stats) = (config.clone(), db_stats.clone());
        let open: events::journal::OwnDb = Box::pin(async move {
            let mut own = db::connect_with(&config, 2).await?;
            db::count_into(&mut own, stats);
            Ok(own)
        });
        open
    });
    let journal =
        events::journal::Journal::spawn(db.clone(), own_db, bus.clone(), config.worker.lease_ttl);
    let retriever = runtime::retrieval::Retriever {
        embedder: runtime::providers::embeddings::Embedder::new(
            &config.providers,
            config.knowledge.embedding_batch,
            config.knowledge.embedding_timeout,
        ),
        cache: knowledge::search::VectorCache::new(config.knowledge.vector_cache_mib),
    };
    let executor = runtime::executor::Executor {
        db: db.clone(),
        bus: bus.clone(),
        providers,
        outbound: outbound.clone(),
        templates: templates::Renderer::new(&config.templates)?,
        config: config.clone(),
        journal: journal.clone(),
        versions: runtime::versions::cache(),
        retriever: retriever.clone(),
    };
    let agent_rules = service::agents::AgentRules {
        outbound,
        max_steps_limit: config.runs.max_steps_limit,
        max_gate_timeout: config.gates.max_timeout,
    };
    let knowledge = service::knowledge::Knowledge {
        retriever,
        blobs: knowledge::blobs::Store::from_config(&config.knowledge.blob_dir),
    };
    let services = service::Services {
        db: db.clone().into(),
        bus: bus.clone(),
        journal,
        config: config.clone(),
        auth: auth.clone(),
        agent_rules,
        knowledge,
    };
    let schema = graphql::build_schema(&config, services.clone());
    let rest = Arc::new(rest::RestApi::new(&schema)?);
    let state = AppState {
        db,
        db_stats,
        config,
        auth,
        schema,
        rest,
        bus,
        executor,
        streams,
        services,
        rate_limits,
        instance_id,
    };
    Ok(Built {
        state,
        generated_key,
    })
}

/// The complete HTTP surface. Assembled here, at the root, because it is the one place
/// that knows every API (GraphQL, REST, health); each handler takes only its own part of
/// the state (see `state.rs`).
pub fn router(state: AppState) -> axum::Router {
    use axum::middleware::from_fn_with_state;
    use http::idempotency::{Api, Idempotency};
    let routes = routes(&state);
    // A batch's operations go through everything a lone request goes through (layers,
    // fallback, auth, idempotency), in-process; the batch route itself is not among them.
    let operations = http::layers(routes.clone()).with_state(state.clone());
    let keys = Idempotency::new(state.services.clone(), Api::Rest, problem);
    let batch = rest::batch::Batch::new(
        operations,
        state.rest.clone(),
        state.services.clone(),
        state.config.body_limit_bytes,
    )
    .routes();
    // A key on the batch request keys the whole batch: its unit holds every operation.
    let batch = with_keys(batch, keys);
    // The batch request costs one request; each operation costs its own on the way in.
    let batch = http::rate_limit::RateGate::new(state.rate_limits.clone())
        .guard(batch)
        .route_layer(http::shared::SharedLayer)
        .route_layer(from_fn_with_state(
            http::auth::Gate::new(state.auth.clone()),
            http::auth::require_principal,
        ));
    http::layers(routes.merge(batch)).with_state(state)
}

/// `routes` behind the idempotency layer, unless `idempotency.enabled` is off.
fn with_keys(
    routes: axum::Router<AppState>,
    keys: http::idempotency::Idempotency,
) -> axum::Router<AppState> {
    match keys.enabled() {
        true => routes.route_layer(http::idempotency::IdempotencyLayer::new(keys)),
        false => routes,
    }
}

/// How the REST layers refuse: the error's problem+json.
fn problem(_: &axum::extract::Request, err: error::AppError) -> axum::response::Response {
    axum::response::IntoResponse::into_response(err)
}

/// Every route but `POST /v1/batch`, without the shared layers.
fn routes(state: &AppState) -> axum::Router<AppState> {
    use axum::middleware::from_fn_with_state;
    use axum::routing::{get, post};
    use http::auth::{require_principal, Gate};
    use http::idempotency::{Api, Idempotency};
    use http::rate_limit::RateGate;
    let gate = Gate::new(state.auth.clone());
    let rate = RateGate::new(state.rate_limits.clone());
    let problem: http::auth::Refusal = problem;
    let keys = |api, refuse| Idempotency::new(state.services.clone(), api, refuse);
    // Each group, outside in: auth, the rate limit (it charges the principal's
    // organisation; a replay costs a request too), then idempotency keys (per
    // organisation); every refusal in the shape the group's clients read.
    let graphql = axum::Router::new()
        .route(
            "/graphql",
            get(graphql::http::get).post(graphql::http::post),
        )
        .route("/graphql/stream", post(graphql::sse::handler));
    let graphql = with_keys(graphql, keys(Api::Graphql, graphql::http::refuse));
    let graphql = rate
        .clone()
        .refusing_with(graphql::http::refuse)
        .pricing_documents()
        .guard(graphql)
        .route_layer(http::shared::SharedLayer)
        .route_layer(from_fn_with_state(
            gate.clone().refusing_with(graphql::http::refuse),
            require_principal,
        ));
    let rest = with_keys(rest::routes(&state.rest), keys(Api::Rest, problem));
    let rest = rate
        .guard(rest)
        .route_layer(http::shared::SharedLayer)
        .route_layer(from_fn_with_state(gate, require_principal));
    axum::Router::new()
        .merge(graphql)
        .merge(rest)
        // Authenticated in `connection_init`, not by header; rate-limited per message.
        .route("/graphql/ws", get(graphql::ws::handler))
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .route("/openapi.json", get(rest::openapi::serve))
}

/// Serves until `shutdown` resolves. Then every stream ends (a final SSE event, a
/// WebSocket close frame), the worker stops claiming runs, and the rest of the requests
/// get `shutdown.timeout` to finish before the server stops anyway. What the journal
/// holds is always committed before the database closes.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = state.db.clone();
    let journal = state.executor.journal.clone();
    let streams = state.streams.clone();
    let deadline = state.config.shutdown.timeout;
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = state.config.worker.enabled.then(|| {
        let (executor, owner) = (state.executor.clone(), state.instance_id.clone());
        tokio::spawn(runtime::worker::run(
            executor,
            owner,
            state.config.worker.clone(),
            stop.clone(),
        ))
    });
    // Webhook deliveries go out from the instances that run workers (their leases live on
    // the same heartbeat).
    let deliveries = (state.config.worker.enabled && state.config.webhooks.enabled).then(|| {
        let deliverer = runtime::deliveries::Deliverer {
            db: state.db.clone(),
            bus: state.bus.clone(),
            outbound: state.executor.outbound.clone(),
            config: state.config.webhooks.clone(),
            turn: state.executor.journal.write_turn(),
        };
        tokio::spawn(runtime::deliveries::run(
            deliverer,
            state.instance_id.clone(),
            state.config.worker.lease_ttl,
            stop.clone(),
        ))
    });
    let indexer = state.config.worker.enabled.then(|| {
        let indexer = runtime::indexer::Indexer {
            db: state.db.clone(),
            bus: state.bus.clone(),
            embedder: state.services.knowledge.retriever.embedder.clone(),
            blobs: state.services.knowledge.blobs.clone(),
            config: state.config.knowledge.clone(),
            turn: state.executor.journal.write_turn(),
        };
        tokio::spawn(runtime::indexer::run(
            indexer,
            state.instance_id.clone(),
            state.config.worker.lease_ttl,
            state.config.worker.shutdown_grace,
            stop.clone(),
        ))
    });
    let (stop_http, streams_http) = (stop.clone(), streams.clone());
    use axum::serve::ListenerExt;
    // Small SSE writes (one token) must not wait for the client's ACK (Nagle).
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(error = %err, "could not set TCP_NODELAY");
        }
    });
    // One router shared by every connection (not rebuilt per connection).
    let server = axum::serve(listener, router(state).into_make_service()).with_graceful_shutdown(
        async move {
            shutdown.await;
            // Stop claiming runs as soon as the signal comes, while requests drain; streams
            // never end by themselves, so they are told to.
            stop_http.cancel();
            streams_http.shut_down();
        },
    );
    let drained = async {
        let served = server.await;
        streams.shut_down();
        // Upgraded WebSockets are not the HTTP server's connections: wait for their close
        // frames too.
        streams.drained().await;
        served
    };
    let hard_stop = async {
        streams.shutting_down().await;
        tokio::time::sleep(deadline).await;
    };
    let served = tokio::select! {
        served = drained => served.map_err(anyhow::Error::from),
        () = hard_stop => {
            tracing::warn!(?deadline, "requests still open at the shutdown deadline; stopping anyway");
            Ok(())
        }
    };
    stop.cancel();
    if let Some(deliveries) = deliveries {
        let _ = deliveries.await;
    }
    if let Some(indexer) = indexer {
        let _ = indexer.await;
    }
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    // What runs recorded last (their endings) is committed before the pool closes, however
    // serving ended.
    journal.flush().await;
    let closed = db.close().await;
    served?;
    closed?;
    Ok(())
}
