//! Any handshake message, in any of the three places: the responder reading msg1, the
//! initiator reading msg2, the responder reading msg3 never panic, and nothing made up
//! is accepted as msg2 or msg3 (that would need the keys). The first byte picks the place.
#![no_main]

use std::sync::LazyLock;

use lanchat::trust::KeyPair;
use lanchat::trust::noise::{Initiator, Responder};
use libfuzzer_sys::fuzz_target;

static ALICE: LazyLock<KeyPair> = LazyLock::new(|| KeyPair::from_secrets(&[1; 32], &[2; 32]));
static BOB: LazyLock<KeyPair> = LazyLock::new(|| KeyPair::from_secrets(&[3; 32], &[4; 32]));

fuzz_target!(|data: &[u8]| {
    let Some((&place, msg)) = data.split_first() else {
        return;
    };
    match place % 3 {
        0 => {
            let _ = Responder::start(&BOB, msg);
        }
        1 => {
            let (initiator, _) = Initiator::start(&ALICE, None).expect("msg1");
            assert!(initiator.finish(msg).is_err(), "a made-up msg2 was accepted");
        }
        _ => {
            let (_, msg1) = Initiator::start(&ALICE, None).expect("msg1");
            let (responder, _) = Responder::start(&BOB, &msg1).expect("msg2");
            assert!(responder.finish(msg).is_err(), "a made-up msg3 was accepted");
        }
    }
});
