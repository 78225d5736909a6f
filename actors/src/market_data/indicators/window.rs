//! A fixed-length window over the most recent values, for rolling statistics.
//!
//! Statistics are recomputed over the window in time order on every call instead of kept
//! as running sums: a running sum drifts (each add/subtract rounds) over millions of bars,
//! and a drifting value would depend on how much history came before. Recomputing costs
//! O(period) per bar, which for the periods used (tens of bars) is cheap, and makes every
//! value the textbook formula over exactly its window.

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

    /// Arithmetic mean, summed oldest first.
    pub fn mean(&self) -> f64 {
        self.iter().sum::<f64>() / self.len() as f64
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
