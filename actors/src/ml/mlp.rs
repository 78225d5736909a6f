//! A multilayer perceptron in candle (CPU by default; the `cuda` cargo feature builds
//! candle with CUDA, the device is still chosen here as CPU until a GPU path is tested).
//!
//! Standardised inputs, two ReLU hidden layers ([`MlpParams::hidden`]), one output: a
//! logit (binary cross-entropy) or a standardised value (mean squared error). AdamW,
//! mini-batches in an order drawn from a seeded ChaCha8, weights initialised from the same
//! generator (Kaiming-uniform), so a seed fixes the model on one machine.

use super::error::MlError;
use super::linear::Scaler;
use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Most epochs a request may ask for.
pub const EPOCHS_MAX: usize = 1_000;
/// Widest hidden layer accepted.
pub const HIDDEN_UNITS_MAX: usize = 1_024;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MlpParams {
    pub hidden: [usize; 2],
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
}

impl Default for MlpParams {
    fn default() -> Self {
        Self { hidden: [32, 16], epochs: 20, batch_size: 256, learning_rate: 1e-3, weight_decay: 1e-4 }
    }
}

/// One dense layer: `w` is `out x inp`, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub inp: usize,
    pub out: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// What is stored: the scaler, the layers, and the target's scale (regression).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpWeights {
    pub scaler: Scaler,
    pub layers: Vec<Layer>,
    pub classifier: bool,
    pub y_mean: f64,
    pub y_std: f64,
}

/// A loaded network, ready to predict.
#[derive(Debug, Clone)]
pub struct Mlp {
    pub weights: MlpWeights,
    tensors: Vec<(Tensor, Tensor)>,
}

fn forward(layers: &[(Tensor, Tensor)], x: &Tensor) -> candle_core::Result<Tensor> {
    let mut h = x.clone();
    for (i, (w, b)) in layers.iter().enumerate() {
        h = h.matmul(&w.t()?)?.broadcast_add(b)?;
        if i + 1 < layers.len() {
            h = h.relu()?;
        }
    }
    h.squeeze(D::Minus1)
}

fn init_vars(dims: &[usize], rng: &mut ChaCha8Rng, dev: &Device) -> candle_core::Result<Vec<(Var, Var)>> {
    dims.windows(2)
        .map(|d| {
            let bound = (6.0 / d[0] as f64).sqrt() as f32;
            let w: Vec<f32> = (0..d[0] * d[1]).map(|_| rng.random_range(-bound..bound)).collect();
            Ok((Var::from_vec(w, (d[1], d[0]), dev)?, Var::from_vec(vec![0f32; d[1]], d[1], dev)?))
        })
        .collect()
}

impl Mlp {
    /// Trains on rows `x` (`cols` wide) and labels `y`; `progress(epoch)` after each epoch.
    pub fn fit(
        x: &[f64],
        y: &[f64],
        cols: usize,
        classifier: bool,
        p: &MlpParams,
        seed: u64,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Mlp, MlError> {
        let dev = Device::Cpu;
        let scaler = Scaler::fit(x, cols);
        let z: Vec<f32> = scaler.apply(x).into_iter().map(|v| v as f32).collect();
        let n = y.len();
        let (y_mean, y_std) = if classifier { (0.0, 1.0) } else { mean_std(y) };
        let t: Vec<f32> = y.iter().map(|v| ((v - y_mean) / y_std) as f32).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let vars = init_vars(&[cols, p.hidden[0], p.hidden[1], 1], &mut rng, &dev)?;
        let all: Vec<Var> = vars.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect();
        let params = ParamsAdamW { lr: p.learning_rate, weight_decay: p.weight_decay, ..ParamsAdamW::default() };
        let mut opt = AdamW::new(all, params)?;
        let layers: Vec<(Tensor, Tensor)> = vars.iter().map(|(w, b)| (w.as_tensor().clone(), b.as_tensor().clone())).collect();
        let mut order: Vec<usize> = (0..n).collect();
        let (mut bx, mut by) = (Vec::with_capacity(p.batch_size * cols), Vec::with_capacity(p.batch_size));
        for epoch in 0..p.epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(p.batch_size.max(1)) {
                bx.clear();
                by.clear();
                for &r in chunk {
                    bx.extend_from_slice(&z[r * cols..(r + 1) * cols]);
                    by.push(t[r]);
                }
                let xt = Tensor::from_slice(&bx, (chunk.len(), cols), &dev)?;
                let yt = Tensor::from_slice(&by, chunk.len(), &dev)?;
                let out = forward(&layers, &xt)?;
                let loss = if classifier {
                    candle_nn::loss::binary_cross_entropy_with_logit(&out, &yt)?
                } else {
                    candle_nn::loss::mse(&out, &yt)?
                };
                opt.backward_step(&loss)?;
            }
            progress(epoch + 1);
        }
        let mut stored = Vec::with_capacity(vars.len());
        for (w, b) in &vars {
            let (out, inp) = w.as_tensor().dims2()?;
            stored.push(Layer { inp, out, w: w.as_tensor().flatten_all()?.to_vec1()?, b: b.as_tensor().to_vec1()? });
        }
        Mlp::load(MlpWeights { scaler, layers: stored, classifier, y_mean, y_std })
    }

    pub fn load(weights: MlpWeights) -> Result<Mlp, MlError> {
        let dev = Device::Cpu;
        let tensors = weights
            .layers
            .iter()
            .map(|l| Ok((Tensor::from_slice(&l.w, (l.out, l.inp), &dev)?, Tensor::from_slice(&l.b, l.out, &dev)?)))
            .collect::<Result<Vec<_>, candle_core::Error>>()?;
        Ok(Mlp { weights, tensors })
    }

    /// Probabilities (classifier) or values for the rows of `x`.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>, MlError> {
        let cols = self.weights.scaler.mean.len();
        let z: Vec<f32> = self.weights.scaler.apply(x).into_iter().map(|v| v as f32).collect();
        let xt = Tensor::from_vec(z, (x.len() / cols, cols), &Device::Cpu)?.to_dtype(DType::F32)?;
        let mut out = forward(&self.tensors, &xt)?;
        if self.weights.classifier {
            out = candle_nn::ops::sigmoid(&out)?;
        }
        let v: Vec<f32> = out.to_vec1()?;
        Ok(v.into_iter().map(|v| f64::from(v) * self.weights.y_std + self.weights.y_mean).collect())
    }
}

fn mean_std(y: &[f64]) -> (f64, f64) {
    let n = y.len().max(1) as f64;
    let m = y.iter().sum::<f64>() / n;
    let s = (y.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt();
    (m, if s > 1e-12 { s } else { 1.0 })
}
