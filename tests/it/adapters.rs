//! The front ends only translate: GraphQL resolvers and the REST handler turn requests
//! into service calls and results into responses. Every rule (scopes, tenancy, queries,
//! waiting, what a status means) lives in `src/service/`, so a feature built next finds
//! nothing to copy out of a resolver. This test reads the adapters' source and fails on
//! the marks of a rule.

use std::path::{Path, PathBuf};

/// What an adapter must not contain, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("sea_orm", "queries belong to the service layer"),
    (".require(", "scope checks belong to the service layer"),
    ("Scope::", "scope checks belong to the service layer"),
    ("events::bus", "live plumbing belongs to the service layer"),
    (
        "events::reader",
        "live plumbing belongs to the service layer",
    ),
    ("events::journal", "writes go through the service layer"),
    ("tokio::time", "waiting for work is a service rule"),
    (
        "new_id(",
        "ids of new resources are made by the service layer",
    ),
    ("\"queued\"", "what a status means is the service's"),
    ("\"running\"", "what a status means is the service's"),
    (
        "\"async\"",
        "route specifics are attributes of the route's row",
    ),
    (
        "\"run_id\"",
        "route specifics are attributes of the route's row",
    ),
    ("ACTIVE", "what a status means is the service's"),
];

/// Resolver files and the REST handler. (Transport plumbing — `graphql/http.rs`,
/// `ws.rs`, `sse.rs`, `rest/sse.rs` — is checked by the module-order test instead.)
const ADAPTERS: &[&str] = &[
    "graphql/agents.rs",
    "graphql/api_keys.rs",
    "graphql/loaders.rs",
    "graphql/runs.rs",
    "graphql/subscriptions.rs",
    "graphql/viewer.rs",
    "graphql/webhook_deliveries.rs",
    "graphql/webhooks.rs",
    "rest/exec.rs",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code of a file without its comments and its unit tests.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn resolvers_and_the_rest_handler_only_translate() {
    let mut found = Vec::new();
    for file in ADAPTERS {
        let code = code_of(&src().join(file));
        for (n, line) in code.lines().enumerate() {
            for (mark, why) in FORBIDDEN {
                if line.contains(mark) {
                    found.push(format!("src/{file}:{}: `{mark}`: {why}", n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "rules in adapters:\n{}", found.join("\n"));
}

#[test]
fn resolvers_reach_the_service_layer_through_one_value() {
    // `ctx.data*` lookups live in `graphql/mod.rs` (the caller, the services value) and
    // nowhere else, so a new resolver cannot grow its own set of handles.
    let mut found = Vec::new();
    for entry in std::fs::read_dir(src().join("graphql")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.extension().is_none_or(|e| e != "rs") || name == "mod.rs" {
            continue;
        }
        for (n, line) in code_of(&path).lines().enumerate() {
            if line.contains("data_unchecked") || line.contains(".data::<") {
                found.push(format!("src/graphql/{name}:{}", n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "schema data looked up outside graphql/mod.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_rule_when_there_is_one() {
    // The scanner itself: a scope check in a resolver is found.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resolver.rs");
    std::fs::write(
        &path,
        "fn f() { p.require(Scope::RunsRead)?; } // p.require(\n",
    )
    .unwrap();
    let code = code_of(&path);
    assert!(code.contains(".require("));
    assert_eq!(
        code.matches(".require(").count(),
        1,
        "comments are not code"
    );
}
