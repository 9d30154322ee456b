//! Sorted sets: a member → score map beside an ordered set of (score, member).
//!
//! Rank lookups walk the ordered set (O(rank)); a skiplist with spans would make
//! them O(log n) and is the next step if ZRANK on huge sets matters.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use hashbrown::HashMap;

use super::memory::{alloc_size, buckets_for, table_size};
use super::small_bytes::SmallBytes;

/// A score with a total order (NaN is never stored: commands reject it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        // -0.0 and 0.0 are one score, as in Redis.
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

#[derive(Default, Clone, Debug)]
pub struct ZSet {
    scores: HashMap<SmallBytes, f64>,
    order: BTreeSet<(Score, SmallBytes)>,
    heap: usize,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }
    /// Sets a member's score; returns true when the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        match self.scores.get_mut(member) {
            Some(old) => {
                if *old != score {
                    let m = SmallBytes::new(member);
                    self.order.remove(&(Score(*old), m.clone()));
                    self.order.insert((Score(score), m));
                    *old = score;
                }
                false
            }
            None => {
                let m = SmallBytes::new(member);
                self.heap += 2 * m.heap_size();
                self.scores.insert(m.clone(), score);
                self.order.insert((Score(score), m));
                true
            }
        }
    }
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove_entry(member) {
            Some((m, score)) => {
                self.heap -= 2 * m.heap_size();
                self.order.remove(&(Score(score), m));
                true
            }
            None => false,
        }
    }
    /// Zero-based rank in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let key = (Score(score), SmallBytes::new(member));
        Some(self.order.range(..key).count())
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&SmallBytes, f64)> {
        self.order.iter().map(|(s, m)| (m, s.0))
    }
    /// Members whose score lies within the bounds, in ascending order.
    pub fn range_by_score(&self, min: Bound<f64>, max: Bound<f64>) -> Vec<(&SmallBytes, f64)> {
        let lo = match min {
            Bound::Included(a) | Bound::Excluded(a) => Bound::Included((Score(a), SmallBytes::new(b""))),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.order
            .range((lo, Bound::Unbounded))
            .skip_while(|(s, _)| matches!(min, Bound::Excluded(a) if s.0 <= a))
            .take_while(|(s, _)| match max {
                Bound::Included(b) => s.0 <= b,
                Bound::Excluded(b) => s.0 < b,
                Bound::Unbounded => true,
            })
            .map(|(s, m)| (m, s.0))
            .collect()
    }
    pub fn mem_size(&self) -> usize {
        let node = std::mem::size_of::<(Score, SmallBytes)>();
        table_size(buckets_for(self.scores.capacity()), 32)
            + self.order.len() * node * 12 / 10
            + self.heap
            + alloc_size(std::mem::size_of::<Self>())
    }
}
