//! The GraphQL twins of the webhook routes answer like REST.

use super::api::assert_secret;
use super::api_support::*;
use serde_json::json;

const GQL_ENDPOINT: &str = "id url description events enabled disabledReason failingSince previousSecretExpiresAt createdAt updatedAt";

#[tokio::test]
async fn graphql_creates_lists_rotates_and_tests_like_rest() {
    let s = server().await;
    let api = s.api();
    let url = hook_url(&s, "gql");
    let created = api
        .gql(
            &format!("mutation($input: CreateWebhookEndpointInput!) {{ createWebhookEndpoint(input: $input) {{ secret {GQL_ENDPOINT} }} }}"),
            json!({ "input": { "url": url, "events": ["agent.run.failed"], "description": "g" } }),
        )
        .await;
    let node = &created["data"]["createWebhookEndpoint"];
    assert_secret(node);
    let wh = id(node);
    let rest = api.get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_eq!(rest["url"], node["url"]);
    assert_eq!(rest["events"], node["events"]);
    assert_eq!(rest["created_at"], node["createdAt"]);
    assert_eq!(rest["enabled"], node["enabled"]);

    let listed = api
        .gql(
            &format!("{{ webhookEndpoints(first: 10) {{ edges {{ cursor node {{ {GQL_ENDPOINT} }} }} pageInfo {{ hasNextPage }} }} }}"),
            json!({}),
        )
        .await;
    let edges = listed["data"]["webhookEndpoints"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 1, "{listed}");
    assert_eq!(edges[0]["node"]["id"], wh.as_str());
    // The secret is not even a field of the endpoint type.
    let asked = api
        .gql(
            &format!("{{ webhookEndpoint(id: \"{wh}\") {{ secret }} }}"),
            json!({}),
        )
        .await;
    assert!(asked["errors"].is_array(), "{asked}");

    let rotated = api
        .gql(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { id secret previousSecretExpiresAt } }",
            json!({ "id": wh }),
        )
        .await;
    let rotated = &rotated["data"]["rotateWebhookSecret"];
    assert_ne!(assert_secret(rotated), assert_secret(node));
    let rest = api.get(&format!("/v1/webhooks/{wh}"), 200).await;
    assert_eq!(
        rest["previous_secret_expires_at"],
        rotated["previousSecretExpiresAt"]
    );

    let tested = api
        .gql(
            "mutation($id: ID!) { testWebhookEndpoint(id: $id) { id status attemptCount event { id type payload } attempts { id } } }",
            json!({ "id": wh }),
        )
        .await;
    let delivery = &tested["data"]["testWebhookEndpoint"];
    assert_eq!(delivery["status"], "PENDING", "{tested}");
    assert_eq!(delivery["event"]["type"], "webhook.test");
    let rest = api.get(&format!("/v1/webhooks/{wh}/deliveries"), 200).await;
    assert_eq!(rest["data"][0]["id"], delivery["id"]);
    assert_eq!(rest["data"][0]["status"], "pending");
    assert_eq!(
        rest["data"][0]["event"],
        json!({
            "id": delivery["event"]["id"],
            "type": "webhook.test",
            "payload": delivery["event"]["payload"],
            "created_at": rest["data"][0]["event"]["created_at"],
        })
    );

    let updated = api
        .gql(
            "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false, description: null }) { enabled description } }",
            json!({ "id": wh }),
        )
        .await;
    assert_eq!(
        updated["data"]["updateWebhookEndpoint"],
        json!({ "enabled": false, "description": null })
    );
    let bad = api
        .gql(
            "mutation { createWebhookEndpoint(input: { url: \"ftp://x\", events: [] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "VALIDATION_FAILED",
        "{bad}"
    );
    let deleted = api
        .gql(
            "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }",
            json!({ "id": wh }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteWebhookEndpoint"], wh.as_str());
    api.get(&format!("/v1/webhooks/{wh}"), 404).await;
}
