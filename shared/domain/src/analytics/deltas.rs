//! Counter deltas: what one event, or one write of a counter item, adds to its counters.

use std::fmt;

use smallvec::SmallVec;

use super::Counter;

/// Deltas kept in line: every event of `tasks` and `tasks-by-priority` (at most three counters)
/// and every creation of `tasks-v3` (four: with its due gauge). Completions and delays of
/// `tasks-v2` and `tasks-v3` (up to seven) and a transaction's sum over everyone's day spill
/// to the heap.
const INLINE: usize = 4;

/// Counter deltas in counter order, one entry per counter.
///
/// An event moves one to seven counters, and most user day writes of a batch take one event.
/// So the deltas are a sorted list held in line up to [`INLINE`] entries: making, merging and
/// copying those allocates nothing, where a `BTreeMap` allocated a node each time (the consumer
/// does this for every event; `docs/benchmarks.md`). The sums of many days read back are maps.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Deltas(SmallVec<[(Counter, i64); INLINE]>);

impl Deltas {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where `counter` is listed, or where it would go. Inlined: without it the consumer counts
    /// 25 more instructions per event.
    #[inline]
    fn position(&self, counter: Counter) -> Result<usize, usize> {
        self.0.binary_search_by(|(c, _)| c.cmp(&counter))
    }

    /// Adds `delta` to `counter`. The counter stays listed at zero until [`Self::without_zeros`].
    pub fn add(&mut self, counter: Counter, delta: i64) {
        match self.position(counter) {
            Ok(at) => self.0[at].1 += delta,
            Err(at) => self.0.insert(at, (counter, delta)),
        }
    }

    /// Adds every delta of `other`.
    pub fn add_all(&mut self, other: &Deltas) {
        for &(counter, delta) in &other.0 {
            self.add(counter, delta);
        }
    }

    /// The delta of `counter`, if it is listed.
    pub fn get(&self, counter: Counter) -> Option<i64> {
        self.position(counter).ok().map(|at| self.0[at].1)
    }

    pub fn contains(&self, counter: Counter) -> bool {
        self.get(counter).is_some()
    }

    /// How many counters are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The deltas in counter order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, i64)> + '_ {
        self.0.iter().copied()
    }

    /// The counters listed, in order.
    pub fn counters(&self) -> impl Iterator<Item = Counter> + '_ {
        self.0.iter().map(|(counter, _)| *counter)
    }

    /// The deltas of the counters ordered before `counter`.
    pub fn below(&self, counter: Counter) -> &[(Counter, i64)] {
        &self.0[..self.0.partition_point(|(c, _)| *c < counter)]
    }

    /// The deltas of `counter` and the counters ordered after it.
    pub fn at_or_above(&self, counter: Counter) -> &[(Counter, i64)] {
        &self.0[self.0.partition_point(|(c, _)| *c < counter)..]
    }

    /// Drops the counters whose deltas net to zero.
    pub fn remove_zeros(&mut self) {
        self.0.retain(|(_, delta)| *delta != 0);
    }

    /// These deltas without the counters that net to zero.
    pub fn without_zeros(mut self) -> Self {
        self.remove_zeros();
        self
    }

    #[cfg(test)]
    fn to_map(&self) -> std::collections::BTreeMap<Counter, i64> {
        self.iter().collect()
    }
}

/// Deltas of a counter listed twice are added.
impl FromIterator<(Counter, i64)> for Deltas {
    fn from_iter<I: IntoIterator<Item = (Counter, i64)>>(pairs: I) -> Self {
        let mut deltas = Self::new();
        for (counter, delta) in pairs {
            deltas.add(counter, delta);
        }
        deltas
    }
}

impl<const N: usize> From<[(Counter, i64); N]> for Deltas {
    fn from(pairs: [(Counter, i64); N]) -> Self {
        pairs.into_iter().collect()
    }
}

/// Pairs of references, as a map's iterator gives them, so sums over maps take deltas too.
impl<'a> IntoIterator for &'a Deltas {
    type Item = (&'a Counter, &'a i64);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Counter, i64)>,
        fn(&'a (Counter, i64)) -> (&'a Counter, &'a i64),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(counter, delta)| (counter, delta))
    }
}

impl IntoIterator for Deltas {
    type Item = (Counter, i64);
    type IntoIter = smallvec::IntoIter<[(Counter, i64); INLINE]>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// `deltas[&counter]`, as on a map: panics when `counter` is not listed.
impl std::ops::Index<&Counter> for Deltas {
    type Output = i64;

    fn index(&self, counter: &Counter) -> &i64 {
        let at = self
            .position(*counter)
            .unwrap_or_else(|_| panic!("{counter:?} is not among the deltas"));
        &self.0[at].1
    }
}

impl fmt::Debug for Deltas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::analytics::Histogram;

    /// Sequences of additions (a fixed pseudo-random walk over every kind of counter, zeros
    /// included, at lengths around and far past the inline capacity) give what a map summing
    /// the same additions gives, listed in the same order.
    #[test]
    fn additions_match_a_map_in_value_and_order() {
        let counters: Vec<Counter> = Counter::ALL
            .iter()
            .copied()
            .chain((0..40).map(Counter::Due))
            .collect();
        // A fixed pseudo-random walk over counters and deltas, zeros included.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for length in [0, 1, 3, 4, 5, 17, 200] {
            let (mut deltas, mut map) = (Deltas::new(), BTreeMap::<Counter, i64>::new());
            for _ in 0..length {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                let counter = counters[(state >> 33) as usize % counters.len()];
                let delta = (state >> 20) as i64 % 5 - 2;
                deltas.add(counter, delta);
                *map.entry(counter).or_default() += delta;
            }
            assert_eq!(deltas.to_map(), map, "{length} additions");
            assert_eq!(
                deltas.iter().collect::<Vec<_>>(),
                map.iter().map(|(c, d)| (*c, *d)).collect::<Vec<_>>(),
                "in counter order"
            );
            map.retain(|_, d| *d != 0);
            assert_eq!(deltas.without_zeros().to_map(), map);
        }
    }

    #[test]
    fn merges_lookups_and_ranges() {
        let mut deltas = Deltas::from([
            (Counter::OpenNew, 1),
            (Counter::Created, 1),
            (Counter::Due(3), 1),
        ]);
        deltas.add_all(&Deltas::from([
            (Counter::OpenNew, -1),
            (Counter::Bucket(Histogram::Delay, 2), 1),
        ]));
        assert_eq!(deltas.get(Counter::OpenNew), Some(0), "kept until zeros go");
        assert_eq!(deltas.get(Counter::Completed), None);
        assert_eq!(deltas[&Counter::Created], 1);
        assert_eq!(
            deltas.below(Counter::Due(0)),
            [
                (Counter::Created, 1),
                (Counter::OpenNew, 0),
                (Counter::Bucket(Histogram::Delay, 2), 1)
            ]
        );
        assert_eq!(deltas.at_or_above(Counter::Due(0)), [(Counter::Due(3), 1)]);
        let deltas = deltas.without_zeros();
        assert!(!deltas.contains(Counter::OpenNew));
        assert_eq!(
            format!("{deltas:?}"),
            "{Created: 1, Bucket(Delay, 2): 1, Due(3): 1}"
        );
    }
}
