//! Generated candles for tests and benchmarks: an AR(1) return process, learnable for
//! `phi > 0`, a random walk at `phi = 0`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tradpal_messages::{Candle, Timestamp};

/// 1-minute candles whose log returns follow `r_t = phi r_{t-1} + sigma e_t` (a planted,
/// learnable momentum rule for `phi > 0`; a random walk for `phi = 0`). Opens at the
/// previous close, so a position taken at a close earns the next bar's return.
pub fn ar_candles(n: usize, phi: f64, sigma: f64, seed: u64) -> Vec<Candle> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut price, mut r) = (100.0f64, 0.0f64);
    (0..n)
        .map(|t| {
            // Box-Muller from the seeded stream.
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let e = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            r = phi * r + sigma * e;
            let open = price;
            price *= r.exp();
            Candle {
                open_time: Timestamp(t as i64 * 60_000_000_000),
                open,
                high: open.max(price) * 1.0002,
                low: open.min(price) * 0.9998,
                close: price,
                volume: 1e9,
            }
        })
        .collect()
}
