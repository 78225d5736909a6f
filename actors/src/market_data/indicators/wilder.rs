//! Wilder's smoothing (J. Welles Wilder, "New Concepts in Technical Trading Systems",
//! 1978), the average behind RSI and ATR.
//!
//! The first value is the simple mean of the first `n` inputs; after that
//! `avg = prev * (n - 1) / n + x / n`, an exponential average with alpha = 1/n, computed
//! as `prev.mul_add(keep, x * take)` with `keep = (n - 1) / n` and `take = 1 / n`
//! rounded once each ([`WilderChain`]). The textbook `(prev * (n - 1) + x) / n` is the
//! same number but a multiply, an add and a division in a row on the chain from `prev`
//! (about 21 cycles a bar); the fused multiply-add is one operation (4 cycles), which is
//! what RSI's and ATR's batch loops wait on. The two differ in the last bits (values
//! within about 1e-15 relative of each other); TA-Lib also multiplies by a precomputed
//! `1 / n`.

use super::series::WilderChain;

#[derive(Debug, Clone)]
pub(crate) struct Wilder {
    period: usize,
    chain: WilderChain,
    seen: usize,
    sum: f64,
    average: Option<f64>,
}

impl Wilder {
    /// `period` >= 1, checked by the indicators' constructors.
    pub fn new(period: usize) -> Self {
        Self { period: period.max(1), chain: WilderChain::new(period), seen: 0, sum: 0.0, average: None }
    }

    /// Feeds the next input; `None` for the first `period - 1`.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let n = self.period as f64;
        let average = match self.average {
            Some(prev) => self.chain.step(prev, x),
            None => {
                self.sum += x;
                self.seen += 1;
                if self.seen < self.period {
                    return None;
                }
                self.sum / n
            }
        };
        self.average = Some(average);
        Some(average)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_with_the_mean_then_smooths() {
        let mut w = Wilder::new(3);
        let out: Vec<_> = [3.0, 6.0, 9.0, 12.0, 0.0].into_iter().map(|x| w.update(x)).collect();
        // Seed (3+6+9)/3 = 6; then (6*2+12)/3 = 8; then (8*2+0)/3 = 16/3.
        assert_eq!(out, vec![None, None, Some(6.0), Some(8.0), Some(16.0 / 3.0)]);
    }
}
