//! Adam, exactly as Keras 3 implements it (the notebook's `optimizer='adam'`).
//!
//! ```text
//! alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//! m += (g - m) * (1 - beta1)        v += (g² - v) * (1 - beta2)
//! p -= alpha * m / (sqrt(v) + eps)
//! ```
//! Note that Keras adds `eps` to `sqrt(v)` without bias-correcting it; so does this.

use serde::{Deserialize, Serialize};

/// Adam's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate (Keras default 1e-3).
    pub lr: f32,
    /// First-moment decay (0.9).
    pub beta1: f32,
    /// Second-moment decay (0.999).
    pub beta2: f32,
    /// Added to `sqrt(v)` (Keras default 1e-7).
    pub eps: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
        }
    }
}

/// Adam's state for a list of parameter tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Hyper-parameters.
    pub config: AdamConfig,
    /// Steps taken so far.
    pub step: u64,
    /// First moments, one vector per tensor.
    pub m: Vec<Vec<f32>>,
    /// Second moments, one vector per tensor.
    pub v: Vec<Vec<f32>>,
}

impl Adam {
    /// Fresh state for tensors of the given lengths.
    pub fn new(config: AdamConfig, lens: &[usize]) -> Self {
        Adam {
            config,
            step: 0,
            m: lens.iter().map(|&n| vec![0.0; n]).collect(),
            v: lens.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// One update of every tensor with its gradient.
    pub fn update(&mut self, params: [&mut [f32]; 4], grads: [&[f32]; 4]) {
        let step = self.begin_step();
        for (((p, g), m), v) in params
            .into_iter()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            step.apply(p, g, None, m, v);
        }
    }

    /// Advances the step count and returns the step's constants, for callers that update
    /// slices of the tensors in parallel with [`AdamStep::apply`].
    pub fn begin_step(&mut self) -> AdamStep {
        self.step += 1;
        let c = self.config;
        let t = self.step as f64;
        let alpha = (f64::from(c.lr) * (1.0 - f64::from(c.beta2).powf(t)).sqrt()
            / (1.0 - f64::from(c.beta1).powf(t))) as f32;
        AdamStep {
            alpha,
            one_minus_beta1: 1.0 - c.beta1,
            one_minus_beta2: 1.0 - c.beta2,
            eps: c.eps,
        }
    }
}

/// The constants of one Adam step.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    alpha: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    eps: f32,
}

impl AdamStep {
    /// Updates parameters `p` with gradient `g` (plus `g2`, when the gradient comes in two
    /// parts) and moments `m`, `v`. Element-wise, so any split of the slices gives the same bits.
    #[inline]
    pub fn apply(
        &self,
        p: &mut [f32],
        g: &[f32],
        g2: Option<&[f32]>,
        m: &mut [f32],
        v: &mut [f32],
    ) {
        match g2 {
            None => adam_kernel(*self, p, g, g, 0.0, m, v),
            Some(g2) => adam_kernel(*self, p, g, g2, 1.0, m, v),
        }
    }
}

crate::multiversion! {
    /// `g + g2_weight * g2` is the gradient (`g2_weight` is 0 or 1, so the sum is exact).
    pub fn adam_kernel(s: AdamStep, p: &mut [f32], g: &[f32], g2: &[f32], g2_weight: f32, m: &mut [f32], v: &mut [f32]) {
        for ((((p, &g), &g2), m), v) in p.iter_mut().zip(g).zip(g2).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = g + g2_weight * g2;
            *m += (g - *m) * s.one_minus_beta1;
            *v += (g * g - *v) * s.one_minus_beta2;
            *p -= s.alpha * *m / (v.sqrt() + s.eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_weight_by_about_lr() {
        // With bias correction, step 1 is lr * g / (|g| + eps'): about lr in the sign of g.
        let mut adam = Adam::new(AdamConfig::default(), &[2, 1, 1, 1]);
        let mut p = [vec![1.0f32, -1.0], vec![0.0], vec![0.0], vec![0.0]];
        let g = [vec![0.5f32, -2.0], vec![0.0], vec![1e-3], vec![-4.0]];
        let [a, b, c, d] = &mut p;
        adam.update([a, b, c, d], [&g[0], &g[1], &g[2], &g[3]]);
        assert!((p[0][0] - (1.0 - 1e-3)).abs() < 1e-6);
        assert!((p[0][1] - (-1.0 + 1e-3)).abs() < 1e-6);
        assert_eq!(p[1][0], 0.0);
        // A tiny gradient: eps (1e-7) is no longer negligible next to sqrt(v) = 3.2e-5.
        assert!((p[2][0] + 0.997e-3).abs() < 1e-6);
        assert!((p[3][0] - 1e-3).abs() < 1e-6);
    }

    #[test]
    fn matches_a_float64_reference_over_many_steps() {
        let c = AdamConfig::default();
        let mut adam = Adam::new(c, &[1, 1, 1, 1]);
        let (mut p, mut m, mut v) = (0.3f64, 0.0f64, 0.0f64);
        let mut ps = [vec![0.3f32], vec![0.0], vec![0.0], vec![0.0]];
        for step in 1..=200 {
            let g = ((step as f64) * 0.37).sin();
            let [a, b, cc, d] = &mut ps;
            adam.update([a, b, cc, d], [&[g as f32], &[0.0], &[0.0], &[0.0]]);
            let t = step as f64;
            m += (g - m) * 0.1;
            v += (g * g - v) * 0.001;
            p -= 1e-3 * (1.0 - 0.999f64.powf(t)).sqrt() / (1.0 - 0.9f64.powf(t)) * m
                / (v.sqrt() + 1e-7);
        }
        assert!(
            (f64::from(ps[0][0]) - p).abs() < 1e-5,
            "{} vs {p}",
            ps[0][0]
        );
    }
}
