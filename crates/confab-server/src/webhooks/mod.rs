//! Signed webhooks to the host app: invitation acceptances and offline notifications.
//!
//! Every request carries `X-Confab-Timestamp` (Unix seconds) and
//! `X-Confab-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The host app
//! recomputes the HMAC over the exact bytes it received and refuses old timestamps, so a captured
//! request cannot be replayed later (docs/integration.md has verification code).

use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::config::WebhookConfig;
use crate::egress::Egress;

/// Largest answer read from the host app.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The `X-Confab-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The host app answered 4xx: it refuses, retrying will not help.
    #[error("the host app refused ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// Every attempt failed (network, timeout, 5xx).
    #[error("the host app could not be reached after {attempts} attempts: {last}")]
    Unreachable { attempts: u32, last: String },
}

/// Posts signed JSON with timeouts and retries.
#[derive(Clone)]
pub struct Webhooks {
    http: Egress,
    config: WebhookConfig,
}

impl Webhooks {
    /// `http`: the egress guard, trusting the configured webhook URLs' hosts.
    pub fn new(http: Egress, config: WebhookConfig) -> Webhooks {
        Webhooks { http, config }
    }

    /// Delivers `body` as event `event`, retrying with exponential backoff. Returns the host
    /// app's JSON answer (`null` when it sent none).
    pub async fn deliver(
        &self,
        url: &str,
        secret: &str,
        event: &str,
        delivery_id: i64,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, DeliveryError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let attempts = self.config.retries + 1;
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                let backoff = self.config.backoff_ms.saturating_mul(1 << (attempt - 1).min(10));
                tokio::time::sleep(Duration::from_millis(backoff)).await;
            }
            let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
            let Ok(target) = reqwest::Url::parse(url) else {
                return Err(DeliveryError::Refused { status: 0, detail: "the webhook URL is invalid".into() });
            };
            let request = self
                .http
                .request(reqwest::Method::POST, target)
                .timeout(Duration::from_millis(self.config.timeout_ms))
                .header("content-type", "application/json")
                .header("x-confab-event", event)
                .header("x-confab-delivery", delivery_id.to_string())
                .header("x-confab-timestamp", timestamp.to_string())
                .header("x-confab-signature", signature(secret.as_bytes(), timestamp, &bytes))
                .body(bytes.clone());
            match self.http.send(request).await {
                Ok(response) if response.status().is_success() => {
                    let answer = response.bytes().await.unwrap_or_default();
                    if answer.len() > MAX_ANSWER_BYTES {
                        return Err(DeliveryError::Refused { status: 200, detail: "answer too large".into() });
                    }
                    return Ok(serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null));
                }
                Ok(response) if response.status().is_client_error() => {
                    let status = response.status().as_u16();
                    let answer = response.bytes().await.unwrap_or_default();
                    let detail = serde_json::from_slice::<serde_json::Value>(&answer)
                        .ok()
                        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                        .unwrap_or_else(|| format!("status {status}"));
                    return Err(DeliveryError::Refused { status, detail: detail.chars().take(200).collect() });
                }
                Ok(response) => last = format!("status {}", response.status()),
                Err(e) => last = e.describe(),
            }
            tracing::warn!(url, event, attempt, error = %last, "webhook delivery failed");
        }
        Err(DeliveryError::Unreachable { attempts, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = signature(b"secret", 1700000000, b"{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64);
        assert_ne!(a, signature(b"secret", 1700000001, b"{}"));
        assert_ne!(a, signature(b"secret", 1700000000, b"{ }"));
        assert_ne!(a, signature(b"other", 1700000000, b"{}"));
    }
}
