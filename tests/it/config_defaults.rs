//! Issue 8 §5: `orchstack.example.toml` is what `orchstack config defaults` prints, and
//! it loads to exactly the defaults.

use orchstack::config::Config;
use std::path::Path;

fn example_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("orchstack.example.toml")
}

#[tokio::test]
async fn committed_example_matches_config_defaults() {
    let committed = std::fs::read_to_string(example_path()).expect("orchstack.example.toml");
    // The real CLI, with nothing from this process's environment.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orchstack"))
        .env_clear()
        .args(["config", "defaults"])
        .output()
        .await
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, orchstack::config::example_toml());
    assert!(
        committed == printed,
        "orchstack.example.toml is out of date: run \
         `cargo run -q -- config defaults > orchstack.example.toml`"
    );
}

#[test]
fn committed_example_loads_to_the_defaults() {
    let from_file = Config::load(Some(&example_path())).expect("the example loads and validates");
    let without = Config::load(None).expect("the defaults load");
    assert_eq!(
        serde_json::to_value(&from_file).unwrap(),
        serde_json::to_value(&without).unwrap()
    );
    // The file sets every value rather than leaving them to the defaults.
    let table: toml::Table = std::fs::read_to_string(example_path())
        .unwrap()
        .parse()
        .unwrap();
    for key in ["listen", "worker", "runs", "providers", "log"] {
        assert!(table.contains_key(key), "{key} is not set in the example");
    }
    assert_eq!(table["worker"]["lease_ttl"].as_str(), Some("30s"));
}
