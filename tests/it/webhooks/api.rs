//! `/v1/webhooks`: the endpoint resource over REST and GraphQL: its round trip, the
//! secret (shown on create and rotate only), bad input, the per-organisation cap,
//! tenancy and scopes.

use super::api_support::*;
use crate::common::calls::call;
use crate::common::run_support::pointers;
use crate::common::TestServer;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The fields every REST endpoint object has, and never a secret.
pub(super) fn assert_public(v: &Value) {
    for key in [
        "id",
        "url",
        "description",
        "events",
        "enabled",
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ] {
        assert!(v.get(key).is_some(), "no `{key}` in {v}");
    }
    let text = v.to_string();
    assert!(
        v.get("secret").is_none() && !text.contains("whsec_"),
        "a secret is shown: {v}"
    );
}

/// `whsec_` + standard base64 of 32 bytes.
pub(super) fn assert_secret(v: &Value) -> String {
    let secret = v["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {v}"));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("standard base64");
    assert_eq!(raw.len(), 32, "{secret}");
    secret.to_owned()
}

#[tokio::test]
async fn an_endpoint_round_trips_and_its_secret_is_shown_only_on_create() {
    let s = server().await;
    let api = s.api();
    let url = hook_url(&s, "hooks/a");
    let created = api
        .post(
            "/v1/webhooks",
            json!({ "url": url, "events": ["agent.run.completed", "agent.gate.pending"], "description": "bookings" }),
            201,
        )
        .await;
    let secret = assert_secret(&created);
    let wh = id(&created);
    assert!(wh.starts_with("wh_"), "{wh}");
    assert_eq!(created["url"], url);
    assert_eq!(
        created["events"],
        json!(["agent.run.completed", "agent.gate.pending"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["description"], "bookings");
    assert_eq!(created["disabled_reason"], Value::Null);

    let got = api.get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_public(&got);
    assert_eq!(got["url"], url);
    let list = api.get("/v1/webhooks", 200).await;
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_public(&list["data"][0]);
    assert!(!list.to_string().contains(&secret));

    let url2 = hook_url(&s, "hooks/b");
    let patched = api
        .patch(
            &format!("/v1/webhooks/{wh}"),
            json!({ "url": url2, "events": ["*"], "description": null }),
            200,
        )
        .await;
    assert_public(&patched);
    assert_eq!(patched["url"], url2);
    assert_eq!(patched["events"], json!(["*"]));
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["enabled"], true, "left as it was");
    assert!(patched["updated_at"].as_str() >= created["updated_at"].as_str());

    let deleted = api.delete(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_eq!(
        deleted,
        json!({ "id": wh, "object": "webhook_endpoint", "deleted": true })
    );
    api.get(&format!("/v1/webhooks/{wh}"), 404).await;
    api.delete(&format!("/v1/webhooks/{wh}"), 404).await;
    let list = api.get("/v1/webhooks", 200).await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn lists_page_sort_and_pick_fields() {
    let s = server().await;
    let api = s.api();
    let mut made = Vec::new();
    for i in 0..3 {
        made.push(id(&create(&api, &hook_url(&s, &format!("h{i}"))).await));
    }
    let first = api.get("/v1/webhooks?limit=2", 200).await;
    assert_eq!(first["has_more"], true);
    let ids: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [made[2].as_str(), made[1].as_str()], "newest first");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = api
        .get(&format!("/v1/webhooks?limit=2&cursor={cursor}"), 200)
        .await;
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"][0]["id"], made[0].as_str());
    let oldest = api
        .get("/v1/webhooks?sort=created_at&fields=id,url", 200)
        .await;
    assert_eq!(oldest["data"][0]["id"], made[0].as_str());
    assert_eq!(oldest["data"][0].as_object().unwrap().len(), 2, "{oldest}");
    api.get("/v1/webhooks?fields=secret", 400).await;
    api.get("/v1/webhooks?sort=url", 400).await;
}

#[tokio::test]
async fn rotating_gives_a_new_secret_and_keeps_the_old_one_for_the_grace() {
    let s = server_with(|c| c.webhooks.rotation_grace = Duration::from_secs(3600)).await;
    let api = s.api();
    let created = create(&api, &hook_url(&s, "r")).await;
    let old = assert_secret(&created);
    let wh = id(&created);
    assert_eq!(created["previous_secret_expires_at"], Value::Null);
    let before = chrono::Utc::now();
    let rotated = api
        .post(&format!("/v1/webhooks/{wh}/rotate-secret"), json!({}), 200)
        .await;
    let new = assert_secret(&rotated);
    assert_ne!(new, old);
    assert_eq!(rotated["id"], wh.as_str());
    let expires = crate::common::run_support::time(&rotated["previous_secret_expires_at"]);
    let grace = chrono::Duration::seconds(3600);
    assert!(
        expires >= before + grace - chrono::Duration::seconds(1)
            && expires <= chrono::Utc::now() + grace + chrono::Duration::seconds(1),
        "{expires}"
    );
    // Stored as the delivery engine reads them: the new secret, the old one beside it.
    let row = entity::webhook_endpoints::Entity::find_by_id(wh.clone())
        .one(&s.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.secret, new);
    assert_eq!(row.previous_secret.as_deref(), Some(old.as_str()));
    let got = api.get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_public(&got);
    assert_eq!(
        got["previous_secret_expires_at"],
        rotated["previous_secret_expires_at"]
    );
}

use sea_orm::EntityTrait;

/// Sends a body and expects 422 with exactly these pointers; nothing was written.
async fn refused(s: &TestServer, method: Method, path: &str, body: Value, want: &[&str]) {
    let api = s.api();
    let before = api.get("/v1/webhooks", 200).await;
    let r = call(api.request(method, path).json(&body)).await;
    assert_eq!(r.status, 422, "{body}: {}", r.body);
    assert_eq!(pointers(&r.body), want, "{body}: {}", r.body);
    assert_eq!(api.get("/v1/webhooks", 200).await, before, "{body}");
}

#[tokio::test]
async fn bad_urls_are_refused_with_a_pointer() {
    let s = server().await;
    let long = format!("https://example.com/{}", "a".repeat(2_100));
    for url in [
        "not a url",
        "ftp://example.com/hook",
        "https://",
        "/relative/path",
        // Plain http only to allow-listed hosts (checked before any lookup).
        "http://example.com/hook",
        "https://user:pass@example.com/hook",
        long.as_str(),
        // `.invalid` never resolves.
        "https://no-such-host.invalid/hook",
    ] {
        let body = json!({ "url": url, "events": ["*"] });
        refused(&s, Method::POST, "/v1/webhooks", body, &["/url"]).await;
    }
    let wh = id(&create(&s.api(), &hook_url(&s, "ok")).await);
    let path = format!("/v1/webhooks/{wh}");
    refused(
        &s,
        Method::PATCH,
        &path,
        json!({ "url": "ftp://x.example/" }),
        &["/url"],
    )
    .await;
    refused(&s, Method::PATCH, &path, json!({ "url": null }), &["/url"]).await;
}

#[tokio::test]
async fn bad_event_lists_and_descriptions_are_refused_with_a_pointer() {
    let s = server().await;
    let url = hook_url(&s, "ok");
    let cases: Vec<(Value, &[&str])> = vec![
        (json!([]), &["/events"]),
        (json!(["agent.run.exploded"]), &["/events/0"]),
        (
            json!(["agent.run.completed", "webhook.test"]),
            &["/events/1"],
        ),
        (
            json!(["agent.run.failed", "agent.run.failed"]),
            &["/events/1"],
        ),
        (json!(["*", "agent.run.failed"]), &["/events/0"]),
        (json!(vec!["agent.run.failed"; 40]), &["/events"]),
    ];
    for (events, want) in cases {
        let body = json!({ "url": url, "events": events });
        refused(&s, Method::POST, "/v1/webhooks", body, want).await;
    }
    let body = json!({ "url": url, "events": ["*"], "description": "d".repeat(501) });
    refused(&s, Method::POST, "/v1/webhooks", body, &["/description"]).await;
    // Every problem at once.
    let body = json!({ "url": "nope", "events": [], "description": "d".repeat(501) });
    refused(
        &s,
        Method::POST,
        "/v1/webhooks",
        body,
        &["/url", "/events", "/description"],
    )
    .await;
    let wh = id(&create(&s.api(), &url).await);
    let path = format!("/v1/webhooks/{wh}");
    refused(
        &s,
        Method::PATCH,
        &path,
        json!({ "events": [] }),
        &["/events"],
    )
    .await;
    refused(
        &s,
        Method::PATCH,
        &path,
        json!({ "enabled": null }),
        &["/enabled"],
    )
    .await;
    // Anything but the documented fields is refused before the service sees it.
    let r = call(
        s.api()
            .request(Method::POST, "/v1/webhooks")
            .json(&json!({ "url": url, "events": ["*"], "secret": "whsec_mine" })),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

#[tokio::test]
async fn an_organisation_has_at_most_max_endpoints_even_when_creating_at_once() {
    let s = server().await;
    assert_eq!(s.state.config.webhooks.max_endpoints, 16);
    let api = s.api();
    for i in 0..12 {
        create(&api, &hook_url(&s, &format!("h{i}"))).await;
    }
    // Eight at once for the last four places: exactly four get one.
    let attempts = (0..8).map(|i| {
        let api = api.clone();
        let url = hook_url(&s, &format!("c{i}"));
        async move {
            call(
                api.request(Method::POST, "/v1/webhooks")
                    .json(&json!({ "url": url, "events": ["*"] })),
            )
            .await
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        4,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(pointers(&r.body), ["/"]);
    }
    let all = api.get("/v1/webhooks?limit=100", 200).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 16);
    // The 17th, alone: still refused. Another organisation has its own 16.
    let r = call(
        api.request(Method::POST, "/v1/webhooks")
            .json(&json!({ "url": hook_url(&s, "x"), "events": ["*"] })),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let (_, other) = s.new_org("enterprise").await;
    create(&s.api_with(Some(&other)), &hook_url(&s, "other")).await;
}
