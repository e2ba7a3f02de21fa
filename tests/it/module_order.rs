//! The top-level modules of `src/` point one way: each may use only modules ranked below
//! it. Read from the source (like `schema_drift.rs` reads the schema), so a feature that
//! adds an upward import fails here, with the file and line, instead of growing a cycle.
//!
//! Every `crate::<module>` path counts: in `use` trees, in inline paths (expressions,
//! types, patterns) and inside macro calls; `super::` chains that climb to the crate root
//! count too. Test code (`#[cfg(test)] mod tests`) obeys the same order: it is compiled
//! into the same modules. Comments and strings are not code and are not read.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The intended order, highest first (issue 8 §3, DESIGN.md §2). A module may use only
/// modules of strictly lower rank, so modules of one rank never use each other.
/// - The front ends (rest → graphql → http) translate requests into service calls; REST
///   runs on the GraphQL schema, and both sit on http's shared layers (request id,
///   problem+json, the auth and rate-limit layers, body limit, streams).
/// - `service` holds the rules; it drives the runtime, events and auth, never the reverse.
/// - `runtime` executes runs: it writes events and takes leases (`jobs`).
/// - `events` and `auth` are independent of each other.
/// - `knowledge` holds the parts of knowledge bases below the runtime (extraction,
///   chunking, originals, recording a document's indexing, search); the indexing loop
///   and the embeddings client are `runtime`'s.
/// - `webhooks` holds the pieces of outgoing webhooks (the outbox rows the journal commits
///   with a state change, signing, the retry schedule, one attempt); below `events` so the
///   journal can write the outbox in its own transaction. The delivery loop is `runtime`'s.
/// - `outbound`, `templates` and `telemetry` are guarded helpers, and `ratelimit` the
///   limiter (keys, quotas, GCRA; who pays and the response headers are `http`'s);
///   `config` only describes settings; `error`, `ids` and `clock` are leaves.
const RANKS: &[(&str, u8)] = &[
    ("rest", 10),
    ("graphql", 9),
    ("http", 8),
    ("service", 7),
    ("runtime", 6),
    ("events", 5),
    ("knowledge", 5),
    ("auth", 5),
    ("webhooks", 4),
    ("jobs", 3),
    ("outbound", 2),
    ("ratelimit", 2),
    ("templates", 2),
    ("telemetry", 2),
    ("config", 1),
    ("error", 0),
    ("ids", 0),
    ("clock", 0),
];

/// Root files: they assemble the modules (state, router, start-up, CLI), so they may use
/// any of them and are not checked; no module may use them.
const ROOT: &[&str] = &["lib", "main", "state", "db"];

/// One `crate::<module>` use: where it is and which top-level module it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    line: usize,
    target: String,
}

/// Collects the top-level modules a file's code names.
struct Scanner {
    /// The module path of the code being visited (the file's, plus inline `mod`s).
    module: Vec<String>,
    found: Vec<Import>,
}

impl Scanner {
    fn record(&mut self, line: usize, target: &str) {
        self.found.push(Import {
            line,
            target: target.to_owned(),
        });
    }

    /// The top-level module a path starting with `segments` reaches, if it leaves the
    /// current one through the root: `crate::x`, or enough `super`s to climb there.
    fn top_of(&self, segments: &[String]) -> Option<String> {
        match segments.first().map(String::as_str) {
            Some("crate") => segments.get(1).cloned(),
            Some("super") => {
                let ups = segments.iter().take_while(|s| *s == "super").count();
                (ups >= self.module.len())
                    .then(|| segments.get(ups).cloned())
                    .flatten()
            }
            _ => None,
        }
    }

    /// A `use` tree: decided at its first segment past `crate`/`super`.
    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        let (ident, rest) = match tree {
            syn::UseTree::Path(p) => (&p.ident, Some(&*p.tree)),
            syn::UseTree::Name(n) => (&n.ident, None),
            syn::UseTree::Rename(r) => (&r.ident, None),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(item, prefix);
                }
                return;
            }
            syn::UseTree::Glob(_) => return,
        };
        prefix.push(ident.to_string());
        if !prefix.iter().all(|s| s == "crate" || s == "super") {
            if let Some(top) = self.top_of(prefix) {
                self.record(ident.span().start().line, &top);
            }
        } else if let Some(rest) = rest {
            self.use_tree(rest, prefix);
        }
        prefix.pop();
    }

    /// `crate :: x` and `super :: ... :: x` inside a macro's tokens.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            if let TokenTree::Group(g) = &trees[i] {
                self.tokens(g.stream());
                i += 1;
                continue;
            }
            let starts_path = matches!(&trees[i], TokenTree::Ident(id) if id == "crate" || id == "super")
                && !(i >= 2 && is_colon(&trees[i - 1]) && is_colon(&trees[i - 2]));
            if !starts_path {
                i += 1;
                continue;
            }
            let mut segments = Vec::new();
            let mut j = i;
            while let Some(TokenTree::Ident(id)) = trees.get(j) {
                segments.push(id.to_string());
                if trees.get(j + 1).is_some_and(is_colon) && trees.get(j + 2).is_some_and(is_colon)
                {
                    j += 3;
                } else {
                    break;
                }
            }
            if let Some(top) = self.top_of(&segments) {
                self.record(trees[i].span().start().line, &top);
            }
            i = j + 1;
        }
    }
}

fn is_colon(t: &TokenTree) -> bool {
    matches!(t, TokenTree::Punct(p) if p.as_char() == ':')
}

impl<'ast> Visit<'ast> for Scanner {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&item.tree, &mut Vec::new());
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() >= 2 {
            if let Some(top) = self.top_of(&segments) {
                let line = path.segments[0].ident.span().start().line;
                self.record(line, &top);
            }
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.tokens(mac.tokens.clone());
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        self.module.push(item.ident.to_string());
        syn::visit::visit_item_mod(self, item);
        self.module.pop();
    }
}

/// The top-level modules `source` (the file of module path `module`) names, with lines.
fn scan(module: &[String], source: &str) -> Vec<Import> {
    let file = syn::parse_file(source).unwrap_or_else(|e| panic!("parse {module:?}: {e}"));
    let mut scanner = Scanner {
        module: module.to_vec(),
        found: Vec::new(),
    };
    scanner.visit_file(&file);
    scanner
        .found
        .sort_by(|a, b| (a.line, &a.target).cmp(&(b.line, &b.target)));
    scanner.found.dedup();
    scanner.found
}

/// `src/a/b.rs` → `["a", "b"]`; `src/a/mod.rs` → `["a"]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// Every `crate::` use in `src/`: (file relative to the crate, its top-level module,
/// the import).
fn imports() -> Vec<(String, String, Import)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let rel = path.strip_prefix(root.join("src")).expect("under src/");
        let module = module_path(rel);
        let source = std::fs::read_to_string(&path).expect("read a source file");
        let shown = format!("src/{}", rel.display());
        for import in scan(&module, &source) {
            out.push((shown.clone(), module[0].clone(), import));
        }
    }
    out
}

/// The first cycle in `edges` (module → modules it uses), as a path that ends where it
/// starts.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn every_top_level_module_has_a_place_in_the_order() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read src/lib.rs");
    let file = syn::parse_file(&lib).expect("parse src/lib.rs");
    let unplaced: Vec<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        })
        .filter(|m| rank(m).is_none() && !ROOT.contains(&m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from RANKS (or ROOT) in tests/it/module_order.rs: {unplaced:?}"
    );
}

#[test]
fn modules_use_only_modules_ranked_below_them() {
    let mut broken = Vec::new();
    for (file, from, import) in imports() {
        if ROOT.contains(&from.as_str()) || import.target == from {
            continue;
        }
        let from_rank = rank(&from).expect("every module is ranked (see the test above)");
        let rule = match rank(&import.target) {
            Some(to) if to < from_rank => continue,
            Some(to) => format!(
                "{from} (rank {from_rank}) may not use {} (rank {to})",
                import.target
            ),
            None if ROOT.contains(&import.target.as_str()) => {
                format!("{from} may not use the root module {}", import.target)
            }
            None => format!(
                "{from} may not use `crate::{}` (crate-root items are the assembly's)",
                import.target
            ),
        };
        broken.push(format!("{file}:{}: {rule}", import.line));
    }
    assert!(
        broken.is_empty(),
        "imports against the module order (tests/it/module_order.rs RANKS):\n{}",
        broken.join("\n")
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, from, import) in imports() {
        if ROOT.contains(&from.as_str()) || import.target == from {
            continue;
        }
        edges.entry(from).or_default().insert(import.target);
    }
    assert_eq!(
        find_cycle(&edges),
        None,
        "a cycle between top-level modules"
    );
}

#[test]
fn the_scanner_finds_every_form_of_crate_path_and_nothing_in_comments() {
    let source = r#"
        //! Mentions crate::rest in a comment.
        use crate::{auth::Principal, events::bus};
        use super::super::service;
        use super::sibling;
        fn f() -> crate::ids::Id {
            let s = "crate::graphql in a string";
            tracing::info!(x = ?crate::clock::now());
            crate::config::load()
        }
        #[cfg(test)]
        mod tests {
            use super::super::super::state;
        }
    "#;
    let module = vec!["runtime".to_owned(), "executor".to_owned()];
    let found: Vec<(usize, String)> = scan(&module, source)
        .into_iter()
        .map(|i| (i.line, i.target))
        .collect();
    assert_eq!(
        found,
        [
            (3, "auth"),
            (3, "events"),
            (4, "service"),
            (6, "ids"),
            (8, "clock"),
            (9, "config"),
            (13, "state"),
        ]
        .map(|(l, t)| (l, t.to_owned()))
    );
}

#[test]
fn the_cycle_finder_reports_a_cycle() {
    let edge = |a: &str, b: &[&str]| (a.to_owned(), b.iter().map(|s| s.to_string()).collect());
    let acyclic: BTreeMap<String, BTreeSet<String>> =
        [edge("a", &["b", "c"]), edge("b", &["c"])].into();
    assert_eq!(find_cycle(&acyclic), None);
    let cyclic: BTreeMap<String, BTreeSet<String>> =
        [edge("a", &["b"]), edge("b", &["c"]), edge("c", &["a"])].into();
    assert_eq!(
        find_cycle(&cyclic),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
}
