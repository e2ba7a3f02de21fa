//! Synthetic Markdown documents of about 4 KB: headings and paragraphs of words drawn
//! from a fixed vocabulary with a Zipf-like skew (a few words in most documents, most
//! words in few), from a seeded generator, so every run indexes the same text.

/// A small xorshift generator (deterministic across runs and machines).
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "pu", "ra", "so", "ti", "va", "ze", "bri", "cho", "dra", "fle", "gru",
    "hin", "jor", "kel", "mur", "nox", "pil", "qua", "rem", "sta", "tor", "ul", "vex", "wyn",
    "xer", "yal",
];

/// The vocabulary: `n` made-up words.
pub fn vocabulary(n: usize) -> Vec<String> {
    let mut rng = Rng::new(7);
    let mut words: Vec<String> = Vec::with_capacity(n);
    while words.len() < n {
        let len = 2 + rng.below(3);
        let w: String = (0..len)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        if !words.contains(&w) {
            words.push(w);
        }
    }
    words
}

/// A word of `vocab`, skewed towards the first ones.
pub fn word<'a>(vocab: &'a [String], rng: &mut Rng) -> &'a str {
    // The product of two uniform draws favours small indexes (roughly 1/x).
    let a = rng.below(vocab.len()) + 1;
    let b = rng.below(vocab.len()) + 1;
    &vocab[(a * b / vocab.len()).min(vocab.len() - 1)]
}

/// Document number `i`: about `bytes` of Markdown.
pub fn document(vocab: &[String], i: usize, bytes: usize) -> String {
    let mut rng = Rng::new(1_000_003 * (i as u64 + 1));
    let mut out = format!("# Document {i}\n\n");
    let mut section = 0;
    while out.len() < bytes {
        if rng.below(6) == 0 {
            section += 1;
            out.push_str(&format!(
                "\n## Section {section} {}\n\n",
                word(vocab, &mut rng)
            ));
        }
        let n = 20 + rng.below(40);
        let sentence: Vec<&str> = (0..n).map(|_| word(vocab, &mut rng)).collect();
        out.push_str(&sentence.join(" "));
        out.push_str(".\n\n");
    }
    out
}
