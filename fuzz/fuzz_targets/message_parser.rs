//! Any frame body: `LinkMsg::decode` never panics, and what it accepts re-encodes to a
//! frame that decodes to the same message. (A chat's text may be over the limit: the
//! receiver refuses it with a `nack`, not the decoder.)
#![no_main]

use lanchat::protocol::LinkMsg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = LinkMsg::decode(data) else {
        return;
    };
    let frame = msg.to_frame().expect("an accepted message fits a frame");
    assert_eq!(LinkMsg::decode(&frame[4..]).expect("re-decodes"), msg);
});
