//! Any byte stream read as a sealed data connection (a frame, then chunks of a 3000-byte
//! file, then a frame): the reader never panics, refuses over-long lengths before
//! reading, and opens only what the sealing key made (the seeds hold real streams under
//! the fixed keys below; anything the fuzzer changes in them must be refused).
#![no_main]

use lanchat::trust::file_stream::{CHUNK, SealedReader};
use lanchat::trust::transport;
use libfuzzer_sys::fuzz_target;

const SIZE: u64 = 3000;

fuzz_target!(|data: &[u8]| {
    let (_, open) = transport::pair(&[2; 32], &[1; 32]);
    let mut r = SealedReader::new(data, open);
    if r.read_frame().is_err() {
        return;
    }
    let mut at = 0u64;
    while at < SIZE {
        let left = usize::try_from(SIZE - at).unwrap();
        match r.read_chunk("t", at, left) {
            Ok(chunk) => {
                assert!(!chunk.is_empty() && chunk.len() <= CHUNK.min(left));
                at += chunk.len() as u64;
            }
            Err(_) => return,
        }
    }
    let _ = r.read_frame();
});
