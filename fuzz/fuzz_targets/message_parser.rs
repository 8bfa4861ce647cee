//! Any frame body: `LinkMsg::decode` never panics; what it accepts re-encodes to a frame
//! that decodes to the same message, and a chat's text is within the limit.
#![no_main]

use lanchat::protocol::LinkMsg;
use lanchat::protocol::message::MAX_TEXT_LEN;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = LinkMsg::decode(data) else {
        return;
    };
    if let LinkMsg::Chat { text, .. } = &msg {
        assert!(text.len() <= MAX_TEXT_LEN);
    }
    let frame = msg.to_frame().expect("an accepted message fits a frame");
    assert_eq!(LinkMsg::decode(&frame[4..]).expect("re-decodes"), msg);
});
