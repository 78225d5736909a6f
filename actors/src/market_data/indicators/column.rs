//! [`Column`]: one indicator's series aligned with the candles, `None` during warm-up.
//!
//! Every indicator output is "nothing for the first `warm_up` rows, then a value on
//! every row", so a column is stored as that count and plain `f64`s: 8 bytes a row where
//! a `Vec<Option<f64>>` takes 16. Writing the columns was most of [`compute_all`]'s
//! time (17 columns of 16 MB for a million bars), and a flat `f64` slice is what numeric
//! code (numpy, TA-Lib, ML features) takes. The warm-up rows hold NaN in [`Column::as_f64`]
//! (TA-Lib's and numpy's convention), but "not yet" is the count, not the NaN: a NaN
//! input produces NaN values that stay values (`Some(NaN)`).
//!
//! It serializes exactly as the `Vec<Option<f64>>` it replaces (`null` in the warm-up),
//! so the JSON of the table and the HTTP API did not change.
//!
//! [`compute_all`]: super::compute_all

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default)]
pub struct Column {
    warm_up: usize,
    /// One per row; NaN in the first `warm_up`.
    values: Vec<f64>,
}

impl Column {
    /// A column of `values.len()` rows whose first `warm_up` (at most all) are `None`;
    /// what `values` holds there is replaced by NaN.
    pub fn new(warm_up: usize, mut values: Vec<f64>) -> Self {
        let warm_up = warm_up.min(values.len());
        values[..warm_up].fill(f64::NAN);
        Self { warm_up, values }
    }

    /// `len` rows: NaN for the first `warm_up`, then whatever `fill` appends (it must
    /// append exactly the rest: checked).
    pub(crate) fn build(len: usize, warm_up: usize, fill: impl FnOnce(&mut Vec<f64>)) -> Self {
        let mut values = Self::rows(len, warm_up);
        fill(&mut values);
        assert_eq!(values.len(), len, "an indicator kernel wrote {} of {len} rows", values.len());
        Self { warm_up: warm_up.min(len), values }
    }

    /// Room for `len` rows, the first `warm_up` (at most all) NaN: kernels that write
    /// several columns in one loop push the rest, then wrap each in [`Column::new`].
    pub(crate) fn rows(len: usize, warm_up: usize) -> Vec<f64> {
        let mut values = Vec::with_capacity(len);
        values.resize(warm_up.min(len), f64::NAN);
        values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of leading `None` rows.
    pub fn warm_up(&self) -> usize {
        self.warm_up
    }

    /// Row `i`: `None` during the warm-up or past the end.
    pub fn get(&self, i: usize) -> Option<f64> {
        if i < self.warm_up {
            None
        } else {
            self.values.get(i).copied()
        }
    }

    /// Every row, `None` during the warm-up.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<f64>> + '_ {
        self.values.iter().enumerate().map(|(i, &v)| (i >= self.warm_up).then_some(v))
    }

    /// Every row as a plain `f64`, NaN during the warm-up (TA-Lib's and numpy's form).
    pub fn as_f64(&self) -> &[f64] {
        &self.values
    }

    /// The rows after the warm-up.
    pub fn values(&self) -> &[f64] {
        &self.values[self.warm_up..]
    }

    pub fn to_options(&self) -> Vec<Option<f64>> {
        self.iter().collect()
    }
}

/// Equal when the warm-ups are and the values after them compare equal as floats (as
/// `Vec<Option<f64>>` compares: a NaN value is unequal to itself).
impl PartialEq for Column {
    fn eq(&self, other: &Self) -> bool {
        self.warm_up == other.warm_up && self.values() == other.values()
    }
}

impl TryFrom<Vec<Option<f64>>> for Column {
    type Error = ColumnShapeError;

    /// Refuses a `None` after a value: a column's gaps are only at its start.
    fn try_from(rows: Vec<Option<f64>>) -> Result<Self, ColumnShapeError> {
        let warm_up = rows.iter().take_while(|v| v.is_none()).count();
        if let Some(row) = rows[warm_up..].iter().position(Option::is_none) {
            return Err(ColumnShapeError { row: warm_up + row });
        }
        Ok(Self::new(warm_up, rows.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()))
    }
}

/// A `None` (JSON `null`) after the first value of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("indicator column: row {row} is empty after a value (only the warm-up rows at the start may be)")]
pub struct ColumnShapeError {
    pub row: usize,
}

impl Serialize for Column {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Column {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Column::try_from(Vec::<Option<f64>>::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_none_in_the_warm_up_then_values() {
        let c = Column::new(2, vec![9.0, 9.0, 1.0, f64::NAN]);
        assert_eq!((c.len(), c.warm_up()), (4, 2));
        assert_eq!((c.get(1), c.get(2), c.get(4)), (None, Some(1.0), None));
        assert!(c.get(3).is_some_and(f64::is_nan), "a NaN value is a value");
        assert!(c.as_f64()[..2].iter().all(|v| v.is_nan()));
        assert_eq!(c.values().len(), 2);
        assert_eq!(Column::new(9, vec![1.0]).to_options(), vec![None]);
    }

    #[test]
    fn serializes_like_a_vec_of_options_and_refuses_inner_gaps() {
        let c = Column::new(1, vec![0.0, 1.5, 2.0]);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "[null,1.5,2.0]");
        assert_eq!(serde_json::from_str::<Column>(&json).unwrap(), c);
        let err = serde_json::from_str::<Column>("[null,1.0,null]").unwrap_err();
        assert!(err.to_string().contains("row 2 is empty"), "{err}");
        assert_ne!(c, Column::new(2, vec![0.0, 1.5, 2.0]));
    }

    #[test]
    #[should_panic(expected = "wrote 3 of 4 rows")]
    fn a_kernel_that_writes_too_few_rows_is_caught() {
        Column::build(4, 1, |v| v.extend([1.0, 2.0]));
    }
}
