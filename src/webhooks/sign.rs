//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
//! keyed with the base64-decoded part of the `whsec_...` secret. During a rotation's
//! grace period the header carries the signatures of both secrets, space-separated (the
//! spec lets a receiver accept any one of them).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use entity::webhook_endpoints;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The signing key of a `whsec_<base64>` secret (the prefix is optional, as in the
/// reference libraries); `None` when the rest is not base64 or is empty.
pub fn key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(b64).ok().filter(|k| !k.is_empty())
}

/// One `v1,<base64>` signature of `body` sent as message `id` at `timestamp` (Unix
/// seconds) with `key` (`None` only if HMAC refused the key, which it does for none).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The secrets that sign for `endpoint` at `now`: its current one, then its previous
/// one while the rotation's grace lasts.
pub fn secrets(endpoint: &webhook_endpoints::Model, now: DateTime<Utc>) -> Vec<String> {
    let mut out = vec![endpoint.secret.clone()];
    if let (Some(prev), Some(until)) = (
        &endpoint.previous_secret,
        endpoint.previous_secret_expires_at,
    ) {
        if until > now {
            out.push(prev.clone());
        }
    }
    out
}

/// The `webhook-signature` header value: one signature per usable secret,
/// space-separated. A secret that is not valid base64 signs nothing (it cannot come
/// from the API); `None` when no secret could sign.
pub fn header(secrets: &[String], id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let sigs: Vec<String> = secrets
        .iter()
        .filter_map(|s| key(s))
        .filter_map(|k| sign(&k, id, timestamp, body))
        .collect();
    (!sigs.is_empty()).then(|| sigs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's example (also the reference libraries'
    // test vector): secret, id, timestamp, body and the signature they give.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_spec_vector_signs_as_published() {
        let k = key(SECRET).expect("valid secret");
        assert_eq!(sign(&k, ID, TS, BODY.as_bytes()).unwrap(), SIG);
        // Without the prefix too.
        let k2 = key(&SECRET[SECRET_PREFIX.len()..]).unwrap();
        assert_eq!(k, k2);
    }

    #[test]
    fn any_change_changes_the_signature() {
        let k = key(SECRET).unwrap();
        assert_ne!(sign(&k, "msg_other", TS, BODY.as_bytes()).unwrap(), SIG);
        assert_ne!(sign(&k, ID, TS + 1, BODY.as_bytes()).unwrap(), SIG);
        assert_ne!(sign(&k, ID, TS, br#"{"test": 2432232315}"#).unwrap(), SIG);
    }

    #[test]
    fn a_rotation_sends_both_signatures_space_separated() {
        let other = format!("{SECRET_PREFIX}{}", STANDARD.encode([7u8; 32]));
        let h = header(&[other.clone(), SECRET.into()], ID, TS, BODY.as_bytes()).unwrap();
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1], SIG);
        assert_eq!(
            parts[0],
            sign(&key(&other).unwrap(), ID, TS, BODY.as_bytes()).unwrap()
        );
    }

    #[test]
    fn bad_secrets_sign_nothing() {
        assert!(key("whsec_").is_none());
        assert!(key("whsec_!!!").is_none());
        assert!(header(&["whsec_".into()], ID, TS, b"{}").is_none());
    }

    #[test]
    fn the_previous_secret_signs_only_during_its_grace() {
        let now = Utc::now();
        let mut e = webhook_endpoints::Model {
            id: "wh_1".into(),
            org_id: "org".into(),
            url: "https://example.com".into(),
            description: None,
            events: serde_json::json!(["*"]),
            enabled: true,
            disabled_reason: None,
            secret: "new".into(),
            previous_secret: Some("old".into()),
            previous_secret_expires_at: Some(now + chrono::Duration::hours(1)),
            failing_since: None,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(secrets(&e, now), vec!["new".to_string(), "old".into()]);
        e.previous_secret_expires_at = Some(now - chrono::Duration::seconds(1));
        assert_eq!(secrets(&e, now), vec!["new".to_string()]);
    }
}
