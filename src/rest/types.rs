//! The schema's types, read from its SDL, and the type-directed coercion of REST input
//! (snake_case JSON bodies and query strings) into GraphQL variables. Every problem
//! is reported with a JSON pointer into the REST input.

use crate::error::FieldError;
use async_graphql::parser::types::{
    BaseType, InputValueDefinition, Type, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Every named type of the schema.
pub struct Types {
    map: HashMap<String, TypeDefinition>,
}

/// `modelSettings` → `model_settings`.
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Types {
    /// Reads the types from the schema's SDL.
    pub fn from_sdl(sdl: &str) -> anyhow::Result<Self> {
        let doc = async_graphql::parser::parse_schema(sdl)?;
        let map = doc
            .definitions
            .into_iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node)),
                _ => None,
            })
            .collect();
        Ok(Self { map })
    }

    /// A type by name.
    pub fn get(&self, name: &str) -> Option<&TypeDefinition> {
        self.map.get(name)
    }

    /// The fields of an input object type.
    pub fn input_fields(
        &self,
        name: &str,
    ) -> Option<&[async_graphql::Positioned<InputValueDefinition>]> {
        match &self.get(name)?.kind {
            TypeKind::InputObject(o) => Some(&o.fields),
            _ => None,
        }
    }

    /// The values of an enum type.
    pub fn enum_values(&self, name: &str) -> Option<Vec<String>> {
        match &self.get(name)?.kind {
            TypeKind::Enum(e) => Some(
                e.values
                    .iter()
                    .map(|v| v.node.value.node.to_string())
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The type of `field` on object or interface type `parent`.
    pub fn field_type(&self, parent: &str, field: &str) -> Option<&Type> {
        let fields = match &self.get(parent)?.kind {
            TypeKind::Object(o) => &o.fields,
            TypeKind::Interface(i) => &i.fields,
            _ => return None,
        };
        fields
            .iter()
            .find(|f| f.node.name.node == field)
            .map(|f| &f.node.ty.node)
    }
}

/// The named type at the bottom of list wrappers.
pub fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(n) => n.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

/// Coerces REST input into GraphQL variables, collecting every problem.
pub struct Coerce<'a> {
    types: &'a Types,
    /// Values come from a query string: scalars arrive as text, lists comma-separated.
    from_strings: bool,
    /// Problems found so far.
    pub errors: Vec<FieldError>,
}

impl<'a> Coerce<'a> {
    /// A coercer of JSON bodies (`from_strings == false`) or query strings.
    pub fn new(types: &'a Types, from_strings: bool) -> Self {
        Self {
            types,
            from_strings,
            errors: Vec::new(),
        }
    }

    fn fail(&mut self, pointer: &str, detail: impl Into<String>) -> Value {
        self.errors.push(FieldError::new(
            if pointer.is_empty() { "/" } else { pointer },
            detail,
        ));
        Value::Null
    }

    /// Coerces `v` to `ty`; `pointer` locates `v` in the REST input.
    pub fn value(&mut self, v: &Value, ty: &Type, pointer: &str) -> Value {
        if v.is_null() {
            return if ty.nullable {
                Value::Null
            } else {
                self.fail(pointer, "must not be null")
            };
        }
        match &ty.base {
            BaseType::List(inner) => {
                let items: Vec<Value> = match v {
                    Value::Array(a) => a.clone(),
                    Value::String(s) if self.from_strings => s
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(p.to_owned()))
                        .collect(),
                    _ => return self.fail(pointer, "must be an array"),
                };
                Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.value(item, inner, &format!("{pointer}/{i}")))
                        .collect(),
                )
            }
            BaseType::Named(name) => self.named(v, name.as_str(), pointer),
        }
    }

    fn named(&mut self, v: &Value, name: &str, pointer: &str) -> Value {
        let text = v.as_str();
        match name {
            "String" | "ID" => match v {
                Value::String(_) => v.clone(),
                _ => self.fail(pointer, "must be a string"),
            },
            "Int" => {
                let n = match (v, text) {
                    (Value::Number(n), _) => n.as_i64(),
                    (_, Some(t)) if self.from_strings => t.parse::<i64>().ok(),
                    _ => None,
                };
                match n.and_then(|n| i32::try_from(n).ok()) {
                    Some(n) => Value::from(n),
                    None => self.fail(pointer, "must be a 32-bit integer"),
                }
            }
            "Float" => match (v, text) {
                (Value::Number(_), _) => v.clone(),
                (_, Some(t)) if self.from_strings && t.parse::<f64>().is_ok() => {
                    Value::from(t.parse::<f64>().unwrap_or(0.0))
                }
                _ => self.fail(pointer, "must be a number"),
            },
            "Boolean" => match (v, text) {
                (Value::Bool(_), _) => v.clone(),
                (_, Some("true")) if self.from_strings => Value::Bool(true),
                (_, Some("false")) if self.from_strings => Value::Bool(false),
                _ => self.fail(pointer, "must be true or false"),
            },
            "DateTime" => match text.map(chrono::DateTime::parse_from_rfc3339) {
                Some(Ok(_)) => v.clone(),
                _ => self.fail(
                    pointer,
                    "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z",
                ),
            },
            "JSON" => v.clone(),
            _ => self.composite(v, name, pointer),
        }
    }

    fn composite(&mut self, v: &Value, name: &str, pointer: &str) -> Value {
        if let Some(values) = self.types.enum_values(name) {
            let wanted = v.as_str().and_then(|s| super::enums::gql_value(name, s));
            return match wanted {
                Some(w) if values.iter().any(|v| v == w) => Value::String(w.to_owned()),
                _ => {
                    let allowed = super::enums::rest_enum_values(name).join(", ");
                    let detail = match v.as_str() {
                        Some(given) => format!("must be one of: {allowed}; got `{given}`"),
                        None => format!("must be one of: {allowed}"),
                    };
                    self.fail(pointer, detail)
                }
            };
        }
        let Some(fields) = self.types.input_fields(name) else {
            return self.fail(
                pointer,
                format!("has a type ({name}) that REST cannot take"),
            );
        };
        let Value::Object(obj) = v else {
            return self.fail(pointer, "must be an object");
        };
        let mut out = Map::new();
        for (key, value) in obj {
            let field = fields.iter().find(|f| snake(&f.node.name.node) == *key);
            match field {
                Some(f) => {
                    let coerced = self.value(value, &f.node.ty.node, &format!("{pointer}/{key}"));
                    out.insert(f.node.name.node.to_string(), coerced);
                }
                None => {
                    let known: Vec<String> =
                        fields.iter().map(|f| snake(&f.node.name.node)).collect();
                    self.fail(
                        &format!("{pointer}/{key}"),
                        format!("is not a known field; known fields: {}", known.join(", ")),
                    );
                }
            }
        }
        for f in fields {
            let required = !f.node.ty.node.nullable && f.node.default_value.is_none();
            if required && !out.contains_key(f.node.name.node.as_str()) {
                self.fail(
                    &format!("{pointer}/{}", snake(&f.node.name.node)),
                    "is required",
                );
            }
        }
        Value::Object(out)
    }
}
