//! What a GraphQL document costs, measured on the parsed document before async-graphql
//! validates it. Validation and execution expand every fragment spread again, so a
//! document of a few hundred bytes whose fragments each spread the next one twice
//! expands to millions of fields. Here each fragment is measured once (memoised), so
//! the whole measurement is linear in the document, and the document is refused before
//! any walk that expands it.
//!
//! Counted: fields with spreads expanded (the validation walk), aliases, root fields,
//! fragment definitions, spreads, nesting, and the operation's cost, where the items of
//! a paged list (a field taking `first`/`last`) cost their page size times.

use crate::service::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet, VariableDefinition,
};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{Name, Positioned, Value as ConstValue, Variables};
use async_graphql_value::Value as GqlValue;
use std::collections::HashMap;

/// Deepest nesting of selection sets, fragment spreads counted as a level (what
/// async-graphql's `limit_recursive_depth` checks, without memoisation, after this).
pub const MAX_RECURSIVE_DEPTH: usize = 64;

/// The caps a document must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Fields with every spread expanded, over the whole document.
    pub max_selections: u64,
    /// Cost of the operation (see the module docs).
    pub max_complexity: u64,
    /// Aliased fields written in the document.
    pub max_aliases: usize,
    /// Root fields of an operation, fragments expanded.
    pub max_root_fields: u64,
    /// Fragment definitions.
    pub max_fragments: usize,
    /// Fragment spreads written in the document.
    pub max_spreads: usize,
}

impl From<&crate::config::GraphqlConfig> for Caps {
    fn from(c: &crate::config::GraphqlConfig) -> Self {
        Self {
            max_selections: c.max_selections as u64,
            max_complexity: c.max_complexity as u64,
            max_aliases: c.max_aliases,
            max_root_fields: c.max_root_fields as u64,
            max_fragments: c.max_fragments,
            max_spreads: c.max_spreads,
        }
    }
}

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Over a cost cap; the text says which, the count and the cap.
    TooComplex(String),
    /// Nested deeper than [`MAX_RECURSIVE_DEPTH`].
    TooDeep,
    /// A fragment spreads itself, directly or through others.
    FragmentCycle(String),
}

/// Checks `doc` against `caps` and returns the operation's cost (the costliest one's
/// when the request does not say which). `operation` and `variables` are the request's
/// (the cost of `first: $n` depends on them); `registry` is the schema's, to tell paged
/// fields and list types.
pub fn check(
    doc: &ExecutableDocument,
    registry: &Registry,
    operation: Option<&str>,
    variables: &Variables,
    caps: &Caps,
) -> Result<u64, Refusal> {
    let over = |what: &str, count: u64, cap: u64| {
        Refusal::TooComplex(format!("it has {count} {what}; at most {cap} are allowed"))
    };
    let fragments = doc.fragments.len();
    if fragments > caps.max_fragments {
        return Err(over(
            "fragments",
            fragments as u64,
            caps.max_fragments as u64,
        ));
    }
    let mut census = Census::default();
    for set in all_sets(doc) {
        census.walk(set);
    }
    if census.spreads > caps.max_spreads {
        let (n, cap) = (census.spreads as u64, caps.max_spreads as u64);
        return Err(over("fragment spreads", n, cap));
    }
    if census.aliases > caps.max_aliases {
        let (n, cap) = (census.aliases as u64, caps.max_aliases as u64);
        return Err(over("aliases", n, cap));
    }
    let selections = Expansion::new(doc).document()?;
    if selections > caps.max_selections {
        return Err(Refusal::TooComplex(format!(
            "it expands to {} fields (a fragment counts each time it is spread); at most {} are allowed",
            saturated(selections),
            caps.max_selections
        )));
    }
    // From here the document expands to at most `max_selections` fields, so plain
    // expanding walks are bounded by that and need no memo.
    let mut price = 0;
    for op in operations(doc, operation) {
        let roots = root_fields(doc, &op.selection_set.node);
        if roots > caps.max_root_fields {
            return Err(over("root fields", roots, caps.max_root_fields));
        }
        let pricing = Pricing {
            doc,
            registry,
            variables,
            definitions: &op.variable_definitions,
        };
        let root = match op.ty {
            OperationType::Query => Some(&registry.query_type),
            OperationType::Mutation => registry.mutation_type.as_ref(),
            OperationType::Subscription => registry.subscription_type.as_ref(),
        };
        let ty = root.and_then(|name| registry.types.get(name));
        let cost = pricing.set(&op.selection_set.node, ty, None);
        if cost > caps.max_complexity {
            return Err(Refusal::TooComplex(format!(
                "it costs {} (each field 1, the items of a list `first` or `last` times); at most {} is allowed",
                saturated(cost),
                caps.max_complexity
            )));
        }
        price = price.max(cost);
    }
    Ok(price)
}

/// A count for a message: a saturated count is "more than".
fn saturated(n: u64) -> String {
    if n == u64::MAX {
        format!("more than {}", u64::MAX - 1)
    } else {
        n.to_string()
    }
}

/// Every selection set written at the top of the document.
fn all_sets(doc: &ExecutableDocument) -> impl Iterator<Item = &SelectionSet> {
    doc.operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(doc.fragments.values().map(|f| &f.node.selection_set.node))
}

/// The operations a request executes: the one named, or the only one; every operation
/// when that cannot be told (execution then refuses the request anyway).
fn operations<'a>(doc: &'a ExecutableDocument, name: Option<&str>) -> Vec<&'a OperationDefinition> {
    let chosen = match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    };
    match chosen {
        Some(op) => vec![op],
        None => doc.operations.iter().map(|(_, op)| &op.node).collect(),
    }
}

/// What is written in the document, nothing expanded.
#[derive(Default)]
struct Census {
    aliases: usize,
    spreads: usize,
}

impl Census {
    // Recursion is bounded: the parser refuses selection sets nested deeper than 64.
    fn walk(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    self.aliases += usize::from(f.node.alias.is_some());
                    self.walk(&f.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => self.spreads += 1,
                Selection::InlineFragment(i) => self.walk(&i.node.selection_set.node),
            }
        }
    }
}

/// The size of a selection set with its spreads expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    /// Fields (saturating).
    fields: u64,
    /// Levels below the set (a field with a selection set, a spread and an inline
    /// fragment each add one, as async-graphql's recursion check counts them).
    depth: usize,
}

/// Expands spreads with each fragment measured once.
struct Expansion<'a> {
    doc: &'a ExecutableDocument,
    /// `None` while a fragment is being measured: meeting it again is a cycle.
    memo: HashMap<&'a str, Option<Size>>,
}

impl<'a> Expansion<'a> {
    fn new(doc: &'a ExecutableDocument) -> Self {
        Self {
            doc,
            memo: HashMap::new(),
        }
    }

    /// Fields of every operation and every fragment definition, expanded: what the
    /// validation walk visits (it visits each definition expanded as well).
    fn document(&mut self) -> Result<u64, Refusal> {
        let mut total = 0u64;
        for (_, op) in self.doc.operations.iter() {
            total = total.saturating_add(self.set(&op.node.selection_set.node, 0)?.fields);
        }
        for name in self.doc.fragments.keys() {
            total = total.saturating_add(self.fragment(name.as_str(), 0)?.fields);
        }
        Ok(total)
    }

    /// `depth` is how deep `set` sits; the walk stops past [`MAX_RECURSIVE_DEPTH`], so
    /// the recursion (and the stack) stays shallow.
    fn set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<Size, Refusal> {
        if depth > MAX_RECURSIVE_DEPTH {
            return Err(Refusal::TooDeep);
        }
        let mut size = Size::default();
        for item in &set.items {
            let (fields, below) = match &item.node {
                Selection::Field(f) if f.node.selection_set.node.items.is_empty() => (1, 0),
                Selection::Field(f) => {
                    let inner = self.set(&f.node.selection_set.node, depth + 1)?;
                    (inner.fields.saturating_add(1), inner.depth + 1)
                }
                Selection::InlineFragment(i) => {
                    let inner = self.set(&i.node.selection_set.node, depth + 1)?;
                    (inner.fields, inner.depth + 1)
                }
                Selection::FragmentSpread(s) => {
                    let inner = self.fragment(s.node.fragment_name.node.as_str(), depth + 1)?;
                    (inner.fields, inner.depth + 1)
                }
            };
            size.fields = size.fields.saturating_add(fields);
            size.depth = size.depth.max(below);
        }
        Ok(size)
    }

    /// A fragment's size, measured on first use; `depth` is where it is spread.
    fn fragment(&mut self, name: &'a str, depth: usize) -> Result<Size, Refusal> {
        let size = match self.memo.get(name) {
            Some(Some(size)) => *size,
            Some(None) => {
                return Err(Refusal::FragmentCycle(format!(
                    "Cannot spread fragment \"{name}\" within itself"
                )))
            }
            // An unknown fragment is validation's to report.
            None => {
                let Some(fragment) = self.doc.fragments.get(name) else {
                    return Ok(Size::default());
                };
                self.memo.insert(name, None);
                let size = self.set(&fragment.node.selection_set.node, depth)?;
                self.memo.insert(name, Some(size));
                size
            }
        };
        if depth + size.depth > MAX_RECURSIVE_DEPTH {
            return Err(Refusal::TooDeep);
        }
        Ok(size)
    }
}

/// Root fields of a selection set, fragments expanded (only run on documents already
/// known to be small and free of cycles).
fn root_fields(doc: &ExecutableDocument, set: &SelectionSet) -> u64 {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(i) => root_fields(doc, &i.node.selection_set.node),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map_or(0, |f| root_fields(doc, &f.node.selection_set.node)),
        })
        .sum()
}

/// Prices an operation (only run on documents already known to be small and free of
/// cycles).
struct Pricing<'a> {
    doc: &'a ExecutableDocument,
    registry: &'a Registry,
    variables: &'a Variables,
    definitions: &'a [Positioned<VariableDefinition>],
}

impl Pricing<'_> {
    /// The cost of `set`, selected on `ty` (unknown types price every field at 1).
    /// `page` is the page size when `set` is a paged field's: its list fields (the
    /// connection's `nodes` and `edges`) cost that many times their items.
    fn set(&self, set: &SelectionSet, ty: Option<&MetaType>, page: Option<u64>) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(f) => self.field(&f.node, ty, page),
                Selection::InlineFragment(i) => {
                    let ty = match &i.node.type_condition {
                        Some(c) => self.registry.types.get(c.node.on.node.as_str()),
                        None => ty,
                    };
                    self.set(&i.node.selection_set.node, ty, page)
                }
                Selection::FragmentSpread(s) => {
                    match self.doc.fragments.get(&s.node.fragment_name.node) {
                        Some(f) => {
                            let on = f.node.type_condition.node.on.node.as_str();
                            self.set(
                                &f.node.selection_set.node,
                                self.registry.types.get(on),
                                page,
                            )
                        }
                        None => 0,
                    }
                }
            };
            total = total.saturating_add(cost);
        }
        total
    }

    fn field(&self, field: &Field, parent: Option<&MetaType>, page: Option<u64>) -> u64 {
        let meta = parent.and_then(|t| t.field_by_name(field.name.node.as_str()));
        let ty = meta.and_then(|m| self.registry.concrete_type_by_name(&m.ty));
        let paged =
            meta.is_some_and(|m| m.args.contains_key("first") && m.args.contains_key("last"));
        let inner = self.set(
            &field.selection_set.node,
            ty,
            paged.then(|| self.page_size(field)),
        );
        let one = inner.saturating_add(1);
        match (page, meta) {
            (Some(n), Some(m)) if MetaTypeName::create(&m.ty).is_list() => one.saturating_mul(n),
            _ => one,
        }
    }

    /// The page a paged field asks for: `first` or `last`, within what the service
    /// allows, the default page when neither is given.
    fn page_size(&self, field: &Field) -> u64 {
        let arg = |name: &str| -> Option<i64> {
            match &field.get_argument(name)?.node {
                GqlValue::Number(n) => n.as_i64(),
                GqlValue::Variable(var) => match self.variable(var)? {
                    ConstValue::Number(n) => n.as_i64(),
                    _ => None,
                },
                _ => None,
            }
        };
        match (arg("first"), arg("last")) {
            (None, None) => DEFAULT_LIMIT,
            (a, b) => a.max(b).unwrap_or(0).clamp(0, MAX_LIMIT as i64) as u64,
        }
    }

    /// A variable's value: the request's, else its default in the operation.
    fn variable(&self, name: &Name) -> Option<&ConstValue> {
        self.variables.get(name).or_else(|| {
            self.definitions
                .iter()
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value())
        })
    }
}

#[cfg(test)]
mod tests;
