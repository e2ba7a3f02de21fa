//! The committed schema files must equal what the code generates.

fn committed(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn committed_sdl_matches_the_schema() {
    assert!(
        committed("schema.graphql") == orchstack::graphql::sdl(),
        "schema/schema.graphql is out of date: run `cargo run -- schema > schema/schema.graphql`"
    );
}

#[test]
fn committed_openapi_matches_the_route_table() {
    let generated = orchstack::rest::openapi_document().expect("openapi generates");
    assert!(
        committed("openapi.json").trim_end() == generated.trim_end(),
        "schema/openapi.json is out of date: run `cargo run -- openapi > schema/openapi.json`"
    );
}
