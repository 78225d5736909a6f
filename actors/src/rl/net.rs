//! Small MLPs: tanh hidden layers, linear output. Trained in candle ([`Mlp`]), and kept
//! as plain `f32` weights ([`PlainMlp`]) for acting and inference: a forward pass of a
//! 2x32 network over one observation costs well under a microsecond in plain Rust,
//! against tens of microseconds through a tensor library. The two are synced after each
//! optimiser step, so acting always uses the trained weights.
//!
//! Initial weights come from a ChaCha8 stream of the caller's seed (uniform in
//! `+-1/sqrt(fan_in)`, biases zero, the output layer scaled by `out_scale`), never from
//! candle's own generator, so a seed gives the same network on every run.

use candle_core::{Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Widest hidden layer accepted.
pub const HIDDEN_UNITS_MAX: usize = 512;

/// Weights as plain numbers: `w[l]` is row-major `[in][out]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlainMlp {
    pub sizes: Vec<usize>,
    pub w: Vec<Vec<f32>>,
    pub b: Vec<Vec<f32>>,
}

impl PlainMlp {
    pub fn init(sizes: &[usize], out_scale: f32, rng: &mut ChaCha8Rng) -> Self {
        let layers = sizes.len() - 1;
        let mut w = Vec::with_capacity(layers);
        let mut b = Vec::with_capacity(layers);
        for l in 0..layers {
            let (i, o) = (sizes[l], sizes[l + 1]);
            let bound = 1.0 / (i as f32).sqrt() * if l + 1 == layers { out_scale } else { 1.0 };
            w.push((0..i * o).map(|_| rng.random_range(-bound..=bound)).collect());
            b.push(vec![0.0; o]);
        }
        PlainMlp { sizes: sizes.to_vec(), w, b }
    }

    /// The network's output for one input.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut cur = x.to_vec();
        let layers = self.w.len();
        for l in 0..layers {
            let (i, o) = (self.sizes[l], self.sizes[l + 1]);
            let mut next = self.b[l].clone();
            for (k, xk) in cur.iter().enumerate().take(i) {
                let row = &self.w[l][k * o..(k + 1) * o];
                for (n, w) in next.iter_mut().zip(row) {
                    *n += xk * w;
                }
            }
            if l + 1 < layers {
                next.iter_mut().for_each(|v| *v = v.tanh());
            }
            cur = next;
        }
        cur
    }
}

/// The same network as candle variables, for training.
pub struct Mlp {
    pub plain: PlainMlp,
    vars: Vec<(Var, Var)>,
}

impl Mlp {
    pub fn from_plain(plain: &PlainMlp) -> candle_core::Result<Self> {
        let mut vars = Vec::with_capacity(plain.w.len());
        for l in 0..plain.w.len() {
            let (i, o) = (plain.sizes[l], plain.sizes[l + 1]);
            let w = Var::from_tensor(&Tensor::from_vec(plain.w[l].clone(), (i, o), &Device::Cpu)?)?;
            let b = Var::from_tensor(&Tensor::from_vec(plain.b[l].clone(), (1, o), &Device::Cpu)?)?;
            vars.push((w, b));
        }
        Ok(Mlp { plain: plain.clone(), vars })
    }

    /// `x` is `(batch, in)`; the output `(batch, out)`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut cur = x.clone();
        let layers = self.vars.len();
        for (l, (w, b)) in self.vars.iter().enumerate() {
            cur = cur.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
            if l + 1 < layers {
                cur = cur.tanh()?;
            }
        }
        Ok(cur)
    }

    pub fn vars(&self) -> Vec<Var> {
        self.vars.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect()
    }

    /// Copies the trained variables into [`Mlp::plain`].
    pub fn sync(&mut self) -> candle_core::Result<()> {
        for (l, (w, b)) in self.vars.iter().enumerate() {
            self.plain.w[l] = w.as_tensor().flatten_all()?.to_vec1()?;
            self.plain.b[l] = b.as_tensor().flatten_all()?.to_vec1()?;
        }
        Ok(())
    }
}

/// Rows of observations as a `(rows, dim)` tensor.
pub fn batch(rows: &[&[f32]], dim: usize) -> candle_core::Result<Tensor> {
    let mut flat = Vec::with_capacity(rows.len() * dim);
    rows.iter().for_each(|r| flat.extend_from_slice(&r[..dim]));
    Tensor::from_vec(flat, (rows.len(), dim), &Device::Cpu)
}

/// Softmax of a few numbers.
pub fn softmax(x: &[f32]) -> Vec<f64> {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = x.iter().map(|v| (*v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// Index of the largest value (the first on ties).
pub fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn plain_and_candle_forward_agree() {
        let p = PlainMlp::init(&[4, 8, 8, 3], 1.0, &mut ChaCha8Rng::seed_from_u64(1));
        let m = Mlp::from_plain(&p).unwrap();
        let x = [0.5f32, -1.0, 2.0, 0.1];
        let t = m.forward(&batch(&[&x], 4).unwrap()).unwrap().to_vec2::<f32>().unwrap();
        for (a, b) in p.forward(&x).iter().zip(&t[0]) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
