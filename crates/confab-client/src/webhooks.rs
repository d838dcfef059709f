//! Verifying Confab's webhooks on the host app's side (the receiver end of
//! `confab-server`'s signed requests): the signature must match the exact body and a recent
//! timestamp, so that neither a forged nor a replayed request is accepted.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A header is missing or not in the expected form.
    #[error("missing or malformed X-Confab-Timestamp or X-Confab-Signature")]
    Malformed,
    /// The timestamp is too far from `now`: a replay, or a clock far off.
    #[error("timestamp outside the tolerated window (a replay, or a clock far off)")]
    Stale,
    /// The signature was not made with this secret over this timestamp and body.
    #[error("signature does not match")]
    BadSignature,
}

/// Checks `signature` (`v1=<hex>`, from `X-Confab-Signature`) over `timestamp` (from
/// `X-Confab-Timestamp`) and the raw `body`. `now` and `tolerance_secs` bound the age.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), WebhookError> {
    let sent: i64 = timestamp.parse().map_err(|_| WebhookError::Malformed)?;
    let expected = signature.strip_prefix("v1=").and_then(|h| hex::decode(h).ok()).ok_or(WebhookError::Malformed)?;
    if (now - sent).abs() > tolerance_secs {
        return Err(WebhookError::Stale);
    }
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).map_err(|_| WebhookError::Malformed)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&expected).map_err(|_| WebhookError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn accepts_fresh_genuine_requests_only() {
        let sig = sign(b"s3cret", "1000", b"{}");
        assert_eq!(verify(b"s3cret", "1000", b"{}", &sig, 1010, 300), Ok(()));
        assert_eq!(verify(b"s3cret", "1000", b"{ }", &sig, 1010, 300), Err(WebhookError::BadSignature));
        assert_eq!(verify(b"other!", "1000", b"{}", &sig, 1010, 300), Err(WebhookError::BadSignature));
        assert_eq!(verify(b"s3cret", "1000", b"{}", &sig, 5000, 300), Err(WebhookError::Stale));
        assert_eq!(verify(b"s3cret", "x", b"{}", &sig, 1010, 300), Err(WebhookError::Malformed));
        assert_eq!(verify(b"s3cret", "1000", b"{}", "v2=00", 1010, 300), Err(WebhookError::Malformed));
    }
}
