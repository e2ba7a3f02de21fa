use super::*;
use async_graphql::OutputType;
use std::time::{Duration, Instant};

/// The default caps.
fn caps() -> Caps {
    Caps {
        max_selections: 2000,
        max_complexity: 5000,
        max_aliases: 100,
        max_root_fields: 50,
        max_fragments: 100,
        max_spreads: 500,
    }
}

/// The real schema's query types.
fn registry() -> Registry {
    let mut registry = Registry::default();
    crate::graphql::Query::create_type_info(&mut registry);
    registry.query_type = "Query".into();
    registry
}

fn check_with(query: &str, vars: serde_json::Value, caps: &Caps) -> Result<u64, Refusal> {
    let doc = async_graphql::parser::parse_query(query).expect("parses");
    let vars = Variables::from_json(vars);
    check(&doc, &registry(), None, &vars, caps)
}

fn refusal(query: &str) -> String {
    match check_with(query, serde_json::json!({}), &caps()) {
        Err(Refusal::TooComplex(why)) => why,
        other => panic!("expected too complex, got {other:?}"),
    }
}

/// Each fragment spreads the next one twice: `levels` fragments expand to 2^levels.
fn fragment_bomb(levels: usize) -> String {
    let mut q = String::from("{ ...F0 }\n");
    for i in 0..levels {
        q += &format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1);
    }
    q + &format!("fragment F{levels} on Query {{ viewer {{ testMode }} }}\n")
}

/// The cost of the operation alone, read from the refusal with a cap of 1.
fn cost_of(query: &str, vars: serde_json::Value) -> u64 {
    let tight = Caps {
        max_complexity: 1,
        ..caps()
    };
    match check_with(query, vars, &tight) {
        Err(Refusal::TooComplex(why)) => why
            .strip_prefix("it costs ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no cost in {why}")),
        other => panic!("expected a cost refusal, got {other:?}"),
    }
}

#[test]
fn a_fragment_bomb_is_refused_in_linear_time() {
    for levels in [25, 60] {
        let query = fragment_bomb(levels);
        let started = Instant::now();
        let why = refusal(&query);
        assert!(why.contains("expands to"), "{why}");
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "{levels} levels"
        );
    }
}

#[test]
fn fragment_cycles_are_refused_before_any_expansion() {
    let cyclic = "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }";
    assert!(matches!(
        check_with(cyclic, serde_json::json!({}), &caps()),
        Err(Refusal::FragmentCycle(_))
    ));
    let own = "{ ...A } fragment A on Query { viewer { testMode } ...A }";
    assert!(matches!(
        check_with(own, serde_json::json!({}), &caps()),
        Err(Refusal::FragmentCycle(_))
    ));
}

#[test]
fn nesting_through_fragments_is_bounded() {
    let mut chain = String::from("{ ...F0 }\n");
    for i in 0..70 {
        chain += &format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1);
    }
    chain += "fragment F70 on Query { __typename }";
    assert_eq!(
        check_with(&chain, serde_json::json!({}), &caps()),
        Err(Refusal::TooDeep)
    );
}

#[test]
fn fragments_spreads_aliases_and_root_fields_are_capped() {
    let many_fragments: String = (0..101)
        .map(|i| format!("fragment F{i} on Query {{ __typename }}\n"))
        .collect();
    assert!(refusal(&format!("{{ __typename }} {many_fragments}")).contains("101 fragments"));

    let spreads = "...F ".repeat(501);
    let why = refusal(&format!(
        "{{ {spreads} }} fragment F on Query {{ __typename }}"
    ));
    assert!(why.contains("501 fragment spreads"), "{why}");

    let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
    assert!(refusal(&format!("{{ {aliases} }}")).contains("101 aliases"));

    let roots = "__typename ".repeat(51);
    assert!(refusal(&format!("{{ {roots} }}")).contains("51 root fields"));
    // Root fields through a fragment count as well.
    let via_fragment = format!("{{ ...R }} fragment R on Query {{ {roots} }}");
    assert!(refusal(&via_fragment).contains("51 root fields"));
}

#[test]
fn paged_lists_cost_their_page_size_times_their_items() {
    assert_eq!(cost_of("{ viewer { testMode } }", serde_json::json!({})), 2);
    // nodes: 100 × (1 + id); agents: 1 + that.
    assert_eq!(
        cost_of(
            "{ agents(first: 100) { nodes { id } } }",
            serde_json::json!({})
        ),
        201
    );
    // Page info is not per item.
    assert_eq!(
        cost_of(
            "{ agents(first: 10) { nodes { id } pageInfo { hasNextPage } } }",
            serde_json::json!({})
        ),
        1 + 20 + 2
    );
    // Nested pages multiply.
    assert_eq!(
        cost_of(
            "{ agents(first: 100) { nodes { versions(first: 100) { nodes { id } } } } }",
            serde_json::json!({})
        ),
        1 + 100 * (1 + 1 + 100 * 2)
    );
    // Without `first`/`last`, the default page; `last` counts like `first`; beyond
    // the largest page, the largest page.
    for (query, cost) in [
        ("{ agents { nodes { id } } }", 41),
        ("{ agents(last: 3) { edges { node { id } } } }", 1 + 3 * 3),
        ("{ agents(first: 100000) { nodes { id } } }", 201),
    ] {
        assert_eq!(cost_of(query, serde_json::json!({})), cost, "{query}");
    }
}

#[test]
fn page_sizes_come_from_variables_and_their_defaults() {
    let query = "query($n: Int = 7) { agents(first: $n) { nodes { id } } }";
    assert_eq!(cost_of(query, serde_json::json!({ "n": 50 })), 101);
    assert_eq!(cost_of(query, serde_json::json!({})), 15);
}

#[test]
fn fragments_and_inline_fragments_are_priced_on_their_types() {
    let query = "{ agents(first: 10) { ...Conn } } \
                 fragment Conn on AgentConnection { nodes { ... on Agent { id name } } }";
    assert_eq!(cost_of(query, serde_json::json!({})), 1 + 10 * 3);
}

#[test]
fn a_normal_query_passes() {
    let query = "query($first: Int) { viewer { organization { id name } } \
                 agents(first: $first) { nodes { id name model instructions versions { nodes { version } } } \
                 pageInfo { hasNextPage endCursor } } }";
    assert!(check_with(query, serde_json::json!({ "first": 50 }), &caps()).is_ok());
}

#[test]
fn a_passing_document_reports_its_cost() {
    // What the rate limit charges a GraphQL request (its cost over `graphql_cost_unit`).
    let query = "query($n: Int = 7) { agents(first: $n) { nodes { id } } }";
    let vars = serde_json::json!({ "n": 50 });
    assert_eq!(check_with(query, vars, &caps()), Ok(101));
}
