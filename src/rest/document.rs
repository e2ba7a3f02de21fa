//! A route's stored operation, parsed once: its variables, where its result sits in
//! `data`, which fields `?fields=` may pick, and the pruned copies that picking makes.

use super::table::{RouteDef, Shape};
use anyhow::{anyhow, bail, Context as _};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet, Type,
};
use async_graphql::Positioned;
use std::collections::HashMap;

/// A route's operation, ready to execute.
pub struct Operation {
    /// The document holding just this operation.
    pub doc: ExecutableDocument,
    /// The operation's variables and their types.
    pub variables: Vec<(String, Type)>,
    /// Response keys from `data` to the object the body is made of (for lists: to the
    /// connection).
    pub path: Vec<String>,
    /// The GraphQL field names along `path` (to look types up).
    pub field_names: Vec<String>,
    /// Response keys `?fields=` may choose from (empty: the route takes no `fields`).
    pub selectable: Vec<String>,
}

fn response_key(sel: &Positioned<Selection>) -> Option<(String, String)> {
    match &sel.node {
        Selection::Field(f) => {
            let name = f.node.name.node.to_string();
            let key = f
                .node
                .alias
                .as_ref()
                .map(|a| a.node.to_string())
                .unwrap_or_else(|| name.clone());
            Some((key, name))
        }
        _ => None,
    }
}

fn child<'a>(set: &'a SelectionSet, key: &str) -> Option<&'a SelectionSet> {
    set.items.iter().find_map(|s| match &s.node {
        Selection::Field(f) if response_key(s).is_some_and(|(k, _)| k == key) => {
            Some(&f.node.selection_set.node)
        }
        _ => None,
    })
}

fn child_mut<'a>(set: &'a mut SelectionSet, key: &str) -> Option<&'a mut SelectionSet> {
    set.items.iter_mut().find_map(|s| {
        let matches = response_key(s).is_some_and(|(k, _)| k == key);
        match &mut s.node {
            Selection::Field(f) if matches => Some(&mut f.node.selection_set.node),
            _ => None,
        }
    })
}

fn operation_mut(doc: &mut ExecutableDocument) -> &mut OperationDefinition {
    match &mut doc.operations {
        DocumentOperations::Single(op) => &mut op.node,
        DocumentOperations::Multiple(ops) => {
            &mut ops
                .values_mut()
                .next()
                .expect("compiled documents hold one operation")
                .node
        }
    }
}

impl Operation {
    /// Parses the route's document and takes out its operation.
    pub fn compile(route: &RouteDef) -> anyhow::Result<Self> {
        let parsed = async_graphql::parser::parse_query(route.document)
            .with_context(|| format!("stored document of {} {}", route.method, route.path))?;
        let DocumentOperations::Multiple(ops) = parsed.operations else {
            bail!("stored documents name their operations");
        };
        let op = ops
            .get(route.operation)
            .cloned()
            .ok_or_else(|| anyhow!("operation {} is not in its document", route.operation))?;
        let variables = op
            .node
            .variable_definitions
            .iter()
            .map(|v| (v.node.name.node.to_string(), v.node.var_type.node.clone()))
            .collect();
        let mut path = Vec::new();
        let mut field_names = Vec::new();
        let mut set = &op.node.selection_set.node;
        loop {
            let [only] = set.items.as_slice() else {
                bail!(
                    "{}: each level above the result must select exactly one field",
                    route.operation
                );
            };
            let (key, name) = response_key(only)
                .ok_or_else(|| anyhow!("{}: no fragments in stored documents", route.operation))?;
            let next = child(set, &key).unwrap_or(set);
            path.push(key);
            field_names.push(name);
            let done = match route.shape {
                Shape::List => child(next, "nodes").is_some(),
                _ => true,
            };
            if done {
                set = next;
                break;
            }
            set = next;
        }
        let target = if route.shape == Shape::List {
            child(set, "nodes").unwrap_or(set)
        } else {
            set
        };
        let selectable = target
            .items
            .iter()
            .filter_map(response_key)
            .map(|(k, _)| k)
            .collect();
        let doc = ExecutableDocument {
            operations: DocumentOperations::Single(op),
            fragments: HashMap::new(),
        };
        Ok(Self {
            doc,
            variables,
            path,
            field_names,
            selectable,
        })
    }

    /// The type of a variable, if the operation declares it.
    pub fn variable(&self, name: &str) -> Option<&Type> {
        self.variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }

    /// A copy of the document selecting only `keep` at the result level.
    pub fn pruned(&self, keep: &[String], list: bool) -> ExecutableDocument {
        fn descend<'a>(
            set: &'a mut SelectionSet,
            path: &[String],
            list: bool,
        ) -> Option<&'a mut SelectionSet> {
            match path.split_first() {
                Some((key, rest)) => descend(child_mut(set, key)?, rest, list),
                None if list => child_mut(set, "nodes"),
                None => Some(set),
            }
        }
        let mut doc = self.doc.clone();
        if let Some(set) = descend(
            &mut operation_mut(&mut doc).selection_set.node,
            &self.path,
            list,
        ) {
            set.items
                .retain(|s| response_key(s).is_some_and(|(k, _)| keep.contains(&k)));
        }
        doc
    }
}

impl Operation {
    /// The operation's root type name (`Query` or `Mutation`).
    pub fn root_type(&self) -> &'static str {
        let ty = match &self.doc.operations {
            DocumentOperations::Single(op) => op.node.ty,
            DocumentOperations::Multiple(ops) => ops
                .values()
                .next()
                .map(|o| o.node.ty)
                .unwrap_or(async_graphql::parser::types::OperationType::Query),
        };
        match ty {
            async_graphql::parser::types::OperationType::Mutation => "Mutation",
            async_graphql::parser::types::OperationType::Subscription => "Subscription",
            async_graphql::parser::types::OperationType::Query => "Query",
        }
    }

    /// The selection the body is made of (for lists: the connection's `nodes`).
    pub fn target(&self, list: bool) -> &SelectionSet {
        let mut set = match &self.doc.operations {
            DocumentOperations::Single(op) => &op.node.selection_set.node,
            DocumentOperations::Multiple(ops) => {
                &ops.values()
                    .next()
                    .expect("one operation")
                    .node
                    .selection_set
                    .node
            }
        };
        for key in &self.path {
            if let Some(next) = child(set, key) {
                set = next;
            }
        }
        if list {
            if let Some(nodes) = child(set, "nodes") {
                set = nodes;
            }
        }
        set
    }
}
