//! The two regime axes (trend, volatility) as one generic notion, and a probability
//! vector over an axis that serialises as a JSON object keyed by regime name
//! (`{"bull": 0.7, "bear": 0.1, "sideways": 0.2}`): the shape HTTP clients read.
//!
//! Hysteresis, evaluation and the multi-timeframe view work per axis the same way for
//! trend and volatility, so they are written once over [`Axis`].

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use tradpal_messages::regime::{Trend, Vol};

/// Number of regimes on each axis.
pub const AXIS_REGIMES: usize = 3;

/// A regime axis: three named values in a fixed order.
pub trait Axis: Copy + Eq + Ord + fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// The values in index order.
    const ALL: [Self; AXIS_REGIMES];
    /// The axis name used in messages (`trend`, `volatility`).
    const NAME: &'static str;
    fn index(self) -> usize;
    fn name(self) -> &'static str;
}

impl Axis for Trend {
    const ALL: [Self; AXIS_REGIMES] = Trend::ALL;
    const NAME: &'static str = "trend";
    fn index(self) -> usize {
        match self {
            Trend::Bull => 0,
            Trend::Bear => 1,
            Trend::Sideways => 2,
        }
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Axis for Vol {
    const ALL: [Self; AXIS_REGIMES] = Vol::ALL;
    const NAME: &'static str = "volatility";
    fn index(self) -> usize {
        match self {
            Vol::Low => 0,
            Vol::Normal => 1,
            Vol::High => 2,
        }
    }
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// A probability for every regime of axis `A`, indexed by [`Axis::index`]; sums to 1.
#[derive(Clone, Copy, PartialEq)]
pub struct AxisProbs<A: Axis> {
    pub p: [f64; AXIS_REGIMES],
    axis: PhantomData<A>,
}

/// Trend probabilities (bull, bear, sideways).
pub type TrendProbs = AxisProbs<Trend>;
/// Volatility probabilities (low, normal, high).
pub type VolProbs = AxisProbs<Vol>;

impl<A: Axis> AxisProbs<A> {
    /// Wraps `p` as is (callers keep it a distribution).
    pub fn new(p: [f64; AXIS_REGIMES]) -> Self {
        Self { p, axis: PhantomData }
    }

    pub fn uniform() -> Self {
        Self::new([1.0 / AXIS_REGIMES as f64; AXIS_REGIMES])
    }

    pub fn get(&self, regime: A) -> f64 {
        self.p[regime.index()]
    }

    /// The most probable regime (the first of equals, in [`Axis::ALL`] order; NaN loses to
    /// any number) and its probability.
    pub fn argmax(&self) -> (A, f64) {
        let mut best = 0;
        for i in 1..AXIS_REGIMES {
            if self.p[i] > self.p[best] || (self.p[best].is_nan() && !self.p[i].is_nan()) {
                best = i;
            }
        }
        (A::ALL[best], self.p[best])
    }

    /// Checks the vector is a distribution: finite, non-negative, summing to 1 within 1e-6.
    pub fn is_distribution(&self) -> bool {
        let sum: f64 = self.p.iter().sum();
        self.p.iter().all(|v| v.is_finite() && *v >= 0.0) && (sum - 1.0).abs() <= 1e-6
    }
}

impl<A: Axis> Default for AxisProbs<A> {
    fn default() -> Self {
        Self::uniform()
    }
}

impl<A: Axis> fmt::Debug for AxisProbs<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for a in A::ALL {
            m.entry(&a.name(), &self.get(a));
        }
        m.finish()
    }
}

impl<A: Axis> Serialize for AxisProbs<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(AXIS_REGIMES))?;
        for a in A::ALL {
            map.serialize_entry(a.name(), &self.get(a))?;
        }
        map.end()
    }
}

impl<'de, A: Axis> Deserialize<'de> for AxisProbs<A> {
    /// Accepts exactly the three regime names of the axis as keys, each once.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<A>(PhantomData<A>);
        impl<'de, A: Axis> Visitor<'de> for V<A> {
            type Value = AxisProbs<A>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let names: Vec<&str> = A::ALL.iter().map(|a| a.name()).collect();
                write!(f, "an object with the {} probabilities {}", A::NAME, names.join(", "))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut p = [None; AXIS_REGIMES];
                while let Some(key) = map.next_key::<String>()? {
                    let Some(a) = A::ALL.into_iter().find(|a| a.name() == key) else {
                        let names: Vec<&str> = A::ALL.iter().map(|a| a.name()).collect();
                        return Err(de::Error::custom(format!("unknown {} regime {key:?}: expected {}", A::NAME, names.join(", "))));
                    };
                    if p[a.index()].replace(map.next_value::<f64>()?).is_some() {
                        return Err(de::Error::custom(format!("{} regime {key:?} given twice", A::NAME)));
                    }
                }
                let mut out = [0.0; AXIS_REGIMES];
                for a in A::ALL {
                    out[a.index()] = p[a.index()].ok_or_else(|| de::Error::custom(format!("missing {} regime {:?}", A::NAME, a.name())))?;
                }
                Ok(AxisProbs::new(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_all() {
        for (i, t) in Trend::ALL.into_iter().enumerate() {
            assert_eq!(t.index(), i);
        }
        for (i, v) in Vol::ALL.into_iter().enumerate() {
            assert_eq!(v.index(), i);
        }
    }

    #[test]
    fn probs_round_trip_as_named_json_objects() {
        let p = TrendProbs::new([0.7, 0.1, 0.2]);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"bull":0.7,"bear":0.1,"sideways":0.2}"#);
        assert_eq!(serde_json::from_str::<TrendProbs>(&text).unwrap(), p);
        let v: VolProbs = serde_json::from_str(r#"{"high":0.5,"low":0.25,"normal":0.25}"#).unwrap();
        assert_eq!(v.p, [0.25, 0.25, 0.5]);
        assert_eq!(v.argmax(), (Vol::High, 0.5));
        for bad in [r#"{"bull":1}"#, r#"{"bull":1,"bear":0,"sideways":0,"up":0}"#, r#"{"bull":1,"bull":0}"#, "[1,0,0]"] {
            let err = serde_json::from_str::<TrendProbs>(bad).unwrap_err().to_string();
            assert!(err.contains("trend") || err.contains("expected"), "{bad}: {err}");
        }
    }
}
