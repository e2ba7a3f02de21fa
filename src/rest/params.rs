//! Query-string parameters of REST routes: `limit`, `cursor`, `sort`, `fields` and the
//! filters a list's `filter` input type declares. Anything else is a 400.

use super::document::Operation;
use super::types::{named, snake, Coerce, Types};
use crate::error::{AppError, AppResult};
use crate::service::pagination;
use serde_json::{json, Map, Value};

/// The parsed query string of one request.
#[derive(Default)]
pub struct QueryParams {
    /// Variables to add (`first`, `after`, `orderBy`, `filter`).
    pub variables: Map<String, Value>,
    /// Fields chosen with `?fields=`.
    pub fields: Option<Vec<String>>,
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::BadRequest(msg.into())
}

/// Reads `raw` (the URL query) for a route whose result is a list (`list`) or not.
pub fn parse(raw: &str, op: &Operation, types: &Types, list: bool) -> AppResult<QueryParams> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|_| bad("the query string is not valid URL encoding"))?;
    let mut out = QueryParams::default();
    let mut filter = Map::new();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &pairs {
        if seen.contains(&key.as_str()) {
            return Err(bad(format!(
                "query parameter `{key}` is given more than once; use a comma list"
            )));
        }
        seen.push(key);
        let value = value.clone();
        match key.as_str() {
            "fields" => out.fields = Some(fields(&value, &op.selectable)?),
            "limit" if list => {
                let n: i64 = value.parse().map_err(|_| {
                    bad(format!(
                        "`limit` must be a whole number from 1 to {}",
                        pagination::MAX_LIMIT
                    ))
                })?;
                pagination::limit(Some(n))?;
                out.variables.insert("first".into(), json!(n));
            }
            "cursor" if list && op.variable("after").is_some() => {
                if value.is_empty() {
                    return Err(bad("`cursor` must not be empty"));
                }
                out.variables.insert("after".into(), json!(value));
            }
            "sort" if list && op.variable("orderBy").is_some() => {
                out.variables
                    .insert("orderBy".into(), sort(&value, op, types)?);
            }
            "sort" if list => {
                return Err(bad(
                    "this list has a fixed order; `sort` is not supported here",
                ))
            }
            // A plain argument of a non-list route (`q`, `top_k`, `mode` of a search);
            // path parameters are set after these, so a query cannot replace them.
            _ if !list && key != "input" && op.variable(key).is_some() => {
                let Some(ty) = op.variable(key) else { continue };
                let mut coerce = Coerce::new(types, true);
                let v = coerce.value(&Value::String(value), ty, &format!("/{key}"));
                if let Some(e) = coerce.errors.first() {
                    return Err(bad(format!("query parameter `{key}` {}", e.detail)));
                }
                out.variables.insert(key.clone(), v);
            }
            _ => {
                let field = op
                    .variable("filter")
                    .and_then(|t| types.input_fields(named(t)))
                    .and_then(|fs| fs.iter().find(|f| snake(&f.node.name.node) == *key));
                let Some(field) = field.filter(|_| list) else {
                    return Err(bad(format!("unknown query parameter `{key}`")));
                };
                let mut coerce = Coerce::new(types, true);
                let v = coerce.value(
                    &Value::String(value),
                    &field.node.ty.node,
                    &format!("/{key}"),
                );
                if let Some(e) = coerce.errors.first() {
                    return Err(bad(format!("query parameter `{key}` {}", e.detail)));
                }
                filter.insert(field.node.name.node.to_string(), v);
            }
        }
    }
    if !filter.is_empty() {
        out.variables.insert("filter".into(), Value::Object(filter));
    }
    Ok(out)
}

fn fields(value: &str, selectable: &[String]) -> AppResult<Vec<String>> {
    let wanted: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if wanted.is_empty() {
        return Err(bad("`fields` must name at least one field"));
    }
    if let Some(unknown) = wanted.iter().find(|w| !selectable.contains(w)) {
        return Err(bad(format!(
            "unknown field `{unknown}` in `fields`; known fields: {}",
            selectable.join(", ")
        )));
    }
    Ok(wanted)
}

/// `-created_at,name` → `[{field: CREATED_AT, direction: DESC}, {field: NAME, direction: ASC}]`,
/// checked against the enum the list's order input uses.
fn sort(value: &str, op: &Operation, types: &Types) -> AppResult<Value> {
    let allowed = op
        .variable("orderBy")
        .and_then(|t| types.input_fields(named(t)))
        .and_then(|fs| fs.iter().find(|f| f.node.name.node == "field"))
        .and_then(|f| types.enum_values(named(&f.node.ty.node)))
        .unwrap_or_default();
    let names: Vec<String> = allowed.iter().map(|v| v.to_ascii_lowercase()).collect();
    let mut keys = Vec::new();
    for item in value.split(',').map(str::trim) {
        let (desc, name) = match item.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, item.strip_prefix('+').unwrap_or(item)),
        };
        if !names.iter().any(|n| n == name) {
            return Err(bad(format!(
                "cannot sort by `{item}`; sortable fields: {} (prefix `-` for descending)",
                names.join(", ")
            )));
        }
        keys.push(json!({ "field": name.to_ascii_uppercase(), "direction": if desc { "DESC" } else { "ASC" } }));
    }
    Ok(Value::Array(keys))
}
