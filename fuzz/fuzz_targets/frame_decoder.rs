//! The frame decoder against a ten-line reference parser: any byte stream, cut into any
//! reads, must yield exactly the frames the reference finds, refuse a length over the
//! limit, and hold no more than one frame plus one read in its buffer.
#![no_main]

use lanchat::protocol::frame::{FrameDecoder, HEADER_LEN, MAX_FRAME_BODY};
use libfuzzer_sys::fuzz_target;

/// Whole frames in `wire`, and whether it ends in a too-long length prefix.
fn reference(wire: &[u8]) -> (Vec<&[u8]>, bool) {
    let mut frames = Vec::new();
    let mut rest = wire;
    while rest.len() >= HEADER_LEN {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_FRAME_BODY {
            return (frames, true);
        }
        if rest.len() < HEADER_LEN + len {
            break;
        }
        frames.push(&rest[HEADER_LEN..HEADER_LEN + len]);
        rest = &rest[HEADER_LEN + len..];
    }
    (frames, false)
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the read sizes: 1..=256 bytes per push.
    let Some((&step, wire)) = data.split_first() else {
        return;
    };
    let step = usize::from(step) + 1;
    let (want, too_long) = reference(wire);
    let mut dec = FrameDecoder::new();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut refused = false;
    'feed: for chunk in wire.chunks(step) {
        dec.push(chunk);
        loop {
            match dec.next_frame() {
                Ok(Some(body)) => {
                    assert!(body.len() <= MAX_FRAME_BODY);
                    got.push(body);
                }
                Ok(None) => break,
                Err(_) => {
                    refused = true;
                    break 'feed;
                }
            }
        }
        assert!(dec.pending() <= HEADER_LEN + MAX_FRAME_BODY + step);
    }
    assert_eq!(got, want, "frames differ from the reference");
    assert_eq!(refused, too_long, "refusal differs from the reference");
    if !refused {
        // finish() is Ok exactly when the stream ended on a frame boundary.
        assert_eq!(dec.finish().is_ok(), dec.pending() == 0);
    }
});
