//! Benchmark (not a test): the two candidate transfer hashes on one core, over the same
//! bytes in memory — XXH3-128 (what lanchat uses) and BLAKE3. docs/TRANSFERS.md says why
//! XXH3 was chosen; `lanchat-bench transfer` measures the transfer itself.
//!
//! ```sh
//! cargo run --release --no-default-features --example hash_speed -- 512
//! ```

use std::time::Instant;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map_or(512, |a| a.parse().expect("size in MiB"));
    let mut data = vec![0u8; mib << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for word in data.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
    let gbps = |f: &dyn Fn()| {
        let t = Instant::now();
        f();
        data.len() as f64 / t.elapsed().as_secs_f64() / 1e9
    };
    for round in 1..=3 {
        let xxh3 = gbps(&|| {
            let mut h = lanchat::protocol::hash::FileHasher::new();
            data.chunks(256 << 10).for_each(|c| h.update(c));
            std::hint::black_box(h.finish());
        });
        let blake3 = gbps(&|| {
            let mut h = blake3::Hasher::new();
            data.chunks(256 << 10).for_each(|c| {
                h.update(c);
            });
            std::hint::black_box(h.finalize());
        });
        println!(
            "round {round}: xxh3-128 {xxh3:6.2} GB/s, blake3 {blake3:6.2} GB/s (one core, {mib} MiB in memory)"
        );
    }
}
