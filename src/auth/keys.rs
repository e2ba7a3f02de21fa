//! API key material: generation, hashing and the shown-once format
//! `os_live_<32 base62>` / `os_test_<32 base62>`.

use rand::Rng;
use sha2::{Digest, Sha256};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of a key that lists may show (`os_live_` + 4).
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// A fresh key; `test` keys run agents on the mock provider.
pub fn generate(test: bool) -> String {
    let mut rng = rand::rng();
    let body: String = (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}{body}", if test { "os_test_" } else { "os_live_" })
}

/// Hex SHA-256 of a key: the only form in which keys are stored.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub use crate::ids::looks_like_key;

/// Whether a key is a test-mode key.
pub fn is_test(key: &str) -> bool {
    key.starts_with("os_test_")
}

/// The part of a key that may be displayed.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(DISPLAY_PREFIX_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let live = generate(false);
        assert!(live.starts_with("os_live_") && looks_like_key(&live));
        assert!(is_test(&generate(true)));
        assert_ne!(generate(false), generate(false));
        assert_eq!(hash("a").len(), 64);
        assert!(!looks_like_key("os_live_short"));
        assert!(!looks_like_key("sk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }
}
