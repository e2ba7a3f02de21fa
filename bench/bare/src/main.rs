//! `bench-bare`: the bound for the REST/GraphQL benchmark (see `bench/README.md`).
//!
//! A bare axum handler with no auth, no middleware, no GraphQL and no translation layer,
//! doing exactly one SQL statement per request against the same `agents` table the server
//! uses:
//!
//! - `GET /agents/{id}`     → `SELECT * FROM agents WHERE id = ? AND deleted_at IS NULL`
//! - `GET /agents?limit=N`  → `SELECT * FROM agents WHERE deleted_at IS NULL
//!   ORDER BY created_at DESC, id DESC LIMIT N`
//!
//! Env: `DATABASE_URL` (sqlite or postgres URL, required), `BARE_LISTEN`
//! (default `127.0.0.1:8091`), `BARE_MAX_CONNECTIONS` (optional pool size).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use sea_orm::{
    prelude::DateTimeWithTimeZone, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, DbErr, QueryResult, Statement, Value,
};
use serde::{Deserialize, Serialize};

const DEFAULT_LISTEN: &str = "127.0.0.1:8091";
const MAX_LIMIT: u64 = 100;

struct AppState {
    db: DatabaseConnection,
    get_sql: &'static str,
    list_sql: &'static str,
}

/// One `agents` row, columns in table order, serialized as snake_case JSON.
#[derive(Serialize)]
struct AgentRow {
    id: String,
    org_id: String,
    name: String,
    description: Option<String>,
    model: String,
    model_settings: serde_json::Value,
    instructions: String,
    tools: serde_json::Value,
    knowledge_ids: serde_json::Value,
    channels: serde_json::Value,
    metadata: serde_json::Value,
    version: i32,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

impl AgentRow {
    fn from_row(row: &QueryResult) -> Result<Self, DbErr> {
        let ts = |col: &str| -> Result<String, DbErr> {
            Ok(row.try_get::<DateTimeWithTimeZone>("", col)?.to_rfc3339())
        };
        Ok(Self {
            id: row.try_get("", "id")?,
            org_id: row.try_get("", "org_id")?,
            name: row.try_get("", "name")?,
            description: row.try_get("", "description")?,
            model: row.try_get("", "model")?,
            model_settings: row.try_get("", "model_settings")?,
            instructions: row.try_get("", "instructions")?,
            tools: row.try_get("", "tools")?,
            knowledge_ids: row.try_get("", "knowledge_ids")?,
            channels: row.try_get("", "channels")?,
            metadata: row.try_get("", "metadata")?,
            version: row.try_get("", "version")?,
            created_at: ts("created_at")?,
            updated_at: ts("updated_at")?,
            deleted_at: row
                .try_get::<Option<DateTimeWithTimeZone>>("", "deleted_at")?
                .map(|t| t.to_rfc3339()),
        })
    }
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<u64>,
}

enum BareError {
    NotFound,
    Db(DbErr),
}

impl From<DbErr> for BareError {
    fn from(e: DbErr) -> Self {
        Self::Db(e)
    }
}

impl IntoResponse for BareError {
    fn into_response(self) -> Response {
        match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({"error": "not_found"})),
            )
                .into_response(),
            Self::Db(e) => {
                eprintln!("bench-bare: database error: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(serde_json::json!({"error": "database_error"})),
                )
                    .into_response()
            }
        }
    }
}

async fn get_agent(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<AgentRow>, BareError> {
    let backend = st.db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, st.get_sql, [Value::from(id)]);
    let row = st
        .db
        .query_one_raw(stmt)
        .await?
        .ok_or(BareError::NotFound)?;
    Ok(Json(AgentRow::from_row(&row)?))
}

async fn list_agents(
    State(st): State<Arc<AppState>>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<AgentRow>>, BareError> {
    let limit = params.limit.unwrap_or(20).clamp(1, MAX_LIMIT) as i64;
    let backend = st.db.get_database_backend();
    let stmt = Statement::from_sql_and_values(backend, st.list_sql, [Value::from(limit)]);
    let rows = st.db.query_all_raw(stmt).await?;
    let agents = rows
        .iter()
        .map(AgentRow::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(agents))
}

fn sql_for(backend: DbBackend) -> (&'static str, &'static str) {
    match backend {
        DbBackend::Postgres => (
            "SELECT * FROM agents WHERE id = $1 AND deleted_at IS NULL",
            "SELECT * FROM agents WHERE deleted_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT $1",
        ),
        _ => (
            "SELECT * FROM agents WHERE id = ? AND deleted_at IS NULL",
            "SELECT * FROM agents WHERE deleted_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT ?",
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL must be set")?;
    let listen: SocketAddr = std::env::var("BARE_LISTEN")
        .unwrap_or_else(|_| DEFAULT_LISTEN.to_owned())
        .parse()?;

    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false);
    if let Ok(n) = std::env::var("BARE_MAX_CONNECTIONS") {
        opts.max_connections(n.parse()?);
    }
    let db = Database::connect(opts).await?;
    let (get_sql, list_sql) = sql_for(db.get_database_backend());

    let state = Arc::new(AppState {
        db,
        get_sql,
        list_sql,
    });
    let app = Router::new()
        .route("/agents", get(list_agents))
        .route("/agents/{id}", get(get_agent))
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("bench-bare listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
