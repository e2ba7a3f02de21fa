//! The batch body, `{"operations": [{"method", "path", "body"?, "headers"?}], "atomic"?}`,
//! checked in one pass so that every problem comes back at once, each at its JSON pointer.
//! Only the shape is checked here: what an operation asks for (its route, its method, a
//! stream) is judged per operation, as it would be if it were sent alone.

use crate::error::{AppError, AppResult, FieldError};
use crate::http::MAX_BATCH_OPERATIONS;
use serde_json::{Map, Value};

/// One operation of a batch, as the client wrote it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The HTTP method (upper-cased; the standard methods are all upper case).
    pub method: String,
    /// The path, with its query string if any.
    pub path: String,
    /// The JSON body (`None` when absent or `null`: the request has no body).
    pub body: Option<Value>,
    /// The operation's own headers, as written (judged against the allow-list later).
    pub headers: Vec<(String, String)>,
}

/// A parsed batch.
#[derive(Debug)]
pub struct Batch {
    /// The operations, in order.
    pub operations: Vec<Operation>,
    /// All changes in one transaction, or none at all.
    pub atomic: bool,
}

/// RFC 6901: `~` and `/` in a member name are escaped.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn unknown(errors: &mut Vec<FieldError>, at: &str, obj: &Map<String, Value>, known: &[&str]) {
    for name in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        let list = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(FieldError::new(
            format!("{at}/{}", escape(name)),
            format!("unknown member; expected {list}"),
        ));
    }
}

/// Reads a batch body (a JSON object; `read_json_body` made sure of that much).
pub fn batch(value: Value) -> AppResult<Batch> {
    let Value::Object(mut obj) = value else {
        return Err(AppError::invalid("/", "must be a JSON object"));
    };
    let mut errors = Vec::new();
    unknown(&mut errors, "", &obj, &["operations", "atomic"]);
    let atomic = match obj.remove("atomic") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => {
            errors.push(FieldError::new("/atomic", "must be true or false"));
            false
        }
    };
    let items = match obj.remove("operations") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            errors.push(FieldError::new("/operations", "is required"));
            Vec::new()
        }
        Some(_) => {
            errors.push(FieldError::new(
                "/operations",
                "must be a list of operations",
            ));
            Vec::new()
        }
    };
    // Refused before anything else is looked at: the size alone decides.
    if items.len() > MAX_BATCH_OPERATIONS {
        return Err(AppError::BatchTooLarge(MAX_BATCH_OPERATIONS));
    }
    if items.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "/operations",
            "must hold at least one operation",
        ));
    }
    let operations = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| operation(&mut errors, &format!("/operations/{i}"), item))
        .collect();
    AppError::from_field_errors(errors)?;
    Ok(Batch { operations, atomic })
}

fn operation(errors: &mut Vec<FieldError>, at: &str, item: Value) -> Option<Operation> {
    let Value::Object(mut obj) = item else {
        errors.push(FieldError::new(
            at,
            "must be an object with `method` and `path`",
        ));
        return None;
    };
    unknown(errors, at, &obj, &["method", "path", "body", "headers"]);
    let mut text = |name: &str| match obj.remove(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(format!("{at}/{name}"), "must not be empty"));
            None
        }
        None | Some(Value::Null) => {
            errors.push(FieldError::new(format!("{at}/{name}"), "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(format!("{at}/{name}"), "must be a string"));
            None
        }
    };
    let method = text("method");
    let path = text("path");
    let body = obj.remove("body").filter(|b| !b.is_null());
    let headers = match obj.remove("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(headers)) => headers
            .into_iter()
            .filter_map(|(name, value)| match value {
                Value::String(v) => Some((name, v)),
                _ => {
                    errors.push(FieldError::new(
                        format!("{at}/headers/{}", escape(&name)),
                        "must be a string",
                    ));
                    None
                }
            })
            .collect(),
        Some(_) => {
            errors.push(FieldError::new(
                format!("{at}/headers"),
                "must be an object of header names and string values",
            ));
            Vec::new()
        }
    };
    Some(Operation {
        method: method?.to_ascii_uppercase(),
        path: path?,
        body,
        headers,
    })
}
