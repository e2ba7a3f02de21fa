//! Choosing a provider by model prefix, test mode, configuration and token counting.

use crate::fake::{collect, text};
use orchstack::runtime::providers::{
    count_tokens, default_provider_configs, ChatRequest, Message, ProviderConfig, Providers,
    OPENAI_BASE_URL,
};
use serde_json::json;

fn providers() -> Providers {
    let mut configs = default_provider_configs();
    configs.insert(
        "vllm".into(),
        ProviderConfig::new("openai", "http://127.0.0.1:9/v1"),
    );
    configs.insert("odd".into(), ProviderConfig::new("carrier-pigeon", ""));
    Providers::new(&configs)
}

#[tokio::test]
async fn test_mode_always_uses_the_mock_provider() {
    let providers = providers();
    let (provider, model) = providers.resolve("openai/gpt-4o-mini", true).unwrap();
    assert_eq!(model, "echo");
    // Really the mock: it echoes, with no network (the real API is never called).
    let req = ChatRequest {
        model,
        messages: vec![Message::User("sandboxed".into())],
        tools: vec![],
        settings: json!({}),
    };
    let (result, events) = collect(provider, req).await;
    result.unwrap();
    assert_eq!(text(&events), "sandboxed");

    assert_eq!(providers.resolve("mock/tools", true).unwrap().1, "tools");
    assert_eq!(providers.resolve("nope/x", true).unwrap().1, "echo");
    assert_eq!(providers.resolve("no-slash", true).unwrap().1, "echo");
}

#[test]
fn live_mode_resolves_by_prefix() {
    let providers = providers();
    assert_eq!(
        providers.resolve("openai/gpt-4o-mini", false).unwrap().1,
        "gpt-4o-mini"
    );
    assert_eq!(
        providers
            .resolve("anthropic/claude-sonnet-4", false)
            .unwrap()
            .1,
        "claude-sonnet-4"
    );
    assert_eq!(
        providers
            .resolve("vllm/meta-llama/Llama-3.1-8B", false)
            .unwrap()
            .1,
        "meta-llama/Llama-3.1-8B"
    );
    assert_eq!(providers.resolve("mock/echo", false).unwrap().1, "echo");
    assert_eq!(
        providers.names(),
        ["anthropic", "mock", "openai", "vllm"].map(String::from)
    );
}

#[test]
fn unknown_prefixes_and_kinds_are_unknown_provider() {
    let providers = providers();
    for model in ["nope/model", "gpt-4o", "/x", "openai/"] {
        let err = providers.resolve(model, false).err().unwrap();
        assert_eq!(err.code, "unknown_provider", "{model}");
    }
    let err = providers.resolve("nope/model", false).err().unwrap();
    assert!(err.message.contains("nope"), "{}", err.message);
    let err = providers.resolve("odd/model", false).err().unwrap();
    assert_eq!(err.code, "unknown_provider");
    assert!(err.message.contains("carrier-pigeon"), "{}", err.message);
}

#[test]
fn config_defaults_and_redaction() {
    let cfg: ProviderConfig =
        serde_json::from_value(json!({"base_url": "http://localhost:11434/v1"})).unwrap();
    assert_eq!(cfg.kind, "openai");
    assert_eq!(cfg.api_key, None);
    assert!(!cfg.connect_timeout.is_zero() && !cfg.idle_timeout.is_zero());
    assert_eq!(cfg.max_retries, ProviderConfig::default().max_retries);

    let defaults = default_provider_configs();
    assert_eq!(defaults["openai"].base_url, OPENAI_BASE_URL);
    assert_eq!(defaults["anthropic"].kind, "anthropic");

    let secret = ProviderConfig {
        api_key: Some("sk-very-secret".into()),
        ..ProviderConfig::default()
    };
    let shown = format!("{secret:?}");
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    // Serialized as-is, so figment defaults keep the key.
    assert_eq!(
        serde_json::to_value(&secret).unwrap()["api_key"],
        "sk-very-secret"
    );
}

#[test]
fn tokens_are_counted_with_cl100k() {
    assert_eq!(count_tokens(""), 0);
    assert_eq!(count_tokens("hello world"), 2);
    assert!(count_tokens("The quick brown fox jumps over the lazy dog.") >= 9);
}
