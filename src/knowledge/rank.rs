//! Vectors and rankings: how embeddings are stored (little-endian `f32`s, normalised so
//! that cosine similarity is a dot product), the exact top-k over a base's vectors, and
//! reciprocal rank fusion of a keyword and a semantic list.

use std::collections::HashMap;

/// The constant of reciprocal rank fusion (Cormack et al., 2009): a hit ranked `r`
/// (1-based) in a list adds `1 / (RRF_K + r)`.
pub const RRF_K: f64 = 60.0;

/// `v` scaled to length 1 (a zero vector stays zero).
pub fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// A vector as stored: little-endian `f32`s.
pub fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stored vector back (a trailing partial float is ignored).
pub fn decode(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The vectors of one knowledge base, flat, with the chunk each row belongs to.
#[derive(Debug, Default)]
pub struct Vectors {
    /// Dimensions of every row.
    pub dims: usize,
    /// The chunk (`seq`) of each row.
    pub seqs: Vec<i64>,
    /// `seqs.len() * dims` floats.
    pub data: Vec<f32>,
}

impl Vectors {
    /// Adds a row; a vector of other dimensions than the first one's is skipped (a
    /// base whose model changed is being indexed again).
    pub fn push(&mut self, seq: i64, v: &[f32]) {
        if self.seqs.is_empty() && self.dims == 0 {
            self.dims = v.len();
        }
        if v.len() == self.dims && self.dims > 0 {
            self.seqs.push(seq);
            self.data.extend_from_slice(v);
        }
    }

    /// Adds a row from its stored bytes (little-endian `f32`s), decoded in place; like
    /// [`Vectors::push`], a row of other dimensions than the first is skipped.
    pub fn push_bytes(&mut self, seq: i64, bytes: &[u8]) {
        let n = bytes.len() / 4;
        if self.seqs.is_empty() && self.dims == 0 {
            self.dims = n;
        }
        if n == self.dims && n > 0 {
            self.seqs.push(seq);
            self.data.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
    }

    /// Gives back the room the rows were read into beyond what they hold.
    pub fn shrink(&mut self) {
        self.seqs.shrink_to_fit();
        self.data.shrink_to_fit();
    }

    /// Bytes held (for the cache's weigher and the memory benchmark).
    pub fn bytes(&self) -> usize {
        self.data.len() * 4 + self.seqs.len() * 8
    }

    /// The `k` rows most similar to `query` (normalised), best first, as (seq, cosine).
    /// A query of other dimensions finds nothing.
    pub fn top(&self, query: &[f32], k: usize) -> Vec<(i64, f64)> {
        if query.len() != self.dims || self.dims == 0 || k == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(i64, f32)> = self
            .data
            .chunks_exact(self.dims)
            .zip(&self.seqs)
            .map(|(row, seq)| (*seq, dot(row, query)))
            .collect();
        let by_score = |a: &(i64, f32), b: &(i64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, by_score);
            scored.truncate(k);
        }
        scored.sort_unstable_by(by_score);
        scored.into_iter().map(|(s, c)| (s, f64::from(c))).collect()
    }
}

/// The dot product, in eight running sums: a single running sum of floats cannot be
/// reordered, so the compiler would not use vector instructions for it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (xs, ys) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in xs.zip(ys) {
        for ((sum, x), y) in acc.iter_mut().zip(x).zip(y) {
            *sum += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Reciprocal rank fusion of ranked lists of chunk ids (`seq`s), best first: every id
/// with its fused score.
pub fn fuse(lists: &[&[i64]]) -> Vec<(i64, f64)> {
    let mut scores: HashMap<i64, f64> = HashMap::new();
    for list in lists {
        for (rank, seq) in list.iter().enumerate() {
            *scores.entry(*seq).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(i64, f64)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_rank_by_cosine() {
        let v = normalise(vec![3.0, 4.0]);
        assert_eq!(decode(&encode(&v)), v);
        let mut set = Vectors::default();
        set.push(1, &normalise(vec![1.0, 0.0]));
        set.push(2, &normalise(vec![0.0, 1.0]));
        set.push(3, &normalise(vec![1.0, 1.0]));
        set.push(4, &[1.0, 2.0, 3.0]); // other dimensions: skipped
        set.push_bytes(5, &encode(&[1.0, 2.0, 3.0])); // the same, from bytes
        let top = set.top(&normalise(vec![1.0, 0.1]), 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 3]);
        assert!(set.top(&[1.0, 0.0, 0.0], 2).is_empty());
    }

    #[test]
    fn the_dot_product_counts_every_component() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..19).map(|i| (i % 3) as f32).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot(&a, &b), want);
    }

    #[test]
    fn fusion_rewards_agreement() {
        let fused = fuse(&[&[1, 2, 3], &[3, 1, 4]]);
        assert_eq!(fused[0].0, 1);
        assert_eq!(fused[1].0, 3);
        assert_eq!(fused.len(), 4);
    }
}
