//! Tenancy and scopes on every webhook route: another organisation's endpoint is not
//! found, reading needs `webhooks:read` and changing needs `webhooks:write`.

use super::api_support::*;
use crate::common::calls::call;
use reqwest::Method;
use serde_json::{json, Value};

/// Every route of one endpoint (and one of its deliveries), with a body where it needs one.
fn routes(wh: &str, dlv: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/v1/webhooks/{wh}"), None),
        (
            Method::PATCH,
            format!("/v1/webhooks/{wh}"),
            Some(json!({ "description": "x" })),
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{wh}/rotate-secret"),
            None,
        ),
        (Method::POST, format!("/v1/webhooks/{wh}/test"), None),
        (Method::GET, format!("/v1/webhooks/{wh}/deliveries"), None),
        (
            Method::POST,
            format!("/v1/webhooks/{wh}/deliveries/{dlv}/retry"),
            None,
        ),
        (Method::DELETE, format!("/v1/webhooks/{wh}"), None),
    ]
}

#[tokio::test]
async fn another_organisations_endpoint_is_not_found_on_every_route() {
    let s = server().await;
    let wh = id(&create(&s.api(), &hook_url(&s, "mine")).await);
    let sent = s
        .api()
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await;
    let dlv = id(&sent);
    let (_, other_key) = s.new_org("enterprise").await;
    let other = s.api_with(Some(&other_key));
    for (method, path, body) in routes(&wh, &dlv) {
        let mut req = other.request(method.clone(), &path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = call(req).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert_eq!(r.body["code"], "not_found");
    }
    // Nothing changed, and the other organisation's list is empty.
    let got = s.api().get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_eq!(got["description"], Value::Null);
    assert_eq!(rows(&s, &wh).await.len(), 1);
    assert_eq!(other.get("/v1/webhooks", 200).await["data"], json!([]));
    // A delivery of another endpoint (of the same organisation) is not found either.
    let wh2 = id(&create(&s.api(), &hook_url(&s, "second")).await);
    let r = call(s.api().request(
        Method::POST,
        &format!("/v1/webhooks/{wh2}/deliveries/{dlv}/retry"),
    ))
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn reading_needs_webhooks_read_and_changing_needs_webhooks_write() {
    let s = server().await;
    let wh = id(&create(&s.api(), &hook_url(&s, "scoped")).await);
    let dlv = id(&s
        .api()
        .post(&format!("/v1/webhooks/{wh}/test"), json!({}), 202)
        .await);
    let reader = s.api_with(Some(&s.key(&s.org_id, &["webhooks:read"], false).await));
    let writer = s.api_with(Some(&s.key(&s.org_id, &["webhooks:write"], false).await));
    let neither = s.api_with(Some(
        &s.key(&s.org_id, &["agents:read", "runs:write"], false)
            .await,
    ));
    for (method, path, body) in routes(&wh, &dlv) {
        let reads = method == Method::GET;
        for (api, allowed) in [(&reader, reads), (&writer, !reads), (&neither, false)] {
            if allowed {
                continue; // the allowed calls are made below, once
            }
            let mut req = api.request(method.clone(), &path);
            if let Some(body) = &body {
                req = req.json(body);
            }
            let r = call(req).await;
            assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
            assert_eq!(r.body["code"], "insufficient_scope");
        }
    }
    for api in [&reader, &writer, &neither] {
        let list = call(api.request(Method::GET, "/v1/webhooks")).await;
        let create = call(
            api.request(Method::POST, "/v1/webhooks")
                .json(&json!({ "url": hook_url(&s, "x"), "events": ["*"] })),
        )
        .await;
        let reads = std::ptr::eq(api, &reader);
        let writes = std::ptr::eq(api, &writer);
        assert_eq!(list.status, if reads { 200 } else { 403 }, "{}", list.body);
        assert_eq!(
            create.status,
            if writes { 201 } else { 403 },
            "{}",
            create.body
        );
    }
    reader
        .get(&format!("/v1/webhooks/{wh}/deliveries"), 200)
        .await;
    writer
        .post(
            &format!("/v1/webhooks/{wh}/deliveries/{dlv}/retry"),
            json!({}),
            202,
        )
        .await;
    writer.delete(&format!("/v1/webhooks/{wh}"), 200).await;
}
