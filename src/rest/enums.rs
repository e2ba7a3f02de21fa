//! REST's spelling of the schema's enums: GraphQL says `COMPLETED` and `RUN_CREATED`,
//! REST says `completed` and `run.created` (the stored values). This is the one mapping
//! between the two, used for query parameters and bodies coming in, for responses and
//! SSE event names going out, and for the OpenAPI document.

use super::document::Operation;
use super::types::{named, Types};
use crate::graphql::enums as gql;
use crate::graphql::{
    agents, connection, knowledge, knowledge_documents, runs, webhook_deliveries, webhooks,
};
use async_graphql::parser::types::{DocumentOperations, Selection, SelectionSet};
use async_graphql::resolver_utils::EnumType;
use async_graphql::OutputType;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// One enum: its GraphQL name and each value's (GraphQL, REST) spelling.
struct Spelling {
    name: String,
    values: Vec<(&'static str, String)>,
}

/// An enum whose REST values are its domain type's stored names.
fn domain<T: EnumType + OutputType, D: From<T>>(rest: fn(D) -> &'static str) -> Spelling {
    Spelling {
        name: T::type_name().into_owned(),
        values: T::items()
            .iter()
            .map(|item| (item.name, rest(D::from(item.value)).to_owned()))
            .collect(),
    }
}

/// An enum with no domain spelling: REST uses the lower-case GraphQL name.
fn lower<T: EnumType + OutputType>() -> Spelling {
    Spelling {
        name: T::type_name().into_owned(),
        values: T::items()
            .iter()
            .map(|item| (item.name, item.name.to_ascii_lowercase()))
            .collect(),
    }
}

/// Every enum of the schema (a unit test checks none is missing).
fn spellings() -> &'static [Spelling] {
    static ALL: OnceLock<Vec<Spelling>> = OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            domain::<gql::RunStatus, entity::runs::RunStatus>(|v| v.as_str()),
            domain::<gql::RunStepStatus, entity::run_steps::StepStatus>(|v| v.as_str()),
            domain::<gql::RunStepType, entity::run_steps::StepKind>(|v| v.as_str()),
            domain::<gql::RunEventType, crate::events::EventKind>(|v| v.as_str()),
            domain::<gql::ApiKeyMode, entity::api_keys::KeyMode>(|v| v.as_str()),
            domain::<gql::Tier, crate::service::orgs::Tier>(|v| v.as_str()),
            domain::<crate::graphql::gates::GateStatus, entity::gates::GateStatus>(|v| v.as_str()),
            lower::<runs::RunMode>(),
            lower::<runs::MultitaskPolicy>(),
            lower::<runs::RunOrderField>(),
            lower::<agents::AgentOrderField>(),
            lower::<connection::OrderDirection>(),
            domain::<
                webhook_deliveries::WebhookDeliveryStatus,
                entity::webhook_deliveries::DeliveryStatus,
            >(|v| v.as_str()),
            lower::<webhooks::WebhookEndpointOrderField>(),
            domain::<
                knowledge_documents::KnowledgeDocumentStatus,
                entity::knowledge_documents::DocumentStatus,
            >(|v| v.as_str()),
            lower::<knowledge::KnowledgeSearchMode>(),
            lower::<knowledge::KnowledgeBaseOrderField>(),
        ]
    })
}

fn spelling(enum_name: &str) -> Option<&'static Spelling> {
    spellings().iter().find(|s| s.name == enum_name)
}

/// The REST spelling of `gql_value` of enum `enum_name` (`RUN_CREATED` → `run.created`);
/// a value the table does not know is lower-cased.
pub fn rest_value(enum_name: &str, gql_value: &str) -> Cow<'static, str> {
    spelling(enum_name)
        .and_then(|s| s.values.iter().find(|(g, _)| *g == gql_value))
        .map(|(_, rest)| Cow::Borrowed(rest.as_str()))
        .unwrap_or_else(|| Cow::Owned(gql_value.to_ascii_lowercase()))
}

/// The GraphQL value a REST client means by `rest_value`: its REST spelling or its
/// GraphQL name, in any case. `None` when enum `enum_name` has no such value.
pub fn gql_value(enum_name: &str, rest_value: &str) -> Option<&'static str> {
    spelling(enum_name)?
        .values
        .iter()
        .find(|(g, r)| r.eq_ignore_ascii_case(rest_value) || g.eq_ignore_ascii_case(rest_value))
        .map(|(g, _)| *g)
}

/// Every REST value of enum `enum_name` (empty for a name that is no enum).
pub fn rest_enum_values(enum_name: &str) -> Vec<String> {
    spelling(enum_name)
        .map(|s| s.values.iter().map(|(_, r)| r.clone()).collect())
        .unwrap_or_default()
}

/// Where an operation's result holds enum values, found once from the operation's
/// selection and the schema's field types, so responses are rewritten without
/// guessing from field names.
#[derive(Clone, Default)]
pub struct EnumFields(Arc<Vec<(Vec<String>, String)>>);

impl EnumFields {
    /// The enum-typed fields `op` selects: response-key paths from `data`.
    pub fn of(op: &Operation, types: &Types) -> Self {
        let (set, root) = match &op.doc.operations {
            DocumentOperations::Single(o) => (&o.node.selection_set.node, op.root_type()),
            DocumentOperations::Multiple(ops) => match ops.values().next() {
                Some(o) => (&o.node.selection_set.node, op.root_type()),
                None => return Self::default(),
            },
        };
        let mut found = Vec::new();
        collect(set, root, types, &mut Vec::new(), &mut found);
        Self(Arc::new(found))
    }

    /// Rewrites every enum value in `data` (the whole `data` object of a response) to
    /// its REST spelling.
    pub fn to_rest(&self, data: &mut Value) {
        for (path, enum_name) in self.0.iter() {
            rewrite(data, path, enum_name);
        }
    }
}

fn collect(
    set: &SelectionSet,
    parent: &str,
    types: &Types,
    path: &mut Vec<String>,
    found: &mut Vec<(Vec<String>, String)>,
) {
    for sel in &set.items {
        let Selection::Field(field) = &sel.node else {
            continue;
        };
        let field = &field.node;
        let name = field.name.node.as_str();
        let key = field.alias.as_ref().map_or(name, |a| a.node.as_str());
        let Some(ty) = types.field_type(parent, name) else {
            continue;
        };
        let ty = named(ty);
        path.push(key.to_owned());
        if types.enum_values(ty).is_some() {
            found.push((path.clone(), ty.to_owned()));
        } else if !field.selection_set.node.items.is_empty() {
            collect(&field.selection_set.node, ty, types, path, found);
        }
        path.pop();
    }
}

/// Lists are transparent: a path step applies to every item.
fn rewrite(v: &mut Value, path: &[String], enum_name: &str) {
    match (v, path.split_first()) {
        (Value::Array(items), _) => {
            for item in items {
                rewrite(item, path, enum_name);
            }
        }
        (Value::Object(map), Some((key, rest))) => {
            if let Some(child) = map.get_mut(key) {
                rewrite(child, rest, enum_name);
            }
        }
        (v @ Value::String(_), None) => {
            if let Value::String(s) = v {
                *v = Value::String(rest_value(enum_name, s).into_owned());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use entity::runs::RunStatus;

    #[test]
    fn every_schema_enum_has_a_spelling() {
        let schema = crate::graphql::schema_builder(&crate::config::Config::default()).finish();
        let doc = async_graphql::parser::parse_schema(schema.sdl()).unwrap();
        for def in doc.definitions {
            let async_graphql::parser::types::TypeSystemDefinition::Type(t) = def else {
                continue;
            };
            if let async_graphql::parser::types::TypeKind::Enum(e) = &t.node.kind {
                let name = t.node.name.node.as_str();
                let rest = rest_enum_values(name);
                assert_eq!(rest.len(), e.values.len(), "{name} has a REST spelling");
                for v in &e.values {
                    let g = v.node.value.node.as_str();
                    assert_eq!(gql_value(name, &rest_value(name, g)), Some(g), "{name}.{g}");
                }
            }
        }
    }

    #[test]
    fn statuses_and_event_kinds_are_spelled_as_stored() {
        for s in RunStatus::ALL {
            let g = gql_value("RunStatus", s.as_str()).expect("known status");
            assert_eq!(rest_value("RunStatus", g), s.as_str());
        }
        assert_eq!(
            gql_value("RunStatus", "waiting_for_approval"),
            Some("WAITING_FOR_APPROVAL")
        );
        for k in EventKind::ALL {
            let g = gql_value("RunEventType", k.as_str()).expect("known kind");
            assert_eq!(rest_value("RunEventType", g), k.as_str());
        }
        assert_eq!(rest_value("RunEventType", "RUN_CREATED"), "run.created");
        assert_eq!(rest_value("RunEventType", "TOOL_CALL"), "tool.call");
        assert_eq!(rest_value("RunEventType", "TOKEN"), "token");
        assert_eq!(
            gql_value("RunEventType", "step.started"),
            Some("STEP_STARTED")
        );
        assert_eq!(gql_value("RunStatus", "done"), None);
        assert_eq!(gql_value("NoSuchEnum", "x"), None);
        assert_eq!(rest_value("RunMode", "ASYNC"), "async");
        assert_eq!(gql_value("RunMode", "Async"), Some("ASYNC"));
        assert_eq!(
            rest_enum_values("ApiKeyMode"),
            vec!["live".to_owned(), "test".to_owned()]
        );
    }

    #[test]
    fn responses_are_rewritten_where_the_schema_says_enum() {
        let schema = crate::graphql::schema_builder(&crate::config::Config::default()).finish();
        let types = Types::from_sdl(&schema.sdl()).unwrap();
        let route = super::super::table::ROUTES
            .iter()
            .find(|r| r.operation == "GetRun")
            .unwrap();
        let op = Operation::compile(route).unwrap();
        let fields = EnumFields::of(&op, &types);
        let mut data = serde_json::json!({ "run": {
            "id": "run_1", "status": "COMPLETED", "input": "COMPLETED",
            "steps": [{ "type": "LLM", "status": "FAILED", "name": "TOOL" }],
        }});
        fields.to_rest(&mut data);
        assert_eq!(
            data,
            serde_json::json!({ "run": {
                "id": "run_1", "status": "completed", "input": "COMPLETED",
                "steps": [{ "type": "llm", "status": "failed", "name": "TOOL" }],
            }})
        );
    }
}
