//! JSON Schemas of the document, each a named entry of `components.schemas`: request
//! bodies from the schema's input types, responses from the routes' stored selections.

use super::values::rest_enum_values;
use crate::rest::table::Shape;
use crate::rest::types::{named, snake, Types};
use crate::rest::CompiledRoute;
use async_graphql::parser::types::{BaseType, Selection, SelectionSet, Type, TypeKind};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Builds schemas and collects them as components.
pub struct Gen<'a> {
    /// The schema's types.
    pub types: &'a Types,
    /// `components.schemas` so far.
    pub schemas: Map<String, Value>,
    /// The field count of the widest top-level selection of each type: that selection
    /// is the one named after its type (`Run` is the run with its trace); narrower
    /// ones are named after their route (`CancelRunResult`, `RunSummary`).
    widest: HashMap<String, usize>,
}

/// A `$ref` to a schema component.
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `run_id` → `RunId`, `agent` → `Agent`.
pub fn pascal(s: &str) -> String {
    s.split(['_', '.', '-'])
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
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

fn describe(mut schema: Value, description: Option<&str>) -> Value {
    if let (Some(d), Some(obj)) = (description, schema.as_object_mut()) {
        obj.insert("description".into(), json!(d));
    }
    schema
}

fn fields(set: &SelectionSet) -> impl Iterator<Item = (String, &str, &SelectionSet)> {
    set.items.iter().filter_map(|item| match &item.node {
        Selection::Field(f) => {
            let name = f.node.name.node.as_str();
            let key = f.node.alias.as_ref().map_or(name, |a| a.node.as_str());
            Some((key.to_owned(), name, &f.node.selection_set.node))
        }
        _ => None,
    })
}

/// The GraphQL type a route's body is made of (for lists: the node type).
pub fn result_type(types: &Types, route: &CompiledRoute) -> Option<String> {
    let mut parent = route.op.root_type().to_owned();
    for name in &route.op.field_names {
        parent = named(types.field_type(&parent, name)?).to_owned();
    }
    if route.def.shape == Shape::List {
        parent = named(types.field_type(&parent, "nodes")?).to_owned();
    }
    Some(parent)
}

impl<'a> Gen<'a> {
    /// A generator for `routes`.
    pub fn new(types: &'a Types, routes: &[CompiledRoute]) -> Self {
        let mut widest: HashMap<String, usize> = HashMap::new();
        for route in routes {
            if let Some(ty) = result_type(types, route) {
                let n = route.op.target(route.def.shape == Shape::List).items.len();
                let w = widest.entry(ty).or_default();
                *w = (*w).max(n);
            }
        }
        Self {
            types,
            schemas: Map::new(),
            widest,
        }
    }

    /// The schema of a scalar or enum (`None` for object types). Inputs are coerced to
    /// 32-bit integers; outputs of `Int` fields may be wider (token counts, durations).
    pub fn scalar(&self, name: &str, input: bool) -> Option<Value> {
        Some(match name {
            "String" | "ID" => json!({ "type": "string" }),
            "Int" if input => json!({ "type": "integer", "format": "int32" }),
            "Int" => json!({ "type": "integer" }),
            "Float" => json!({ "type": "number" }),
            "Boolean" => json!({ "type": "boolean" }),
            "DateTime" => json!({ "type": "string", "format": "date-time" }),
            "JSON" => json!({}),
            _ => json!({ "type": "string", "enum": rest_enum_values(self.types, name)? }),
        })
    }

    /// The schema of a field's values: its enum values when its type is an SDL enum,
    /// else its scalar.
    pub fn leaf(&self, ty_name: &str, input: bool) -> Option<Value> {
        self.scalar(ty_name, input)
    }

    /// Stores `schema` under the first free (or identical) name of `preferred`,
    /// `fallback`, `fallback2`, ... and returns the name.
    pub fn register(&mut self, preferred: &str, fallback: &str, schema: Value) -> String {
        let candidates = [preferred.to_owned(), fallback.to_owned()]
            .into_iter()
            .chain((2..).map(|n| format!("{fallback}{n}")));
        for name in candidates {
            match self.schemas.get(&name) {
                None => {
                    self.schemas.insert(name.clone(), schema);
                    return name;
                }
                Some(existing) if *existing == schema => return name,
                Some(_) => {}
            }
        }
        unreachable!("the candidate names never run out")
    }

    /// The request body schema of an input type (a `$ref` for input objects).
    pub fn input(&mut self, ty: &Type) -> Value {
        let schema = match &ty.base {
            BaseType::List(inner) => json!({ "type": "array", "items": self.input(inner) }),
            BaseType::Named(n) => match self.scalar(n, true) {
                Some(s) => s,
                None => self.input_object(n),
            },
        };
        nullable(schema, ty.nullable)
    }

    fn input_object(&mut self, name: &str) -> Value {
        if !self.schemas.contains_key(name) {
            // Placeholder first: a recursive input type refers to itself by name.
            self.schemas.insert(name.to_owned(), json!({}));
            let fields = self
                .types
                .input_fields(name)
                .map(<[_]>::to_vec)
                .unwrap_or_default();
            let mut props = Map::new();
            let mut required = Vec::new();
            for f in fields {
                let key = snake(&f.node.name.node);
                let ty = &f.node.ty.node;
                let schema = match (&ty.base, self.leaf(named(ty), true)) {
                    (BaseType::Named(_), Some(leaf)) => nullable(leaf, ty.nullable),
                    _ => self.input(ty),
                };
                let schema = describe(schema, f.node.description.as_ref().map(|d| d.node.as_str()));
                let schema = match &f.node.default_value {
                    Some(v) => self.with_default(schema, named(ty), v.node.clone()),
                    None => schema,
                };
                if !ty.nullable && f.node.default_value.is_none() {
                    required.push(key.clone());
                }
                props.insert(key, schema);
            }
            let mut schema =
                json!({ "type": "object", "properties": props, "additionalProperties": false });
            if !required.is_empty() {
                schema["required"] = json!(required);
            }
            let schema = describe(schema, self.type_description(name).as_deref());
            self.schemas.insert(name.to_owned(), schema);
        }
        reference(name)
    }

    /// `schema` with the SDL default of a field of type `ty_name` (an enum default in
    /// its REST spelling).
    fn with_default(&self, mut schema: Value, ty_name: &str, value: async_graphql::Value) -> Value {
        let Ok(mut default) = value.into_json() else {
            return schema;
        };
        if let (Some(sdl), Some(rest)) = (
            self.types.enum_values(ty_name),
            rest_enum_values(self.types, ty_name),
        ) {
            if let Some(i) = sdl
                .iter()
                .position(|v| Some(v.as_str()) == default.as_str())
            {
                if let Some(r) = rest.get(i) {
                    default = json!(r);
                }
            }
        }
        if let Some(obj) = schema.as_object_mut() {
            obj.insert("default".into(), default);
        }
        schema
    }

    fn type_description(&self, name: &str) -> Option<String> {
        self.types
            .get(name)?
            .description
            .as_ref()
            .map(|d| d.node.clone())
    }

    fn field_description(&self, parent: &str, field: &str) -> Option<String> {
        let fields = match &self.types.get(parent)?.kind {
            TypeKind::Object(o) => &o.fields,
            TypeKind::Interface(i) => &i.fields,
            _ => return None,
        };
        fields
            .iter()
            .find(|f| f.node.name.node == field)?
            .node
            .description
            .as_ref()
            .map(|d| d.node.clone())
    }

    fn output(&mut self, ty: &Type, set: &SelectionSet, hint: &str) -> Value {
        let schema = match &ty.base {
            BaseType::List(inner) => {
                json!({ "type": "array", "items": self.output(inner, set, hint) })
            }
            BaseType::Named(n) => match self.leaf(n, false) {
                Some(s) => s,
                None => {
                    let schema = self.object(n, set, false);
                    reference(&self.register(n, hint, schema))
                }
            },
        };
        nullable(schema, ty.nullable)
    }

    /// The schema of a selection on object type `parent`. `prunable`: the selection is
    /// a route's result, whose fields `?fields=` may leave out.
    fn object(&mut self, parent: &str, set: &SelectionSet, prunable: bool) -> Value {
        let mut props = Map::new();
        for (key, name, sub) in fields(set) {
            let hint = format!("{parent}{}", pascal(&key));
            let schema = match self.types.field_type(parent, name).cloned() {
                Some(ty) => self.output(&ty, sub, &hint),
                None => json!({}),
            };
            let description = self.field_description(parent, name);
            props.insert(key, describe(schema, description.as_deref()));
        }
        let keys: Vec<String> = props.keys().cloned().collect();
        let mut description = self.type_description(parent).unwrap_or_default();
        let mut schema = json!({ "type": "object", "properties": props });
        if prunable {
            // One schema serves every `?fields=` choice (OpenAPI cannot tie a schema to
            // a query parameter's value), so no field is `required`: a client's types
            // then make it check a field before use, and a pruned answer still
            // validates. Without `fields`, every field listed here is present.
            description.push_str(
                "\n\nEvery field is present unless the request's `fields` parameter leaves it out.",
            );
        } else {
            schema["required"] = json!(keys);
        }
        describe(schema, Some(description.trim()).filter(|d| !d.is_empty()))
    }

    /// The body schema of a route's success answer, as a `$ref` (for streams: the text
    /// of the event stream).
    pub fn body(&mut self, route: &CompiledRoute) -> Value {
        let ty = result_type(self.types, route).unwrap_or_default();
        let operation = route.def.operation;
        match route.def.shape {
            Shape::Object => {
                let name = self.result(&ty, route.op.target(false), &format!("{operation}Result"));
                reference(&name)
            }
            Shape::List => {
                let item = self.result(&ty, route.op.target(true), &format!("{ty}Summary"));
                let envelope = json!({
                    "type": "object",
                    "description": format!("A page of {item} items, newest first unless `sort` says otherwise."),
                    "properties": {
                        "object": { "const": "list" },
                        "data": { "type": "array", "items": reference(&item) },
                        "has_more": { "type": "boolean", "description": "Whether another page follows." },
                        "next_cursor": { "type": ["string", "null"], "description": "The `cursor` of the next page; null on the last page." },
                    },
                    "required": ["object", "data", "has_more", "next_cursor"],
                });
                let name = format!("{item}List");
                reference(&self.register(&name, &format!("{operation}List"), envelope))
            }
            Shape::Deleted(object) => {
                let schema = json!({
                    "type": "object",
                    "description": format!("The {object} is deleted."),
                    "properties": { "id": { "type": "string" }, "object": { "const": object }, "deleted": { "const": true } },
                    "required": ["id", "object", "deleted"],
                });
                let name = format!("Deleted{}", pascal(object));
                reference(&self.register(&name, &name, schema))
            }
            Shape::Stream => self.event_stream(route),
        }
    }

    fn result(&mut self, ty: &str, set: &SelectionSet, fallback: &str) -> String {
        let schema = self.object(ty, set, true);
        let widest = self.widest.get(ty).copied().unwrap_or_default();
        let preferred = if set.items.len() == widest {
            ty
        } else {
            fallback
        };
        self.register(preferred, fallback, schema)
    }

    /// The `text/event-stream` schema of a streaming route; the events' fields become a
    /// component of their own (`RunEvent`), which the description points at.
    pub fn event_stream(&mut self, route: &CompiledRoute) -> Value {
        let op = if route.def.shape == Shape::Stream {
            &route.op
        } else {
            match &route.stream_op {
                Some(op) => op,
                None => return json!({ "type": "string" }),
            }
        };
        let mut parent = op.root_type().to_owned();
        for name in &op.field_names {
            parent = self
                .types
                .field_type(&parent, name)
                .map(|t| named(t).to_owned())
                .unwrap_or_default();
        }
        let schema = self.object(&parent, op.target(false), false);
        let name = self.register(&parent, &format!("{}Event", route.def.operation), schema);
        json!({
            "type": "string",
            "description": format!(
                "Server-Sent Events, one per event of the run's log (`#/components/schemas/{name}`): `id` is the event's `seq`, `event` its `type`, `data` its `data` as JSON. The stream ends after the run's terminal event (`run.completed`, `run.failed` or `run.cancelled`)."
            ),
        })
    }
}
