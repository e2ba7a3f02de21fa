//! The OpenAPI 3.1 document, generated from the route table and the schema's types:
//! request bodies from the input types, responses from the stored selections.

use super::table::Shape;
use super::types::{named, snake, Types};
use super::{CompiledRoute, RestApi};
use crate::state::AppState;
use async_graphql::parser::types::{BaseType, Selection, SelectionSet, Type};
use axum::extract::State;
use axum::response::IntoResponse;
use http::header;
use serde_json::{json, Map, Value};

/// `GET /openapi.json`.
pub async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.rest.openapi.clone(),
    )
}

struct Gen<'a> {
    types: &'a Types,
    components: Map<String, Value>,
}

fn nullable(schema: Value, nullable: bool) -> Value {
    if !nullable {
        return schema;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some(t) => {
            let mut s = schema.clone();
            s["type"] = json!([t, "null"]);
            s
        }
        None if schema.as_object().is_some_and(|o| o.is_empty()) => schema,
        None => json!({ "anyOf": [schema, { "type": "null" }] }),
    }
}

impl Gen<'_> {
    fn scalar(&self, name: &str) -> Option<Value> {
        Some(match name {
            "String" | "ID" => json!({ "type": "string" }),
            "Int" => json!({ "type": "integer", "format": "int32" }),
            "Float" => json!({ "type": "number" }),
            "Boolean" => json!({ "type": "boolean" }),
            "DateTime" => json!({ "type": "string", "format": "date-time" }),
            "JSON" => json!({}),
            _ => {
                self.types.enum_values(name)?;
                json!({ "type": "string", "enum": super::enums::rest_enum_values(name) })
            }
        })
    }

    fn input(&mut self, ty: &Type) -> Value {
        let schema = match &ty.base {
            BaseType::List(inner) => json!({ "type": "array", "items": self.input(inner) }),
            BaseType::Named(n) => match self.scalar(n) {
                Some(s) => s,
                None => self.input_object(n),
            },
        };
        nullable(schema, ty.nullable)
    }

    fn input_object(&mut self, name: &str) -> Value {
        if !self.components.contains_key(name) {
            self.components.insert(name.to_owned(), json!({}));
            let fields = self
                .types
                .input_fields(name)
                .map(<[_]>::to_vec)
                .unwrap_or_default();
            let mut props = Map::new();
            let mut required = Vec::new();
            for f in fields {
                let key = snake(&f.node.name.node);
                let mut schema = self.input(&f.node.ty.node);
                if let (Some(d), Some(obj)) = (&f.node.description, schema.as_object_mut()) {
                    obj.insert("description".into(), json!(d.node));
                }
                if !f.node.ty.node.nullable && f.node.default_value.is_none() {
                    required.push(key.clone());
                }
                props.insert(key, schema);
            }
            self.components.insert(
                name.to_owned(),
                json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false }),
            );
        }
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    fn output(&self, ty: &Type, selection: &SelectionSet) -> Value {
        let schema = match &ty.base {
            BaseType::List(inner) => {
                json!({ "type": "array", "items": self.output(inner, selection) })
            }
            BaseType::Named(n) => self
                .scalar(n)
                .unwrap_or_else(|| self.selection(n, selection)),
        };
        nullable(schema, ty.nullable)
    }

    fn selection(&self, parent: &str, set: &SelectionSet) -> Value {
        let mut props = Map::new();
        for item in &set.items {
            let Selection::Field(f) = &item.node else {
                continue;
            };
            let key = f
                .node
                .alias
                .as_ref()
                .unwrap_or(&f.node.name)
                .node
                .to_string();
            let schema = match self.types.field_type(parent, &f.node.name.node) {
                Some(ty) => self.output(ty, &f.node.selection_set.node),
                None => json!({}),
            };
            props.insert(key, schema);
        }
        let required: Vec<&String> = props.keys().collect();
        json!({ "type": "object", "properties": props, "required": required })
    }

    fn body(&self, route: &CompiledRoute) -> Value {
        let list = route.def.shape == Shape::List;
        let mut parent = route.op.root_type().to_owned();
        for name in &route.op.field_names {
            parent = self
                .types
                .field_type(&parent, name)
                .map(|t| named(t).to_owned())
                .unwrap_or_default();
        }
        match route.def.shape {
            Shape::Object => self.selection(&parent, route.op.target(false)),
            Shape::Stream => json!({
                "type": "string",
                "description": "Server-Sent Events: `id` is the event's sequence number, `event` its type, `data` its JSON payload. Send `Last-Event-ID` to resume after an event.",
            }),
            Shape::Deleted(object) => json!({
                "type": "object",
                "properties": { "id": { "type": "string" }, "object": { "const": object }, "deleted": { "const": true } },
                "required": ["id", "object", "deleted"],
            }),
            Shape::List => {
                let node = self
                    .types
                    .field_type(&parent, "nodes")
                    .map(|t| named(t).to_owned())
                    .unwrap_or_default();
                json!({
                    "type": "object",
                    "properties": {
                        "object": { "const": "list" },
                        "data": { "type": "array", "items": self.selection(&node, route.op.target(list)) },
                        "has_more": { "type": "boolean" },
                        "next_cursor": { "type": ["string", "null"] },
                    },
                    "required": ["object", "data", "has_more", "next_cursor"],
                })
            }
        }
    }

    fn parameters(&self, route: &CompiledRoute) -> Vec<Value> {
        let mut params: Vec<Value> = route
            .def
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let fields = route.op.selectable.join(", ");
        params.push(json!({ "name": "fields", "in": "query", "description": format!("Comma list of fields to return: {fields}"), "schema": { "type": "string" } }));
        if route.def.shape != Shape::List {
            return params;
        }
        params.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } }));
        params.push(json!({ "name": "cursor", "in": "query", "description": "`next_cursor` of the previous page", "schema": { "type": "string" } }));
        if let Some(order) = route.op.variable("orderBy") {
            let sortable = self
                .types
                .input_fields(named(order))
                .and_then(|fs| fs.iter().find(|f| f.node.name.node == "field"))
                .and_then(|f| self.types.enum_values(named(&f.node.ty.node)))
                .unwrap_or_default()
                .iter()
                .map(|v| v.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(", ");
            params.push(json!({ "name": "sort", "in": "query", "description": format!("Comma list of {sortable}; `-` for descending. Default `-created_at`."), "schema": { "type": "string" } }));
        }
        if let Some(fields) = route
            .op
            .variable("filter")
            .and_then(|f| self.types.input_fields(named(f)))
        {
            for f in fields {
                let mut schema = self
                    .scalar(named(&f.node.ty.node))
                    .unwrap_or_else(|| json!({ "type": "string" }));
                if matches!(f.node.ty.node.base, BaseType::List(_)) {
                    schema = json!({ "type": "string", "description": "comma list" });
                }
                params.push(
                    json!({ "name": snake(&f.node.name.node), "in": "query", "schema": schema }),
                );
            }
        }
        params
    }
}

fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// The whole OpenAPI document.
pub fn generate(api: &RestApi) -> Value {
    let mut gen = Gen {
        types: &api.types,
        components: Map::new(),
    };
    let mut paths = Map::new();
    let problem = json!({ "description": "Error", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } });
    for route in &api.routes {
        let media = if route.def.shape == Shape::Stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut op = json!({
            "operationId": lower_camel(route.def.operation),
            "summary": route.def.summary,
            "tags": [route.def.tag],
            "parameters": gen.parameters(route),
            "responses": {
                route.def.status.to_string(): {
                    "description": if route.def.status == 201 { "Created" } else { "OK" },
                    "content": { media: { "schema": gen.body(route) } },
                },
                "400": problem, "401": problem, "403": problem, "404": problem, "422": problem, "default": problem,
            },
        });
        if let Some(input) = route.op.variable("input") {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": gen.input(input) } } });
        }
        let entry = paths
            .entry(route.def.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.def.method.to_ascii_lowercase()] = op;
    }
    gen.components.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "RFC 9457 problem details",
            "properties": {
                "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                "detail": { "type": "string" }, "code": { "type": "string" }, "request_id": { "type": ["string", "null"] },
                "errors": { "type": "array", "items": { "type": "object", "properties": { "pointer": { "type": "string" }, "detail": { "type": "string" } }, "required": ["pointer", "detail"] } },
            },
            "required": ["type", "title", "status", "detail", "code"],
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": { "title": "OrchStack API", "version": env!("CARGO_PKG_VERSION"), "description": "REST routes are translations of GraphQL operations on the same schema (POST /graphql)." },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": gen.components,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "An API key (os_live_... or os_test_...)" } },
        },
    })
}
