//! Message texts for the history benchmarks: 4 to 15 words, Chinese and English mixed,
//! from a fixed seed, so every run stores the same history.

const WORDS: &[&str] = &[
    "明天",
    "下午",
    "开会",
    "会议",
    "文件",
    "发给",
    "你",
    "我",
    "好的",
    "谢谢",
    "项目",
    "报告",
    "今天",
    "吃饭",
    "网络",
    "测试",
    "the",
    "report",
    "meeting",
    "is",
    "ready",
    "please",
    "send",
    "file",
    "tomorrow",
    "lunch",
    "network",
    "test",
    "quarterly",
    "budget",
    "ok",
    "thanks",
    "see",
    "you",
    "at",
    "three",
];

/// A deterministic pseudo-random text of 4 to 15 words.
pub fn text(seed: &mut u64) -> String {
    let mut next = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as usize
    };
    let n = 4 + next() % 12;
    let mut out = String::new();
    for _ in 0..n {
        let w = WORDS[next() % WORDS.len()];
        // Chinese is written without spaces between words.
        if !out.is_empty() && (w.is_ascii() || out.ends_with(|c: char| c.is_ascii())) {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}
