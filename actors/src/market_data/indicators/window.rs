//! A fixed-length window over the most recent values, for rolling statistics.
//!
//! Statistics are recomputed over the window on every call instead of kept as running
//! sums in floating point: such a sum drifts (each add/subtract rounds) over millions of
//! bars, and a drifting value would depend on how much history came before. The sum of a
//! window of up to `OLDEST_FIRST_PERIOD_MAX` (128) values is added in time order; of a
//! longer one, exact and rounded once (`exact.rs`: what the batch kernels' running integer
//! sums give, to the bit). The squared deviations are added in time order. O(period) per
//! call, cheap for a live window (one call a bar).

#[derive(Debug, Clone)]
pub(crate) struct Window {
    values: Vec<f64>,
    /// Where the next value goes once the window is full (= the oldest value).
    next: usize,
    period: usize,
}

impl Window {
    /// `period` >= 1, checked by the indicators' constructors.
    pub fn new(period: usize) -> Self {
        Self { values: Vec::with_capacity(period), next: 0, period: period.max(1) }
    }

    pub fn push(&mut self, value: f64) {
        if self.values.len() < self.period {
            self.values.push(value);
        } else {
            self.values[self.next] = value;
        }
        // Same as `(next + 1) % period`, without a division per value.
        self.next += 1;
        if self.next == self.period {
            self.next = 0;
        }
    }

    pub fn is_full(&self) -> bool {
        self.values.len() == self.period
    }

    /// Values oldest first. (Before the window fills, `next == len`, so the first half
    /// is empty.)
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (newer, older) = self.values.split_at(self.next.min(self.values.len()));
        older.iter().chain(newer).copied()
    }

    /// The oldest value held.
    pub fn oldest(&self) -> Option<f64> {
        self.iter().next()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Arithmetic mean: the values summed oldest first, or exactly for a window longer
    /// than `OLDEST_FIRST_PERIOD_MAX` (in any order: it is exact).
    pub fn mean(&self) -> f64 {
        let sum = if self.len() > super::exact::OLDEST_FIRST_PERIOD_MAX {
            super::exact::exact_sum(&self.values)
        } else {
            self.iter().sum::<f64>()
        };
        sum / self.len() as f64
    }

    /// Variance around the mean (two passes): `ddof` 0 = population, 1 = sample.
    pub fn variance(&self, ddof: usize) -> f64 {
        let (_, squares) = self.moments();
        squares / self.len().saturating_sub(ddof) as f64
    }

    /// The mean and the sum of squared deviations from it (two passes, oldest first).
    pub fn moments(&self) -> (f64, f64) {
        let mean = self.mean();
        (mean, self.iter().map(|v| (v - mean) * (v - mean)).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_period_values_in_order() {
        let mut w = Window::new(3);
        assert_eq!(w.oldest(), None);
        for v in [1.0, 2.0] {
            w.push(v);
        }
        assert!(!w.is_full());
        assert_eq!(w.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
        for v in [3.0, 4.0, 5.0] {
            w.push(v);
        }
        assert!(w.is_full());
        assert_eq!(w.iter().collect::<Vec<_>>(), vec![3.0, 4.0, 5.0]);
        assert_eq!((w.oldest(), w.mean(), w.variance(0), w.variance(1)), (Some(3.0), 4.0, 2.0 / 3.0, 1.0));
    }
}
