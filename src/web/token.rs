//! Random secrets: the link's token, session cookies and the ids of files and visitors.
//!
//! 128 bits from the operating system's generator (`getrandom`), written as 32 lowercase
//! hex digits; compared in constant time (`subtle`). Nothing else is secret here.

use subtle::ConstantTimeEq;

/// Length of every secret and id in hex digits (128 bits).
pub const HEX_LEN: usize = 32;

/// 128 random bits as 32 lowercase hex digits.
///
/// # Panics
/// If the operating system has no random source, which no supported system lacks: a
/// server without one must not start with a guessable token.
pub fn random_hex() -> String {
    let mut bytes = [0u8; HEX_LEN / 2];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `s` has the shape of [`random_hex`]'s output.
pub fn is_hex_id(s: &str) -> bool {
    s.len() == HEX_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Compares a secret from a request with the real one without leaking, through timing,
/// how many leading characters matched.
pub fn same_secret(given: &str, real: &str) -> bool {
    given.len() == real.len() && bool::from(given.as_bytes().ct_eq(real.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_128_bit_hex_and_differ() {
        let a = random_hex();
        let b = random_hex();
        assert!(is_hex_id(&a) && is_hex_id(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn comparison_needs_the_whole_secret() {
        let real = random_hex();
        assert!(same_secret(&real, &real.clone()));
        assert!(!same_secret(&real[..31], &real));
        assert!(!same_secret(&format!("{real}0"), &real));
        assert!(!same_secret("", &real));
        assert!(!is_hex_id(&real.to_uppercase()));
        assert!(!is_hex_id("0123456789abcdef0123456789abcdeg"));
    }
}
