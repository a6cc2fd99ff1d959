//! Secrets: API keys, login tokens, the keyed hash that stores them, and
//! password hashing. A secret is shown once and never stored.

use std::fmt;
use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Prefix of gateway API keys.
pub const API_KEY_PREFIX: &str = "tly_";
/// Prefix of personal access tokens for the management API.
pub const PERSONAL_TOKEN_PREFIX: &str = "tlp_";
/// Prefix of browser session tokens.
pub const SESSION_PREFIX: &str = "tls_";
/// Prefix of invitation tokens (the last part of an invitation link).
pub const INVITATION_PREFIX: &str = "tli_";

const KEY_FILE: &str = "secret.key";

/// A secret string whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Generates `prefix` + 32 random bytes in base62 (256 bits of entropy).
pub fn generate(prefix: &str) -> Secret {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut bytes = [0u8; 43];
    rand::rng().fill_bytes(&mut bytes);
    // 43 base62 characters carry 256 bits; rejection-free mapping via modulo of
    // a byte loses under 0.2 bits per character, still far above 128 bits.
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Secret(format!("{prefix}{body}"))
}

/// HMAC-SHA256 with the installation's secret key: what the store keeps
/// instead of API keys and tokens. Without the key file a stolen database
/// cannot be used to check guesses.
#[derive(Clone)]
pub struct KeyHasher {
    key: [u8; 32],
}

impl KeyHasher {
    pub fn from_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Reads `secret.key` from the data directory, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.try_into().map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not 32 bytes", path.display()),
                    )
                })?;
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(&path, &key)?;
                Ok(Self { key })
            }
            Err(e) => Err(e),
        }
    }

    pub fn hash(&self, secret: &str) -> [u8; 32] {
        // HMAC zero-pads keys shorter than its 64-byte block, so padding here
        // gives the same MAC as keying with the 32 bytes, through the
        // infallible constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.key);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Hashes a password with argon2id (default parameters, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let salt = SaltString::encode_b64(&raw).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_prefix_and_length() {
        let a = generate(API_KEY_PREFIX);
        let b = generate(API_KEY_PREFIX);
        assert!(a.expose().starts_with("tly_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
    }

    #[test]
    fn hash_is_keyed() {
        let h1 = KeyHasher::from_key([1; 32]);
        let h2 = KeyHasher::from_key([2; 32]);
        assert_eq!(h1.hash("x"), h1.hash("x"));
        assert_ne!(h1.hash("x"), h2.hash("x"));
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
