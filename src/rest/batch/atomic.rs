//! Atomic batches: every operation on one transaction; the first failure rolls it back,
//! the rest are not attempted, and the answer (422 `batch_rolled_back`) says which
//! operation failed, with its answer, and that the ones before it were rolled back.

use super::dispatch::{Dispatcher, Outcome};
use super::parse::Operation;
use super::txn::BatchTxn;
use crate::error::{AppResult, Code};
use crate::http::problem;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Runs `ops` all or nothing.
pub async fn run(
    d: &Dispatcher<'_>,
    mut txn: BatchTxn<'_>,
    ops: &[Operation],
) -> AppResult<Response> {
    let mut results: Vec<Outcome> = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let outcome = match d.prepare(index, op) {
            Ok(prepared) => {
                let unit = txn.unit().await?;
                d.send(prepared.request, Some(&unit)).await
            }
            Err(err) => Outcome::error(err).await,
        };
        if !outcome.ok() {
            txn.rollback().await?;
            return Ok(rolled_back(index, op, &results, &outcome));
        }
        results.push(outcome);
    }
    // A failed commit kept nothing: the error is the batch's answer.
    txn.commit_or_fail().await?;
    let results: Vec<Value> = results.iter().map(Outcome::to_json).collect();
    Ok(Json(json!({ "results": results })).into_response())
}

/// The answer to a batch rolled back at operation `index`: the operations before it
/// (`rolled_back: true`) and the failed one, with the answers they gave.
fn rolled_back(index: usize, op: &Operation, before: &[Outcome], failed: &Outcome) -> Response {
    let code = failed.body["code"]
        .as_str()
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    let detail = format!(
        "operation {index} ({} {}) failed with {}{code}; the batch was rolled back: none of its operations' changes were kept",
        op.method, op.path, failed.status
    );
    let mut results: Vec<Value> = before
        .iter()
        .map(|o| {
            let mut r = o.to_json();
            r["rolled_back"] = json!(true);
            r
        })
        .collect();
    results.push(failed.to_json());
    let members = Map::from_iter([
        ("failed_operation".to_owned(), json!(index)),
        ("results".to_owned(), Value::Array(results)),
    ]);
    let code = Code::BatchRolledBack;
    problem::with_members(code.status(), code.as_str(), &detail, &[], members)
}
