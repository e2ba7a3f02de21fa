//! The parameters of a GraphQL-over-HTTP request (`query`, `operationName`, `variables`,
//! `extensions`), from a JSON body (one object per request; a batch is an array of them)
//! or from a GET query string.

use serde_json::{Map, Value};

/// The parameters of a GraphQL request.
pub(super) struct Params {
    /// The document.
    pub query: String,
    /// The operation to run, when the document has several.
    pub operation_name: Option<String>,
    /// The variables.
    pub variables: Option<Map<String, Value>>,
}

/// The parameters of one GraphQL request object, or what is wrong with it.
pub(super) fn params_from_json(v: Value) -> Result<Params, String> {
    let Value::Object(mut obj) = v else {
        return Err("a GraphQL request must be a JSON object".into());
    };
    let query = match obj.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("the request has no `query`".into()),
    };
    let operation_name = match obj.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("`operationName` must be a string or null".into()),
    };
    let variables = match obj.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err("`variables` must be an object or null".into()),
    };
    match obj.remove("extensions") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err("`extensions` must be an object or null".into()),
    }
    Ok(Params {
        query,
        operation_name,
        variables,
    })
}

pub(super) fn params_from_query_string(qs: &str) -> Result<Params, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(qs).map_err(|_| "the query string is not valid".to_string())?;
    let mut obj = Map::new();
    for (k, v) in pairs {
        let value = match k.as_str() {
            "variables" | "extensions" if !v.is_empty() => {
                serde_json::from_str(&v).map_err(|_| format!("`{k}` must be URL-encoded JSON"))?
            }
            _ => Value::String(v),
        };
        obj.insert(k, value);
    }
    params_from_json(Value::Object(obj))
}
