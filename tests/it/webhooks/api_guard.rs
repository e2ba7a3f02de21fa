//! Webhook URLs go through the one outbound guard when they are saved: an endpoint
//! that would reach loopback, private, link-local, unique-local or metadata addresses
//! (as an IP literal or through a host name that resolves there) is a 422, unless the
//! operator allow-listed it; a metadata address never passes.

use super::api_support::*;
use crate::common::calls::call;
use crate::common::run_support::pointers;
use reqwest::Method;
use serde_json::json;

/// Internal destinations, and the rule each detail names.
const ATTACKS: &[(&str, &str)] = &[
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.0.0.1/hook", "private"),
    ("https://192.168.1.20/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://localhost/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[fc00::1]/hook", "unique-local"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
];

#[tokio::test]
async fn internal_destinations_are_refused_at_create_and_at_patch() {
    // Nothing allow-listed but the metadata address, which never passes anyway.
    let s = server_with(|c| c.outbound.allow = vec!["169.254.169.254".into()]).await;
    let api = s.api();
    for (url, rule) in ATTACKS {
        let r = call(
            api.request(Method::POST, "/v1/webhooks")
                .json(&json!({ "url": url, "events": ["*"] })),
        )
        .await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(pointers(&r.body), ["/url"], "{url}");
        let detail = r.body["errors"][0]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(rule), "{url}: {detail}");
    }
    assert_eq!(api.get("/v1/webhooks", 200).await["data"], json!([]));
    // A name that resolves to loopback says so (not "points to").
    let r = call(
        api.request(Method::POST, "/v1/webhooks")
            .json(&json!({ "url": "https://localhost/hook", "events": ["*"] })),
    )
    .await;
    assert!(
        r.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("resolves to"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_existing_endpoint_cannot_be_pointed_inside() {
    let s = server().await;
    let api = s.api();
    let wh = id(&create(&api, &hook_url(&s, "fine")).await);
    // The test configuration allow-lists 127.0.0.1 only: the other attacks still fail.
    for (url, _) in ATTACKS
        .iter()
        .filter(|(u, _)| !u.contains("127.0.0.1") && !u.contains("localhost"))
    {
        let r = call(
            api.request(Method::PATCH, &format!("/v1/webhooks/{wh}"))
                .json(&json!({ "url": url })),
        )
        .await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(pointers(&r.body), ["/url"], "{url}");
    }
    let got = api.get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_eq!(got["url"], hook_url(&s, "fine"));
}

#[tokio::test]
async fn allow_listed_hosts_are_accepted_and_may_use_plain_http() {
    let s = server().await;
    assert!(s
        .state
        .config
        .outbound
        .allow
        .contains(&"127.0.0.1".to_string()));
    let api = s.api();
    let url = hook_url(&s, "receiver");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let created = create(&api, &url).await;
    assert_eq!(created["url"], url);
    // A name resolving to the allow-listed address passes the address rules, but plain
    // http needs the host itself allow-listed.
    create(&api, "https://localhost/hook").await;
    let r = call(
        api.request(Method::POST, "/v1/webhooks")
            .json(&json!({ "url": "http://localhost/hook", "events": ["*"] })),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(pointers(&r.body), ["/url"]);
}
