//! Embeddings: an OpenAI-compatible `POST {base}/embeddings` client for the configured
//! providers of kind `openai`, and the built-in `mock` (offline, deterministic: hashed
//! words, for development, tests and `os_test_` keys). Requests are batched
//! (`knowledge.embedding_batch` texts each) and retried like model calls (429 and 5xx,
//! `Retry-After` honoured, exponential backoff with jitter). Vectors come back
//! L2-normalised, so cosine similarity is a dot product.

use super::http::Http;
use super::retry::{with_retries, Failure};
use super::ProviderError;
use crate::config::ProviderConfig;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Dimensions of the mock provider's vectors.
pub const MOCK_DIMS: usize = 256;

/// Every configured provider that can embed, plus `mock`. Cheap to clone.
#[derive(Clone)]
pub struct Embedder {
    by_name: Arc<BTreeMap<String, Http>>,
    batch: usize,
    timeout: Duration,
}

impl Embedder {
    /// Clients for the providers of kind `openai` (the others cannot embed).
    pub fn new(
        configs: &BTreeMap<String, ProviderConfig>,
        batch: usize,
        timeout: Duration,
    ) -> Self {
        let by_name = configs
            .iter()
            .filter(|(_, cfg)| cfg.kind == "openai")
            .filter_map(|(name, cfg)| Http::new(name, cfg).ok().map(|h| (name.clone(), h)))
            .collect();
        Self {
            by_name: Arc::new(by_name),
            batch: batch.max(1),
            timeout,
        }
    }

    /// Whether `model` (`provider/model`) names a provider that can embed; the message
    /// says why not.
    pub fn check(&self, model: &str) -> Result<(), String> {
        match model.split_once('/') {
            Some(("mock", name)) if !name.is_empty() => Ok(()),
            Some((provider, name)) if !provider.is_empty() && !name.is_empty() => {
                if self.by_name.contains_key(provider) {
                    Ok(())
                } else {
                    let mut known: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
                    known.push("mock");
                    Err(format!(
                        "no provider `{provider}` that serves embeddings (OpenAI-compatible) is configured (known: {})",
                        known.join(", ")
                    ))
                }
            }
            _ => Err(format!("`{model}` is not `provider/model`")),
        }
    }

    /// Texts per request.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The normalised vectors of `texts`, in order, in requests of [`Self::batch`] texts.
    pub async fn embed(
        &self,
        model: &str,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        self.check(model)
            .map_err(|m| ProviderError::new(ProviderError::UNKNOWN_PROVIDER, m))?;
        let (provider, name) = model.split_once('/').unwrap_or_default();
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch) {
            let vectors = match self.by_name.get(provider) {
                Some(http) if provider != "mock" => self.remote(http, name, batch).await?,
                _ => batch.iter().map(|t| mock_vector(t)).collect(),
            };
            out.extend(vectors.into_iter().map(crate::knowledge::rank::normalise));
        }
        Ok(out)
    }

    async fn remote(
        &self,
        http: &Http,
        model: &str,
        batch: &[String],
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let body = json!({ "model": model, "input": batch, "encoding_format": "float" });
        let mut headers = HeaderMap::new();
        if let Some(key) = http.cfg.key() {
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {key}")) {
                headers.insert(AUTHORIZATION, v);
            }
        }
        // Filled by the attempt that succeeds (a Mutex: the attempts' futures are Send).
        let got = std::sync::Mutex::new(Vec::new());
        with_retries(&http.cfg, &http.name, || async {
            let resp = http.post("/embeddings", headers.clone(), &body).await?;
            let read = tokio::time::timeout(self.timeout, resp.json::<Value>()).await;
            let answer = match read {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => return Err(invalid(&http.name, &format!("not JSON: {e}"))),
                Err(_) => {
                    return Err(Failure::fatal(ProviderError::new(
                        ProviderError::TIMEOUT,
                        format!(
                            "{}: the embeddings answer did not arrive in time",
                            http.name
                        ),
                    )))
                }
            };
            let vectors = parse(&http.name, &answer, batch.len())?;
            *got.lock().unwrap_or_else(|e| e.into_inner()) = vectors;
            Ok(())
        })
        .await?;
        Ok(got.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

fn invalid(name: &str, why: &str) -> Failure {
    Failure::fatal(ProviderError::new(
        ProviderError::INVALID_RESPONSE,
        format!("{name}: invalid embeddings answer: {why}"),
    ))
}

/// `data[].embedding` in `index` order; exactly `n` of them, all of one length.
fn parse(name: &str, answer: &Value, n: usize) -> Result<Vec<Vec<f32>>, Failure> {
    let Some(data) = answer["data"].as_array() else {
        return Err(invalid(name, "no `data` list"));
    };
    let mut rows: Vec<(u64, Vec<f32>)> = Vec::with_capacity(data.len());
    for (i, item) in data.iter().enumerate() {
        let index = item["index"].as_u64().unwrap_or(i as u64);
        let Some(values) = item["embedding"].as_array() else {
            return Err(invalid(name, "an item has no `embedding` list"));
        };
        let v: Option<Vec<f32>> = values
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect();
        let Some(v) = v else {
            return Err(invalid(name, "an embedding holds a non-number"));
        };
        rows.push((index, v));
    }
    rows.sort_by_key(|r| r.0);
    if rows.len() != n {
        return Err(invalid(
            name,
            &format!("{} embeddings for {n} inputs", rows.len()),
        ));
    }
    let dims = rows.first().map_or(0, |r| r.1.len());
    if dims == 0 || rows.iter().any(|r| r.1.len() != dims) {
        return Err(invalid(name, "embeddings of differing or zero length"));
    }
    Ok(rows.into_iter().map(|r| r.1).collect())
}

/// The mock provider's vector: each lower-cased word adds one to a dimension chosen by
/// its FNV-1a hash (not normalised here).
pub fn mock_vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; MOCK_DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.to_lowercase().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        v[(h % MOCK_DIMS as u64) as usize] += 1.0;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_and_put_in_input_order() {
        let ok = json!({"data": [
            {"index": 1, "embedding": [0.0, 1.0]},
            {"index": 0, "embedding": [1.0, 0.0]},
        ]});
        assert_eq!(
            parse("p", &ok, 2).unwrap(),
            vec![vec![1.0, 0.0], vec![0.0, 1.0]]
        );
        assert!(parse("p", &ok, 3).is_err());
        assert!(parse("p", &json!({"data": [{"embedding": ["x"]}]}), 1).is_err());
        assert!(parse("p", &json!({"data": [{"embedding": []}]}), 1).is_err());
        assert!(parse("p", &json!({}), 0).is_err());
    }

    #[test]
    fn mock_vectors_share_dimensions_for_shared_words() {
        let a = mock_vector("Refund policy");
        let b = mock_vector("refund rules");
        assert_eq!(a.len(), MOCK_DIMS);
        assert!(a.iter().zip(&b).any(|(x, y)| *x > 0.0 && *y > 0.0));
    }
}
