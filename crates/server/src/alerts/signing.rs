//! Webhook secrets and signatures. A webhook's secret is derived from the
//! installation key and the webhook's id and salt (so it is never stored,
//! and shown once, when the webhook is created). Each delivery carries
//! `x-tally-signature: t=<Unix seconds>,v1=<hex HMAC-SHA256>`, the MAC keyed
//! with the secret's text over `<t>.<body>`: a receiver recomputes it and
//! refuses an old `t` to stop replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tally_core::WebhookId;

use crate::KeyHasher;

pub const SIGNATURE_HEADER: &str = "x-tally-signature";

/// The webhook's signing secret: `whsec_` and 64 hex digits.
pub fn secret(hasher: &KeyHasher, webhook: WebhookId, salt: &str) -> String {
    let derived = hasher.hash(&format!("webhook:{webhook}:{salt}"));
    format!("whsec_{}", hex::encode(derived))
}

/// The signature header's value for `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; the error cannot happen.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_seconds},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_time_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }
}
