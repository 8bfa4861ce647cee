//! The safety code two people compare to verify each other: sixty digits, the same on
//! both sides, and the same as a QR code. Pure: keys in, digits and QR modules out.
//!
//! The code is the two peers' [fingerprints](super::keys::Fingerprint) (thirty digits
//! each), the smaller first, so both ends compute the same digits whatever the order, and
//! each half is one key's fingerprint (a person can also read their own half from their
//! `ready` fingerprint). Why two fingerprints rather than one hash of both keys: a
//! man in the middle shows Alice a code over (Alice, M1) and Bob one over (M2, Bob), with
//! M1 and M2 his own keys. With one k-digit hash of both keys he needs only a collision
//! between two codes he controls both halves of (~10^(k/2) tries: KDE Connect's 8 hex
//! digits fall in 2^16); with two fingerprints he needs keys whose fingerprints equal
//! Bob's and Alice's, a second preimage of ~2^99 each. Twelve groups of five digits are
//! read aloud in about 30 seconds (Signal's safety number has the same shape).

use std::fmt;

use super::keys::{PeerKey, group_digits};

/// Digits in a safety code.
pub const SAFETY_DIGITS: usize = 60;

/// What a QR code of the safety code says before the digits (QR alphanumeric mode).
pub const QR_PREFIX: &str = "LANCHAT-SAFETY:2:";

/// The code both people compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyCode(String);

/// The safety code of the pair of `a` and `b` (order does not matter).
pub fn safety_code(a: &PeerKey, b: &PeerKey) -> SafetyCode {
    let (fa, fb) = (a.fingerprint(), b.fingerprint());
    let (first, second) = if fa <= fb { (fa, fb) } else { (fb, fa) };
    SafetyCode(format!("{}{}", first.digits(), second.digits()))
}

impl SafetyCode {
    /// The sixty digits without spaces.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Three lines of four groups, for a window to show one under another.
    pub fn lines(&self) -> [String; 3] {
        let line = |i: usize| group_digits(&self.0[i * 20..(i + 1) * 20]);
        [line(0), line(1), line(2)]
    }

    /// What the QR code carries: [`QR_PREFIX`] and the digits. Scanning the other
    /// screen's code and comparing it with one's own is the same check as reading aloud.
    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{}", self.0)
    }

    /// The QR code's modules, row by row (`true` = dark), and its width in modules
    /// (without the quiet zone a painter must leave around it: 4 modules).
    pub fn qr_modules(&self) -> (usize, Vec<bool>) {
        qr_modules_of(&self.0).expect("sixty digits fit a version 4 QR code")
    }
}

/// The QR code of a safety code as a front end received it (`safety_code`: digits,
/// spaces between the groups ignored): the same modules as [`SafetyCode::qr_modules`].
/// `None` if it is not sixty digits.
pub fn qr_modules_of(code: &str) -> Option<(usize, Vec<bool>)> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != SAFETY_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let payload = format!("{QR_PREFIX}{digits}");
    let code =
        qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M).ok()?;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Some((code.width(), dark))
}

impl fmt::Display for SafetyCode {
    /// Twelve groups of five digits separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&group_digits(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keys::KeyPair;

    fn key(n: u8) -> PeerKey {
        KeyPair::from_secrets(&[n; 32], &[n; 32]).public()
    }

    #[test]
    fn both_sides_get_the_same_sixty_digits() {
        let (a, b) = (key(1), key(2));
        let code = safety_code(&a, &b);
        assert_eq!(code, safety_code(&b, &a));
        assert_eq!(code.digits().len(), SAFETY_DIGITS);
        assert!(code.digits().bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(code.to_string().split(' ').count(), 12);
        let lines = code.lines();
        assert!(lines.iter().all(|l| l.split(' ').count() == 4), "{lines:?}");
        assert_eq!(lines.join(" "), code.to_string());
    }

    #[test]
    fn each_half_is_one_fingerprint() {
        let (a, b) = (key(1), key(2));
        let code = safety_code(&a, &b);
        let halves = [&code.digits()[..30], &code.digits()[30..]];
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        assert!(halves.contains(&fa.digits()) && halves.contains(&fb.digits()));
    }

    #[test]
    fn another_key_on_either_side_changes_the_code() {
        let (a, b, m) = (key(1), key(2), key(3));
        let code = safety_code(&a, &b);
        assert_ne!(code, safety_code(&a, &m));
        assert_ne!(code, safety_code(&m, &b));
    }

    #[test]
    fn the_qr_code_carries_the_digits() {
        let code = safety_code(&key(1), &key(2));
        assert_eq!(code.qr_payload(), format!("{QR_PREFIX}{}", code.digits()));
        let (width, dark) = code.qr_modules();
        assert_eq!(dark.len(), width * width);
        assert!(
            (21..=45).contains(&width),
            "small enough for a dialog: {width}"
        );
        assert!(dark.iter().any(|&d| d) && dark.iter().any(|&d| !d));
        assert_eq!(
            qr_modules_of(&code.to_string()),
            Some((width, dark)),
            "the grouped digits a front end gets make the same QR code"
        );
        assert_eq!(qr_modules_of("12345 67890"), None, "too short");
        assert_eq!(qr_modules_of(&"x".repeat(60)), None, "not digits");
    }
}
